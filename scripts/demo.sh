#!/usr/bin/env bash
# The quick-start demo: bash scripts/demo.sh [blog|hugo|jekyll|astro] [imagegen options]
# Copies examples/blog (or the example Hugo, Jekyll or Astro site) into demo-output/ (a fresh git
# repo), gives its posts covers with the offline `card` provider (title cards), and prints where the images went.
# Run it twice: the second run changes nothing.
# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
SITE=blog
case "${1:-}" in
    blog|hugo|jekyll|astro) SITE="$1"; shift ;;
esac
OUT="$ROOT/demo-output"
rm -rf "${OUT:?}/$SITE" "$OUT/report.json" && mkdir -p "$OUT"
cp -r "$ROOT/examples/$SITE" "$OUT/$SITE"
git -C "$OUT/$SITE" init -q
git -C "$OUT/$SITE" add -A
git -C "$OUT/$SITE" -c user.name=demo -c user.email=demo@example.invalid commit -qm "demo $SITE"
"$VENV/bin/imagegen" run "$OUT/$SITE" --providers card --report "$OUT/report.json" "$@"
echo
echo "see what changed with: git -C $OUT/$SITE status --short && git -C $OUT/$SITE diff"
