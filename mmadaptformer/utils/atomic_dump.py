# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``mmengine.dump`` and MMEngine's ``DumpResults`` metric, atomically.

:func:`mmengine.fileio.dump` serialises into memory and hands the bytes to
the file backend, whose local ``put`` opens the final path with ``'wb'``:
a test killed (or out of disk) while writing leaves a truncated
``results.pkl`` / ``metrics.json`` under its real name. Here the same
bytes go to the ``'atomic_local'`` backend of
:mod:`~mmadaptformer.utils.atomic_save` (temporary file in the same folder,
``fsync``, ``os.replace``), so the path holds the previous file or the
whole new one. ``tools/test.py`` writes ``--dump``, ``--out`` and
``--out-item metrics`` through them. Nothing in MMEngine is patched.
"""
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch
from mmengine.evaluator import DumpResults
from mmengine.fileio import dump
from mmengine.logging import print_log
from mmengine.registry import METRICS

from .atomic_save import ATOMIC_BACKEND

__all__ = ['atomic_dump', 'AtomicDumpResults', 'plain_values']


def atomic_dump(obj: Any,
                file: Union[str, Path],
                file_format: Optional[str] = None,
                **kwargs: Any) -> None:
    """:func:`mmengine.dump` to a local ``file`` that no reader sees
    partially written.

    A failure while serialising (an object that cannot be pickled or has no
    JSON form) or writing (disk full, file too large) leaves ``file`` as it
    was and no temporary file.

    Args:
        obj (Any): What to dump.
        file (str | Path): The local target file; missing parent folders
            are created.
        file_format (str, optional): ``'json'``, ``'yaml'``, ``'yml'``,
            ``'pkl'`` or ``'pickle'``; None takes the file's extension.
            Defaults to None.
        **kwargs: Passed to the format's handler (e.g. ``indent=4``).

    Raises:
        AtomicWriteError: If the file could not be written, naming it and
            the bytes written.
    """
    dump(
        obj,
        str(file),
        file_format=file_format,
        backend_args=dict(backend=ATOMIC_BACKEND),
        **kwargs)


def plain_values(obj: Any) -> Any:
    """``obj`` as plain YAML/JSON data: numpy scalars and arrays and torch
    tensors as Python numbers and lists, any dict (an ``OrderedDict`` too)
    as a ``dict`` and a tuple as a list, however deeply nested.

    Metrics such as mmaction2's ``AccMetric`` return ``np.float64`` values;
    ``yaml.dump`` wrote each as a ``!!python/object/apply`` tag around its
    bytes, which ``yaml.safe_load`` and other YAML readers refuse (and a
    tensor, such as mmpretrain's ``ConfusionMatrix`` result, had no JSON
    form at all).

    Args:
        obj (Any): The metrics (or any nest of dicts, lists and tuples).

    Returns:
        Any: The same values in plain Python types.

    Examples:
        >>> plain_values({'acc/top1': np.float64(0.5)})
        {'acc/top1': 0.5}
    """
    if isinstance(obj, (np.generic, np.ndarray, torch.Tensor)):
        return obj.tolist()
    if isinstance(obj, dict):
        return {k: plain_values(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain_values(v) for v in obj]
    return obj


@METRICS.register_module()
class AtomicDumpResults(DumpResults):
    """:class:`~mmengine.evaluator.DumpResults` whose pickle file is
    replaced atomically (see :func:`atomic_dump`): a test killed while
    dumping its predictions leaves the previous file, not a truncated one.

    Args:
        out_file_path (str): The ``.pkl`` or ``.pickle`` file to write.
        collect_device (str): ``'cpu'`` or ``'gpu'``, where the ranks'
            results are gathered. Defaults to ``'cpu'``.
        collect_dir (str, optional): The folder to gather results in with
            ``collect_device='cpu'``. Defaults to None.

    Examples:
        >>> test_evaluator = [
        ...     dict(type='AccMetric'),
        ...     dict(type='AtomicDumpResults', out_file_path='preds.pkl')]
    """

    def compute_metrics(self, results: list) -> dict:
        """Dump the predictions, atomically.

        Args:
            results (list): The predictions of all ranks.

        Returns:
            dict: Empty; this metric only writes a file.
        """
        atomic_dump(results, self.out_file_path)
        print_log(
            f'Results has been saved to {self.out_file_path}.',
            logger='current')
        return {}
