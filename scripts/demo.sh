#!/usr/bin/env bash
# make demo: the main job on the embedded default, a real Windows 7 SP1 SYSTEM hive (tests/fixtures):
# make it boot from iSCSI on QEMU's e1000 NIC, with the doctor's report before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$PWD/build/collections ANSIBLE_NOCOLOR=1
work=$PWD/build/demo
rm -rf "$work"; mkdir -p "$work"
xz -dc tests/fixtures/hives/win7-sp1-x86.SYSTEM.xz > "$work/SYSTEM"
xz -dc tests/fixtures/hives/phony-win7-32.SOFTWARE.xz > "$work/SOFTWARE"
echo "### Demo hive: $work/SYSTEM (Windows 7 SP1 x86; SOFTWARE: virt-v2v's phony Windows 7; see tests/fixtures/README.md)"
echo "### Boot NIC: QEMU's e1000, PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03, in-box driver E1G60"
echo
ansible-playbook --diff -i localhost, playbooks/prepare_hive.yml -e "system_hive=$work/SYSTEM" \
  -e "software_hive=$work/SOFTWARE"
echo
echo "### Read back with hivexget (an independent reader)"
for key in 'ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e' \
           'ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e&subsys_11001af4&rev_03'; do
  echo "[$key]"; hivexget "$work/SYSTEM" "$key"; echo
done
for svc in E1G60 NDIS Tcpip iScsiPrt; do
  printf 'ControlSet001\\Services\\%-8s Start=%s\n' "$svc" "$(hivexget "$work/SYSTEM" "ControlSet001\\Services\\$svc" Start)"
done
echo
echo "### Second run: nothing left to change"
ansible-playbook -i localhost, playbooks/prepare_hive.yml -e "system_hive=$work/SYSTEM" -e "software_hive=$work/SOFTWARE" \
  | grep -E '^localhost'

echo
echo "### The same inside a disk image: build a qcow2 image (MBR, NTFS, Windows 7 hives) and prepare it"
if [ "$(id -u)" -ne 0 ]; then
  echo "(skipped: building the NTFS demo image needs FUSE as root; the image modules themselves do not)"
  exit 0
fi
python - "$ANSIBLE_COLLECTIONS_PATH" "$work/win7.qcow2" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.sanboot.windows.tests.helpers import make_windows_image
make_windows_image(sys.argv[2], fmt='qcow2')
PY
qemu-img info "$work/win7.qcow2" | head -3
echo "(libguestfs runs its appliance with LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-<default>}; about 20-40 s per start under TCG)"
ansible-playbook -i localhost, playbooks/prepare_image.yml -e report_before=true -e "target_dir=$work/target" \
  -e convert_to=raw -e "{\"images\": [{\"path\": \"$work/win7.qcow2\"}], \"boot_nics\": [{\"id\": \"PCI\\\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03\", \"service\": \"E1G60\"}]}"
ls -la "$work/target"
