# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The forward hooks that add a block's AdaptMLP to its feed-forward branch
(see :mod:`mmadaptformer.models.adapters.injection` for the wiring, and
:mod:`mmadaptformer.models.adapters.block_wiring` for the modules of each
block type)."""
import threading
from typing import Optional

import torch
from torch import nn

#: The attribute each adapted block gets; it matches the official code.
ADAPTER_ATTR = 'adaptmlp'

#: Where a ``DataParallel`` replica of a block leaves its own adapter for
#: the hook of its feed-forward branch (a replica's modules only).
_REPLICA_ADAPTER_ATTR = '_replica_adaptmlp'


class _ForwardState(threading.local):
    """What one thread's forward of one block has seen so far.

    Each thread that runs the block sees its own attributes, starting from
    these class-level defaults, so two threads in a forward of one model
    (a thread pool calling ``inference_recognizer``, say) do not take each
    other's norm input.
    """
    armed = False
    x: Optional[torch.Tensor] = None
    norm_called = False
    applied = False


def _with_cp(block: nn.Module) -> bool:
    """``getattr(block, 'with_cp', False)``, without its cost where the
    block has none: a module attribute that is missing costs a raised
    AttributeError (an error message built) on every block call. Hosts set
    ``with_cp`` in ``__init__``; one defined on the class (a value or a
    property) is looked up as usual."""
    attrs = block.__dict__
    if 'with_cp' in attrs:
        return attrs['with_cp']
    if hasattr(type(block), 'with_cp'):
        return getattr(block, 'with_cp')
    return False


class AdapterRouter:
    """Forward hooks that route one block's FFN branch through its adapter.

    It is a plain object with bound-method hooks rather than closures, so
    ``copy.deepcopy`` of the model (e.g. for EMA) rewires the copy's hooks to
    the copy's adapter. The state of the forward in progress (the norm input
    held until the feed-forward branch runs) is kept per thread, and is
    neither copied nor pickled: a copy starts with none.

    The hooks act on the block they are called for. Multi-GPU
    ``DataParallel`` runs shallow copies of the modules (replicas, each with
    its own copies of the tensors, in its own thread) that share these
    hooks: a replica's block hands its own adapter to its own branch, on
    which the branch hook finds it, also when a checkpointed block runs
    its forward again in the backward pass (in another thread, without the
    block's hooks). The model's own modules take no such detour.
    """

    def __init__(self, block: nn.Module, norm: nn.Module, branch: nn.Module,
                 placement: str, norm_path: str, branch_path: str) -> None:
        self.block = block
        self.placement = placement
        self.norm_path = norm_path
        self.branch_path = branch_path
        self.state = _ForwardState()
        self.handles = [
            block.register_forward_pre_hook(self.block_pre_hook),
            norm.register_forward_pre_hook(self.norm_pre_hook),
            branch.register_forward_hook(self.branch_hook),
            block.register_forward_hook(self.block_hook),
        ]

    def __getstate__(self) -> dict:
        # A thread-local object can be neither copied nor pickled, and a
        # forward in progress is no part of the model.
        state = self.__dict__.copy()
        del state['state']
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.state = _ForwardState()

    def _reset(self) -> None:
        self.state.__dict__.clear()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self._reset()

    def block_pre_hook(self, block: nn.Module, args: tuple):
        # Drop state left by an interrupted forward or by a checkpoint
        # recomputation that stopped early.
        self.state.__dict__.clear()
        # Looked up in __dict__: a missing attribute of a module costs a
        # raised AttributeError (an error message built) on every call.
        if block.__dict__.get('_is_replica', False):
            # The replica's branch, or a module that took its place and
            # its hooks (a multi-task TaskRoutedModule).
            branch = block.get_submodule(self.branch_path)
            branch.__dict__[_REPLICA_ADAPTER_ATTR] = getattr(
                block, ADAPTER_ATTR)
        # Reentrant checkpointing yields no gradient when no input requires
        # one, as with a frozen stem; make the input require it.
        if torch.is_grad_enabled() and _with_cp(block) \
                and args and isinstance(args[0], torch.Tensor) \
                and args[0].is_floating_point() \
                and not args[0].requires_grad:
            return (args[0].detach().requires_grad_(), ) + tuple(args[1:])
        return None

    def norm_pre_hook(self, norm: nn.Module, args: tuple) -> None:
        state = self.state
        state.armed = True
        state.norm_called = True
        state.x = args[0]

    def branch_hook(self, module: nn.Module, args: tuple,
                    output: torch.Tensor) -> Optional[torch.Tensor]:
        state = self.state
        if not state.armed:
            return None  # e.g. the attention call of a shared drop_path
        # Clear before computing, so nothing is kept if a checkpoint
        # recomputation stops inside the adapter.
        x, state.armed, state.x = state.x, False, None
        state.applied = True
        # Not taken in block_pre_hook: a reentrant checkpoint inside the
        # block (mmpretrain's with_cp) recomputes its inner function, which
        # calls the norm and the branch again, but not the block's hooks.
        # A replica's adapter, put on its branch there, stays for that.
        adapter = module.__dict__.get(_REPLICA_ADAPTER_ATTR)
        if adapter is None:
            adapter = getattr(self.block, ADAPTER_ATTR)
        inp = x if self.placement == 'parallel' else output
        try:
            return output + adapter(inp)
        except RuntimeError as e:
            # Told only on failure: nothing is added to every forward.
            self._refuse_layout(adapter, inp, e)
            raise

    def _refuse_layout(self, adapter: nn.Module, inp: torch.Tensor,
                       error: RuntimeError) -> None:
        """Raise what a Linear over the wrong dim failed with as a bare
        matmul shape error: an input whose last dim is not the adapter's
        width. A multi-task stand-in has no width of its own (its task
        adapters are AdaptMLPs all the same) and is left to its error.

        A declared block whose ``norm`` is a channels-first norm (GroupNorm,
        BatchNorm2d, LayerNorm2d, ...) never gets here: it is refused at
        injection (:mod:`.block_refusals`), also where its maps are as wide
        as they have channels, which no shape tells from channels last.
        This is for the channels-first blocks whose norm does not say so.
        """
        width = getattr(adapter, 'embed_dims', None)
        if not (isinstance(width, int) and isinstance(inp, torch.Tensor)
                and inp.dim() and inp.shape[-1] != width):
            return
        cls = type(self.block).__name__
        where = (f'{cls}.{self.norm_path} input' if self.placement
                 == 'parallel' else f'{cls}.{self.branch_path} output')
        raise RuntimeError(
            f'The AdaptMLP of {cls} ({width} channels) got the {where} of '
            f'shape {tuple(inp.shape)}, whose last dim is not its '
            f'{width} channels. An AdaptMLP adds Linear layers over the '
            'last dim: it needs tokens with their channels last (B, N, C), '
            'and a block whose feed-forward network runs on channels-first '
            'maps (B, C, H, W), such as a convolutional one, cannot take '
            'it through block_types. The README\'s "Writing your own '
            'config" lists the backbones supported as they are.') from error

    def block_hook(self, block: nn.Module, args: tuple, output) -> None:
        state = self.state
        norm_called, applied = state.norm_called, state.applied
        state.__dict__.clear()
        if applied:
            return
        cls = type(block).__name__
        if not norm_called:
            raise RuntimeError(
                f'{cls}.{self.norm_path} was not called during '
                f'{cls}.forward, so the AdaptMLP input could not be '
                'captured. Declare the norm that precedes the feed-forward '
                f"network, e.g. block_types=[dict(type='{cls}', "
                "norm='norm2', ffn='mlp')].")
        raise RuntimeError(
            f'{cls}.{self.branch_path} was not called after '
            f'{cls}.{self.norm_path} during {cls}.forward, so the AdaptMLP '
            "output could not be added. Declare the block's feed-forward "
            f"network, e.g. block_types=[dict(type='{cls}', norm='norm2', "
            "ffn='mlp')].")
