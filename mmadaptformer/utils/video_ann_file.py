# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A line of a video annotation list that its ``delimiter`` does not split.

mmaction2's ``VideoDataset`` splits each line of its ``ann_file`` at the
dataset's ``delimiter``. A recipe whose base config sets
``delimiter=','`` (a CSV-style Kinetics list, as mmaction2's UniFormer
recipes), run on a list of ``<path> <label>`` lines split by a space,
took each whole line as a path: ``VideoDataset`` read it as a video
without a label and the run ended in testing with ``FileNotFoundError:
'.../val_0_0.mp4 0'``; ``CheckedVideoDataset`` named the line, but not the
config key, after the work dir was made.

:func:`malformed_video_list` reads the first lines of a lazily built
video dataset's list as the dataset will, and names the first one it
cannot read, with the delimiter that would split it (:func:`delimiter_hint`).
:func:`check_video_lists` raises it, before the Runner, as a mistake of
the config's ``delimiter``.

A list of extracted frames (mmaction2's ``RawframeDataset``, lines
``<frame_dir> <total_frames> <label>``, read by ``RawFrameDecode`` as
``filename_tmpl.format(index)`` in each folder) was not checked at all: a
missing frame folder, a ``total_frames`` above the frames present or a
``filename_tmpl`` that names no file ended training at the first batch
holding one, after the work dir and the model were made, with
``FileNotFoundError: No such file or directory:
'.../vid_7/frame_00005.jpg'`` through the Runner's loop.
:func:`malformed_rawframe_list` checks the first lines of such a list, and
:func:`refuse_malformed_video_list`, which
:func:`~.dataset_check.check_datasets` calls for each dataset it builds,
raises what they find as a mistake of the config key at fault.
"""
import os
import os.path as osp
from itertools import islice
from typing import List, Optional, Sequence, Tuple

from .config_error import ConfigError
from .config_file import mistake_place, option_place
from .local_files import is_local, local_ann_file

__all__ = [
    'split_line', 'delimiter_hint', 'malformed_video_list',
    'malformed_rawframe_list', 'refuse_malformed_video_list', 'HEAD_LINES'
]

#: How many non-blank lines of a list are read before the Runner: a
#: delimiter that does not fit a list does not fit its first line.
HEAD_LINES = 20

#: The delimiters a hint may suggest.
DELIMITERS = (' ', '\t', ',', ';')


def split_line(line: str, delimiter: str, strict: bool) -> List[str]:
    """The fields of an annotation line.

    Args:
        line (str): The line.
        delimiter (str): The dataset's ``delimiter``.
        strict (bool): As ``CheckedVideoDataset`` reads it: ``' '``
            splits at any run of whitespace and each field is stripped.
            Else as mmaction2's ``VideoDataset``: the stripped line split
            at each ``delimiter``.

    Returns:
        list[str]: The fields.
    """
    if not strict:
        return line.strip().split(delimiter)
    if delimiter == ' ':
        return line.split()
    return [field.strip() for field in line.split(delimiter)]


def _is_int(text: str, strict: bool) -> bool:
    """Whether a label reads: as ``CheckedVideoDataset`` reads it (plain
    digits) if ``strict``, else as ``VideoDataset`` does (``int()``)."""
    if strict:
        return text.isascii() and text.isdigit()
    try:
        int(text)
    except ValueError:
        return False
    return True


def _readable(fields: Sequence[str],
              multi_class: bool,
              strict: bool = True) -> bool:
    """Whether ``fields`` are a path and its integer label(s)."""
    labels = fields[1:]
    if not fields[0] or not labels or (not multi_class and len(labels) > 1):
        return False
    return all(_is_int(label, strict) for label in labels)


def delimiter_hint(line: str, delimiter: str, multi_class: bool,
                   prefix: Optional[str]) -> Optional[Tuple[str, str]]:
    """Another delimiter that splits ``line`` into a path and integer
    label(s).

    Args:
        line (str): An annotation line that ``delimiter`` does not split.
        delimiter (str): The dataset's ``delimiter``.
        multi_class (bool): Whether a line may hold several labels.
        prefix (str, optional): The folder of the paths.

    Returns:
        tuple, optional: ``(delimiter, what)``, e.g. ``(' ', "the existing
        video data/val_0_0.mp4 and label 0")``; None if none does.
    """
    for other in DELIMITERS:
        if other == delimiter or other not in line:
            continue
        fields = [field.strip() for field in line.strip().split(other)]
        if not _readable(fields, multi_class):
            continue
        path = osp.join(prefix, fields[0]) if prefix else fields[0]
        video = ('the existing video' if osp.isfile(path) else 'the path')
        labels = 'labels' if len(fields) > 2 else 'label'
        return other, f'{video} {path} and {labels} {", ".join(fields[1:])}'
    return None


def malformed_video_list(
        dataset,
        head: int = HEAD_LINES) -> Optional[Tuple[str, Optional[str]]]:
    """The first of the first ``head`` lines of a lazily built mmaction2
    ``VideoDataset``'s local ``ann_file`` that it will not read as meant.

    That is a line whose fields are not a path and integer label(s), except
    that a ``VideoDataset`` (not a subclass that sets ``strict_lines``,
    such as ``CheckedVideoDataset``) reads a line of one field as a video
    without a label; that line is named only when it is no file and
    another delimiter splits it into a path and labels.

    Args:
        dataset: A dataset built with ``lazy_init=True``.
        head (int): How many non-blank lines are read. Defaults to
            :data:`HEAD_LINES`.

    Returns:
        tuple, optional: ``(what, delimiter)``: what is wrong, naming the
        file and the line, and the delimiter that would split it (None if
        none does); None if those lines read, or nothing could be checked
        (another dataset, a list that is not a local file).
    """
    try:
        from mmaction.datasets import VideoDataset
    except ImportError:  # no mmaction2: none of its datasets to check
        return None
    ann_file = local_ann_file(dataset)
    if not isinstance(dataset, VideoDataset) or ann_file is None:
        return None
    strict = bool(getattr(dataset, 'strict_lines', False))
    delimiter, multi_class = dataset.delimiter, dataset.multi_class
    prefix = dataset.data_prefix.get('video')
    for number, line in _head_lines(ann_file, head):
        fields = split_line(line, delimiter, strict)
        if _readable(fields, multi_class, strict):
            continue
        hint = delimiter_hint(line, delimiter, multi_class, prefix)
        if len(fields) == 1 and not strict:
            path = osp.join(prefix, line) if prefix else line
            if hint is None or osp.exists(path):
                continue
        expected = ('<path> <label> [<label> ...]'
                    if multi_class else '<path> <label>')
        what = (f'does not split line {number} of {ann_file}, {line!r}, '
                f'into {expected!r} ({len(fields)} '
                f'field{"s" if len(fields) != 1 else ""})')
        if hint is None:
            return what, None
        return f'{what}; split at {hint[0]!r} it is {hint[1]}', hint[0]
    return None


def _head_lines(ann_file: str, head: int) -> List[Tuple[int, str]]:
    """``(number, line)`` of the first ``head`` non-blank lines."""
    with open(ann_file, encoding='utf-8-sig', errors='replace') as f:
        return list(
            islice(((n, line.strip())
                    for n, line in enumerate(f, 1) if line.strip()), head))


def _frame_name(template: str, index: int, flow: bool) -> str:
    """The file ``RawFrameDecode`` reads for frame ``index`` (the x
    component of optical flow)."""
    return template.format('x', index) if flow else template.format(index)


def _rawframe_line(dataset, number: int, line: str,
                   ann_file: str) -> Optional[Tuple[str, str]]:
    """What is wrong with one line of a ``RawframeDataset`` list, as
    ``(argument, what)``; None if its frames are there."""
    fields = line.split()
    counts = 3 if dataset.with_offset else 2
    expected = ('<frame_dir> <offset> <total_frames> <label>'
                if dataset.with_offset else '<frame_dir> <total_frames> '
                '<label>')
    where = f'line {number} of {ann_file}, {line!r},'
    numbers = fields[1:counts]
    if len(fields) < counts or not all(
            _is_int(field, True) for field in numbers) or not all(
                _is_int(field, False) for field in fields[counts:]):
        return 'ann_file', (f'{where} is not {expected!r} (the frame '
                            'count and labels must be integers)')
    prefix = dataset.data_prefix.get('img')
    folder = osp.join(prefix, fields[0]) if prefix else fields[0]
    if not osp.isdir(folder):
        return 'data_prefix', (
            f'{where} names the frame folder {folder}, which does not '
            f'exist (data_prefix img={prefix!r} joined to {fields[0]!r})')
    template, flow = dataset.filename_tmpl, dataset.modality == 'Flow'
    offset = int(fields[1]) if dataset.with_offset else 0
    total = int(fields[counts - 1])
    first = dataset.start_index + offset
    try:
        name = _frame_name(template, first, flow)
    except (IndexError, KeyError, ValueError) as e:
        return 'filename_tmpl', (
            f'{template!r} cannot name a frame ({type(e).__name__}: {e}); '
            "it takes the frame's index, e.g. 'img_{:05}.jpg'" +
            (", and 'x' or 'y' first for Flow" if flow else ''))
    if not osp.isfile(osp.join(folder, name)):
        present = sorted(osp.basename(p) for p in os.listdir(folder))
        shown = ', '.join(present[:3]) + (', ...' if len(present) > 3 else '')
        return 'filename_tmpl', (
            f'{template!r} names the first frame of {where} {name} '
            f'(start_index={dataset.start_index}), but {folder} has no such '
            f'file; it holds {len(present)} files'
            f'{f" ({shown})" if shown else ""}')
    last = first + total - 1
    if total > 0 and osp.isfile(
            osp.join(folder, _frame_name(template, last, flow))):
        return None
    present = 0
    while present < total and osp.isfile(
            osp.join(folder, _frame_name(template, first + present, flow))):
        present += 1
    hint, argument = '', 'ann_file'
    if dataset.start_index > 0 and osp.isfile(
            osp.join(folder, _frame_name(template, first - 1, flow))):
        hint = (
            f'; the frames start at {_frame_name(template, first - 1, flow)}:'
            f' set start_index={dataset.start_index - 1}')
        argument = 'start_index'
    return argument, (
        f'{where} says {folder} holds {total} frames, '
        f'{_frame_name(template, first, flow)} to '
        f'{_frame_name(template, last, flow)}, but only the first {present} '
        f'are there{hint}')


def malformed_rawframe_list(dataset,
                            head: int = HEAD_LINES
                            ) -> Optional[Tuple[str, str]]:
    """What the first of the first ``head`` lines of a lazily built
    mmaction2 ``RawframeDataset``'s local ``ann_file`` that
    ``RawFrameDecode`` cannot read lacks.

    A line must be ``<frame_dir> [<offset>] <total_frames> [<label> ...]``,
    its folder (joined to ``data_prefix['img']``) must exist, and hold the
    first and the last frame it counts,
    ``filename_tmpl.format(start_index + offset)`` to
    ``filename_tmpl.format(start_index + offset + total_frames - 1)``.

    Args:
        dataset: A dataset built with ``lazy_init=True``.
        head (int): How many non-blank lines are read. Defaults to
            :data:`HEAD_LINES`.

    Returns:
        tuple, optional: ``(argument, what)``: the dataset argument at
        fault (``ann_file``, ``data_prefix``, ``filename_tmpl`` or
        ``start_index``) and what
        is wrong, naming the file, the line and the path; None if those
        lines read, or nothing could be checked (another dataset, a list or
        frames that are not local files).
    """
    try:
        from mmaction.datasets import RawframeDataset
    except ImportError:  # no mmaction2: none of its datasets to check
        return None
    ann_file = local_ann_file(dataset)
    prefix = getattr(dataset, 'data_prefix', {}).get('img')
    if not isinstance(dataset, RawframeDataset) or ann_file is None or (
            prefix and not is_local(prefix)):
        return None
    for number, line in _head_lines(ann_file, head):
        bad = _rawframe_line(dataset, number, line, ann_file)
        if bad is not None:
            return bad
    return None


def refuse_malformed_video_list(dataset,
                                key: str,
                                source: str,
                                options: Optional[dict] = None) -> None:
    """Refuse a built mmaction2 ``VideoDataset`` (:func:`malformed_video_list`)
    or ``RawframeDataset`` (:func:`malformed_rawframe_list`), or subclass,
    whose annotation list's first lines it cannot read; anything else
    passes.

    Args:
        dataset: A dataset built with ``lazy_init=True`` (as
            :func:`~.dataset_check.check_datasets` builds them).
        key (str): Its config key, e.g. ``'train_dataloader.dataset'``.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the ``delimiter`` key and its value, the file,
            the line and, if another delimiter splits it, that one; for a
            frame list, the key at fault (``ann_file``, ``data_prefix``,
            ``filename_tmpl``), the line and the folder or frame.
    """
    name = type(dataset).__name__
    frames = malformed_rawframe_list(dataset)
    if frames is not None:
        argument, what = frames
        where = mistake_place(source, f'{key}.{argument}', options)
        raise ConfigError(f'{where} ({name}): {what}.')
    bad = malformed_video_list(dataset)
    if bad is None:
        return
    what, other = bad
    place = (
        option_place(f'{key}.delimiter', options)
        or f'{source}: {key}.delimiter={dataset.delimiter!r}')
    fix = f': set {key}.delimiter={other!r}.' if other is not None else '.'
    raise ConfigError(f'{place} ({name}) {what}{fix}')
