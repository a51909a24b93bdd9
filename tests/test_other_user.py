# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The helper that runs test code as another user (``other_user.py``)
answers from its child, and the child never outlives its answer.

Run in a fresh interpreter, so that a child that escaped (as it did) ends
with that interpreter instead of running this test session as nobody.
"""
import os
import subprocess
import sys
import textwrap

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))

SCRIPT = textwrap.dedent('''
    import os, sys
    sys.path.insert(0, {tests!r})
    from other_user import as_another_user
    parent = os.getpid()
    for work in (lambda: str(os.geteuid()), lambda: None):
        answer = as_another_user(work)
        if os.getpid() != parent:
            print('the child got past as_another_user')
        print(repr(answer))
''')


@pytest.mark.skipif(
    os.geteuid() != 0, reason='the helper forks only when run as root')
def test_the_child_answers_and_ends_whatever_work_returns():
    """Before, a ``work`` that returned no string made the child raise out
    of ``as_another_user`` (its answer could not be written), so the
    child went on running the caller's code as nobody while the parent
    got an empty answer."""
    done = subprocess.run([sys.executable, '-c',
                           SCRIPT.format(tests=TESTS)],
                          capture_output=True,
                          text=True,
                          timeout=60)
    assert done.stdout.splitlines() == [
        "'65534'",
        "'TypeError: work() must return a str, but returned None'",
    ], done.stderr
    assert done.returncode == 0, done.stderr
