#!/usr/bin/env bash
# Developer entry point: bash devtools/dev.sh <test|demo|build|bench|validate|setup> [args]
# Creates .venv from requirements-dev.txt on first use (and again when that file changes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"

setup() {
    local want
    want="$(sha256sum "$ROOT/requirements-dev.txt" | cut -d' ' -f1)"
    if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
        return 0
    fi
    echo "== setting up $VENV (pinned requirements-dev.txt)"
    command -v python3 >/dev/null || { echo "python3 (3.10+) is required" >&2; exit 2; }
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
    echo "$want" > "$STAMP"
}

cmd="${1:-test}"; shift || true
cd "$ROOT"
case "$cmd" in
    setup) setup ;;
    test) setup; exec "$PY" -m pytest "$@" ;;
    validate) setup; exec "$PY" -m devtools.validate "$@" ;;
    demo) setup; exec "$PY" -m devtools demo "$@" ;;
    build) setup; exec "$PY" -m devtools.build "$@" ;;
    bench) setup; exec "$PY" -m benchmarks "$@" ;;
    run) setup; exec "$PY" -m devtools run "$@" ;;
    *) echo "usage: bash devtools/dev.sh <test|demo|build|bench|validate|run|setup> [args]" >&2; exit 2 ;;
esac
