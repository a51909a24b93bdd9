# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The main job, shortened: the CPU transfer study must show AdaptFormer
beating the linear probe with few trainable parameters."""
import json

import pytest
from helpers import REPO_ROOT, load_tool, run_tool
from tool_runners import free_port


@pytest.mark.long(130)
def test_quick_transfer_study_adaptformer_beats_linear_probe(
        tmp_path, served_torchrun):
    work, data = tmp_path / 'work', tmp_path / 'data'
    proc = run_tool([
        'demo/transfer_study.py', '--quick', '--seed', '0', '--work-dir', work,
        '--data-root', data, '--port',
        str(free_port())
    ],
                    cwd=REPO_ROOT,
                    timeout=900,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-5000:]
    # Task data went through the package's SSv2 tool, in SSv2's format.
    for task in ('direction', 'appearance'):
        ann = data / task / 'annotations'
        assert (ann / 'something-something-v2-labels.json').is_file()
        assert (data / task / 'sthv2_train_list_videos.txt').is_file()
    assert 'validation top-1 on direction 100.0%' in proc.stdout

    results = {
        r['method']: r
        for r in json.load(open(work / 'seed0' / 'results.json'))
    }
    adaptformer = results['AdaptFormer']
    probe = results['Linear probe']
    full = results['Full fine-tune']
    # With fixed seeds: 98.4 vs 82.8 top-1 measured on the development
    # machine (the full study: 16-18 points over 3 seeds); require a clear
    # margin.
    assert adaptformer['top1'] >= probe['top1'] + 8.0, results
    assert adaptformer['trainable'] < 0.1 * full['trainable']
    assert full['trainable'] == full['total']
    assert adaptformer['checkpoint_mb'] < 0.2 * full['checkpoint_mb']
    assert all(len(r['val_curve']) == 20 for r in results.values())
    assert (work / 'seed0' / 'val_accuracy.png').stat().st_size > 10_000
    assert 'AdaptFormer' in proc.stdout and 'top-1 (%)' in proc.stdout
    # No FFmpeg tag warning per written webm video in what a person reads.
    assert 'is not supported' not in proc.stdout
    assert 'writing 128 + 32' in proc.stdout


study = load_tool('demo/transfer_study.py')


def test_every_option_has_help():
    parser = study.build_parser()
    options = [a for a in parser._actions if a.option_strings]
    assert all(a.help for a in options), [
        a.option_strings for a in options if not a.help
    ]
    # Defaults are shown.
    assert '(default: 29560)' in ' '.join(parser.format_help().split())


def test_plot_has_whole_epochs_and_names_the_test_views():
    results = [
        dict(
            method='AdaptFormer',
            top1=95.3,
            val_curve=[0.5 + 0.02 * e for e in range(20)]),
        dict(
            method='Linear probe',
            top1=80.0,
            val_curve=[0.5 + 0.01 * e for e in range(20)]),
    ]
    fig = study.make_figure(results)
    ax = fig.axes[0]
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 20]
    assert ticks and all(float(t).is_integer() for t in ticks)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert 'AdaptFormer: validation, 1 clip' in labels
    assert 'AdaptFormer: test, 2 clips x 3 crops (95.3%)' in labels
    # The test point sits at the last epoch, at the table's value.
    star = [ln for ln in ax.get_lines() if ln.get_marker() == '*'][0]
    assert list(star.get_xdata()) == [20] and list(star.get_ydata()) == [95.3]


@pytest.mark.parametrize('nproc, per_process', [(1, 16), (2, 8), (4, 4)])
def test_processes_share_the_16_clip_batch(nproc, per_process, tmp_path,
                                           monkeypatch):
    commands = []
    monkeypatch.setattr(
        study, 'run', lambda cmd, log, env=None: commands.append(cmd))
    args = study.parse_args(['--nproc', str(nproc)])
    study.train('cfg.py', str(tmp_path), ['a=1'], args, 'train.log')
    cmd = commands[0]
    assert cmd[cmd.index('cfg.py') + 1] == str(nproc)
    assert cmd[cmd.index('--cfg-options'):] == [
        '--cfg-options', 'a=1', f'train_dataloader.batch_size={per_process}'
    ]


@pytest.mark.parametrize('nproc', ['3', '0', '32'])
def test_nproc_that_does_not_divide_the_batch_is_refused(nproc, capsys):
    with pytest.raises(SystemExit) as e:
        study.parse_args(['--nproc', nproc])
    assert e.value.code == 2
    assert ('--nproc must divide the global batch of 16 clips (1, 2, 4, 8 '
            f'or 16), got {nproc}') in capsys.readouterr().err
