# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``gpu_check.sh`` on a torch without a name the GPU checks use ends
with one line naming it (exit status 1), after recording it in
``gpu_check.json``; it ended with a ``RuntimeError`` traceback."""
import json

from tool_modules import load_tool

from mmadaptformer.benchmark import cuda_api as api


def test_missing_torch_name_ends_gpu_check_on_one_line(tmp_path, monkeypatch,
                                                       capsys):
    monkeypatch.setitem(api.CUDA_APIS, 'synchronize',
                        'torch.cuda.no_such_call')
    tool = load_tool('analysis_tools/gpu_check.py')
    out = tmp_path / 'out'
    assert tool.main(['--out-dir', str(out), '--device', 'cpu']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('gpu_check.sh: torch ')
    assert 'torch.cuda.no_such_call' in err[-1]
    result = json.loads((out / 'gpu_check.json').read_text())
    assert result['status'] == 'error'
