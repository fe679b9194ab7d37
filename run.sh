#!/usr/bin/env bash
# EchOfU in one command:
#   ./run.sh serve   install what is missing, check that the address is free, migrate, collect static
#                    files, then run gunicorn on 127.0.0.1:8000 and one django-q2 cluster per job
#                    queue; Ctrl-C / SIGTERM stops all
#   ./run.sh test    install the same way, then run the whole test suite (extra args go to pytest)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV="${ECHOFU_VENV:-.venv}"
# fonts-wqy-microhei (1.6 MB; fonts-noto-cjk is 56 MB) and fontconfig, which finds it: the "AI generated"
# label of a video asked for from the Chinese page is drawn in Chinese only with a font that has its glyphs.
DEBIAN_PACKAGES=(espeak-ng sox g++ fontconfig fonts-wqy-microhei)
# Only the tests need these: the pages are driven in Debian's Chromium (without CJK fonts it draws
# Chinese as boxes), and the scale-out test starts private PostgreSQL and Redis servers on loopback.
TEST_DEBIAN_PACKAGES=(chromium fonts-noto-cjk postgresql redis-server)

# What the chosen Python lacks to make a virtualenv (Debian splits ensurepip into -venv) and to
# compile the packages PyPI has no wheel of for it (pyworld, webrtcvad need Python.h, in -dev).
python_debian_packages() {
    local version
    version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    "$PYTHON" -c 'import ensurepip' 2>/dev/null || echo "python$version-venv"
    "$PYTHON" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
        || echo "python$version-dev"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# llama-cpp-python compiles from source for this CPU; its multimodal (llava/mtmd) tools are not used.
# Its AMX kernels are left out: on a VM whose CPU reports AMX and whose kernel grants it, they
# crashed (a segfault at ldtilecfg) on the first answer.
LLAMA_CMAKE_ARGS="-DLLAVA_BUILD=OFF"
if [ "$(uname -m)" = x86_64 ]; then
    NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    LLAMA_CMAKE_ARGS="$LLAMA_CMAKE_ARGS '-DCMAKE_C_FLAGS=$NO_AMX' '-DCMAKE_CXX_FLAGS=$NO_AMX'"
fi

install_llama_cpp() {
    # Built before the other packages, and again whenever its pin or build options change: pip's
    # cache would hand back a wheel built with other options.
    local stamp="$VENV/.llama-cpp.build" pin wanted
    pin="$(grep -E '^llama-cpp-python==' requirements.txt)"
    wanted="$pin ${CMAKE_ARGS:-$LLAMA_CMAKE_ARGS}"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        echo "==> building $pin (about 5 minutes)"
        CMAKE_ARGS="${CMAKE_ARGS:-$LLAMA_CMAKE_ARGS}" "$VENV/bin/pip" install --quiet --no-cache-dir --force-reinstall --no-deps "$pin"
        echo "$wanted" > "$stamp"
    fi
}

install_python_packages() {
    # pip is the last thing venv installs: a virtualenv without it was cut short, and is made again.
    if [ ! -x "$VENV/bin/pip" ]; then
        echo "==> creating virtualenv $VENV"
        "$PYTHON" -m venv --clear "$VENV"
    fi
    install_llama_cpp
    # Reinstall only when requirements.txt changed since the last successful install.
    local stamp="$VENV/.requirements.sha256"
    local wanted
    wanted="$(cat requirements.txt requirements-nodeps.txt | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        echo "==> installing Python packages (first time: several minutes, ~8 GB with torch)"
        "$VENV/bin/pip" install --quiet -r requirements.txt
        "$VENV/bin/pip" install --quiet --no-deps -r requirements-nodeps.txt
        echo "$wanted" > "$stamp"
    fi
}

install_packages() {
    # shellcheck disable=SC2046  # one package name per word
    install_debian_packages "${DEBIAN_PACKAGES[@]}" $(python_debian_packages)
    install_python_packages
}

prepare_database_and_static() {
    "$VENV/bin/python" manage.py migrate --noinput
    "$VENV/bin/python" manage.py collectstatic --noinput -v 0
}

install() {
    install_packages
    prepare_database_and_static
}

# Children run in their own process groups so that stopping one ends its workers too.
CHILDREN=()

start_child() {
    setsid "$@" &
    CHILDREN+=($!)
}

# A SIGKILL of serve itself (a supervisor whose stop timeout, 10 s for supervisord and docker, ran
# out before the grace period) runs no trap: the children, each in a session of its own, ran on
# without it, and their clusters went on to start the queued jobs. The watchdog, in a session of its
# own too, kills them once serve is gone; the next start marks their jobs failed.
WATCHDOG=""

start_watchdog() {
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
        shift; for pid in "$@"; do kill -KILL -- "-$pid" 2>/dev/null; done' watchdog $$ "${CHILDREN[@]}" &
    WATCHDOG=$!
}

stop_children() {
    trap - EXIT INT TERM
    [ -z "$WATCHDOG" ] || kill "$WATCHDOG" 2>/dev/null || true
    local grace="${ECHOFU_STOP_GRACE_SECONDS:-20}" pid
    # SIGTERM to each child itself, not its process group: a qcluster then stops its workers in
    # order, gunicorn its own; django-q2's workers die outright on a SIGTERM of their own and leave
    # the cluster waiting for them until the grace period ends.
    for pid in "${CHILDREN[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    # A cluster waits for its running jobs: past the grace period they are killed, and the next
    # start marks them failed (stale heartbeat) and puts the jobs that were waiting back in line.
    # gunicorn waits as long for the requests waiting on those jobs (echofu/gunicorn_conf.py), which
    # answer before it ends.
    for _ in $(seq $((grace * 10))); do
        local alive=0
        for pid in "${CHILDREN[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${CHILDREN[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}

serve() {
    install_packages
    # Single-user mode (no login) is the default here; it is refused on a non-loopback ECHOFU_HOST.
    export ECHOFU_SINGLE_USER="${ECHOFU_SINGLE_USER:-true}"
    local port="${ECHOFU_PORT:-8000}" host="${ECHOFU_HOST:-127.0.0.1}" queue
    case "$host" in *:*) [ "${host#[}" = "$host" ] && host="[$host]" ;; esac  # an IPv6 address: [::1]:8000
    local address="$host:$port"
    "$VENV/bin/python" manage.py check_bind "$address" >/dev/null
    if [ "$ECHOFU_SINGLE_USER" = "true" ] && [ -z "${ECHOFU_SINGLE_USER_CONSENT:-}" ]; then
        echo "==> note: uploads of faces and voices need a consent statement; set ECHOFU_SINGLE_USER_CONSENT=<person's name> to state it once"
    fi
    # A port another program holds would stop gunicorn after the clusters had started, and the
    # database would have been migrated for a server that never ran (a second `serve` by mistake
    # upgrading the schema under a studio still running the old code). The refusal gives the reason
    # found (ECHOFU_PORT=abc was reported as a port in use).
    local refusal
    if ! refusal="$("$VENV/bin/python" -c 'import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
host = host.strip("[]")
if not port.isdigit() or not 0 < int(port) < 65536:
    sys.exit(f"ECHOFU_PORT={port!r} is not a port number")
try:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn: a restart finds closed connections waiting
        probe.bind((host, int(port)))
except OSError as exc:
    sys.exit(f"cannot listen on {sys.argv[1]}: {exc.strerror or exc} (set ECHOFU_PORT, or ECHOFU_HOST to an address of this machine)")' "$address" 2>&1)"; then
        echo "==> $refusal" >&2
        exit 1
    fi
    prepare_database_and_static
    # Stopped by a signal is a clean stop (0); a child that ends on its own ends serve with its status.
    trap stop_children EXIT
    trap 'stop_children; exit 0' INT TERM
    for queue in $("$VENV/bin/python" manage.py job_queues); do
        echo "==> starting the django-q2 cluster for the $queue queue"
        Q_CLUSTER_NAME="$queue" start_child "$VENV/bin/python" manage.py qcluster
    done
    echo "==> serving http://$address with gunicorn"
    # Workers, threads and timeouts: echofu/gunicorn_conf.py, which also refuses single-user mode
    # on a public address before a worker starts.
    start_child "$VENV/bin/gunicorn" -c echofu/gunicorn_conf.py echofu.wsgi:application --bind "$address"
    start_watchdog
    # Whichever child ends first stops the others, and its exit status is serve's: a supervisor sees a
    # crash as one.
    local status=0
    wait -n || status=$?
    exit "$status"
}

run_tests() {
    install_debian_packages "${TEST_DEBIAN_PACKAGES[@]}"
    install
    # Two test processes (pytest-xdist), one test file each at a time: most tests wait on
    # subprocesses (servers, workers, ffmpeg), so two share two cores well. `-n 0` runs them in one.
    # Files go out in the order conftest.py sorts them (slow ones first), not by their number of tests.
    local processes="${ECHOFU_TEST_PROCESSES:-2}"
    # Each process computes with its share of the cores (numpy's OpenBLAS, torch's OpenMP; the worker
    # processes a test starts inherit it): two processes of two threads each on two cores spin against
    # each other, and two lip-sync fits at once took 12 s each instead of 0.65 s. An explicit setting wins.
    if [[ "$processes" =~ ^[0-9]+$ ]]; then
        local threads=$(( $(nproc) / (processes > 1 ? processes : 1) ))
        (( threads >= 1 )) || threads=1
        export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$threads}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-$threads}" \
            MKL_NUM_THREADS="${MKL_NUM_THREADS:-$threads}"
    fi
    "$VENV/bin/python" -m pytest -n "$processes" --dist loadfile --no-loadscope-reorder "$@"
}

case "${1:-}" in
    serve) shift; serve "$@" ;;
    test) shift; run_tests "$@" ;;
    install) install ;;
    *) echo "usage: $0 serve | test [pytest args] | install" >&2; exit 2 ;;
esac
