# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The docs name files that exist and options the tools take.

Every Markdown file in the repository is read: each path it names under a
top-level folder of ours, each relative link, and each ``--option`` of a
command line that runs one of our tools must be real, so a renamed config
or a removed flag cannot leave a README that fails its reader.
"""
import contextlib
import io
import os.path as osp
import re
import subprocess

import pytest
from helpers import REPO_ROOT, load_tool

# The Python tool whose options a shell script passes on.
SCRIPT_TOOLS = {
    'tools/dist_train.sh': 'train.py',
    'tools/slurm_train.sh': 'train.py',
    'tools/dist_test.sh': 'test.py',
    'tools/slurm_test.sh': 'test.py',
    'tools/gpu_check.sh': 'analysis_tools/gpu_check.py',
    'tools/misc/gpu_check_offline.sh': 'analysis_tools/gpu_check.py',
}
PATH = re.compile(r'(?<![\w/.-])((?:configs|tools|docs|mmadaptformer|tests|'
                  r'requirements)/[\w./-]*[\w])')
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')
COMMAND = re.compile(r'(?<![\w/.-])(tools/[\w/.-]+\.(?:py|sh))([^`\n]*)')
FLAG = re.compile(r'(?<![\w-])(--[a-z][\w-]*)')


def markdown_files():
    out = subprocess.run(['git', 'ls-files', '*.md'],
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True,
                         check=True).stdout.split()
    assert 'README.md' in out
    return out


def read_joined(md):
    """The file's text with shell line continuations and inline code spans
    that wrap over lines joined, so one command is one line."""
    with open(osp.join(REPO_ROOT, md), encoding='utf-8') as f:
        text = f.read().replace('\\\n', ' ')
    return re.sub(r'(?<!`)`([^`]+)`(?!`)',
                  lambda m: '`' + m.group(1).replace('\n', ' ') + '`', text)


def documented_commands():
    """(markdown file, tool path, its options) for every command line in
    the docs that runs one of our tools with options."""
    found = []
    for md in markdown_files():
        for m in COMMAND.finditer(read_joined(md)):
            # Up to the end of this command: a pipe, &&, ; or a comment.
            rest = re.split(r'\s(?:\||&&|;|#)\s?', m.group(2))[0]
            flags = sorted(set(FLAG.findall(rest)))
            if flags:
                found.append((md, m.group(1), flags))
    return found


def tool_help(tool):
    """The ``--help`` text of a tool under tools/, parsed in this
    process."""
    module = load_tool(tool)
    parse = getattr(module, 'parse_args', None) or module.main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit:
        parse(['--help'])
    assert exit.value.code == 0, tool
    return out.getvalue()


def test_named_files_and_links_exist():
    missing = []
    for md in markdown_files():
        text = read_joined(md)
        for m in PATH.finditer(text):
            path = m.group(1).rstrip('.')
            if text[m.end():m.end() + 1] in '<*{':  # a pattern, e.g. _<task>
                continue
            if not osp.exists(osp.join(REPO_ROOT, path)):
                missing.append(f'{md}: {path}')
        for m in LINK.finditer(text):
            target = m.group(1)
            if re.match(r'^[a-z]+:', target):  # http:, https:, mailto:
                continue
            path = osp.normpath(osp.join(osp.dirname(md), target))
            if not osp.exists(osp.join(REPO_ROOT, path)):
                missing.append(f'{md}: link ({target})')
    assert not missing, 'the docs name files that do not exist:\n' + \
        '\n'.join(missing)


def test_documented_options_exist():
    commands = documented_commands()
    # The README's own walkthroughs are among them.
    assert ('README.md', 'tools/infer.py', ['--batch-size',
                                            '--out']) in commands
    helps = {}
    unknown = []
    for md, tool, flags in commands:
        if tool.endswith('.sh'):
            assert tool in SCRIPT_TOOLS, f'{md}: {tool} passes options to?'
            python_tool = SCRIPT_TOOLS[tool]
        else:
            python_tool = tool[len('tools/'):]
        if python_tool not in helps:
            helps[python_tool] = tool_help(python_tool)
        known = set(FLAG.findall(helps[python_tool]))
        unknown += [
            f'{md}: {tool} {flag}' for flag in flags if flag not in known
        ]
    assert not unknown, 'the docs give options the tools do not take:\n' + \
        '\n'.join(unknown)


def test_the_option_check_sees_a_wrong_option():
    """The check above would catch a renamed option."""
    known = set(FLAG.findall(tool_help('infer.py')))
    assert '--batch-size' in known and '--batch_size' not in known
    assert '--out' in known and '--output' not in known
