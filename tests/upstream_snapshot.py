# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A script that prints what ``import mmadaptformer`` changes upstream."""
# Run as a fresh process's main script (``tests/test_utils/
# test_upstream.py``): ``upstream_snapshot.py IMPORT_MODELS [CODE]``, where
# IMPORT_MODELS ('True' or 'False') says whether mmpretrain's models import
# before mmadaptformer, and CODE, if given, runs after it (a test's
# undocumented change). One line per change, fields split by tabs:
#
# - ``CHANGED path``: a module's or its own classes' attribute now holds
#   another object;
# - ``ADDED path``: such an attribute is new;
# - ``MUTATED path what detail``: a dict, list or set held by such an
#   attribute (or nested in one, two levels down) changed in place: ``what``
#   is e.g. ``+['key']``, ``~[3]`` or ``-{item}``, ``detail`` the value;
#   a path that several modules share is named after the deepest one;
# - ``REGISTERED scope::registry name modules``: a registry entry added
#   while mmadaptformer imported, by code of these modules (one per
#   registration), unless all of them are upstream's (registering its own
#   on first import);
# - ``REGISTRY scope::registry what detail``: an entry that the registry
#   held before replaced (``~'name'``) or removed, or a child registry added
#   or removed.
import sys
import types

# isort: off
# torch._dynamo wraps torch.manual_seed when first imported: imported first,
# so that torch's own lazy import is not counted as ours.
import torch._dynamo  # noqa: F401
import torch.hub  # noqa: F401
import torch.serialization  # noqa: F401
import mmengine.fileio  # noqa: F401
import mmengine.hooks  # noqa: F401
import mmengine.infer  # noqa: F401
import mmengine.optim  # noqa: F401
import mmengine.runner  # noqa: F401
import mmaction.registry  # noqa: F401
# Imported first so that a change to its transforms (ColorJitter's hue
# shift under NumPy 2) is seen.
import mmaction.datasets.transforms.processing  # noqa: F401
import mmaction.utils.dependency  # noqa: F401
# ... and so that RandomErasing's constructor, wrapped, is seen.
import mmpretrain.datasets.transforms.processing  # noqa: F401
import mmpretrain.registry  # noqa: F401
import mmpretrain.utils.dependency  # noqa: F401
from mmengine.registry import Registry
# isort: on

if sys.argv[1] == 'True':
    import mmpretrain.models.backbones.revvit  # noqa: F401

PACKAGES = ('mmengine', 'mmaction', 'mmpretrain', 'mmcv')
TORCH = ('torch', 'torch.serialization', 'torch.hub',
         'torch._weights_only_unpickler')
#: How far into nested dicts, lists and sets an in-place change is seen.
DEPTH = 3


class Same:
    """An object compared by identity, kept alive so its id is not
    reused."""

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, Same) and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


def frozen(value, depth=DEPTH):
    """The contents of ``value`` as plain copies, down to ``depth``
    levels of dicts, lists and sets; other objects by identity."""
    if depth and isinstance(value, dict):
        return dict((k, frozen(v, depth - 1)) for k, v in list(value.items()))
    if depth and isinstance(value, list):
        return [frozen(v, depth - 1) for v in list(value)]
    if depth and isinstance(value, (set, frozenset)):
        return frozenset(value)
    return Same(value)


def describe(obj):
    if isinstance(obj, Same):
        obj = obj.obj
    if isinstance(obj, tuple):
        return '(' + ', '.join(describe(item) for item in obj) + ')'
    name = getattr(obj, '__qualname__', None)
    if isinstance(name, str) and isinstance(
            getattr(obj, '__module__', None), str):
        return f'{obj.__module__}.{name}'
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + '...'


def differences(before, after, where=''):
    """What changed from ``before`` to ``after`` (two :func:`frozen`
    results): ``(what, detail)`` pairs, ``what`` being ``+key``, ``-key``
    or ``~key`` below ``where`` (``{item}`` for a set's items)."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out = [(f'-{where}[{k!r}]', describe(before[k])) for k in before
               if k not in after]
        out += [(f'+{where}[{k!r}]', describe(after[k])) for k in after
                if k not in before]
        for key in before:
            if key in after:
                out += differences(before[key], after[key],
                                   f'{where}[{key!r}]')
        return out
    if isinstance(before, frozenset) and isinstance(after, frozenset):
        return [(f'-{where}{{{describe(k)}}}', '') for k in before - after] + \
            [(f'+{where}{{{describe(k)}}}', '') for k in after - before]
    if isinstance(before, list) and isinstance(after, list):
        out = []
        for i in range(max(len(before), len(after))):
            if i >= len(before):
                out.append((f'+{where}[{i}]', describe(after[i])))
            elif i >= len(after):
                out.append((f'-{where}[{i}]', describe(before[i])))
            elif before[i] != after[i]:
                out += differences(before[i], after[i], f'{where}[{i}]')
        return out
    return [(f'~{where}', f'{describe(before)} -> {describe(after)}')]


def attributes():
    """``(path, value)`` for each attribute of an upstream module and of
    the classes it defines; dunder names and modules left out."""
    for name, module in list(sys.modules.items()):
        if module is None or not (name.split('.')[0] in PACKAGES
                                  or name in TORCH):
            continue
        for key, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType):
                continue
            yield f'{name}.{key}', key, value
            if isinstance(value, type) and value.__module__ == name:
                for attr, member in list(vars(value).items()):
                    yield f'{name}.{key}.{attr}', attr, member


def snapshot():
    """Ids of every attribute, contents of its dicts, lists and sets (one
    path per object: its deepest module's), and every registry."""
    ids, paths, registries = {}, {}, {}
    for path, key, value in attributes():
        ids[path] = id(value)
        if isinstance(value, Registry):
            registries.setdefault(
                id(value),
                (f'{value.scope}::{value.name}', value, dict(
                    value._module_dict), dict(value._children)))
        elif not key.startswith('__') and isinstance(value, (dict, list, set)):
            paths.setdefault(id(value), []).append((path, value))
    contents = {}
    for found in paths.values():
        path, value = min(
            found, key=lambda item: (-item[0].count('.'), item[0]))
        contents[path] = (value, frozen(value))
    return ids, contents, registries


class RegistrationRecorder:
    """Which module's code called ``Registry._register_module``, per
    registry and name; installed only while mmadaptformer imports."""

    def __init__(self):
        self.callers = {}
        self.original = Registry.__dict__['_register_module']

    def __enter__(self):
        original, callers = self.original, self.callers

        def _register_module(registry, module, module_name=None, force=False):
            names = module_name or module.__name__
            frame = sys._getframe(1)
            while frame.f_globals.get('__name__',
                                      '').startswith('mmengine.registry'):
                frame = frame.f_back
            caller = frame.f_globals.get('__name__', '?')
            for name in [names] if isinstance(names, str) else names:
                callers.setdefault((id(registry), name), []).append(caller)
            return original(registry, module, module_name, force)

        Registry._register_module = _register_module
        return self

    def __exit__(self, *exc_info):
        Registry._register_module = self.original


def report_registries(before, after, callers):
    for key, (name, registry, entries, children) in sorted(
            after.items(), key=lambda item: item[1][0]):
        if key not in before:
            continue
        _, _, old_entries, old_children = before[key]
        for entry, cls in entries.items():
            by = callers.get((key, entry), ['?'])
            if entry not in old_entries:
                # Upstream registers its own on first import: not ours.
                if any(caller.split('.')[0] not in PACKAGES for caller in by):
                    print('REGISTERED', name, entry, ', '.join(by), sep='\t')
            elif old_entries[entry] is not cls:
                print(
                    'REGISTRY',
                    name,
                    f'~{entry!r}',
                    f'{describe(old_entries[entry])} -> {describe(cls)} '
                    f"by {', '.join(by)}",
                    sep='\t')
        for entry in old_entries.keys() - entries.keys():
            print('REGISTRY', name, f'-{entry!r}', '', sep='\t')
        for child in children.keys() ^ old_children.keys():
            sign = '+' if child in children else '-'
            print('REGISTRY', name, f'{sign}child {child!r}', '', sep='\t')


def main():
    before_ids, before_contents, before_registries = snapshot()
    with RegistrationRecorder() as recorder:
        import mmadaptformer  # noqa: F401
        if len(sys.argv) > 2:
            exec(sys.argv[2], {})
    after_ids, after_contents, after_registries = snapshot()
    owners = {path.rsplit('.', 1)[0] for path in before_ids}
    for path in sorted(after_ids):
        if path in before_ids and after_ids[path] != before_ids[path]:
            print('CHANGED', path, sep='\t')
        elif path not in before_ids and path.rsplit('.', 1)[0] in owners \
                and not path.rsplit('.', 1)[1].startswith('__'):
            print('ADDED', path, sep='\t')
    for path, (value, old) in sorted(before_contents.items()):
        # The object held before, and the one held now if it was replaced.
        found = set(differences(old, frozen(value)))
        if path in after_contents and after_contents[path][0] is not value:
            found.update(differences(old, after_contents[path][1]))
        for what, detail in sorted(found):
            print('MUTATED', path, what, detail, sep='\t')
    report_registries(before_registries, after_registries, recorder.callers)


main()
