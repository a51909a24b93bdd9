# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Checkpoints whose weights sit under one key (``{'model': state_dict}``).

The official DeiT, Swin, MAE, VideoMAE and AdaptFormer code and timm save
a model's weights under ``'model'``, DeepSpeed under ``'module'``, EMA
copies under ``'model_ema'`` or ``'state_dict_ema'``; MMEngine looks for
them only under ``'state_dict'`` or at the top level, so nothing of such a
file loads. This is the one detection (:func:`nesting_key`) and the one
wording of that cause (:func:`nested_weights_cause`) for every path that
refuses such a file: ``tools/test.py``, ``load_from``, ``init_model``,
``--resume`` and ``--pretrained``. Each path ends the cause with its own
advice: the generic converter command (:data:`CONVERT_ADVICE`), or, for
``--pretrained``, which knows the backbone, the converter's ``--type``.
"""
from typing import Any, Collection, Iterable, List, Mapping, Optional

from .model_keys import held_keys

__all__ = [
    'CONVERT_ADVICE', 'NESTING_KEYS', 'holds_own_names',
    'nested_weights_cause', 'nesting_key', 'nesting_keys', 'tensor_keys',
    'unwrap_advice', 'unwrap_command'
]

#: Where training code other than MMEngine's nests a model's weights, the
#: keys looked under first (in this order); any other key that holds a
#: dict of tensors counts as well.
NESTING_KEYS = ('model', 'module', 'model_ema', 'state_dict_ema')
#: The advice where the caller knows nothing of the model the file is for.
CONVERT_ADVICE = ('convert it first with '
                  'tools/model_converters/convert_official.py SRC DST')


def unwrap_advice(key: str) -> str:
    """The advice for weights nested under ``key`` whose names are the
    model's own (e.g. an EMA copy of an MMAction2 or MMPretrain model):
    take them out as they are. Converting would treat them as an official
    layout (e.g. rebuild a VideoMAE ``pos_embed`` for 224 px and 8 frames
    and drop the head), which does not give the model back.

    Args:
        key (str): The key they are nested under.

    Returns:
        str: The command, without a final full stop.
    """
    return ("its tensors already carry the model's own names, so take them "
            f'out as they are, converting nothing: {unwrap_command(key)}')


def unwrap_command(key: str, src: str = 'SRC', dst: str = 'DST') -> str:
    """The command that takes the weights nested under ``key`` out of
    ``src`` unconverted, into ``dst`` (:func:`unwrap_advice`).

    Args:
        key (str): The key they are nested under.
        src (str): The file. Defaults to ``'SRC'``.
        dst (str): The file to write. Defaults to ``'DST'``.

    Returns:
        str: ``tools/model_converters/convert_official.py SRC DST --key KEY
        --unwrap-only``.
    """
    return (f'tools/model_converters/convert_official.py {src} {dst} '
            f'--key {key} --unwrap-only')


def tensor_keys(weights: Any) -> List[str]:
    """The names of the tensors in ``weights`` ([] for a non-mapping).

    Args:
        weights (Any): A state dict, or anything else a file holds.

    Returns:
        list[str]: The keys whose values have a ``shape``.
    """
    if not isinstance(weights, Mapping):
        return []
    return [k for k, v in weights.items() if hasattr(v, 'shape')]


def nesting_keys(state_dict: Any,
                 keys: Optional[Iterable[str]] = None) -> List[str]:
    """The keys ``state_dict`` nests weights under: :data:`NESTING_KEYS`
    first, then the others in the file's order.

    A key nests weights when it holds a dict of tensors; a record such as
    the frozen-host fingerprints holds none, and an optimizer's state
    holds dicts of them, not tensors.

    Args:
        state_dict (Any): A checkpoint or a dict in it (a non-mapping has
            none).
        keys (Iterable[str], optional): The keys to look under. Defaults
            to None: all of them.

    Returns:
        list[str]: The keys that hold tensors.
    """
    if not isinstance(state_dict, Mapping):
        return []
    keys = list(state_dict if keys is None else keys)
    ordered = [k for k in NESTING_KEYS if k in keys
               ] + [k for k in keys if k not in NESTING_KEYS]
    return [k for k in ordered if tensor_keys(state_dict.get(k))]


def nesting_key(state_dict: Any,
                keys: Optional[Iterable[str]] = None) -> Optional[str]:
    """The key ``state_dict`` nests a model's weights under, or None: the
    first of :func:`nesting_keys`.

    Args:
        state_dict (Any): What MMEngine would load: the checkpoint's
            ``'state_dict'``, else the checkpoint (a non-mapping has none).
        keys (Iterable[str], optional): The keys to look under (e.g. those
            the model lacks). Defaults to None: all of them.

    Returns:
        str | None: The first key that holds tensors.
    """
    return next(iter(nesting_keys(state_dict, keys)), None)


def holds_own_names(state_dict: Any,
                    model_keys: Optional[Collection[str]]) -> bool:
    """Whether the weights ``state_dict`` nests under one key
    (:func:`nesting_key`) are all named as the model's own, without DDP's
    ``module.``: the file is in the model's layout (e.g. an EMA copy of an
    MMAction2 or MMPretrain model), not in another code's.

    Args:
        state_dict (Any): What MMEngine would load: the checkpoint's
            ``'state_dict'``, else the checkpoint.
        model_keys (Collection[str], optional): The model's
            ``state_dict()`` keys; None (not known) gives False.

    Returns:
        bool: True if it nests weights and each of them is a model key.
    """
    nested = nesting_key(state_dict)
    return model_keys is not None and nested is not None and held_keys(
        tensor_keys(state_dict[nested])) <= set(model_keys)


def nested_weights_cause(
        state_dict: Any,
        keys: Optional[Iterable[str]] = None,
        advice: Optional[str] = CONVERT_ADVICE,
        model_keys: Optional[Collection[str]] = None) -> Optional[str]:
    """Why a checkpoint whose weights sit under one key does not load, or
    None (:func:`nesting_key`): the one wording of every path.

    Args:
        state_dict (Any): What MMEngine would load: the checkpoint's
            ``'state_dict'``, else the checkpoint.
        keys (Iterable[str], optional): The keys to look under. Defaults to
            None: all of them.
        advice (str, optional): What to do, appended after a colon; None
            for the cause alone, which the caller completes. Defaults to
            :data:`CONVERT_ADVICE`.
        model_keys (Collection[str], optional): The ``state_dict()`` keys of
            the model the file is for. Where every nested tensor (without
            DDP's ``module.``) is named as one of them, the file is in the
            model's own layout and the advice is :func:`unwrap_advice`
            instead of ``advice``. Defaults to None: not known.

    Returns:
        str | None: E.g. ``"its weights are nested under 'model' (152
        tensors, e.g. 'cls_token'), as the official training code ...
        save them, where MMEngine does not look (it reads 'state_dict' or
        the top level): convert it first with ..."``, without a final
        full stop.
    """
    nested = nesting_key(state_dict, keys)
    if nested is None:
        return None
    tensors = tensor_keys(state_dict[nested])
    if advice is not None and holds_own_names(state_dict, model_keys):
        advice = unwrap_advice(nested)
    cause = (f'its weights are nested under {nested!r} ({len(tensors)} '
             f'tensors, e.g. {tensors[0]!r}), as the official training code '
             '(DeiT, Swin, MAE, VideoMAE, AdaptFormer) and timm save them, '
             "where MMEngine does not look (it reads 'state_dict' or the "
             'top level)')
    return cause if advice is None else f'{cause}: {advice}'
