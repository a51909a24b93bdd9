# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``extract_adapters.py`` given a full checkpoint without its head advises
what the converter takes.

Its refusal gave the evaluation's advice, "To evaluate, give the checkpoint
its training run wrote (..., or an adapter-only file with the backbone it
was trained on as --pretrained)": the converter refuses adapter-only input,
and evaluating is not what was asked. ``check_holds_head`` now takes the
caller's purpose (``HEAD_ADVICE``), as ``RECORD_OUTCOMES`` words the
outcome by what the caller does."""
from headless_checkpoints import adaptformer_video_without
from refusal_lines import refused_line
from tool_runners import run_tool

from mmadaptformer.utils.head_fit import HEAD_ADVICE


def test_extract_adapters_advises_a_full_checkpoint(tmp_path, tiny_video_data):
    config, headless = adaptformer_video_without(tmp_path, tiny_video_data,
                                                 'headless.pth', ['cls_head.'])
    out = tmp_path / 'out.pth'
    proc = run_tool(
        ['model_converters/extract_adapters.py', config, headless, out],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Wrote '])
    assert 'or a file saved without its head. To extract its trained ' \
        "parts, give the full checkpoint of this config's model that its " \
        "training run wrote (its work dir's epoch_N.pth or best_*.pth; a " \
        'run with AdapterHook(adapter_only_checkpoint=True) wrote ' \
        'adapter-only files, which need no extracting); to train a head ' \
        'on this backbone, give the file to tools/train.py as ' \
        '--pretrained. Nothing of it was loaded.' in line, line
    assert 'To evaluate' not in line, line
    assert 'an adapter-only file with the backbone' not in line, line
    assert not out.exists()


def test_every_purpose_has_its_advice():
    """Guard of the table: the evaluation's advice is kept, and each
    converter's names what it takes."""
    assert HEAD_ADVICE['evaluate'].startswith('To evaluate, give the '
                                              'checkpoint its training run')
    assert 'full checkpoint' in HEAD_ADVICE['extract']
    assert 'adapter-only checkpoint' in HEAD_ADVICE['merge']
