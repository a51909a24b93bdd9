# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py --help`` prints its epilog as written
(``RawDescriptionHelpFormatter``: argparse does not rewrap it), so the
line breaks written are the ones read. A break before an option inside a
sentence (``... (the line is named), an`` / ``--out that is ...``,
``With`` / ``--task, a task whose ...``) set the option at the start of a
line, where the help lists options, and cut it from its article."""
from mmadaptformer.apis.infer_cli import infer_parser
from mmadaptformer.apis.infer_help import EPILOG


def test_the_epilog_is_printed_as_written():
    """Guards kept behaviour: the text is not rewrapped."""
    assert EPILOG.rstrip('\n') in infer_parser().format_help()


def test_no_option_starts_a_line_inside_a_paragraph():
    lines = EPILOG.splitlines()
    assert all(len(line) <= 79 for line in lines)
    inside = [
        f'{before!r} / {line!r}' for before, line in zip(lines, lines[1:])
        if line.startswith('--') and before
    ]
    assert not inside, '\n'.join(inside)
