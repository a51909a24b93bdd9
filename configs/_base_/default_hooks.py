# The hooks every recipe runs, written once. Inherited through
# default_runtime_video.py / default_runtime_image.py, which merge it into
# the host toolbox's default_hooks. (It is a variable of its own, not
# default_hooks, because MMEngine refuses two sibling _base_ files that
# define the same key, and the host runtimes define default_hooks.)
recipe_hooks = dict(
    # Never a truncated checkpoint, an empty last_checkpoint or one that
    # names a deleted file, even when the run is killed while it saves.
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=5,
        max_keep_ckpts=3,
        save_best='auto'),
    logger=dict(interval=50),
    # Average the BN head's running statistics over the ranks after every
    # epoch, so that all ranks and checkpoints agree. (mmaction's default
    # SyncBuffersHook would also average the frozen backbone's buffers.)
    sync_buffers=dict(type='SyncNormStatsHook'),
    # Stop at the first NaN/inf loss; refuse a checkpoint of another
    # architecture and a head whose num_classes differs from the data's.
    non_finite_loss=dict(type='NonFiniteLossHook'),
    checkpoint_check=dict(type='CheckpointCheckHook'),
    config_check=dict(type='ConfigCheckHook'),
    # Refuse to resume from a checkpoint that cannot continue the run (no
    # optimizer or scheduler state, another config's); warn that changed
    # optimizer or schedule settings are replaced by the checkpoint's.
    # Here, not only in tools/train.py, so that Runner.from_cfg has it too.
    resume_check=dict(type='ResumeCheckHook'),
    # Log how many broken images or videos training skipped each epoch,
    # and which; refuse a validation or test CheckedImageDataset or
    # CheckedVideoDataset with test_mode=False (mmpretrain's dataset
    # configs leave it unset), which would score other samples in place
    # of broken ones. Image runs need it as much as video runs.
    data_health=dict(type='DataHealthHook'))
