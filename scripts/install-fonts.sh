#!/usr/bin/env bash
# The font the `card` provider sets titles in: DejaVu Sans from Debian's fonts-dejavu-core (Latin,
# Greek, Cyrillic, ...). Installed from the package, never downloaded at run time. Idempotent and
# quick when present; needs root (apt-get) when it is not. Where it cannot be installed, cards
# fall back to Pillow's built-in font (Latin only) and the font test says so.
set -euo pipefail
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
if [ -f "$FONT" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-fonts: $FONT is missing; run as root (or: sudo apt-get install fonts-dejavu-core)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends fonts-dejavu-core >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y --no-install-recommends fonts-dejavu-core >/dev/null
}
test -f "$FONT"
echo "install-fonts: fonts-dejavu-core installed" >&2
