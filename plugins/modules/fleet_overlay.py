#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: fleet_overlay
short_description: Golden image versions and one copy-on-write disk per client, with its identity and lifecycle
version_added: 0.1.0
description:
  - Keeps each golden image as read-only, numbered versions in an overlay store, and gives every client a qcow2
    overlay whose backing file is one version. The golden image and its versions are never opened for writing.
  - The client's computer name is written into its overlay offline (libguestfs), before its first boot,
    C(ControlSet00N\Control\ComputerName\ComputerName) and C(Services\Tcpip\Parameters) C(Hostname) and
    C(NV Hostname). For an image generalized with sysprep (C(ImageState) C(IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE))
    also C(Windows\Panther\unattend.xml) from O(unattend_template).
  - Each overlay is served as a raw file through qemu-storage-daemon's FUSE export, which tgt and LIO can serve
    (they cannot read qcow2). With O(exports=daemon) the module starts and stops the daemons itself (pid files in the
    store's C(run/) folder); with O(exports=systemd) the C(sanboot-overlay@.service) units of the sanboot.windows.fleet
    role run them.
  - The sanboot.windows.fleet role and the playbooks C(boot_server) and C(overlays) call this module; see
    docs/fleet.md.
author:
  - sanboot.windows contributors (@sanboot)
requirements:
  - qemu-img and qemu-storage-daemon (Debian qemu-utils, qemu-system-x86), /dev/fuse
  - libguestfs with its Python bindings (Debian python3-guestfs) and libhivex's (python3-hivex)
options:
  store:
    description: The overlay store folder (created 0700).
    type: path
    required: true
  action:
    description:
      - V(converge) creates what is missing (versions, overlays with identity, exports) and returns RV(disks).
      - V(status) reports per client and fails naming the clients over O(max_size), or when the store's free space is
        below O(reserve).
      - V(reset) puts the clients of O(only) back on the newest version of their golden image (their changes
        discarded, their identity written again); refused while one is logged in unless O(force).
      - V(promote) makes the disk of the one client in O(only) the next version of its golden image.
      - V(retire) removes version O(version) of golden image O(golden); refused, naming them, while clients use it.
    type: str
    default: converge
    choices: [converge, status, reset, promote, retire]
  goldens:
    description: The golden images.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The name clients refer to.
        type: str
        required: true
      image:
        description: The prepared image (raw or qcow2); its first version is a copy, and a changed image is a new version.
        type: path
        required: true
      identity:
        description: Write each client's computer name into its overlay (false for images without Windows).
        type: bool
        default: true
      processor_architecture:
        description: The architecture the answer file names.
        type: str
        default: amd64
        choices: [amd64, x86, arm64]
  clients:
    description: The clients.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The client's inventory name (the overlay's file name).
        type: str
        required: true
      golden:
        description: The golden image it runs.
        type: str
        required: true
      computer_name:
        description: Its Windows computer name; default derived from O(clients[].name) (first label, upper case).
        type: str
      target_iqn:
        description: Its target's IQN, to find out whether it is logged in.
        type: str
  only:
    description: The clients an action works on (default every client of O(clients)).
    type: list
    elements: str
  exports:
    description: Who runs the exports.
    type: str
    default: daemon
    choices: [daemon, systemd, none]
  unattend_template:
    description: A replacement for the answer file template; it may use C($computer_name) and C($processor_architecture).
    type: path
  force:
    description: Reset or promote clients that are logged in.
    type: bool
    default: false
  golden:
    description: The golden image of O(action=retire).
    type: str
  version:
    description: The version of O(action=retire).
    type: int
  max_size:
    description: The largest overlay O(action=status) accepts (for example V(20G)).
    type: str
  reserve:
    description: The free space the store must keep; overlays and versions are not created below it.
    type: str
    default: '0'
  tgt_control_port:
    description: tgtd's control port (tgtadm C(-C)), to read its sessions.
    type: int
  report:
    description: With O(action=status), write the report as JSON to this file.
    type: path
notes:
  - Supports check mode.
'''

EXAMPLES = r'''
- name: Serve one overlay of golden image lab per client
  sanboot.windows.fleet_overlay:
    store: /srv/sanboot/fleet
    goldens:
      - {name: lab, image: /srv/sanboot/golden/lab-2026-12.qcow2}
    clients:
      - {name: lab-pc01, golden: lab, target_iqn: "iqn.2025-01.local.sanboot:lab-pc01"}
      - {name: lab-pc02, golden: lab, computer_name: LAB-PC02}

- name: Put lab-pc01 back on the newest version
  sanboot.windows.fleet_overlay:
    store: /srv/sanboot/fleet
    action: reset
    only: [lab-pc01]
    clients:
      - {name: lab-pc01, golden: lab}
'''

RETURN = r'''
disks:
  description: With O(action=converge), the raw file each client's target serves (its export).
  returned: converge
  type: dict
versions:
  description: The versions of each golden image.
  returned: converge
  type: dict
report:
  description: >-
    With O(action=status): C(clients) (per client C(golden), C(version), C(allocated_bytes), C(logged_in),
    C(computer_name), C(exported)), C(versions) and C(store_free_bytes).
  returned: status
  type: dict
table:
  description: The status as readable lines.
  returned: status
  type: list
  elements: str
reset:
  description: The golden image and version each reset client now runs.
  returned: reset
  type: dict
golden:
  description: The golden image promoted or retired.
  returned: promote, retire
  type: str
version:
  description: The version made by promote, or retired.
  returned: promote, retire
  type: int
messages:
  description: What was done.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import fleet


def main():
    module = AnsibleModule(argument_spec=fleet.argument_spec(), supports_check_mode=True)
    fleet.run_module(module)


if __name__ == '__main__':
    main()
