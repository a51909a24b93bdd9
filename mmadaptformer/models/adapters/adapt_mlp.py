# Copyright (c) mmadaptformer contributors. All rights reserved.
import math
import numbers
from typing import Any, Dict, List, Mapping, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from ...utils.config_error import ConfigError
from ...utils.dry_run import in_dry_run

#: Accepted values of ``AdaptMLP(norm=...)``.
ADAPTER_NORMS = (None, 'in', 'out')
#: Accepted values of ``AdaptMLP(init=...)``.
ADAPTER_INITS = ('lora', 'trunc_normal')


def _is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) \
        and value > 0


def check_adapter_args(bottleneck: int = 64,
                       scale: Union[float, str] = 0.1,
                       dropout: float = 0.,
                       norm: Optional[str] = None,
                       init: str = 'lora',
                       prefix: str = 'AdaptMLP ') -> None:
    """Check the arguments of :class:`AdaptMLP` other than ``embed_dims``.

    Args:
        bottleneck (int): As in :class:`AdaptMLP`. Defaults to 64.
        scale (float | str): As in :class:`AdaptMLP`. Defaults to 0.1.
        dropout (float): As in :class:`AdaptMLP`. Defaults to 0.
        norm (str, optional): As in :class:`AdaptMLP`. Defaults to None.
        init (str): As in :class:`AdaptMLP`. Defaults to ``'lora'``.
        prefix (str): What the messages put before an argument's name:
            the class (``'AdaptMLP '``) or where the arguments sit in a
            config (``'model.backbone.adapter.'``). Defaults to
            ``'AdaptMLP '``.

    Raises:
        ConfigError: Naming the argument, its value and what is accepted.
    """
    if not _is_positive_int(bottleneck):
        raise ConfigError(f'{prefix}bottleneck must be a positive int, but '
                          f'got {bottleneck!r}.')
    if not (scale == 'learnable' or
            (isinstance(scale, numbers.Real) and not isinstance(scale, bool))):
        raise ConfigError(f"{prefix}scale must be a number or 'learnable', "
                          f'but got {scale!r}.')
    if scale != 'learnable' and not (math.isfinite(scale) and scale != 0):
        # The branch is multiplied by it: 0 gives the adapters no output
        # and no gradient (they would train nothing, without a word), and
        # inf or nan makes every output inf or nan.
        effect = 'add nothing and never train' if scale == 0 else \
            'turn every output into inf or nan'
        raise ConfigError(
            f'{prefix}scale must be a finite number other than 0 (the '
            "paper uses 0.1), or 'learnable', but got "
            f'{scale!r}: the adapter branch is multiplied by it, so the '
            f'adapters would {effect}.')
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
            or not 0 <= dropout < 1:
        raise ConfigError(f'{prefix}dropout must be a float in [0, 1), but '
                          f'got {dropout!r}.')
    if norm not in ADAPTER_NORMS:
        raise ConfigError(f'{prefix}norm must be one of {ADAPTER_NORMS}, but '
                          f'got {norm!r}.')
    if init not in ADAPTER_INITS:
        raise ConfigError(f'{prefix}init must be one of {ADAPTER_INITS}, but '
                          f'got {init!r}.')


class AdaptMLP(nn.Module):
    """The bottleneck module of AdaptFormer.

    A PyTorch implementation of the AdaptMLP in `AdaptFormer: Adapting Vision
    Transformers for Scalable Visual Recognition
    <https://arxiv.org/abs/2205.13535>`_ (NeurIPS 2022). It computes only the
    scaled adapter branch; the caller adds it to the residual stream:

    .. code:: text

        x -> [LayerNorm if norm='in'] -> down_proj -> ReLU -> dropout
          -> up_proj -> * scale -> [LayerNorm if norm='out']

    Two initialisations, both of the official code:

    * ``'lora'`` (the default; the official ``Adapter`` and image models):
      ``down_proj.weight`` is Kaiming-uniform with ``a=sqrt(5)`` and
      ``up_proj.weight`` and both biases are zero, so a fresh adapter
      outputs exactly zero and the adapted network starts as the
      pre-trained one.
    * ``'trunc_normal'`` (what the official *video* model trains with): its
      ``VisionTransformer.__init__`` applies ``_init_weights`` to every
      ``Linear`` after building the blocks, adapters included, so both
      weights are truncated-normal with std 0.02 and both biases zero; the
      ``'lora'`` values it asked for are overwritten.

    A frozen-host wrapper gives the adapter its initial values back in its
    ``init_weights()`` (:meth:`restore_init`), so an ``init_cfg`` of an
    enclosing model (e.g. an mmpretrain classifier's ``TruncNormal`` over
    every ``Linear``) does not change them; the copy of those values is let
    go then, or when a state dict gives the adapter its values (a model
    loaded to serve), so that it holds nothing but its parameters.

    Args:
        embed_dims (int): The feature dimension d of the host block.
        bottleneck (int): The hidden dimension of the bottleneck (d-hat in
            the paper). Defaults to 64.
        scale (float | str): The scaling factor s of the adapter branch. A
            number is kept fixed; ``'learnable'`` makes it one trainable
            scalar initialised to 1. Defaults to 0.1.
        dropout (float): The dropout probability applied to the activated
            down-projection. Defaults to 0.
        norm (str, optional): Where to put a LayerNorm: ``'in'`` normalises
            the adapter input, ``'out'`` normalises the scaled output (as the
            official code does), ``None`` uses none. Defaults to None.
        init (str): ``'lora'`` or ``'trunc_normal'``, see above. Defaults to
            ``'lora'``.
    """

    def __init__(self,
                 embed_dims: int,
                 bottleneck: int = 64,
                 scale: Union[float, str] = 0.1,
                 dropout: float = 0.,
                 norm: Optional[str] = None,
                 init: str = 'lora') -> None:
        super().__init__()
        if not _is_positive_int(embed_dims):
            raise ValueError(
                f'AdaptMLP embed_dims must be a positive int, but got '
                f'{embed_dims!r}.')
        check_adapter_args(bottleneck, scale, dropout, norm, init)

        self.embed_dims = embed_dims
        self.bottleneck = bottleneck
        self.dropout = float(dropout)
        self.norm_position = norm
        self.init = init

        if norm is not None:
            self.norm = nn.LayerNorm(embed_dims)
        self.down_proj = nn.Linear(embed_dims, bottleneck)
        self.up_proj = nn.Linear(bottleneck, embed_dims)
        if scale == 'learnable':
            self.scale = nn.Parameter(torch.ones(1))
        else:
            self.scale = float(scale)
        self.reset_parameters()
        self.register_load_state_dict_pre_hook(self._release_on_load)

    def reset_parameters(self) -> None:
        """Apply the adapter's initialisation (``init``)."""
        if self.init == 'lora':
            nn.init.kaiming_uniform_(self.down_proj.weight, a=math.sqrt(5))
            nn.init.zeros_(self.up_proj.weight)
        else:
            nn.init.trunc_normal_(self.down_proj.weight, std=0.02)
            nn.init.trunc_normal_(self.up_proj.weight, std=0.02)
        nn.init.zeros_(self.down_proj.bias)
        nn.init.zeros_(self.up_proj.bias)
        if isinstance(self.scale, nn.Parameter):
            nn.init.ones_(self.scale)
        if self.norm_position is not None:
            self.norm.reset_parameters()
        # What restore_init() gives back (a plain attribute: not in the
        # state dict); meta parameters have no values to keep.
        self._init_values: Optional[Dict[str, torch.Tensor]] = None
        if not any(p.is_meta for p in self.parameters()):
            self._init_values = {
                name: param.detach().clone()
                for name, param in self.named_parameters()
            }

    def restore_init(self) -> None:
        """Give the parameters back the values of the last
        :meth:`reset_parameters` (the adapter's initialisation), without
        drawing random numbers again, so that undoing an enclosing model's
        ``init_cfg`` changes nothing else a seed decides.

        Raises:
            RuntimeError: If those values are no longer kept
                (:meth:`release_init`).
        """
        if self._init_values is None:
            raise RuntimeError(
                f'{type(self).__name__}({self.extra_repr()}).restore_init(): '
                'its initial values are no longer kept: they are let go '
                "once the frozen-host wrapper's init_weights() has used "
                'them, once a state dict gives the adapter its values, and '
                'never kept for parameters built on the meta device. Call '
                'reset_parameters() to initialise it anew.')
        with torch.no_grad():
            for name, param in self.named_parameters():
                param.copy_(self._init_values[name])

    def release_init(self) -> None:
        """Let go of the copy of the initial values :meth:`restore_init`
        gives back (as much memory as the parameters), e.g. once it has
        been used or the adapter got trained values."""
        self._init_values = None

    @staticmethod
    def _release_on_load(module: 'AdaptMLP', state_dict: Mapping[str, Any],
                         prefix: str, *args) -> None:
        """Load pre-hook: a state dict holding every parameter of the
        adapter gives it its values, so that its initial ones are no
        longer needed (a model loaded to serve keeps no copy of them). A
        dry run (a check before a load, :func:`~mmadaptformer.utils.
        dry_run.in_dry_run`) gives none."""
        if in_dry_run():
            return
        values = [
            state_dict.get(prefix + name)
            for name, _ in module.named_parameters()
        ]
        if all(torch.is_tensor(v) and not v.is_meta for v in values):
            module.release_init()

    def fresh_tensors(self) -> List[torch.Tensor]:
        """Every tensor of the adapter: a fresh start initialises them and
        a pretrained backbone checkpoint lacks them. Read by
        :func:`mmadaptformer.utils.state_dict_check.fresh_keys`.

        Returns:
            list[torch.Tensor]: The parameters and buffers.
        """
        return list(self.parameters()) + list(self.buffers())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the scaled adapter branch.

        Args:
            x (torch.Tensor): Features with ``embed_dims`` channels last.

        Returns:
            torch.Tensor: The branch ``s * AdaptMLP(x)``, same shape as ``x``.
            The residual is not added.
        """
        if self.norm_position == 'in':
            x = self.norm(x)
        down = F.relu(self.down_proj(x))
        down = F.dropout(down, p=self.dropout, training=self.training)
        out = self.up_proj(down) * self.scale
        if self.norm_position == 'out':
            out = self.norm(out)
        return out

    def extra_repr(self) -> str:
        scale = 'learnable' if isinstance(self.scale, nn.Parameter) \
            else self.scale
        return (f'scale={scale}, dropout={self.dropout}, '
                f'norm={self.norm_position!r}, init={self.init!r}')
