#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py arguments...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Without a GPU, GPUS is the number of CPU processes (gloo DDP).
# PYTHON picks the interpreter (default: python3, as the Makefile).

usage() {
    cat >&2 <<USAGE
Usage: $(basename "$0") CONFIG GPUS [train.py arguments...]
  CONFIG  config file, e.g. configs/adaptformer_vitb_ssv2.py
  GPUS    processes on this node: GPUs, or CPU processes without a GPU
Environment: PYTHON (default python3), NNODES, NODE_RANK, MASTER_ADDR, PORT.
Example: $(basename "$0") configs/adaptformer_vitb_ssv2.py 8 --pretrained CKPT
USAGE
    exit 2
}

if [ $# -lt 2 ]; then
    usage
fi
if ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
    echo "$(basename "$0"): GPUS must be a positive integer, got '$2'" >&2
    usage
fi

CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python3}
# Quoted wherever used: a checkout path may hold spaces.
TOOLS_DIR=$(dirname "$0")
# The checkout as an absolute path, and no empty PYTHONPATH entry: Python
# reads one as the working directory, whose packages would then shadow the
# installed ones.
ROOT=$(CDPATH= cd -- "$TOOLS_DIR/.." && pwd)

# PORT a port number, and free on node 0.
. "$TOOLS_DIR/misc/dist_port.sh"

# torchrun, printing a refusal of the workers once (see dist_run.py).
set -x
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
$PYTHON "$TOOLS_DIR/misc/dist_run.py" \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    "$TOOLS_DIR/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
