# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Initialise a frozen-host wrapper's host once, loading its pretrained
weights (:meth:`~mmadaptformer.models.FrozenHostWrapper.init_host`).

The ``Pretrained`` checkpoint is checked before anything of it loads, the
modules attached inside the host are set aside while it initialises, and
the wrapper records where the host's weights came from (``host_source``).
What surrounds the host's own ``init_weights()`` is in
:mod:`~mmadaptformer.models.backbones.host_init`.
"""
import functools
from contextlib import nullcontext
from typing import Optional

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit
from torch import nn

from ...utils.checkpoint_schemes import reading_once
from ...utils.kept_delete import kept_delete_error, kept_delete_keys
from ...utils.local_files import home_expanded
from ...utils.pretrained_init import (check_pretrained_init,
                                      pretrained_init_cfgs)
from .config_keys import CONFIG_KEY
from .host_init import (check_own_weights_loaded, own_weights,
                        quiet_console_init, read_host_pretrained,
                        recording_loads, without_own_pretrained,
                        without_pretrained)
from .load_refusals import refuse_trained_model
from .own_layout import give_as_own_pretrained, own_layout_file
from .own_loading_hint import own_loading_hint
from .own_loads import check_own_weights_fit

__all__ = ['host_init_source', 'initialize_host']


def host_init_source(host: nn.Module) -> Optional[str]:
    """Where a host's initialisation inside its wrapper loads its weights
    from: the checkpoint of its last ``Pretrained`` init_cfg, else the
    weights it names and loads itself (:func:`~.host_init.own_weights`: no
    ``Pretrained`` file stopped it, so they count as loaded); None if
    neither (random weights).

    Read from the host's config attributes, so it answers before the host
    is initialised too (a model built without weights).

    Args:
        host (nn.Module): The wrapper's stock backbone.

    Returns:
        str, optional: The checkpoint, path (``~`` expanded), address or
        name.
    """
    pretrained = pretrained_init_cfgs(host)
    source = str(pretrained[-1].get('checkpoint')) if pretrained else \
        own_weights(host)
    # As MMEngine's loader reads it: what a record and a message name.
    return None if source is None else home_expanded(source)


def initialize_host(wrapper: nn.Module) -> None:
    """Initialise a wrapper's host once, loading its ``Pretrained``
    init_cfg, as :meth:`~mmadaptformer.models.FrozenHostWrapper.init_host`
    describes.

    Args:
        wrapper (FrozenHostWrapper): The wrapper; its ``host_initialized``
            and ``host_source`` are set.

    Raises:
        PretrainedFileError: If the checkpoint holds adapters or prompts.
        StateDictMismatchError: If it does not fit the host, or if the
            weights the host names itself loaded none of its parameters,
            or left some of another shape at their initialisation.
    """
    if wrapper.host_initialized:
        return
    host = wrapper.backbone
    # A _delete_ that MMEngine kept (no base config gave the init_cfg one)
    # was PretrainedInit's TypeError, once the pretrained file was read.
    for key in kept_delete_keys(
            getattr(host, 'init_cfg', None),
            f'{CONFIG_KEY}.backbone.init_cfg'):
        raise kept_delete_error(None, key)
    pretrained = pretrained_init_cfgs(host)
    attached = [(parent, name, parent._modules[name])
                for parent, name in wrapper.attached_modules()]
    read = {}

    def read_once(cfg: dict) -> Optional[dict]:
        """The host's own reading of an entry, done once."""
        key = (cfg.get('checkpoint'), cfg.get('prefix'))
        if key not in read:
            read[key] = read_host_pretrained(host, cfg)
        return read[key]

    # Where the file the host loads itself was given (its own key, or a
    # Pretrained entry's that it converts itself), for a refusal.
    given_key = wrapper.pretrained_key
    # The check and MMEngine's PretrainedInit read the same file.
    with reading_once():
        converted = own_layout_file(host, pretrained)
        if converted is not None:
            # Converted by the host's own code, as pretrained=FILE is.
            give_as_own_pretrained(host, converted, wrapper.pretrained_key)
            pretrained = []
        if pretrained:
            check_pretrained_init(
                host,
                owner='model.backbone.backbone',
                read=read_once,
                screen=functools.partial(refuse_trained_model, wrapper),
                hint=own_loading_hint(host, 'model.backbone.backbone'))
        for parent, name, _ in attached:
            parent._modules[name] = None
        own_file = None if pretrained else own_weights(host)
        try:
            if hasattr(host, 'init_weights'):
                own = without_own_pretrained(host) if pretrained \
                    else nullcontext()
                with quiet_console_init(host), \
                        without_pretrained(host), own, \
                        recording_loads(host) as loads:
                    host.init_weights()
                if own_file is not None:
                    check_own_weights_loaded(host, loads, own_file,
                                             wrapper.pretrained_key)
                    # A tensor of another shape was skipped with a
                    # warning, and would stay random in the frozen host.
                    check_own_weights_fit(host, loads, own_file, given_key)
            # Loaded here rather than by the host's init_weights(), which
            # may ignore its init_cfg: a plain nn.Module (TimeSformer),
            # or UniFormer and Swin3D with pretrained2d=True.
            for cfg in pretrained:
                state_dict = read_once(cfg)
                if state_dict is None:
                    PretrainedInit(
                        **{k: v
                           for k, v in cfg.items() if k != 'type'})(
                               host)
                else:  # checked above: every tensor fits
                    host.load_state_dict(state_dict, strict=False)
        finally:
            for parent, name, child in attached:
                parent._modules[name] = child
    if hasattr(host, '_params_init_info'):
        from mmengine.model.weight_init import update_init_info
        update_init_info(
            host,
            init_info=f'Initialized by {type(host).__name__}.'
            'init_weights() inside the frozen-host wrapper')
    wrapper.host_initialized = True
    # BaseModule.init_weights() of the wrapper would initialise the
    # host again, over its weights: a plain nn.Module host
    # (TimeSformer), or one whose init_weights() does not mark it done
    # (Swin3D and UniFormer with pretrained2d=True, which then read and
    # inflated their 2D file a second time, adapters attached).
    host.is_init = True
    source = host_init_source(host)
    if source is not None:
        wrapper.host_source = source
    if wrapper.host_source is not None:
        print_log(
            f'{type(wrapper).__name__}: loaded the frozen backbone '
            f'{type(host).__name__} from {wrapper.host_source} '
            f'({wrapper.pretrained_key}).',
            logger='current')
