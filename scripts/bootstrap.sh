#!/usr/bin/env bash
# Set up everything `make test`, `make demo` and `make bench` need on a fresh Debian 12 machine (base packages
# only): the Debian packages below, then a venv with the pinned Python packages that also sees Debian's
# hivex/guestfs bindings (they are not on PyPI; PyPI's "hivex" is unrelated). Then it checks each capability it
# installed, not only that a package is present; a failed check prints one line: what is missing and the fix.
# Idempotent; a second run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}

# Every Debian package the demo, the tests and the benchmarks use. bindep.txt lists the same set with its profile
# (tests/release/test_docs.py compares the two); the comment after each group names that profile.
APT_PACKAGES=(
  # default (the offline modules): hivex bindings and tools; libguestfs, which needs a kernel in /boot for its
  # appliance (supermin only reads it) and NTFS; qemu-img
  python3 python3-venv python3-hivex libhivex-bin
  python3-guestfs libguestfs-tools linux-image-amd64 ntfs-3g qemu-utils
  # test: building images (sfdisk, xz), the .reg cross-check (hivexregedit), an independent hive reader (libregf),
  # cab reading (cabextract), the boot
  # server (tgt, libiscsi, qemu with its iscsi:// driver, iPXE, nasm for the probe, iproute2, nginx), the
  # ansible-test tree (git, rsync) and its shellcheck sanity test
  shellcheck fdisk xz-utils libwin-hivex-perl python3-libregf cabextract
  tgt libiscsi-bin qemu-system-x86 qemu-block-extra ipxe nasm iproute2 nginx-light git rsync
  # test (containers): podman with runc (crun fails on these hosts' hybrid cgroups) and debootstrap for the local
  # base image of the molecule platforms and the execution environment (tests/containers)
  podman runc debootstrap
  # test: the real boot chain (tests/integration/test_boot_chain.py): dnsmasq, UEFI firmware, the UEFI probe
  dnsmasq-base ovmf gnu-efi gcc mtools
  # test: Secure Boot (tests/integration/test_secure_boot.py, scripts/sign-ipxe.sh): sbsign/sbverify and Debian's
  # unsigned shim (shimx64.efi), signed there with OVMF's test key; openssl decrypts that key
  sbsigntool shim-unsigned openssl
  # test: the fleet (tests/integration/test_fleet_boot.py): qemu-storage-daemon (qemu-system-common) exports overlays
  # through FUSE
  qemu-system-common fuse3
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt or dpkg run (unattended-upgrades, a second bootstrap) holds the lock for a while: wait for it.
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi

stamp=$VENV/.sanboot-bootstrap
want=$(cat requirements-dev.txt constraints.txt scripts/debian-venv.sh | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: building $VENV"
  scripts/debian-venv.sh "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
  echo "$want" > "$stamp"
fi

# The collection must sit at ansible_collections/sanboot/windows for Ansible and ansible-test.
mkdir -p build/collections/ansible_collections/sanboot
ln -sfn "$ROOT" build/collections/ansible_collections/sanboot/windows

# Capability checks: each takes well under a second, so they run every time.
failed=0
fail() { echo "bootstrap: $*" >&2; failed=1; }

# libguestfs builds its appliance from the host's kernel: supermin wants /boot/vmlinuz-<v> it can read and
# /lib/modules/<v>. (Ubuntu's kernels are 0600, root-only.)
kernel_ok=""
for k in /boot/vmlinuz-*; do
  [ -r "$k" ] && [ -d "/lib/modules/${k#/boot/vmlinuz-}" ] && { kernel_ok=$k; break; }
done
if [ -z "$kernel_ok" ]; then
  if ls /boot/vmlinuz-* >/dev/null 2>&1; then
    fail "libguestfs cannot read a kernel in /boot (root-only on Ubuntu): sudo chmod 0644 /boot/vmlinuz-*"
  else
    fail "libguestfs finds no kernel in /boot for its appliance: sudo apt-get install linux-image-amd64"
  fi
fi

# qemu's iscsi:// block driver is a loadable module (qemu-block-extra). A closed port on 127.0.0.1 answers at
# once: with the driver the error is about the connection, without it "Unknown protocol 'iscsi'".
qemu_says=$(qemu-img info iscsi://127.0.0.1:1/iqn.2024-01.invalid:check/1 2>&1 || true)
if [[ $qemu_says == *"Unknown protocol"* ]]; then
  fail "qemu has no iscsi:// block driver: sudo apt-get install qemu-block-extra"
fi

# The venv sees Debian's bindings and has its pinned tools.
if ! out=$("$VENV/bin/python" -c 'import hivex, guestfs, pyregf, dissect.regf, ansible, winrm, pytest, hypothesis' 2>&1)
then
  fail "the venv $VENV cannot import its requirements ($(echo "$out" | tail -n 1)):" \
    "sudo apt-get install python3-hivex python3-guestfs python3-libregf, then rm -rf $VENV and run make bootstrap"
fi

# tgtd starts and answers on its control socket (in a private network namespace, so no port is taken; needs root,
# as the boot-server tests do).
if [ "$(id -u)" -eq 0 ] && command -v tgtd >/dev/null; then
  # shellcheck disable=SC2016  # the inner shell expands these
  if ! unshare --net sh -c '
      ip link set lo up
      n=$((900 + $$ % 99)); tgtd -f -C $n --iscsi portal=127.0.0.1:3260 >/dev/null 2>&1 & pid=$!
      ok=1; for i in $(seq 50); do tgtadm -C $n --mode sys --op show >/dev/null 2>&1 && { ok=0; break; }; sleep 0.05; done
      kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f /var/run/tgtd/socket.$n /var/run/tgtd/socket.$n.lock
      exit $ok'; then
    fail "tgtd does not start (try: tgtd -f): sudo apt-get install --reinstall tgt"
  fi
elif ! command -v tgtd >/dev/null; then
  fail "tgtd is missing: sudo apt-get install tgt"
fi

# podman runs a container with the repository's settings (tests/containers/containers.conf: runc, cgroupfs, no
# default ulimits), well under a second. Its root is a folder holding /bin/true and the libraries it links, so no
# image is needed here (tests/containers/setup.sh builds the images when the container stage first runs).
if [ "$(id -u)" -eq 0 ] && command -v podman >/dev/null; then
  probe=$ROOT/build/containers/probe-rootfs
  if [ ! -x "$probe/bin/true" ]; then
    mkdir -p "$probe/bin"
    cp /usr/bin/true "$probe/bin/true"
    for lib in $(ldd /usr/bin/true | grep -o '/[^ ]*'); do
      mkdir -p "$probe$(dirname "$lib")" && cp -L "$lib" "$probe$lib"
    done
  fi
  # shellcheck source=tests/containers/env.sh
  if ! out=$(. tests/containers/env.sh && podman run --rm --network none --rootfs "$probe" /bin/true 2>&1); then
    fail "podman cannot run a container with tests/containers/containers.conf ($(echo "$out" | tail -n 1)):" \
      "sudo apt-get install podman runc"
  fi
elif ! command -v podman >/dev/null; then
  fail "podman is missing: sudo apt-get install podman runc"
fi

[ "$failed" -eq 0 ] || { echo "bootstrap: set-up incomplete (see above)" >&2; exit 1; }
