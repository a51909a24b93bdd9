# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Training speed and memory of AdaptFormer, linear probing and full
fine-tuning of a config's model, on synthetic inputs.

Each mode runs in a fresh process (this script, re-invoked), so peak
memory and allocator state do not leak from one mode into the next:

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
``OptimWrapper``; bf16/fp16: ``CPUAmpOptimWrapper``, which is MMEngine's
``AmpOptimWrapper`` on a GPU). ``--no-fused-attn``,
``--no-contiguous-tokens``, ``--with-cp``, ``--no-frozen-prefix`` and
``--naive-freeze`` switch parts of the fast path of the ``adaptformer`` mode
off (or on) for ablations.

Measured per mode: the median training step (``model.train_step``: data
preprocessing, forward, backward, optimizer step) after the warm-up steps,
in wall-clock and process CPU time, and its throughput; the peak memory of
training above the baseline taken once the model, optimizer and batch exist
(GPU: max allocated; CPU: peak RSS, i.e. ``VmHWM`` after resetting it through
``/proc/self/clear_refs``); the trainable parameters; the optimizer state;
the median inference step (``model.test_step`` under ``no_grad``) and its
throughput; and the FLOPs of one training step as
``torch.utils.flop_counter`` counts them (matmuls, convolutions and
attention, forward and backward), and the model FLOP utilisation (MFU): those
FLOPs per median step time over the best measured rate of a large square
matmul in the step's compute dtype (bfloat16/float16 under ``--amp``, float32
otherwise); on the CPU also in process CPU time (``MFU cpu``), which a busy
neighbour does not distort when the benchmark runs with ``--threads 1``.
Ratios to full fine-tuning are taken within each round.

The measuring lives in :mod:`mmadaptformer.benchmark`; this script is its
command line.

Example::

    python tools/analysis_tools/benchmark_train.py \\
        configs/benchmark/adaptformer_vits_8x112.py --amp none bf16 \\
        --repeat 3 --out work_dirs/benchmark.json --plot work_dirs/bench.png
"""
from mmadaptformer.benchmark import format_summary, run_benchmark


def main(argv=None):
    result = run_benchmark(argv)
    print()
    print(format_summary(result))
    for kind in ('out', 'plot'):
        if result['settings'][kind]:
            print(f'{kind} written to {result["settings"][kind]}')


if __name__ == '__main__':
    main()
