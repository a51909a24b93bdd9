# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read a checkpoint and load it into a model as
:func:`mmengine.runner.load_checkpoint` does, in two steps, so that
:func:`~mmadaptformer.apis.model_init.init_model` checks what was read
before anything loads."""
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Optional, Tuple, Union

from mmengine.config import Config
from mmengine.runner import CheckpointLoader, load_state_dict
from torch import nn

from mmadaptformer.utils.adapter_only_fit import loading
from mmadaptformer.utils.checkpoint_formats import (API_ORDER,
                                                    not_a_checkpoint,
                                                    read_head)
from mmadaptformer.utils.checkpoint_loading import (CheckpointLoadError,
                                                    text_refusal)
from mmadaptformer.utils.checkpoint_text import record_in_checkpoint_place
from mmadaptformer.utils.kept_delete import refuse_kept_delete
from mmadaptformer.utils.local_files import (checkpoint_file_problem,
                                             home_expanded, is_local)
from .config_read import api_order, load_config
from .pretrained_load import load_host_pretrained

__all__ = [
    'check_checkpoint_file', 'read_checkpoint', 'load_read_checkpoint',
    'read_api_files', 'API_KEYS'
]

#: The config keys the inference APIs build from: the model, mmpretrain's
#: top-level data preprocessor, and the test pipeline (in the test
#: dataloader, else ``test_pipeline``).
API_KEYS = ('model', 'data_preprocessor', 'test_dataloader', 'test_pipeline')


def read_checkpoint(checkpoint: Union[str, os.PathLike],
                    order: str = API_ORDER) -> dict:
    """Read a checkpoint as
    :func:`~mmadaptformer.apis.model_init.init_model` does, without a model.

    Args:
        checkpoint (str | os.PathLike): The file or address (``http(s)://``
            and MMEngine's other schemes, which all load with
            ``weights_only``).
        order (str): The caller's order of files, for a file of another
            kind (:func:`check_checkpoint_file`). Defaults to
            :data:`~mmadaptformer.utils.checkpoint_formats.API_ORDER`.

    Returns:
        dict: The checkpoint, to give
        :func:`~mmadaptformer.apis.model_init.init_model` as ``loaded``.
    """
    checkpoint = os.fspath(checkpoint)
    check_checkpoint_file(checkpoint, order)
    ckpt = CheckpointLoader.load_checkpoint(
        checkpoint, map_location='cpu', logger='silent')
    state = ckpt.get('state_dict') if isinstance(ckpt, dict) else None
    if not isinstance(ckpt, dict) or ('state_dict' in ckpt
                                      and not isinstance(state, dict)):
        found = _described(ckpt)
        if isinstance(ckpt, dict):
            found += f", whose 'state_dict' is {_described(state)}"
        raise RuntimeError(
            f'No state_dict found in checkpoint file {checkpoint}: it holds '
            f'{found}; expected a dict of tensors, or a dict with one '
            "under 'state_dict'.")
    return ckpt


def check_checkpoint_file(checkpoint: Union[str, os.PathLike],
                          order: str = API_ORDER) -> None:
    """Refuse a local checkpoint that is not a file, or is plainly another
    kind of file (a video, an image, a config: the checkpoint left out, or
    the files swapped) or MMEngine's ``last_checkpoint`` record (naming
    the checkpoint it records), before a model is built for it, as the
    tools do (:func:`~mmadaptformer.utils.cli_types.first_misplaced_file`;
    an address is left to its loader).

    Args:
        checkpoint (str | os.PathLike): The file or address.
        order (str): The caller's order of files, which a misplaced file's
            error names (:func:`~mmadaptformer.apis.config_read.api_order`:
            ``init_model takes the config first, then the checkpoint:
            init_model(config, checkpoint)``). Defaults to
            :data:`~mmadaptformer.utils.checkpoint_formats.API_ORDER`.

    Raises:
        IsADirectoryError: If it is a folder.
        FileNotFoundError: If nothing is there.
        CheckpointLoadError: If it is a video, an image or a config, as the
            loader would say it once the model was built, in the caller's
            terms rather than the tools' (their positional ``CHECKPOINT``),
            or a ``last_checkpoint`` record, in the loader's words (which
            the toolboxes' own APIs get).
    """
    checkpoint = os.fspath(checkpoint)
    # MMEngine's loader expands a leading ``~``, as init_recognizer and
    # get_model do: a home file is there.
    problem = checkpoint_file_problem(checkpoint)
    if problem is None:
        if not is_local(checkpoint):
            return
        path = home_expanded(checkpoint)
        head = read_head(path)
        kind = not_a_checkpoint(path, order, head)
        if kind:
            raise CheckpointLoadError(
                f'Checkpoint file {checkpoint} is {kind}. It was not loaded.')
        record = record_in_checkpoint_place(path, head)
        if record:
            # In the words of the loader, which refuses it to the
            # toolboxes' own APIs.
            raise text_refusal(checkpoint, path, record)
        return
    if osp.isdir(home_expanded(checkpoint)):
        raise IsADirectoryError(
            f'Checkpoint file {checkpoint} {problem}: give the .pth file in '
            'it (epoch_N.pth, best_*.pth).')
    raise FileNotFoundError(f'Checkpoint file {checkpoint} {problem}.')


def _described(value: object) -> str:
    """What a checkpoint holds, in a few words: its type, and the first
    top-level keys of a dict."""
    if not isinstance(value, dict):
        return f'a value of type {type(value).__name__}'
    keys = [repr(k) for k in list(value)[:10]]
    more = f', ... ({len(value)} in all)' if len(value) > 10 else ''
    return f"a dict with the top-level keys [{', '.join(keys)}{more}]"


def load_read_checkpoint(model: nn.Module,
                         ckpt: dict,
                         source: str = 'the checkpoint') -> None:
    """Load a checkpoint :func:`read_checkpoint` read into a model.

    As :func:`mmengine.runner.load_checkpoint` loads the one it reads: the
    ``state_dict`` (or the whole dict) without a ``module.`` prefix, not
    strict, MMEngine's report silenced. ``ckpt`` itself is not changed.
    The pretrained file of a frozen backbone that the checkpoint leaves out
    is read first (:func:`~.pretrained_load.load_host_pretrained`): the
    load would read it inside, where a damaged file would read as a
    damaged checkpoint.

    Args:
        model (nn.Module): The model.
        ckpt (dict): The checkpoint.
        source (str): The checkpoint file, for errors. Defaults to
            ``'the checkpoint'``.

    Raises:
        PretrainedLoadError: If that pretrained file cannot be loaded.
    """
    state = ckpt['state_dict'] if 'state_dict' in ckpt else ckpt
    metadata = getattr(state, '_metadata', OrderedDict())
    state = OrderedDict(
        (re.sub(r'^module\.', '', k), v) for k, v in state.items())
    state._metadata = metadata
    load_host_pretrained(model, ckpt, state, source)
    # Named to the model's own load checks, which see the state dict only.
    with loading(ckpt, None if source == 'the checkpoint' else source):
        load_state_dict(model, state, strict=False, logger='silent')


def read_api_files(
        call: str, config: Union[str, Config],
        checkpoint: Optional[Union[str,
                                   os.PathLike]]) -> Tuple[Config, str, str]:
    """What every inference API does first with its files, in its own
    terms: read the config (:func:`~mmadaptformer.apis.config_read.
    load_config`) and refuse a ``_delete_`` MMEngine kept in what they
    build (:data:`API_KEYS`,
    :func:`~mmadaptformer.utils.kept_delete.refuse_kept_delete`), then
    refuse a checkpoint that is not a file or is
    plainly another kind of file (:func:`check_checkpoint_file`), before a
    model is built.

    Args:
        call (str): How the API is called, e.g.
            ``'init_model(config, checkpoint)'`` (see
            :func:`~mmadaptformer.apis.config_read.api_order`).
        config (str | Config): Its config.
        checkpoint (str | os.PathLike, optional): Its checkpoint; None is
            not checked (each API says what it makes of none).

    Returns:
        tuple[Config, str, str]: The config, how to name it (its file), and
        the API's order of files, for later messages.
    """
    order = api_order(call)
    cfg, source = load_config(config, order)
    refuse_kept_delete(cfg, source, keys=API_KEYS)
    if checkpoint is not None:
        check_checkpoint_file(checkpoint, order)
    return cfg, source, order
