# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A line of a list of extracted frames that ``RawFrameDecode`` cannot
read.

mmaction2's ``RawframeDataset`` reads lines ``<frame_dir> [<offset>]
<total_frames> [<label> ...]``, and ``RawFrameDecode`` reads
``filename_tmpl.format(index)`` in each folder. A missing frame folder, a
``total_frames`` above the frames present or a ``filename_tmpl`` that
names no file ended training at the first batch holding one, after the
work dir and the model were made, with ``FileNotFoundError: No such file
or directory: '.../vid_7/frame_00005.jpg'`` through the Runner's loop; a
line of two labels without ``multi_class`` ended the dataset's build with
a bare ``AssertionError``, and a label outside the dataset's
``num_classes`` the first batch holding it, in the loss.

:func:`malformed_rawframe_list` reads every line of such a list (a list of
200,000 lines takes about 0.3 s) for its fields and labels, and looks for
the frames of its first :data:`HEAD_LINES` lines and of a seeded sample of
:data:`SAMPLE_LINES` more: a look at the disk is a file system call per
folder and frame, about 1 s per 100,000 lines on a local disk and far more
on a network one, so not all of them are looked at.
"""
import os
import os.path as osp
import random
import re
from typing import List, Optional, Pattern, Sequence, Tuple

from .local_files import is_local, local_ann_file
from .video_ann_file import ListProblem, is_int, label_problem, list_lines

__all__ = [
    'malformed_rawframe_list', 'frame_name', 'HEAD_LINES', 'SAMPLE_LINES'
]

#: How many lines of a list, from its first, have their frames looked for.
HEAD_LINES = 20

#: How many more lines, drawn with a fixed seed from the rest of the list
#: (the same on every rank and rerun), have their frames looked for.
SAMPLE_LINES = 20


def frame_name(template: str, index: int, flow: bool) -> str:
    """The file ``RawFrameDecode`` reads for frame ``index`` (the x
    component of optical flow).

    Raises:
        IndexError, KeyError, ValueError: ``template`` cannot name it.
    """
    return template.format('x', index) if flow else template.format(index)


def _plain_line(dataset) -> Pattern:
    """A line whose fields are plain digits where numbers go, and at most
    one label without ``multi_class``: most lines of a list, matched
    without splitting them into Python strings (the labels, if any, are
    group 1)."""
    numbers = 2 if dataset.with_offset else 1
    labels = r'((?:\s+\d+)*)' if dataset.multi_class else r'(\s+\d+)?'
    return re.compile(rf'\S+(?:\s+\d+){{{numbers}}}{labels}', re.ASCII)


def _fields_problem(dataset, where: str,
                    fields: Sequence[str]) -> Optional[ListProblem]:
    """What is wrong with the fields of one line, as the dataset reads
    them; None if they read."""
    counts = 3 if dataset.with_offset else 2
    expected = ('<frame_dir> <offset> <total_frames> <label>'
                if dataset.with_offset else '<frame_dir> <total_frames> '
                '<label>')
    if len(fields) < counts or not all(
            is_int(field, True) for field in fields[1:counts]) or not all(
                is_int(field, False) for field in fields[counts:]):
        return ListProblem(
            'ann_file', f'{where} is not {expected!r} (the frame count '
            'and labels must be integers)' + _separator_hint(dataset, fields))
    labels = fields[counts:]
    if not dataset.multi_class and len(labels) > 1:
        return ListProblem(
            'ann_file', f'{where} has {len(labels)} labels, but the '
            'dataset takes one a line unless multi_class=True')
    wrong = label_problem(labels, getattr(dataset, 'num_classes', None), where)
    return None if wrong is None else ListProblem('ann_file', wrong)


def _separator_hint(dataset, fields: Sequence[str]) -> str:
    """``"; RawframeDataset splits ... write it 'vid 4 0'"`` for a line
    whose fields, separated by ``','`` or ``';'`` rather than whitespace,
    read once separated by spaces; ``''`` for any other."""
    line = ' '.join(fields)
    for other in (',', ';'):
        if other in line:
            spaced = ' '.join(f.strip() for f in line.split(other))
            if _fields_problem(dataset, '', spaced.split()) is None:
                return (f'; RawframeDataset splits a line at whitespace '
                        f'only (it takes no delimiter): write it '
                        f'{spaced!r}')
    return ''


def _separated_folder(dataset, where: str,
                      fields: Sequence[str]) -> Optional[ListProblem]:
    """What is wrong with a line whose frame folder field holds a ``','``
    or ``';'`` that separates it from the next field (``'vid,16 0'``):
    ``RawframeDataset`` reads its fields, but splits at whitespace only,
    so the folder it names (``vid,16``) does not exist; None if the
    folder exists, is not local, or no rewrite with spaces reads."""
    if ',' not in fields[0] and ';' not in fields[0]:
        return None
    hint = _separator_hint(dataset, fields)
    prefix = dataset.data_prefix.get('img')
    folder = osp.join(prefix, fields[0]) if prefix else fields[0]
    if not hint or not is_local(folder) or osp.isdir(folder):
        return None
    return ListProblem(
        'ann_file', f'{where} names the frame folder {fields[0]!r} '
        f'({folder}), which does not exist{hint}')


def _frames_problem(dataset, where: str,
                    fields: Sequence[str]) -> Optional[ListProblem]:
    """What is wrong with the frames of one line whose fields read; None
    if they are there."""
    counts = 3 if dataset.with_offset else 2
    prefix = dataset.data_prefix.get('img')
    folder = osp.join(prefix, fields[0]) if prefix else fields[0]
    if not osp.isdir(folder):
        return ListProblem(
            'data_prefix',
            f'{where} names the frame folder {folder}, which does not '
            f'exist (data_prefix img={prefix!r} joined to {fields[0]!r})')
    template, flow = dataset.filename_tmpl, dataset.modality == 'Flow'
    offset = int(fields[1]) if dataset.with_offset else 0
    total = int(fields[counts - 1])
    first = dataset.start_index + offset
    try:
        name = frame_name(template, first, flow)
    except (IndexError, KeyError, ValueError) as e:
        return ListProblem(
            'filename_tmpl',
            f'{template!r} cannot name a frame ({type(e).__name__}: {e}); '
            "it takes the frame's index, e.g. 'img_{:05}.jpg'" +
            (", and 'x' or 'y' first for Flow" if flow else ''))
    if not osp.isfile(osp.join(folder, name)):
        present = sorted(osp.basename(p) for p in os.listdir(folder))
        shown = ', '.join(present[:3]) + (', ...' if len(present) > 3 else '')
        second = frame_name(template, first + 1, flow)
        if osp.isfile(osp.join(folder, second)):
            # mmaction2's start_index=0 on frames counted from 1.
            return ListProblem(
                'start_index',
                f'{where} names the frames of {folder} from {name} '
                f'(start_index={dataset.start_index}), but they start at '
                f'{second}: set start_index={dataset.start_index + 1}')
        return ListProblem(
            'filename_tmpl',
            f'{template!r} names the first frame of {where} {name} '
            f'(start_index={dataset.start_index}), but {folder} has no such '
            f'file; it holds {len(present)} files'
            f'{f" ({shown})" if shown else ""}')
    last = first + total - 1
    if total > 0 and osp.isfile(
            osp.join(folder, frame_name(template, last, flow))):
        return None
    present = 0
    while present < total and osp.isfile(
            osp.join(folder, frame_name(template, first + present, flow))):
        present += 1
    hint, argument = '', 'ann_file'
    # A frame before the first one counted says the frames are counted from
    # a lower index only where the line starts at its folder's start: a
    # clip at an offset is cut from frames that go on before it.
    if dataset.start_index > 0 and offset == 0 and osp.isfile(
            osp.join(folder, frame_name(template, first - 1, flow))):
        hint = (
            f'; the frames start at {frame_name(template, first - 1, flow)}:'
            f' set start_index={dataset.start_index - 1}')
        argument = 'start_index'
    return ListProblem(
        argument, f'{where} says {folder} holds {total} frames, '
        f'{frame_name(template, first, flow)} to '
        f'{frame_name(template, last, flow)}, but only the first {present} '
        f'are there{hint}')


def malformed_rawframe_list(
        dataset,
        head: int = HEAD_LINES,
        sample: int = SAMPLE_LINES) -> Optional[ListProblem]:
    """The first line of a lazily built mmaction2 ``RawframeDataset``'s
    local ``ann_file`` that it or ``RawFrameDecode`` cannot read.

    Every line must be ``<frame_dir> [<offset>] <total_frames> [<label>
    ...]`` (one label at most without ``multi_class``, each in ``[0,
    num_classes)`` when the dataset sets ``num_classes``). The lines
    looked at on disk (the first ``head`` and a seeded sample of
    ``sample`` more) must name a folder (joined to ``data_prefix['img']``)
    that holds the first and the last frame they count,
    ``filename_tmpl.format(start_index + offset)`` to
    ``filename_tmpl.format(start_index + offset + total_frames - 1)``.
    A line of any of them whose fields are separated by ``','`` or ``';'``
    is named as such, with the line rewritten with spaces, also when its
    fields read (``'vid,16 0'``: the folder ``vid,16``, which does not
    exist, and 0 frames).

    Args:
        dataset: A dataset built with ``lazy_init=True``.
        head (int): How many lines, from the first, have their frames
            looked for. Defaults to :data:`HEAD_LINES`.
        sample (int): How many more lines, drawn from the rest with a
            fixed seed, have their frames looked for. Defaults to
            :data:`SAMPLE_LINES`.

    Returns:
        ListProblem, optional: The dataset argument at fault
        (``ann_file``, ``data_prefix``, ``filename_tmpl`` or
        ``start_index``) and what is wrong, naming the file, the line and
        the path; None if the list reads, or nothing could be checked
        (another dataset, a list or frames that are not local files).
    """
    try:
        from mmaction.datasets import RawframeDataset
    except ImportError:  # no mmaction2: none of its datasets to check
        return None
    ann_file = local_ann_file(dataset)
    prefix = getattr(dataset, 'data_prefix', {}).get('img')
    if not isinstance(dataset, RawframeDataset) or ann_file is None:
        return None
    if dataset.multi_class and getattr(dataset, 'num_classes', None) is None:
        return ListProblem(
            'num_classes', 'is not set, but multi_class=True needs it (the '
            'length of the labels vector)')
    num_classes = getattr(dataset, 'num_classes', None)
    plain = _plain_line(dataset).fullmatch
    lines: List[Tuple[int, str]] = []
    for number, line in list_lines(ann_file):
        match = plain(line)
        labels = match.group(1) if match is not None else None
        # Only a line that is not plain, or with a label out of range, is
        # looked at field by field: 200,000 of them took 3 s.
        if match is None or (num_classes is not None and labels and any(
                int(label) >= num_classes for label in labels.split())):
            wrong = _fields_problem(dataset,
                                    f'line {number} of {ann_file}, {line!r},',
                                    line.split())
            if wrong is not None:
                return wrong
        elif ',' in line or ';' in line:
            # 'vid,16 0' reads as the folder 'vid,16' and 0 frames: named
            # here for every line, not only those looked at on disk.
            wrong = _separated_folder(
                dataset, f'line {number} of {ann_file}, {line!r},',
                line.split())
            if wrong is not None:
                return wrong
        lines.append((number, line))
    if prefix and not is_local(prefix):
        return None
    # In list order, so that the first line at fault is named.
    rest = range(head, len(lines))
    looked = list(range(min(head, len(lines)))) + sorted(
        random.Random(0).sample(rest, min(sample, len(rest))))
    for index in looked:
        number, line = lines[index]
        wrong = _frames_problem(dataset,
                                f'line {number} of {ann_file}, {line!r},',
                                line.split())
        if wrong is not None:
            return wrong
    return None
