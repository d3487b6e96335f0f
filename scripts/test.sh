#!/usr/bin/env bash
# The whole test suite, doing its own setup: bash scripts/test.sh [pytest args...]
# The container tests run only where buildah is installed (.ci/run installs it); elsewhere they skip.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
exec "$PY" -m pytest -q "$@"
