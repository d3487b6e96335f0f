#!/usr/bin/env bash
# Build the action's real image (the repository's Dockerfile) with buildah and run the end-to-end
# action tests inside it. Docker is not needed: buildah builds the Dockerfile as `docker build`
# would, against a local base image made with debootstrap (no registry needed).
#
# The base is built like the shipped one (python:3.13.x-slim-trixie) as far as Debian packages
# allow: Debian 13 "trixie", minbase, Debian's Python 3.13, no git (so the Dockerfile's git
# install runs in every test build, as it does on python:slim), and the docs, man pages and
# locales left out as Debian's slim images leave them out.
#
#   bash scripts/container-test.sh          # base (cached) + build + the `container` tests
#   bash scripts/container-test.sh base     # only make sure the local base image exists
#   bash scripts/container-test.sh build    # base + build the image (prints build time and size)
#
# Environment:
#   IMAGEGEN_CONTAINER_IMAGE   image tag to build/test   (default localhost/imagegen:test)
#   IMAGEGEN_CONTAINER_CACHE   where the base rootfs tarball is cached between runs
#                              (default /var/cache/imagegen-container; keep it across CI runs to
#                              skip the ~1 minute debootstrap)
# Needs root and: buildah podman debootstrap (bash scripts/install-container-tools.sh installs them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${IMAGEGEN_CONTAINER_IMAGE:-localhost/imagegen:test}"
SUITE=trixie
BASE_IMAGE="localhost/pybase:$SUITE-slim"
CACHE="${IMAGEGEN_CONTAINER_CACHE:-/var/cache/imagegen-container}"
BASE_PACKAGES="python3,python3-venv,ca-certificates"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
B=(buildah --storage-driver vfs)

log() { echo "container-test: $*" >&2; }

ensure_base() {
    if "${B[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
        return
    fi
    local tarball key
    key="$(echo "$SUITE $BASE_PACKAGES slim-1" | sha256sum | cut -c1-12)"
    tarball="$CACHE/pybase-$SUITE-$key.tar"
    if [ ! -s "$tarball" ]; then
        local mirror rootfs start
        mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
        mirror="${mirror:-http://deb.debian.org/debian}"
        rootfs="$(mktemp -d /tmp/imagegen-rootfs.XXXXXX)"
        start=$(date +%s)
        log "making the Debian base image with debootstrap from $mirror (cached in $CACHE) ..."
        debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$rootfs" "$mirror" >/tmp/imagegen-debootstrap.log 2>&1 \
            || { tail -20 /tmp/imagegen-debootstrap.log >&2; exit 1; }
        # what Debian's slim images leave out (their dpkg path-exclude list), and no caches
        mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
        printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
            'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
            >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
        find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
        rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
            "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
        echo "deb $mirror $SUITE main" >"$rootfs/etc/apt/sources.list"
        mkdir -p "$CACHE"
        tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs"
        log "base rootfs ready in $(( $(date +%s) - start ))s"
    fi
    podman --storage-driver vfs import - "$BASE_IMAGE" <"$tarball" >/dev/null
    log "imported $BASE_IMAGE"
}

build() {
    ensure_base
    local args=() start
    if [ -f "$CA_BUNDLE" ]; then
        # Builds behind a TLS-inspecting proxy: the RUN steps see this machine's CA bundle, and
        # pip (which otherwise trusts only its own bundle) is pointed at it. Harmless elsewhere.
        local pipconf
        pipconf="$(mktemp /tmp/imagegen-pip.XXXXXX.conf)"
        printf '[global]\ncert = %s\n' "$CA_BUNDLE" >"$pipconf"
        chmod 644 "$pipconf"
        args+=(-v "$CA_BUNDLE:$CA_BUNDLE:ro" -v "$pipconf:/etc/pip.conf:ro")
    fi
    start=$(date +%s)
    log "building $IMAGE from $ROOT/Dockerfile ..."
    "${B[@]}" bud --isolation chroot --layers "${args[@]}" \
        --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >&2
    log "built $IMAGE in $(( $(date +%s) - start ))s; size $("${B[@]}" images --format '{{.Size}}' "$IMAGE" | head -1) (base $BASE_IMAGE: $("${B[@]}" images --format '{{.Size}}' "$BASE_IMAGE" | head -1))"
    # vfs stores every layer as a full copy: drop the layers of earlier builds (this build's stay as cache)
    "${B[@]}" rmi --prune >/dev/null 2>&1 || true
}

case "${1:-all}" in
    base) ensure_base ;;
    build) build ;;
    all)
        build
        # shellcheck source=scripts/_venv.sh
        source "$ROOT/scripts/_venv.sh"
        cd "$ROOT"
        IMAGEGEN_CONTAINER_IMAGE="$IMAGE" IMAGEGEN_CONTAINER_BUILT=1 exec "$PY" -m pytest -q -m container tests/test_container.py
        ;;
    *) echo "usage: $0 [base|build|all]" >&2; exit 2 ;;
esac
