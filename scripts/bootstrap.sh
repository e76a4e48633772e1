#!/usr/bin/env bash
# Set up everything `make test`, `make demo` and `make bench` need on a fresh Debian 12 machine:
# Debian packages (hivex bindings and tools, libguestfs, tgt, qemu, iPXE) and a venv with pinned Python
# packages that also sees Debian's hivex/guestfs bindings (they are not on PyPI; PyPI's "hivex" is unrelated).
# Idempotent and quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}

APT_PACKAGES=(
  python3 python3-venv python3-hivex libhivex-bin libwin-hivex-perl xz-utils
  libguestfs-tools python3-guestfs ntfs-3g qemu-utils qemu-system-x86
  tgt libiscsi-bin ipxe nasm iproute2 git rsync nginx-light
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" || $SUDO apt-get install -y -q "${missing[@]}"
fi

stamp=$VENV/.sanboot-bootstrap
want=$(cat requirements-dev.txt constraints.txt | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: building $VENV"
  scripts/debian-venv.sh "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
  echo "$want" > "$stamp"
fi
"$VENV/bin/python" -c 'import hivex, guestfs, ansible, winrm, pytest, hypothesis' \
  || { echo "bootstrap: the venv cannot import its requirements" >&2; exit 1; }

# The collection must sit at ansible_collections/sanboot/windows for Ansible and ansible-test.
mkdir -p build/collections/ansible_collections/sanboot
ln -sfn "$ROOT" build/collections/ansible_collections/sanboot/windows
