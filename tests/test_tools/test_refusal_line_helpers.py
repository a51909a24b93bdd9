# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What :func:`refusal_lines.usage_line` accepts and rejects, next to
:func:`refusal_lines.refused_line`: on real runs of a Python child whose
argparse refuses its command line (exit status 2) or that exits 1."""
import subprocess
import sys

import pytest
from refusal_lines import refused_line, usage_line

USAGE = ("import argparse; argparse.ArgumentParser(prog='prog')"
         ".parse_args(['--nope'])")
REFUSAL = ("import sys; print('Working', flush=True); "
           "sys.exit('Error: one line')")
# A traceback, then exit status 2 as if a usage error.
CRASH = ('import sys, traceback\ntry:\n    {}[0]\nexcept KeyError:\n'
         '    traceback.print_exc()\n    sys.exit(2)\n')
LAST = 'prog: error: unrecognized arguments: --nope'


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=60)


def test_usage_line_is_the_last_line_of_an_exit_2_run(tmp_path):
    proc = _run(USAGE)
    assert usage_line(proc) == LAST
    assert usage_line(proc, absent=['Working'], no_dir=tmp_path / 'w') == LAST


def test_usage_line_rejects_what_is_no_usage_error(tmp_path):
    proc = _run(USAGE)
    with pytest.raises(AssertionError):
        usage_line(proc, absent=['unrecognized'])
    with pytest.raises(AssertionError):
        usage_line(proc, no_dir=tmp_path)  # the folder exists
    with pytest.raises(AssertionError):
        usage_line(_run(REFUSAL))  # exit status 1: a refusal
    crash = _run(CRASH)
    assert crash.returncode == 2 and 'Traceback' in crash.stdout
    with pytest.raises(AssertionError):
        usage_line(crash)


def test_refused_line_and_usage_line_split_the_exit_statuses():
    """A guard of kept behaviour for :func:`refused_line`: exit status 1
    only, its last line."""
    assert refused_line(_run(REFUSAL)) == 'Error: one line'
    with pytest.raises(AssertionError):
        refused_line(_run(USAGE))
