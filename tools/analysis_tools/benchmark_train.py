# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Training speed and memory of AdaptFormer, linear probing and full
fine-tuning of a config's model, on synthetic inputs.

Each mode runs in a fresh process (``mmadaptformer.benchmark.worker`` with
the same arguments, importing the same package as this script whatever the
working directory holds), so peak memory and allocator state do not leak
from one mode into the next:

* ``adaptformer``: the config's AdaptFormer model; the adapters, the head
  and the AdapterHook's ``extra_trainable`` train;
* ``linear_probe``: the stock model (adapters removed); the head and the
  extras train;
* ``full_ft``: the stock model; every parameter trains;
* ``adaptformer_plain`` (opt-in): AdaptFormer without the fast path, i.e.
  the stock backbone with adapters added;
* ``full_ft_fast`` (opt-in): ``full_ft`` with the exact parts of the fast
  path (fused attention, contiguous tokens), a like-for-like baseline for
  ``adaptformer``.

What trains is decided by ``plan_trainable``/``apply_trainable``, and the
optimizer holds only those parameters, as with the AdapterHook. A config
without adapters gets AdaptFormer's defaults (AdaptMLP with bottleneck 64 and
scale 0.1 in every block) for the AdaptFormer modes. Pretrained checkpoints
in the config are not loaded: speed and memory do not depend on the values.
The optimizer is the config's; ``--amp`` replaces its wrapper (none:
``OptimWrapper``; bf16/fp16: the recipes' ``AdaptAmpOptimWrapper``, told to
autocast on the CPU too). ``--no-fused-attn``,
``--no-contiguous-tokens``, ``--with-cp``, ``--no-frozen-prefix`` and
``--naive-freeze`` switch parts of the fast path of the ``adaptformer`` mode
off (or on) for ablations.

Measured per mode: the median training step (``model.train_step``: data
preprocessing, forward, backward, optimizer step) after the warm-up steps,
in wall-clock and process CPU time, and its throughput; memory, split up
(parameters and buffers; optimizer state and gradients kept between steps;
the peak above the baseline taken once the model, optimizer and batch
exist, and that peak less what a step keeps, i.e. activations and
workspace; and the absolute peak: GPU ``max_memory_allocated``, CPU peak
RSS of the process, ``VmHWM`` after resetting it through
``/proc/self/clear_refs``); the trainable parameters; the median inference
step (``model.test_step`` under ``no_grad``) and its throughput; and the
FLOPs of a training step as ``torch.utils.flop_counter`` counts them, both
as executed (hardware FLOPs: the ``q k^T`` a fused attention backward
recomputes and the forward that ``--with-cp`` re-runs included) and as the
model needs them (model FLOPs: without that recomputation). The runner
measures one reference matmul per round and compute dtype (a large square
product in bfloat16/float16 under ``--amp``, float32 otherwise) and every
row of the round is divided by that one rate (``% of matmul``; on the CPU
also in process CPU time, which a busy neighbour does not distort with
``--threads 1``); with ``--peak-tflops`` (e.g. ``bf16=989``, a datasheet
peak) it also gives HFU (hardware FLOPs) and MFU (model FLOPs) against that
peak. The order of the modes rotates from round to round; ratios to full
fine-tuning are taken within each round.

The measuring lives in :mod:`mmadaptformer.benchmark`; this script is its
command line.

Example::

    python tools/analysis_tools/benchmark_train.py \\
        configs/benchmark/adaptformer_vits_8x112.py --amp none bf16 \\
        --repeat 3 --out work_dirs/benchmark.json --plot work_dirs/bench.png
"""
import sys

from mmadaptformer.benchmark import (WorkerError, format_summary, load_config,
                                     parse_args, run_benchmark)
from mmadaptformer.engine import refusals_exit
from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils.closed_pipe import exit_quietly_on_closed_pipe
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.log_streams import results_only_stdout
from mmadaptformer.utils.stop_signals import exit_on_stop


def main(argv=None):
    return exit_quietly_on_closed_pipe(lambda: _main(argv))


def check_config(argv) -> None:
    """The checks of the model part of the config that tools/train.py and
    tools/test.py make (:func:`check_model_config`): an argument
    mmaction2's ViT would drop, the wrapper's own refusals, a head width
    the backbone does not give. No pretrained file is needed: the
    benchmark loads none.

    Args:
        argv (list[str]): The command line, without the program name.

    Raises:
        ConfigError: For the first mistake found.
    """
    args = parse_args(argv)
    cfg = load_config(args)
    with naming_config_mistakes(cfg, args.config, args.cfg_options):
        check_model_config(
            cfg, args.config, args.cfg_options, pretrained=False)


#: What a stopped run leaves.
STOPPED = ('the mode being measured was stopped with its worker process; no '
           'table was printed and no --out or --plot written (they come '
           'when every round has run)')


def _measure(argv) -> dict:
    """Check the config and run the benchmark; a failed worker ends the
    tool with its output and one line (:class:`WorkerError`)."""
    try:
        with results_only_stdout(), refusals_exit():
            check_config(argv)
            return run_benchmark(argv)
    except WorkerError as exc:
        # The worker's own output (its traceback) first, then one line.
        print(exc.output.rstrip('\n'), file=sys.stderr)
        raise SystemExit(f'benchmark_train.py: {exc}') from None


def _main(argv):
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    # The progress lines are logs: stdout holds the tables alone. A config
    # mistake ends the tool with one line naming the file or the option
    # and the key, exit status 1, as train.py and test.py end: found here,
    # or by the worker that builds a mode's model and optimizer, which
    # hands its ConfigError back (see mmadaptformer.benchmark.worker).
    # Stopped (Ctrl-C, SIGTERM, SIGHUP), the run stops the mode's worker
    # process and ends with one line (mmadaptformer.utils.stop_signals).
    result = exit_on_stop('benchmark_train.py', lambda: _measure(argv),
                          STOPPED)
    print()
    print(format_summary(result))
    for kind in ('out', 'plot'):
        if result['settings'][kind]:
            print(f'{kind} written to {result["settings"][kind]}')
    return result


if __name__ == '__main__':
    main()
