# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``import mmadaptformer`` says what is wrong with the installed stack: a
package that is missing, one that is installed but cannot import a module
of its own requirements, and one outside the supported range."""
import json

from helpers import run_fresh_python

# One fresh process tries `import mmadaptformer` three times, with
# mmpretrain missing, broken and too old (argv[1] holds the fakes).
CODE = r'''
import json, os, sys

def attempt(path=None):
    for name in [m for m in sys.modules
                 if m.split('.')[0] in ('mmadaptformer', 'mmpretrain')]:
        del sys.modules[name]
    if path is None:
        # What an import finds when the package is not there.
        sys.modules['mmpretrain'] = None
    else:
        sys.path.insert(0, path)
    try:
        import mmadaptformer  # noqa: F401
        return None
    except ImportError as e:
        return str(e)
    finally:
        if path is not None:
            sys.path.remove(path)

print(json.dumps(dict(
    missing=attempt(),
    broken=attempt(os.path.join(sys.argv[1], 'broken')),
    old=attempt(os.path.join(sys.argv[1], 'old')))))
'''


def test_import_names_a_missing_broken_or_old_package(tmp_path):
    for name, source in (('broken', 'import lazy_importer_not_here\n'),
                         ('old', "__version__ = '1.1.0'\n")):
        package = tmp_path / name / 'mmpretrain'
        package.mkdir(parents=True)
        (package / '__init__.py').write_text(source)
    proc = run_fresh_python(CODE, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    errors = json.loads(out.splitlines()[-1])
    assert errors['missing'] == (
        'mmadaptformer needs mmpretrain >= 1.2.0, < 1.3.0, which is not '
        'installed. Install it with: pip install mmpretrain==1.2.0')
    # Installed, but its own import fails: the message must not send the
    # user to reinstall mmpretrain; it names the module that is missing.
    assert 'which is not installed' not in errors['broken']
    assert errors['broken'].startswith(
        'mmadaptformer needs mmpretrain >= 1.2.0, < 1.3.0; it is installed, '
        'but `import mmpretrain` failed: ')
    assert "No module named 'lazy_importer_not_here'" in errors['broken']
    assert 'pip check' in errors['broken']
    assert errors['old'] == (
        'mmadaptformer supports mmpretrain >= 1.2.0, < 1.3.0, but '
        'mmpretrain==1.1.0 is installed. Install a supported version with: '
        'pip install mmpretrain==1.2.0')


def test_import_refuses_numpy_1_before_loading_anything():
    """The checkpoint loader's numpy guards need numpy 2's layout: under
    numpy 1.x (a cluster's own environment, installed with --no-deps) the
    import says so instead of failing at the first checkpoint load."""
    code = r'''
import numpy, sys
numpy.__version__ = '1.26.4'
try:
    import mmadaptformer  # noqa: F401
except ImportError as e:
    print(e)
print('mmadaptformer.utils' in sys.modules)
'''
    proc = run_fresh_python(code)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-2] == (
        'mmadaptformer supports numpy >= 2.0.0, < 3.0.0, but numpy==1.26.4 '
        'is installed. Install a supported version with: pip install '
        '"numpy>=2,<3"')
    # Refused before the upstream fixes and the allow-list were applied.
    assert lines[-1] == 'False'
