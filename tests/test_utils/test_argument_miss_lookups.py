# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`argument_miss` looks up the types of the dicts that hold the
argument only: it looked up every typed dict of the config, which imported
each registry's modules (``--cfg-options model.cls_head.foo=1`` on the SSv2
recipe imported mmaction2's visualization and 370 other modules, 0.64 s on
one CPU thread, to name the head)."""
import json
import subprocess
import sys

from repo_paths import CONFIGS, REPO_ROOT

_SCRIPT = '''
import json, sys
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
import mmadaptformer  # noqa: F401
from mmadaptformer.utils.config_mistakes import argument_miss
source = sys.argv[1]
options = {'model.cls_head.foo': 1}
cfg = Config.fromfile(source)
cfg.merge_from_dict(options)
init_default_scope(cfg.default_scope)
try:
    MODELS.build(cfg.model.cls_head)
except TypeError as e:
    error = e
before = set(sys.modules)
message = str(argument_miss(error, cfg, source, options))
print(json.dumps(dict(error=str(error), message=message,
                      imported=sorted(set(sys.modules) - before))))
'''


def test_an_unexpected_argument_looks_up_only_the_dicts_holding_it():
    source = f'{CONFIGS}/adaptformer_vitb_ssv2.py'
    proc = subprocess.run([sys.executable, '-c', _SCRIPT, source],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['error'] == ('BaseHead.__init__() got an unexpected '
                               "keyword argument 'foo'")
    assert result['message'] == (
        '--cfg-options model.cls_head.foo=1: BNLinearHead (through '
        "BaseHead.__init__) takes no argument 'foo'.")
    # No registry's modules were imported to find the head.
    assert result['imported'] == []
