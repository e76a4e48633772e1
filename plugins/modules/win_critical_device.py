#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done by the action plugin of the same name, on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: win_critical_device
short_description: Make a device boot-critical on a running Windows 7 / Server 2008 R2, over WinRM
version_added: 0.1.0
description:
  - The live twin of M(sanboot.windows.critical_device) - same options (without the hive file options) and same
    results - for a Windows host reached over WinRM. Writes Critical Device Database entries
    (C(Control\CriticalDeviceDatabase\<hardware id>) with C(ClassGUID) and C(Service)) and the driver's
    C(Services\<service>) values, so that Windows starts the device's driver during early boot.
  - The change is planned on the controller by the offline engine on a partial working hive built from the keys it
    declares it reads (C(reg query); nothing is saved or copied off the host) and imported with one C(reg import);
    one WinRM shell and two commands per task in the common case, whatever the number of values.
  - Uses the host's WinRM connection variables as Ansible's winrm connection plugin names and types them
    (C(ansible_host), C(ansible_port), C(ansible_user), C(ansible_password), C(ansible_winrm_scheme),
    C(ansible_winrm_transport), C(ansible_winrm_server_cert_validation), ...) through pywinrm on the controller;
    Ansible's own connection is never used. The host only runs stock commands (C(cmd.exe), C(reg.exe)), so stock
    Windows 7 SP1 (WinRM 2.0, PowerShell 2.0) works, in any display language. See C(docs/live-hosts.md).
author:
  - sanboot.windows contributors (@sanboot)
extends_documentation_fragment:
  - sanboot.windows.live
  - sanboot.windows.critical_device
  - sanboot.windows.options.control_sets
options:
  hardware_ids:
    description:
      - PnP hardware or compatible IDs of the device, as Windows lists them, for example C(PCI\VEN_8086&DEV_100E).
      - PCI IDs may also be given as lspci prints them (C(8086:100e), C([8086:100e]), a whole C(lspci -nn) line);
        they are written in Windows' form. IDs with spaces, commas, quotes, C(#) or empty, C(.) or C(..) parts
        between backslashes are refused, as in every module of the collection.
    type: list
    elements: str
    required: true
  service:
    description:
      - Name of the driver service, for example C(E1G60). Required with O(state=present). With O(state=absent) only
        entries that point to this service are removed.
    type: str
  class_guid:
    description:
      - Setup class GUID written as C(ClassGUID). Mutually exclusive with O(class).
    type: str
  class:
    description:
      - Device setup class name, mapped to its GUID (C(Net), C(SCSIAdapter), C(HDC), ...); case-insensitive.
    type: str
  start:
    description:
      - Start type of the service, C(0)..C(4) or C(boot), C(system), C(auto), C(demand), C(disabled).
    type: raw
  type:
    description:
      - Service type, a number or C(kernel) (1), C(filesystem) (2).
    type: raw
  group:
    description:
      - Service load order group (C(Group)).
    type: str
  image_path:
    description:
      - Driver file, written as C(ImagePath) (REG_EXPAND_SZ); needed only when the service does not exist yet.
    type: str
  boot_flags:
    description:
      - Service C(BootFlags) (REG_DWORD), for example C(1) (CM_SERVICE_NETWORK_BOOT_LOAD).
    type: int
  system_import:
    description:
      - C(always) imports the change through a one-shot scheduled task running as SYSTEM; C(auto) only when the change
        writes C(DriverDatabase) (never the case here); C(never) never.
    type: str
    choices: [auto, always, never]
    default: auto
attributes:
  check_mode:
    support: full
    description: Reads the host and reports the change, with diff, without writing anything.
  diff_mode:
    support: full
    description: Shows the registry change as C(.reg) text.
requirements:
  - On the controller - pywinrm, and the libhivex Python bindings from the distribution (C(python3-hivex)).
  - On the host - WinRM enabled; a user that is an elevated administrator (to write C(HKLM\SYSTEM)).
seealso:
  - module: sanboot.windows.critical_device
  - module: sanboot.windows.win_iscsi_boot
'''

EXAMPLES = r'''
- name: Make QEMU's e1000 NIC boot-critical on a running Windows 7
  sanboot.windows.win_critical_device:
    hardware_ids:
      - PCI\VEN_8086&DEV_100E
      - PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03
    service: E1G60
    class: Net
    start: boot
    boot_flags: 1

- name: Remove the entries again
  sanboot.windows.win_critical_device:
    hardware_ids: [PCI\VEN_8086&DEV_100E]
    service: E1G60
    state: absent
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
changes:
  description: One entry per registry operation (create_key, set_value, delete_value, delete_key), in order.
  returned: always
  type: list
  elements: dict
reg:
  description: The change as a C(.reg) file (regedit / C(hivexregedit --merge) syntax); empty when nothing changes.
  returned: always
  type: str
dirty:
  description: Always false (the working hive built from what was read is written cleanly).
  returned: always
  type: bool
applied_as:
  description: Who imported the change - the WinRM user, or V(SYSTEM (schtasks\)).
  returned: changed and not check mode
  type: str
winrm:
  description: WinRM requests, commands, bytes sent and received, and seconds, in total and per phase.
  returned: always
  type: dict
applied:
  description: When the import failed halfway, the operations of RV(changes) that are in effect on the host.
  returned: failed during the import
  type: list
  elements: dict
not_applied:
  description: When the import failed halfway, the operations of RV(changes) that are not in effect.
  returned: failed during the import
  type: list
  elements: dict
'''
