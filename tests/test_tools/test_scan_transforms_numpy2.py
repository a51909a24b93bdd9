# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/misc/scan_transforms_numpy2.py`` runs the toolboxes' transforms
with the zoo configs' arguments on real tiny inputs and names what fails:
here mmaction2's ``PoseCompact`` as installed, which fails under NumPy 2
(``utils/pose_compact_inf.py`` fixes it)."""
import json

import numpy as np
from tool_runners import run_tool

SCAN = 'misc/scan_transforms_numpy2.py'


def test_the_scan_names_pose_compact_and_its_zoo_arguments(tmp_path):
    record = tmp_path / 'bare.json'
    proc = run_tool([
        SCAN, '--no-fixes', '--only', r'mmaction\.PoseCompact$', '--seeds',
        '2', '--out', record
    ],
                    cwd=str(tmp_path),
                    fresh=True,
                    timeout=600,
                    separate_stderr=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(record.read_text())
    # Its defaults and the PoseC3D recipes' arguments, read from the zoo.
    by_args = {r['args']: r for r in result['records']}
    assert set(by_args) == {
        '[]', "[('allow_imgpad', True), ('hw_ratio', 1.0)]"
    }, by_args.keys()
    assert 'skeleton/posec3d/' in by_args[
        "[('allow_imgpad', True), ('hw_ratio', "
        '1.0)]']['config']
    runs = by_args['[]']['runs']
    assert len(runs['pose']) == 2
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
        assert runs['pose'][0].startswith(
            'ERROR AttributeError: `np.Inf` was removed'), runs['pose']
        assert 'AttributeError: `np.Inf` was removed' in proc.stdout
    else:
        assert isinstance(runs['pose'][0], dict), runs['pose']
    # A record compared with itself: every run the same.
    compared = run_tool([SCAN, '--compare', record, record],
                        cwd=str(tmp_path),
                        fresh=True)
    outcome = 'same under both'
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
        outcome = ('fails on every input under both (needs data the scan '
                   'does not make)')
    assert f"builds: {{'{outcome}': 2}}" in compared.stdout, compared.stdout
