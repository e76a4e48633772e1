# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The select stage: which driver Windows picks for a device among read packages (identifier scores, FeatureScore,
DriverVer; install/identifier-score--windows-vista-and-later-.md), and the boot driver of a package, ready to inject."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.sanboot.windows.plugins.module_utils.inf.copyfiles import DIRID_DRIVER_STORE
from ansible_collections.sanboot.windows.plugins.module_utils.inf.install import read_package
from ansible_collections.sanboot.windows.plugins.module_utils.inf.model import DEFAULT_FEATURE_SCORE
from ansible_collections.sanboot.windows.plugins.module_utils.inf.target import coerce_target
from ansible_collections.sanboot.windows.plugins.module_utils.inf.text import InfError, warn_once
from ansible_collections.sanboot.windows.plugins.module_utils.inf import hwid
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, Value

_PCI_ID_RE = re.compile(
    r'^PCI\\VEN_([0-9A-F]{4})&DEV_([0-9A-F]{4})(?:&SUBSYS_([0-9A-F]{8}))?(?:&REV_([0-9A-F]{2}))?'
    r'(?:&CC_([0-9A-F]{4}(?:[0-9A-F]{2})?))?$', re.I)


# ---------------------------------------------------------------------------------------------------------
# Matching devices (install/identifier-score--windows-vista-and-later-.md, how Windows selects driver packages)

def expand_pci_id(device_id):
    """(hardware IDs, compatible IDs) the PCI bus driver reports for a device, from its most specific ID.

    ``PCI\\VEN_v&DEV_d[&SUBSYS_s][&REV_r][&CC_ccss[pp]]`` -> the lists of install/identifiers-for-pci-devices.md in
    their Windows 10 split (VEN&DEV&REV and VEN&DEV are compatible IDs). Anything else -> ([id], []).
    """
    m = _PCI_ID_RE.match(device_id.strip())
    if not m:
        return [device_id.strip()], []
    ven, dev, subsys, rev, cc = [g.upper() if g else None for g in m.groups()]
    base = 'PCI\\VEN_%s&DEV_%s' % (ven, dev)
    hw, compat = [], []
    if subsys:
        if rev:
            hw.append('%s&SUBSYS_%s&REV_%s' % (base, subsys, rev))
        hw.append('%s&SUBSYS_%s' % (base, subsys))
    if cc:
        if len(cc) == 6:
            hw.append('%s&CC_%s' % (base, cc))
        hw.append('%s&CC_%s' % (base, cc[:4]))
    if rev:
        compat.append('%s&REV_%s' % (base, rev))
    compat.append(base)
    if cc:
        if len(cc) == 6:
            compat.append('PCI\\VEN_%s&CC_%s' % (ven, cc))
        compat.append('PCI\\VEN_%s&CC_%s' % (ven, cc[:4]))
    compat.append('PCI\\VEN_%s' % ven)
    if cc:
        if len(cc) == 6:
            compat.append('PCI\\CC_%s' % cc)
        compat.append('PCI\\CC_%s' % cc[:4])
    if not hw:
        return compat[:1], compat[1:]
    return hw, compat


def _checked_ids(ids):
    try:
        return [hwid.hardware_id(i) for i in ids]
    except RegistryError as exc:
        raise InfError(str(exc))


def normalize_device(device):
    """A device given as one ID (in any form of hwid.py; PCI IDs are expanded), a list of hardware IDs (most
    specific first) or a dict with hardware_ids / compatible_ids -> {'label', 'hardware_ids', 'compatible_ids'}."""
    if isinstance(device, str):
        device_id = _checked_ids([device])[0]
        hw, compat = expand_pci_id(device_id)
        out = {'label': device.strip(), 'hardware_ids': hw, 'compatible_ids': compat}
        if compat and '&CC_' not in device_id.upper():
            out['hint'] = ('the class-code IDs (PCI\\VEN_v&DEV_d&CC_..., PCI\\VEN_v&CC_..., PCI\\CC_...) need the '
                           "device's class code: give %s&CC_ccss or &CC_ccsspp (lspci -nn prints ccss in brackets "
                           'after the address, [0200] for Ethernet; ccsspp adds the programming interface, 010802 '
                           'for NVMe)' % device_id)
        return out
    if isinstance(device, (list, tuple)):
        if not device or not all(isinstance(i, str) for i in device):
            raise InfError('a device given as a list needs at least one ID string')
        ids = _checked_ids(device)
        return {'label': ids[0], 'hardware_ids': ids, 'compatible_ids': []}
    if isinstance(device, dict):
        hw = device.get('hardware_ids') or []
        compat = device.get('compatible_ids') or []
        if isinstance(hw, str):
            hw = [hw]
        if isinstance(compat, str):
            compat = [compat]
        if not isinstance(hw, (list, tuple)) or not isinstance(compat, (list, tuple)):
            raise InfError('hardware_ids and compatible_ids of a device must be lists of IDs')
        hw, compat = _checked_ids(hw), _checked_ids(compat)
        if not hw and not compat:
            raise InfError('a device needs hardware_ids or compatible_ids')
        return {'label': str(device.get('name') or (hw or compat)[0]), 'hardware_ids': hw, 'compatible_ids': compat}
    raise InfError('a device is an ID string, a list of IDs or a dict with hardware_ids, not %r' % (device,))


def identifier_score(device, entry):
    """(score, match type, device ID, INF ID) of the best identifier match of a device and a Models line."""
    dev_hw = [i.upper() for i in device['hardware_ids']]
    dev_compat = [i.upper() for i in device['compatible_ids']]
    inf_hw = entry.hardware_id.upper() if entry.hardware_id else None
    inf_compat = [i.upper() for i in entry.compatible_ids]
    if inf_hw:
        for pos, dev_id in enumerate(dev_hw):
            if dev_id == inf_hw:
                return pos, 'hardware ID match', device['hardware_ids'][pos], entry.hardware_id
    for pos, dev_id in enumerate(dev_hw):
        if dev_id in inf_compat:
            return (0x1000 + pos, 'device hardware ID matches an INF compatible ID', device['hardware_ids'][pos],
                    entry.compatible_ids[inf_compat.index(dev_id)])
    if inf_hw:
        for pos, dev_id in enumerate(dev_compat):
            if dev_id == inf_hw:
                return (0x2000 + pos, 'device compatible ID matches the INF hardware ID', device['compatible_ids'][pos],
                        entry.hardware_id)
    best = None
    for pos, dev_id in enumerate(dev_compat):
        if dev_id in inf_compat:
            k = inf_compat.index(dev_id)
            score = 0x3000 + min(pos + 0x100 * k, 0xFFF)
            if best is None or score < best[0]:
                best = (score, 'device compatible ID matches an INF compatible ID', device['compatible_ids'][pos],
                        entry.compatible_ids[k])
    return best


def _entry_date_key(entry):
    inst = entry.install_info
    if inst is not None and inst.driver_ver_key is not None:
        return inst.driver_ver_key
    return entry.driver.driver_ver_key


def rank_candidates(drivers, device):
    """Every (rank, sort key, entry, match) of the Models lines of valid drivers that match one device."""
    found = []
    order = 0
    for driver in drivers:
        if not driver.valid:
            continue
        for entry in driver.devices:
            order += 1
            match = identifier_score(device, entry)
            if match is None:
                continue
            inst = entry.install_info
            feature = inst.feature_score if inst is not None else DEFAULT_FEATURE_SCORE
            rank = (feature << 16) | match[0]
            date_key, version_key = _entry_date_key(entry)
            # lowest rank, then newest date, then highest version, then package order
            sort_key = (rank, tuple(-x for x in date_key), tuple(-x for x in version_key), order)
            found.append((rank, sort_key, entry, match))
    found.sort(key=lambda item: item[1])
    return found


def _describe_entry(entry):
    return '%s [%s] line %d "%s"' % (entry.driver.name, entry.models_section, entry.line, entry.description)


def _version_text(driver_ver):
    return '%s %s' % (driver_ver.get('date') or '?', driver_ver.get('version') or '?')


def match_device(drivers, device):
    """What Windows picks for one device among the drivers, and why (a JSON-friendly dict)."""
    device = normalize_device(device) if not isinstance(device, dict) or 'label' not in device else device
    ranked = rank_candidates(drivers, device)
    out = {'device': device['label'], 'hardware_ids': list(device['hardware_ids']),
           'compatible_ids': list(device['compatible_ids']), 'selected': None, 'reason': None, 'candidates': []}
    for rank, _key, entry, match in ranked[:10]:
        out['candidates'].append({'inf_path': entry.driver.path, 'inf_name': entry.driver.name,
                                  'description': entry.description, 'install_section': entry.install,
                                  'models_section': entry.models_section, 'rank': '0x%08X' % rank,
                                  'match': match[1], 'device_id': match[2], 'inf_id': match[3],
                                  'driver_ver': dict(entry.driver.driver_ver)})
    if not ranked:
        out['reason'] = 'no Models line that applies to the target lists any of these IDs'
        if device.get('hint'):
            out['reason'] += '; ' + device['hint']
        return out
    rank, _key, entry, match = ranked[0]
    out['selected'] = dict(out['candidates'][0])
    inst = entry.install_info
    out['selected']['service'] = inst.assoc_service if inst is not None else None
    reason = '%s: %s (%s = %s), rank 0x%08X' % (_describe_entry(entry), match[1], match[2], match[3], rank)
    ties = [item for item in ranked[1:] if item[0] == rank]
    if ties:
        reason += '; %d other match(es) with the same rank lose on DriverVer date/version (%s against %s)' % (
            len(ties), _version_text(entry.driver.driver_ver), _version_text(ties[0][2].driver.driver_ver))
    elif len(ranked) > 1:
        reason += '; next best rank 0x%08X (%s)' % (ranked[1][0], _describe_entry(ranked[1][2]))
    out['reason'] = reason
    return out


# ---------------------------------------------------------------------------------------------------------
# The boot driver of a package, ready to inject

def select_boot_driver(drivers, target, devices=None, errors=()):
    """The boot driver among parsed drivers (see boot_driver)."""
    target = coerce_target(target)
    warnings = []
    usable = [d for d in drivers if d.valid]
    for driver in drivers:
        if not driver.valid:
            warn_once(warnings, '%s skipped: Windows would not accept it' % driver.name)
    entries = [e for d in usable for e in d.devices]
    if not entries:
        raise InfError('nothing in the package installs a device on %s%s' % (
            target.describe(), _why_nothing(drivers, errors)))
    if devices:
        chosen, group, hardware_ids, reason, match = _choose_for_devices(usable, entries, devices, target)
    else:
        chosen, group, hardware_ids, reason = _choose_only_driver(usable, entries, target, warnings)
        match = None
    driver = chosen.driver
    inst = chosen.install_info
    installs = []
    for e in group:
        if e.install_info not in installs:
            installs.append(e.install_info)
    svc, image_path = _boot_service(driver, inst, installs, warnings)
    values, service_keys = _service_values(driver, svc, image_path, warnings)
    files = _boot_files(driver, inst, svc, warnings)
    for w in driver.warnings:
        warn_once(warnings, w)
    event_log = None
    if svc.event_log:
        event_log = {'log': svc.event_log_type, 'name': svc.event_name,
                     'values': [(e.subkey, e.value) for e in svc.event_log_addreg if e.root == 'HKR' and e.op == 'set']}
    return {
        'inf_path': driver.path, 'inf_name': driver.name, 'class': driver.class_name, 'class_guid': driver.class_guid,
        'provider': driver.provider, 'driver_ver': dict(inst.driver_ver or driver.driver_ver),
        'description': chosen.description, 'install_section': inst.actual, 'hardware_ids': hardware_ids,
        'service': svc.name, 'service_values': values, 'service_keys': service_keys,
        'event_log': event_log,
        'driver_values': [(e.subkey, e.value) for e in inst.driver_addreg if e.root == 'HKR' and e.op == 'set'],
        'hardware_values': [(e.subkey, e.value) for e in inst.hw_addreg if e.root == 'HKR' and e.op == 'set'],
        'files': files, 'match': match, 'reason': reason, 'warnings': warnings,
    }


def _why_nothing(drivers, errors):
    """What each INF says about its Models sections, for the error when nothing installs on the target."""
    why = []
    for driver in drivers:
        for m in driver.manufacturers:
            why.append('%s: %s -> %s' % (driver.name, m['models_section'], m['reason']))
        if not driver.manufacturers:
            why.append('%s: no Models' % driver.name)
    why.extend('%s: %s' % (os.path.basename(e['path']), e['msg']) for e in errors)
    return (': ' + '; '.join(why[:8])) if why else ' (no INF files)'


def _choose_for_devices(usable, entries, devices, target):
    """(Models line, its lines with the same service, hardware IDs, reason, match) of the best match of the devices."""
    if isinstance(devices, (str, dict)):
        devices = [devices]
    normalized = [normalize_device(d) for d in devices]
    best = None
    for idx, device in enumerate(normalized):
        ranked = rank_candidates(usable, device)
        if ranked and (best is None or ranked[0][1] < best[0][1]):
            best = (ranked[0], idx, ranked)
    if best is None:
        listed = sorted(set(i for e in entries for i in e.ids))
        hints = [d['hint'] for d in normalized if d.get('hint')]
        raise InfError('none of the devices (%s) matches a driver of the package for %s; the package lists %s%s%s'
                       % (', '.join(d['label'] for d in normalized), target.describe(),
                          ', '.join(listed[:8]), ' and %d more' % (len(listed) - 8) if len(listed) > 8 else '',
                          ('; ' + hints[0]) if hints else ''))
    (rank, _key, chosen, match_info), _idx, ranked = best
    reason = '%s: %s (%s = %s), rank 0x%08X' % (
        _describe_entry(chosen), match_info[1], match_info[2], match_info[3], rank)
    match = {'device': normalized[best[1]]['label'], 'match': match_info[1], 'device_id': match_info[2],
             'inf_id': match_info[3], 'rank': '0x%08X' % rank}
    inst = chosen.install_info
    if inst is None or not inst.assoc_service:
        raise InfError('the best match for %s is %s, which installs no function driver service (no AddService '
                       'with flag 0x2)' % (match['device'], _describe_entry(chosen)))
    service_name = inst.assoc_service
    group = [e for e in chosen.driver.devices if e.install_info is not None and
             e.install_info.assoc_service and e.install_info.assoc_service.lower() == service_name.lower()]
    wanted = []
    for device in normalized:
        for dev_id in device['hardware_ids'] + device['compatible_ids']:
            if dev_id.upper() not in [w.upper() for w in wanted]:
                wanted.append(dev_id)
    listed = {}
    for e in group:
        for i in e.ids:
            listed.setdefault(i.upper(), i)
    hardware_ids = [listed[w.upper()] for w in wanted if w.upper() in listed]
    return chosen, group, hardware_ids, reason, match


def _choose_only_driver(usable, entries, target, warnings):
    """(Models line, its lines with the same service, hardware IDs, reason) without devices: the package must have
    one function driver for the target (the INF with the newest DriverVer when several have one)."""
    with_service = [e for e in entries if e.install_info is not None and e.install_info.assoc_service]
    if not with_service:
        raise InfError('no Models line that applies to %s installs a function driver service (AddService with '
                       'flag 0x2)' % target.describe())
    by_driver = []
    for driver in usable:
        mine = [e for e in with_service if e.driver is driver]
        if mine:
            by_driver.append(driver)
    by_driver.sort(key=lambda d: (tuple(-x for x in d.driver_ver_key[0]), tuple(-x for x in d.driver_ver_key[1])))
    driver = by_driver[0]
    if len(by_driver) > 1:
        warn_once(warnings, 'several INF files install a driver on %s (%s); %s has the newest DriverVer; give devices '
                  'to choose the way Windows does' % (target.describe(), ', '.join(d.name for d in by_driver),
                                                      driver.name))
    mine = [e for e in with_service if e.driver is driver]
    names = []
    for e in mine:
        if e.install_info.assoc_service.lower() not in [n.lower() for n in names]:
            names.append(e.install_info.assoc_service)
    if len(names) > 1:
        raise InfError('%s installs several function drivers on %s (%s); give devices to choose one'
                       % (driver.name, target.describe(), ', '.join(names)))
    chosen = mine[0]
    service_name = names[0]
    group = [e for e in mine if e.install_info.assoc_service.lower() == service_name.lower()]
    hardware_ids = []
    for e in group:
        for i in e.ids:
            if i.upper() not in [h.upper() for h in hardware_ids]:
                hardware_ids.append(i)
    reason = '%s: the only function driver of the package for %s' % (_describe_entry(chosen), target.describe())
    return chosen, group, hardware_ids, reason


def _boot_service(driver, inst, installs, warnings):
    """(Service, ImagePath) of the function driver of ``inst``, checked: Windows could install it from the INF."""
    services = [s for s in inst.services if s.assoc]
    svc = services[0]
    for other in installs[1:]:
        alt = [s for s in other.services if s.assoc]
        if alt and alt[0].install.lower() != svc.install.lower():
            warn_once(warnings, 'install sections [%s] and [%s] set up service %s from different sections ([%s], '
                      '[%s]); using [%s]' % (inst.actual, other.actual, svc.name, svc.install, alt[0].install,
                                             svc.install))
    if svc.missing:
        raise InfError('%s: service %s cannot be installed: [%s] lacks %s'
                       % (driver.name, svc.name, svc.install or '?', ', '.join(svc.missing)))
    for field in ('ServiceType', 'StartType', 'ErrorControl'):
        if svc.number(field) is None:
            raise InfError('%s: service %s: %s = %r is not a number'
                           % (driver.name, svc.name, field, svc.fields.get(field)))
    dirid = svc.binary_dirid
    if dirid is None:
        raise InfError('%s: service %s: ServiceBinary %r does not name a file under a known DIRID%s'
                       % (driver.name, svc.name, svc.fields.get('ServiceBinary'),
                          '; a build-time placeholder? pass templates' if '%' in (svc.fields.get('ServiceBinary')
                                                                                  or '')[1:] else ''))
    if dirid == DIRID_DRIVER_STORE:
        image_path = '\\SystemRoot\\System32\\drivers\\' + svc.binary_file
        warn_once(warnings, 'service %s runs from the DriverStore (DIRID 13) in the INF; for offline injection its '
                  'files go to System32\\drivers (DIRID 12) and ImagePath is %s' % (svc.name, image_path))
    elif svc.image_path is None:
        raise InfError('%s: service %s: ServiceBinary %r uses DIRID %s, which has no fixed place under the Windows '
                       'folder' % (driver.name, svc.name, svc.fields.get('ServiceBinary'), dirid))
    else:
        image_path = svc.image_path
    return svc, image_path


def _service_values(driver, svc, image_path, warnings):
    """([(subkey tuple, Value)] relative to Services\\<name>, [subkeys without values]): what Windows writes for the
    service, then its HKR AddReg, then the KMDF library version."""
    values = [((), Value.dword('Type', svc.number('ServiceType') or 0)),
              ((), Value.dword('Start', svc.number('StartType') or 0)),
              ((), Value.dword('ErrorControl', svc.number('ErrorControl') or 0)),
              ((), Value.expand_sz('ImagePath', image_path))]
    if svc.fields.get('LoadOrderGroup'):
        values.append(((), Value.sz('Group', svc.fields['LoadOrderGroup'])))
    if svc.fields.get('DisplayName'):
        values.append(((), Value.sz('DisplayName', svc.fields['DisplayName'])))
    if svc.fields.get('Description'):
        values.append(((), Value.sz('Description', svc.fields['Description'])))
    services = [d for d in svc.dependencies if not d.startswith('+')]
    groups = [d[1:] for d in svc.dependencies if d.startswith('+') and d[1:]]
    if services:
        values.append(((), Value.multi_sz('DependOnService', services)))
    if groups:
        values.append(((), Value.multi_sz('DependOnGroup', groups)))
    if svc.fields.get('StartName'):
        values.append(((), Value.sz('ObjectName', svc.fields['StartName'])))
    absolute = []
    service_keys = []
    for entry in svc.addreg:
        if entry.root != 'HKR':
            absolute.append((entry.root, entry.subkey, entry.value) if entry.op == 'set' else
                            (entry.root, entry.subkey, None))
            continue
        if entry.op == 'set':
            values.append((entry.subkey, entry.value))
        elif entry.op == 'keyonly':
            service_keys.append(entry.subkey)
        else:
            warn_once(warnings, '%s: DelReg/DELVAL line [%s] %d for service %s not applied'
                      % (driver.name, entry.section, entry.line, svc.name))
    if absolute:
        warn_once(warnings, '%s: the service-install section of %s writes outside Services\\%s (%s); not included '
                  'in service_values' % (driver.name, svc.name, svc.name,
                                         ', '.join('%s\\%s' % (r, '\\'.join(k)) for r, k, _v in absolute)))
    if svc.kmdf_library_version:
        values.append((('Parameters', 'Wdf'), Value.sz('KmdfLibraryVersion', svc.kmdf_library_version)))
    return values, service_keys


def _boot_files(driver, inst, svc, warnings):
    """The package files the install section copies, with where offline injection puts them (DIRID 13 -> 12)."""
    files = []
    for entry in inst.files:
        if entry.origin is not None:
            warn_once(warnings, '%s comes from the system INF %s and is not part of the package'
                      % (entry.name, entry.origin))
            continue
        item = {'source': '/'.join(entry.source_parts or [entry.source]), 'source_path': entry.source_path,
                'present': bool(entry.present), 'dirid': entry.dirid, 'inf_dirid': entry.dirid, 'subdir': entry.subdir,
                'name': entry.name, 'target': entry.target, 'found_at': entry.found_at}
        if entry.dirid == DIRID_DRIVER_STORE:
            item['dirid'] = 12
            item['subdir'] = ''
            item['target'] = 'System32\\drivers\\' + entry.name
        if not isinstance(item['dirid'], int):
            raise InfError('%s: destination of %s is %r, not a DIRID; pass templates, for example {"%s": "12"}'
                           % (driver.name, entry.name, entry.dirid, entry.dirid))
        if item['target'] is None:
            warn_once(warnings, '%s goes to DIRID %s, which has no fixed place under the Windows folder'
                      % (entry.name, entry.dirid))
        if not item['present']:
            warn_once(warnings, '%s is not in the package (%s)' % (entry.name, item['source_path'] or item['source']))
        files.append(item)
    binary_name = svc.binary_file.split('\\')[-1].lower()
    if not any(f['name'].lower() == binary_name and f['present'] for f in files):
        warn_once(warnings, 'the service binary %s of %s is not among the package files that the install section '
                  'copies' % (svc.binary_file, svc.name))
    return files


def boot_driver(package_path, target, devices=None, lenient=False, templates=None, system_inf_dir=None):
    """The driver Windows would install from a package for a boot device, ready for offline injection.

    See the module documentation of sanboot.windows.driver_info for the result. Raises InfError (only) when the
    package cannot be read or nothing in it matches the target / devices.
    """
    target = coerce_target(target)
    drivers, errors = read_package(package_path, target, lenient, templates, system_inf_dir)
    result = select_boot_driver(drivers, target, devices, errors)
    for error in errors:
        warn_once(result['warnings'], '%s skipped: %s' % (error['path'], error['msg']))
    return result
