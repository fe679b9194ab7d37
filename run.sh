#!/usr/bin/env bash
# EchOfU in one command:
#   ./run.sh serve   install what is missing, migrate, run the web server + a django-q2 worker on 127.0.0.1:8000
#   ./run.sh test    install the same way, then run the whole test suite (extra args go to pytest)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv
DEBIAN_PACKAGES=(espeak-ng sox)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
    local missing=()
    for package in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

install_python_packages() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating virtualenv $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
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

install() {
    install_debian_packages
    install_python_packages
    "$VENV/bin/python" manage.py migrate --noinput
}

serve() {
    install
    echo "==> starting the django-q2 worker and the web server on http://127.0.0.1:${ECHOFU_PORT:-8000}"
    "$VENV/bin/python" manage.py qcluster &
    local worker=$!
    trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM
    "$VENV/bin/python" manage.py runserver "127.0.0.1:${ECHOFU_PORT:-8000}" --noreload
}

run_tests() {
    install
    "$VENV/bin/python" -m pytest "$@"
}

case "${1:-}" in
    serve) shift; serve "$@" ;;
    test) shift; run_tests "$@" ;;
    install) install ;;
    *) echo "usage: $0 serve | test [pytest args] | install" >&2; exit 2 ;;
esac
