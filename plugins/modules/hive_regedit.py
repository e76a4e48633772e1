#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: hive_regedit
short_description: Add, change or remove registry keys and values in an offline Windows hive file
version_added: 0.1.0
description:
  - The options and behaviour of M(ansible.windows.win_regedit), on a hive file instead of a live registry, and
    on Linux instead of Windows, through libhivex.
  - O(path) may be hive-relative (C(ControlSet001\Services\Tcpip)) or start with C(HKLM:\<HIVE>\),
    C(HKLM\<HIVE>\) or C(HKEY_LOCAL_MACHINE\<HIVE>\). In a SYSTEM hive, C(CurrentControlSet) resolves to the
    C(ControlSet00N) that C(Select\Current) names (C(Default) when C(Current) is 0), as Windows does at boot.
  - Setting a value leaves the key's other values alone. Key and value names are case-insensitive, as in
    Windows; existing names keep their spelling.
author:
  - sanboot.windows contributors (@sanboot)
extends_documentation_fragment:
  - sanboot.windows.hive
options:
  path:
    description:
      - Key to work on, for example C(HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters).
      - With O(image), the C(HKLM\<HIVE>) part chooses the hive file (C(SYSTEM) when the path is hive-relative).
    type: str
    required: true
    aliases: [key]
  name:
    description:
      - Value name. Omitted or empty means the key's default value (V((Default\))).
      - With O(state=present), omitting both O(name) and O(data) only makes sure the key exists.
    type: str
    aliases: [entry, value]
  data:
    description:
      - Value data. C(dword) and C(qword) take numbers (decimal or C(0x) hex strings), C(multistring) a list of
        strings, C(binary) and C(none) a list of byte values or a C(hex:be,ef) string as in a C(.reg) export.
    type: raw
  type:
    description:
      - Registry value type, named as M(ansible.windows.win_regedit) names them.
    type: str
    choices: [none, binary, dword, expandstring, multistring, string, qword]
    default: string
    aliases: [datatype]
  state:
    description:
      - C(present) creates or updates; C(absent) removes the value (or the key, see O(delete_key)).
    type: str
    choices: [present, absent]
    default: present
  delete_key:
    description:
      - With O(state=absent) and no O(name), C(true) deletes the key and everything under it, C(false) only clears
        its default value.
    type: bool
    default: true
seealso:
  - module: ansible.windows.win_regedit
  - module: sanboot.windows.critical_device
'''

EXAMPLES = r'''
- name: Start Tcpip at boot in an offline SYSTEM hive
  sanboot.windows.hive_regedit:
    hive: /srv/images/win7/Windows/System32/config/SYSTEM
    path: HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip
    name: Start
    data: 0
    type: dword
  delegate_to: localhost

- name: Keep a 0x7B on screen instead of rebooting
  sanboot.windows.hive_regedit:
    hive: /srv/images/win7/Windows/System32/config/SYSTEM
    path: CurrentControlSet\Control\CrashControl
    name: AutoReboot
    data: 0
    type: dword
  delegate_to: localhost

- name: Set a multi-string value
  sanboot.windows.hive_regedit:
    hive: /srv/images/win7/Windows/System32/config/SYSTEM
    path: CurrentControlSet\Services\E1G60
    name: DependOnService
    data: [NDIS]
    type: multistring
  delegate_to: localhost

- name: Remove a value
  sanboot.windows.hive_regedit:
    hive: /srv/images/win7/Windows/System32/config/SYSTEM
    path: CurrentControlSet\Services\E1G60
    name: StartOverride
    state: absent
  delegate_to: localhost

- name: Remove a key and its subkeys from a SOFTWARE hive
  sanboot.windows.hive_regedit:
    hive: /srv/images/win7/Windows/System32/config/SOFTWARE
    path: HKLM:\SOFTWARE\Policies\Microsoft\Windows\DeviceInstall\Restrictions
    state: absent
  delegate_to: localhost
'''

RETURN = r'''
key:
  description: The key worked on, hive-relative, with C(CurrentControlSet) resolved.
  returned: always
  type: str
  sample: ControlSet001\Services\Tcpip
data_changed:
  description: Whether the value's data changed.
  returned: always
  type: bool
data_type_changed:
  description: Whether the value's type changed.
  returned: always
  type: bool
changes:
  description: One entry per registry operation (create_key, set_value, delete_value, delete_key), in order.
  returned: always
  type: list
  elements: dict
reg:
  description: The change as a C(.reg) file (regedit / C(hivexregedit --merge) syntax); empty when nothing changes.
  returned: always
  type: str
backup_file:
  description: Path of the backup of the previous hive, when one was made.
  returned: changed and backup is true and not check mode
  type: str
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
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline, regedit


def main():
    argument_spec = dict(regedit.REGEDIT_ARGS)
    argument_spec.update(offline.HIVE_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **offline.TARGET_CHOICE)
    offline.run_module(module, regedit.run)


if __name__ == '__main__':
    main()
