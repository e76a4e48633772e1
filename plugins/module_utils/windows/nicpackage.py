# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot NIC's driver package on Windows 8 and later: which package serves the NIC, and how it becomes
boot-critical (SYSTEM\\DriverDatabase) with Windows' own records - or, for a package Windows does not have yet, with
the records offline servicing writes (driverstore.py). Also what the doctor says about it, and what ``state: absent``
keeps. Windows 7 and older use the Critical Device Database instead (cddb.py); nothing here applies to them.

States of a NIC's package (``Driver.ddb_state``):

* ``in-place``  SYSTEM's DriverDatabase already maps one of the NIC's IDs to a package: nothing to do;
* ``copy``      only the DRIVERS hive has it (Windows installed it, but not as boot-critical): copy its records;
* ``stage``     a package given in ``drivers:`` that Windows does not know: stage it;
* ``enum-only`` an installed adapter of the NIC names its INF, but no DRIVERS hive was given to read the records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.windows import ddb, driverstore, signing
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, Value, fold

IN_PLACE, COPY, STAGE, ENUM_ONLY = 'in-place', 'copy', 'stage', 'enum-only'
# The result's driver_database state of a package a running host's pnputil is to stage (module_utils/live).
PNPUTIL = 'to be staged by pnputil'


class PackageError(RegistryError):
    pass


def _text(reader, key, name):
    value = reader.get_value(key, name) if reader.key_exists(key) else None
    data = value.decoded() if value is not None else None
    return data if isinstance(data, str) else None


def installed_instance(system, control_set, nic, net_instances):
    """(instance key, service, InfPath) of an installed adapter whose hardware or compatible IDs include the NIC's
    most specific ID, or None."""
    for key in net_instances:
        ids = []
        for name in ('HardwareID', 'CompatibleIDs'):
            value = system.get_value(key, name)
            data = value.decoded() if value is not None else None
            ids.extend(data if isinstance(data, list) else [])
        if not any(fold(i) == fold(nic.most_specific) for i in ids):
            continue
        service = _text(system, key, 'Service')
        driver = _text(system, key, 'Driver')
        inf = None
        if driver and '\\' in driver:
            inf = _text(system, (control_set, 'Control', 'Class') + tuple(driver.split('\\')), 'InfPath')
        return key, service, inf
    return None


def same_package(package, inf_driver):
    """True when a database's package is the INF's package: same INF name, Provider and DriverVer, and class."""
    if package is None or inf_driver is None or not package.version:
        return False
    dver = inf_driver.driver_ver or {}
    return fold(package.original_inf or '') == fold(inf_driver.name) and \
        package.version.get('date') == dver.get('date') and \
        package.version.get('version') == _four(dver.get('version')) and \
        fold(package.provider or '') == fold(inf_driver.provider or '') and \
        fold(package.version.get('class_guid') or '') == fold('{%s}' % (inf_driver.class_guid or '').strip('{}'))


def _four(version):
    parts = [int(p) for p in (version or '').split('.') if p.strip().isdigit()][:4]
    return '.'.join(str(p) for p in parts + [0] * (4 - len(parts)))


def _describe(package):
    return '%s (%s)' % (package.inf, package.label)


def _enrich(reader, package):
    """InfName and Provider of a package record (to compare it with an INF)."""
    key = ddb.PACKAGES + (package.label,)
    package.original_inf = _text(reader, key, 'InfName') or package.inf
    package.provider = _text(reader, key, 'Provider')
    return package


def candidates(system, drivers, nic):
    """[(state, Package)]: SYSTEM's packages for the NIC's IDs (in place), then DRIVERS' (to copy), best first."""
    out = []
    for state, hive, reader in ((IN_PLACE, 'SYSTEM', system), (COPY, 'DRIVERS', drivers)):
        for package in ddb.packages_for(reader, nic.hardware_ids, hive):
            out.append((state, _enrich(reader, package)))
    return out


def find(system, drivers, control_set, nic, package_driver, make_driver, net_instances):
    """The Driver for ``nic`` on Windows 8+ (``make_driver(service, source, **fields)`` builds one), with its
    ``ddb_state``; None when nothing is known of the NIC's driver."""
    found = candidates(system, drivers, nic)
    if package_driver is not None:
        for state, package in found:
            if same_package(package, package_driver.inf_driver):
                package_driver.ddb_state, package_driver.package = state, package
                package_driver.source += '; Windows already has it as %s' % _describe(package)
                return package_driver
        package_driver.ddb_state = STAGE
        return package_driver
    instance = installed_instance(system, control_set, nic, net_instances)
    for state, package in found:
        service = package.service
        if not service and instance and fold(instance[2] or '') == fold(package.inf):
            service = instance[1]
        service = service or nic.service
        if not service:
            continue
        if nic.service and fold(nic.service) != fold(service):
            continue
        return make_driver(service, 'DriverDatabase (%s: %s for %s)' % (package.hive, _describe(package),
                                                                        package.device_id),
                           inf=package.inf, section=package.configuration, ids=[package.device_id],
                           package=package, ddb_state=state)
    if instance and instance[1]:
        return make_driver(instance[1], 'installed adapter %s (from %s)' % ('\\'.join(instance[0][3:]), instance[2]),
                           inf=instance[2], ddb_state=ENUM_ONLY)
    if nic.service:
        return make_driver(nic.service, 'given in nics', ddb_state=None)
    return None


# ---------------------------------------------------------------------------------------------------------
# Planning

def plan(planner, drivers_planner, os_info, nic, driver, view=None, now=None, system_root='C:\\Windows',
         stage_with=None):
    """Make the NIC's package boot-critical. Returns (result entry, Staging or None).

    ``stage_with='pnputil'`` (a running host): a package Windows does not have yet is left to Windows' own
    ``pnputil``; the caller stages it, reads the DRIVERS records Windows wrote and plans again (they are then copied).
    """
    state = driver.ddb_state
    if state == IN_PLACE:
        return {'state': 'in place', 'hive': 'SYSTEM', 'inf': driver.package.inf,
                'package': driver.package.label}, None
    if state == COPY:
        if drivers_planner is None:
            raise PackageError('the DRIVERS hive is needed to copy the records of %s' % _describe(driver.package))
        copied = ddb.copy_package(drivers_planner, planner, driver.package, nic.hardware_ids)
        copied['state'] = 'copied from DRIVERS'
        return copied, None
    if state == STAGE and stage_with == 'pnputil':
        return {'state': PNPUTIL, 'inf': driver.inf_driver.name}, None
    if state == STAGE:
        staging = driverstore.plan_stage(driver.inf_driver, planner, drivers_planner, os_info, view, now,
                                         system_root)
        entry = staging.as_dict()
        entry['state'] = 'staged'
        if drivers_planner is None:
            entry['state'] = 'staged in SYSTEM only'
        return entry, staging
    if state == ENUM_ONLY:
        raise PackageError(
            'the driver package of %s (%s, installed for %s) is in the DRIVERS hive (Windows\\System32\\config\\DRIVERS), '
            'which was not given: give it as drivers_hive so that its records can be copied into SYSTEM. No package is '
            'made up.' % (nic, driver.inf or 'its INF', driver.service))
    given = ' (service %s given)' % driver.service if driver.service else ''
    hint = '' if drivers_planner is not None else ', or the DRIVERS hive as drivers_hive if Windows has it installed'
    raise PackageError('Windows 8 and later bind a driver at boot through a driver package, and none is known for '
                       '%s%s: give the NIC driver package in drivers:%s' % (nic, given, hint))


class _Published(object):
    """What service_values needs of a package Windows already has (its published INF and store folder)."""

    def __init__(self, package):
        self.oem_inf, self.label = package.inf, package.label

    @property
    def store_dir(self):
        return driverstore.win_path(driverstore.STORE, self.label)


def service_extra(staging, driver):
    """Values of a service created from a package (staged now, or one Windows has whose records are copied) beyond
    the INF's own (driverstore.service_values); [] for a service that does not come from a package."""
    if staging is None:
        if driver.ddb_state != COPY or driver.package is None or getattr(driver, 'inf_driver', None) is None:
            return []
        staging = _Published(driver.package)
    svc = [s for s in driver.inf_driver.device_services if s.name and fold(s.name) == fold(driver.service)]
    return driverstore.service_values(staging, svc[0]) if svc else [Value.multi_sz('Owners', [staging.oem_inf])]


# ---------------------------------------------------------------------------------------------------------
# The doctor

def findings(system, drivers, control_set, nic, finding, net_instances, staged=False):
    """Windows 8+ findings about the NIC's package (docs/how-it-works.md, section 9), read from the hives as they are:
    none when SYSTEM's DriverDatabase has it; ``nic-package-not-boot-critical`` when only DRIVERS has it (or an
    installed adapter names its INF and DRIVERS was not given); ``nic-no-driver-package`` when nothing has one."""
    found = candidates(system, drivers, nic)
    evidence = [{'key': '\\'.join(ddb.device_key(nic.most_specific)), 'value': None, 'data': None, 'type': None}]
    if any(state == IN_PLACE for state, _p in found):
        return []
    if found:
        package = found[0][1]
        return [finding(
            'nic-package-not-boot-critical', 'error',
            'the driver package of %s, %s, is installed (the DRIVERS hive has it) but not boot-critical: '
            'SYSTEM\\DriverDatabase has no record of it, so Windows does not bind it while booting from the network'
            % (nic, _describe(package)),
            'run sanboot.windows.iscsi_boot: it copies Windows\' own records of the package from DRIVERS into SYSTEM',
            evidence)]
    instance = installed_instance(system, control_set, nic, net_instances)
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


def signature_findings(view, image_path, service, finding):
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
