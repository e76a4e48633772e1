#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: iscsi_boot
short_description: Make an offline Windows installation (XP to Server 2025) boot from iSCSI
version_added: 0.1.0
description:
  - Edits the SYSTEM hive of a Windows that was installed on a local disk so that it boots from an iSCSI disk
    through iPXE (C(sanhook)/C(sanboot) with an iBFT), instead of stopping with 0x7B INACCESSIBLE_BOOT_DEVICE.
  - For each boot NIC in O(nics) it finds the driver and registers the NIC as a boot device. Windows XP to 7 / Server
    2008 R2 - Critical Device Database entries for the service (O(nics) C(service), a package in O(drivers), or an
    adapter the installation has seen).
  - Windows 8 / Server 2012 and later - the NIC's driver package becomes boot-critical the way Windows records it -
    Windows' own records of an installed package are copied from the DRIVERS hive into C(SYSTEM\DriverDatabase)
    unchanged; a package from O(drivers) that Windows does not have is staged as offline servicing
    (C(DISM /Add-Driver)) stages it, and Windows finishes its installation at the first boot (O(first_boot)). No
    package, name, date or version is made up; a NIC without a package is an error.
  - The driver's service is created, boot-start, from the package's C(AddService) when only the package has it.
  - The network path starts at boot - the NIC services and everything in their C(DependOnService) closure, C(NDIS),
    C(Tcpip), C(iScsiPrt) and C(PSched) get C(Start=0) and lose any C(StartOverride); the NIC service gets the
    network-boot C(BootFlags) bit; C(BootDriverFlags) gets it in C(Control) and in the current C(HardwareConfig);
    C(Tcpip) C(DisableDhcpMediaSense=1); C(DisablePagingExecutive=1).
  - Known traps are handled - the WFP lightweight filter (O(wfp_filter_optional)), device installation restriction
    policies that disable the Critical Device Database (O(reset_device_policy)), NIC power management
    (O(nic_power_management)), automatic reboot that hides a 0x7B (O(auto_reboot)).
  - Everything the module changes is recorded in the hive (key C(sanboot.windows) at its root) with the original
    types and bytes, so O(state=absent) puts back exactly what was there, in a later run, on another machine.
  - Each change, its reason and its source are listed in the collection's C(docs/how-it-works.md).
author:
  - sanboot.windows contributors (@sanboot)
extends_documentation_fragment:
  - sanboot.windows.hive
  - sanboot.windows.iscsi_boot
  - sanboot.windows.options.control_sets
  - sanboot.windows.options.lenient
options:
  state:
    description:
      - C(present) makes the installation iSCSI-bootable; C(absent) restores every value and key the module changed.
    type: str
    choices: [present, absent]
    default: present
  wfp_filter_optional:
    description:
      - Set the WFP lightweight filter's C(FilterRunType) to 2 (optional), Microsoft's documented offline fix for
        installations made on a local disk, where the filter is bound to every NIC and stops an iSCSI boot with 0x7B
        (KB 2507616, KB 976042). After the first boot the filter can be unbound from the boot NIC and this undone.
    type: bool
    default: true
  boot_driver_flags:
    description:
      - OR the network-boot bit (0x1) into C(Control\BootDriverFlags) and into C(HardwareConfig\<current>\BootDriverFlags)
        (Windows 8+). Not required when iPXE publishes an iBFT; a belt-and-braces setting whose location on Windows 8+
        is not documented by Microsoft, so both places are set.
    type: bool
    default: true
  auto_reboot:
    description:
      - Set C(CrashControl\AutoReboot) - C(false) keeps a stop error on screen instead of rebooting (useful on a first
        boot over iSCSI). Unset leaves it alone.
    type: bool
  nic_power_management:
    description:
      - C(false) stops Windows from powering the boot NIC off to save power (C(PnPCapabilities=24), KB 2740020), for
        adapters this installation has already set up. C(true) leaves the setting alone.
    type: bool
    default: false
  first_boot:
    description:
      - Windows 8 and later, images only - when a package is staged, add a first-boot step that lets Windows install
        it for real (C(pnputil /add-driver <inf> /install), C(pnputil -i -a) before Windows 10 1607). It runs once as
        SYSTEM before logon from C(HKLM\SYSTEM\Setup\CmdLine) (Microsoft KB 939857), logs to
        C(%SystemRoot%\sanboot\firstboot.log) and removes itself. The NIC already works then - Windows runs from
        iSCSI.
      - Unset means true for images and false for hive files (the step is a file in the installation). The task
        fails, changing nothing, when Windows has a setup step of its own pending (sysprep, OOBE).
    type: bool
  reset_device_policy:
    description:
      - Reset C(Control\PnP\DisableCDDB) and C(DontStartRawDevices) (set by device installation restriction Group
        Policies, KB 2773300) to 0, with a warning. C(false) only warns.
    type: bool
    default: true
notes:
  - Every registry change, its reason and its source are in C(docs/how-it-works.md), which ships with the
    collection (C(ansible_collections/sanboot/windows/docs/) where it is installed).
  - With O(hive), files of a driver taken from O(drivers) are not copied (the module edits a hive file); RV(files_to_copy)
    lists them. With O(image) they are written - on Windows 8 and later the package folder under
    C(System32\DriverStore\FileRepository), C(INF\oemN.inf), the catalog as
    C(System32\CatRoot\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\oemN.cat) and the files the INF copies to fixed folders
    (C(System32\drivers) for DIRID 12, C(System32) for 11; DIRID 13 runs from the package folder); on Windows 7 and
    older the files the INF copies (DIRID 13 to C(System32\drivers)). Identical files already there are not rewritten;
    a different one is refused.
  - O(state=absent) on Windows 8 and later keeps a staged package that Windows has since installed for real (it is
    Windows' now) and takes back everything else, files and first-boot step included.
  - The doctor's verdict on the result is returned as RV(ready) and RV(findings).
seealso:
  - module: sanboot.windows.iscsi_boot_info
  - module: sanboot.windows.critical_device
'''

EXAMPLES = r'''
- name: Make a Windows 7 image boot from iSCSI on QEMU's e1000 (in-box E1G60 driver)
  sanboot.windows.iscsi_boot:
    hive: /srv/win7/Windows/System32/config/SYSTEM
    software_hive: /srv/win7/Windows/System32/config/SOFTWARE
    nics:
      - id: PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03
        service: E1G60
    auto_reboot: false
  delegate_to: localhost

- name: Server 2022 on virtio-net, with the driver from an extracted virtio-win ISO
  sanboot.windows.iscsi_boot:
    hive: /srv/w2k22/Windows/System32/config/SYSTEM
    software_hive: /srv/w2k22/Windows/System32/config/SOFTWARE
    nics: [PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00]
    drivers: [/srv/virtio-win/NetKVM/2k22/amd64]
  delegate_to: localhost

- name: Server 2022 image - stage virtio-net as offline servicing does; Windows installs it at the first boot
  sanboot.windows.iscsi_boot:
    image: /srv/images/w2k22.qcow2
    nics: [PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00]
    drivers: [/srv/virtio-win/NetKVM/2k22/amd64]
  delegate_to: localhost

- name: Windows 10 hive files - make the installed NIC's package boot-critical (records from DRIVERS)
  sanboot.windows.iscsi_boot:
    hive: /srv/w10/Windows/System32/config/SYSTEM
    drivers_hive: /srv/w10/Windows/System32/config/DRIVERS
    software_hive: /srv/w10/Windows/System32/config/SOFTWARE
    nics: [PCI\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00]
  delegate_to: localhost

- name: Undo everything
  sanboot.windows.iscsi_boot:
    hive: /srv/win7/Windows/System32/config/SYSTEM
    state: absent
  delegate_to: localhost
'''

RETURN = r'''
os:
  description: The Windows version found and how (C(source) - the SOFTWARE hive, or the SYSTEM hive alone).
  returned: always
  type: dict
  sample: {name: Windows 7 Professional, version: '6.1', build: 7601, arch: x86, family: CriticalDeviceDatabase}
nics:
  description: Per boot NIC, its IDs, the driver service and where it came from, and (Windows 8+)
    C(driver_database) - what made its package boot-critical (C(state) - in place, copied from DRIVERS, staged,
    staged in SYSTEM only without the DRIVERS hive, or on a running host to be staged by pnputil) with the
    published INF, the package name and, for a staged package, its folder and files.
  returned: state is present
  type: list
  elements: dict
boot_start_services:
  description: Services set to start at boot.
  returned: state is present
  type: list
  elements: str
ready:
  description: The doctor's verdict on the installation as it is after this task (or would be, in check mode).
  returned: state is present
  type: bool
findings:
  description: The doctor's findings on the result (see M(sanboot.windows.iscsi_boot_info)).
  returned: state is present
  type: list
  elements: dict
dirty:
  description: Whether the SYSTEM hive header was dirty (only possible with O(allow_dirty=true)).
  returned: always
  type: bool
restored:
  description: Number of keys and values put back.
  returned: state is absent
  type: int
changes:
  description: One entry per registry operation (create_key, set_value, delete_value, delete_key), in order.
  returned: always
  type: list
  elements: dict
reg:
  description: The change as a C(.reg) file.
  returned: always
  type: str
backup_file:
  description: Path of the backup of the previous hive, when one was made.
  returned: changed and backup is true and not check mode
  type: str
files_written:
  description: Driver files copied into the image (guest paths).
  returned: with image
  type: list
  elements: str
files_removed:
  description: Files of staged packages and of the first-boot step removed by O(state=absent) (guest paths).
  returned: with image and state is absent
  type: list
  elements: str
files_to_copy:
  description: With O(hive), the files a staged package needs in the installation - C(source) (local path, or null
    for generated content) and C(target) (path under the Windows folder).
  returned: with hive, when a package is staged
  type: list
  elements: dict
files_to_remove:
  description: With O(hive) and O(state=absent), files of staged packages to delete (paths under the Windows folder).
  returned: with hive and state is absent
  type: list
  elements: str
first_boot:
  description: The first-boot step added - C(command) (in C(HKLM\SYSTEM\Setup\CmdLine)), C(script) and C(log) (paths
    under the Windows folder).
  returned: when a package is staged and O(first_boot) is on
  type: dict
packages_kept:
  description: Staged packages (C(oemN.inf)) O(state=absent) left in place because Windows has installed them since.
  returned: state is absent
  type: list
  elements: str
packages_removed:
  description: Staged packages O(state=absent) took back.
  returned: state is absent
  type: list
  elements: str
backup_files:
  description: Backups of the hive files written, by hive name (C(SYSTEM), C(DRIVERS)).
  returned: with hive, changed, backup is true and not check mode
  type: dict
results:
  description: With O(images), one result per image (each with the fields above, C(image) and C(root)).
  returned: with images
  type: list
  elements: dict
control_sets:
  description: Control sets that were edited.
  returned: state is present
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, offline


def main():
    argument_spec, constraints = iscsi_boot.argument_spec()
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **constraints)
    offline.run_module(module, iscsi_boot.run_iscsi_boot)


if __name__ == '__main__':
    main()
