# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Ctrl-C in a long ``ModelInferencer`` call keeps the answers so far: the
``KeyboardInterrupt`` carries them (``results``) and the number of inputs
(``num_inputs``). Before, they were lost with the call."""
import io
import os

import pytest
from checkpoint_makers import save_stock_video_checkpoint
from media_files import write_clip
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.apis import ModelInferencer


def test_ctrl_c_carries_the_answers_so_far(tmp_path):
    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    inputs = []
    for i in range(10):
        os.symlink(clip, tmp_path / f'v{i}.mp4')
        inputs.append(str(tmp_path / f'v{i}.mp4'))
    inputs.insert(1, str(tmp_path / 'missing.mp4'))
    inferencer = ModelInferencer(TINY_VIDEO_CONFIG, checkpoint)
    whole = inferencer(inputs[:5], batch_size=2)
    predict = inferencer.predict
    calls = []

    def interrupted_third_batch(data):
        # Ctrl-C, as the terminal's SIGINT raises it, in the third forward.
        calls.append(len(data))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return predict(data)

    inferencer.predict = interrupted_third_batch
    with pytest.raises(KeyboardInterrupt) as stop:
        inferencer(inputs, batch_size=2)
    # Batches [v0, missing], [v1, v2], then [v3, v4] was cut short.
    assert calls == [1, 2, 2]
    assert stop.value.num_inputs == 11
    assert list(stop.value.results) == inputs[:4]
    assert stop.value.results == {key: whole[key] for key in inputs[:4]}
    assert 'missing.mp4: no such file' in \
        stop.value.results[inputs[1]]['error']


def test_ctrl_c_ends_the_progress_bars_line(tmp_path, monkeypatch):
    """On a terminal, the first result line printed after the stop was
    glued to the unfinished progress bar (``ETA: 18s/tmp/v0.mp4: ...``)."""
    from mmengine.utils import ProgressBar

    import mmadaptformer.apis.model_inferencer as module
    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    inputs = []
    for i in range(4):
        os.symlink(clip, tmp_path / f'v{i}.mp4')
        inputs.append(str(tmp_path / f'v{i}.mp4'))
    terminal = io.StringIO()
    # The bar the call shows on a terminal, written where it can be read.
    monkeypatch.setattr(module, 'progress_bar',
                        lambda total: ProgressBar(total, file=terminal))
    inferencer = ModelInferencer(TINY_VIDEO_CONFIG, checkpoint)
    predict = inferencer.predict
    calls = []

    def interrupted_second_batch(data):
        calls.append(len(data))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return predict(data)

    inferencer.predict = interrupted_second_batch
    with pytest.raises(KeyboardInterrupt):
        inferencer(inputs, progress=True)
    shown = terminal.getvalue()
    assert '1/4' in shown and '2/4' not in shown
    assert shown.endswith('\n')
