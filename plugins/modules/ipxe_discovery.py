#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipxe_discovery
short_description: Turn the NIC reports iPXE sent to the boot server into inventory for iscsi_boot
version_added: 0.1.0
description:
  - Reads the reports that machines booting iPXE in discovery mode (role C(sanboot.windows.ipxe),
    C(sanboot_ipxe_discover_default) or a host's C(discover)) send to the boot server - one HTTP GET of a static
    file whose query string holds every NIC's MAC address, PCI configuration (vendor, device, subsystem, revision,
    class code, header type), bus location and chip name, plus the PCI bridges above NICs that are not on bus 0 -
    from a web server's access log (nginx or Apache C(combined)/C(common), Python C(http.server)) or from bare
    request URLs, one per line.
  - Returns, for each MAC address that booted, what Windows will see - hardware IDs and compatible IDs in Windows'
    own forms (C(PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03) down to C(PCI\CC_0200)), the PCI location path
    (V(PCIROOT(0\)#PCI(0200\)), through bridges V(PCIROOT(0\)#PCI(1C00\)#PCI(0000\))) and the chip name - for every NIC
    of the machine, and an entry ready for O(sanboot.windows.iscsi_boot#module:nics)
    for the NIC that booted.
  - With O(inventory_dir), writes that into C(host_vars/<name>/sanboot_discovery.yml) (variables
    C(sanboot_iscsi_boot_nics) and C(sanboot_discovery)) for each machine. Every place is checked before anything is
    written; nothing is written outside C(<inventory_dir>/host_vars); a host whose variables are in a single file
    C(host_vars/<name>.yml) is refused (Ansible would stop reading that file once the folder exists).
  - Reports are data, never executed. A report with an unknown version or key, a malformed value or inconsistent
    NICs is rejected as a whole and listed in RV(rejected); a later report of the same MAC replaces an earlier one.
  - Anyone who can reach the web server can send a report for any MAC address. Keep the boot server on the boot
    network (C(sanboot_ipxe_http_allow)), restrict O(macs) to the machines you expect, and look at the diff before
    preparing images.
  - The limits (firmware that hides PCI configuration space, multi-function devices, NICs behind bridges, several
    PCI roots) are described in the collection's C(docs/discovery.md).
author:
  - sanboot.windows contributors (@sanboot)
options:
  path:
    description:
      - Access logs or report files to read, in this order (give rotated logs oldest first). Files ending in
        C(.gz) are decompressed. Exactly one of O(path) and O(content) is required.
    type: list
    elements: path
  content:
    description:
      - The log text itself, for example from M(ansible.builtin.slurp) on the boot server when this module runs on
        the controller.
    type: str
  url_path:
    description:
      - Path of the requests that carry reports (C(/<sanboot_ipxe_discover_path>) of the ipxe role). Requests for
        other paths are ignored.
    type: str
    default: /discovery.txt
  macs:
    description:
      - Only these machines (MAC address of the NIC that booted, any spelling). Reports of other MACs are counted in
        RV(skipped) and not returned.
    type: list
    elements: str
  inventory_dir:
    description:
      - Inventory folder to write C(host_vars/<name>/sanboot_discovery.yml) into, one per machine. It must exist;
        C(host_vars) and the host folders are created. Without it nothing is written.
    type: path
  names:
    description:
      - "Inventory host name per MAC address (C({'52:54:00:12:34:56': 'pc1'})), for example from the clients'
        C(sanboot_mac). Other machines are named O(name_prefix) followed by the MAC address with hyphens."
    type: dict
    default: {}
  name_prefix:
    description: Prefix of the names of machines not in O(names).
    type: str
    default: sanboot-
attributes:
  check_mode:
    support: full
    description: Reports what would be written, writes nothing.
  diff_mode:
    support: full
    description: The host_vars files before and after.
  platform:
    support: full
    platforms: posix
    description: Runs where the log is (the boot server) or, with O(content), anywhere; writes where O(inventory_dir) is.
notes:
  - How discovery works, the report format and its limits are in C(docs/discovery.md), which ships with the
    collection (C(ansible_collections/sanboot/windows/docs/) where it is installed).
  - The written files hold hardware facts only (no times), so a machine that reports the same hardware again
    leaves them unchanged.
  - The V(PCIROOT(0\)) at the start of a location path is an assumption - Windows numbers a root bus by its host
    bridge's ACPI C(_UID), which iPXE cannot see; single-root machines use 0. NICs on a PCI segment other than 0,
    or on a bus not below bus 0, get no location path.
seealso:
  - module: sanboot.windows.iscsi_boot
  - module: sanboot.windows.iscsi_boot_info
'''

EXAMPLES = r'''
- name: Read the reports on the boot server
  sanboot.windows.ipxe_discovery:
    path: [/var/log/nginx/sanboot-discovery.log.1, /var/log/nginx/sanboot-discovery.log]
  register: discovery

- name: Show each machine's boot NIC
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.iscsi_boot_nics }}"
  loop: "{{ discovery.machines | dict2items }}"

- name: Fetch the log from the boot server
  ansible.builtin.slurp:
    src: /var/log/nginx/sanboot-discovery.log
  register: discovery_log

- name: Write host_vars for the inventory's clients on the controller
  sanboot.windows.ipxe_discovery:
    content: "{{ discovery_log.content | b64decode }}"
    inventory_dir: "{{ inventory_dir }}"
    names: {"52:54:00:12:34:56": pc1, "52:54:00:12:34:57": pc2}
    macs: ["52:54:00:12:34:56", "52:54:00:12:34:57"]
  delegate_to: localhost
  run_once: true

- name: Then prepare pc1's image for its NIC (Windows 7, in-box E1G60 driver for QEMU's e1000)
  sanboot.windows.iscsi_boot:
    image: /srv/sanboot/images/pc1.img
    nics: "{{ hostvars['pc1'].sanboot_iscsi_boot_nics | map('combine', {'service': 'E1G60'}) | list }}"
  delegate_to: localhost
'''

RETURN = r'''
machines:
  description:
    - Per MAC address of a NIC that booted (lower case, colons), the last accepted report.
    - C(mac), C(boot_nic) (C(net0) ...), C(ipxe) (C(version), C(platform)), C(bridges_scanned), C(client) (the
      address in the log), C(reported_at), C(source) and C(line) of the report, C(reports) (how many were read),
      C(warnings), C(iscsi_boot_nics) (the boot NIC as a M(sanboot.windows.iscsi_boot) C(nics) entry, empty when it
      has no PCI IDs), C(name) and C(host_vars_file) (with O(inventory_dir)), and C(nics).
    - Each of C(nics) has C(name), C(mac), C(boot), C(bus_type), C(pci_address) (C(0000:00:02.0)), C(chip),
      C(vendor_id), C(device_id), C(subsystem_vendor_id), C(subsystem_id), C(revision), C(class_code),
      C(multifunction), C(id) (most specific hardware ID), C(hardware_ids), C(compatible_ids), C(location) and
      C(note) (why something is missing).
  returned: always
  type: dict
  sample:
    "52:54:00:12:34:56":
      mac: "52:54:00:12:34:56"
      boot_nic: net0
      iscsi_boot_nics: [{id: 'PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', location: 'PCIROOT(0)#PCI(0200)'}]
      nics:
        - name: net0
          mac: "52:54:00:12:34:56"
          boot: true
          chip: 82540em
          pci_address: "0000:00:02.0"
          id: 'PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
          hardware_ids: ['PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4',
                         'PCI\VEN_8086&DEV_100E&CC_020000', 'PCI\VEN_8086&DEV_100E&CC_0200']
          compatible_ids: ['PCI\VEN_8086&DEV_100E&REV_03', 'PCI\VEN_8086&DEV_100E', 'PCI\VEN_8086&CC_020000',
                           'PCI\VEN_8086&CC_0200', 'PCI\VEN_8086', 'PCI\CC_020000', 'PCI\CC_0200']
          location: 'PCIROOT(0)#PCI(0200)'
hosts:
  description: With O(inventory_dir), one entry per machine - C(name), C(mac), C(path) and C(changed).
  returned: always
  type: list
  elements: dict
rejected:
  description: Report requests that were refused, with C(source), C(line) and C(reason).
  returned: always
  type: list
  elements: dict
reports:
  description: Number of accepted reports.
  returned: always
  type: int
ignored:
  description: Lines that are not report requests.
  returned: always
  type: int
skipped:
  description: Accepted reports of MAC addresses not in O(macs).
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import discovery


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='list', elements='path'),
            content=dict(type='str'),
            url_path=dict(type='str', default=discovery.DEFAULT_URL_PATH),
            macs=dict(type='list', elements='str'),
            inventory_dir=dict(type='path'),
            names=dict(type='dict', default={}),
            name_prefix=dict(type='str', default='sanboot-'),
        ),
        mutually_exclusive=[('path', 'content')],
        required_one_of=[('path', 'content')],
        supports_check_mode=True,
    )
    p = module.params
    if not p['url_path'].startswith('/') or '?' in p['url_path']:
        module.fail_json(msg='url_path must be a path starting with / and without a query: %s' % p['url_path'])
    try:
        macs = [discovery.normalize_mac(m) for m in p['macs']] if p['macs'] is not None else None
        for mac in p['names']:
            discovery.normalize_mac(mac)
        if p['content'] is not None:
            result = discovery.parse_lines(p['content'].splitlines(), url_path=p['url_path'], macs=macs,
                                           source='content')
        else:
            result = discovery.parse_files(p['path'], url_path=p['url_path'], macs=macs)
        hosts = []
        if p['inventory_dir']:
            hosts = discovery.sync_inventory(result, p['inventory_dir'], names=p['names'],
                                             prefix=p['name_prefix'], check_mode=module.check_mode)
    except (discovery.ReportError, discovery.DiscoveryError) as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read or write: %s' % exc)

    for reject in result['rejected']:
        module.warn('rejected report at %s line %s: %s' % (reject['source'], reject['line'], reject['reason']))
    for facts in result['machines'].values():
        for warning in facts['warnings']:
            module.warn(warning)
    changed = any(h['changed'] for h in hosts)
    out = dict(changed=changed, machines=result['machines'], rejected=result['rejected'],
               reports=result['reports'], ignored=result['ignored'], skipped=result['skipped'],
               hosts=[dict((k, h[k]) for k in ('name', 'mac', 'path', 'changed')) for h in hosts])
    if module._diff:
        out['diff'] = [dict(before=h['before'], after=h['after'], before_header=h['path'], after_header=h['path'])
                       for h in hosts if h['changed']]
    module.exit_json(**out)


if __name__ == '__main__':
    main()
