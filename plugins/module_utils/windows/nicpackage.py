# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot NIC's driver package on Windows 8 and later: which package serves the NIC, and how it becomes
boot-critical (SYSTEM\\DriverDatabase) with Windows' own records - or, for a package Windows does not have yet, with
the records offline servicing writes (driverstore.py). The doctor's findings about it are in doctor.py. Windows 7
and older use the Critical Device Database instead (cddb.py); nothing here applies to them.

One vocabulary for a NIC's package, the same in ``Driver.ddb_state`` (what find() found), in iscsi_boot's result
(``driver_database.state``, what plan() did) and in iscsi_boot_info's ``package_state``:

* ``in place``             SYSTEM's DriverDatabase already maps one of the NIC's IDs to a package: nothing to do;
* ``copied from DRIVERS``  only the DRIVERS hive has it (Windows installed it, but not as boot-critical): its records
                           are copied;
* ``staged``               a package given in ``drivers:`` that Windows does not know: it is staged (``staged in
                           SYSTEM only`` without the DRIVERS hive; ``to be staged by pnputil`` on a running host,
                           where Windows stages it itself);
* ``named by an installed adapter``  an installed adapter of the NIC names its INF, but no DRIVERS hive was given to
                           read the records (an error for iscsi_boot).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.windows import ddb, driverstore
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nic import Driver
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, Value, fold

IN_PLACE, COPY, STAGE, ENUM_ONLY = 'in place', 'copied from DRIVERS', 'staged', 'named by an installed adapter'
STAGE_SYSTEM_ONLY = 'staged in SYSTEM only'
# A package a running host's pnputil is to stage (jobs/live.py).
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


def describe(package):
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


def find(system, drivers, control_set, nic, package_driver, net_instances):
    """The Driver for ``nic`` on Windows 8+, with its ``ddb_state``; None when nothing is known of the NIC's
    driver."""
    found = candidates(system, drivers, nic)
    if package_driver is not None:
        for state, package in found:
            if same_package(package, package_driver.inf_driver):
                package_driver.ddb_state, package_driver.package = state, package
                package_driver.source += '; Windows already has it as %s' % describe(package)
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
        return Driver(service, 'DriverDatabase (%s: %s for %s)' % (package.hive, describe(package),
                                                                   package.device_id),
                      inf=package.inf, section=package.configuration, ids=[package.device_id],
                      package=package, ddb_state=state)
    if instance and instance[1]:
        return Driver(instance[1], 'installed adapter %s (from %s)' % ('\\'.join(instance[0][3:]), instance[2]),
                      inf=instance[2], ddb_state=ENUM_ONLY)
    if nic.service:
        return Driver(nic.service, 'given in nics', ddb_state=None)
    return None


# ---------------------------------------------------------------------------------------------------------
# Planning

class PackagePlan(object):
    """What plan() does for one NIC's package: ``state`` (the vocabulary above), ``details`` (the package's published
    INF, name and, when staged, its folder and files: the result's ``driver_database``), ``staging`` (driverstore.Staging
    of a package staged now, or None)."""

    def __init__(self, state, details, staging=None):
        self.state, self.details, self.staging = state, details, staging

    def as_dict(self):
        return dict(self.details, state=self.state)


def plan(planner, drivers_planner, os_info, nic, driver, view=None, now=None, system_root='C:\\Windows',
         stage_with=None):
    """Make the NIC's package boot-critical. Returns a PackagePlan.

    ``stage_with='pnputil'`` (a running host): a package Windows does not have yet is left to Windows' own
    ``pnputil``; the caller stages it, reads the DRIVERS records Windows wrote and plans again (they are then copied).
    """
    state = driver.ddb_state
    if state == IN_PLACE:
        return PackagePlan(IN_PLACE, {'hive': 'SYSTEM', 'inf': driver.package.inf, 'package': driver.package.label})
    if state == COPY:
        if drivers_planner is None:
            raise PackageError('the DRIVERS hive is needed to copy the records of %s' % describe(driver.package))
        return PackagePlan(COPY, ddb.copy_package(drivers_planner, planner, driver.package, nic.hardware_ids))
    if state == STAGE and stage_with == 'pnputil':
        return PackagePlan(PNPUTIL, {'inf': driver.inf_driver.name})
    if state == STAGE:
        staging = driverstore.plan_stage(driver.inf_driver, planner, drivers_planner, os_info, view, now,
                                         system_root)
        return PackagePlan(STAGE if drivers_planner is not None else STAGE_SYSTEM_ONLY, staging.as_dict(), staging)
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
