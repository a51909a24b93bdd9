# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a ``--cfg-options`` entry that sets a config variable whose value
the config file already copied elsewhere, which would change nothing.

A config file is Python: ``data_root = 'data/food-101'`` followed by
``train_dataloader = dict(dataset=dict(data_root=data_root, ...))`` copies
the value when the file is read. MMEngine's ``merge_from_dict`` then sets
only the top-level ``data_root``, which nothing reads, so ``--cfg-options
data_root=/data/food`` trained and tested on the old data without a word
(or, where that was missing, failed on the old path the user had just
replaced).

:func:`unread_variables` takes the values of the top-level keys an option
is about to set and nothing reads (:data:`READ_KEYS`), before the merge;
:func:`refuse_copied_variables`, after it, raises a
:class:`~.config_error.ConfigError` for one whose old value is still held
elsewhere in the config, naming those keys and the ``--cfg-options`` to
give instead. A copy is a value equal to the old one (a string, list, dict
or tuple; a number only under a key of the same name, as in
``num_classes=num_classes``, so that a coincidence is not taken for a
copy), or a path built from an old string (``f'{data_root}/train.txt'``).
An option that sets a part of a variable (``test_pipeline.1.num_clips=1``)
is refused the same way, pointing at the same part of each copy. A key that
no other key copies (one a custom hook may read), an option that gives a
variable the value it has, or one given with every copy set by other
options (whatever their values), is merged as before.
"""
import inspect
import shlex
from typing import Any, Dict, Iterator, Optional, Tuple

from mmengine.config import Config
from mmengine.runner import Runner

from .config_error import ConfigError

__all__ = [
    'RUNNER_ARGUMENTS', 'READ_KEYS', 'unread_variables',
    'refuse_copied_variables'
]

#: The arguments of MMEngine's ``Runner``, which ``Runner.from_cfg`` reads
#: from the config's top-level keys of the same names.
RUNNER_ARGUMENTS = tuple(
    name for name in inspect.signature(Runner.__init__).parameters
    if name not in ('self', 'cfg'))

#: The top-level keys that are read: :data:`RUNNER_ARGUMENTS`, what
#: MMEngine 0.10's ``build_runner_from_cfg`` (``runner_type``) and Runner
#: (``self.cfg.get(...)``) and ``FlexibleRunner`` (``strategy``) read from
#: the config; ``custom_imports``, which the config file reads; and
#: ``tta_model`` / ``tta_pipeline``, which ``tools/test.py --tta`` reads.
READ_KEYS = RUNNER_ARGUMENTS + (
    'runner_type', 'model_wrapper_cfg', 'sync_bn', 'find_unused_parameters',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'compile',
    'strategy', 'custom_imports', 'tta_model', 'tta_pipeline')


def unread_variables(cfg: Config, options: Optional[dict]) -> Dict[str, Any]:
    """The values, before the merge, of the top-level keys of ``cfg`` that
    ``options`` set and no reader of the config reads.

    Args:
        cfg (Config): The config, not yet merged.
        options (dict, optional): The ``--cfg-options``.

    Returns:
        dict: ``{key: value}``, for keys the config has; a value that
        cannot be told from a default (None, a bool, an empty string or
        container) is left out.
    """
    old = {}
    for key in options or {}:
        top = _top(key)
        if top in READ_KEYS or top not in cfg or _read_fallback(cfg, top):
            continue
        value = _plain(cfg[top])
        if _distinct(value):
            old[key] = value
    return old


def _read_fallback(cfg: Config, key: str) -> bool:
    """Whether ``key`` is read in place of a missing one: inference
    (``mmadaptformer.apis``, ``tools/infer.py``) feeds its inputs through
    the top-level ``test_pipeline`` of a config without a
    ``test_dataloader``, even where ``val_dataloader`` copied it."""
    return key == 'test_pipeline' and not cfg.get('test_dataloader')


def _top(key: str) -> str:
    """The top-level key an option sets: ``test_pipeline`` of
    ``test_pipeline.1.num_clips``."""
    return key.split('.', 1)[0]


def _distinct(value: Any) -> bool:
    """Whether ``value`` can be told from a default: not None, a bool or
    an empty string or container."""
    if value is None or isinstance(value, bool):
        return False
    return bool(value) or not isinstance(value, (str, list, tuple, dict))


def refuse_copied_variables(cfg: Config, options: Optional[dict],
                            old: Dict[str, Any]) -> None:
    """Refuse an option that set a variable whose old value the merged
    ``cfg`` still holds elsewhere.

    Args:
        cfg (Config): The config, merged.
        options (dict, optional): The ``--cfg-options`` merged.
        old (dict): :func:`unread_variables` of ``cfg`` before the merge.

    Raises:
        ConfigError: ``--cfg-options KEY=VALUE changes nothing: ...``,
            naming the keys that hold the old value and the
            ``--cfg-options`` that set them.
    """
    if not old:
        return
    tree = _plain(cfg)
    for key, value in old.items():
        top, new = _top(key), options[key]
        copies = [
            copy for copy in _copies(tree, top, value)
            if not _set_by(copy[1], options)
        ]
        if not copies or tree[top] == value:  # the value it already has
            continue
        keys = ', '.join(path for path, _, _ in copies)
        if key == top:
            fixed = ' '.join(
                f'{option}={_option_text(_renamed(held, value, new))}'
                for _, option, held in copies)
        else:  # a part of the variable: the same part of each copy
            tail = key[len(top):]
            fixed = ' '.join(f'{option}{tail}={_option_text(new)}'
                             for _, option, _ in copies)
        raise ConfigError(
            f'--cfg-options {key}={_option_text(new)} changes nothing: the '
            f'config file copied its variable {top} ({_short(value)}) into '
            f'{keys} when it was read, and nothing reads {top} itself. Set '
            f'those keys instead: --cfg-options {fixed}')


def _plain(node: Any) -> Any:
    """``node`` with every ``ConfigDict`` a ``dict``, less the ``_scope_``
    keys.

    A base config inherited with a scope (``mmpretrain::...``) gives its
    top-level dicts that have a ``type`` their ``_scope_``, and not the
    copies nested deeper: ``vis_backends``'s ``LocalVisBackend`` has one,
    ``visualizer.vis_backends``'s has none. They are the same value.
    """
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(_plain(v) for v in node)
    return node


def _leaves(node: Any,
            path: str = '',
            option: str = '') -> Iterator[Tuple[str, str, Any]]:
    """``(config key, --cfg-options key, value)`` of every value under
    ``node``, outer before inner: ``param_scheduler[0].end`` is set by
    ``param_scheduler.0.end``."""
    if path:
        yield path, option, node
    if isinstance(node, dict):
        for key, value in node.items():
            key = str(key)
            yield from _leaves(value, f'{path}.{key}' if path else key,
                               f'{option}.{key}' if option else key)
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _leaves(value, f'{path}[{index}]', f'{option}.{index}')


def _copies(tree: dict, variable: str,
            value: Any) -> Iterator[Tuple[str, str, Any]]:
    """The keys under the read top-level keys of ``tree`` that hold
    ``value``, or a path built from it (``f'{value}/...'``)."""
    read = {k: v for k, v in tree.items() if k in READ_KEYS}
    for path, option, held in _leaves(read):
        if _is_copy(held, value, path.rsplit('.', 1)[-1] == variable):
            yield path, option, held


def _set_by(option: str, options: dict) -> bool:
    """Whether an entry of ``options`` set the key ``option`` (given as
    a ``--cfg-options`` key), or a key above it: what it holds is the
    user's, not a copy left behind, even where it starts with the old
    value (``data_root=data/a/v2`` with ``...data_root=data/a/v2``) or
    keeps it on purpose."""
    return any(option == key or option.startswith(f'{key}.')
               for key in options)


def _is_copy(held: Any, value: Any, same_name: bool) -> bool:
    if isinstance(value, str):
        if not isinstance(held, str):
            return False
        return held == value or held.startswith(value.rstrip('/') + '/')
    if isinstance(value, (int, float)):
        return same_name and type(held) is type(value) and held == value
    return type(held) is type(value) and held == value


def _renamed(held: Any, old: Any, new: Any) -> Any:
    """What the copy ``held`` of ``old`` would be, made from ``new``."""
    if isinstance(held, str) and held != old and isinstance(new, str):
        return new.rstrip('/') + held[len(old.rstrip('/')):]
    return new


def _option_text(value: Any) -> str:
    """``value`` as a shell word that ``--cfg-options`` reads back."""
    if isinstance(value, str):
        return shlex.quote(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    text = repr(value)
    # Double quotes keep the repr's own quotes readable.
    return f'"{text}"' if not set('"$`\\!') & set(text) else shlex.quote(text)


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else f'{text[:width - 4]} ...'
