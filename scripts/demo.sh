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
