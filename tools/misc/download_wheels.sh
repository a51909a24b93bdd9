#!/usr/bin/env bash
# Usage: [PYTHON=python3] tools/misc/download_wheels.sh DEST [PYTHON_VERSION]
# Downloads the wheels of requirements/offline.txt into DEST, for CPython
# PYTHON_VERSION (default: PYTHON's) on x86-64 Linux, for a machine without
# internet access that keeps its own torch, torchvision and OpenCV. See
# README.md, "Machines without internet access", for installing them there.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "Usage: [PYTHON=python3] $(basename "$0") DEST [PYTHON_VERSION]" >&2
    exit 2
fi
DEST=$1
PYTHON=${PYTHON:-python3}
VERSION=${2:-$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}
REQUIREMENTS="$(dirname "$0")/../../requirements/offline.txt"

# --no-deps: the file lists every wheel; pip would otherwise also fetch
# torch and opencv-python, which the machine keeps its own builds of.
"$PYTHON" -m pip download --no-deps --only-binary=:all: \
    --python-version "$VERSION" --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux2010_x86_64 --platform manylinux1_x86_64 \
    --dest "$DEST" -r "$REQUIREMENTS"
echo "$(ls "$DEST"/*.whl | wc -l) wheels in $DEST for CPython $VERSION"
