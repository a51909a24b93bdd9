#!/usr/bin/env bash
# Usage: [GPUS=8] [GPUS_PER_NODE=8] tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py arguments...]
# PYTHON picks the interpreter (default: python3, as the Makefile).

if [ $# -lt 3 ]; then
    echo "Usage: [GPUS=8] [GPUS_PER_NODE=8] [PYTHON=python3] $(basename "$0") PARTITION JOB_NAME CONFIG [train.py arguments...]" >&2
    exit 2
fi

export MASTER_PORT=${PORT:-$((12000 + $RANDOM % 20000))}
# A refusal (a bad config or argument) is printed by the first rank of each
# node; the others print one line and wait this many seconds for it to end
# the job (srun's --kill-on-bad-exit), then print their own: see
# mmadaptformer/utils/slurm_refusals.py.
export MMADAPTFORMER_FIRST_RANK_PRINTS=${MMADAPTFORMER_FIRST_RANK_PRINTS:-30}

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python3}
# Quoted wherever used: a checkout path, config or argument may hold spaces.
TOOLS_DIR=$(dirname "$0")
# The checkout as an absolute path, and no empty PYTHONPATH entry: Python
# reads one as the working directory, whose packages would then shadow the
# installed ones.
ROOT=$(CDPATH= cd -- "$TOOLS_DIR/.." && pwd)

set -x
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    $PYTHON -u "$TOOLS_DIR/train.py" "$CONFIG" --launcher="slurm" "${@:4}"
