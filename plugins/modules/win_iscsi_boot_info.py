#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done by the action plugin of the same name, on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: win_iscsi_boot_info
short_description: Tell whether a running Windows will boot from iSCSI, and list its network adapters, over WinRM
version_added: 0.1.0
description:
  - The live twin of M(sanboot.windows.iscsi_boot_info) - same options (without the hive file options) and same
    results, plus which adapters are present now - for a Windows host reached over WinRM.
  - Reports the Windows version, the control sets, the network adapters the installation has seen with their
    hardware and compatible IDs, driver service and PCI location path, and whether each is present now (its
    volatile C(Enum\...\Control) key names an C(ActiveService)), so they can be fed to O(nics) of
    M(sanboot.windows.win_iscsi_boot) or of the offline modules; and the doctor's findings.
  - Never writes anything; reads only the keys the doctor declares it reads with C(reg query), in one or two WinRM
    commands. Keys that only SYSTEM may read (a device's C(Properties)) are left out; a location path then comes
    from C(LocationInformation).
  - Uses the host's WinRM connection variables as Ansible's winrm connection plugin names and types them
    (C(ansible_host), C(ansible_port), C(ansible_user), C(ansible_password), C(ansible_winrm_scheme),
    C(ansible_winrm_transport), C(ansible_winrm_server_cert_validation), ...) through pywinrm on the controller;
    Ansible's own connection is never used. The host only runs stock commands (C(cmd.exe), C(reg.exe)), so stock
    Windows 7 SP1 (WinRM 2.0, PowerShell 2.0) works, in any display language. See C(docs/live-hosts.md).
author:
  - sanboot.windows contributors (@sanboot)
extends_documentation_fragment:
  - sanboot.windows.live
  - sanboot.windows.iscsi_boot.info
options:
  nics:
    description:
      - The boot network adapters to check, as in M(sanboot.windows.win_iscsi_boot).
    type: list
    elements: raw
  drivers:
    description:
      - Driver packages on the controller to look the NIC driver up in, as in M(sanboot.windows.win_iscsi_boot).
    type: list
    elements: path
    default: []
  lenient:
    description:
      - Also accept undecorated Models sections on 64-bit Windows.
    type: bool
    default: false
  templates:
    description:
      - Substitutions for driver source templates met in O(drivers).
    type: dict
requirements:
  - On the controller - pywinrm, and the libhivex Python bindings from the distribution (C(python3-hivex)).
  - On the host - WinRM enabled; a user that may read C(HKLM\SYSTEM) (any administrator).
seealso:
  - module: sanboot.windows.iscsi_boot_info
  - module: sanboot.windows.win_iscsi_boot
'''

EXAMPLES = r'''
- name: Which adapters does this Windows have, and will it boot from iSCSI through the e1000?
  sanboot.windows.win_iscsi_boot_info:
    nics:
      - id: PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03
        service: E1G60
  register: doctor

- name: Feed the present adapters to the offline module for an image of the same machine
  ansible.builtin.debug:
    msg: "{{ doctor.present_adapters | map(attribute='hardware_ids') | map('first') | list }}"
'''

RETURN = r'''
os:
  description: Windows version, build, architecture, product type, which boot-device database it uses, and how that was
    found.
  returned: always
  type: dict
control_sets:
  description: C(Select) values, the current control set and all control sets C(Select) names.
  returned: always
  type: dict
adapters:
  description:
    - Network adapters the installation has seen (C(Enum\PCI) instances of class Net), each with C(instance),
      C(description), C(hardware_ids), C(compatible_ids), C(service), C(location_path), C(service_start),
      C(starts_at_boot), C(present) (the device is there now) and C(active_service).
  returned: always
  type: list
  elements: dict
present_adapters:
  description: The entries of RV(adapters) that are present now.
  returned: always
  type: list
  elements: dict
nics:
  description: The boot NICs asked about, with the driver found for each (or null). On Windows 8 and later the
    driver's C(package_state) says how M(sanboot.windows.iscsi_boot) makes its package boot-critical, in its
    words - in place, copied from DRIVERS, staged - or C(named by an installed adapter) (the DRIVERS hive is
    needed to copy its records).
  returned: always
  type: list
  elements: dict
findings:
  description:
    - Each with C(id), C(severity) (error, warning, info), C(message), C(fix) and C(evidence) (key, value, type, data).
  returned: always
  type: list
  elements: dict
ready:
  description: True when no finding is an error for the given O(nics); null when no NIC was given.
  returned: always
  type: bool
converted:
  description: Whether the conversion (M(sanboot.windows.iscsi_boot) or M(sanboot.windows.win_iscsi_boot)) has recorded
    changes in this installation.
  returned: always
  type: bool
dirty:
  description: Always false (the working hive built from what was read is written cleanly).
  returned: always
  type: bool
winrm:
  description: WinRM requests, commands, bytes and seconds.
  returned: always
  type: dict
'''
