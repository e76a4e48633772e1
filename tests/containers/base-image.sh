#!/usr/bin/env bash
# The local base image of the container tests: Debian 12 from Debian's own archive (no image registry is needed),
# made the way Debian's official image is, `debootstrap --variant=minbase`, plus ca-certificates and the CA
# certificates this machine adds to its own trust store (/usr/local/share/ca-certificates: a TLS-inspecting proxy's,
# for example), so that apt and pip inside builds trust what the host trusts (Debian's pip reads the system's store).
#
# The root file system is built once (about 3 minutes) and kept as build/containers/debian-bookworm.tar; later runs
# only import it into podman's store when the store lacks it (a few seconds). The key (this script and the added
# certificates) decides when it is stale. Tags: localhost/sanboot-debian:bookworm, and docker.io/library/debian:bookworm
# in the test's own store, so the user guide's execution-environment.yml builds on it as written.
# Usage: tests/containers/base-image.sh  (prints the image name)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=tests/containers/env.sh
. tests/containers/env.sh
IMAGE=localhost/sanboot-debian:bookworm
ALIAS=docker.io/library/debian:bookworm
MIRROR=${SANBOOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=$ROOT/build/containers/debian-bookworm.tar
key=$( { cat "$0"; cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true; } | sha256sum | cut -c1-16)

exec 9> "$ROOT/build/containers/base-image.lock"
flock 9

if [ ! -s "$CACHE" ] || [ "$(cat "$CACHE.key" 2>/dev/null)" != "$key" ]; then
  t0=$SECONDS
  echo "base image: debootstrap --variant=minbase bookworm from $MIRROR" >&2
  rootfs=$ROOT/build/containers/rootfs
  rm -rf "$rootfs" "$CACHE" "$CACHE.key"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$MIRROR" > "$ROOT/build/containers/debootstrap.log" 2>&1 ||
    { tail -n 30 "$ROOT/build/containers/debootstrap.log" >&2; exit 1; }
  rm -f "$rootfs/etc/apt/sources.list"
  cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  if ls /usr/local/share/ca-certificates/*.crt > /dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates > /dev/null 2>&1
  fi
  # As in Debian's image: no package lists or downloaded packages (builds run apt-get update first).
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar --numeric-owner -C "$rootfs" -cf "$CACHE.tmp" .
  rm -rf "$rootfs"
  mv "$CACHE.tmp" "$CACHE"
  echo "$key" > "$CACHE.key"
  echo "base image: root file system built in $((SECONDS - t0)) s" >&2
fi

if [ "$(podman image inspect --format '{{index .Config.Labels "sanboot.base"}}' "$IMAGE" 2>/dev/null)" != "$key" ]; then
  podman import --quiet --change 'CMD ["bash"]' --change "LABEL sanboot.base=$key" "$CACHE" "$IMAGE" > /dev/null
  podman tag "$IMAGE" "$ALIAS"
  echo "base image: imported $IMAGE" >&2
fi
echo "$IMAGE"
