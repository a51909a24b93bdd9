#!/usr/bin/env bash
# Usage: [PYTHON=python3] tools/misc/download_wheels.sh DEST [PYTHON_VERSION]
# Downloads the wheels of requirements/offline.txt into DEST, for CPython
# PYTHON_VERSION (default: PYTHON's) on x86-64 Linux, for a machine without
# internet access that keeps its own torch, torchvision and OpenCV. See
# README.md, "Machines without internet access", for installing them there.
# DEST may already hold wheels of the file's pins (kept), but no other
# wheel: every wheel in it gets installed there.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "Usage: [PYTHON=python3] $(basename "$0") DEST [PYTHON_VERSION]" >&2
    exit 2
fi
DEST=$1
PYTHON=${PYTHON:-python3}
VERSION=${2:-$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}
REQUIREMENTS="$(dirname "$0")/../../requirements/offline.txt"

# gpu_check_offline.sh (and README's install) installs every wheel in the
# folder, and two versions of one package stop that install: refuse, before
# downloading, a folder that holds a wheel the file does not pin.
normalise() { echo "$1" | tr 'A-Z' 'a-z' | sed -E 's/[-_.]+/-/g'; }
declare -A PINNED
number=0
while IFS= read -r line || [ -n "$line" ]; do
    number=$((number + 1))
    line=${line%%#*}
    line=${line//[[:space:]]/}
    if [ -z "$line" ]; then continue; fi
    if ! [[ "$line" =~ ^[A-Za-z0-9._-]+==[A-Za-z0-9.+!_-]+$ ]]; then
        echo "$(basename "$0"): $REQUIREMENTS:$number: expected NAME==VERSION, got '$line'" >&2
        exit 2
    fi
    PINNED[$(normalise "${line%%==*}")]=${line#*==}
done <"$REQUIREMENTS"
unpinned=()
for wheel in "$DEST"/*.whl; do
    if [ ! -e "$wheel" ]; then continue; fi
    base=$(basename "$wheel")
    rest=${base#*-}
    if [ "${PINNED[$(normalise "${base%%-*}")]:-}" != "${rest%%-*}" ]; then
        unpinned+=("$base")
    fi
done
if [ ${#unpinned[@]} -gt 0 ]; then
    echo "$(basename "$0"): $DEST holds wheels that requirements/offline.txt does not pin: ${unpinned[*]}." \
        "Remove them or give an empty DEST: every wheel in it is installed, and two versions of one package stop the install." >&2
    exit 2
fi

# --no-deps: the file lists every wheel; pip would otherwise also fetch
# torch and opencv-python, which the machine keeps its own builds of.
"$PYTHON" -m pip download --no-deps --only-binary=:all: \
    --python-version "$VERSION" --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux2010_x86_64 --platform manylinux1_x86_64 \
    --dest "$DEST" -r "$REQUIREMENTS"
echo "$(ls "$DEST"/*.whl | wc -l) wheels in $DEST for CPython $VERSION"
