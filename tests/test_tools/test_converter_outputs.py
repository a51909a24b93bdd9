# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The checkpoint converters write no output over one of their inputs, and
extract_adapters.py drops no tensor that was trained."""
import hashlib
import os
import os.path as osp
import re
import shutil
import signal

import pytest
import torch
from helpers import (REPO_ROOT, load_tool, pretrained_cfg, run_fresh_python,
                     run_tool, write_config)
from refusal_lines import refused_line, usage_line

from mmadaptformer.models import FROZEN_HOST_KEY, FrozenBackboneMismatchError
from mmadaptformer.utils import safe_torch_load

TOOLS = {
    name: load_tool(f'model_converters/{name}.py')
    for name in ('extract_adapters', 'merge_adapters', 'convert_official')
}


def _digest(path) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _refused(tool, argv, capsys) -> str:
    """The one error line ``tool`` ends with (status 2)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        TOOLS[tool].main([str(a) for a in argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    # argparse names the program as sys.argv[0] has it.
    assert ': error: ' in err[-1], err
    assert 'Traceback' not in '\n'.join(err), err
    return err[-1].split(': error: ', 1)[1]


@pytest.fixture
def files(video_tasks, tmp_path):
    """Copies of a task's files: a test that the old tools fail must not
    overwrite the session's."""
    task = video_tasks['full']
    stock = str(tmp_path / 'stock.pth')
    shutil.copy(video_tasks['stock'], stock)
    config = write_config(
        str(tmp_path / 'task.py'), task['config'], pretrained_cfg(stock))
    adapters = str(tmp_path / 'adapters.pth')
    shutil.copy(task['checkpoint'], adapters)
    merged = str(tmp_path / 'merged.pth')
    TOOLS['merge_adapters'].main([config, adapters, merged])
    return dict(config=config, stock=stock, adapters=adapters, merged=merged)


def test_an_output_that_is_an_input_is_refused(files, tmp_path, capsys,
                                               monkeypatch, clean_loggers):
    """``extract_adapters.py C full.pth full.pth`` overwrote the full
    checkpoint (and reported the size of what it wrote as the source's);
    ``merge_adapters.py ... pre.pth --pretrained pre.pth`` replaced the
    pretrained backbone with the merged model."""
    config, stock, merged = files['config'], files['stock'], files['merged']
    before = {path: _digest(path) for path in (config, stock, merged)}
    monkeypatch.chdir(tmp_path)
    os.symlink(merged, 'link.pth')
    os.mkdir('sub')
    cases = [
        ('extract_adapters', [config, merged, merged], 'checkpoint'),
        # Another spelling, and a link.
        ('extract_adapters', [config, 'merged.pth',
                              './sub/../merged.pth'], 'checkpoint'),
        ('extract_adapters', [config, merged, 'link.pth'], 'checkpoint'),
        ('extract_adapters', [config, merged, config], 'config'),
        # The backbone a merged file records, which extraction reads.
        ('extract_adapters', [config, merged, stock], 'pretrained backbone'),
        ('merge_adapters',
         [config, files['adapters'], stock, '--pretrained',
          stock], '--pretrained backbone'),
        # The config's own pretrained path.
        ('merge_adapters', [config, files['adapters'],
                            stock], 'pretrained backbone'),
        ('convert_official', [merged, 'link.pth'], 'source checkpoint'),
    ]
    for tool, argv, what in cases:
        line = _refused(tool, argv, capsys)
        assert f'is the same file as the {what} ' in line, (tool, line)
        assert line.endswith(f'writing it would replace the {what}. Give '
                             'another file.'), line
    assert before == {p: _digest(p) for p in before}
    # A folder, or a path under a file, is named before anything is read.
    for tool, argv in (('extract_adapters', [config, merged]),
                       ('merge_adapters', [config, files['adapters']
                                           ]), ('convert_official', [merged])):
        assert _refused(tool, argv + ['sub'], capsys) == \
            f'{"dst" if tool == "convert_official" else "out"} sub: it is ' \
            'a folder; give the file to write.'
        line = _refused(tool, argv + [f'{config}/out.pth'], capsys)
        assert line.endswith(f': {config} is a file, not a folder; give a '
                             'path in a folder.'), line
    # A folder not there yet is made; the sizes are those of the source
    # and of what was written.
    capsys.readouterr()
    TOOLS['extract_adapters'].main([config, merged, 'new/out.pth'])
    sizes = [osp.getsize(path) / 2**20 for path in ('new/out.pth', merged)]
    assert '{:.2f} MiB (from {:.2f} MiB).'.format(*sizes) in \
        capsys.readouterr().out


@pytest.mark.parametrize('ext', ['.json', '.YAML', '.py', '.pkl'])
def test_an_output_named_for_another_format_is_refused(files, tmp_path, ext,
                                                       capsys, clean_loggers):
    """``extract_adapters.py C full.pth a.json`` wrote a torch checkpoint
    named as JSON, which mmengine.load (by extension) then misread."""
    out = tmp_path / f'adapters{ext}'
    for tool, argv, name in (
        ('extract_adapters', [files['config'], files['merged']], 'out'),
        ('merge_adapters', [files['config'], files['adapters']], 'out'),
        ('convert_official', [files['merged']], 'dst'),
    ):
        line = _refused(tool, argv + [out], capsys)
        assert line.startswith(
            f'{name} {out}: the output is a torch checkpoint, but '
            f'{ext.lower()!r} names '), line
        assert line.endswith('; give a .pth file'), line
        assert not out.exists()


def test_extract_keeps_the_tensors_that_were_trained(files, video_tasks,
                                                     tmp_path, capsys,
                                                     clean_loggers):
    """Extracted with a config that freezes fc_norm, which trained, the
    adapter-only checkpoint lost it without a word; infer.py then blamed
    another backbone and suggested the --pretrained already given."""
    no_fc = write_config(
        str(tmp_path / 'no_fc.py'), files['config'],
        "custom_hooks = [dict(type='AdapterHook', extra_trainable=[])]\n")
    out = tmp_path / 'out.pth'
    line = _refused('extract_adapters', [no_fc, files['merged'], out], capsys)
    assert line.startswith(
        f'2 of the 31 tensors that the AdapterHook of {no_fc} leaves '
        f'frozen differ from the pretrained backbone {files["stock"]} in '
        f'{files["merged"]} (backbone.fc_norm.weight, backbone.fc_norm.bias)'
        ': they were trained'), line
    assert r"extra_trainable=[r'^backbone\.fc_norm\.']" in line, line
    # Another backbone: every tensor differs, and --pretrained is named.
    other = osp.join(video_tasks['root'], 'other.pth')
    line = _refused(
        'extract_adapters',
        [files['config'], files['merged'], out, '--pretrained', other], capsys)
    assert re.match(
        r'\d+ of the 29 tensors .* differ from --pretrained '
        f'{re.escape(other)} ', line), line
    assert (f'which records that its adapters were trained on '
            f'{files["stock"]} (merge_adapters.py verified it): give that '
            'one with --pretrained, or leave --pretrained out') in line, line
    assert not out.exists()
    # A merged file that records no backbone, with a config that names
    # none either, cannot be compared: said so.
    checkpoint = safe_torch_load(files['merged'])
    del checkpoint['meta']['frozen_host_sources']
    torch.save(checkpoint, files['merged'])
    bare = write_config(
        str(tmp_path / 'bare.py'), no_fc,
        'model = dict(backbone=dict(backbone=dict(init_cfg=None)))\n')
    capsys.readouterr()
    TOOLS['extract_adapters'].main([bare, files['merged'], str(out)])
    assert ('are not compared with a pretrained backbone (it records no '
            'pretrained backbone') in capsys.readouterr().out
    # A config the tool refuses gets its refusal alone, not first a note
    # about a file that will not be written.
    no_hook = write_config(
        str(tmp_path / 'no_hook.py'), bare, 'custom_hooks = []\n')
    with pytest.raises(SystemExit) as refused:
        TOOLS['extract_adapters'].main(
            [no_hook, files['merged'],
             str(tmp_path / 'never.pth')])
    said = capsys.readouterr()
    assert refused.value.code not in (0, None)
    assert 'AdapterHook' in said.out + said.err + str(refused.value.code)
    assert 'Note:' not in said.out + said.err
    # From the shell: one line after the usage, status 2.
    proc = run_tool([
        'model_converters/extract_adapters.py', files['config'],
        files['merged'],
        str(out), '--pretrained', other
    ],
                    cwd=tmp_path,
                    check=False)
    assert usage_line(proc).startswith('extract_adapters.py: error: '), \
        proc.stdout


def _training_checkpoint(merged, path) -> str:
    """What training with ``adapter_only_checkpoint=False`` saves: the
    whole model's state dict, and no record of a pretrained backbone."""
    state = safe_torch_load(merged)['state_dict']
    torch.save(
        dict(
            meta=dict(epoch=1),
            state_dict={
                k: v
                for k, v in state.items() if not k.endswith(FROZEN_HOST_KEY)
            }), path)
    return str(path)


def test_extract_compares_a_training_checkpoint_with_the_configs_backbone(
        files, video_tasks, tmp_path, capsys, clean_loggers):
    """A full checkpoint from training was compared with nothing unless
    --pretrained was given, though the config names its pretrained
    backbone: a trained fc_norm that the config leaves frozen was dropped
    after a note."""
    full = _training_checkpoint(files['merged'], tmp_path / 'full.pth')
    no_fc = write_config(
        str(tmp_path / 'no_fc.py'), files['config'],
        "custom_hooks = [dict(type='AdapterHook', extra_trainable=[])]\n")
    out = tmp_path / 'out.pth'
    line = _refused('extract_adapters', [no_fc, full, out], capsys)
    assert line.startswith(
        f'2 of the 31 tensors that the AdapterHook of {no_fc} leaves '
        f'frozen differ from the pretrained backbone {files["stock"]} in '
        f'{full} (backbone.fc_norm.weight, backbone.fc_norm.bias): they '
        'were trained'), line
    assert not out.exists()
    # --pretrained still wins over the config's.
    other = osp.join(video_tasks['root'], 'other.pth')
    line = _refused('extract_adapters',
                    [files['config'], full, out, '--pretrained', other],
                    capsys)
    assert f'differ from the pretrained backbone {other} ' in line, line
    # The config it trained with: compared, no note, and the adapter-only
    # file names the backbone compared, not the full checkpoint.
    TOOLS['extract_adapters'].main([files['config'], full, str(out)])
    said = capsys.readouterr().out
    assert 'Note:' not in said and 'Wrote ' in said, said
    record = safe_torch_load(out)['state_dict']['backbone.' + FROZEN_HOST_KEY]
    assert record['pretrained'] == files['stock']


#: The config key test_extract_says_why_nothing_was_compared's configs set.
_AT = 'model.backbone.backbone.init_cfg'


@pytest.mark.parametrize(
    'init_cfg, why', [
        ('None', '{config} names none at ' + _AT),
        ("dict(type='Pretrained', checkpoint={gone!r})",
         'the one {config} names at ' + _AT + '.checkpoint, {gone}, is not '
         'there'),
        ("dict(type='Pretrained', checkpoint='http://127.0.0.1:9/stock.pth')",
         'the one {config} names at ' + _AT + '.checkpoint, '
         'http://127.0.0.1:9/stock.pth, is an address, which is not '
         'downloaded only to compare'),
    ],
    ids=['none', 'missing', 'address'])
def test_extract_says_why_nothing_was_compared(files, tmp_path, capsys,
                                               init_cfg, why, clean_loggers):
    """The note said only that the checkpoint records no backbone, not
    why the config's own was not used."""
    full = _training_checkpoint(files['merged'], tmp_path / 'full.pth')
    gone = str(tmp_path / 'gone.pth')
    config = write_config(
        str(tmp_path / 'cfg.py'), files['config'],
        'model = dict(backbone=dict(backbone=dict(init_cfg=' +
        init_cfg.format(gone=gone) + ')))\n')
    capsys.readouterr()
    TOOLS['extract_adapters'].main([config, full, str(tmp_path / 'o.pth')])
    reason = why.format(config=config, gone=gone)
    assert (f'Note: the frozen tensors of {full} are not compared with a '
            f'pretrained backbone (it records no pretrained backbone, and '
            f'{reason}): a trained one the config leaves frozen would be '
            'dropped. Give --pretrained to check.') in \
        ' '.join(capsys.readouterr().out.split())


def test_a_frozen_tensor_that_differs_on_its_named_backbone(
        files, video_tasks, tmp_path, clean_loggers):
    """An adapter-only file whose record differs from the very backbone it
    names (a tensor trained, then dropped): the error said it was trained
    on another backbone and suggested the --pretrained already given."""
    checkpoint = safe_torch_load(files['adapters'])
    record = checkpoint['state_dict']['backbone.' + FROZEN_HOST_KEY]
    key = 'blocks.1.norm2.weight'
    shape, dtype, total, weighted = record['fingerprints'][key]
    record['fingerprints'][key] = (shape, dtype, total + 1, weighted)
    torch.save(checkpoint, files['adapters'])
    # The task's config loads the backbone the record names.
    argv = [
        video_tasks['full']['config'], files['adapters'],
        str(tmp_path / 'out.pth')
    ]
    merge = TOOLS['merge_adapters']
    with pytest.raises(FrozenBackboneMismatchError) as err:
        merge.merge(merge.parse_args(argv))
    assert err.value.named_backbone
    text = str(err.value)
    assert (f'records 1 of its 29 frozen tensors with other values ({key}) '
            f'than {video_tasks["stock"]}, the pretrained file it names') \
        in text, text
    assert 'AdapterHook extra_trainable' in text
    with pytest.raises(SystemExit) as exit_info:
        merge.main(argv)
    assert 'On the command line' not in exit_info.value.code


# Runs a converter as its own command line does, with the kernel's file
# size limit at LIMIT bytes: SIGXFSZ kills it in the write() that crosses
# it (no clean-up code runs), or with 'error' that write() fails with
# EFBIG, "File too large", as a full disk or quota would.
LIMITED_RUN = '''
import resource
import runpy
import signal
import sys

limit, how, tool = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sys.dont_write_bytecode = True  # the limit is for the converter's output
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
if how == 'kill':
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
sys.argv = [tool] + sys.argv[4:]
runpy.run_path(tool, run_name='__main__')
'''


@pytest.mark.parametrize('how', ['kill', 'error'])
def test_a_converter_cut_off_mid_write_keeps_the_old_output(
        files, tmp_path, how):
    """merge_adapters.py and extract_adapters.py killed (or failing) while
    they write: their output, which a later test or --resume reads, was a
    truncated checkpoint under its final name."""
    merged, adapters = files['merged'], str(tmp_path / 'extracted.pth')
    run_tool([
        'model_converters/extract_adapters.py', files['config'], merged,
        adapters
    ],
             cwd=tmp_path)
    runs = {
        # Over an older merged file, from the extracted adapters.
        merged: ['merge_adapters.py', files['config'], files['adapters']],
        adapters: ['extract_adapters.py', files['config'], merged],
    }
    for out, argv in runs.items():
        argv = ['model_converters/' + argv[0]] + argv[1:] + [out]
        before = _digest(out)
        # Cut off half-way through the size of what it replaces.
        proc = run_fresh_python(
            LIMITED_RUN,
            osp.getsize(out) // 2,
            how,
            osp.join(REPO_ROOT, 'tools', argv[0]),
            *argv[1:],
            cwd=tmp_path,
            separate_stderr=False)
        if how == 'kill':
            assert proc.returncode == -signal.SIGXFSZ, proc.stdout[-3000:]
        else:
            # One line, as every refusal of the tools: no traceback.
            refused_line(proc)
            assert f'AtomicWriteError: [Errno 27] Could not write {out}: ' \
                'File too large after ' in proc.stdout, proc.stdout[-3000:]
        assert _digest(out) == before, out
        assert safe_torch_load(out)['state_dict']
        leftovers = [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]
        # A killed writer leaves its temporary file, which the next
        # successful write of that file removes; a failed write leaves
        # none.
        assert len(leftovers) == (1 if how == 'kill' else 0), leftovers
        run_tool(argv, cwd=tmp_path)
        assert [n for n in os.listdir(tmp_path) if n.endswith('.tmp')] == []
        assert safe_torch_load(out)['state_dict']
