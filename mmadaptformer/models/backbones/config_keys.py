# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A frozen-host wrapper given a key it does not take: the config key, where
it belongs and what is accepted, instead of Python's ``TypeError: __init__()
got an unexpected keyword argument``.

E.g. ``--cfg-options model.backbone.bottleneck=8`` sets an adapter setting
one level too high: it belongs under ``model.backbone.adapter``. And a
wrapper dict written without ``_delete_=True`` over a stock config gets the
stock backbone's keys (``arch``, ``img_size``, ...) merged into it: that is
said, with the line to write.
"""
import inspect
from typing import List, Mapping

from ...utils.config_error import ConfigError

__all__ = ['CONFIG_KEY', 'refuse_unknown_wrapper_keys']

#: Where the recipes put a wrapper: the model's backbone.
CONFIG_KEY = 'model.backbone'


def _merged_base_keys(unknown: List[str], kwargs: Mapping,
                      sections: Mapping) -> List[str]:
    """The unknown keys that the base config's backbone put there: each is
    no section's key and the stock backbone (``kwargs['backbone']``) has it
    with the same value, as MMEngine's merge of a wrapper dict without
    ``_delete_=True`` into the base's ``model.backbone`` leaves it; [] if
    any unknown key came from elsewhere."""
    inner = kwargs.get('backbone')
    if not isinstance(inner, Mapping):
        return []
    own = [
        key for key in unknown
        if not any(key in keys for keys in sections.values())
    ]
    if own and all(key in inner and inner[key] == kwargs[key] for key in own):
        return own
    return []


def _nested_line(name: str) -> str:
    """The config line of the README's diff that wraps the base's backbone
    in ``name``: ``model = dict(backbone=dict(_delete_=True, ...))``."""
    top, *inner = CONFIG_KEY.split('.')
    line = (f"dict(_delete_=True, type='{name}', "
            f'backbone={{{{_base_.{CONFIG_KEY}}}}}, ...)')
    for key in reversed(inner):
        line = f'dict({key}={line})'
    return f'{top} = {line}'


def refuse_unknown_wrapper_keys(cls: type, kwargs: Mapping) -> None:
    """Refuse keyword arguments that ``cls.__init__`` does not take.

    Args:
        cls (type): The wrapper class; its ``config_sections`` (a dict,
            optional) maps each argument that is a dict of settings (e.g.
            ``adapter``) to the keys it takes.
        kwargs (Mapping): The keyword arguments it is being built with.

    Raises:
        ConfigError: Naming each unknown key as a config key, the section
            it belongs in (if it is one of a section's keys, else the stock
            backbone's ``backbone``) and the keys the wrapper takes.
    """
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    unknown = [key for key in kwargs if key not in params]
    if not unknown:
        return
    sections = getattr(cls, 'config_sections', {})
    name = cls.__name__
    hints = []
    for key in unknown:
        section = next((s for s, keys in sections.items() if key in keys),
                       None)
        if section is not None:
            hints.append(f'{key} is a setting of {name}\'s {section}: it '
                         f'belongs under {CONFIG_KEY}.{section} (set '
                         f'{CONFIG_KEY}.{section}.{key}).')
    merged = _merged_base_keys(unknown, kwargs, sections)
    if merged:
        hints.append(
            f'{", ".join(merged)} {"is" if len(merged) == 1 else "are"} '
            f'also in {CONFIG_KEY}.backbone, with the same '
            f'value{"" if len(merged) == 1 else "s"}: the base config\'s '
            f'{CONFIG_KEY} was merged into the wrapper\'s dict, which lacks '
            f'_delete_=True. Write {_nested_line(name)}, as '
            'the README\'s "Writing your own config" does.')
    elif 'backbone' not in kwargs and len(hints) < len(unknown):
        # The stock backbone's own dict given the wrapper's type (e.g. by
        # --cfg-options model.backbone.type=AdaptFormer): no option can
        # move its keys one level down.
        hints.append(
            f'{CONFIG_KEY} has no backbone: it holds the stock backbone\'s '
            f'own settings, which {name} takes as one dict, its backbone '
            'argument, not beside it (a --cfg-options type change cannot '
            f'nest them). Write {_nested_line(name)} in a config file, as '
            'the README\'s "Writing your own config" does.')
    accepted = [key for key in params if key != 'self']
    lines = [
        f'{name} does not take the config key '
        f'{", ".join(f"{CONFIG_KEY}.{key}" for key in unknown)}.'
    ] + hints + [
        f'It takes {", ".join(accepted)}' +
        ''.join(f'; {CONFIG_KEY}.{section} takes {", ".join(keys)}'
                for section, keys in sections.items()) + '.',
        'A setting of the stock backbone (depth, embed_dims, ...) belongs '
        f'under {CONFIG_KEY}.backbone.'
    ]
    raise ConfigError(' '.join(lines))
