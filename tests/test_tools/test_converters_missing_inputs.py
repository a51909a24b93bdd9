# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The converters refuse an input that is not a local file as train.py,
test.py and infer.py do: one usage line, exit status 2, before a model is
built."""
import os

import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool

TOOLS = {
    name: load_tool(f'model_converters/{name}.py')
    for name in ('extract_adapters', 'merge_adapters', 'convert_official')
}


def _usage_error(tool, argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        TOOLS[tool].main(argv)
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    # argparse names the program by sys.argv[0], pytest's here.
    assert ': error: ' in line, line
    return line.split(': error: ', 1)[1]


@pytest.mark.parametrize('tool', ['extract_adapters', 'merge_adapters'])
def test_a_missing_input_is_a_usage_error(tool, tmp_path, capsys):
    """A missing checkpoint ended with ``FileNotFoundError``, status 1, and
    a missing config or --pretrained only after building the model."""
    gone, out = str(tmp_path / 'gone.pth'), str(tmp_path / 'out.pth')
    config = TINY_ADAPTFORMER_VIDEO_CONFIG
    assert _usage_error(tool, [config, gone, out], capsys) == \
        f'checkpoint {gone}: no such file'
    line = _usage_error(tool, [str(tmp_path / 'gone.py'), gone, out], capsys)
    assert line == f'config {tmp_path}/gone.py: no such ' \
        'file'
    line = _usage_error(tool, [config, str(tmp_path), out], capsys)
    assert line == f'checkpoint {tmp_path}: it is a ' \
        'folder, not a file'
    (tmp_path / 'there.pth').write_bytes(b'')
    line = _usage_error(
        tool, [config,
               str(tmp_path / 'there.pth'), out, '--pretrained', gone], capsys)
    assert line == f'--pretrained backbone {gone}: no ' \
        'such file'
    assert not (tmp_path / 'out.pth').exists()


def test_convert_official_names_a_missing_source(tmp_path, capsys):
    gone = str(tmp_path / 'gone.pth')
    line = _usage_error('convert_official',
                        [gone, str(tmp_path / 'o.pth')], capsys)
    assert line == \
        f'source checkpoint {gone}: no such file'


@pytest.mark.parametrize('tool', ['extract_adapters', 'merge_adapters'])
def test_a_config_or_output_address_is_refused(tool, tmp_path, capsys,
                                               monkeypatch):
    """A config is read from a local file; an output given as an address
    was written as a local file under ``http:/``. The checkpoint may be an
    address (``test_converter_addresses.py``)."""
    monkeypatch.chdir(tmp_path)
    url = 'http://127.0.0.1:9/cfg.py'
    there = tmp_path / 'there.pth'
    there.write_bytes(b'')
    line = _usage_error(tool, [url, str(there), 'out.pth'], capsys)
    assert line == (f'config {url}: it is read from a local file, not an '
                    'address; download it first')
    out = 'http://127.0.0.1:9/out.pth'
    config = TINY_ADAPTFORMER_VIDEO_CONFIG
    for argv in ([tool, config, str(there)], ['convert_official', str(there)]):
        line = _usage_error(argv[0], argv[1:] + [out], capsys)
        name = 'dst' if argv[0] == 'convert_official' else 'out'
        assert line == (f'{name} {out}: the output is written to a local '
                        'file, not an address; give a local path (and copy '
                        'the file there afterwards)')
    assert os.listdir(tmp_path) == ['there.pth']


def test_extract_help_says_what_it_compares_without_pretrained(capsys):
    """``--help`` says which pretrained backbone extract compares with by
    default: a merged checkpoint's, else the config's own local file."""
    with pytest.raises(SystemExit):
        TOOLS['extract_adapters'].main(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert ('default: the one a merged checkpoint records, else the one the '
            'config names for its backbone when it is a local file that is '
            'there; without any, nothing is compared and the tool says why'
            ) in text
