# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which driver will drive a boot NIC: given in nics:, from a driver package in drivers:, named by the
installation itself, or built into this Windows version (Windows 8+: through its DriverDatabase, nicpackage.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, Value, fold, text_value
from ansible_collections.sanboot.windows.plugins.module_utils.windows import nicpackage
from ansible_collections.sanboot.windows.plugins.module_utils.windows.adapters import enum_net_instances
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nic import NET_CLASS, Driver

# In-box NIC drivers that a hive cannot name by itself (Windows <= 7 keeps its driver index in INF files,
# not in the registry). Source: Cyberus "Windows on iSCSI" part 2/3 (QEMU e1000 -> E1G60 on Windows 7).
INBOX_NIC_SERVICES = {
    ('VEN_8086&DEV_100E', 'cddb'): 'E1G60',
}


def _enum_lookup(reader, control_set, nic):
    """Service of an installed instance of the same chip (exact hardware ID first, then vendor/device)."""
    best = None
    for key in enum_net_instances(reader, control_set):
        service = text_value(reader, key, 'Service')
        if not service:
            continue
        ids = (reader.get_value(key, 'HardwareID') or Value.multi_sz('', [])).decoded()
        ids = ids if isinstance(ids, list) else []
        rank = 0 if any(fold(i) == fold(nic.most_specific) for i in ids) else \
            1 if any(fold(i).startswith(fold(nic.generic)) for i in ids) else None
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, service, key)
    if best is None:
        return None
    return Driver(best[1], 'installed adapter %s' % '\\'.join(best[2][3:]))


def find_driver(reader, control_set, os_info, nic, package_driver=None, drivers_db=None):
    """The service that will drive ``nic``: explicit, from a driver package, from the hive, or built in.

    Windows 8 and later: the package Windows' DriverDatabase (SYSTEM, then the DRIVERS hive ``drivers_db``) maps the
    NIC to, or the one given in drivers: (nicpackage.find); never a package made up for a service.
    """
    if os_info.family == 'ddb':
        return nicpackage.find(reader, drivers_db, control_set, nic, package_driver,
                               enum_net_instances(reader, control_set))
    if package_driver is not None:
        return package_driver
    if nic.service:
        return Driver(nic.service, 'given in nics')
    found = _enum_lookup(reader, control_set, nic)
    if found:
        return found
    inbox = INBOX_NIC_SERVICES.get(('VEN_%s&DEV_%s' % (nic.ven, nic.dev), os_info.family))
    if inbox and reader.key_exists((control_set, 'Services', inbox)):
        return Driver(inbox, 'in-box driver of this Windows version (docs/how-it-works.md)')
    return None


def package_target(os_info):
    """The INF reader's target for this installation (lowest version of the family when it is not known)."""
    version = os_info.version or ((6, 2) if os_info.family == 'ddb' else (6, 1))
    return inf.Target(version[0], version[1], os_info.build, os_info.product_type, os_info.arch or 'amd64',
                      os_info.name)


def driver_from_package(packages, os_info, nic, lenient=False, templates=None):
    """The driver Windows would install for ``nic`` from the given INF files / folders (a Driver)."""
    target = package_target(os_info)
    found, errors = inf.read_package(packages, target, lenient, templates)
    warnings = []
    try:
        chosen = inf.select_boot_driver(found, target, [nic.full_id], errors)
    except inf.InfError:
        # Given only vendor and device, accept the most specific ID of the package that extends them.
        longer = [i for d in found if d.valid for e in d.devices for i in e.ids
                  if fold(i).startswith(fold(nic.generic) + '&')]
        if nic.subsys or not longer:
            raise
        chosen = inf.select_boot_driver(found, target, [longer[0]], errors)
        warnings.append('%s matched %s of %s by vendor and device only; give the NIC\'s full hardware ID to be sure'
                        % (nic, longer[0], chosen['inf_name']))
    ver = chosen.get('driver_ver') or {}
    guid = chosen.get('class_guid') or NET_CLASS
    driver = Driver(chosen['service'], 'driver package %s' % chosen['inf_path'],
                    class_guid='{%s}' % guid.strip('{}').upper(),
                    values=[v for sub, v in chosen['service_values'] if not sub],
                    subkey_values=[(sub, v) for sub, v in chosen['service_values'] if sub],
                    inf=chosen['inf_name'], section=chosen.get('install_section'),
                    driver_ver=(ver.get('date'), ver.get('version')), ids=chosen['hardware_ids'],
                    files=chosen['files'], provider=chosen.get('provider'), package_path=chosen['inf_path'])
    if os_info.family == 'ddb':
        # Staging reads the whole package (every Models line, its files as the INF places them).
        driver.inf_driver = inf.read_inf(chosen['inf_path'], target, lenient, templates)
    return driver, warnings + list(chosen.get('warnings') or [])


def resolve_drivers(reader, control_set, os_info, nics, packages, lenient, templates, required=True, drivers_db=None):
    """{nic id: Driver} and warnings; raises when a NIC has no driver and ``required``."""
    drivers, warnings = {}, []
    for nic in nics:
        package = None
        if packages:
            try:
                package, notes = driver_from_package(packages, os_info, nic, lenient, templates)
                warnings.extend(notes)
            except RegistryError as exc:
                if nic.service is None and required:
                    raise BootError('no driver for %s in %s: %s' % (nic, ', '.join(packages), exc))
                warnings.append('no driver for %s in the packages: %s' % (nic, exc))
        driver = find_driver(reader, control_set, os_info, nic, package, drivers_db)
        if driver is None:
            if required:
                raise BootError(
                    'no driver for %s is known to this Windows (%s): give its driver package in drivers:%s'
                    % (nic, os_info.name, ', or the DRIVERS hive (drivers_hive) when Windows has it installed'
                       if os_info.family == 'ddb' and drivers_db is None else
                       '' if os_info.family == 'ddb' else
                       ', or the in-box service in nics: ({id: ..., service: ...}) if you know it'))
            continue
        drivers[nic.most_specific] = driver
    return drivers, warnings


def binary_of(driver):
    """The file name of the driver's binary (its service's ImagePath), or None."""
    image = [v for v in driver.values if fold(v.name) == 'IMAGEPATH']
    return image[0].decoded().replace('/', '\\').split('\\')[-1] if image else None
