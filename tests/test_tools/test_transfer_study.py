# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The main job, shortened: the CPU transfer study must show AdaptFormer
beating the linear probe with few trainable parameters."""
import glob
import json
import os

import pytest
from helpers import REPO_ROOT, load_tool, run_tool


@pytest.mark.long(215)
def test_quick_transfer_study_adaptformer_beats_linear_probe(tmp_path):
    work, data = tmp_path / 'work', tmp_path / 'data'
    proc = run_tool([
        'demo/transfer_study.py', '--quick', '--seed', '0', '--work-dir', work,
        '--data-root', data, '--port', '29571'
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


def test_writing_webm_videos_prints_no_ffmpeg_tag_lines(tmp_path, capfd):
    from mmadaptformer.datasets.synthetic_ssv2 import make_synthetic_ssv2
    log = tmp_path / 'write_videos.log'
    with study.ffmpeg_tag_warnings_to(str(log)):
        make_synthetic_ssv2(str(tmp_path / 'd'), 'direction', 4, 2, seed=0)
        os.write(2, b'a real problem\n')
    out, err = capfd.readouterr()
    assert 'is not supported' not in out + err
    # Other lines still reach the terminal...
    assert 'a real problem' in err
    # ...and the tag lines did happen (OpenCV prints one per webm video);
    # they are in the log.
    assert len(
        glob.glob(str(tmp_path / 'd' / '**' / '*.webm'), recursive=True)) == 6
    assert log.read_text().count('is not supported') == 6


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
