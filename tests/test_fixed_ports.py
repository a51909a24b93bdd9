# Copyright (c) mmadaptformer contributors. All rights reserved.
"""No test starts a run on a fixed port: under ``pytest -n 2`` another
test's job held one (29747) and two tests errored at setup; 29641 and
29671 were each given to two tests. A run that listens takes
``tool_runners.free_port()``; a number stays only where it is text."""
import os
import re

from repo_paths import REPO_ROOT

TESTS = os.path.join(REPO_ROOT, 'tests')

# A number after ``port=``, ``PORT='``, ``--master_port=``, ``'--port', '``
# or ``MASTER_PORT', '`` (any case).
PORT_NUMBER = re.compile(r"port'?\s*[=,:]\s*'?(\d{4,5})\b", re.IGNORECASE)

#: Where a port number is text alone, and why nothing listens on it.
TEXT_ONLY = {
    ('test_tools/test_train_cli_dist_scripts.py', '29555'):
    'node 1 of a launch whose PYTHON records its arguments',
    ('test_tools/test_dist_port_race.py', '29500'):
    'the argv beside a made-up DistNetworkError',
    ('test_tools/test_dist_port_in_use.py', '29500'):
    "the docstring's torch message",
    ('test_utils/test_runner_check.py', '29500'):
    'a dist_cfg that is checked, not run',
}


def test_no_run_listens_on_a_fixed_port():
    found = set()
    for folder, _, files in os.walk(TESTS):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(folder, name)
            with open(path) as f:
                numbers = PORT_NUMBER.findall(f.read())
            found |= {(os.path.relpath(path, TESTS), n) for n in numbers}
    assert found == set(TEXT_ONLY), sorted(found ^ set(TEXT_ONLY))
