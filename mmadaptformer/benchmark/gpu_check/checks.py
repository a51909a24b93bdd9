# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check's checks by name, in the order they run."""
from collections import OrderedDict
from functools import partial

from .inference_threads import check_array_thread_inference
from .numerics import check_amp_step, check_fused_attention
from .speed import check_benchmark, check_official_baseline, check_profile
from .tool_runs import (check_dist_train, check_multitask_inference,
                        check_train_amp)

# name: (phase, function, timeout in seconds). Checks of phase 1 may run
# in parallel; phase 2 needs phase 1's checkpoints; phase 3 measures speed
# and runs alone, one check at a time.
CHECKS = OrderedDict(
    amp_step_video=(1, partial(check_amp_step, task='video'), 150),
    amp_step_image=(1, partial(check_amp_step, task='image'), 150),
    train_video=(1, partial(check_train_amp, task='video'), 300),
    train_image=(1, partial(check_train_amp, task='image'), 200),
    dist_train=(1, check_dist_train, 180),
    fused_attention=(1, check_fused_attention, 150),
    multitask_inference=(2, check_multitask_inference, 120),
    array_thread_inference=(2, check_array_thread_inference, 120),
    benchmark=(3, check_benchmark, 330),
    official_baseline=(3, check_official_baseline, 120),
    profile=(3, check_profile, 120),
)
