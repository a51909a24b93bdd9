#!/usr/bin/env bash
# Usage: [PYTHON=python3] tools/gpu_check.sh [--out-dir DIR] [--device auto|cuda|cpu] ...
# Runs every GPU path of mmadaptformer once (about 8 minutes on one
# H100/H200) and writes DIR/gpu_check.json and DIR/summary.txt (default
# DIR: work_dirs/gpu_check). Without a GPU it says so and exits 0.
# `tools/gpu_check.sh --help` lists the options. PYTHON picks the
# interpreter (default: python3, as the Makefile and tools/dist_*.sh).

PYTHON=${PYTHON:-python3}
# exec: a SIGTERM sent to this script (kill, timeout, a scheduler) reaches
# the check runner, which stops its checks; a shell in between would die
# alone and leave them running.
# The checkout as an absolute path (the checks run in folders of their
# own), and no empty entry: Python reads one as the working directory, whose
# packages would then shadow the installed ones.
ROOT=$(CDPATH= cd -- "$(dirname "$0")/.." && pwd)
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" "$(dirname "$0")"/analysis_tools/gpu_check.py "$@"
