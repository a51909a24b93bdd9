# Copyright (c) mmadaptformer contributors. All rights reserved.
"""In-memory inputs of inference: numpy arrays beside files.

An image is an ``H x W x 3`` ``uint8`` array in BGR order, what
``mmcv.imread`` gives and mmpretrain's ``ImageClassificationInferencer``
takes; it enters the test pipeline after its ``LoadImageFromFile``, as
there. A video is a ``T x H x W x 3`` ``uint8`` array of decoded frames in
RGB order, what decord gives (``VideoReader.get_batch(...).asnumpy()``);
the test pipeline runs as mmaction2's ``ActionRecogInferencer`` runs it on
arrays: its ``*Init`` steps left out and its ``*Decode`` step replaced by
``ArrayDecode``, the sampling (``SampleFrames``, its clips) and the views
unchanged. So an array gets the scores its file gets.

A PIL image is refused, naming the conversion: its array is RGB, and
taking it as it is would score an image with red and blue swapped.
An array is answered under its index in the inputs (an ``int``); a file
under its path (a ``str``), as before. Where an input is named in text (an
error, the notice of short videos, a JSON file), an array is
``inputs[INDEX]`` (:func:`input_name`, :func:`named_results`): ``json.dump``
would write the key ``1`` as ``"1"``, which reads as a file of that name.
"""
import functools
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.pipelines import build_transforms
from mmadaptformer.utils.transform_steps import TransformError, run_transforms
from mmadaptformer.utils.video_containers import one_line_error
from .infer_files import InferenceInputError, collect_inputs, each_once
from .test_pipeline import test_pipeline_cfg

__all__ = [
    'InputKey', 'input_name', 'named_results', 'describe_array', 'check_array',
    'collect_items', 'ArrayPipeline'
]

#: How results name an input: a file's path, an array's index.
InputKey = Union[str, int]

_EXPECTED = ('a path (str or os.PathLike), a numpy array, or a sequence '
             'of them')
_LAYOUTS = dict(
    mmaction='a video: T x H x W x 3 uint8 frames in RGB order (as decord '
    'decodes them)',
    mmpretrain='an image: H x W x 3 uint8 in BGR order (as mmcv.imread '
    'reads it)')


def input_name(key: InputKey) -> str:
    """How an input is named in text: a file by its path, an array by
    ``inputs[INDEX]``, as the errors about it name it.

    Args:
        key (str | int): The input's key in the results.

    Returns:
        str: ``key`` for a path, ``'inputs[INDEX]'`` for an array's index.
    """
    return f'inputs[{key}]' if isinstance(key, int) else key


def named_results(results: Dict[InputKey, Any]) -> Dict[str, Any]:
    """The results keyed by :func:`input_name`, e.g. to write them as JSON.

    JSON's keys are strings: ``json.dump`` writes an array's key ``1`` as
    ``"1"``, which reads as a file named ``1`` and would be written twice
    beside a file given as ``1``. Here it is ``"inputs[1]"``, the name the
    errors and the notice of short videos give it.

    Args:
        results (dict): ``{key: answer}``, as the engines return them.

    Returns:
        dict: The same answers in the same order, keyed by name.

    Raises:
        ValueError: If two keys get one name (a file given as
            ``inputs[1]`` beside the array at index 1), naming it.
    """
    named: Dict[str, Any] = {}
    for key, answer in results.items():
        name = input_name(key)
        if name in named:
            raise ValueError(
                f'results: the file {name!r} and the array at index '
                f'{name[7:-1]} are both named {name!r}; rename the file.')
        named[name] = answer
    return named


def describe_array(array: np.ndarray) -> str:
    """``'array of shape (16, 32, 32, 3), uint8'``."""
    return f'array of shape {tuple(array.shape)}, {array.dtype}'


def _is_pil(item: Any) -> bool:
    return type(item).__module__.split('.')[0] == 'PIL'


def _type_error(where: str, item: Any) -> TypeError:
    """The error for an input of a type inference does not take."""
    if _is_pil(item):
        return TypeError(
            f'{where}: got a PIL image ({type(item).__name__}, mode '
            f'{getattr(item, "mode", "?")}); give its pixels as a BGR numpy '
            'array, as mmcv.imread reads them and mmpretrain takes them: '
            'np.asarray(img.convert("RGB"))[..., ::-1] (PIL images are '
            'RGB).')
    if type(item).__module__.split('.')[0] == 'torch':
        return TypeError(
            f'{where}: got a torch {type(item).__name__}; give a numpy '
            'uint8 array (tensor.numpy()) of the layout the model takes.')
    return TypeError(f'{where}: expected {_EXPECTED}, got '
                     f'{type(item).__name__} {item!r:.80}.')


def check_array(where: str, array: np.ndarray, toolbox: str) -> np.ndarray:
    """An input array the test pipeline can take, or a clear error.

    Args:
        where (str): How the input is named, e.g. ``'inputs[2]'``.
        array (np.ndarray): The input.
        toolbox (str): ``'mmaction'`` (videos) or ``'mmpretrain'``
            (images).

    Returns:
        np.ndarray: ``array``, C-contiguous (a copy only if it was not, as
        ``img[..., ::-1]`` is not: OpenCV's resize refuses such a view).

    Raises:
        InferenceInputError: Naming ``where``, the shape and dtype and the
            layout expected: for an empty array, another number of
            dimensions (a video for an image model or the other way
            round), not 3 channels, or a dtype other than ``uint8``.
    """
    video = toolbox == 'mmaction'
    ndim = 4 if video else 3
    expected = f'expected {_LAYOUTS[toolbox]}'
    named = f'{where}: {describe_array(array)}'
    if array.ndim != ndim:
        if array.ndim == 7 - ndim and array.shape[-1] == 3:
            other = ('an image, but this model classifies videos; give '
                     'frames T x H x W x 3 (one frame: array[None])'
                     if video else 'a video, but this model classifies '
                     'images; give one H x W x 3 image')
            raise InferenceInputError(f'{named}: is {other}.')
        hint = (' (one channel? repeat it: np.repeat(array[..., None], 3, '
                'axis=-1))' if array.ndim == ndim - 1 else '')
        raise InferenceInputError(f'{named}: has {array.ndim} dimensions'
                                  f'{hint}, {expected}.')
    if array.size == 0:
        raise InferenceInputError(f'{named}: is empty, {expected}.')
    if array.shape[-1] != 3:
        hint = (' (channels first? move them last: array.transpose('
                f'{"0, 2, 3, 1" if video else "1, 2, 0"}))'
                if array.shape[-3] == 3 else
                ' (grayscale or with alpha? convert it to 3 channels, e.g. '
                'with cv2.cvtColor)')
        raise InferenceInputError(
            f'{named}: has {array.shape[-1]} channels{hint}, {expected}.')
    if array.dtype != np.uint8:
        if array.dtype.kind == 'f' and array.size:
            low, high = float(np.nanmin(array)), float(np.nanmax(array))
            if high <= 1 and low >= 0:
                hint = ('pixels scaled to [0, 1]? '
                        '(array * 255).round().astype(np.uint8)')
            elif high <= 255 and low >= 0:
                hint = '0-255 pixels? array.round().astype(np.uint8)'
            else:
                hint = 'not 0-255 pixels'
            hint = f' (values {low:g} to {high:g}: {hint})'
        else:
            hint = ''
        raise InferenceInputError(
            f'{named}: is {array.dtype}{hint}; {expected}. The test '
            "pipeline and the model's data preprocessor take 0-255 pixels "
            'of the dtype decoders give.')
    return np.ascontiguousarray(array)


def collect_items(
    inputs: Any,
    toolbox: str,
    extensions: Sequence[str],
    collect: Optional[Callable[[List[Any]], List[str]]] = None
) -> List[Tuple[InputKey, Any]]:
    """The inputs of one call, each with the key that names it in the
    results.

    Files and folders are collected by
    :func:`~mmadaptformer.apis.infer_files.collect_inputs` (folders
    expanded, a file given twice classified once) and keyed by path;
    arrays are checked (:func:`check_array`) and keyed by their index in
    ``inputs`` (0 for one array given alone). Every array is checked before
    anything is classified.

    Args:
        inputs: A path or array, or a sequence of them.
        toolbox (str): ``'mmaction'`` or ``'mmpretrain'``.
        extensions (Sequence[str]): The extensions of the files the model
            classifies.
        collect (Callable, optional): Expands a list of paths into the
            inputs that are classified, in place of ``collect_inputs``
            (a rawframe model's clip folders,
            :meth:`~mmadaptformer.apis.frame_folders.FrameFolders.collect`).
            Defaults to None.

    Returns:
        list[tuple]: ``(key, path or array)``, in the order of ``inputs``.

    Raises:
        TypeError: If ``inputs`` or one of its items is of another type,
            naming its index (a PIL image, with the conversion).
        InferenceInputError: If an array does not fit (see
            :func:`check_array`) or a folder holds no file to classify.
    """
    if collect is None:
        collect = functools.partial(collect_inputs, extensions=extensions)
    if isinstance(inputs, np.ndarray):
        return [(0, check_array('inputs', inputs, toolbox))]
    if isinstance(inputs, (str, os.PathLike)):
        return [(path, path) for path in collect([inputs])]
    if isinstance(inputs, (bytes, bytearray)) or \
            not isinstance(inputs, Sequence):
        raise _type_error('inputs', inputs)
    items: List[Tuple[InputKey, Any]] = []
    run: List[Union[str, os.PathLike]] = []
    paths = 0
    for index, item in enumerate(list(inputs) + [None]):
        if index < len(inputs) and isinstance(item, (str, os.PathLike)):
            run.append(item)
            continue
        if run:
            # Runs of paths between arrays: all of them when there is none.
            found = collect(run)
            paths += len(found)
            items += [(path, path) for path in found]
            run = []
        if index == len(inputs):
            break
        if not isinstance(item, np.ndarray):
            raise _type_error(f'inputs[{index}]', item)
        items.append((index, check_array(f'inputs[{index}]', item, toolbox)))
    # Repeats are paths named in two runs (collect_inputs warned of those
    # within one); an array's key, its index, is its own.
    by_key = dict(items)
    return [(key, by_key[key])
            for key in each_once([key for key, _ in items], 'files')]


class ArrayPipeline:
    """A config's test pipeline for arrays.

    Args:
        cfg (Config): The config.
        toolbox (str): ``'mmaction'`` or ``'mmpretrain'``.
        key (str): The config key of the test pipeline, for errors.
        source (str): How the config is named in errors.

    Raises:
        ConfigError: If the pipeline has no step that reads the file to
            replace (a video ``*Decode``, an image ``LoadImageFromFile``),
            or loads images other than as 3 colour channels.
    """

    def __init__(self, cfg: Config, toolbox: str, key: str,
                 source: str) -> None:
        self.toolbox = toolbox
        self.key = key
        self.to_float32 = False
        pipeline = test_pipeline_cfg(cfg, source)
        kept: List[Tuple[int, Any]] = []
        replaced = False
        for index, step in enumerate(pipeline):
            kind = step.get('type', '') if isinstance(step, dict) else step
            kind = kind if isinstance(kind, str) else kind.__name__
            if toolbox == 'mmaction' and 'Init' in kind:
                continue
            if toolbox == 'mmaction' and 'Decode' in kind:
                step, replaced = dict(type='ArrayDecode'), True
            elif toolbox == 'mmpretrain' and 'LoadImageFromFile' in kind:
                color = step.get('color_type', 'color')
                if color != 'color':
                    raise ConfigError(
                        f'{source}: {key}[{index}] ({kind}) loads images '
                        f'with color_type={color!r}; arrays are taken as 3 '
                        'colour channels (BGR) only. Classify files.')
                self.to_float32 = bool(step.get('to_float32', False))
                replaced = True
                continue
            kept.append((index, step))
        if not replaced:
            step = 'a *Decode step' if toolbox == 'mmaction' else \
                'a LoadImageFromFile step'
            raise ConfigError(
                f'{source}: {key} has no {step} for an array to replace, '
                'so arrays cannot go through it. Classify files.')
        init_default_scope(toolbox)
        self.indices = [index for index, _ in kept]
        self.transforms = build_transforms([step for _, step in kept], key,
                                           cfg, source)

    def __call__(self, where: str, array: np.ndarray) -> dict:
        """The test pipeline's output for a checked array.

        Args:
            where (str): How the input is named, e.g. ``'inputs[2]'``.
            array (np.ndarray): An array :func:`check_array` passed.

        Raises:
            InferenceInputError: Naming the input and the transform, if
                one fails or drops it.
        """
        if self.toolbox == 'mmaction':
            # What mmaction2's InferencerPackInput gives an array.
            data = dict(
                array=array,
                total_frames=array.shape[0],
                label=-1,
                start_index=0,
                modality='RGB')
        else:
            # What mmpretrain's ImageClassificationInferencer gives one.
            img = array.astype(np.float32) if self.to_float32 else array
            data = dict(
                img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        init_default_scope(self.toolbox)
        named = f'{where} ({describe_array(array)})'
        try:
            out: Optional[dict] = run_transforms(self.transforms, data)
        except TransformError as e:
            raise InferenceInputError(
                f"{named}: the test pipeline's {e.name} "
                f'({self.key}[{self.indices[e.index]}], as run on arrays) '
                f'failed: {one_line_error(e.error)}.') from e
        if out is None:
            raise InferenceInputError(
                f'{named}: the test pipeline dropped it.')
        return out
