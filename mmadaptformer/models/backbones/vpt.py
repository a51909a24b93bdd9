# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Visual Prompt Tuning (VPT), the prompt baseline AdaptFormer compares to.

The host backbone is left untouched: its transformer blocks get a forward
pre-hook that inserts the prompt tokens and a forward hook that takes them
out again, so every block output, and with it the host's final norm,
pooling, ``out_indices`` and ``out_type``, sees the real tokens only. The
prompts are inserted right after the extra (class/distillation) tokens, as
in the official code (``KMnP/vpt``, ``src/models/vit_prompt/vit.py``), or at
the front for hosts without extra tokens (VideoMAE).

* VPT-deep: block ``i`` sees the prompts ``prompt_embeddings[i]``; what the
  previous block made of its prompts is discarded.
* VPT-shallow: block 0 sees ``prompt_embeddings[0]``; every later block sees
  the previous block's prompt outputs, exactly as if the prompts were kept
  in the sequence from the first block to the last.
"""
import math
import threading
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmaction.registry import MODELS as MMACTION_MODELS
from mmengine.logging import print_log
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from torch import nn

from .base_wrapper import FrozenHostWrapper
from .config_keys import CONFIG_KEY
from .vpt_hosts import (check_promptable_host, find_promptable_blocks,
                        prompt_fan_in, token_width)

#: Name of the prompt parameter, and so its state-dict key under the
#: wrapper's prefix, e.g. ``backbone.prompt_embeddings`` in a recognizer.
PROMPT_KEY = 'prompt_embeddings'


class _PerThread:
    """A holder of per-thread values (``self._local``) of a forward in
    progress: no part of the model, so a copy or an unpickled model starts
    with none."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __getstate__(self) -> dict:
        # A thread-local object can be neither copied nor pickled.
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()


class _CarriedPrompts(_PerThread):
    """VPT-shallow's prompt outputs of the block that just ran, per thread.

    Each thread sees only what its own forward put here, so two threads in
    a forward of one model (a thread pool running inference, say) do not
    take each other's. The prompts of a forward in progress are no part of
    the model: a copy or an unpickled model starts with none.
    """

    def put(self, prompts: Optional[torch.Tensor]) -> None:
        """Keep ``prompts`` for this thread's next block."""
        self._local.prompts = prompts

    def take(self) -> Optional[torch.Tensor]:
        """This thread's kept prompts (None if none), no longer kept."""
        prompts = getattr(self._local, 'prompts', None)
        self._local.prompts = None
        return prompts


class _RunningVPT(_PerThread):
    """The VPT whose forward each thread runs: the model, or the
    ``DataParallel`` replica of it that runs in this thread.

    Multi-GPU ``DataParallel`` runs shallow copies of the modules
    (replicas, each with its own copies of the tensors, in its own
    thread). They share the block hooks, whose ``owner`` is the model, and
    this object, through which the hooks find the replica that runs. It
    is no part of the model: a copy or an unpickled model starts with
    none.
    """

    def enter(self, vpt: 'VPT') -> Optional['VPT']:
        """Make ``vpt`` this thread's running VPT; return the one before,
        for :meth:`leave`."""
        previous = getattr(self._local, 'vpt', None)
        self._local.vpt = vpt
        return previous

    def leave(self, previous: Optional['VPT']) -> None:
        """Put back the running VPT that :meth:`enter` returned."""
        self._local.vpt = previous

    def get(self, default: 'VPT') -> 'VPT':
        """This thread's running VPT, ``default`` outside a VPT forward
        (the host's blocks called on their own)."""
        vpt = getattr(self._local, 'vpt', None)
        return default if vpt is None else vpt


class _PromptRouter:
    """Forward hooks that put one block's prompts in and take them out.

    A plain object with bound-method hooks rather than closures, so
    ``copy.deepcopy`` of the model (e.g. for EMA) rewires the copy's hooks to
    the copy's prompts. The hooks take the prompts of the VPT that runs in
    their thread (:class:`_RunningVPT`): ``owner`` or a replica of it.
    """

    def __init__(self, owner: 'VPT', block: nn.Module, index: int,
                 name: str) -> None:
        self.owner = owner
        self.index = index
        self.name = name
        self.handles = [
            block.register_forward_pre_hook(self.pre_hook),
            block.register_forward_hook(self.hook),
        ]

    def pre_hook(self, block: nn.Module, args: tuple) -> tuple:
        owner = self.owner._running.get(self.owner)
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or \
                x.size(-1) != owner.embed_dims:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else x
            raise ValueError(
                f'VPT expects {self.name} ({type(block).__name__}) to be '
                f'called with tokens of shape (B, N, '
                f'{owner.embed_dims}), but got {got!r}.')
        prompts = owner._prompts_for(self.index, x)
        pos = owner.prompt_position
        x = torch.cat((x[:, :pos], prompts, x[:, pos:]), dim=1)
        return (x, ) + tuple(args[1:])

    def hook(self, block: nn.Module, args: tuple,
             output: torch.Tensor) -> torch.Tensor:
        owner = self.owner._running.get(self.owner)
        pos, num = owner.prompt_position, owner.num_prompts
        if not owner.deep and self.index < len(owner.prompted_blocks) - 1:
            owner._carried.put(output[:, pos:pos + num])
        return torch.cat((output[:, :pos], output[:, pos + num:]), dim=1)


@MMACTION_MODELS.register_module()
@MMPRETRAIN_MODELS.register_module()
class VPT(FrozenHostWrapper):
    """Add Visual Prompt Tuning prompts to a stock MMAction2/MMPretrain ViT.

    A PyTorch implementation of `Visual Prompt Tuning
    <https://arxiv.org/abs/2203.12119>`_, the prompt-tuning baseline that
    `AdaptFormer <https://arxiv.org/abs/2205.13535>`_ compares against.

    The stock backbone is built from ``backbone``; its ``init_cfg`` (e.g. a
    pre-trained checkpoint) is checked and applied lazily, by
    ``init_weights()`` or when a prompt-only checkpoint (the adapter-only
    format) is loaded, and one trained on another backbone is refused (see
    :class:`~mmadaptformer.models.FrozenHostWrapper`). Then
    ``num_prompts`` learnable tokens are inserted right after the extra
    tokens (class token, and distillation token for DeiT) of every
    transformer block's input, or at the front for hosts without extra
    tokens (VideoMAE), and removed from the block's output. The host's final
    norm, pooling (``use_mean_pooling``), ``out_indices`` and ``out_type``
    therefore see the real tokens only.

    With ``deep=True`` (VPT-deep, the variant in the AdaptFormer paper) each
    block has its own prompts and the previous block's prompt outputs are
    discarded. With ``deep=False`` (VPT-shallow) only the first block gets
    learnable prompts; they are carried through all blocks.

    The prompts are the single parameter ``prompt_embeddings`` of shape
    ``(num_blocks, num_prompts, embed_dims)`` (``num_blocks`` is 1 for
    VPT-shallow), initialised as in the official code with
    ``U(-v, v)``, ``v = sqrt(6 / (fan_in + embed_dims))``: Xavier-uniform
    with the patch embedding's fan-in, ``3 * ph * pw`` for images and
    ``3 * tubelet * ph * pw`` for video tubelets. Official VPT-deep
    checkpoints keep them as ``prompt_embeddings`` (block 0) and
    ``deep_prompt_embeddings`` (blocks 1..), which concatenate to this one.

    The wrapper adds no prefix to the backbone's state-dict keys: stock
    checkpoints load unchanged, also through an ``init_cfg`` of type
    ``Pretrained`` with ``prefix='backbone.'``, and only ``prompt_embeddings``
    is new. Nothing is frozen here; train the prompts and the head with
    e.g. ``AdapterHook(mode='linear_probe',
    extra_trainable=[r'prompt_embeddings'])``.

    Supported: mmaction2 ``VisionTransformer`` (VideoMAE); mmpretrain
    ``VisionTransformer`` (every arch, DeiT included),
    ``DistilledVisionTransformer`` and ``DeiT3``. Backbones without global
    attention over one token sequence (e.g. Swin) raise a ``ValueError``.

    Args:
        backbone (dict): Config of the stock backbone. Inside a runner the
            default scope picks the toolbox; a scoped type such as
            ``'mmpretrain.VisionTransformer'`` picks it explicitly.
        num_prompts (int): Number of prompt tokens per block. Defaults to 50.
        deep (bool): VPT-deep (True) or VPT-shallow (False).
            Defaults to True.
        prompt_dropout (float): Dropout probability on the prompts, drawn
            per sample as in the official code. Defaults to 0.
        init_cfg (dict, optional): Initialization config of the wrapper,
            applied by ``init_weights()``. A ``Pretrained`` checkpoint with
            the stock keys can be given here as well. The prompts are
            initialised on construction and left alone by
            ``init_weights()`` unless the checkpoint holds them.
            Defaults to None.

    Examples:
        >>> from mmengine.registry import init_default_scope
        >>> from mmaction.registry import MODELS
        >>> init_default_scope('mmaction')
        >>> model = MODELS.build(dict(
        ...     type='VPT',
        ...     backbone=dict(type='VisionTransformer', img_size=32,
        ...                   patch_size=16, embed_dims=64, depth=2,
        ...                   num_heads=2, num_frames=4),
        ...     num_prompts=10))
        >>> model.state_dict()['prompt_embeddings'].shape
        torch.Size([2, 10, 64])
    """

    # The base's checkpoint messages speak of prompts, not adapters.
    trained_part = 'prompt'

    def __init__(self,
                 backbone: dict,
                 num_prompts: int = 50,
                 deep: bool = True,
                 prompt_dropout: float = 0.,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(num_prompts, bool) or \
                not isinstance(num_prompts, int) or num_prompts < 1:
            raise ValueError(
                'VPT num_prompts must be a positive int (the number of '
                f'prompt tokens per block), but got {num_prompts!r}.')
        if not isinstance(deep, bool):
            raise TypeError(
                'VPT deep must be True (VPT-deep) or False (VPT-shallow), '
                f'but got {deep!r}.')
        if isinstance(prompt_dropout, bool) or \
                not isinstance(prompt_dropout, (int, float)) or \
                not 0 <= prompt_dropout < 1:
            raise ValueError(
                'VPT prompt_dropout must be a probability in [0, 1), but '
                f'got {prompt_dropout!r}.')

        super().__init__(backbone=backbone, init_cfg=init_cfg)
        module = self.backbone
        check_promptable_host(module)
        blocks = find_promptable_blocks(module)
        self.embed_dims = token_width(module)
        fan_in = prompt_fan_in(module)

        self.num_prompts = num_prompts
        self.deep = deep
        # Extra tokens stay in front; VideoMAE has none.
        self.prompt_position = int(getattr(module, 'num_extra_tokens', 0))
        self.prompted_blocks: List[str] = [name for name, _ in blocks]
        bound = math.sqrt(6. / (fan_in + self.embed_dims))
        prompts = torch.empty(
            len(blocks) if deep else 1, num_prompts, self.embed_dims)
        nn.init.uniform_(prompts, -bound, bound)
        device, dtype = self.host_device_dtype()
        prompts = prompts.to(device=device, dtype=dtype)
        self.prompt_embeddings = nn.Parameter(prompts)
        self.prompt_dropout = nn.Dropout(prompt_dropout)
        # VPT-shallow: the previous block's prompt outputs, within a forward
        # of this thread.
        self._carried = _CarriedPrompts()
        # The VPT (this one or a DataParallel replica) each thread runs.
        self._running = _RunningVPT()
        for index, (name, block) in enumerate(blocks):
            block._vpt_router = _PromptRouter(self, block, index, name)

        print_log(
            f'VPT-{"deep" if deep else "shallow"}: {num_prompts} prompts '
            f'of width {self.embed_dims} '
            f'{"per block on" if deep else "before the first of"} '
            f'{len(blocks)} blocks of {type(module).__name__} '
            f'({type(blocks[0][1]).__name__}), inserted after '
            f'{self.prompt_position} extra tokens; uniform init bound '
            f'{bound:.4g} (fan_in {fan_in}).',
            logger='current')

    def trained_settings(self) -> Dict[str, Tuple[str, Any]]:
        """VPT-deep or VPT-shallow (``deep``): on a host with one block
        their prompts have the same shape. ``num_prompts`` changes the
        shape, which is checked; ``prompt_dropout`` is off at evaluation.

        Returns:
            dict[str, tuple[str, Any]]: Name -> (config key, value).
        """
        return dict(deep=(f'{CONFIG_KEY}.deep', self.deep))

    def _prompts_for(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """The ``(B, num_prompts, C)`` prompts that block ``index`` sees."""
        if self.deep or index == 0:
            self._carried.put(None)
            prompts = self.prompt_embeddings[index if self.deep else 0]
            prompts = prompts.to(x.dtype).expand(x.size(0), -1, -1)
            return self.prompt_dropout(prompts)
        carried = self._carried.take()
        if carried is None:
            raise RuntimeError(
                f'VPT-shallow: {self.prompted_blocks[index]} ran without '
                f'{self.prompted_blocks[index - 1]} right before it, so '
                'there are no prompt outputs to carry. The blocks must run '
                'once each, in module order.')
        return carried

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        # A model pickled (``torch.save(model)``) before replicas had one.
        if '_running' not in self.__dict__:
            self._running = _RunningVPT()

    def forward(self, *args, **kwargs) -> Any:
        """Run the prompted stock backbone."""
        previous = self._running.enter(self)
        try:
            return super().forward(*args, **kwargs)
        finally:
            self._running.leave(previous)
            # Keep no graph alive after an interrupted VPT-shallow forward.
            self._carried.put(None)
