#!/usr/bin/env bash
# Developer entry point: bash devtools/dev.sh <command> [args]   (bash devtools/dev.sh help lists the commands)
# Creates .venv from requirements-dev.txt on first use (and again when that file changes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"

# Everything `lint` checks, and `test` lints before pytest (any finding fails it): the pack and the tooling.
LINT_PATHS=(ApiModules Integrations Scripts devtools benchmarks tests conftest.py)

usage() {
    cat <<'EOF'
usage: bash devtools/dev.sh <command> [args]      (no activated venv needed; `<command> --help` for its options)
  setup                       create .venv from the pinned requirements-dev.txt (every command does this first)
  test [pytest args]          lint, then every test (what .ci/run runs)
  lint [paths]                ruff and mypy over the pack and the tooling (or the given paths)
  demo                        the end-to-end scenario on an embedded emulator
  emulator start|stop|status  keep one emulator running in the background (prints its URL and test credentials);
  emulator serve              or serve one in the foreground
  run <Integration> <command> [name=value ...]        one command as XSOAR would run it
  playbook "<playbook name>" [input=value ...]        a pack playbook, offline
  validate                    offline demisto-sdk validate plus the content checks
  build                       the uploadable pack zip, into build/
  docs [Integration ...]      integration READMEs (generate-docs plus the command examples run on the emulator)
  images [--check]            playbook diagrams and logos
  release bump <revision|minor|major> | check      release notes without update-release-notes
  bench [--quick]             the benchmarks
  sync [--check]              write ApiModules/*ApiModule.py into the integrations' GENERATED CODE blocks
EOF
}

setup() {
    local want
    want="$(sha256sum "$ROOT/requirements-dev.txt" | cut -d' ' -f1)"
    if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
        return 0
    fi
    echo "== setting up $VENV (pinned requirements-dev.txt)"
    command -v python3 >/dev/null || { echo "python3 (3.10+) is required" >&2; exit 2; }
    [ -x "$PY" ] || python3 -m venv "$VENV"
    # requirements-dev.txt pins every package (a complete freeze), so no dependency resolution is needed. It is
    # skipped because demisto-sdk declares mypy<0.983, which cannot read current typeshed stubs; demisto-sdk does
    # not import mypy, and the check below still fails on any other unmet requirement.
    "$PY" -m pip install --quiet --disable-pip-version-check --no-deps -r "$ROOT/requirements-dev.txt"
    local broken
    broken="$("$PY" -m pip check --disable-pip-version-check 2>&1 | grep -v -E '^demisto-sdk [^ ]+ has requirement mypy|^No broken' || true)"
    if [ -n "$broken" ]; then
        echo "requirements-dev.txt is incomplete:" >&2
        echo "$broken" >&2
        exit 2
    fi
    echo "$want" > "$STAMP"
}

lint() {
    local status=0
    "$VENV/bin/ruff" check --no-cache "$@" || status=1
    # MYPYPATH: the real runtime files when XSOAR_RUNTIME_DIR names them, before the stand-ins of pyproject's mypy_path.
    MYPYPATH="${XSOAR_RUNTIME_DIR:-}" "$VENV/bin/mypy" --cache-dir "$VENV/.mypy_cache" "$@" || status=1
    return "$status"
}

cmd="${1:-test}"; shift || true
cd "$ROOT"
case "$cmd" in
    setup) setup ;;
    lint)
        setup
        if [ "$#" -gt 0 ]; then lint "$@"; else lint "${LINT_PATHS[@]}"; fi ;;
    test)
        setup
        echo "== lint: ${LINT_PATHS[*]}"
        lint "${LINT_PATHS[@]}" || { echo "lint findings: fix them (bash devtools/dev.sh lint)" >&2; exit 1; }
        exec "$PY" -m pytest "$@" ;;
    validate) setup; exec "$PY" -m devtools.validate "$@" ;;
    demo) setup; exec "$PY" -m devtools demo "$@" ;;
    build) setup; exec "$PY" -m devtools.build "$@" ;;
    bench) setup; exec "$PY" -m benchmarks "$@" ;;
    sync) setup; exec "$PY" -m devtools.sync "$@" ;;
    run|playbook) setup; exec "$PY" -m devtools "$cmd" "$@" ;;
    emulator) setup; exec "$PY" -m devtools.emulator "$@" ;;
    docs) setup; exec "$PY" -m devtools.docs "$@" ;;
    images) setup; exec "$PY" -m devtools.playbook_images "$@" ;;
    release) setup; exec "$PY" -m devtools.release "$@" ;;
    help|-h|--help) usage ;;
    *) usage >&2; exit 2 ;;
esac
