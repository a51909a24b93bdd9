# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One rule tells an MPEG transport stream from a file that starts with
``G`` (the sync byte at 0 and at 188), for inputs and for files given in a
checkpoint's place; a GIF named as another image format is named a GIF."""
import numpy as np
from adapter_tasks import val_videos

from mmadaptformer.apis import ModelInferencer
from mmadaptformer.utils.checkpoint_formats import media_kind
from mmadaptformer.utils.image_files import image_damage
from mmadaptformer.utils.video_containers import container_name

TS = b'\x47' + bytes(187) + b'\x47' + bytes(187)


def test_mpeg_ts_needs_its_second_sync_byte():
    """Before, ``container_name`` took one ``G`` for MPEG-TS, and only
    ``media_kind`` checked byte 188."""
    assert container_name(TS) == 'MPEG-TS'
    assert media_kind(TS) == 'a video file (MPEG-TS)'
    text = b'Good clips: a, b\n' * 20
    assert container_name(text) is None
    assert media_kind(text) is None
    assert container_name(b'G') is None


def test_a_text_file_named_mp4_that_starts_with_g_is_explained(
        video_tasks, tiny_video_data, tmp_path, clean_loggers):
    """Before: ``cannot be decoded as a video (DECORDError: ERROR getting
    stream info of fileGood clips: ...)``, nothing of its first bytes,
    which a text file starting with another letter got."""
    notes = tmp_path / 'notes.mp4'
    notes.write_text('Good clips: a, b\n' * 20)
    task = video_tasks['full']
    inferencer = ModelInferencer(task['config'], task['checkpoint'])
    results = inferencer([str(notes), val_videos(tiny_video_data, 1)[0]])
    assert results[str(notes)]['error'] == (
        f'{notes}: cannot be decoded as a video (it is text, not a video: '
        "b'Good clips: a, b').")


def test_a_damaged_gif_named_png_is_named_a_gif(tmp_path):
    """Before: ``its first bytes match no image format (JPEG, PNG, ...):
    b'GIF87a...'``."""
    from PIL import Image
    whole = tmp_path / 'whole.gif'
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(whole, format='GIF')
    cut = tmp_path / 'anim.png'
    cut.write_bytes(whole.read_bytes()[:20])
    assert image_damage(str(cut)).startswith(
        ': it is a GIF image (whatever its name), which OpenCV could not '
        'decode: cut short or damaged')
