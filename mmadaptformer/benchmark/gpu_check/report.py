# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check's results, ``gpu_check.json`` and ``summary.txt``,
rewritten after every change, so a run cut short still leaves them."""
import json
import os.path as osp

from ...utils import atomic_write
from .goals import evaluate_goals
from .summary import format_gpu_summary

__all__ = ['GpuCheckReport', 'record_stop']


class GpuCheckReport:
    """Results so far, written to disk after every change.

    Args:
        out_dir (str): Where ``gpu_check.json`` and ``summary.txt`` go.
        header (dict): The run's environment and settings.
    """

    def __init__(self, out_dir: str, header: dict) -> None:
        self.out_dir = out_dir
        self.data = dict(header, checks={}, goals=[])
        self.json_path = osp.join(out_dir, 'gpu_check.json')
        self.summary_path = osp.join(out_dir, 'summary.txt')

    def write(self) -> None:
        """Write both files whole, the goals evaluated anew."""
        self.data['goals'] = evaluate_goals(self.data['checks'])
        for path, text in ((self.json_path,
                            json.dumps(self.data, indent=2, default=str)),
                           (self.summary_path, format_gpu_summary(self.data))):
            atomic_write(text, path)


def record_stop(report: GpuCheckReport, exc: BaseException,
                elapsed: float) -> None:
    """Record in the results that the run was stopped (``status:
    interrupted``), the checks it stopped as ``stopped``."""
    cause = 'Ctrl-C (SIGINT)' if isinstance(exc,
                                            KeyboardInterrupt) else str(exc)
    for result in report.data['checks'].values():
        if result.get('status') == 'running':
            result.update(
                status='stopped',
                reason=f'the run was stopped by {cause}; so were this check '
                'and the tools it ran')
    report.data.update(
        status='interrupted',
        reason=f'stopped by {cause} after {elapsed:.0f} s; the checks '
        'not recorded here did not run',
        elapsed_s=elapsed)
    report.write()
