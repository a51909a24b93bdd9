# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The converters refuse an input that is not a local file as train.py,
test.py and infer.py do: one usage line, exit status 2, before a model is
built."""
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
def test_an_address_is_refused_but_for_pretrained(tool, tmp_path, capsys):
    """``http://...`` as the checkpoint was refused as 'Checkpoint file not
    found', status 1, though it may well be there: the converters read
    local files; only --pretrained goes through MMEngine's (safe) loaders
    as in training."""
    url = 'http://127.0.0.1:9/adapters.pth'
    line = _usage_error(
        tool, [TINY_ADAPTFORMER_VIDEO_CONFIG, url,
               str(tmp_path / 'out.pth')], capsys)
    assert line == (f'checkpoint {url}: the converters '
                    'read a local file, not an address; download it first')
    line = _usage_error('convert_official', [url, str(tmp_path / 'o.pth')],
                        capsys)
    assert line.startswith(f'source checkpoint {url}: the '
                           'converters read a local file')


def test_extract_help_says_what_it_compares_without_pretrained(capsys):
    """``--help`` promised the config's pretrained file as the default
    reference; extract compares only with --pretrained or the backbone a
    merged checkpoint records, and otherwise prints a note."""
    with pytest.raises(SystemExit):
        TOOLS['extract_adapters'].main(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert "else the config's" not in text
    assert ('default: the one a merged checkpoint records; without either, '
            'nothing is compared and the tool says so') in text
