# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Config keys that what reads them does not take.

A class built from a config dict raises ``TypeError`` for a keyword it
does not take, or, when its constructor takes ``**kwargs`` and uses none
of them, drops it without a word; a dict that a runner reads key by key
(``env_cfg``, ``auto_scale_lr``) ignores an unknown key.
:func:`named_arguments` reads what a class or callable takes,
:func:`dropped_keywords` finds the keys a class would drop, and
:func:`refuse_unknown_keys` refuses a key its reader does not read, naming
where it was set (:func:`~.config_place.mistake_place`).
"""
import inspect
from typing import Callable, List, Optional, Sequence, Tuple

from .config_error import ConfigError
from .config_place import mistake_place
from .registry_names import close_hint

__all__ = ['named_arguments', 'dropped_keywords', 'refuse_unknown_keys']


def named_arguments(function) -> List[str]:
    """The arguments a config can give ``function`` (a class or a
    callable) by name: its positional-or-keyword and keyword-only ones,
    ``self`` aside; none if it has no signature to read."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # no signature to read
        return []
    return [
        p.name for p in parameters
        if p.name != 'self' and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                           p.KEYWORD_ONLY)
    ]


def dropped_keywords(given: dict, cls: type, dropping: Sequence[str],
                     packages: Tuple[str, ...]) -> Tuple[List[str], List[str]]:
    """The keys of the config ``given`` that the class ``cls`` built from
    it would drop, and the arguments it takes.

    A constructor that takes ``**kwargs`` and uses none of them drops a key
    it does not know without a word. Only the classes of ``cls``'s MRO
    down to one named in ``dropping`` are read, and only if all of them
    come from ``packages``: a class of another package (a user's subclass)
    may use its ``**kwargs``; such a class, or one that reaches no
    dropping class, gives ``([], [])``.

    Args:
        given (dict): The config the class is built from.
        cls (type): The class.
        dropping (Sequence[str]): The dropping classes, by name or by
            ``module.name``.
        packages (tuple[str]): Module prefixes whose classes are known
            (``('mmaction.', )``).

    Returns:
        tuple[list, list]: The dropped keys and the arguments the
        constructors down to the dropping class take.
    """
    chain = []
    for base in cls.__mro__:
        if not base.__module__.startswith(packages):
            return [], []
        chain.append(base)
        if base.__name__ in dropping or \
                f'{base.__module__}.{base.__name__}' in dropping:
            break
    else:
        return [], []
    takes = list(
        dict.fromkeys(name for base in chain if '__init__' in vars(base)
                      for name in named_arguments(base.__init__)))
    dropped = [
        key for key in given
        if key not in ('type', '_scope_') and key not in takes
    ]
    return dropped, takes


def refuse_unknown_keys(given: dict,
                        key: str,
                        known: Sequence[str],
                        noun: str,
                        fate: str,
                        source: str,
                        options: Optional[dict],
                        takes: str = 'It takes',
                        hint: Optional[Callable[[str], str]] = None) -> None:
    """Refuse the first key of the dict ``given`` (the config's ``key``)
    that is not in ``known``.

    Args:
        given (dict): The config's dict.
        key (str): Its config key, e.g. ``'env_cfg.mp_cfg'``.
        known (Sequence[str]): The keys its reader reads.
        noun (str): What a key of it is, e.g. ``'env_cfg key'``.
        fate (str): What its reader would do with another key.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given.
        takes (str): Leads the list of ``known`` keys. Defaults to
            ``'It takes'``.
        hint (Callable[[str], str], optional): The hint for a key, instead
            of :func:`~.registry_names.close_hint`'s closest known keys.

    Raises:
        ConfigError: ``WHERE: 'NAME' is no NOUN (did you mean ...?); FATE.
            TAKES: KNOWN.``, where WHERE is
            :func:`~.config_place.mistake_place`'s.
    """
    for name in given:
        if name in known:
            continue
        place = mistake_place(source, f'{key}.{name}', options)
        why = hint(name) if hint is not None else close_hint(name, known)
        raise ConfigError(f'{place}: {name!r} is no {noun}{why}; {fate}. '
                          f'{takes}: {", ".join(known)}.')
