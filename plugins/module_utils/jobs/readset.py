# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine reads, declared as data: the registry keys the iscsi_boot, iscsi_boot_info and critical_device
jobs look at, so that a running Windows needs to hand over only those (jobs/live.py reads exactly this set
with ``reg query`` and builds a partial working hive from it) and a test can check that the jobs read nothing else
(tests/unit/plugins/module_utils/jobs/test_readset.py runs every job on full fixture hives through a recording reader).

A ``Read`` is (hive, key path relative to that hive's root, recursive, values):

* hive: 'SYSTEM', 'SOFTWARE' (or 'DRIVERS' on Windows 8 and later, for issue 14's records);
* values None: every value of the key, and the names of its subkeys (recursive: of every key below it too);
* values (names): only these values ('' is the default value); with recursive, every key below that holds one of
  them, with it. Keys that hold none of them are left out: the jobs find such keys by those values only.

Some keys depend on what an earlier read found (the NIC's service named by an Enum instance, the DriverDatabase
chain DeviceIds -> DriverInfFiles -> DriverPackages, the services a driver depends on, the keys a record of
originals names). ``read_set`` returns what it can name from the keys read so far (``system``, a reader of the
partial hive, None before the first read); the caller reads what is new and asks again until nothing is. SYSTEM
paths use the literal control set that Select names; before Select is read, the caller's ``current`` name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    HOLES, PARENTS, Follow, Read, RegistryError, fold, text_value,
)
from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb, ddb, driverstore, nicpackage
from ansible_collections.sanboot.windows.plugins.module_utils.windows.adapters import (
    DEVPKEY_LOCATION_PATHS, enum_net_instances,
)
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nic import NET_CLASS, Driver, parse_nics
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nicdriver import (
    INBOX_NIC_SERVICES, driver_from_package, resolve_drivers,
)
from ansible_collections.sanboot.windows.plugins.module_utils.windows.osinfo import OsInfo, detect_os
from ansible_collections.sanboot.windows.plugins.module_utils.windows.record import STATE_KEY
from ansible_collections.sanboot.windows.plugins.module_utils.windows.services import (
    NETSERVICE_CLASS, NETWORK_STACK, OPTIONAL_STACK, WFP_LWF, dependency_closure,
)


CURRENT_VERSION = ('Microsoft', 'Windows NT', 'CurrentVersion')
# detect_os: the version values of SOFTWARE (the hive itself is 30 to 100 MB)
SOFTWARE_READS = (Read('SOFTWARE', CURRENT_VERSION, False, (
    'CurrentMajorVersionNumber', 'CurrentMinorVersionNumber', 'CurrentVersion', 'CurrentBuildNumber', 'CurrentBuild',
    'ProductName', 'InstallationType')),)

# Keys outside the control sets: its root (DriverDatabase, HardwareConfig and the control sets exist?), Select, the
# hardware configurations (BootDriverFlags on Windows 8 and later), the record of originals.
FIXED_READS = (
    Read('SYSTEM', (), False, None),
    Read('SYSTEM', ('Select',), False, None),
    Read('SYSTEM', ('HardwareConfig',), False, None),
    Read('SYSTEM', ('HardwareConfig',), True, ('BootDriverFlags',)),
    Read('SYSTEM', STATE_KEY[:1], True, None),
    Read('SYSTEM', ('DriverDatabase',), False, None),
    Read('SYSTEM', ('DriverDatabase', 'DeviceIds'), False, None),
)
# Windows 8 and later, read with the first round (before the version is known, so that a Windows 8+ task needs no
# second round; dropped once SYSTEM shows no DriverDatabase: on Windows 7 they cost a few queries that find nothing):
# the DRIVERS hive's database root (OemInfMap, Version, Architecture), a pending first-boot step (the doctor's
# first-boot-pending); per control set, what tells an installed adapter's INF (nicpackage.installed_instance).
DRIVERS_READS = (Read('DRIVERS', ddb.DDB, False, None),)
WINDOWS8_READS = (Read('SYSTEM', driverstore.SETUP, False, ('CmdLine', 'SetupType')),)
WINDOWS8_CONTROL_SET_READS = (
    (('Control', 'Class', NET_CLASS), True, ('InfPath',)),
    (('Enum', 'PCI'), True, ('CompatibleIDs',)),
)

# Keys of each control set, relative to it.
CONTROL_SET_READS = (
    (('Control',), False, None),
    (('Control', 'Session Manager', 'Environment'), False, ('PROCESSOR_ARCHITECTURE',)),
    (('Control', 'ProductOptions'), False, ('ProductType',)),
    (('Control', 'Session Manager', 'Memory Management'), False, None),
    (('Control', 'CrashControl'), False, None),
    (('Control', 'PnP'), False, None),
    (('Control', 'Network', NETSERVICE_CLASS.lower(), WFP_LWF, 'Ndi'), False, None),
    (('Control', 'Class', NET_CLASS), False, None),
    (('Control', 'Class', NET_CLASS), True, ('PnPCapabilities',)),
    (('Services', 'Tcpip', 'Parameters'), False, ('DisableDhcpMediaSense',)),
    (('Enum', 'PCI'), True, ('ClassGUID', 'Class', 'Service', 'HardwareID', 'Driver')),
)
# A service's key, and its StartOverride (deleted whole, so read whole).
SERVICE_READS = (((), False, None), (('StartOverride',), True, None))


def read_set(system=None, nics=(), drivers=None, services=(), hardware_ids=(), control_sets='current', current=None,
             os_info=None, doctor=False, software=True, restore=False, drivers_db=None):
    """The Reads the jobs need, as far as ``system`` (the SYSTEM keys read so far, or None) lets them be named.

    nics: nic.Nic of iscsi_boot / iscsi_boot_info; drivers: {nic id: Driver} resolved so far (find_driver's
    answer on the keys read so far); services and hardware_ids: those critical_device names; os_info: detect_os's
    answer once it can be given (DriverDatabase records of new NICs); doctor: iscsi_boot_info's adapter list;
    restore: state=absent (the keys the record of originals names); drivers_db: the DRIVERS keys read so far
    (Windows 8 and later: Windows' records of the packages it has, issue 14), None before the first read.
    """
    out = list(FIXED_READS) + (list(SOFTWARE_READS) if software else [])
    windows8 = system is None or system.key_exists(ddb.DDB)
    if windows8:
        out += list(WINDOWS8_READS) + (list(DRIVERS_READS) if nics else [])
        # the class entries a copy writes, for the usual class of a boot NIC's package (_driver_database_reads)
        out += [Read(hive, ddb.class_key(NET_CLASS), False, None) for hive in ('DRIVERS', 'SYSTEM')
                if nics]
    for nic in nics:
        for device_id in nic.hardware_ids:
            out.append(Read('SYSTEM', ddb.device_key(device_id), False, None))
            if windows8:
                out.append(Read('DRIVERS', ddb.device_key(device_id), False, None))
    sets = _control_sets(system, control_sets, current)
    names = set(s for s in services) | set(NETWORK_STACK) | set(OPTIONAL_STACK)
    names |= set(d.service for d in (drivers or {}).values())
    names |= set(s for s in (n.service for n in nics) if s)
    names |= set(INBOX_NIC_SERVICES.get(('VEN_%s&DEV_%s' % (n.ven, n.dev), 'cddb')) or '' for n in nics)
    ids = list(hardware_ids) + [i for n in nics for i in n.hardware_ids]
    for cs in sets:
        out += [Read('SYSTEM', (cs,) + path, recursive, values) for path, recursive, values in CONTROL_SET_READS]
        if windows8:
            out += [Read('SYSTEM', (cs,) + path, recursive, values)
                    for path, recursive, values in WINDOWS8_CONTROL_SET_READS]
        out += [Read('SYSTEM', (cs,) + cddb.CDDB + (cddb.cddb_key_name(i),), False, None) for i in ids]
        found = _found_services(system, cs, nics, doctor) if system is not None else set()
        closure = set(names | found)
        if system is not None:
            order, missing = dependency_closure(system, cs, sorted(n for n in names | found if n))
            closure |= set(order) | set(missing)
        for name in sorted(n for n in closure if n):
            out += [Read('SYSTEM', (cs, 'Services', name) + sub, recursive, values)
                    for sub, recursive, values in SERVICE_READS]
        if system is not None and doctor:
            out += _adapter_reads(system, cs)
    if system is not None:
        out += _driver_database_reads(system, drivers_db, nics, drivers or {})
        if restore:
            out += _record_reads(system)
            if windows8:
                # a DRIVERS hive changed offline (a package staged into an image) keeps its own record of originals
                out.append(Read('DRIVERS', STATE_KEY[:1], True, None))
            out += _staged_package_reads(system, sets)
    return _unique(out)


def _control_sets(system, which, current):
    if system is not None and system.key_exists(('Select',)):
        try:
            return system.control_sets('all' if which == 'all' else 'current')
        except RegistryError:
            pass
    return [current] if current else []


def _found_services(system, cs, nics, doctor):
    """Services the DriverDatabase names for the NICs, and for the doctor every adapter's service."""
    out = set()
    for key in enum_net_instances(system, cs) if doctor else []:
        service = text_value(system, key, 'Service')
        if service:
            out.add(service)
    for nic in nics:
        for package in ddb.packages_for(system, nic.hardware_ids):
            if package.service:
                out.add(package.service)
    return out


def _adapter_reads(system, cs):
    """iscsi_boot_info's adapters: every value of each network adapter instance, its location, its service."""
    out = []
    for key in enum_net_instances(system, cs):
        out.append(Read('SYSTEM', key, False, None))
        prop = key + ('Properties',) + DEVPKEY_LOCATION_PATHS
        out += [Read('SYSTEM', prop, False, None), Read('SYSTEM', prop + ('0000',), False, None)]
    return out


def _driver_database_reads(system, drivers_db, nics, drivers):
    """Windows 8 and later: the records nicpackage.find follows in SYSTEM and DRIVERS (DeviceIds -> DriverInfFiles ->
    DriverPackages), and for a package to copy its whole DRIVERS record and the SYSTEM keys the copy writes."""
    out = []
    if not system.key_exists(ddb.DDB):
        return out
    for hive, reader in (('SYSTEM', system), ('DRIVERS', drivers_db)):
        if reader is None or not reader.key_exists(ddb.DDB):
            continue
        for nic in nics:
            for device_id in nic.hardware_ids:
                key = ddb.device_key(device_id)
                for inf_value in reader.values(key) if reader.key_exists(key) else []:
                    inf_key = ddb.INF_FILES + (inf_value.name,)
                    out.append(Read(hive, inf_key, False, None))
                    label = text_value(reader, inf_key, 'Active')
                    if label and hive == 'DRIVERS':
                        # whole, with the SYSTEM keys a copy would write: a package to copy needs no further round
                        out += [Read('DRIVERS', ddb.PACKAGES + (label,), True, None),
                                Read('SYSTEM', ddb.INF_FILES + (inf_value.name,), False, None),
                                Read('SYSTEM', ddb.PACKAGES + (label,), True, None)]
                    elif label:
                        package = ddb.PACKAGES + (label,)
                        out += [Read(hive, package, False, None),
                                Read(hive, package + ('Descriptors',) + ddb.id_parts(device_id), False, None),
                                Read(hive, package + ('Configurations',), True, ('Service',))]
    if drivers_db is not None or nics:
        # the class entries a copy writes, for the usual class of a boot NIC's package (others: one more round)
        out += [Read(hive, ddb.class_key(NET_CLASS), False, None) for hive in ('DRIVERS', 'SYSTEM')]
    for driver in drivers.values():
        package = getattr(driver, 'package', None)
        if getattr(driver, 'ddb_state', None) != nicpackage.COPY or package is None:
            continue
        guid = (package.version or {}).get('class_guid')
        out += [Read('DRIVERS', ddb.INF_FILES + (package.inf,), False, None),
                Read('DRIVERS', ddb.PACKAGES + (package.label,), True, None),
                Read('SYSTEM', ddb.INF_FILES + (package.inf,), False, None),
                Read('SYSTEM', ddb.PACKAGES + (package.label,), True, None)]
        if guid:
            out += [Read(hive, ddb.class_key(guid), False, None) for hive in ('DRIVERS', 'SYSTEM')]
    return out


def _record_reads(system):
    """state=absent: the keys a record of originals names (created ones whole, deleted ones with their parent)."""
    out = []
    state = STATE_KEY
    for sub in ('created', 'deleted', 'originals', 'absent'):
        key = state + (sub,)
        for value in system.values(key) if system.key_exists(key) else []:
            parts = tuple(value.name.split('\\'))
            if sub in ('originals', 'absent'):
                parts = parts[:-1]
            if not parts:
                continue
            out.append(Read('SYSTEM', parts, sub == 'created', None))
            if sub == 'deleted' and len(parts) > 1:
                out.append(Read('SYSTEM', parts[:-1], False, None))
    return out


def _staged_package_reads(system, sets):
    """state=absent of packages staged offline: what tells whether Windows has made them its own since
    (driverstore.adopted) and the services they came with (their Owners)."""
    out = []
    staged = driverstore.staged_packages(system, STATE_KEY)
    for package in staged:
        for hive in ('SYSTEM', 'DRIVERS'):
            out += [Read(hive, ddb.INF_FILES + (package['inf'],), False, None),
                    Read(hive, ddb.PACKAGES + (package['package'],), False, None)]
    if staged:
        for cs in sets:
            out += [Read('SYSTEM', (cs, 'Control', 'Class'), True, ('InfPath',)),
                    Read('SYSTEM', (cs, 'Services'), True, ('Owners',)),
                    Read('SYSTEM', (cs, 'Services'), False, None)]
        out += list(DRIVERS_READS)
    return out


def _unique(reads):
    seen, out = set(), []
    for read in reads:
        marker = (read.hive, tuple(fold(p) for p in read.path), read.recursive, read.values)
        if marker not in seen:
            seen.add(marker)
            out.append(read)
    return out


# ---------------------------------------------------------------------------------------------------------
# What to read for a job: the read set for its parameters, as far as the keys read so far name keys

def read_inputs(job, params, system=None, software=None, current=None, drivers_db=None):
    """read_set for ``job`` (critical_device | iscsi_boot | iscsi_boot_info) with ``params``, given the
    partial SYSTEM, SOFTWARE and DRIVERS hives read so far (hive.Hive or None), ``current`` naming the current control
    set until Select is read."""
    nics = parse_nics(params.get('nics')) if job != 'critical_device' else []
    os_info = cs = None
    if system is not None and system.key_exists(('Select',)):
        try:
            cs = system.control_sets('current')[0]
            os_info = detect_os(system, cs, software if job != 'critical_device' else None)
        except RegistryError:
            os_info = None
    drivers = {}
    if os_info is not None and nics:
        try:
            drivers = resolve_drivers(system, cs, os_info, nics, params.get('drivers'), params.get('lenient', False),
                                      params.get('templates'), required=False, drivers_db=drivers_db)[0]
        except RegistryError:
            drivers = {}
    critical = job == 'critical_device'
    reads = read_set(
        system, nics=nics, drivers=drivers, services=[params['service']] if critical and params.get('service') else [],
        hardware_ids=params.get('hardware_ids') or [] if critical else [], current=current,
        control_sets=params.get('control_sets') or 'current', os_info=os_info, doctor=job == 'iscsi_boot_info',
        software=not critical, restore=job == 'iscsi_boot' and params.get('state') == 'absent',
        drivers_db=drivers_db if not critical else None)
    if critical:
        reads = [r for r in reads if r.hive != 'DRIVERS']
    if job == 'iscsi_boot_info':
        # the volatile Enum\...\Control keys of the devices present now (live only: a hive file has none)
        reads.append(Read('SYSTEM', (cs or current, 'Enum', 'PCI'), True, ('ActiveService',)))
    if system is None and nics:
        reads += _guesses(nics, params, current)
    return reads


def _guesses(nics, params, current):
    """Before the first read: the service and DriverDatabase keys the NICs' drivers would name on Windows 7 or 10,
    x86 or amd64 (a driver package's service, or the one given in nics), read with the first round so that a task
    usually needs no second one. A wrong guess costs a round, never a wrong plan: the plan is made on what read_set
    names once the host's version is known."""
    reads = []
    for version, arch in (((6, 1), 'x86'), ((6, 1), 'amd64'), ((10, 0), 'x86'), ((10, 0), 'amd64')):
        os_info = OsInfo()
        os_info.version, os_info.arch = version, arch
        for nic in nics:
            driver = Driver(nic.service, 'given in nics') if nic.service else None
            if params.get('drivers'):
                try:
                    driver = driver_from_package(params['drivers'], os_info, nic, params.get('lenient', False),
                                                 params.get('templates'))[0]
                except RegistryError:
                    pass
            if driver is None:
                continue
            reads += [Read('SYSTEM', (current, 'Services', driver.service) + sub, recursive, values)
                      for sub, recursive, values in SERVICE_READS]
            # Windows 8+: the package's records are Windows' own, named by Windows (the DeviceIds chain in SYSTEM
            # and DRIVERS, read with the first round by read_set); nothing to guess.
    return reads


# ---------------------------------------------------------------------------------------------------------
# What the first round follows on the host (issue 25): the reads that depend on what an earlier read finds

def _service_reads(hole, current):
    return tuple(Read('SYSTEM', (current, 'Services', hole) + sub, recursive, values)
                 for sub, recursive, values in SERVICE_READS)


def follows(job, params, current):
    """registry.Follow chains for the first round of ``job``: on Windows 8 and later the DriverDatabase chain in DRIVERS
    of each NIC ID (DeviceIds -> DriverInfFiles -> DriverPackages -> the service the package installs, and the SYSTEM
    keys a copy of the package writes), and the service an installed adapter of the NIC's ID runs (Enum), so that a
    task whose NIC Windows already drives needs no second round. What _driver_database_reads and _found_services
    then name has been read (a package already in SYSTEM, named by SYSTEM's DeviceIds, is read whole with it).
    state=absent: the keys the record of originals names (_record_reads)."""
    if job == 'critical_device':
        return []
    name0, name1, name2, name3 = HOLES[:4]
    if job == 'iscsi_boot' and params.get('state') == 'absent':
        # the keys the record of originals names (_record_reads): its value names are key paths ('created',
        # 'deleted') or value paths ('originals', 'absent': their keys); and a DRIVERS hive's own record
        record = STATE_KEY
        return [
            Follow('SYSTEM', record + ('created',), False, None, (Read('SYSTEM', (name0,), True, None),)),
            Follow('SYSTEM', record + ('deleted',), False, None, (
                Read('SYSTEM', (name0,), False, None), Read('SYSTEM', (PARENTS[0],), False, None))),
            Follow('SYSTEM', record + ('originals',), False, None, (Read('SYSTEM', (PARENTS[0],), False, None),)),
            Follow('SYSTEM', record + ('absent',), False, None, (Read('SYSTEM', (PARENTS[0],), False, None),)),
            Follow('DRIVERS', None, False, STATE_KEY[:1], (Read('DRIVERS', (name0,), True, None),))]
    ids, out = [], []
    for nic in parse_nics(params.get('nics')):
        ids += [i for i in nic.hardware_ids if i not in ids]
        # an installed adapter of the NIC's ID: the service it runs (Enum\PCI is read with ClassGUID, Service, ...)
        out.append(Follow('SYSTEM', (current, 'Enum') + ddb.id_parts(nic.hardware_ids[0]), True, 'Service',
                          _service_reads(name0, current)))
    if ids:
        out.insert(0, Follow('DRIVERS', None, False, tuple(ids), (
            Follow('DRIVERS', ddb.DEVICE_IDS + (name0,), False, None, (
                Read('DRIVERS', ddb.INF_FILES + (name1,), False, None),
                Read('SYSTEM', ddb.INF_FILES + (name1,), False, None),
                Follow('DRIVERS', ddb.INF_FILES + (name1,), False, 'Active', (
                    Read('DRIVERS', ddb.PACKAGES + (name2,), True, None),
                    Read('SYSTEM', ddb.PACKAGES + (name2,), True, None),
                    Follow('DRIVERS', ddb.PACKAGES + (name2,), True, 'Service', _service_reads(name3, current)))))),)))
    return out
