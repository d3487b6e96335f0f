#!/usr/bin/env bash
# The whole test suite, doing its own setup: bash scripts/test.sh [pytest args...]
# The container tests run only where buildah is installed (.ci/run installs it); elsewhere they skip.
# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT" || exit 1
exec "$PY" -m pytest -q "$@"
