# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DriverDatabase of Windows 8 and later: read a package record, find the package that serves a device, copy
Windows' own records from the DRIVERS hive into SYSTEM, and compose the records of a new package from its INF.

Both hives hold the same layout under ``DriverDatabase`` (docs/how-it-works.md, section 4): ``DeviceIds\\<id>`` maps a
hardware or compatible ID to published INF names (``oemN.inf`` or an inbox INF), ``DriverInfFiles\\<inf>`` names the
package (``Active``), ``DriverPackages\\<package>`` holds it. SYSTEM holds the boot-critical subset, DRIVERS (loaded
as HKLM\\DRIVERS) the whole database. Readers are Planner readers (hive.Hive, a Planner, the live path's partial hive).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import struct
import uuid

from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_NONE, RegistryError, Value, fold,
)

DDB = ('DriverDatabase',)
DEVICE_IDS = DDB + ('DeviceIds',)
INF_FILES = DDB + ('DriverInfFiles',)
PACKAGES = DDB + ('DriverPackages',)

# Driver package property: the catalog's "Submission ID" (seen on every WHQL/attestation-signed third-party package
# of the Windows 10 fixture and of distrobuilder's records; type DEVPROP_TYPE_STRING with the 0xffff0000 flag).
SUBMISSION_ID_PROPERTY = ('Properties', '{4da162c1-5eb1-4140-a444-5064c9814e76}', '0009')
PROPERTY_STRING = 0xffff0012

# PROCESSOR_ARCHITECTURE_* of the Version header's third byte and of the database's Architecture value.
ARCH_CODES = {'x86': 0, 'arm': 5, 'ia64': 6, 'amd64': 9, 'arm64': 12}

HARDWARE_ID, COMPATIBLE_ID = 1, 2
DEFAULT_FEATURE_SCORE = 0xFF
FILETIME_EPOCH = datetime.datetime(1601, 1, 1)


class DriverDatabaseError(RegistryError):
    pass


# ---------------------------------------------------------------------------------------------------------
# Names and small encodings

def id_parts(device_id):
    """'PCI\\VEN_8086&DEV_100E' -> ('PCI', 'VEN_8086&DEV_100E'): the enumerator is a subkey, nothing is munged."""
    parts = tuple(p for p in device_id.split('\\') if p)
    if not parts:
        raise DriverDatabaseError('empty device ID')
    return parts


def device_key(device_id):
    return DEVICE_IDS + id_parts(device_id)


def class_key(class_guid):
    """DeviceIds\\{class guid, lower case}: the package's class, as Windows indexes it."""
    return DEVICE_IDS + ('{%s}' % class_guid.strip('{}').lower(),)


def filetime(when):
    """datetime (naive UTC) -> FILETIME (100 ns since 1601-01-01)."""
    delta = when - FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10000000 + delta.microseconds * 10


def guid_bytes(guid):
    try:
        return uuid.UUID(guid.strip('{}')).bytes_le
    except (AttributeError, ValueError):
        raise DriverDatabaseError('%r is not a class GUID ({xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}): Windows refuses a '
                                  'driver package whose ClassGuid is not one. Nothing was changed.' % (guid,))


def version_blob(class_guid, driver_ver, arch_code, inbox=False):
    """DriverPackages\\<package>\\Version (48 bytes).

    ``00 ff <arch> 00 00 00 00 00`` (``ff ff`` for inbox packages), the class GUID in Windows byte order, the DriverVer
    date as a FILETIME at midnight UTC, the DriverVer version as four 16-bit words from the last to the first, and 8
    bytes that are zero in 390 of the 397 records of the fixtures (their meaning is not known).
    """
    date, version = driver_ver or (None, None)
    stamp = 0
    match = re.match(r'^\s*(\d{1,2})\s*[/-]\s*(\d{1,2})\s*[/-]\s*(\d{4})\s*$', date or '')
    if match:
        try:
            stamp = filetime(datetime.datetime(int(match.group(3)), int(match.group(1)), int(match.group(2))))
        except ValueError:
            stamp = 0
    parts = [int(p) & 0xFFFF for p in (version or '').split('.')[:4] if p.strip().isdigit()]
    parts += [0] * (4 - len(parts))
    header = bytes([0xff if inbox else 0x00, 0xff, arch_code & 0xff, 0, 0, 0, 0, 0])
    return header + guid_bytes(class_guid) + struct.pack('<Q', stamp) + \
        struct.pack('<4H', parts[3], parts[2], parts[1], parts[0]) + b'\x00' * 8


def parse_version_blob(data):
    """{'class_guid', 'date' (YYYY-MM-DD or None), 'version', 'arch_code', 'inbox'} of a Version value."""
    if len(data) < 40:
        return None
    stamp = struct.unpack_from('<Q', data, 24)[0]
    words = struct.unpack_from('<4H', data, 32)
    date = None
    if stamp:
        date = (FILETIME_EPOCH + datetime.timedelta(microseconds=stamp // 10)).strftime('%Y-%m-%d')
    return {'class_guid': '{%s}' % str(uuid.UUID(bytes_le=bytes(data[8:24]))).upper(), 'date': date,
            'version': '%d.%d.%d.%d' % (words[3], words[2], words[1], words[0]), 'arch_code': data[2],
            'inbox': data[0] == 0xff}


def rank_bytes(match_type, feature_score=DEFAULT_FEATURE_SCORE):
    """DeviceIds\\<id>\\<inf> data: match type (1 = the Models line's hardware ID, 2 = one of its compatible IDs),
    the install section's FeatureScore (0xFF unless the INF says otherwise), two zero bytes. Read from the fixtures
    (e.g. usbxhci.inf's FeatureScore 0x80 shows as 01 80 00 00); a few inbox records carry 01 in the third byte, for
    a reason not known."""
    return bytes([match_type & 0xff, feature_score & 0xff, 0, 0])


def oem_numbers(reader):
    """N of every oemN.inf the database's OemInfMap marks as used (bit 7 - N % 8 of byte N // 8)."""
    value = reader.get_value(DDB, 'OemInfMap') if reader is not None and reader.key_exists(DDB) else None
    numbers = set()
    if value is not None and value.type == REG_BINARY:
        for index, byte in enumerate(bytearray(value.data)):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    numbers.add(index * 8 + bit)
    return numbers


def oem_map(numbers):
    """OemInfMap bytes for a set of oemN.inf numbers."""
    if not numbers:
        return b''
    data = bytearray(max(numbers) // 8 + 1)
    for n in numbers:
        data[n // 8] |= 0x80 >> (n % 8)
    return bytes(data)


def oem_number(inf_name):
    match = re.match(r'^oem(\d+)\.inf$', inf_name or '', re.I)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------------------
# Reading records

def _text(reader, key, name):
    value = reader.get_value(key, name) if reader.key_exists(key) else None
    if value is None:
        return None
    data = value.decoded()
    return data if isinstance(data, str) else None


def subtree(reader, path):
    """[(path, [Value])] of a key and every key below it (stored spelling), parents first."""
    out = []
    stack = [tuple(reader.real_path(path))]
    while stack:
        here = stack.pop()
        out.append((here, list(reader.values(here))))
        stack.extend(reversed([here + (child,) for child in reader.subkeys(here)]))
    return out


class Package(object):
    """A package as one DriverDatabase knows it for a device: published INF, package name, how it matched."""

    def __init__(self, hive, inf, label, device_id, data, version=None):
        self.hive = hive
        self.inf = inf
        self.label = label
        self.device_id = device_id
        self.data = data
        self.version = version or {}
        self.configuration = None
        self.service = None
        self.original_inf = None             # InfName: the INF's own file name
        self.provider = None

    @property
    def match_type(self):
        return self.data[0] if self.data else 0xff

    def as_dict(self):
        return {'hive': self.hive, 'inf': self.inf, 'package': self.label, 'device_id': self.device_id,
                'configuration': self.configuration, 'service': self.service,
                'class_guid': self.version.get('class_guid'), 'driver_date': self.version.get('date'),
                'driver_version': self.version.get('version')}


def packages_for(reader, device_ids, hive='SYSTEM'):
    """Every package the database maps one of ``device_ids`` (most specific first) to, best first.

    The order follows Windows' own ranking where the records tell it: the device's own ID before a less specific one,
    a hardware-ID match before a compatible-ID match, a lower FeatureScore, then the newest DriverVer.
    """
    if reader is None or not reader.key_exists(DDB):
        return []
    found = []
    for position, device_id in enumerate(device_ids):
        key = device_key(device_id)
        if not reader.key_exists(key):
            continue
        for value in reader.values(key):
            label = _text(reader, INF_FILES + (value.name,), 'Active')
            if not label or not reader.key_exists(PACKAGES + (label,)):
                continue
            blob = reader.get_value(PACKAGES + (label,), 'Version')
            version = parse_version_blob(blob.data) if blob is not None else None
            package = Package(hive, reader.real_path(INF_FILES + (value.name,))[-1],
                              reader.real_path(PACKAGES + (label,))[-1], reader.real_path(key)[len(DEVICE_IDS):],
                              bytes(bytearray(value.data[:4])), version)
            package.device_id = '\\'.join(package.device_id)
            package.configuration, package.service = package_service(reader, package.label, package.device_id)
            data = bytearray(package.data + b'\xff\xff')
            dotted = (version or {}).get('version') or '0.0.0.0'
            newest = ((version or {}).get('date') or '', tuple(int(x) for x in dotted.split('.')))
            found.append(((position, data[0], data[1]), newest, package))
    found.sort(key=lambda item: item[1], reverse=True)     # newest DriverVer first ...
    found.sort(key=lambda item: item[0])                    # ... within each rank (the sort is stable)
    return [package for _rank, _newest, package in found]


def package_service(reader, label, device_id):
    """(configuration, service) a package record gives for a device ID; (None, None) for a record without them."""
    package = PACKAGES + (label,)
    conf = _text(reader, package + ('Descriptors',) + id_parts(device_id), 'Configuration')
    if not conf:
        return None, None
    return conf, _text(reader, package + ('Configurations', conf), 'Service') or None


def has_package(reader, inf, label):
    return reader is not None and reader.key_exists(PACKAGES + (label,)) and \
        fold(_text(reader, INF_FILES + (inf,), 'Active') or '') == fold(label)


# ---------------------------------------------------------------------------------------------------------
# Copying Windows' records (DRIVERS -> SYSTEM)

def copy_package(source, planner, package, device_ids):
    """Plan, on ``planner`` (SYSTEM), the records ``source`` (DRIVERS) holds for ``package``, unchanged: its
    DriverInfFiles entry, its whole DriverPackages record, the DeviceIds entries of ``device_ids`` that name its INF
    and its class entry. Returns what was copied.

    Values are planned in name order: the order of a key's values means nothing to Windows, and a partial hive read
    from a running Windows (jobs/live.py) need not keep the stored order, so both plan the same."""
    inf_path = INF_FILES + (package.inf,)
    for value in sorted(source.values(inf_path), key=lambda v: fold(v.name)):
        planner.ensure_value(inf_path, value)
    keys = subtree(source, PACKAGES + (package.label,))
    for path, values in keys:
        planner.ensure_key(path)
        for value in sorted(values, key=lambda v: fold(v.name)):
            planner.ensure_value(path, value)
    copied = []
    for device_id in device_ids:
        key = device_key(device_id)
        value = source.get_value(key, package.inf) if source.key_exists(key) else None
        if value is not None:
            planner.ensure_value(source.real_path(key), value)
            copied.append(device_id)
    guid = (package.version or {}).get('class_guid')
    if guid:
        key = class_key(guid)
        value = source.get_value(key, package.inf) if source.key_exists(key) else None
        if value is not None:
            planner.ensure_value(source.real_path(key), value)
    return {'inf': package.inf, 'package': package.label, 'from': package.hive, 'device_ids': copied,
            'keys': len(keys)}


# ---------------------------------------------------------------------------------------------------------
# Composing the records of a new package (what offline servicing writes)

def _token(raw):
    """How a Models or Manufacturer name is recorded: %token% lower-cased, a literal as it is."""
    raw = (raw or '').strip()
    match = re.match(r'^%([^%]+)%$', raw)
    return ('%' + match.group(1).lower() + '%', match.group(1).lower()) if match else (raw, None)


def _hkr_values(entries, base):
    """[(path, Value or None)] of AddReg HKR lines under ``base`` (None: a key without values)."""
    out = []
    for entry in entries:
        if entry.root != 'HKR':
            continue
        path = base + tuple(entry.subkey)
        if entry.op == 'set' and entry.value is not None:
            out.append((path, entry.value))
        elif entry.op == 'keyonly':
            out.append((path, None))
    return out


def config_scope(driver, inst):
    """ConfigScope of a configuration (Windows 10): 1, plus 2 when the install section has a .HW section, plus 4
    when it has a .Services section. The rule fits the records of the Windows 10 (1903) fixture and distrobuilder's;
    newer builds were seen writing 0xF7F (docs/how-it-works.md), so it is written for Windows 10 builds only."""
    scope = 1
    if inst.actual and driver.inf.has_section(inst.actual + '.HW'):
        scope |= 2
    if inst.actual and driver.inf.has_section(inst.actual + '.Services'):
        scope |= 4
    return scope


def compose_package(driver, inf_name, label, arch_code, header, with_config_scope=True):
    """Records of a new package in a DriverDatabase: [(key path, Value or None)], in write order.

    ``driver`` is the INF reader's InfDriver for the target; ``inf_name`` the published name (oemN.inf); ``header``
    the package values that do not come from the INF text: OemPath, SignerName, SignerScore, StatusFlags,
    ImportDate, FileSize, SubmissionId (each optional). docs/how-it-works.md gives each value's source.
    """
    package = PACKAGES + (label,)
    records = []
    devices = [d for d in driver.devices if d.install_info is not None and d.install_info.actual]
    configurations = []
    for device in devices:
        if device.install_info.recorded not in configurations:
            configurations.append(device.install_info.recorded)
    inf_key = INF_FILES + (inf_name,)
    records.append((inf_key, Value.multi_sz('', [label])))
    records.append((inf_key, Value.sz('Active', label)))
    if configurations:
        records.append((inf_key, Value.multi_sz('Configurations', configurations)))
    records.append((package, Value.sz('', inf_name)))
    if driver.catalog_file:
        records.append((package, Value.sz('Catalog', driver.catalog_file)))
    if header.get('FileSize') is not None:
        records.append((package, Value.qword('FileSize', header['FileSize'])))
    if header.get('ImportDate') is not None:
        records.append((package, Value.binary('ImportDate', struct.pack('<Q', header['ImportDate']))))
    records.append((package, Value.sz('InfName', driver.name)))
    if header.get('OemPath'):
        records.append((package, Value.sz('OemPath', header['OemPath'])))
    if driver.provider is not None:
        records.append((package, Value.sz('Provider', driver.provider)))
    if header.get('SignerName') is not None:
        records.append((package, Value.sz('SignerName', header['SignerName'])))
    if header.get('SignerScore') is not None:
        records.append((package, Value.dword('SignerScore', header['SignerScore'])))
    if header.get('StatusFlags') is not None:
        records.append((package, Value.dword('StatusFlags', header['StatusFlags'])))
    class_guid = driver.class_guid or '{00000000-0000-0000-0000-000000000000}'
    dver = driver.driver_ver or {}
    date = dver.get('date')
    date = '%s/%s/%s' % (date[5:7], date[8:10], date[:4]) if date else None
    blob = version_blob(class_guid, (date, dver.get('version')), arch_code)
    records.append((package, Value.binary('Version', blob)))
    for name in configurations:
        inst = driver.installs[[k for k, v in driver.installs.items() if v.recorded == name][0]]
        conf = package + ('Configurations', name)
        records.append((conf, Value.dword('ConfigFlags', 0)))
        if with_config_scope:
            records.append((conf, Value.dword('ConfigScope', config_scope(driver, inst))))
        if inst.assoc_service:
            records.append((conf, Value.sz('Service', inst.assoc_service)))
        includes = _includes(driver, inst)
        if includes:
            records.append((conf, Value.multi_sz('IncludedInfs', includes)))
        records.extend(_hkr_values(inst.hw_addreg, conf + ('Device',)))
        records.extend(_hkr_values(inst.driver_addreg, conf + ('Driver',)))
        for svc in inst.services:
            if svc.name:
                records.extend(_hkr_values(svc.addreg, conf + ('Services', svc.name)))
    strings = {}
    for device in devices:
        for device_id in device.ids:
            key = package + ('Descriptors',) + id_parts(device_id)
            if any(path == key for path, _v in records):
                continue
            description, dtoken = _token(getattr(device, 'raw_description', None) or device.description)
            manufacturer, mtoken = _token(getattr(device, 'raw_manufacturer', None) or device.manufacturer)
            records.append((key, Value.sz('Configuration', device.install_info.recorded)))
            records.append((key, Value.sz('Description', description)))
            records.append((key, Value.sz('Manufacturer', manufacturer)))
            for token in (dtoken, mtoken):
                if token and token in driver.inf.strings:
                    strings.setdefault(token, driver.inf.subst('%' + token + '%'))
    for token in sorted(strings):
        records.append((package + ('Strings',), Value.sz(token, strings[token])))
    if header.get('SubmissionId'):
        records.append((package + SUBMISSION_ID_PROPERTY,
                        Value('', PROPERTY_STRING, (header['SubmissionId'] + '\x00').encode('utf-16-le'))))
    records.extend(device_id_records(driver, inf_name))
    return records


def _includes(driver, inst):
    out = []
    if not inst.actual:
        return out
    section = driver.inf.section(inst.actual)
    for _key, fields, _line, lkey in section.lines if section is not None else []:
        if lkey == 'include':
            for field in fields:
                name = driver.inf.subst(field).strip()
                if name and name.lower() not in [o.lower() for o in out]:
                    out.append(name)
    return out


def device_id_records(driver, inf_name):
    """DeviceIds entries of a package: each ID of its Models lines for the target, with its match type and the
    install section's FeatureScore (the best when an ID is listed twice), and its class entry (REG_NONE)."""
    best = {}
    order = []
    for device in driver.devices:
        inst = device.install_info
        score = inst.feature_score if inst is not None else DEFAULT_FEATURE_SCORE
        ids = ([(device.hardware_id, HARDWARE_ID)] if device.hardware_id else []) + \
            [(c, COMPATIBLE_ID) for c in device.compatible_ids]
        for device_id, kind in ids:
            key = fold(device_id)
            rank = (kind, score)
            if key not in best:
                order.append((key, device_id))
                best[key] = rank
            elif rank < best[key]:
                best[key] = rank
    records = [(device_key(device_id), Value.binary(inf_name, rank_bytes(*best[key]))) for key, device_id in order]
    if driver.class_guid:
        records.append((class_key(driver.class_guid), Value(inf_name, REG_NONE, b'')))
    return records


def plan_records(planner, records):
    """Ensure every record; returns how many operations were planned."""
    before = len(planner.plan)
    for path, value in records:
        if value is None:
            planner.ensure_key(path)
        else:
            planner.ensure_value(path, value)
    return len(planner.plan) - before


def mark_oem(planner, number, when=None):
    """Set oemN's bit in OemInfMap and, where the database keeps one, UpdateDate (what Windows changes with it)."""
    numbers = oem_numbers(planner) | set([number])
    changed = planner.ensure_value(DDB, Value.binary('OemInfMap', oem_map(numbers)))
    if changed and when is not None and planner.get_value(DDB, 'UpdateDate') is not None:
        planner.ensure_value(DDB, Value.binary('UpdateDate', struct.pack('<Q', when)))
    return changed


def database_version(reader):
    """(major, minor) of the Windows that wrote the database: its root Version value (0x06030000 in the 8.1 fixture,
    0x0A000000 in the Windows 10 one), or None."""
    value = reader.get_value(DDB, 'Version') if reader is not None and reader.key_exists(DDB) else None
    if value is None or value.type != REG_DWORD or len(value.data) != 4:
        return None
    number = struct.unpack('<I', value.data)[0]
    return (number >> 24, (number >> 16) & 0xff)


def arch_code(reader, arch):
    """PROCESSOR_ARCHITECTURE_* for Version headers: the database's own Architecture value, else from the OS."""
    value = reader.get_value(DDB, 'Architecture') if reader is not None and reader.key_exists(DDB) else None
    if value is not None and value.type == REG_DWORD and len(value.data) == 4:
        return struct.unpack('<I', value.data)[0]
    return ARCH_CODES.get(arch or 'amd64', 9)
