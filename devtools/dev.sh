#!/usr/bin/env bash
# Developer entry point: bash devtools/dev.sh <command> [args]   (bash devtools/dev.sh help lists the commands)
# .venv is set up in two steps, each redone when its requirements file changes:
#   requirements-run.txt  (7 small pinned packages, seconds): enough for demo, run, playbook, emulator and --help;
#   requirements-dev.txt  (the full freeze: demisto-sdk, pytest, ruff, mypy, ...): installed the first time a
#                          command needs it (test, lint, validate, build, docs, images, release, bench, setup).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
# Nothing outside the clone: temporary files (pytest's too) and pip's cache live under build/ (git ignores it).
mkdir -p "$ROOT/build/scratch"
export TMPDIR="$ROOT/build/scratch" PIP_CACHE_DIR="${PIP_CACHE_DIR:-$ROOT/build/pip-cache}"
STAMP="$VENV/.requirements.sha256"          # requirements-dev.txt installed
RUN_STAMP="$VENV/.requirements-run.sha256"  # requirements-run.txt installed

# Everything `lint` checks, and `test` lints before pytest (any finding fails it): the pack and the tooling.
LINT_PATHS=(ApiModules Integrations Scripts devtools benchmarks tests conftest.py)

usage() {
    cat <<'USAGE'
usage: bash devtools/dev.sh <command> [args]      (no activated venv needed; `<command> --help` for its options)
  demo                        the end-to-end scenario on an embedded emulator
  test [pytest args]          lint, then every test (what .ci/run runs)
  lint [paths]                ruff and mypy over the pack and the tooling (or the given paths)
  emulator start|stop|status  keep one emulator running in the background (prints its URL and test credentials);
  emulator serve              or serve one in the foreground
  run <Integration> <command> [name=value ...]        one command as XSOAR would run it (--file PATH attaches one)
  playbook "<playbook name>" [input=value ...]        a pack playbook, offline
  validate                    offline demisto-sdk validate plus the content checks
  build                       the uploadable pack zip, into build/
  docs [Integration ...]      integration READMEs (generate-docs plus the command examples run on the emulator)
  images [--check]            playbook diagrams and logos
  release bump <revision|minor|major> | check      release notes without update-release-notes
  bench [--quick]             the benchmarks
  sync [--check]              write ApiModules/*ApiModule.py into the integrations' GENERATED CODE blocks
  setup                       create .venv with everything (the commands above install what they need themselves)
First use: demo, run, playbook and emulator install 7 small pinned packages (requirements-run.txt) into .venv;
test, lint, validate, build, docs, images, release and bench add the full pinned toolset (requirements-dev.txt,
demisto-sdk included, about 150 packages). Both come from the package index; after that everything runs offline.
USAGE
}

command_help() {  # the usage text of the commands dev.sh runs itself
    case "$1" in
        setup) echo 'usage: bash devtools/dev.sh setup
Create or refresh .venv: the small pinned requirements-run.txt, then the full pinned requirements-dev.txt (each
only when it changed since it was installed). Every command does the part it needs by itself.' ;;
        test) echo 'usage: bash devtools/dev.sh test [pytest args]
Lint (ruff and mypy, as `lint`), then run pytest with the given arguments (default: every test; e.g. -x -q,
tests/test_cli.py, -k name). Any lint finding fails it. This is what .ci/run runs first.' ;;
        lint) echo 'usage: bash devtools/dev.sh lint [paths]
ruff check and mypy, configured in pyproject.toml, over the given paths (default: the pack and the tooling).' ;;
    esac
}

install() {  # install <requirements file> <stamp file> <what>
    local file="$1" stamp="$2" want
    want="$(sha256sum "$file" | cut -d' ' -f1)"
    if [ -x "$PY" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "== setting up $VENV: $3 (pinned $(basename "$file"), from the package index)" >&2
    command -v python3 >/dev/null || { echo "python3 (3.10+) is required" >&2; exit 2; }
    [ -x "$PY" ] || python3 -m venv "$VENV"
    # Both files pin every package (complete freezes), so no dependency resolution is needed. It is skipped because
    # demisto-sdk declares mypy<0.983, which cannot read current typeshed stubs; demisto-sdk does not import mypy,
    # and the check below still fails on any other unmet requirement.
    "$PY" -m pip install --quiet --disable-pip-version-check --no-deps -r "$file"
    local broken
    broken="$("$PY" -m pip check --disable-pip-version-check 2>&1 | grep -v -E '^demisto-sdk [^ ]+ has requirement mypy|^No broken' || true)"
    if [ -n "$broken" ]; then
        echo "$(basename "$file") is incomplete:" >&2
        echo "$broken" >&2
        exit 2
    fi
    echo "$want" > "$stamp"
}

setup_run() {  # the small environment of demo, run, playbook and emulator (the full one includes it)
    install "$ROOT/requirements-run.txt" "$RUN_STAMP" "what demo, run, playbook and emulator need"
}

setup() {  # the full environment (requirements-dev.txt pins every package of requirements-run.txt too)
    setup_run
    install "$ROOT/requirements-dev.txt" "$STAMP" "the full toolset, demisto-sdk included (once)"
}

lint() {
    local status=0
    "$VENV/bin/ruff" check --no-cache "$@" || status=1
    # MYPYPATH: the real runtime files when XSOAR_RUNTIME_DIR names them, before the stand-ins of pyproject's mypy_path.
    MYPYPATH="${XSOAR_RUNTIME_DIR:-}" "$VENV/bin/mypy" --cache-dir "$VENV/.mypy_cache" "$@" || status=1
    return "$status"
}

wants_help() {  # wants_help "$@": -h or --help among the arguments
    local arg
    for arg in "$@"; do
        case "$arg" in -h|--help) return 0 ;; esac
    done
    return 1
}

tool() {  # tool <module> [args]: a Python tool that needs the full environment; its --help only the small one
    local module="$1"; shift
    if wants_help "$@"; then setup_run; else setup; fi
    exec "$PY" -m "$module" "$@"
}

cmd="${1:-test}"; shift || true
cd "$ROOT"
case "$cmd:${1:-}" in
    setup:-h|setup:--help|test:-h|test:--help|lint:-h|lint:--help) command_help "$cmd"; exit 0 ;;
esac
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
    demo|run|playbook) setup_run; exec "$PY" -m devtools "$cmd" "$@" ;;
    emulator) setup_run; exec "$PY" -m devtools.emulator "$@" ;;
    validate) tool devtools.validate "$@" ;;
    build) tool devtools.build "$@" ;;
    docs) tool devtools.docs "$@" ;;
    release) tool devtools.release "$@" ;;
    sync) setup_run; exec "$PY" -m devtools.sync "$@" ;;
    images) setup; exec "$PY" -m devtools.playbook_images "$@" ;;
    bench) setup; exec "$PY" -m benchmarks "$@" ;;
    help|-h|--help) usage ;;
    *) echo "unknown command: $cmd" >&2; usage >&2; exit 2 ;;
esac
