# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One mode of the training benchmark in this process, run by
:func:`~mmadaptformer.benchmark.run_worker` as this module with the
arguments ``ARGV --worker MODE --worker-amp AMP --worker-out FILE``
(:func:`~mmadaptformer.benchmark.worker_process.worker_command`).

A config mistake met while the mode's model and optimizer are built (a
:class:`~mmadaptformer.utils.ConfigError` naming the file or option and
the key) is written to ``FILE`` under
:data:`~mmadaptformer.benchmark.worker_process.REFUSAL_KEY`, and the
process ends with status 1 without printing it (its stderr is shown as it
comes): the tool ends with that one line, as
``tools/train.py`` does, without building the models in its own process
first.
"""
import json
import sys

from mmadaptformer.benchmark import measure_mode, parse_args
from mmadaptformer.benchmark.worker_process import REFUSAL_KEY
from mmadaptformer.utils import ConfigError


def main() -> None:
    """Measure ``--worker`` under ``--worker-amp`` into ``--worker-out``."""
    args = parse_args(sys.argv[1:])
    if not (args.worker and args.worker_amp and args.worker_out):
        raise SystemExit('worker.py needs --worker, --worker-amp and '
                         '--worker-out; run tools/analysis_tools/'
                         'benchmark_train.py instead')
    try:
        result = measure_mode(args, args.worker, args.worker_amp)
    except ConfigError as exc:
        with open(args.worker_out, 'w') as f:
            json.dump({REFUSAL_KEY: str(exc)}, f)
        raise SystemExit(1) from None
    with open(args.worker_out, 'w') as f:
        json.dump(result, f)


if __name__ == '__main__':
    main()
