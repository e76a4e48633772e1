#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: critical_device
short_description: Make a device boot-critical in an offline Windows XP - 7 / Server 2003 - 2008 R2 SYSTEM hive
version_added: 0.1.0
description:
  - Writes Critical Device Database entries (C(Control\CriticalDeviceDatabase\<hardware id>), each with
    C(ClassGUID) and C(Service); the key name is the ID with each backslash replaced by a hash sign) and the
    driver's C(Services\<service>) values into an offline SYSTEM hive, so that
    Windows XP, Vista, 7, Server 2003, 2008 and 2008 R2 start the device's driver during early boot. This is what
    an iSCSI-booted Windows needs for its network adapter, and what a Windows moved to a new storage
    controller needs for that controller.
  - Windows 8 / Server 2012 and later ignore the Critical Device Database; the module warns when the hive is
    one of those (it has a C(DriverDatabase) key at its root). Use M(sanboot.windows.iscsi_boot) there.
  - With O(state=absent) it removes exactly the entries it names and never a service key.
  - The control set is found through C(Select\Current) (C(Default) when C(Current) is 0); there is no
    C(CurrentControlSet) key in a hive file.
author:
  - sanboot.windows contributors (@sanboot)
extends_documentation_fragment:
  - sanboot.windows.hive
  - sanboot.windows.critical_device
options:
  hardware_ids:
    description:
      - PnP hardware or compatible IDs of the device, as Windows lists them, for example
        C(PCI\VEN_8086&DEV_100E) (every revision and subsystem of that chip) and the most specific
        C(PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03).
      - Windows looks up the device's hardware IDs and then its compatible IDs in order; the first entry found
        wins. Giving the vendor/device form is what makes the entry match on other boards.
      - PCI IDs may also be given as lspci prints them (C(8086:100e), C([8086:100e]), a whole C(lspci -nn) line);
        they are written in Windows' form. IDs with spaces, commas, quotes, C(#) or empty, C(.) or C(..) parts
        between backslashes are refused, as in every module of the collection.
      - Required unless O(driver) is given; then the IDs come from the package (restricted by O(devices)).
    type: list
    elements: str
  driver:
    description:
      - A driver package (an INF file or a folder of them) to take everything from, instead of O(service) and
        O(class) - the hardware IDs of the driver Windows would choose (for O(devices) when given), the service name,
        its settings (type, start, error control, group, C(ImagePath) as Windows writes it) and the service-install
        section's AddReg values. O(start), O(type), O(error_control), O(group), O(image_path) and O(boot_flags)
        still override.
      - The package is matched as Windows 7 (NT 6.1) of the hive's architecture
        (C(Control\Session Manager\Environment\PROCESSOR_ARCHITECTURE)).
      - The driver's files are not copied (this module edits the registry); see M(sanboot.windows.driver_info).
    type: path
  devices:
    description:
      - With O(driver), the PCI IDs seen on the real hardware, most specific first; the driver Windows would pick
        for them is used and only their IDs are written.
    type: list
    elements: str
  lenient:
    description:
      - With O(driver), also accept undecorated Models sections on 64-bit Windows (old tools do; Windows does not).
    type: bool
    default: false
  templates:
    description:
      - With O(driver), substitutions for source templates (C($ARCH$), C(INX_*)); C({}) substitutes C($ARCH$).
    type: dict
  service:
    description:
      - Name of the driver service (the key under C(Services)), for example C(E1G60) for the in-box Intel
        PRO/1000 driver of Windows 7, C(netkvm) for virtio-net, C(viostor) for virtio-blk.
      - Required with O(state=present) unless O(driver) is given. With O(state=absent) only entries that point to
        this service are removed; others are left in place with a warning.
    type: str
  class_guid:
    description:
      - Setup class GUID written as C(ClassGUID), for example C({4D36E972-E325-11CE-BFC1-08002BE10318}) (Net).
      - Mutually exclusive with O(class). One of them (or O(driver)) is required with O(state=present).
    type: str
  class:
    description:
      - Device setup class name, mapped to its GUID (C(Net), C(SCSIAdapter), C(HDC), C(DiskDrive), C(System),
        C(Volume), C(USB), C(InfiniBand), C(NetService), C(NetTrans), C(NetClient)); case-insensitive.
    type: str
  start:
    description:
      - Start type of the service, C(0)..C(4) or C(boot), C(system), C(auto), C(demand), C(disabled).
        An iSCSI boot NIC needs C(boot).
    type: raw
  type:
    description:
      - Service type, a number or C(kernel) (1), C(filesystem) (2); drivers are C(kernel).
    type: raw
  group:
    description:
      - Service load order group (C(Group)), for example C(NDIS) for network adapters, C(SCSI miniport) for storage.
    type: str
  image_path:
    description:
      - Driver file, written as C(ImagePath) (REG_EXPAND_SZ), for example C(system32\DRIVERS\E1G60I32.sys).
      - Needed only when the service does not exist yet; the service is then created as a kernel driver with
        O(start), O(type), O(error_control) defaulting to C(0), C(1), C(1). The driver file itself must be placed
        in the image separately.
    type: str
  boot_flags:
    description:
      - Service C(BootFlags) (REG_DWORD), for example C(1) (CM_SERVICE_NETWORK_BOOT_LOAD), which makes Windows
        promote the driver to boot start when it boots from the network (an iBFT is present).
    type: int
  control_sets:
    description:
      - C(current) edits the control set Windows will boot with (C(Select\Current)).
      - C(all) edits every control set that C(Select) names (Current, Default and LastKnownGood), so that
        "Last Known Good Configuration" boots from the network too.
    type: str
    choices: [current, all]
    default: current
notes:
  - The entries only tell Windows which driver to start for the device; the driver itself must be installed
    (its service key and file present). Windows 7 ships E1G60 (Intel PRO/1000, QEMU's e1000) in-box.
  - A Group Policy that restricts device installation sets C(Control\PnP\DisableCDDB) and makes Windows ignore
    these entries; the module warns when it finds it.
seealso:
  - module: sanboot.windows.hive_regedit
  - name: Windows on iSCSI, part 2 (Cyberus Technology)
    description: How a locally installed Windows 7 was made to boot from iSCSI with one CDDB entry.
    link: https://cyberus-technology.de/en/articles/windows-on-iscsi-part2
  - name: "KB 314082: a storage controller change causes Stop 0x7B"
    description: Microsoft's canonical Critical Device Database example.
    link: https://ftp.zx.net.nz/pub/archive/ftp.microsoft.com/MISC/KB/en-us/314/082.HTM
'''

EXAMPLES = r'''
- name: Make QEMU's e1000 NIC boot-critical in a Windows 7 SYSTEM hive
  sanboot.windows.critical_device:
    hive: /srv/images/win7/Windows/System32/config/SYSTEM
    hardware_ids:
      - PCI\VEN_8086&DEV_100E
      - PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03
    service: E1G60
    class: Net
    start: boot
    boot_flags: 1
  delegate_to: localhost

- name: Same for every control set Select names, without keeping a backup
  sanboot.windows.critical_device:
    hive: /srv/images/win7/Windows/System32/config/SYSTEM
    hardware_ids: [PCI\VEN_8086&DEV_100E]
    service: E1G60
    class_guid: '{4D36E972-E325-11CE-BFC1-08002BE10318}'
    control_sets: all
    backup: false
  delegate_to: localhost

- name: Register a virtio-blk storage driver whose file was copied into the image
  sanboot.windows.critical_device:
    hive: /srv/images/w2k8r2/Windows/System32/config/SYSTEM
    hardware_ids: [PCI\VEN_1AF4&DEV_1001, PCI\VEN_1AF4&DEV_1042]
    service: viostor
    class: SCSIAdapter
    image_path: system32\drivers\viostor.sys
    group: SCSI miniport
  delegate_to: localhost

- name: Everything from the virtio-win driver package (Windows 2008 R2, x64)
  sanboot.windows.critical_device:
    hive: /srv/images/w2k8r2/Windows/System32/config/SYSTEM
    driver: /srv/virtio-win/NetKVM/2k8R2/amd64
    devices: [PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00]
    start: boot
    boot_flags: 1
  delegate_to: localhost

- name: Remove the entries again (the E1G60 service stays)
  sanboot.windows.critical_device:
    hive: /srv/images/win7/Windows/System32/config/SYSTEM
    hardware_ids: [PCI\VEN_8086&DEV_100E]
    service: E1G60
    state: absent
  delegate_to: localhost
'''

RETURN = r'''
entries:
  description: Critical Device Database keys written (or removed), hive-relative.
  returned: always
  type: list
  elements: str
  sample: ['ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e']
control_sets:
  description: Control sets that were edited.
  returned: always
  type: list
  elements: str
  sample: [ControlSet001]
changes:
  description: One entry per registry operation (create_key, set_value, delete_value, delete_key), in order.
  returned: always
  type: list
  elements: dict
  sample: [{op: set_value, key: 'ControlSet001\Services\E1G60', name: Start,
            before: {name: Start, type: REG_DWORD, data: 3}, after: {name: Start, type: REG_DWORD, data: 0}}]
reg:
  description: The change as a C(.reg) file (regedit / C(hivexregedit --merge) syntax); empty when nothing changes.
  returned: always
  type: str
backup_file:
  description: Path of the backup of the previous hive, when one was made.
  returned: changed and backup is true and not check mode
  type: str
  sample: /srv/images/win7/Windows/System32/config/SYSTEM.4242.2026-11-25@12:00:00~
dirty:
  description: Whether the hive header was dirty (only possible with O(allow_dirty=true)).
  returned: always
  type: bool
results:
  description: With O(images), one result per image (the fields above, plus C(image) and C(root)).
  returned: with images
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import critical_device, offline


def main():
    argument_spec, constraints = critical_device.argument_spec()
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **constraints)
    offline.run_module(module, critical_device.run)


if __name__ == '__main__':
    main()
