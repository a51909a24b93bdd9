# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The temporary file names of atomic writes and the removal of stale ones
(:mod:`mmadaptformer.utils.atomic_tmp_files`); the whole write is tested in
``test_atomic_save.py``."""
import os
import re
import subprocess
import sys

from mmadaptformer.utils.atomic_tmp_files import (TMP_SUFFIX, host_tag,
                                                  remove_stale_tmp_files,
                                                  tmp_file_name)


def test_tmp_file_name_is_hidden_and_names_host_and_process(tmp_path):
    target = str(tmp_path / 'epoch_1.pth')
    name = tmp_file_name(target)
    assert re.fullmatch(
        re.escape(f'.epoch_1.pth.{host_tag()}.{os.getpid()}.') +
        '[0-9a-f]{32}' + re.escape(TMP_SUFFIX), name), name
    assert tmp_file_name(target) != name
    assert re.fullmatch(r'[A-Za-z0-9_-]{1,32}', host_tag())


def test_only_files_of_dead_writers_of_this_host_and_target_go(tmp_path):
    target = str(tmp_path / 'epoch_1.pth')
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    mine = tmp_path / tmp_file_name(target)  # this live process
    stale = tmp_path / mine.name.replace(f'.{os.getpid()}.', f'.{dead.pid}.')
    other_target = tmp_path / tmp_file_name(str(
        tmp_path / 'epoch_2.pth')).replace(f'.{os.getpid()}.', f'.{dead.pid}.')
    other_host = tmp_path / (f'.epoch_1.pth.elsewhere.{dead.pid}.'
                             f'{"c" * 32}{TMP_SUFFIX}')
    for path in (mine, stale, other_target, other_host):
        path.write_bytes(b'partial')
    assert remove_stale_tmp_files(target) == [str(stale)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (mine, other_target, other_host))
    # A folder that is not there: nothing to remove.
    assert remove_stale_tmp_files(str(tmp_path / 'gone' / 'x.pth')) == []
