# Copyright (c) mmadaptformer contributors. All rights reserved.
"""benchmark_add_task.py's workers import the ``mmadaptformer`` the tool
imported, as the other benchmarks' workers do
(:func:`~mmadaptformer.benchmark.worker_process.worker_command`).

They were the tool's file run as a script, which imports the package
``sys.path`` finds first: the installed one, or one on ``PYTHONPATH``. A
tool run from a checkout that is not the installed one (its folder first
on ``sys.path``: ``python -m pytest``, ``python -c``) measured the
installed code in its workers while it printed the table.
"""
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool

import mmadaptformer


def test_workers_import_the_tools_package(tmp_path, monkeypatch,
                                          clean_loggers):
    # Another mmadaptformer first on the workers' PYTHONPATH, where an
    # installed copy or another checkout would be; importing it leaves a
    # mark and fails.
    decoy = tmp_path / 'decoy' / 'mmadaptformer'
    decoy.mkdir(parents=True)
    mark = tmp_path / 'decoy_imported'
    (decoy / '__init__.py').write_text(
        f'open({str(mark)!r}, "w").close()\n'
        'raise ImportError("the decoy mmadaptformer")\n')
    monkeypatch.setenv('PYTHONPATH', str(decoy.parent))
    assert mmadaptformer.__file__ != str(decoy / '__init__.py')
    result = load_tool('analysis_tools/benchmark_add_task.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--work-dir',
        str(tmp_path / 'work')
    ])
    assert not mark.exists()
    row, = result['rows']
    assert row['tasks'] == 1 and row['tensor_mb'] > 0
