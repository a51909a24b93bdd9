# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``--cfg-options`` behind a model part that failed to build, noted.

A value the host's own constructor cannot take
(``--cfg-options model.backbone.backbone.drop_path_rate=None``) ended the
tools in a traceback from inside mmpretrain (``TypeError: unsupported
operand type(s) for -: 'NoneType' and 'int'`` from ``np.linspace``) that
named no option. The error is the host's own and is kept as it is, with
its traceback; :func:`note_build_options` adds one note to it (Python
prints it under the error's last line) naming the options given under the
config dict of the module whose constructor raised, so the reader sees
which of their values reached it.
"""
import traceback
from typing import Iterator, List, Optional, Tuple

from torch import nn

__all__ = ['failed_modules', 'note_build_options']


def failed_modules(error: BaseException) -> List[str]:
    """The class names of the modules whose ``__init__`` the error
    passed through, innermost first."""
    found = []
    for frame, _ in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_name == '__init__' and isinstance(
                frame.f_locals.get('self'), nn.Module):
            found.insert(0, type(frame.f_locals['self']).__name__)
    return found


def _typed_dicts(node, key: str) -> Iterator[Tuple[str, str]]:
    """``(key, type name)`` of every dict with a string ``type`` under
    ``node`` (``model.backbone.backbone``, ``'VisionTransformer'``)."""
    if isinstance(node, dict):
        kind = node.get('type')
        if isinstance(kind, str):
            yield key, kind.rsplit('.', 1)[-1]
        for name, value in node.items():
            yield from _typed_dicts(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _typed_dicts(value, f'{key}.{index}')


def _under(option: str, key: str) -> bool:
    return option == key or option.startswith(key + '.')


def note_build_options(error: BaseException, model_cfg,
                       options: Optional[dict]) -> List[str]:
    """Add to ``error`` a note naming the ``--cfg-options`` given under
    the config dict of the module whose constructor raised it.

    Args:
        error (BaseException): What building the model raised.
        model_cfg: The config's ``model`` dict (``--cfg-options`` merged).
        options (dict, optional): The ``--cfg-options`` given.

    Returns:
        list[str]: The options named; none (and no note) where no option
        was given under that module's dict, or no module built from a
        dict of the config raised it.
    """
    if not options:
        return []
    typed = list(_typed_dicts(model_cfg, 'model'))
    # The innermost module built from a dict of the config: a layer the
    # host makes itself has none.
    for name in failed_modules(error):
        keys = [key for key, kind in typed if kind == name]
        if keys:
            break
    else:
        return []
    given = [
        option for option in options
        # Under the dict, or setting a dict it lies in.
        if any(_under(option, key) or _under(key, option) for key in keys)
    ]
    if given:
        shown = ' '.join(f'{option}={options[option]!r}' for option in given)
        where = ' or '.join(keys)
        error.add_note(f'{where} ({name}), whose constructor raised this, '
                       f'was given --cfg-options {shown}.')
    return given
