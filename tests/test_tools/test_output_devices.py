# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An output that is a character device or a pipe is written through, as
``open`` writes it (and MMEngine's ``dump``, and so MMAction2's ``--dump``):
``--out /dev/null`` discards the results, ``--out /dev/stdout`` or a FIFO
streams them. Before, every tool writing through ``atomic_write`` wrote a
temporary file beside it and renamed that onto it: run as ``root``,
``tools/infer.py --out /dev/null`` replaced the system's ``/dev/null`` with
a regular file holding the JSON. Here a copy of ``/dev/null`` made with
``mknod`` in a temporary folder stands in for it (the real one is never
touched). An output where no file can be made (``/sys`` as ``root``) is
refused before any model loads; it used to fail after the work.
"""
import errno
import json
import os
import os.path as osp
import socket
import stat
import threading

import pytest
import torch
from helpers import load_tool, pretrained_cfg, run_tool, write_config

from mmadaptformer.utils.atomic_file import AtomicWriteError, atomic_write


def _null_copy(path) -> str:
    """A character device like ``/dev/null`` (1, 3) at ``path``."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip('mknod needs root')
    return str(path)


def _is_device(path) -> bool:
    return stat.S_ISCHR(os.lstat(path).st_mode)


class _FifoReader:
    """Reads a FIFO to its end in a thread, as ``cat FIFO`` would."""

    def __init__(self, path):
        self.path = path
        self.data = b''
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        with open(self.path, 'rb') as f:
            self.data = f.read()

    def result(self) -> bytes:
        """What was read; fails if no writer ever opened the FIFO."""
        self.thread.join(timeout=5)
        if self.thread.is_alive():
            # Let the reader go: the tool wrote elsewhere.
            with open(self.path, 'wb'):
                pass
            self.thread.join(timeout=5)
            pytest.fail(f'nothing opened {self.path} for writing')
        return self.data


def _video(tiny_video_data) -> str:
    name = sorted(os.listdir(tiny_video_data['videos']))[0]
    return osp.join(tiny_video_data['videos'], name)


def test_infer_out_to_a_device_discards_and_keeps_it(infer, stock_video_model,
                                                     tiny_video_data, tmp_path,
                                                     clean_loggers):
    null = _null_copy(tmp_path / 'null')
    assert infer([
        stock_video_model['config'], stock_video_model['checkpoint'],
        _video(tiny_video_data), '--out', null
    ]) == 0
    assert _is_device(null)
    assert os.listdir(tmp_path) == ['null']  # no temporary file left


def test_infer_out_to_a_fifo_streams_the_json(infer, stock_video_model,
                                              tiny_video_data, tmp_path,
                                              clean_loggers):
    fifo = tmp_path / 'results.json'
    os.mkfifo(fifo)
    reader = _FifoReader(fifo)
    video = _video(tiny_video_data)
    assert infer([
        stock_video_model['config'], stock_video_model['checkpoint'], video,
        '--out',
        str(fifo)
    ]) == 0
    assert set(json.loads(reader.result())) == {video}
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_test_dump_to_a_device_keeps_it(stock_video_model, tmp_path,
                                        clean_loggers):
    """``--dump`` must name a ``.pkl`` file, so the device is named so."""
    null = _null_copy(tmp_path / 'null.pkl')
    load_tool('test.py').main([
        stock_video_model['config'], stock_video_model['checkpoint'],
        '--work-dir',
        str(tmp_path / 'work'), '--dump', null
    ])
    assert _is_device(null)
    assert sorted(os.listdir(tmp_path)) == ['null.pkl', 'work']


@pytest.fixture
def merge_argv(video_tasks, tmp_path):
    """merge_adapters.py's CONFIG and ADAPTERS for the ``full`` task (its
    OUT is the test's)."""
    task = video_tasks['full']
    config = write_config(
        str(tmp_path / 'task.py'), task['config'],
        pretrained_cfg(video_tasks['stock']))
    return [config, task['checkpoint']]


def test_converter_output_to_a_fifo_streams_a_loadable_checkpoint(
        merge_argv, tmp_path, capsys):
    fifo = tmp_path / 'merged.pth'
    os.mkfifo(fifo)
    reader = _FifoReader(fifo)
    load_tool('model_converters/merge_adapters.py').main(merge_argv +
                                                         [str(fifo)])
    copy = tmp_path / 'copy.pth'
    copy.write_bytes(reader.result())
    assert torch.load(copy, weights_only=True)['state_dict']
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert f'Wrote {fifo}: ' in capsys.readouterr().out


def test_converter_output_to_a_device_keeps_it(merge_argv, tmp_path):
    null = _null_copy(tmp_path / 'null')
    load_tool('model_converters/merge_adapters.py').main(merge_argv + [null])
    assert _is_device(null)
    assert sorted(os.listdir(tmp_path)) == ['null', 'task.py']


def test_a_socket_is_refused_and_kept(tmp_path):
    from mmadaptformer.utils.output_place import place_problem
    path = str(tmp_path / 'sock')
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    try:
        with pytest.raises(AtomicWriteError) as info:
            atomic_write('{}', path)
        assert info.value.strerror == (
            f'Could not write {path}: it is a socket, not a regular file, '
            'a character device (/dev/null) or a pipe; nothing was '
            'written. Give the path of a file.')
        assert place_problem(path, '--out') == (
            f'--out {path}: it is a socket, not a regular file, a '
            'character device (/dev/null) or a pipe; give the path of a '
            'file')
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        server.close()


@pytest.mark.skipif(
    os.geteuid() != 0 or not osp.isdir('/sys'),
    reason='root passes the permission checks in /sys')
def test_infer_out_in_sys_is_refused_before_the_work(infer, stock_video_model,
                                                     tiny_video_data, capsys,
                                                     clean_loggers):
    out = '/sys/infer_out.json'
    with pytest.raises(SystemExit) as info:
        infer([
            stock_video_model['config'], stock_video_model['checkpoint'],
            _video(tiny_video_data), '--out', out
        ])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ''  # no model loaded, nothing classified
    line = captured.err.strip().splitlines()[-1]
    assert line.split(
        ': error: ',
        1)[1].startswith(f'--out {out}: no file can be made in /sys (')
    assert not osp.exists(out)


def test_infer_out_dev_stdout_in_a_pipeline(stock_video_model, tiny_video_data,
                                            tmp_path):
    """``/dev/stdout`` in a pipeline (a fresh process: its stdout is a
    real pipe) is a link to ``pipe:[N]``; resolved, it named no file and
    the write ended with an ``AtomicWriteError`` line, exit status 1."""
    video = _video(tiny_video_data)
    proc = run_tool([
        'infer.py', stock_video_model['config'],
        stock_video_model['checkpoint'], video, '--out', '/dev/stdout'
    ],
                    cwd=str(tmp_path),
                    fresh=True,
                    separate_stderr=True)
    assert 'Traceback' not in proc.stderr
    start = proc.stdout.index('{\n')
    end = proc.stdout.rindex('}\n') + 2
    assert set(json.loads(proc.stdout[start:end])) == {video}


def test_a_pipe_closed_by_its_reader_is_one_error_naming_it(tmp_path):
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)

    def read_nothing():
        with open(fifo, 'rb'):
            pass

    reader = threading.Thread(target=read_nothing, daemon=True)
    reader.start()
    with pytest.raises(AtomicWriteError) as info:
        atomic_write(b'x' * 2**20, fifo)  # more than a pipe holds
    reader.join(timeout=5)
    assert info.value.errno == errno.EPIPE
    assert info.value.strerror == (
        f'Could not write {fifo}: Broken pipe while writing 1048576 bytes '
        'through to it (a device or a pipe).')
    assert os.listdir(tmp_path) == ['fifo']


@pytest.mark.skipif(
    os.geteuid() != 0 or not osp.isdir('/sys'),
    reason='root passes the permission checks in /sys')
def test_a_data_tool_out_dir_in_sys_is_refused_first(tmp_path):
    """It ended with ``error: [Errno 1] Operation not permitted:
    '/sys/hmdb51_lists'``, exit status 1, after reading the splits."""
    splits = tmp_path / 'splits'
    splits.mkdir()
    for k in (1, 2, 3):
        (splits / f'wave_test_split{k}.txt').write_text('a.avi 1 \nb.avi 2 \n')
    out = '/sys/hmdb51_lists'
    proc = run_tool([
        'data/hmdb51/build_file_list.py',
        str(splits), out, '--num-classes', '1'
    ],
                    cwd=str(tmp_path),
                    check=False)
    assert proc.returncode == 2, proc.stdout
    assert 'Traceback' not in proc.stdout
    assert (f'OUT_DIR {out}: no file can be made in /sys (Permission '
            'denied), as in /proc, /sys or a read-only mount'
            in proc.stdout.strip().splitlines()[-1])
    assert not osp.exists(out)
