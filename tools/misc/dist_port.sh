# Sourced by tools/dist_train.sh and tools/dist_test.sh, with PORT,
# NODE_RANK and PYTHON set: refuse a PORT that is no port number, and on
# node 0, which serves the rendezvous on it, one that another job listens
# on (it ended in torch's DistNetworkError traceback, EADDRINUSE), each on
# one line with exit status 2, naming the sourcing script. SO_REUSEADDR, as
# torch's store sets it, so a port a finished run left in TIME_WAIT still
# counts as free.
if ! [[ "$PORT" =~ ^[1-9][0-9]*$ ]] || [ "$PORT" -gt 65535 ]; then
    echo "$(basename "$0"): PORT must be a port number from 1 to 65535," \
        "got '$PORT'" >&2
    exit 2
fi
if [ "$NODE_RANK" = 0 ] && ! $PYTHON -c "import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('', int(sys.argv[1])))" "$PORT" 2>/dev/null; then
    echo "$(basename "$0"): PORT $PORT is in use on this machine (another" \
        "job?); set PORT to a free one, e.g. PORT=$((PORT + 1)) $0 ..." >&2
    exit 2
fi
