#!/usr/bin/env bash
# make demo: run the main job on the embedded default, a real Windows 7 SP1 SYSTEM hive (tests/fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$PWD/build/collections ANSIBLE_NOCOLOR=1
work=$PWD/build/demo
rm -rf "$work"; mkdir -p "$work"
xz -dc tests/fixtures/hives/win7-sp1-x86.SYSTEM.xz > "$work/SYSTEM"
echo "### Demo hive: $work/SYSTEM (Windows 7 SP1 x86, see tests/fixtures/README.md)"
echo
echo "### ansible-playbook --diff playbooks/critical_device.yml"
ansible-playbook --diff -i localhost, playbooks/critical_device.yml -e "hive=$work/SYSTEM"
echo
echo "### Read back with hivexget (an independent reader)"
for key in 'ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e' \
           'ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e&subsys_11001af4&rev_03'; do
  echo "[$key]"; hivexget "$work/SYSTEM" "$key"; echo
done
echo "[ControlSet001\\Services\\E1G60] Start, BootFlags, Group, ImagePath"
for v in Start BootFlags Group ImagePath; do printf '  %s = ' "$v"; hivexget "$work/SYSTEM" 'ControlSet001\Services\E1G60' "$v"; done
echo
echo "### Second run: nothing left to change"
ansible-playbook -i localhost, playbooks/critical_device.yml -e "hive=$work/SYSTEM" | grep -E '^localhost'
