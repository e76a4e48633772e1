#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sanboot.windows.efi_signature_info: whether EFI binaries carry an Authenticode signature (UEFI Secure Boot).

A thin wrapper around plugins/module_utils/windows/signing.py (``pe_authenticode``). The ipxe role calls it to refuse
an unsigned first stage when ``sanboot_ipxe_secure_boot`` is true.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: efi_signature_info
short_description: Tell whether EFI binaries (iPXE, shim) are signed for UEFI Secure Boot
version_added: 0.1.0
description:
  - Reads the certificate table of PE images (EFI applications such as C(ipxe.efi), C(snponly.efi),
    C(shimx64.efi), Windows' C(bootmgfw.efi)) and reports for each whether it carries an Authenticode signature
    (C(WIN_CERTIFICATE) revision 2.0, type C(PKCS_SIGNED_DATA)), who signed it and who issued the signer's
    certificate, its PE subsystem and whether it has an C(.sbat) section (shim refuses images without one).
  - Nothing is verified cryptographically. Whether a machine starts the file depends on what its firmware trusts
    (the Secure Boot C(db), or shim's built-in and enrolled keys), which a file does not tell.
  - The role C(sanboot.windows.ipxe) uses it with C(sanboot_ipxe_secure_boot) to refuse an unsigned first stage.
  - Never changes anything.
author:
  - sanboot.windows contributors (@sanboot)
attributes:
  check_mode:
    support: full
    description: The module only reads files; check mode runs it as usual.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Runs where the files are, the boot server or the controller.
options:
  path:
    description:
      - EFI binaries to read. A file that does not exist or cannot be read makes the module fail.
    type: list
    elements: path
    required: true
notes:
  - UEFI firmware reads the same certificate table (UEFI specification, "Image Execution Information Table" and the
    PE/COFF Authenticode format); C(sbverify --list) prints the same signatures.
  - The role C(sanboot.windows.ipxe) serves a signed chain (C(sanboot_ipxe_secure_boot), C(sanboot_ipxe_efi_ipxe),
    C(sanboot_ipxe_efi_shim)); C(docs/boot-server.md) explains the three ways to boot under Secure Boot.
seealso:
  - name: iPXE and UEFI Secure Boot
    description: iPXE's signed shim and iPXE builds.
    link: https://ipxe.org/secboot
'''

EXAMPLES = r'''
- name: Is the iPXE we serve signed?
  sanboot.windows.efi_signature_info:
    path:
      - /srv/sanboot/ipxe/ipxe.efi
      - /srv/sanboot/ipxe/shimx64.efi
  register: efi

- name: Refuse an unsigned file
  ansible.builtin.assert:
    that: efi.unsigned | length == 0
    fail_msg: "not signed: {{ efi.unsigned | join(', ') }}"
'''

RETURN = r'''
files:
  description: One entry per O(path), in order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The path as given.
      type: str
    pe:
      description: Whether the file is a PE image; when false the other facts are null, false or empty.
      type: bool
    machine:
      description: The PE machine type (C(amd64), C(x86), C(arm64), ...).
      type: str
    subsystem:
      description: The PE subsystem; C(efi_application) for what firmware, shim or iPXE start.
      type: str
    signed:
      description: Whether the certificate table holds at least one well-formed Authenticode signature.
      type: bool
    sbat:
      description: Whether the image has an C(.sbat) section (SBAT metadata, which shim requires).
      type: bool
    sections:
      description: The PE section names.
      type: list
      elements: str
    certificates:
      description: The certificate table's entries - C(revision), C(type), C(length), C(signer) and C(issuer)
        (certificate common names, else organisations) of each signature.
      type: list
      elements: dict
    problems:
      description: Why a certificate table that is there does not count (outside the file, another entry type).
      type: list
      elements: str
  sample:
    - path: /srv/sanboot/ipxe/ipxe.efi
      pe: true
      machine: amd64
      subsystem: efi_application
      signed: true
      sbat: true
      sections: [.text, .rodata, .data, .bss, .reloc, .debug, .sbat]
      certificates: [{revision: 512, type: PKCS_SIGNED_DATA, length: 1701, signer: SnakeOil, issuer: SnakeOil}]
      problems: []
unsigned:
  description: The paths of O(path) that carry no Authenticode signature (PE images or not).
  returned: always
  type: list
  elements: str
  sample: [/usr/lib/ipxe/snponly.efi]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sanboot.windows.plugins.module_utils.windows import signing


def read(path):
    """The facts of one file (``files`` in RETURN)."""
    with open(path, 'rb') as f:
        data = f.read()
    info = signing.pe_authenticode(data)
    if info is None:
        return dict(path=path, pe=False, machine=None, subsystem=None, signed=False, sbat=False, sections=[],
                    certificates=[], problems=[])
    return dict(path=path, pe=True, **info)


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type='list', elements='path', required=True)),
        supports_check_mode=True,
    )
    files = []
    for path in module.params['path']:
        try:
            files.append(read(path))
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot read %s: %s' % (path, exc))
    module.exit_json(changed=False, files=files, unsigned=[f['path'] for f in files if not f['signed']])


if __name__ == '__main__':
    main()
