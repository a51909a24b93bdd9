#!/usr/bin/env bash
# Usage: [PYTHON=python3] tools/misc/gpu_check_offline.sh WHEELS RESULTS [gpu_check.sh options...]
# Runs tools/gpu_check.sh on a machine without internet access that has a
# PyTorch environment:
#   1. installs the wheels that tools/misc/download_wheels.sh put in WHEELS
#      into a temporary folder on PYTHONPATH (the environment is unchanged);
#   2. runs the check with its work in a temporary folder (kept; its path
#      is printed);
#   3. leaves in RESULTS the few files worth copying back: gpu_check.json,
#      summary.txt, benchmark.json, benchmark.png, profile_adaptformer.txt
#      (those that were written) and logs.tar.gz (every log, result and
#      config of the run, without checkpoints and data).
# The exit code is gpu_check.sh's (143 when a SIGTERM or Ctrl-C stopped it,
# 129 when the terminal closed; the results so far are copied then too).
set -uo pipefail

USAGE="Usage: [PYTHON=python3] $(basename "$0") WHEELS RESULTS [gpu_check.sh options...]"
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    echo "$USAGE"
    exit 0
fi
if [ $# -lt 2 ]; then
    echo "$USAGE" >&2
    exit 2
fi
WHEELS=$1
RESULTS=$2
shift 2
PYTHON=${PYTHON:-python3}
if ! ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    echo "$(basename "$0"): no wheels in $WHEELS; make them with tools/misc/download_wheels.sh" >&2
    exit 2
fi

SITE=$(mktemp -d)
WORK=$(mktemp -d)
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile \
    --target "$SITE" "$WHEELS"/*.whl || exit 1
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
# In the background, so that a SIGTERM, Ctrl-C or hang-up (the terminal
# closed) reaching this script is handed on as SIGTERM to the check runner
# (which stops its checks and records the stop) and the results so far are
# still copied below; bash would otherwise die alone and leave the checks
# running. (A hang-up reaches the runner too, which ends with 129 then.)
PYTHON="$PYTHON" bash "$(dirname "$0")/../gpu_check.sh" --out-dir "$WORK" "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
wait "$child"
code=$?
while kill -0 "$child" 2>/dev/null; do
    wait "$child"
    code=$?
done
trap - TERM INT HUP

mkdir -p "$RESULTS"
for name in gpu_check.json summary.txt benchmark.json benchmark.png \
    profile_adaptformer.txt; do
    if [ -f "$WORK/$name" ]; then cp "$WORK/$name" "$RESULTS/"; fi
done
tar czf "$RESULTS/logs.tar.gz" --exclude='*.pth' --exclude='./workspace' \
    -C "$WORK" .
rm -rf "$SITE"
echo "results in $RESULTS; the whole run in $WORK"
exit $code
