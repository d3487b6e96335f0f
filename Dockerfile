# The imagegen GitHub Docker action. The runner builds this file (context: the action's repository),
# mounts the workspace at /github/workspace, makes it the working directory and runs the entrypoint.
# BASE_IMAGE is overridable so the image can also be built offline (see scripts/container-test.sh);
# the code runs on Python 3.11 and newer.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

# git: the `git` commit mode, only-changed and syncing the checkout after an API commit.
# python:*-slim has no git; the Debian base used offline has it already. Debian's own versions are
# what is wanted here (security updates), so they are not pinned.
# hadolint ignore=DL3008
RUN if ! command -v git >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends git ca-certificates \
        && rm -rf /var/lib/apt/lists/*; \
    fi

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app

# The exact, locked runtime dependencies (--no-deps: nothing outside the lock is installed).
COPY requirements.lock /app/requirements.lock
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps -r /app/requirements.lock \
    && /opt/venv/bin/pip check

COPY imagegen /app/imagegen
COPY entrypoint.py /app/entrypoint.py

ENTRYPOINT ["/opt/venv/bin/python", "/app/entrypoint.py"]
