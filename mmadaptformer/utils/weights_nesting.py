# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Checkpoints whose weights sit under one key (``{'model': state_dict}``).

The official DeiT, Swin, MAE, VideoMAE and AdaptFormer code and timm save
a model's weights under ``'model'``, DeepSpeed under ``'module'``, EMA
copies under ``'model_ema'`` or ``'state_dict_ema'``; MMEngine looks for
them only under ``'state_dict'`` or at the top level, so nothing of such a
file loads. This is the one detection (:func:`nesting_key`) and the one
wording of that cause (:func:`nested_weights_cause`) for every path that
refuses such a file: ``tools/test.py``, ``load_from``, ``init_model``,
``--resume`` and ``--pretrained``. The cause says whose names the nested
tensors carry: the model's own, MMAction2's and MMPretrain's layout
(:func:`toolbox_layout_key`; e.g. one of our checkpoints' weights saved
under ``'model'``), or another code's. Each path ends the cause with its
own advice: the generic converter command (:data:`CONVERT_ADVICE`), the
command that takes weights in the toolboxes' names out unconverted
(:func:`unwrap_advice`), or, for ``--pretrained``, which knows the
backbone, the converter's ``--type``.
"""
from typing import Any, Collection, Iterable, List, Mapping, Optional, Tuple

from .model_keys import BACKBONE_PREFIX, HEAD_NAMES, NECK_NAME, held_keys
from .official_vit_keys import TOOLBOX_PATCH_EMBED_KEY

__all__ = [
    'CONVERT_ADVICE', 'NESTING_KEYS', 'find_nested_weights', 'holds_own_names',
    'nested_weights_cause', 'nesting_key', 'nesting_keys', 'tensor_keys',
    'toolbox_layout_key', 'unwrap_advice', 'unwrap_command',
    'wrapped_checkpoint_key'
]

#: Where training code other than MMEngine's nests a model's weights, the
#: keys looked under first (in this order); any other key that holds a
#: dict of tensors counts as well.
NESTING_KEYS = ('model', 'module', 'model_ema', 'state_dict_ema')
#: The advice where the caller knows nothing of the model the file is for.
CONVERT_ADVICE = ('convert it first with '
                  'tools/model_converters/convert_official.py SRC DST')
#: The parts an MMAction2 recognizer or MMPretrain classifier names its
#: tensors by; official training code and timm name none ``backbone.``.
_MODEL_PARTS = ('backbone', NECK_NAME, *HEAD_NAMES, 'data_preprocessor')
#: DDP's prefix, which a model's own names do not carry.
_DDP = 'module.'


def unwrap_advice(key: str, own: Optional[bool] = True) -> str:
    """The advice for weights nested under ``key`` whose names are the
    model's own (e.g. an EMA copy of an MMAction2 or MMPretrain model), or
    in the toolboxes' layout (:func:`toolbox_layout_key`): take them out as
    they are. Converting would treat them as an official layout (e.g.
    rebuild a VideoMAE ``pos_embed`` for 224 px and 8 frames and drop the
    head), which does not give the model back.

    Args:
        key (str): The key they are nested under (:func:`unwrap_command`).
        own (bool, optional): Whether they are all the model's own
            tensors: True; False where they are not (the advice adds to
            check the config); None where the model is not known.
            Defaults to True.

    Returns:
        str: The command, without a final full stop.
    """
    whose = "the model's own" if own else "MMAction2's and MMPretrain's"
    advice = (f'its tensors already carry {whose} names, so take them out '
              f'as they are, converting nothing: {unwrap_command(key)}')
    if own is False:
        advice += ("; they are not all this model's tensors, so also check "
                   'that the config is the one the file was trained with')
    return advice


def unwrap_command(key: str, src: str = 'SRC', dst: str = 'DST') -> str:
    """The command that takes the weights nested under ``key`` out of
    ``src`` unconverted, into ``dst`` (:func:`unwrap_advice`).

    Args:
        key (str): The key they are nested under (or the whole checkpoint
            that holds them under its ``'state_dict'``).
        src (str): The file. Defaults to ``'SRC'``.
        dst (str): The file to write. Defaults to ``'DST'``.

    Returns:
        str: ``tools/model_converters/convert_official.py SRC DST --key KEY
        --unwrap-only``.
    """
    return (f'tools/model_converters/convert_official.py {src} {dst} '
            f'--key {key} --unwrap-only')


def toolbox_layout_key(weights: Any) -> Optional[str]:
    """A tensor name that shows ``weights`` are named in MMAction2's and
    MMPretrain's own layout, not as official training code or timm name
    them, or None.

    The evidence is mmcv's ``patch_embed.projection.weight`` (under any
    prefix), or a ``backbone.`` tensor where every tensor (without DDP's
    ``module.``) belongs to a part of an MMEngine model (``backbone``,
    ``neck``, ``cls_head``, ``head``, ``data_preprocessor``).

    Args:
        weights (Any): A dict of tensors (a non-mapping has none).

    Returns:
        str | None: The first such name.
    """
    names = [
        k[len(_DDP):] if k.startswith(_DDP) else k
        for k in tensor_keys(weights)
    ]
    embed = next((k for k in names if k == TOOLBOX_PATCH_EMBED_KEY
                  or k.endswith('.' + TOOLBOX_PATCH_EMBED_KEY)), None)
    if embed is not None:
        return embed
    if names and all(k.split('.', 1)[0] in _MODEL_PARTS for k in names):
        return next((k for k in names if k.startswith(BACKBONE_PREFIX)), None)
    return None


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
    nested, weights, _ = find_nested_weights(state_dict)
    return model_keys is not None and nested is not None and held_keys(
        tensor_keys(weights)) <= set(model_keys)


def wrapped_checkpoint_key(
        state_dict: Any,
        keys: Optional[Iterable[str]] = None) -> Optional[str]:
    """The key a whole checkpoint is nested under (``{'model':
    {'state_dict': ..., 'meta': ...}}``, e.g. one of MMEngine's saved
    again under a key), or None.

    Args:
        state_dict (Any): What MMEngine would load: the checkpoint's
            ``'state_dict'``, else the checkpoint (a non-mapping has none).
        keys (Iterable[str], optional): The keys to look under. Defaults
            to None: all of them.

    Returns:
        str | None: The first key whose dict holds tensors under
        ``'state_dict'``.
    """
    if not isinstance(state_dict, Mapping):
        return None
    return next((k for k in (state_dict if keys is None else keys)
                 if isinstance(state_dict.get(k), Mapping)
                 and tensor_keys(state_dict[k].get('state_dict'))), None)


def find_nested_weights(
        state_dict: Any,
        keys: Optional[Iterable[str]] = None
) -> Tuple[Optional[str], Any, bool]:
    """Where ``state_dict`` nests a model's weights: under one key
    (:func:`nesting_key`), else in a whole checkpoint saved under one key
    (:func:`wrapped_checkpoint_key`).

    Args:
        state_dict (Any): What MMEngine would load: the checkpoint's
            ``'state_dict'``, else the checkpoint.
        keys (Iterable[str], optional): The keys to look under. Defaults
            to None: all of them.

    Returns:
        tuple: ``(key, weights, whole)``: the key, the dict of tensors, and
        whether the key holds a whole checkpoint; ``(None, None, False)``
        where nothing is nested.
    """
    keys = None if keys is None else list(keys)
    nested = nesting_key(state_dict, keys)
    if nested is not None:
        return nested, state_dict[nested], False
    whole = wrapped_checkpoint_key(state_dict, keys)
    if whole is not None:
        return whole, state_dict[whole]['state_dict'], True
    return None, None, False


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
    nested, weights, whole = find_nested_weights(state_dict, keys)
    if nested is None:
        return None
    tensors = tensor_keys(weights)
    evidence = toolbox_layout_key(weights)
    where = f"{nested!r}['state_dict']" if whole else repr(nested)
    saved = 'a whole checkpoint' if whole else 'a checkpoint'
    # The cause says what the file is, the same on every path; the advice
    # says what to do with it for the model at hand.
    if evidence is not None:
        origin = ("named in MMAction2's and MMPretrain's own layout "
                  f'({evidence!r}), not as official training code or timm '
                  f'name them ({saved} of an MMAction2, MMPretrain or '
                  f'mmadaptformer model, saved under '
                  f'{nested!r})')
    elif whole:
        origin = f'({saved}, saved under {nested!r})'
    else:
        origin = ('as the official training code (DeiT, Swin, MAE, '
                  'VideoMAE, AdaptFormer) and timm save them')
    if holds_own_names(state_dict, model_keys):
        advice = advice and unwrap_advice(nested)
    elif evidence is not None:
        advice = advice and unwrap_advice(
            nested, own=None if model_keys is None else False)
    cause = (f'its weights are nested under {where} ({len(tensors)} '
             f'tensors, e.g. {tensors[0]!r}), {origin}, where MMEngine does '
             "not look (it reads 'state_dict' or the top level)")
    return cause if advice is None else f'{cause}: {advice}'
