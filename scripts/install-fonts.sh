#!/usr/bin/env bash
# The fonts title cards (and the title band) are set in, from Debian packages, never downloaded at
# run time: the same packages the Dockerfile installs.
#   fonts-dejavu-core       DejaVu Sans: Latin, Greek, Cyrillic, Arabic, Hebrew, ...   (~3 MB)
#   fonts-wqy-microhei      WenQuanYi Micro Hei: Chinese, Japanese, Korean Hangul      (~5 MB)
#   fonts-noto-color-emoji  Noto Color Emoji: emoji in colour                          (~10 MB)
#   libfribidi0             lets Pillow's text shaping (libraqm) join Arabic letters and order
#                           right-to-left text
# Idempotent and quick when everything is there; needs root (apt-get) when it is not. Without them
# cards fall back to Pillow's built-in font (Latin only) and the font tests say so.
set -euo pipefail
FILES=(
    /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
    /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
    /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
)
PACKAGES=(fonts-dejavu-core fonts-wqy-microhei fonts-noto-color-emoji libfribidi0)
missing=0
for f in "${FILES[@]}"; do
    [ -f "$f" ] || missing=1
done
ldconfig -p 2>/dev/null | grep -q 'libfribidi\.so\.0' || missing=1
if [ "$missing" = 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-fonts: some fonts are missing; run as root (or: sudo apt-get install ${PACKAGES[*]})" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${PACKAGES[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y --no-install-recommends "${PACKAGES[@]}" >/dev/null
}
for f in "${FILES[@]}"; do
    test -f "$f"
done
echo "install-fonts: ${PACKAGES[*]} installed" >&2
