# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The test helpers under their old names, re-exported from the modules
that now hold them; new code imports from those modules.

Every public name that ``tests/helpers.py`` defined before the split and a
test still uses can be imported from here (173 test files do):

- :mod:`repo_paths`: the repository's paths and tiny configs;
- :mod:`config_writers`: child configs a test writes;
- :mod:`stripes_task`: the tiny stripes image task as AdaptFormer;
- :mod:`checkpoint_makers`: checkpoints a test saves;
- :mod:`recipe_probes`: what the recipes do to real data;
- :mod:`tool_modules`: tools imported as modules, in-process refusals;
- :mod:`tool_runners`: tools run in subprocesses, as a user runs them
  (through :mod:`tool_server_client`, the server they fork from).
"""
from checkpoint_makers import (FailsToPickle, assert_host_loads_pretrained,
                               save_as_built_checkpoint,
                               save_stock_video_checkpoint)
from config_writers import (TRAIN_ONLY_CFG, config_runner, image_data_cfg,
                            pretrained_cfg, video_data_cfg, write_config,
                            write_config_chain)
from recipe_probes import (RED_NORMALISED, recipe_channel_means,
                           recipe_run_dataset_meta)
from repo_paths import (CONFIGS, REPO_ROOT, TINY_ADAPTFORMER_RAWFRAMES_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                        TINY_VIDEO_CONFIG, TOOLS, VIDEO_HOST)
from stripes_task import stripes_config, stripes_images
from tool_modules import assert_config_paths_refused, load_tool, tool_refusal
from tool_runners import (run_fresh_python, run_python_command, run_ranks,
                          run_tool, start_ranks, start_tool,
                          torchrun_worker_env)

__all__ = [
    'CONFIGS', 'REPO_ROOT', 'TINY_ADAPTFORMER_RAWFRAMES_CONFIG',
    'TINY_ADAPTFORMER_VIDEO_CONFIG', 'TINY_IMAGE_CONFIG', 'TINY_VIDEO_CONFIG',
    'TOOLS', 'VIDEO_HOST', 'TRAIN_ONLY_CFG', 'config_runner', 'image_data_cfg',
    'pretrained_cfg', 'video_data_cfg', 'write_config', 'write_config_chain',
    'stripes_config', 'stripes_images', 'FailsToPickle',
    'assert_host_loads_pretrained', 'save_as_built_checkpoint',
    'save_stock_video_checkpoint', 'RED_NORMALISED', 'recipe_channel_means',
    'recipe_run_dataset_meta', 'assert_config_paths_refused', 'load_tool',
    'tool_refusal', 'run_fresh_python', 'run_python_command', 'run_ranks',
    'run_tool', 'start_ranks', 'start_tool', 'torchrun_worker_env'
]
