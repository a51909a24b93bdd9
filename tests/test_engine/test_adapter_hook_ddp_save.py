# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdapterHook's frozen-weights refusal at a save under 2-process CPU DDP.

Guards behaviour that already worked: MMEngine's ``Runner.save_checkpoint``
is master-only, so only rank 0 runs ``before_save_checkpoint`` and raises
there; rank 1 goes on to its next step, whose gradient all-reduce fails
once rank 0 is gone (gloo: "Connection closed by peer"). The job ends in
seconds, non-zero, with the refusal printed, rather than rank 1 waiting
for a rank that will never come.
"""
import textwrap

from helpers import image_data_cfg, write_config
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG
from tool_runners import free_port, start_ranks

# Imported by the ranks through the config's custom_imports.
CHANGE_FROZEN_PROBE = '''
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class ChangeFrozenProbeHook(Hook):
    """Changes a frozen weight after the first step, on every rank; the
    checkpoint hook (priority VERY_LOW) saves after it."""

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter == 0:
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            with torch.no_grad():
                model.backbone.backbone.cls_token.add_(1.)
'''


def test_refusal_at_rank_0s_save_ends_the_job(tmp_path, tiny_image_data):
    (tmp_path / 'change_frozen_probe.py').write_text(CHANGE_FROZEN_PROBE)
    # 8 images, batch 2 per rank, 2 ranks: 2 steps per rank, a save after
    # each; rank 1 has a step left when rank 0 refuses the first save.
    body = image_data_cfg(tiny_image_data).replace(
        'train_dataloader = dict(', 'train_dataloader = dict(batch_size=2, ')
    body += textwrap.dedent('''
        custom_imports = dict(
            imports=['mmadaptformer', 'change_frozen_probe'],
            allow_failed_imports=False)
        custom_hooks = [
            dict(type='AdapterHook', adapter_only_checkpoint=True,
                 allow_random_backbone=True),
            dict(type='ChangeFrozenProbeHook')]
        default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1))
        train_cfg = dict(max_epochs=1)
        val_dataloader = None
        val_cfg = None
        val_evaluator = None
        ''')
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                       body)
    work = tmp_path / 'work'
    outputs = [str(tmp_path / f'rank{r}.log') for r in range(2)]
    procs = start_ranks(['train.py', cfg, '--work-dir', work],
                        2,
                        cwd=tmp_path,
                        port=free_port(),
                        outputs=outputs,
                        env=dict(PYTHONPATH=str(tmp_path)))
    try:
        # A rank left waiting for rank 0 would wait out gloo's 30 minutes;
        # alone, the whole job takes about 10 s here.
        codes = [proc.wait(180) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(60)
    logs = [open(path).read() for path in outputs]
    assert all(code != 0 for code in codes), (codes, logs[1][-3000:])
    assert ('FrozenTensorsChangedError: AdapterHook: 1 frozen tensors '
            'changed during epoch 1, although they must stay exactly as '
            "loaded: ['backbone.cls_token']") in logs[0], logs[0][-3000:]
    assert 'in before_save_checkpoint' in logs[0], logs[0][-3000:]
    assert not list(work.glob('*.pth')), list(work.glob('*.pth'))
