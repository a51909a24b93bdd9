# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py shows the control characters of input file names
escaped, in its result lines and in the error lines that name an input;
the JSON (``--out``) keeps the real path.

Before, an input named ``a<ESC>[2Jb.jpg`` was printed as is
(``/tmp/S/a^[[2Jb.jpg: tiny_vit_image: 1 (0.5296), 0 (0.4704)``), so the
terminal of whoever classified it cleared its screen (or, with ``ESC ]0;``,
retitled its window), and so was one in an ERROR line.
"""
import json

import cv2
import numpy as np
import pytest
from checkpoint_makers import save_stock_image_checkpoint
from helpers import TINY_IMAGE_CONFIG, run_tool
from refusal_lines import usage_line

ESC = '\x1b'


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp('infer_control_names')
    checkpoint = str(root / 'image.pth')
    save_stock_image_checkpoint(checkpoint)
    good = str(root / f'a{ESC}[2Jb.jpg')
    cv2.imwrite(good, np.zeros((32, 32, 3), np.uint8))
    bad = root / f'bad{ESC}]0;title\x07.jpg'
    bad.write_bytes(b'not an image')
    return dict(checkpoint=checkpoint, good=good, bad=str(bad))


def test_result_and_error_lines_escape_the_names(model, tmp_path):
    proc = run_tool([
        'infer.py', TINY_IMAGE_CONFIG, model['checkpoint'], model['good'],
        model['bad'], '--out', 'r.json'
    ],
                    cwd=tmp_path,
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ESC not in proc.stdout and '\x07' not in proc.stdout, proc.stdout
    assert ESC not in proc.stderr and '\x07' not in proc.stderr, proc.stderr
    shown = model['good'].replace(ESC, '\\x1b')
    assert f'{shown}: tiny_vit_image: ' in proc.stdout, proc.stdout
    shown_bad = model['bad'].replace(ESC, '\\x1b').replace('\x07', '\\x07')
    assert f'{shown_bad}: ERROR {shown_bad}: cannot be decoded' in \
        proc.stdout, proc.stdout
    # Data, not a terminal's text: the real paths (JSON escapes them).
    with open(tmp_path / 'r.json', encoding='utf-8') as f:
        results = json.load(f)
    assert list(results) == [model['good'], model['bad']]
    assert model['bad'] in results[model['bad']]['error']


def test_a_missing_input_is_refused_with_its_name_escaped(model, tmp_path):
    missing = str(tmp_path / f'gone{ESC}[2J.jpg')
    proc = run_tool(
        ['infer.py', TINY_IMAGE_CONFIG, model['checkpoint'], missing],
        cwd=tmp_path,
        check=False)
    line = usage_line(proc)
    assert ESC not in proc.stdout, proc.stdout
    assert line == ('infer.py: error: INPUT '
                    f'{missing.replace(ESC, chr(92) + "x1b")}: no such file')
