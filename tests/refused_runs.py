# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The one line tools/train.py or tools/test.py is refused with."""
from refusal_lines import refused_line
from tool_runners import run_tool


def unread_checkpoint(tmp_path) -> str:
    """An empty ``.pth`` file, for the tools' checkpoint argument: a tool
    that read it before finding the config's mistake would fail on it
    (test.py refuses a checkpoint that is not there before anything)."""
    path = tmp_path / 'unread.pth'
    path.touch()
    return str(path)


def refused_run(tool: str,
                config: str,
                tmp_path,
                *options,
                no_work_dir: bool = False) -> str:
    """The line ``tool`` (``train.py``, or ``test.py`` with an unread
    checkpoint) is refused with on ``config`` and ``options``, its work dir
    ``tmp_path / 'w'``.

    The run must end with exit status 1 and no traceback
    (:func:`refusal_lines.refused_line`).

    Args:
        no_work_dir (bool): Also assert that the run made no work dir (it
            was refused before the runner was built). Defaults to False.
    """
    args = [unread_checkpoint(tmp_path)] if tool == 'test.py' else []
    work_dir = tmp_path / 'w'
    return refused_line(
        run_tool([tool, config, *args, '--work-dir', work_dir, *options],
                 cwd=tmp_path,
                 check=False),
        no_dir=str(work_dir) if no_work_dir else None)
