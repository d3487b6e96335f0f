#!/usr/bin/env bash
# Sourced by the other scripts: make sure ./.venv exists with the pinned dependencies installed.
# Needs only python3 (>= 3.11) and git. Re-installs only when a lock file or pyproject.toml changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${IMAGEGEN_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
stamp_src() { cat "$ROOT/requirements.lock" "$ROOT/requirements-dev.lock" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1; }
if [ ! -x "$PY" ]; then
    echo "setting up $VENV ..." >&2
    python3 -m venv "$VENV"
fi
if [ "$(cat "$VENV/.imagegen-stamp" 2>/dev/null)" != "$(stamp_src)" ]; then
    echo "installing pinned dependencies into $VENV ..." >&2
    "$PY" -m pip install --quiet --disable-pip-version-check \
        -r "$ROOT/requirements.lock" -r "$ROOT/requirements-dev.lock"
    "$PY" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT"
    stamp_src > "$VENV/.imagegen-stamp"
fi
