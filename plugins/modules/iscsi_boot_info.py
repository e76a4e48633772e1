#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: iscsi_boot_info
short_description: Tell whether an offline Windows installation will boot from iSCSI, and what is missing
version_added: 0.1.0
description:
  - Reads the SYSTEM hive (and optionally the SOFTWARE hive) of a Windows installation and reports the Windows
    version, the control sets, the network adapters the installation has seen (hardware and compatible IDs, driver
    service, PCI location path, whether the driver starts at boot), and a list of findings, each with its severity,
    its evidence (key and value) and the fix.
  - Given boot NICs in O(nics), RV(ready) says whether Windows will bring them up during boot - no finding of
    severity C(error).
  - Never writes anything. Dirty hives are read (a finding says so).
author:
  - sanboot.windows contributors (@sanboot)
extends_documentation_fragment:
  - sanboot.windows.iscsi_boot
  - sanboot.windows.iscsi_boot.info
  - sanboot.windows.options.lenient
options:
  hive:
    description:
      - Path of the installation's SYSTEM hive file. Exactly one of O(hive), O(image) and O(images) is required.
    type: path
  image:
    description:
      - A disk image holding the installation instead (opened read-only; see M(sanboot.windows.iscsi_boot)).
    type: path
  format:
    description: Format of O(image); detected when not given.
    type: str
    choices: [raw, qcow2, vmdk, vhdx, vpc, vdi, qed]
  root:
    description: Which installation of O(image) when it holds several (C(/dev/sda2)).
    type: str
  images:
    description: Several images, one appliance; one report per image in RV(results).
    type: list
    elements: dict
    suboptions:
      path:
        description: The image.
        type: path
        required: true
      format:
        description: Its format.
        type: str
        choices: [raw, qcow2, vmdk, vhdx, vpc, vdi, qed]
      root:
        description: Which installation.
        type: str
attributes:
  platform:
    support: full
    platforms: posix
    description: Runs where the hive file is, usually on the controller (delegated to localhost).
requirements:
  - libhivex Python bindings from the distribution (C(python3-hivex)).
seealso:
  - module: sanboot.windows.iscsi_boot
'''

EXAMPLES = r'''
- name: Will this Windows 7 image boot from iSCSI on QEMU's e1000?
  sanboot.windows.iscsi_boot_info:
    hive: /srv/win7/Windows/System32/config/SYSTEM
    software_hive: /srv/win7/Windows/System32/config/SOFTWARE
    nics:
      - id: PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03
        service: E1G60
  delegate_to: localhost
  register: doctor

- name: Show what is missing
  ansible.builtin.debug:
    msg: "{{ doctor.findings | selectattr('severity', 'equalto', 'error') | map(attribute='message') | list }}"
  when: not doctor.ready

- name: List the adapters the installation knows (to feed iscsi_boot's nics)
  sanboot.windows.iscsi_boot_info:
    hive: /srv/w2k22/Windows/System32/config/SYSTEM
  delegate_to: localhost
  register: info
'''

RETURN = r'''
os:
  description: Windows version, build, architecture, product type, which boot-device database it uses, and how that was
    found.
  returned: always
  type: dict
  sample: {name: Windows 10 Pro, version: '10.0', build: 19045, arch: amd64, family: DriverDatabase}
control_sets:
  description: C(Select) values, the current control set and all control sets C(Select) names.
  returned: always
  type: dict
adapters:
  description: Network adapters the installation has seen (C(Enum\PCI) instances of class Net).
  returned: always
  type: list
  elements: dict
  sample: [{instance: 'PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02\3&267a616a&2&18', service: E1G60,
            hardware_ids: ['PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'], location_path: 'PCIROOT(0)#PCI(0300)',
            starts_at_boot: false}]
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
  sample: [{id: wfp-filter-bound, severity: error, message: the WFP lightweight filter is mandatory ...,
            fix: run sanboot.windows.iscsi_boot ..., evidence: [{key: 'ControlSet001\Control\Network\...\Ndi',
            value: FilterRunType, type: REG_DWORD, data: 1}]}]
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
  description: Whether the hive header says it was not cleanly written.
  returned: always
  type: bool
results:
  description: With O(images), one report per image.
  returned: with images
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, offline


def main():
    argument_spec, constraints = iscsi_boot.info_argument_spec()
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **constraints)
    offline.run_module(module, iscsi_boot.run_iscsi_boot_info)


if __name__ == '__main__':
    main()
