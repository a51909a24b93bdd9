# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A stop that comes while an object's ``__del__`` runs still stops the
tool.

Python prints an exception raised inside ``__del__`` as "Exception ignored
in" and goes on: the ``KeyboardInterrupt`` that the first Ctrl-C raised
there was lost, and as only the first stop raises, ``tools/infer.py`` ran
to its end (a CI run met it in decord's ``VideoReader.__del__``; the test
waited 120 s). Now the stop is sent again once the finalizer returned.
Real signals, a real child process."""
import signal
import subprocess
import sys
import textwrap

import pytest

#: Objects whose ``__del__`` takes a while, dropped in a loop that would
#: run for a minute: the parent sends the signal while one runs.
CHILD = textwrap.dedent('''
    import sys, time
    from mmadaptformer.utils.stop_signals import exit_on_stop

    class Slow:
        def __del__(self):
            print('IN_DEL', flush=True)
            time.sleep(0.5)

    def main():
        for _ in range(120):
            Slow()
            time.sleep(0.01)
        print('RAN_TO_THE_END', flush=True)

    exit_on_stop('child.py', main, 'nothing was written')
''')


@pytest.mark.parametrize('signum, status', [(signal.SIGINT, 130),
                                            (signal.SIGTERM, 143)])
def test_a_stop_inside_del_stops_the_run(tmp_path, signum, status):
    script = tmp_path / 'child.py'
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script)],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == 'IN_DEL'
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert 'RAN_TO_THE_END' not in out, err
    assert proc.returncode == status, err
    assert err.strip().splitlines()[-1].startswith('child.py: stopped by'), err
