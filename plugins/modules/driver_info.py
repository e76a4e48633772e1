#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sanboot.windows.driver_info: what a Windows driver package installs on a given Windows.

The module is a thin wrapper; the engine is plugins/module_utils/inf/. Other modules (critical_device,
iscsi_boot) inject a driver through this engine entry point:

``boot_driver(package_path, target, devices=None, lenient=False, templates=None, system_inf_dir=None) -> dict``

  ``package_path``: an INF file or a folder (searched recursively for ``*.inf``; name ``.inx`` templates directly)
  or a list of them. ``target``: a Target from ``parse_target`` (or a dict with os, arch, product_type).
  ``devices``: the boot device's IDs as seen on real hardware; a list whose items are one ID string (a PCI ID
  ``PCI\\VEN_v&DEV_d[&SUBSYS_s][&REV_r][&CC_c]`` is expanded to the hardware and compatible IDs Windows 10's PCI
  bus driver reports), a list of hardware IDs (most specific first), or a dict with ``hardware_ids`` and
  ``compatible_ids``. ``lenient``: also accept undecorated (x86-only) Models sections on x64/arm64.
  ``templates``: for driver source templates, a mapping of literal build-time token to text
  (``{"$ARCH$": "amd64", "INX_PLATFORM_DRIVERS_DIR": "12"}``; ``$ARCH$`` defaults to the target architecture,
  C preprocessor lines are dropped); without it templates are refused. ``system_inf_dir``: the target's
  ``Windows\\INF`` folder, to resolve Include/Needs (reported as unresolved otherwise).

  Returns, for the driver Windows would pick (devices given: lowest rank = hardware-ID match before
  compatible-ID match, then list position, then FeatureScore; ties by newer DriverVer date, then higher version;
  no devices: the package's only function driver, several INF files -> newest DriverVer with a warning):

  * ``inf_path``, ``inf_name``, ``class``, ``class_guid``, ``provider``, ``description``, ``install_section``,
    ``driver_ver`` (``{'date': 'YYYY-MM-DD', 'version': 'a.b.c.d'}``);
  * ``hardware_ids``: the IDs (hw-id and compatible-id fields) of the selected Models lines that install the same
    service; with devices only those the devices report, in the devices' order;
  * ``service``: the AddService name flagged SPSVCINST_ASSOCSERVICE (0x2);
  * ``service_values``: list of ``(subkey tuple, registry.Value)`` relative to ``Services\\<service>``: first
    ``()`` Type, Start, ErrorControl (REG_DWORD), ImagePath (REG_EXPAND_SZ as Windows writes it:
    ``\\SystemRoot\\System32\\drivers\\<file>`` for ServiceBinary ``%12%\\<file>``; DriverStore (DIRID 13) packages
    are redirected to System32\\drivers with a warning), Group (REG_SZ, from LoadOrderGroup), DisplayName,
    Description, DependOnService / DependOnGroup (REG_MULTI_SZ), ObjectName when given; no Tag (Windows assigns
    it); then every HKR AddReg value of the service-install section in file order, e.g.
    ``(('Parameters',), Value.dword('BusType', 10))``, then ``Parameters\\Wdf KmdfLibraryVersion`` for KMDF
    drivers; ``service_keys``: subkeys created without values (FLG_ADDREG_KEYONLY);
  * ``event_log``: ``{'log', 'name', 'values': [(subkey, Value)]}`` relative to
    ``Services\\EventLog\\<log>\\<name>``, or None; ``driver_values`` / ``hardware_values``: HKR AddReg of the
    install section (driver key) and of its .HW section (device key);
  * ``files``: ``[{'source', 'source_path', 'present', 'dirid', 'inf_dirid', 'subdir', 'name', 'target',
    'found_at'}]`` (``target`` relative to the Windows folder, e.g. ``System32\\drivers\\viostor.sys``);
  * ``match`` (devices only), ``reason``, ``warnings``.

  Raises InfError (a registry.RegistryError) with a clear message when nothing matches the target or devices,
  when the chosen driver installs no function driver service or lacks required service entries, and for unsafe
  file names (``..``, absolute, drive letters, UNC, device names).

``parse_target(os, arch, product_type=None) -> Target``: ``os`` is ``6.1``, ``10.0``, ``10.0.20348`` or a name
(``xp``, ``server2003``, ``vista``, ``win7``, ``server2008r2``, ``win8``, ``win81``, ``server2012r2``, ``win10``
(22H2, 19045), ``win10-1809``, ``win11`` (23H2, 22631), ``win11-24h2``, ``server2016``, ``server2019``,
``server2022``, ``server2025``); ``arch`` is ``x86``, ``amd64`` (``x64``) or ``arm64``; ``product_type`` is
``workstation``, ``domain_controller``, ``server`` (or 1, 2, 3). Raises InfError on anything else.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: driver_info
short_description: Read Windows driver packages (INF files) the way Windows does
version_added: 0.1.0
description:
  - Reads INF files, or whole folder trees of them, and reports what each would install on a given Windows
    version, architecture and product type - setup class and class GUID, provider, C(DriverVer), devices with
    their hardware and compatible IDs and install sections, services with every field of their
    service-install sections, the C(ImagePath) Windows writes for them, registry values, and the files each
    install section copies, with whether each is present in the package.
  - Follows Microsoft's rules rather than a naive scan - encodings (UTF-16 with or without BOM, UTF-8 BOM, ANSI),
    quoting, comments and line continuation as Wine's setupapi parser, one C([Strings.LLLL]) section,
    C([Manufacturer]) TargetOSVersion decorations (architecture, version, product type, build, empty sections
    that block an OS), install-section platform suffixes C(.NT<arch>) / C(.NT), Include/Needs.
  - Undecorated Models sections are x86-only since Windows Server 2003 SP1; set O(lenient=true) to accept them
    on x64 and arm64 as old tools did.
  - Given O(devices), the IDs a real machine reports, it returns for each device the driver Windows would pick and
    why - hardware-ID matches before compatible-ID matches, then the position of the ID in the device's list,
    then FeatureScore, ties broken by the newer DriverVer date and then the higher version.
  - Driver source templates (stampinf C($ARCH$), virtio-win C(INX_*) macros, C(#include) lines) are refused
    unless O(templates) says how to substitute them.
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
    description: Runs wherever the driver files are, usually on the controller (delegated to localhost).
options:
  path:
    description:
      - INF files and folders to read. Folders are searched recursively for C(*.inf) files; name C(.inx)
        templates directly.
      - An INF file named here that cannot be read makes the module fail; unreadable INF files found in folders
        are listed in RV(errors) and skipped.
    type: list
    elements: path
    required: true
  os:
    description:
      - Target Windows version, as C(major.minor) (V(6.1), V(10.0)), C(major.minor.build) (V(10.0.20348)) or a name -
        V(xp), V(server2003), V(vista), V(server2008), V(win7), V(server2008r2), V(win8), V(server2012), V(win81),
        V(server2012r2), V(win10) (22H2, build 19045), V(win10-1809) (and the other release IDs), V(win11) (23H2,
        build 22631), V(win11-24h2), V(server2016), V(server2019), V(server2022), V(server2025).
      - Without a build, Models sections that need one are skipped with a warning; names also set O(product_type).
    type: raw
    required: true
  arch:
    description:
      - Target processor architecture.
    type: str
    required: true
    choices: [x86, amd64, arm64]
  product_type:
    description:
      - Target product type, for Models decorations that name one (C(NTamd64.10.0.1) is for workstations).
      - Defaults to the one of the O(os) name; unknown for a bare version number, in which case such decorations
        are skipped with a warning.
    type: str
    choices: [workstation, domain_controller, server]
  lenient:
    description:
      - Also accept undecorated (and C(.NT)) Models sections on non-x86 targets, which Windows itself ignores
        since Windows Server 2003 SP1.
    type: bool
    default: false
  templates:
    description:
      - "Substitutions for driver source templates, literal token to text, applied before reading, for example
        C({\"$ARCH$\": \"amd64\", \"INX_PLATFORM_DRIVERS_DIR\": \"12\", \"DRIVER_DIRID\": \"12\"})."
      - C($ARCH$) defaults to O(arch). C(#include) and other C preprocessor lines are dropped with a warning.
      - Without this option, INF files that contain template tokens are refused (listed in RV(errors)).
    type: dict
  devices:
    description:
      - Devices to find the driver for, each the IDs one device reports on real hardware.
      - An item is one ID string (a PCI ID such as C(PCI\VEN_8086&DEV_1521&SUBSYS_00018086&REV_01) is expanded to
        the hardware and compatible ID lists the PCI bus driver reports; add C(&CC_020000) for class-code IDs),
        a list of hardware IDs, most specific first, or a dict with C(hardware_ids) and C(compatible_ids) lists
        (as Device Manager shows them).
      - A PCI ID may also be given as lspci prints it (C(8086:100e), C([8086:100e]), a whole C(lspci -nn) line,
        which adds the class code). IDs with spaces, commas, quotes or C(..) parts are refused, as in every module.
    type: list
    elements: raw
  system_inf_dir:
    description:
      - The target's C(Windows\INF) folder (for example a mounted image's), used to resolve C(Include) and
        C(Needs) into system INF files. Without it they are reported in RV(drivers[].unresolved).
    type: path
  language:
    description:
      - Language ID (4 hex digits) that chooses the C([Strings.LLLL]) section, as the target's UI language does.
    type: str
    default: '0409'
notes:
  - The engine entry point C(boot_driver) that other modules of this collection use is documented in the
    module's Python docstring and in C(docs/driver-packages.md).
  - C(ImagePath) is given as Windows writes it for an INF-installed service, C(\SystemRoot\System32\drivers\<file>)
    for C(%12%); packages that install into the DriverStore (C(%13%)) get a C(<hash>) placeholder, which Windows
    computes while staging the package.
  - Driver signatures are not checked; all signed drivers rank equally (the C(AllSignersEqual) default since
    Windows 7).
seealso:
  - module: sanboot.windows.critical_device
  - name: INF Manufacturer section (TargetOSVersion)
    description: How Windows chooses a Models section.
    link: https://learn.microsoft.com/windows-hardware/drivers/install/inf-manufacturer-section
  - name: How Windows ranks drivers
    description: Driver rank (signature, feature and identifier scores).
    link: https://learn.microsoft.com/windows-hardware/drivers/install/how-setup-ranks-drivers--windows-vista-and-later-
'''

EXAMPLES = r'''
- name: Which virtio-win storage and network drivers fit a Windows 7 x64 guest
  sanboot.windows.driver_info:
    path:
      - /mnt/virtio-win/viostor/w7/amd64
      - /mnt/virtio-win/NetKVM/w7/amd64
    os: win7
    arch: amd64
    devices:
      - PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00
      - PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00
  register: virtio
  delegate_to: localhost

- name: Show the driver Windows would pick for the disk controller and why
  ansible.builtin.debug:
    msg: "{{ virtio.matches[0].selected.inf_name }}: {{ virtio.matches[0].reason }}"

- name: Intel Ethernet package (extracted Intel download) for the I350 ports of a Windows Server 2022 host
  sanboot.windows.driver_info:
    path: /srv/drivers/intel/PRO1000/Winx64/WS2022
    os: server2022
    arch: amd64
    devices:
      # as Device Manager shows them (Details > Hardware Ids / Compatible Ids)
      - hardware_ids:
          - PCI\VEN_8086&DEV_1521&SUBSYS_00018086&REV_01
          - PCI\VEN_8086&DEV_1521&SUBSYS_00018086
          - PCI\VEN_8086&DEV_1521&CC_020000
          - PCI\VEN_8086&DEV_1521&CC_0200
        compatible_ids:
          - PCI\VEN_8086&DEV_1521&REV_01
          - PCI\VEN_8086&DEV_1521
  register: intel
  delegate_to: localhost

- name: Fail early when the package has no driver for the NIC
  ansible.builtin.assert:
    that:
      - intel.matches[0].selected is not none
    fail_msg: "{{ intel.matches[0].reason }}"

- name: Read a driver source template from a source tree (virtio-win .inx) for an x64 Server 2019 image
  sanboot.windows.driver_info:
    path: /src/kvm-guest-drivers-windows/viostor/viostor.inx
    os: 10.0.17763
    product_type: server
    arch: amd64
    templates:
      INX_PLATFORM_DRIVERS_DIR: '12'
      _INX_SUBSYS_VENDOR_ID: 1AF4
      INX_COMPANY: Red Hat, Inc.
      INX_PREFIX_VENDOR: 'Red Hat '
  delegate_to: localhost
'''

RETURN = r'''
target:
  description: The target as understood.
  returned: always
  type: dict
  sample: {name: server2022, major: 10, minor: 0, build: 20348, version: 10.0.20348, arch: amd64,
           product_type: server}
drivers:
  description: One entry per INF file read (all of them, also those that install nothing on the target).
  returned: always
  type: list
  elements: dict
  contains:
    inf_path:
      description: Path of the INF file.
      type: str
      sample: /mnt/virtio-win/viostor/w7/amd64/viostor.inf
    inf_name:
      description: File name of the INF.
      type: str
      sample: viostor.inf
    encoding:
      description: How the file was decoded (C(utf-8/ascii), C(utf-8-bom), C(utf-16le-bom), C(utf-16le),
        C(ansi-cp1252), ...).
      type: str
      sample: utf-16le-bom
    valid:
      description: False when Windows would not accept the INF (no [Version] or a wrong Signature).
      type: bool
    class:
      description: Setup class name from [Version].
      type: str
      sample: SCSIAdapter
    class_guid:
      description: Setup class GUID from [Version], as written.
      type: str
      sample: '{4D36E97B-E325-11CE-BFC1-08002BE10318}'
    provider:
      description: Provider from [Version], strings substituted.
      type: str
      sample: Red Hat, Inc.
    driver_ver:
      description: DriverVer date (ISO) and version.
      type: dict
      sample: {date: '2009-10-10', version: 5.3.0.17241}
    manufacturers:
      description: Per [Manufacturer] line, the Models section chosen for the target (null when none applies)
        and why.
      type: list
      elements: dict
      sample: [{manufacturer: 'Red Hat, Inc.', models_section: RHEL, decorations: [NTx86, NTamd64],
                chosen: RHEL.NTamd64, reason: decoration NTamd64 is the closest that applies, line: 27, lines: 3}]
    devices:
      description: The Models lines that apply to the target.
      type: list
      elements: dict
      sample: [{description: Red Hat VirtIO SCSI controller, hardware_id: PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4,
                compatible_ids: [], install_section: rhelscsi_inst, install_section_resolved: rhelscsi_inst,
                service: viostor, manufacturer: 'Red Hat, Inc.', models_section: RHEL.NTamd64, line: 47}]
    install_sections:
      description: Per install section as named by the Models lines, the section used on the platform, its
        services, files, driver-key and device-key registry values, feature score and unresolved Include/Needs.
      type: dict
    services:
      description: Services the devices' install sections add, with every field of their service-install
        sections (C(fields)), numbers parsed, C(image_path) as Windows writes it (REG_EXPAND_SZ), registry values
        (HKR = C(Services\<name>)) and event-log registration.
      type: list
      elements: dict
      sample: [{name: viostor, flags: 2, assoc: true, install_section: rhelscsi_Service_Inst, service_type: 1,
                start_type: 0, error_control: 1, load_order_group: SCSI miniport,
                service_binary: '%12%\viostor.sys', image_path: \SystemRoot\System32\drivers\viostor.sys}]
    files:
      description: Files the install sections copy, with their place in the package, whether they are there,
        destination DIRID, sub-folder and path relative to the Windows folder.
      type: list
      elements: dict
      sample: [{name: viostor.sys, source: viostor.sys, present: true, dirid: 12, subdir: '',
                target: System32\drivers\viostor.sys}]
    unresolved:
      description: Include/Needs that could not be followed (no O(system_inf_dir), or not found there).
      type: list
      elements: dict
    warnings:
      description: Everything odd found while reading this INF for the target.
      type: list
      elements: str
errors:
  description: INF files found in folders that could not be read (templates, broken syntax, unsafe file names).
  returned: always
  type: list
  elements: dict
  sample: [{path: /src/viostor/viostor.inx, msg: 'viostor.inx is a driver source template, not a built INF'}]
matches:
  description: For each of O(devices), the driver Windows would pick (null when none matches), why, and the
    best candidates with their rank.
  returned: when O(devices) is given
  type: list
  elements: dict
  sample: [{device: PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00,
            selected: {inf_name: viostor.inf, description: Red Hat VirtIO SCSI controller, rank: '0x00FF0001',
                       match: hardware ID match, service: viostor},
            reason: 'viostor.inf [RHEL.NTamd64] line 47: hardware ID match, rank 0x00FF0001'}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sanboot.windows.plugins.module_utils.inf import (
    InfError, match_device, normalize_device, parse_target, read_package,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='list', elements='path', required=True),
            os=dict(type='raw', required=True),
            arch=dict(type='str', required=True, choices=['x86', 'amd64', 'arm64']),
            product_type=dict(type='str', choices=['workstation', 'domain_controller', 'server']),
            lenient=dict(type='bool', default=False),
            templates=dict(type='dict'),
            devices=dict(type='list', elements='raw'),
            system_inf_dir=dict(type='path'),
            language=dict(type='str', default='0409'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        language = int(str(params['language']), 16)
    except ValueError:
        module.fail_json(msg='language must be a hexadecimal language ID such as 0409, got %r' % params['language'])
    try:
        target = parse_target(params['os'], params['arch'], params['product_type'])
        devices = [normalize_device(d) for d in params['devices'] or []]
        drivers, errors = read_package(params['path'], target, params['lenient'], params['templates'],
                                       params['system_inf_dir'], language)
        result = dict(changed=False, target=target.as_dict(), drivers=[d.as_dict() for d in drivers],
                      errors=errors)
        if params['devices']:
            result['matches'] = [match_device(drivers, d) for d in devices]
    except InfError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
