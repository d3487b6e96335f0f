#!/usr/bin/env bash
# The quick-start demo: bash scripts/demo.sh
# Copies examples/blog into demo-output/blog (a fresh git repo), gives its posts covers with the
# offline `card` provider (title cards), and prints where the images went. Run it twice: the second run changes nothing.
# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
OUT="$ROOT/demo-output"
rm -rf "$OUT" && mkdir -p "$OUT"
cp -r "$ROOT/examples/blog" "$OUT/blog"
git -C "$OUT/blog" init -q
git -C "$OUT/blog" add -A
git -C "$OUT/blog" -c user.name=demo -c user.email=demo@example.invalid commit -qm "demo blog"
"$VENV/bin/imagegen" run "$OUT/blog" --providers card --report "$OUT/report.json" "$@"
echo
echo "covers are in $OUT/blog/attachments/; see what changed with: git -C $OUT/blog diff --stat"
