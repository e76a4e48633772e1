# shellcheck shell=bash
# Source this before running podman, molecule or ansible-builder for the tests: podman then reads the repository's
# containers.conf and keeps its images and containers under build/containers (one store per checkout, so
# `make clean` removes it and two checkouts on one machine do not share container names).
_sanboot_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CONTAINERS_CONF=$_sanboot_root/tests/containers/containers.conf
export CONTAINERS_STORAGE_CONF=$_sanboot_root/build/containers/storage.conf
# storage.conf takes absolute paths only, so it is written here. The run root holds locks and mount state: on tmpfs,
# one per checkout.
mkdir -p "$_sanboot_root/build/containers"
_sanboot_storage="[storage]
driver = \"overlay\"
graphroot = \"$_sanboot_root/build/containers/storage\"
runroot = \"/run/sanboot-containers/$(printf %s "$_sanboot_root" | sha256sum | cut -c1-12)\""
[ "$(cat "$CONTAINERS_STORAGE_CONF" 2>/dev/null)" = "$_sanboot_storage" ] ||
  printf '%s\n' "$_sanboot_storage" > "$CONTAINERS_STORAGE_CONF"
unset _sanboot_root _sanboot_storage
