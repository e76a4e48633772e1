# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor: findings about booting an installation from iSCSI through given NICs, read from the hives as they
are (iscsi_boot_info, and iscsi_boot's verdict on its own result). Each finding has an id, a severity, a message,
a fix and the evidence it rests on; the installation is ready when no finding is an error."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.registry import REG_DWORD, dword_value, fold, text_value
from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb, ddb, driverstore, nicpackage, signing
from ansible_collections.sanboot.windows.plugins.module_utils.windows.adapters import enum_net_instances
from ansible_collections.sanboot.windows.plugins.module_utils.windows.services import (
    CM_SERVICE_NETWORK_BOOT_LOAD, NETSERVICE_CLASS, NETWORK_STACK, WFP_LWF, _services, dependency_closure,
)


class Finding(object):
    """One thing the doctor found: ``id`` (stable, for playbooks), severity (error | warning | info), message, fix,
    evidence ([{key, value, data, type}] read from the hives)."""

    def __init__(self, fid, severity, message, fix=None, evidence=None):
        self.id, self.severity, self.message, self.fix = fid, severity, message, fix
        self.evidence = evidence or []

    def as_dict(self):
        return {'id': self.id, 'severity': self.severity, 'message': self.message, 'fix': self.fix,
                'evidence': self.evidence}


def finding(fid, severity, message, fix=None, evidence=None):
    return Finding(fid, severity, message, fix, evidence)


def _evidence(reader, key, name):
    value = reader.get_value(key, name) if reader.key_exists(key) else None
    return {'key': '\\'.join(key), 'value': name,
            'data': value.display()['data'] if value is not None else None,
            'type': value.display()['type'] if value is not None else None}


def diagnose(system, os_info, control_set, nics, drivers, dirty=False, drivers_db=None, view=None):
    """Findings for booting this installation from iSCSI through ``nics``; ready when no error is found.

    Windows 8+: ``drivers_db`` reads the DRIVERS hive, ``view`` the installation's files (images: the boot
    driver's signature).
    """
    findings = []
    cs = control_set
    if dirty:
        findings.append(finding('dirty-hive', 'warning',
                                'the SYSTEM hive was not cleanly written (pending transaction logs); what is read '
                                'here may be older than what Windows sees',
                                'boot Windows and shut it down cleanly (Fast Startup off), then read the hive again'))
    boot_services = []
    net_instances = enum_net_instances(system, cs) if os_info.family == 'ddb' else []
    for nic in nics:
        driver = drivers.get(nic.most_specific)
        if os_info.family == 'ddb':
            findings.extend(_package_findings(system, drivers_db, cs, nic, net_instances,
                                              staged=driver is not None and driver.ddb_state == nicpackage.STAGE))
            if driver is None:
                continue
        if driver is None:
            findings.append(finding('nic-driver-unknown', 'error',
                                    'no driver for %s is known to this Windows' % nic,
                                    'give the NIC driver package in drivers: (or its service name in nics:)'))
            continue
        svc = _services(cs) + (driver.service,)
        if not system.key_exists(svc):
            findings.append(finding('nic-driver-not-installed', 'error',
                                    'NIC driver service %s (for %s, from %s) is not installed'
                                    % (driver.service, nic, driver.source),
                                    'run sanboot.windows.iscsi_boot with the driver package in drivers:',
                                    [{'key': '\\'.join(svc), 'value': None, 'data': None, 'type': None}]))
            continue
        boot_services.append(driver.service)
        if os_info.family == 'cddb':
            entries = [(cs,) + cddb.CDDB + (cddb.cddb_key_name(i),) for i in nic.hardware_ids]
            good = [e for e in entries if fold(text_value(system, e, 'Service') or '') == fold(driver.service)
                    and text_value(system, e, 'ClassGUID')]
            if not good:
                findings.append(finding('nic-not-boot-critical', 'error',
                                        'no Critical Device Database entry makes %s boot-critical with service %s'
                                        % (nic, driver.service),
                                        'run sanboot.windows.iscsi_boot (or critical_device)',
                                        [_evidence(system, entries[-1], 'Service')]))
        elif view is not None and (os_info.arch or 'amd64') not in ('x86', 'arm'):
            image = text_value(system, svc, 'ImagePath')
            if image:
                findings.extend(_boot_driver_signature(view, image, driver.service))
        flags = dword_value(system, svc, 'BootFlags') or 0
        if not flags & CM_SERVICE_NETWORK_BOOT_LOAD:
            findings.append(finding('nic-bootflags', 'warning',
                                    'service %s lacks BootFlags 0x1 (promote to boot start on network boot)'
                                    % driver.service, 'run sanboot.windows.iscsi_boot',
                                    [_evidence(system, svc, 'BootFlags')]))
    closure, missing = dependency_closure(system, cs, boot_services) if boot_services else ([], [])
    for name in list(closure) + [n for n in NETWORK_STACK if fold(n) not in [fold(c) for c in closure]]:
        key = _services(cs) + (name,)
        if not system.key_exists(key):
            findings.append(finding('service-missing', 'error', 'service %s does not exist' % name,
                                    'iScsiPrt needs the Microsoft iSCSI initiator' if name == 'iScsiPrt' else None))
            continue
        kind = dword_value(system, key, 'Type')
        if kind is not None and not kind & 0x3:
            continue
        start = dword_value(system, key, 'Start')
        if start != 0:
            findings.append(finding('not-boot-start', 'error', 'service %s does not start at boot (Start=%r)'
                                    % (name, start), 'run sanboot.windows.iscsi_boot', [_evidence(system, key, 'Start')]))
        override = key + ('StartOverride',)
        if system.key_exists(override):
            demoted = [v for v in system.values(override) if v.type == REG_DWORD and v.decoded() != 0]
            if demoted:
                findings.append(finding('start-override', 'error',
                                        'service %s has a StartOverride that demotes it from boot start (KB 3024175)'
                                        % name, 'run sanboot.windows.iscsi_boot (removes StartOverride)',
                                        [_evidence(system, override, demoted[0].name)]))
    for name in missing:
        findings.append(finding('dependency-missing', 'error', 'service %s is a dependency but does not exist' % name))
    control = (cs, 'Control')
    ndi = control + ('Network', NETSERVICE_CLASS.lower(), WFP_LWF, 'Ndi')
    if dword_value(system, ndi, 'FilterRunType') == 1:
        findings.append(finding('wfp-filter-bound', 'error',
                                'the WFP lightweight filter is mandatory and bound to every NIC of an installation made '
                                'on a local disk; bound to the iSCSI boot NIC it stops Windows with 0x7B (KB 976042, '
                                'KB 2507616)', 'run sanboot.windows.iscsi_boot (FilterRunType=2), then unbind the filter '
                                'from the boot NIC once Windows is up', [_evidence(system, ndi, 'FilterRunType')]))
    for name in ('DisableCDDB', 'DontStartRawDevices'):
        value = dword_value(system, control + ('PnP',), name)
        if value:
            findings.append(finding('device-policy', 'error' if os_info.family == 'cddb' else 'warning',
                                    'Control\\PnP\\%s=%d (device installation restriction policy): Windows ignores the '
                                    'Critical Device Database (KB 2773300)' % (name, value),
                                    'run sanboot.windows.iscsi_boot (resets it) and change the Group Policy',
                                    [_evidence(system, control + ('PnP',), name)]))
    if dword_value(system, _services(cs) + ('Tcpip', 'Parameters'), 'DisableDhcpMediaSense') != 1:
        findings.append(finding('dhcp-media-sense', 'warning',
                                'Tcpip DisableDhcpMediaSense is not 1: a link flap can drop the boot NIC\'s address',
                                'run sanboot.windows.iscsi_boot',
                                [_evidence(system, _services(cs) + ('Tcpip', 'Parameters'), 'DisableDhcpMediaSense')]))
    mm = control + ('Session Manager', 'Memory Management')
    if dword_value(system, mm, 'DisablePagingExecutive') != 1:
        findings.append(finding('paging-executive', 'warning',
                                'DisablePagingExecutive is not 1: kernel code may be paged out to the iSCSI disk',
                                'run sanboot.windows.iscsi_boot', [_evidence(system, mm, 'DisablePagingExecutive')]))
    flags = dword_value(system, control, 'BootDriverFlags')
    if not (flags or 0) & CM_SERVICE_NETWORK_BOOT_LOAD:
        findings.append(finding('boot-driver-flags', 'info',
                                'BootDriverFlags lacks 0x1: network boot drivers load only because an iBFT is present',
                                'run sanboot.windows.iscsi_boot', [_evidence(system, control, 'BootDriverFlags')]))
    if dword_value(system, control + ('CrashControl',), 'AutoReboot') == 1:
        findings.append(finding('auto-reboot', 'info', 'Windows reboots on a stop error, so a 0x7B flashes by',
                                'iscsi_boot with auto_reboot: false keeps it on screen',
                                [_evidence(system, control + ('CrashControl',), 'AutoReboot')]))
    if os_info.family == 'ddb' and driverstore.first_boot_pending(system):
        findings.append(finding('first-boot-pending', 'info',
                                'a first-boot step is pending: at the next boot Windows installs the driver packages '
                                'staged offline (pnputil), logs to %%SystemRoot%%\\%s and removes the step'
                                % driverstore.FIRST_BOOT_LOG, None, [_evidence(system, driverstore.SETUP, 'CmdLine')]))
    ready = not [f for f in findings if f.severity == 'error'] and bool(nics)
    return findings, ready


def _package_findings(system, drivers, control_set, nic, net_instances, staged=False):
    """Windows 8+ findings about the NIC's package (docs/how-it-works.md, section 9), read from the hives as they are:
    none when SYSTEM's DriverDatabase has it; ``nic-package-not-boot-critical`` when only DRIVERS has it (or an
    installed adapter names its INF and DRIVERS was not given); ``nic-no-driver-package`` when nothing has one."""
    found = nicpackage.candidates(system, drivers, nic)
    evidence = [{'key': '\\'.join(ddb.device_key(nic.most_specific)), 'value': None, 'data': None, 'type': None}]
    if any(state == nicpackage.IN_PLACE for state, _p in found):
        return []
    if found:
        package = found[0][1]
        return [finding(
            'nic-package-not-boot-critical', 'error',
            'the driver package of %s, %s, is installed (the DRIVERS hive has it) but not boot-critical: '
            'SYSTEM\\DriverDatabase has no record of it, so Windows does not bind it while booting from the network'
            % (nic, nicpackage.describe(package)),
            'run sanboot.windows.iscsi_boot: it copies Windows\' own records of the package from DRIVERS into SYSTEM',
            evidence)]
    instance = nicpackage.installed_instance(system, control_set, nic, net_instances)
    if instance and instance[1] and drivers is None:
        return [finding(
            'nic-package-not-boot-critical', 'error',
            'the adapter %s is installed from %s (service %s), whose records are in the DRIVERS hive; '
            'SYSTEM\\DriverDatabase has none, so the package is not boot-critical' % (nic, instance[2], instance[1]),
            'run sanboot.windows.iscsi_boot with drivers_hive (Windows\\System32\\config\\DRIVERS); images and '
            'live hosts read it by themselves', evidence)]
    return [finding(
        'nic-no-driver-package', 'error',
        'Windows has no driver package for %s: %s%s'
        % (nic, "neither SYSTEM's nor DRIVERS' DriverDatabase maps one of its IDs to a package"
           if drivers is not None else
           "SYSTEM's DriverDatabase maps none of its IDs to a package (the DRIVERS hive was not given)",
           '; iscsi_boot stages the package given in drivers:' if staged else ''),
        'give the NIC driver package in drivers: (iscsi_boot stages it as offline servicing does)', evidence)]


def _boot_driver_signature(view, image_path, service):
    """boot-driver-unsigned: the boot-start .sys of the NIC service carries no embedded signature."""
    rel = image_path.replace('/', '\\')
    for prefix in ('\\SystemRoot\\', '%SystemRoot%\\', '\\??\\C:\\Windows\\', 'C:\\Windows\\'):
        if rel.lower().startswith(prefix.lower()):
            rel = rel[len(prefix):]
    data = view.read(rel)
    if data is None:
        return [finding('boot-driver-missing', 'error', 'the driver file of service %s (%s) is not in the installation'
                        % (service, image_path), 'copy the driver package\'s files, or run iscsi_boot with the package '
                        'in drivers:')]
    info = signing.pe_signature(data)
    if info is not None and not info['signed']:
        return [finding('boot-driver-unsigned', 'warning',
                        '%s (service %s) has no embedded signature: 64-bit Windows 8 and later load a boot-start '
                        'driver only with one (Kernel-Mode Code Signing), a catalog is not read that early'
                        % (image_path, service), 'use a driver build whose .sys is signed itself (WHQL / attestation '
                        'signing embeds the signature)')]
    return []
