# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every ``ast.parse`` of the package holds the config read lock
(``utils/config_read_lock.py``, :func:`parse_source`): CPython 3.11's
``ast.parse`` is not thread-safe (CPython gh-106905).

Before, two threads parsing at once through the package's readers, or one
of them beside MMEngine's own parse of a config (``Config.fromfile``),
failed with ``SystemError: AST constructor recursion depth mismatch
(before=27, after=21)`` whenever a garbage collection in the middle of one
parse handed the GIL to the other: once in CI beside ``Config.fromfile``,
every time here, where each collection hands it over
(:func:`~thread_helpers.switching_threads_in_gc`).
"""
import argparse
import ast
import inspect
import os
import os.path as osp
import threading

import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from mmengine.config import Config
from thread_helpers import WAIT_S, in_two_threads, switching_threads_in_gc

import mmadaptformer
from mmadaptformer.utils.cfg_options import add_cfg_options
from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.config_inheritance import config_bases
from mmadaptformer.utils.config_key_writer import key_writer
from mmadaptformer.utils.config_loading import load_config_file
from mmadaptformer.utils.config_read_lock import CONFIG_READ_LOCK
from mmadaptformer.utils.source_reads import instance_key_reads
from mmadaptformer.utils.stored_config import running_stored_config

#: Calls per thread. Before, each reader below but ``key_writer`` failed
#: 1 to 23 times in 2 x 20 calls (2 x 5 x 5 beside ``Config.fromfile``).
TIMES = 20

#: A ``--cfg-options`` value with dicts, long enough that its parse
#: allocates past a collection.
BLOCK_TYPES = 'model.backbone.block_types=[' + ', '.join(
    f"dict(type='Block{i}', norm='ln2', ffn='ffn')" for i in range(40)) + ']'


def _described(errors: list) -> list:
    return [f'{type(e).__name__}: {e}' for e in errors]


def _refusal(read, path: str) -> str:
    """The ``ConfigError`` that ``read(path)`` raises, as text."""
    with pytest.raises(ConfigError) as info:
        read(path)
    return str(info.value)


def _readers(tmp_path) -> dict:
    """Each public path to an ``ast.parse`` of the package, by the module
    that parses."""
    # Enough lines that a parse allocates past a collection.
    keys = ''.join(f'key{i} = dict(a={i}, b=[{i}, "{i}"])\n'
                   for i in range(40))
    # A parse that fails builds no tree: the config parses, its base not.
    (tmp_path / 'broken.py').write_text('model = dict(\nx = 1\n')
    broken = tmp_path / 'child.py'
    broken.write_text("_base_ = ['./broken.py']\n" + keys)
    orphan = tmp_path / 'orphan.py'
    orphan.write_text("_base_ = ['./gone.py']\n" + keys)
    stored = Config.fromfile(TINY_VIDEO_CONFIG).pretty_text
    # After mmadaptformer's import, which makes mmaction.models importable.
    from mmaction.models.recognizers import BaseRecognizer
    recognizer = inspect.getsource(BaseRecognizer)

    def fromstring():
        with running_stored_config('a test'):
            return Config.fromstring(stored, '.py').default_scope

    def cfg_options():
        parser = argparse.ArgumentParser()
        add_cfg_options(parser)
        return parser.parse_args(['--cfg-options', BLOCK_TYPES]).cfg_options

    return {
        # config_inheritance: base_files (its _named_bases).
        'config_bases':
        lambda: config_bases(TINY_ADAPTFORMER_VIDEO_CONFIG),
        # config_loading: _syntax_error of the config, before its base's.
        'syntax_error_line':
        lambda: _refusal(load_config_file, str(broken)),
        # config_inheritance: missing_base_place (its _named_line).
        'missing_base_line':
        lambda: _refusal(load_config_file, str(orphan)),
        # source_reads, as init_model's check of a recognizer's cfg reads.
        'instance_key_reads':
        lambda: instance_key_reads(recognizer, ('train_cfg', 'test_cfg')),
        # stored_config: a checkpoint's config, checked before it runs.
        'stored_config':
        fromstring,
        # cfg_options: a value with dicts, as every tool reads it.
        'cfg_options':
        cfg_options,
        # config_key_writer (kept behaviour: it parsed under the lock).
        'key_writer':
        lambda: key_writer(TINY_VIDEO_CONFIG,
                           'default_hooks.logger.ignore_last'),
    }


READERS = [
    'config_bases', 'syntax_error_line', 'missing_base_line',
    'instance_key_reads', 'stored_config', 'cfg_options', 'key_writer'
]


@pytest.mark.parametrize('name', READERS)
def test_two_threads_parse_through_a_reader_at_once(name, tmp_path):
    read = _readers(tmp_path)[name]
    expected = read()
    results = []
    with switching_threads_in_gc():
        errors = in_two_threads(lambda _: results.append(read()), TIMES)
    assert _described(errors) == []
    assert results == [expected] * 2 * TIMES


@pytest.mark.parametrize('name', ['config_bases', 'instance_key_reads'])
def test_a_reader_parses_beside_mmengines_config_read(name, tmp_path):
    """MMEngine parses a config inside ``Config.fromfile`` (under the lock
    since ``one_read_at_a_time``): ours, outside it, broke that parse and
    its own."""
    read = _readers(tmp_path)[name]
    expected = read()
    results, configs = [], []

    def ours(_):
        results.extend(read() for _ in range(5))

    def mmengine(_):
        configs.append(Config.fromfile(TINY_VIDEO_CONFIG).default_scope)

    with switching_threads_in_gc():
        errors = in_two_threads(ours, TIMES // 4, mmengine)
    assert _described(errors) == []
    assert results == [expected] * 5 * (TIMES // 4)
    assert configs == ['mmaction'] * (TIMES // 4)


def test_a_parse_inside_a_config_read_does_not_wait_on_itself():
    """Kept behaviour (the lock is re-entrant): a parse by a thread that
    holds the lock already (a config's ``custom_imports`` module that
    checks an option as it is imported) runs at once."""
    from mmadaptformer.utils.config_read_lock import parse_source
    done = []

    def nested():
        with CONFIG_READ_LOCK:
            done.append(ast.dump(parse_source('{"a": 1}', mode='eval')))

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    thread.join(WAIT_S)
    assert done == [ast.dump(ast.parse('{"a": 1}', mode='eval'))]


def _is_ast_parse(node: ast.AST) -> bool:
    """``node`` is a call ``ast.parse(...)``."""
    return isinstance(node, ast.Call) and isinstance(
        node.func, ast.Attribute) and node.func.attr == 'parse' and \
        isinstance(node.func.value, ast.Name) and node.func.value.id == 'ast'


def test_the_package_parses_python_only_through_parse_source():
    """No module can forget the lock: ``ast.parse`` is called in
    ``config_read_lock.py`` alone (before: in six other modules)."""
    callers = []
    package = osp.dirname(mmadaptformer.__file__)
    for folder, _, files in os.walk(package):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = osp.join(folder, name)
            with open(path, encoding='utf-8') as f:
                tree = ast.parse(f.read(), filename=path)
            callers += [
                osp.relpath(path, package) for node in ast.walk(tree)
                if _is_ast_parse(node)
            ]
    assert callers == [osp.join('utils', 'config_read_lock.py')]
