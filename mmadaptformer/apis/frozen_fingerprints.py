# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The check that a task was trained on the shared frozen backbone: the
fingerprints of the shared tensors (each computed once), those an
adapter-only checkpoint records, and their comparison.

:func:`~mmadaptformer.apis.task_parts.load_task_parts` uses them for every
task after the first on a :class:`~mmadaptformer.apis.SharedBackbone`.
"""
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from mmadaptformer.models import FROZEN_HOST_KEY
from mmadaptformer.models.backbones.frozen_host_entries import as_fingerprint
from mmadaptformer.utils.checkpoint_source import FROZEN_HOST_FORMAT
from mmadaptformer.utils.control_characters import escape_controls
from mmadaptformer.utils.fingerprint import digest, tensor_fingerprint
from .backbone_match import named_files, pretrained_files
from .multitask_tasks import TaskError

__all__ = ['FrozenFingerprints', 'recorded_fingerprints', 'check_frozen']


class FrozenFingerprints:
    """Fingerprints of the shared backbone's frozen tensors, each computed
    once, when first asked for.

    Attributes:
        tensors (Mapping[str, Tensor]): The frozen tensors by state-dict
            key, the shared backbone's own mapping. It may gain keys:
            :meth:`~mmadaptformer.apis.SharedBackbone.remove_task` puts a
            routed module (a norm the first task trained) back as a plain
            frozen module, and its tensors join (see
            :func:`~mmadaptformer.apis.task_wiring.detach_task`). A key's
            values never change once it is in: a module put back where the
            shared model's own frozen module was is that module. So a
            fingerprint, once computed, stays true, and a key fingerprinted
            later is one that joined.
        digests (dict[frozenset, str]): Digests the tensors of a key set
            were found to give (by :func:`load_task_parts`, or by
            :func:`~mmadaptformer.apis.init_model` for the first task).
        files (list[tuple[str, str]]): The files the shared backbone's
            frozen weights came from, as the first task's config names them
            (:func:`~mmadaptformer.apis.backbone_match.pretrained_files`,
            for an adapter-only checkpoint; empty otherwise).

    Args:
        tensors (Mapping[str, Tensor]): See above.
        files (Sequence[tuple[str, str]]): See above. Defaults to ().
    """

    def __init__(
        self,
        tensors: Mapping[str, torch.Tensor],
        files: Sequence[Tuple[str, str]] = ()
    ) -> None:
        self.tensors = tensors
        self.files = list(files)
        self.digests: Dict[frozenset, str] = {}
        self._done: Dict[str, tuple] = {}

    def __call__(self, keys: Iterable[str]) -> Dict[str, tuple]:
        """``{key: fingerprint}`` of the tensors ``keys``."""
        out = {}
        for key in keys:
            if key not in self._done:
                self._done[key] = tensor_fingerprint(self.tensors[key])
            out[key] = self._done[key]
        return out


def recorded_fingerprints(
        entries: Dict[str, Mapping]) -> Optional[Dict[str, tuple]]:
    """The fingerprints the wrappers' records give, by state-dict key; None
    for a record that is not one (the full load names it)."""
    recorded = {}
    for key, entry in entries.items():
        prefix = key[:-len(FROZEN_HOST_KEY)]
        if not isinstance(entry, Mapping) or entry.get(
                'format') != FROZEN_HOST_FORMAT or not isinstance(
                    entry.get('fingerprints'), Mapping):
            return None
        try:
            for host_key, value in entry['fingerprints'].items():
                recorded[prefix + host_key] = as_fingerprint(value)
        except (TypeError, ValueError):
            return None
    return recorded


def check_frozen(name: str,
                 checkpoint: str,
                 expected: str,
                 recorded: Dict[str, tuple],
                 frozen: List[str],
                 fingerprints: FrozenFingerprints,
                 origin: str,
                 model: nn.Module,
                 trained_on: Sequence[str] = ()) -> None:
    """Check the shared frozen tensors against what a checkpoint records:
    the digest ``expected`` over ``frozen`` and the per-tensor ``recorded``;
    ``origin``, the task's ``model`` (its config's pretrained file) and
    ``trained_on`` (the pretrained files its records name) are named in the
    error.

    Raises:
        TaskError: If they differ: it was trained on another backbone.
    """
    if fingerprints.digests.get(frozenset(frozen)) == expected and (
            not recorded
            or set(recorded) == set(frozen) and digest(recorded) == expected):
        # The shared tensors were found to give this digest before, and the
        # record gives it too: it holds their very fingerprints.
        return
    differ = [
        k for k, value in fingerprints(recorded).items()
        if value != recorded[k]
    ]
    actual = digest(fingerprints(frozen))
    if differ or actual != expected:
        what = (f'{len(differ)} of its {len(recorded)} recorded frozen '
                f'tensors differ (e.g. {sorted(differ)[:3]})'
                if differ else f'it records frozen digest '
                f'{escape_controls(str(expected)[:16])}... and the '
                f'shared tensors give {actual[:16]}...')
        files = pretrained_files(model)
        named = (f' Its config names {named_files(files)} as its frozen '
                 'backbone.' if files else '')
        if files and all(file in fingerprints.files for file in files):
            # Both configs name one file (tools/infer.py --pretrained
            # sets every task's): the file is not what this task ran on.
            named = (f' Its config names the shared backbone\'s file too '
                     f'({named_files(files)}), so that is not the file its '
                     "checkpoint was trained on (tools/infer.py's "
                     '--pretrained names it for every task).')
            if not trained_on:
                named += (' The config copy its training run wrote in its '
                          'work dir names the one it was trained on.')
        # The files the message names already.
        said = {path for path, _ in files}
        others = [escape_controls(f) for f in trained_on if f not in said]
        if others:
            named += (' Its checkpoint records that it was trained on '
                      f'{", ".join(others)}.')
        raise TaskError(
            f'Task {name!r} ({checkpoint}) was trained on another frozen '
            'backbone than the shared one, which every task runs on '
            f'({origin}): {what}.{named} Load it on its own instead.')
    fingerprints.digests[frozenset(frozen)] = actual
