# The imagegen GitHub Docker action.
#
# Released versions do not build this file in the user's job: a release's action.yml runs the
# image the release workflow built from it (docker://ghcr.io/...:<version>). On main (and in this
# repository's CI) the runner builds it (context: the repository).
#
# Base: Python 3.13 on Debian 13 "trixie" (the current Debian stable), pinned to a patch release
# so that a rebuild gets the same interpreter; bump it deliberately (CHANGELOG). BASE_IMAGE is a
# build argument so the same file builds offline on a local Debian trixie base made with
# debootstrap (scripts/container-test.sh), which is how the tests build and run it.
ARG BASE_IMAGE=python:3.13.9-slim-trixie

# ---------------------------------------------------------------- build: the locked dependencies
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY requirements.lock /tmp/requirements.lock
# --no-deps: nothing outside the lock is installed, and `pip check` proves the lock complete. Then
# what never runs goes: hf-xet (huggingface_hub's file-transfer backend, 11 MB; imagegen only calls
# inference, and huggingface_hub works without it), pip itself (nothing installs at run time), the
# dependencies' bundled tests and type stubs.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps -r /tmp/requirements.lock \
    && /opt/venv/bin/pip check \
    && rm -rf /opt/venv/lib/python3*/site-packages/hf_xet* \
    && { /opt/venv/bin/pip uninstall -q -y pip setuptools wheel 2>/dev/null || true; } \
    && rm -rf /opt/venv/lib/python3*/site-packages/pip /opt/venv/lib/python3*/site-packages/setuptools \
    && find /opt/venv -depth \( -name tests -o -name '__pycache__' \) -type d -exec rm -rf {} + \
    && find /opt/venv -name '*.pyi' -delete \
    && test -x /opt/venv/bin/python
COPY imagegen /app/imagegen
COPY entrypoint.py /app/entrypoint.py
# Bytecode for what runs: every module the action, the CLI and each provider import (their SDKs
# included) is compiled; modules nothing imports (a dependency's CLI, exotic image plugins, ...)
# stay source only, which keeps about 9 MB out of the image.
RUN PYTHONPATH=/app /opt/venv/bin/python -c "import sys; \
import imagegen.action.main, imagegen.cli, imagegen.pipeline, imagegen.publish, imagegen.providers; \
import github, google.genai, google.genai.types, google.genai.errors, huggingface_hub, huggingface_hub.errors; \
from huggingface_hub import AsyncInferenceClient, constants; \
import huggingface_hub.inference._providers._common, huggingface_hub.utils._http; \
import PIL.Image, PIL.ImageCms, PIL.ImageDraw, PIL.ImageFilter, PIL.ImageOps, PIL.features; \
from PIL import JpegImagePlugin, PngImagePlugin, WebPImagePlugin, GifImagePlugin, AvifImagePlugin; \
print('\n'.join(sorted({m.__file__ for m in list(sys.modules.values()) \
    if (getattr(m, '__file__', None) or '').endswith('.py') and m.__file__.startswith('/opt/venv')})))" \
    > /tmp/imported.txt \
    && python3 -m compileall -q --invalidation-mode unchecked-hash -i /tmp/imported.txt \
    && python3 -m compileall -q -j 0 --invalidation-mode unchecked-hash /app \
    && rm /tmp/imported.txt

# ---------------------------------------------------------------- the image that runs
FROM ${BASE_IMAGE}
# git: the `git` commit mode, only-changed and moving the checkout after an API commit. Neither
# python:*-slim nor the test base has it, so this step runs in every build, the tested one too.
# Debian's own version is what is wanted (security updates), so it is not pinned. Left out again:
# full Perl (about 50 MB; git needs only perl-base for what the action runs: commit, fetch, push,
# rebase, diff, reset are built in), git's server and mail programs, glibc's iconv charset modules
# (8 MB; Python has its own codecs, and commits are UTF-8), and the base's pip (nothing is
# installed at run time). The container tests run every git path through this image.
# The fonts title cards are set in (never downloaded at run time; imagegen/images/fonts.py): DejaVu
# Sans (Latin, Greek, Cyrillic, Arabic, Hebrew), WenQuanYi Micro Hei (Chinese, Japanese, Korean; the
# smallest font with all three, 5 MB against Noto CJK's 91 MB), Noto Color Emoji (10 MB), and
# libfribidi0, which Pillow's text shaping (libraqm, in its wheel) loads to join Arabic letters and
# lay out right-to-left text. scripts/install-fonts.sh installs the same for the tests.
# hadolint ignore=DL3008,SC2046
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates fonts-dejavu-core fonts-wqy-microhei \
        fonts-noto-color-emoji libfribidi0 \
    && dpkg --purge --force-depends $(dpkg-query -W -f '${Package}\n' 'perl' 'perl-modules-*' 'libperl5*' \
        'liberror-perl' 2>/dev/null) \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
        /usr/share/doc/* /usr/share/man/* /usr/share/locale/* /usr/share/python-wheels \
        /usr/lib/git-core/git-shell /usr/lib/git-core/git-http-backend /usr/lib/git-core/git-daemon \
        /usr/lib/git-core/scalar /usr/lib/git-core/git-http-fetch /usr/lib/git-core/git-http-push \
        /usr/lib/git-core/git-imap-send /usr/lib/git-core/git-instaweb /usr/bin/git-shell /usr/bin/scalar \
        /usr/lib/*-linux-gnu*/gconv /usr/lib/python3*/test /usr/share/gitweb \
    && { python3 -m pip uninstall -q -y pip setuptools wheel 2>/dev/null || true; } \
    && rm -rf /usr/local/lib/python3*/site-packages/pip* /usr/local/bin/pip* \
    && git --version \
    && ! dpkg-query -W perl-modules-\* >/dev/null 2>&1

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app

ENTRYPOINT ["/opt/venv/bin/python", "/app/entrypoint.py"]
