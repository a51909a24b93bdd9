# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One mode of the training benchmark in this process, run by
:func:`~mmadaptformer.benchmark.run_worker` as this module with the
arguments ``ARGV --worker MODE --worker-amp AMP --worker-out FILE``
(:func:`~mmadaptformer.benchmark.worker_process.worker_command`)."""
import json
import sys

from mmadaptformer.benchmark import measure_mode, parse_args


def main() -> None:
    """Measure ``--worker`` under ``--worker-amp`` into ``--worker-out``."""
    args = parse_args(sys.argv[1:])
    if not (args.worker and args.worker_amp and args.worker_out):
        raise SystemExit('worker.py needs --worker, --worker-amp and '
                         '--worker-out; run tools/analysis_tools/'
                         'benchmark_train.py instead')
    result = measure_mode(args, args.worker, args.worker_amp)
    with open(args.worker_out, 'w') as f:
        json.dump(result, f)


if __name__ == '__main__':
    main()
