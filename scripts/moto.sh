#!/usr/bin/env bash
# A local AWS-protocol server for the AWS sink tests: moto (https://pypi.org/project/moto/) in a
# Python venv cached under target/moto-venv.
#
#   scripts/moto.sh install        # create the venv and pip install moto[server] (once; idempotent)
#   scripts/moto.sh start [PORT]   # install if needed, start moto_server on 127.0.0.1:PORT (default:
#                                  # a free port); prints "PORT PID" once it answers
#   scripts/moto.sh stop PID       # stop a server started by `start`
#
# The Rust tests (tests/common/moto.rs) call `install`, then run moto_server themselves so that
# they own the process and can stop/restart it; `start`/`stop` are for running by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION=${MOTO_VERSION:-5.2.5}
venv=target/moto-venv

install() {
    # One installer at a time (several test binaries may ask at once).
    mkdir -p target
    exec 9>target/moto-venv.lock
    flock 9
    if [ -x "$venv/bin/moto_server" ] && [ -f "$venv/.installed-$MOTO_VERSION" ]; then
        return 0
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    touch "$venv/.installed-$MOTO_VERSION"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
install)
    install
    ;;
start)
    install
    port=${2:-$(free_port)}
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"target/moto-$port.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            echo "$port $pid"
            exit 0
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    echo "moto_server did not start; see target/moto-$port.log" >&2
    exit 1
    ;;
stop)
    kill "${2:?usage: moto.sh stop PID}"
    ;;
*)
    sed -n '2,11p' "$0"
    exit 2
    ;;
esac
