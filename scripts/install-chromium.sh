#!/usr/bin/env bash
# Headless Chromium for tests/test_preview.py, which opens the page `imagegen preview` writes in a
# real browser and checks that every image loads and nothing is logged to the console. Debian's
# chromium-headless-shell: the browser without its window parts (about 96 MB to download, 306 MB
# on disk with what it needs; measured 9 s to install from a near mirror). Idempotent and quick
# when present; needs root (apt-get) when it is not.
set -euo pipefail
if command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-chromium: not installed; run as root (or: sudo apt-get install chromium-headless-shell)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium-headless-shell >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y --no-install-recommends chromium-headless-shell >/dev/null
}
command -v chromium-headless-shell >/dev/null
echo "install-chromium: chromium-headless-shell installed" >&2
