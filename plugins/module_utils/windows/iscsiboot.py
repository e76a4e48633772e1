# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything a locally installed Windows needs in its SYSTEM hive to boot from iSCSI, and the doctor.

docs/how-it-works.md lists every change with its reason and source. One engine serves the offline modules
(hivex), the image modules (libguestfs) and the live modules (WinRM): all read state through the Planner
reader interface (key_exists, get_value, values, subkeys, real_path) plus ``control_sets()``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb, driverstore, hwid, nicpackage
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_DWORD, REG_NONE, RegistryError, Value, fold, split_path,
)

NET_CLASS = '{4D36E972-E325-11CE-BFC1-08002BE10318}'
NETSERVICE_CLASS = '{4D36E974-E325-11CE-BFC1-08002BE10318}'
WFP_LWF = '{B70D6460-3635-4D42-B866-B8AB1A24454C}'
DEVPKEY_LOCATION_PATHS = ('{a45c254e-df1c-4efd-8020-67d146a850e0}', '0025')

STATE_KEY = ('sanboot.windows', 'iscsi_boot')
STATE_VERSION = 1

# Services that carry the iSCSI boot path besides the NIC driver (sanbootconf's list, S9).
NETWORK_STACK = ('NDIS', 'Tcpip', 'iScsiPrt')
OPTIONAL_STACK = ('PSched',)

# In-box NIC drivers that a hive cannot name by itself (Windows <= 7 keeps its driver index in INF files,
# not in the registry). Source: Cyberus "Windows on iSCSI" part 2/3 (QEMU e1000 -> E1G60 on Windows 7).
INBOX_NIC_SERVICES = {
    ('VEN_8086&DEV_100E', 'cddb'): 'E1G60',
}

CM_SERVICE_NETWORK_BOOT_LOAD = 0x1
PNP_CAPABILITIES_NO_POWER_OFF = 0x18     # KB 2740020: "Allow the computer to turn off this device" cleared


class BootError(RegistryError):
    pass


# ---------------------------------------------------------------------------------------------------------
# NIC identities

_LOCATION_RE = re.compile(r'^PCIROOT\([0-9A-F]+\)(#PCI\([0-9A-F]{4}\))+$', re.I)


class Nic(object):
    """A boot NIC as the hardware presents it: PCI IDs from most to least specific."""

    def __init__(self, ven, dev, subsys=None, rev=None, service=None, location=None):
        self.ven, self.dev, self.subsys, self.rev = ven.upper(), dev.upper(), \
            subsys.upper() if subsys else None, rev.upper() if rev else None
        self.service = service
        self.location = location

    @property
    def generic(self):
        return 'PCI\\VEN_%s&DEV_%s' % (self.ven, self.dev)

    @property
    def hardware_ids(self):
        """Windows' hardware IDs, then compatible IDs, for what we know of the device (Microsoft S20)."""
        base = self.generic
        ids = []
        if self.subsys and self.rev:
            ids.append('%s&SUBSYS_%s&REV_%s' % (base, self.subsys, self.rev))
        if self.subsys:
            ids.append('%s&SUBSYS_%s' % (base, self.subsys))
        if self.rev:
            ids.append('%s&REV_%s' % (base, self.rev))
        ids.append(base)
        return ids

    @property
    def most_specific(self):
        return self.hardware_ids[0]

    def matches(self, device_id):
        """True when a hardware/compatible ID from Windows or an INF names this NIC."""
        return fold(device_id) in [fold(i) for i in self.hardware_ids]

    def __str__(self):
        return self.most_specific


def parse_nic(spec):
    """A NIC from 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', '8086:100e' or a dict with id/service/location."""
    service = location = None
    if isinstance(spec, dict):
        unknown = set(spec) - set(['id', 'service', 'location'])
        if unknown:
            raise BootError('unknown keys in a nics entry: %s (use id, service, location)' % ', '.join(sorted(unknown)))
        service, location = spec.get('service'), spec.get('location')
        spec = spec.get('id')
    if not isinstance(spec, str) or not spec.strip():
        raise BootError('a nics entry needs a PCI ID such as PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03')
    try:
        pci = hwid.pci_id(spec)
    except RegistryError as exc:
        raise BootError(str(exc))
    nic = Nic(pci.ven, pci.dev, pci.subsys, pci.rev)
    if service is not None:
        nic.service = cddb.validate_service_name(service)
    if location is not None:
        if not _LOCATION_RE.match(location.strip()):
            raise BootError('location %r is not a PCI location path like PCIROOT(0)#PCI(0300)' % location)
        nic.location = location.strip().upper()
    return nic


# ---------------------------------------------------------------------------------------------------------
# Windows version

class OsInfo(object):
    def __init__(self):
        self.name = None
        self.version = None          # (major, minor)
        self.build = None
        self.arch = None             # x86 | amd64 | arm64
        self.product_type = None     # 1 workstation, 2 domain controller, 3 server
        self.installation_type = None
        self.source = None
        self.has_driver_database = False

    @property
    def family(self):
        """'cddb' (XP .. 7 / 2008 R2: Critical Device Database) or 'ddb' (8 / 2012 and later: DriverDatabase)."""
        if self.version is not None:
            return 'ddb' if self.version >= (6, 2) else 'cddb'
        return 'ddb' if self.has_driver_database else 'cddb'

    def as_dict(self):
        return {
            'name': self.name,
            'version': '%d.%d' % self.version if self.version else None,
            'build': self.build,
            'arch': self.arch,
            'product_type': self.product_type,
            'installation_type': self.installation_type,
            'family': 'CriticalDeviceDatabase' if self.family == 'cddb' else 'DriverDatabase',
            'source': self.source,
        }


_ARCH = {'X86': 'x86', 'AMD64': 'amd64', 'ARM64': 'arm64', 'IA64': 'ia64'}
_PRODUCT_TYPE = {'WINNT': 1, 'LANMANNT': 2, 'SERVERNT': 3}


def _text(reader, path, name):
    value = reader.get_value(path, name)
    if value is None:
        return None
    data = value.decoded()
    return data if isinstance(data, str) else None


def _dword(reader, path, name):
    value = reader.get_value(path, name)
    if value is None or value.type != REG_DWORD or len(value.data) != 4:
        return None
    return value.decoded()


def detect_os(system, control_set, software=None):
    """Windows version from the SOFTWARE hive when given (as libguestfs does), else what SYSTEM alone tells."""
    info = OsInfo()
    info.has_driver_database = system.key_exists(('DriverDatabase',))
    env = (control_set, 'Control', 'Session Manager', 'Environment')
    arch = _text(system, env, 'PROCESSOR_ARCHITECTURE')
    info.arch = _ARCH.get((arch or '').upper())
    ptype = _text(system, (control_set, 'Control', 'ProductOptions'), 'ProductType')
    info.product_type = _PRODUCT_TYPE.get((ptype or '').upper())
    if software is not None:
        cv = ('Microsoft', 'Windows NT', 'CurrentVersion')
        if not software.key_exists(cv):
            raise BootError('the SOFTWARE hive has no Microsoft\\Windows NT\\CurrentVersion key; is it a SOFTWARE '
                            'hive of a Windows installation?')
        major = _dword(software, cv, 'CurrentMajorVersionNumber')
        minor = _dword(software, cv, 'CurrentMinorVersionNumber')
        if major is not None:
            info.version = (major, minor or 0)
        else:
            text = _text(software, cv, 'CurrentVersion') or ''
            match = re.match(r'^(\d+)\.(\d+)', text)
            if not match:
                raise BootError('the SOFTWARE hive has no usable CurrentVersion (%r)' % text)
            info.version = (int(match.group(1)), int(match.group(2)))
        build = _text(software, cv, 'CurrentBuildNumber') or _text(software, cv, 'CurrentBuild')
        info.build = int(build) if build and build.isdigit() else None
        info.name = _text(software, cv, 'ProductName')
        info.installation_type = _text(software, cv, 'InstallationType')
        client = info.product_type in (None, 1) and (info.installation_type or 'Client') == 'Client'
        if info.version == (10, 0) and info.build and info.build >= 22000 and client and info.name and \
                info.name.startswith('Windows 10'):
            # Windows 11 still calls itself "Windows 10" in ProductName; the build tells (libguestfs does the same).
            info.name = 'Windows 11' + info.name[len('Windows 10'):]
        info.source = 'SOFTWARE hive'
        if (info.family == 'ddb') != info.has_driver_database:
            raise BootError(
                'the SOFTWARE hive says %s (%d.%d) but the SYSTEM hive %s DriverDatabase key: the two hives are '
                'not from the same Windows installation' % (info.name or 'Windows', info.version[0], info.version[1],
                                                            'has a' if info.has_driver_database else 'has no'))
    else:
        info.source = 'SYSTEM hive (no SOFTWARE hive given: DriverDatabase at the root means Windows 8 or later)'
        info.name = 'Windows 8 / Server 2012 or later' if info.has_driver_database else \
            'Windows XP .. 7 / Server 2003 .. 2008 R2'
    return info


# ---------------------------------------------------------------------------------------------------------
# Drivers

class Driver(object):
    """Which service drives a NIC, and where that knowledge came from."""

    def __init__(self, service, source, class_guid=NET_CLASS, values=None, subkey_values=None, inf=None,
                 section=None, driver_ver=None, ids=None, files=None, provider=None, package=None, ddb_state=None,
                 inf_driver=None):
        self.service = service
        self.source = source
        self.class_guid = class_guid
        self.values = values or []              # Services\<svc> values from a package
        self.subkey_values = subkey_values or []  # [(subkey tuple, Value)] relative to Services\<svc>
        self.inf = inf
        self.section = section
        self.driver_ver = driver_ver            # (date 'MM/DD/YYYY' or None, version 'a.b.c.d' or None)
        self.ids = ids or []                    # IDs from the package that match the NIC
        self.files = files or []
        self.provider = provider
        # Windows 8+ (nicpackage.py): Windows' record of the package, how it becomes boot-critical, the INF reader's
        # view of a package given in drivers:.
        self.package = package
        self.ddb_state = ddb_state
        self.inf_driver = inf_driver

    def as_dict(self):
        out = {'service': self.service, 'source': self.source, 'class_guid': self.class_guid, 'inf': self.inf,
               'section': self.section, 'hardware_ids': self.ids, 'files': self.files}
        if self.ddb_state is not None:
            out['package_state'] = self.ddb_state
            out['package'] = self.package.as_dict() if self.package is not None else None
        return out


def enum_net_instances(reader, control_set):
    """Every network adapter instance Windows has seen on PCI: [(instance path tuple, values dict)]."""
    out = []
    base = (control_set, 'Enum', 'PCI')
    if not reader.key_exists(base):
        return out
    for device in reader.subkeys(base):
        for instance in reader.subkeys(base + (device,)):
            key = base + (device, instance)
            guid = _text(reader, key, 'ClassGUID')
            klass = _text(reader, key, 'Class')
            if (guid or '').upper() == NET_CLASS or (klass or '').lower() == 'net':
                out.append(key)
    return out


def _enum_lookup(reader, control_set, nic):
    """Service of an installed instance of the same chip (exact hardware ID first, then vendor/device)."""
    best = None
    for key in enum_net_instances(reader, control_set):
        service = _text(reader, key, 'Service')
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
        return nicpackage.find(reader, drivers_db, control_set, nic, package_driver, Driver,
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
    from ansible_collections.sanboot.windows.plugins.module_utils import inf
    version = os_info.version or ((6, 2) if os_info.family == 'ddb' else (6, 1))
    return inf.Target(version[0], version[1], os_info.build, os_info.product_type, os_info.arch or 'amd64',
                      os_info.name)


def driver_from_package(packages, os_info, nic, lenient=False, templates=None):
    """The driver Windows would install for ``nic`` from the given INF files / folders (a Driver)."""
    from ansible_collections.sanboot.windows.plugins.module_utils import inf
    target = package_target(os_info)
    found, errors = inf.read_package(packages, target, lenient, templates)
    warnings = []
    try:
        chosen = inf.select_boot_driver(found, target, [nic.most_specific], errors)
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
                    files=chosen['files'], provider=chosen.get('provider'))
    if os_info.family == 'ddb':
        # Staging reads the whole package (every Models line, its files as the INF places them).
        driver.inf_driver = inf.read_inf(chosen['inf_path'], target, lenient, templates)
    return driver, warnings + list(chosen.get('warnings') or [])


# ---------------------------------------------------------------------------------------------------------
# Helpers over the reader

def _services(control_set):
    return (control_set, 'Services')


def dependency_closure(reader, control_set, services):
    """The services and, recursively, every service in their DependOnService lists (that exists)."""
    seen, order, missing = set(), [], []
    stack = list(reversed(services))
    while stack:
        name = stack.pop()
        if fold(name) in seen:
            continue
        seen.add(fold(name))
        key = _services(control_set) + (name,)
        if not reader.key_exists(key):
            missing.append(name)
            continue
        real = reader.real_path(key)[-1]
        order.append(real)
        deps = reader.get_value(key, 'DependOnService')
        deps = deps.decoded() if deps is not None else []
        if isinstance(deps, list):
            stack.extend(reversed([d for d in deps if d]))
    return order, missing


def current_hardware_config(reader):
    """HardwareConfig\\<LastConfig> (Windows 8+ keeps BootDriverFlags per hardware configuration)."""
    last = _text(reader, ('HardwareConfig',), 'LastConfig')
    if last and reader.key_exists(('HardwareConfig', last)):
        return ('HardwareConfig', reader.real_path(('HardwareConfig', last))[-1])
    return None


def nic_class_keys(reader, control_set, nic):
    """Control\\Class\\{Net}\\NNNN keys of installed instances of this NIC (same hardware ID)."""
    out = []
    for key in enum_net_instances(reader, control_set):
        ids = (reader.get_value(key, 'HardwareID') or Value.multi_sz('', [])).decoded()
        if not isinstance(ids, list) or not any(nic.matches(i) for i in ids):
            continue
        driver = _text(reader, key, 'Driver')
        if driver and '\\' in driver:
            class_key = (control_set, 'Control', 'Class') + tuple(driver.split('\\'))
            if reader.key_exists(class_key):
                out.append(reader.real_path(class_key))
    return out


def location_path(reader, instance_key):
    """PCIROOT(0)#PCI(0300) style location of an Enum instance, from its properties or LocationInformation."""
    prop = instance_key + ('Properties',) + DEVPKEY_LOCATION_PATHS
    for key in (prop, prop + ('0000',)):
        value = reader.get_value(key, '') if reader.key_exists(key) else None
        if value is not None and value.data:
            text = value.data.decode('utf-16-le', 'replace').split('\x00')
            paths = [t for t in text if t.upper().startswith('PCIROOT')]
            if paths:
                return paths[0]
    info = _text(reader, instance_key, 'LocationInformation') or ''
    match = re.search(r'\((\d+),(\d+),(\d+)\)\s*$', info)
    if match and match.group(1) == '0':
        return 'PCIROOT(0)#PCI(%02X%02X)' % (int(match.group(2)), int(match.group(3)))
    return None


# ---------------------------------------------------------------------------------------------------------
# The conversion

class Options(object):
    """Choices for the settings that the specification marks as uncertain or site-specific."""

    def __init__(self, control_sets='current', wfp_filter_optional=True, boot_driver_flags=True,
                 auto_reboot=None, nic_power_management=False, reset_device_policy=True, first_boot=False,
                 stage_with=None):
        self.control_sets = control_sets
        # Windows 8+: a first-boot step lets Windows install the packages staged offline (driverstore.py).
        self.first_boot = first_boot
        # Windows 8+ on a running host: 'pnputil' (Windows stages new packages itself; module_utils/live), else None.
        self.stage_with = stage_with
        self.wfp_filter_optional = wfp_filter_optional
        self.boot_driver_flags = boot_driver_flags
        self.auto_reboot = auto_reboot
        self.nic_power_management = nic_power_management
        self.reset_device_policy = reset_device_policy


def _set_start_boot(planner, key):
    planner.ensure_value(key, Value.dword('Start', 0))
    if planner.key_exists(key + ('StartOverride',)):
        # Windows 8+ demotes boot drivers it did not need at the last boot (KB 3024175).
        planner.ensure_key_absent(key + ('StartOverride',))


def _or_dword(planner, key, name, bits):
    current = _dword(planner, key, name) if planner.key_exists(key) else None
    planner.ensure_value(key, Value.dword(name, (current or 0) | bits))


def plan_iscsi_boot(system, planner, os_info, nics, drivers, options, drivers_planner=None, view=None, now=None,
                    system_root='C:\\Windows'):
    """Plan every change; returns a result dict (nics, services, warnings, ...). ``drivers`` maps NIC -> Driver.

    Windows 8+: ``drivers_planner`` plans the DRIVERS hive (staging writes there too), ``view`` reads the
    installation's files (images). Staged packages are returned under ``_stagings``, the files to write under
    ``_files`` ([(local path or bytes, path under the Windows folder)]); the caller writes them.
    """
    warnings = []
    sets = system.control_sets(options.control_sets)
    result_nics = []
    boot_services = []
    stagings = []
    for nic in nics:
        driver = drivers[nic.most_specific]
        entry = {'id': nic.most_specific, 'hardware_ids': nic.hardware_ids, 'service': driver.service,
                 'driver_source': driver.source}
        staging = None
        if os_info.family == 'ddb':
            try:
                entry['driver_database'], staging = nicpackage.plan(planner, drivers_planner, os_info, nic, driver,
                                                                    view, now, system_root, options.stage_with)
            except RegistryError as exc:
                raise BootError(str(exc))
            if staging is not None:
                stagings.append(staging)
                warnings.extend(staging.warnings)
                warnings.extend(driverstore.signature_findings(driver.inf_driver, staging.store_files, os_info,
                                                               _binary_of(driver)))
        for cs in sets:
            svc_key = _services(cs) + (driver.service,)
            if not planner.key_exists(svc_key):
                if not driver.values:
                    raise BootError('service %s for %s does not exist in %s: the NIC driver is not installed. Give '
                                    'its driver package in drivers:' % (driver.service, nic, cs))
                # Install the service as the package would, already boot-start and network-boot flagged (so a
                # second run finds nothing to change).
                flags = [v for v in driver.values if v.name.lower() == 'bootflags']
                boot_flags = (flags[0].decoded() if flags and isinstance(flags[0].decoded(), int) else 0)
                values = [v for v in driver.values if v.name.lower() not in ('start', 'bootflags')]
                values += [Value.dword('Start', 0), Value.dword('BootFlags', boot_flags | CM_SERVICE_NETWORK_BOOT_LOAD)]
                extra = nicpackage.service_extra(staging, driver) if os_info.family == 'ddb' else []
                if extra:
                    names = [fold(v.name) for v in extra]
                    values = [v for v in values if fold(v.name) not in names] + extra
                cddb.plan_service(planner, cs, driver.service, values)
                for sub, value in driver.subkey_values:
                    planner.ensure_value(svc_key + tuple(sub), value)
                entry['service_created'] = True
                entry['files'] = driver.files
            if os_info.family == 'cddb':
                for device_id in [nic.generic, nic.most_specific]:
                    path = (cs,) + cddb.CDDB + (cddb.cddb_key_name(device_id),)
                    planner.ensure_value(path, Value.sz('ClassGUID', driver.class_guid))
                    planner.ensure_value(path, Value.sz('Service', driver.service))
        boot_services.append(driver.service)
        result_nics.append(entry)

    services_started = []
    for cs in sets:
        closure, missing = dependency_closure(planner, cs, boot_services)
        for name in missing:
            warnings.append('%s\\Services\\%s is named in a DependOnService list but does not exist' % (cs, name))
        for name in closure:
            key = _services(cs) + (name,)
            kind = _dword(planner, key, 'Type')
            if kind is not None and not kind & 0x3:
                warnings.append('%s is a Win32 service (Type 0x%x) in the NIC driver\'s dependencies; Windows cannot '
                                'start it at boot, so it was left alone' % (name, kind))
                continue
            _set_start_boot(planner, key)
            if name in boot_services or fold(name) in [fold(s) for s in boot_services]:
                _or_dword(planner, key, 'BootFlags', CM_SERVICE_NETWORK_BOOT_LOAD)
            if name not in services_started:
                services_started.append(name)
        for name in NETWORK_STACK:
            key = _services(cs) + (name,)
            if not planner.key_exists(key):
                if name == 'iScsiPrt':
                    raise BootError('%s\\Services\\iScsiPrt does not exist: this Windows has no Microsoft iSCSI '
                                    'initiator (Windows XP / Server 2003 need the Microsoft iSCSI Software Initiator '
                                    '2.08 installed first)' % cs)
                raise BootError('%s\\Services\\%s does not exist; this does not look like a complete Windows SYSTEM '
                                'hive' % (cs, name))
            _set_start_boot(planner, key)
            if name not in services_started:
                services_started.append(name)
        for name in OPTIONAL_STACK:
            key = _services(cs) + (name,)
            if planner.key_exists(key):
                _set_start_boot(planner, key)
        control = (cs, 'Control')
        planner.ensure_value(_services(cs) + ('Tcpip', 'Parameters'), Value.dword('DisableDhcpMediaSense', 1))
        planner.ensure_value(control + ('Session Manager', 'Memory Management'),
                             Value.dword('DisablePagingExecutive', 1))
        if options.boot_driver_flags:
            _or_dword(planner, control, 'BootDriverFlags', CM_SERVICE_NETWORK_BOOT_LOAD)
        ndi = control + ('Network', NETSERVICE_CLASS.lower(), WFP_LWF, 'Ndi')
        if options.wfp_filter_optional and planner.key_exists(ndi) and \
                _dword(planner, ndi, 'FilterRunType') not in (None, 2):
            planner.ensure_value(ndi, Value.dword('FilterRunType', 2))
        pnp = control + ('PnP',)
        for name in ('DisableCDDB', 'DontStartRawDevices'):
            current = _dword(planner, pnp, name) if planner.key_exists(pnp) else None
            if current:
                if options.reset_device_policy:
                    planner.ensure_value(pnp, Value.dword(name, 0))
                    warnings.append('%s\\Control\\PnP\\%s was %d (a device installation restriction Group Policy): '
                                    'reset to 0, or Windows ignores the boot NIC and stops with 0x7B. The policy will '
                                    'set it again at the next policy refresh unless it is changed too (KB 2773300)'
                                    % (cs, name, current))
                else:
                    warnings.append('%s\\Control\\PnP\\%s is %d: Windows will ignore the Critical Device Database'
                                    % (cs, name, current))
        if options.auto_reboot is not None:
            planner.ensure_value(control + ('CrashControl',), Value.dword('AutoReboot', 1 if options.auto_reboot else 0))
        if options.nic_power_management is False:
            for nic in nics:
                for class_key in nic_class_keys(planner, cs, nic):
                    planner.ensure_value(class_key, Value.dword('PnPCapabilities', PNP_CAPABILITIES_NO_POWER_OFF))
    if options.boot_driver_flags:
        hwconfig = current_hardware_config(planner)
        if hwconfig:
            _or_dword(planner, hwconfig, 'BootDriverFlags', CM_SERVICE_NETWORK_BOOT_LOAD)
    files = [(src, rel) for staging in stagings for src, rel in staging.file_ops()]
    out = {'control_sets': sets, 'nics': result_nics, 'boot_start_services': services_started,
           'warnings': warnings, '_stagings': stagings}
    if stagings and options.first_boot:
        try:
            driverstore.plan_first_boot(planner, system)
        except RegistryError as exc:
            raise BootError(str(exc))
        files.append((driverstore.first_boot_script(stagings, os_info.build), driverstore.FIRST_BOOT_SCRIPT))
        out['first_boot'] = {'command': driverstore.first_boot_command(), 'script': driverstore.FIRST_BOOT_SCRIPT,
                             'log': driverstore.FIRST_BOOT_LOG}
    out['_files'] = files
    return out


def _binary_of(driver):
    image = [v for v in driver.values if fold(v.name) == 'IMAGEPATH']
    return image[0].decoded().replace('/', '\\').split('\\')[-1] if image else None


# ---------------------------------------------------------------------------------------------------------
# Remembering what was there, so that state=absent restores it exactly

def _state_name(path, name=None):
    return '\\'.join(path) + ('\\' + name if name is not None else '')


def record_originals(planner, ops):
    """Add to the plan a record of what ``ops`` change, unless an earlier run recorded it already.

    Kept in the hive itself (STATE_KEY), so it travels with the hive or image: 'originals' holds each
    changed or deleted value with its exact type and bytes, 'absent' the values that did not exist,
    'created' and 'deleted' the keys. The first record wins: a later run never takes our own earlier
    change for the original.
    """
    existing = planner.key_exists(STATE_KEY)
    seen = set()

    def record(sub, value):
        family = 'keys' if sub in ('created', 'deleted') else 'values'
        marker = (family, fold(value.name))
        if marker in seen:
            return
        seen.add(marker)
        if existing:
            others = ('created', 'deleted') if family == 'keys' else ('originals', 'absent')
            if any(planner.get_value(STATE_KEY + (o,), value.name) is not None for o in others):
                return
        planner.ensure_value(STATE_KEY + (sub,), value)

    created = [tuple(fold(p) for p in op.path) for op in ops if op.kind == 'create_key']
    for op in ops:
        pid = tuple(fold(p) for p in op.path)
        if op.kind == 'create_key':
            if not any(len(c) < len(pid) and pid[:len(c)] == c for c in created):
                record('created', Value(_state_name(op.path), REG_NONE, b''))
        elif op.kind in ('set_value', 'delete_value'):
            if any(pid[:len(c)] == c for c in created):
                continue
            name = op.value.name if op.kind == 'set_value' else op.name
            if op.before is not None:
                record('originals', Value(_state_name(op.path, name), op.before.type, op.before.data))
            else:
                record('absent', Value(_state_name(op.path, name), REG_NONE, b''))
        elif op.kind == 'delete_key':
            for path, values in op.before:
                record('deleted', Value(_state_name(path), REG_NONE, b''))
                for value in values:
                    record('originals', Value(_state_name(path, value.name), value.type, value.data))
    if ops:
        planner.ensure_value(STATE_KEY, Value.dword('Version', STATE_VERSION))


def plan_restore(reader, planner, keep=None):
    """state=absent: undo every recorded change, then drop the record. Returns a summary dict.

    ``keep(path, value name or None)`` -> True leaves a change in place: the records of a driver package Windows has
    installed for real since (driverstore.adopted), which are Windows' now.
    """
    state = STATE_KEY
    if not planner.key_exists(state):
        return {'restored': 0}
    version = _dword(reader, state, 'Version')
    if version != STATE_VERSION:
        raise BootError('the hive holds sanboot.windows state of version %r; this version reads %d'
                        % (version, STATE_VERSION))
    count = 0

    def names(sub):
        key = state + (sub,)
        return reader.values(key) if reader.key_exists(key) else []

    def split(name, has_value):
        parts = name.split('\\')
        return (split_path(parts[:-1]), parts[-1]) if has_value else (split_path(parts), None)

    def kept(path, name=None):
        if keep is None:
            return False
        if name is None and reader.key_exists(path):
            return keep(path, None) or any(keep(path, v.name) for v in reader.values(path))
        return keep(path, name)

    created = sorted((split(v.name, False)[0] for v in names('created')), key=len, reverse=True)
    for path in created:
        if not kept(path) and planner.ensure_key_absent(path):
            count += 1
    for value in sorted(names('deleted'), key=lambda v: len(v.name)):
        planner.ensure_key(split(value.name, False)[0])
    for value in names('originals'):
        path, name = split(value.name, True)
        if not kept(path, name) and planner.ensure_value(path, Value(name, value.type, value.data)):
            count += 1
    for value in names('absent'):
        path, name = split(value.name, True)
        if not kept(path, name) and planner.ensure_value_absent(path, name):
            count += 1
    planner.ensure_key_absent(state)
    parent = state[:-1]
    if [fold(s) for s in reader.subkeys(parent)] == [fold(state[-1])] and not reader.values(parent):
        planner.ensure_key_absent(parent)
    return {'restored': count}


# ---------------------------------------------------------------------------------------------------------
# The doctor

def finding(fid, severity, message, fix=None, evidence=None):
    return {'id': fid, 'severity': severity, 'message': message, 'fix': fix,
            'evidence': evidence or []}


def _evidence(reader, key, name):
    value = reader.get_value(key, name) if reader.key_exists(key) else None
    return {'key': '\\'.join(key), 'value': name,
            'data': value.display()['data'] if value is not None else None,
            'type': value.display()['type'] if value is not None else None}


def adapters(reader, control_set):
    """Network adapters the installation has seen, for the report (and for nics: of iscsi_boot)."""
    out = []
    for key in enum_net_instances(reader, control_set):
        hw = reader.get_value(key, 'HardwareID')
        compat = reader.get_value(key, 'CompatibleIDs')
        service = _text(reader, key, 'Service')
        start = _dword(reader, _services(control_set) + (service,), 'Start') if service else None
        desc = _text(reader, key, 'FriendlyName') or _text(reader, key, 'DeviceDesc') or ''
        out.append({
            'instance': '\\'.join(key[2:]),
            'description': desc.split(';')[-1],
            'hardware_ids': hw.decoded() if hw is not None and isinstance(hw.decoded(), list) else [],
            'compatible_ids': compat.decoded() if compat is not None and isinstance(compat.decoded(), list) else [],
            'service': service,
            'location_path': location_path(reader, key),
            'service_start': start,
            'starts_at_boot': start == 0,
        })
    return out


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
            findings.extend(nicpackage.findings(system, drivers_db, cs, nic, finding, net_instances,
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
            good = [e for e in entries if fold(_text(system, e, 'Service') or '') == fold(driver.service)
                    and _text(system, e, 'ClassGUID')]
            if not good:
                findings.append(finding('nic-not-boot-critical', 'error',
                                        'no Critical Device Database entry makes %s boot-critical with service %s'
                                        % (nic, driver.service),
                                        'run sanboot.windows.iscsi_boot (or critical_device)',
                                        [_evidence(system, entries[-1], 'Service')]))
        elif view is not None and (os_info.arch or 'amd64') not in ('x86', 'arm'):
            image = _text(system, svc, 'ImagePath')
            if image:
                findings.extend(nicpackage.signature_findings(view, image, driver.service, finding))
        flags = _dword(system, svc, 'BootFlags') or 0
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
        kind = _dword(system, key, 'Type')
        if kind is not None and not kind & 0x3:
            continue
        start = _dword(system, key, 'Start')
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
    if _dword(system, ndi, 'FilterRunType') == 1:
        findings.append(finding('wfp-filter-bound', 'error',
                                'the WFP lightweight filter is mandatory and bound to every NIC of an installation made '
                                'on a local disk; bound to the iSCSI boot NIC it stops Windows with 0x7B (KB 976042, '
                                'KB 2507616)', 'run sanboot.windows.iscsi_boot (FilterRunType=2), then unbind the filter '
                                'from the boot NIC once Windows is up', [_evidence(system, ndi, 'FilterRunType')]))
    for name in ('DisableCDDB', 'DontStartRawDevices'):
        value = _dword(system, control + ('PnP',), name)
        if value:
            findings.append(finding('device-policy', 'error' if os_info.family == 'cddb' else 'warning',
                                    'Control\\PnP\\%s=%d (device installation restriction policy): Windows ignores the '
                                    'Critical Device Database (KB 2773300)' % (name, value),
                                    'run sanboot.windows.iscsi_boot (resets it) and change the Group Policy',
                                    [_evidence(system, control + ('PnP',), name)]))
    if _dword(system, _services(cs) + ('Tcpip', 'Parameters'), 'DisableDhcpMediaSense') != 1:
        findings.append(finding('dhcp-media-sense', 'warning',
                                'Tcpip DisableDhcpMediaSense is not 1: a link flap can drop the boot NIC\'s address',
                                'run sanboot.windows.iscsi_boot',
                                [_evidence(system, _services(cs) + ('Tcpip', 'Parameters'), 'DisableDhcpMediaSense')]))
    mm = control + ('Session Manager', 'Memory Management')
    if _dword(system, mm, 'DisablePagingExecutive') != 1:
        findings.append(finding('paging-executive', 'warning',
                                'DisablePagingExecutive is not 1: kernel code may be paged out to the iSCSI disk',
                                'run sanboot.windows.iscsi_boot', [_evidence(system, mm, 'DisablePagingExecutive')]))
    flags = _dword(system, control, 'BootDriverFlags')
    if not (flags or 0) & CM_SERVICE_NETWORK_BOOT_LOAD:
        findings.append(finding('boot-driver-flags', 'info',
                                'BootDriverFlags lacks 0x1: network boot drivers load only because an iBFT is present',
                                'run sanboot.windows.iscsi_boot', [_evidence(system, control, 'BootDriverFlags')]))
    if _dword(system, control + ('CrashControl',), 'AutoReboot') == 1:
        findings.append(finding('auto-reboot', 'info', 'Windows reboots on a stop error, so a 0x7B flashes by',
                                'iscsi_boot with auto_reboot: false keeps it on screen',
                                [_evidence(system, control + ('CrashControl',), 'AutoReboot')]))
    if os_info.family == 'ddb' and driverstore.first_boot_pending(system):
        findings.append(finding('first-boot-pending', 'info',
                                'a first-boot step is pending: at the next boot Windows installs the driver packages '
                                'staged offline (pnputil), logs to %%SystemRoot%%\\%s and removes the step'
                                % driverstore.FIRST_BOOT_LOG, None, [_evidence(system, driverstore.SETUP, 'CmdLine')]))
    ready = not [f for f in findings if f['severity'] == 'error'] and bool(nics)
    return findings, ready
