#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done by the action plugin of the same name, on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: win_iscsi_boot
short_description: Make a running Windows (7 SP1 to Server 2025) boot from iSCSI, over WinRM
version_added: 0.1.0
description:
  - The live twin of M(sanboot.windows.iscsi_boot) - same options (without the hive file options) and same results -
    for a Windows host reached over WinRM. The next boot through iPXE C(sanhook)/C(sanboot) with an iBFT then comes
    up from the iSCSI disk instead of stopping with 0x7B.
  - The change is computed on the controller by the same engine as the offline module, on a partial working hive
    built from exactly the keys that engine declares it reads (C(reg query) of the control set's Services entries
    that matter, Control values, the Critical Device Database entries, C(Enum\PCI), the network class,
    C(DriverDatabase) entries for the NIC's IDs, C(HardwareConfig)); nothing is saved or copied off the host. The host
    only runs stock commands (C(cmd.exe), C(reg.exe); C(schtasks) when the change must be imported as SYSTEM;
    C(pnputil), C(fc), C(copy) and a PowerShell 2.0 script that writes the package's files when a driver package is
    staged). This works on stock Windows 7 SP1 / Server 2008 R2 (WinRM 2.0, PowerShell 2.0), where Ansible's
    PowerShell modules do not run, as well as on Windows 8 to 11 and Server 2012 to 2025, in any display language.
  - One WinRM shell per task and two or three commands whatever the number of values - read, stage a driver
    package (only when needed), apply (a second read only when the first names more keys, such as an installed
    adapter's service). The change is imported with C(reg import) as one C(.reg) file, the record of the original
    values first, so an interrupted run is undone exactly by O(state=absent) and completed by running the task
    again; what an interrupted run left on the host (its scheduled task, work files) is removed by the next run
    (RV(cleaned_up)). The result's RV(winrm) counts requests, bytes and time.
  - Uses the host's WinRM connection variables, with the names, types and defaults of Ansible's winrm connection
    plugin (C(ansible_host), C(ansible_port), C(ansible_user), C(ansible_password), C(ansible_winrm_scheme),
    C(ansible_winrm_transport), C(ansible_winrm_path), C(ansible_winrm_connection_timeout),
    C(ansible_winrm_kinit_cmd), every C(ansible_winrm_<pywinrm argument>), ...; Kerberos for a C(user@REALM) login
    with a ticket from the inventory's password) through pywinrm on the controller; Ansible's own connection is never
    used, so C(ansible_connection=winrm) inventories work as they are. Certificates are validated over HTTPS unless
    C(ansible_winrm_server_cert_validation=ignore). The password never appears in results or messages.
  - Every change, its reason and its source are listed in the collection's C(docs/how-it-works.md); how the live
    path works, the commands it runs and its limits in C(docs/live-hosts.md).
author:
  - sanboot.windows contributors (@sanboot)
extends_documentation_fragment:
  - sanboot.windows.live
  - sanboot.windows.options.control_sets
  - sanboot.windows.options.lenient
options:
  state:
    description:
      - C(present) makes the installation iSCSI-bootable; C(absent) restores every value and key the module changed
        (the record is kept in the registry, at C(HKLM\SYSTEM\sanboot.windows\iscsi_boot)).
    type: str
    choices: [present, absent]
    default: present
  nics:
    description:
      - The boot network adapters, as the target hardware presents them. Each entry is a PCI ID as Windows writes it
        (C(PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03), most specific is best), as lspci prints it
        (C(8086:100e), C([8086:100e]), a whole C(lspci -nn) line, or C(8086:100e 1af4:1100) with the subsystem
        vendor and device), or a dictionary with C(id), optionally C(service) (the in-box driver service that drives it)
        and C(location) (V(PCIROOT(0\)#PCI(0300\))). The same ID twice is allowed with two different
        C(location)s (the ports of a multi-port card), one entry per port.
      - M(sanboot.windows.win_iscsi_boot_info) lists the adapters present on the host.
      - Required with O(state=present).
    type: list
    elements: raw
  drivers:
    description:
      - Driver packages on the controller (INF files or folders such as an extracted virtio-win ISO) to take the NIC
        driver from when the host does not have it. The driver Windows would choose for the NIC is used.
      - When that driver's service is not installed on the host, the package (the files beside its INF and the files
        it copies) is sent to the host (a PowerShell 2.0 script on stdin writes them), added to the driver store with
        C(pnputil -i -a) (Windows 7 to 10 1511) or C(pnputil /add-driver /install) (Windows 10 1607 and later), and
        its service binaries are copied to their INF destinations before any registry change. When C(pnputil) fails
        on a 64-bit host and a service binary has no embedded signature, the result warns that the driver will not
        load at boot (0x7B). Relative paths are looked up like C(files/).
    type: list
    elements: path
    default: []
  templates:
    description:
      - Substitutions for driver source templates (C($ARCH$), C(INX_*) tokens) met in O(drivers).
    type: dict
  wfp_filter_optional:
    description:
      - Set the WFP lightweight filter's C(FilterRunType) to 2 (optional) (KB 2507616, KB 976042).
    type: bool
    default: true
  boot_driver_flags:
    description:
      - OR the network-boot bit (0x1) into C(Control\BootDriverFlags) and C(HardwareConfig\<current>\BootDriverFlags).
    type: bool
    default: true
  auto_reboot:
    description:
      - Set C(CrashControl\AutoReboot); C(false) keeps a stop error on screen. Unset leaves it alone.
    type: bool
  nic_power_management:
    description:
      - C(false) stops Windows from powering the boot NIC off (C(PnPCapabilities=24), KB 2740020).
    type: bool
    default: false
  reset_device_policy:
    description:
      - Reset C(Control\PnP\DisableCDDB) and C(DontStartRawDevices) to 0, with a warning. C(false) only warns.
    type: bool
    default: true
  system_import:
    description:
      - On Windows 8 and later C(HKLM\SYSTEM\DriverDatabase) is writable only by SYSTEM, not by Administrators.
        C(auto) imports the change through a one-shot scheduled task running as SYSTEM (C(schtasks /ru SYSTEM)) when it
        writes C(DriverDatabase), and directly otherwise; C(always) always does; C(never) never does (the import then
        fails at the first C(DriverDatabase) key on Windows 8 and later, and the result says what was applied).
    type: str
    choices: [auto, always, never]
    default: auto
attributes:
  check_mode:
    support: full
    description: Reads the host and reports the change, with diff, without writing anything (one command).
  diff_mode:
    support: full
    description: Shows the registry change as C(.reg) text.
requirements:
  - On the controller - pywinrm, and the libhivex Python bindings from the distribution (C(python3-hivex)).
  - On the host - WinRM enabled (C(winrm quickconfig)); a user that is an elevated administrator (to write
    C(HKLM\SYSTEM) and create the SYSTEM task - the built-in Administrator, a domain administrator, or any local
    administrator when C(LocalAccountTokenFilterPolicy) is 1). Reading needs no more than the registry's read access.
notes:
  - How the live modules work, every command they run, their limits and interrupted runs are in
    C(docs/live-hosts.md), which ships with the collection (C(ansible_collections/sanboot/windows/docs/)).
  - Basic authentication over HTTP (C(ansible_winrm_transport=basic), C(ansible_winrm_scheme=http)) needs
    C(AllowUnencrypted) and C(Basic) enabled on the host's WinRM service; prefer HTTPS or NTLM/Kerberos.
  - A task moves about 100 to 300 KB (what C(reg query) prints of the keys read, the change, a driver package) in
    about 10 WinRM requests; the hive itself never leaves the host.
  - Windows applies the changes at the next boot; nothing is restarted.
seealso:
  - module: sanboot.windows.iscsi_boot
  - module: sanboot.windows.win_iscsi_boot_info
  - module: sanboot.windows.win_critical_device
'''

EXAMPLES = r'''
- name: Make a running Windows 7 boot from iSCSI on QEMU's e1000 (in-box E1G60 driver)
  sanboot.windows.win_iscsi_boot:
    nics:
      - id: PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03
        service: E1G60
    auto_reboot: false

- name: Server 2022 that will boot on virtio-net, driver from an extracted virtio-win ISO on the controller
  sanboot.windows.win_iscsi_boot:
    nics: [PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00]
    drivers: [/srv/virtio-win/NetKVM/2k22/amd64]

- name: Undo everything
  sanboot.windows.win_iscsi_boot:
    state: absent
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
restored:
  description: Number of keys and values put back.
  returned: state is absent
  type: int
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
changes:
  description: One entry per registry operation (create_key, set_value, delete_value, delete_key), in order.
  returned: always
  type: list
  elements: dict
reg:
  description: The change as a C(.reg) file (what was imported, before the record was moved first).
  returned: always
  type: str
control_sets:
  description: Control sets that were edited.
  returned: state is present
  type: list
  elements: str
dirty:
  description: Always false (the working hive built from what was read is written cleanly).
  returned: always
  type: bool
cleaned_up:
  description: What an earlier, interrupted run had left on the host and this run removed (its token, work files, and
    whether its scheduled task still existed). In check mode they are listed in C(leftovers) instead.
  returned: when there was something to remove
  type: list
  elements: dict
staged_drivers:
  description: Driver packages sent to the host (INF, files, binaries copied, C(pnputil) exit code and published name).
  returned: changed and a driver package was staged
  type: list
  elements: dict
applied_as:
  description: Who imported the change - the WinRM user, or V(SYSTEM (schtasks\)).
  returned: changed and not check mode
  type: str
winrm:
  description: WinRM requests, commands, bytes sent and received, and seconds, in total and per phase.
  returned: always
  type: dict
  sample: {requests: 9, commands: 2, bytes_sent: 26210, bytes_received: 88683, seconds: 0.7, keys_read: 373,
           partial_reads: []}
applied:
  description: When the import failed halfway, the operations of RV(changes) that are in effect on the host (read back).
  returned: failed during the import
  type: list
  elements: dict
not_applied:
  description: When the import failed halfway, the operations of RV(changes) that are not in effect.
  returned: failed during the import
  type: list
  elements: dict
'''
