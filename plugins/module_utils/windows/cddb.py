# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Critical Device Database (Windows XP ... 7 / Server 2008 R2) and boot driver service keys.

Windows <= 7 starts a device during early boot only when one of its hardware or compatible IDs has a
key under Control\\CriticalDeviceDatabase naming the class and the service (see docs/how-it-works.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.inf import hwid
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    RegistryError, Value, split_path,
)

# Setup class GUIDs (devguid.h) of the classes a boot device can belong to.
CLASS_GUIDS = {
    'net': '{4D36E972-E325-11CE-BFC1-08002BE10318}',
    'scsiadapter': '{4D36E97B-E325-11CE-BFC1-08002BE10318}',
    'hdc': '{4D36E96A-E325-11CE-BFC1-08002BE10318}',
    'diskdrive': '{4D36E967-E325-11CE-BFC1-08002BE10318}',
    'system': '{4D36E97D-E325-11CE-BFC1-08002BE10318}',
    'volume': '{71A27CDD-812A-11D0-BEC7-08002BE2092F}',
    'netservice': '{4D36E974-E325-11CE-BFC1-08002BE10318}',
    'nettrans': '{4D36E975-E325-11CE-BFC1-08002BE10318}',
    'netclient': '{4D36E973-E325-11CE-BFC1-08002BE10318}',
    'usb': '{36FC9E60-C465-11CF-8056-444553540000}',
    'storagevolume': '{71A27CDD-812A-11D0-BEC7-08002BE2092F}',
    'infiniband': '{30EF7132-D858-4A0C-AC24-B9028A5CCA3F}',
}

START_TYPES = {'boot': 0, 'system': 1, 'auto': 2, 'demand': 3, 'disabled': 4}
SERVICE_TYPES = {'kernel': 1, 'filesystem': 2, 'adapter': 4, 'recognizer': 8, 'own_process': 16, 'share_process': 32}
ERROR_CONTROLS = {'ignore': 0, 'normal': 1, 'severe': 2, 'critical': 3}

_GUID_RE = re.compile(r'^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$')
_SERVICE_RE = re.compile(r'^[^\\/\x00-\x1f]{1,256}$')

CDDB = ('Control', 'CriticalDeviceDatabase')


def class_guid(value=None, class_name=None):
    """Normalise a class GUID to {UPPER-CASE} form, or look up a class name (Net, SCSIAdapter, ...)."""
    if value:
        match = _GUID_RE.match(value.strip())
        if not match:
            raise RegistryError('class_guid %r is not a GUID like {4D36E972-E325-11CE-BFC1-08002BE10318}' % value)
        return '{%s}' % match.group(1).upper()
    if class_name:
        guid = CLASS_GUIDS.get(class_name.strip().lower())
        if guid is None:
            raise RegistryError('unknown device class %r; give class_guid instead (known classes: %s)'
                                % (class_name, ', '.join(sorted(CLASS_GUIDS))))
        return guid
    raise RegistryError('one of class_guid or class is required')


def validate_device_id(device_id):
    """A hardware ID in the collection's one grammar (hwid.py), in the form Windows writes it."""
    return hwid.hardware_id(device_id)


def cddb_key_name(device_id):
    """PCI\\VEN_8086&DEV_100E -> pci#ven_8086&dev_100e: '\\' becomes '#'; lower case as Windows writes them."""
    return validate_device_id(device_id).replace('\\', '#').lower()


def validate_service_name(name):
    if not isinstance(name, str) or not _SERVICE_RE.match(name) or name.strip() != name:
        raise RegistryError('service name %r is not a valid Windows service key name' % (name,))
    return name


def _number(value, names, what, low, high):
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in names:
        return names[value.strip().lower()]
    try:
        number = int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise RegistryError('%s must be a number or one of %s, got %r' % (what, ', '.join(sorted(names)), value))
    if not low <= number <= high:
        raise RegistryError('%s must be between %d and %d, got %r' % (what, low, high, value))
    return number


def service_values(start=None, type_=None, error_control=None, group=None, image_path=None, boot_flags=None):
    """The Services\\<name> values a user asked for, as registry Values (None = leave alone)."""
    out = []
    start = _number(start, START_TYPES, 'start', 0, 4)
    type_ = _number(type_, SERVICE_TYPES, 'type', 1, 0x3ff)
    error_control = _number(error_control, ERROR_CONTROLS, 'error_control', 0, 3)
    boot_flags = _number(boot_flags, {}, 'boot_flags', 0, 0xFFFFFFFF)
    if type_ is not None:
        out.append(Value.dword('Type', type_))
    if start is not None:
        out.append(Value.dword('Start', start))
    if error_control is not None:
        out.append(Value.dword('ErrorControl', error_control))
    if group is not None:
        out.append(Value.sz('Group', group))
    if image_path is not None:
        if not image_path.strip():
            raise RegistryError('image_path is empty')
        out.append(Value.expand_sz('ImagePath', image_path))
    if boot_flags is not None:
        out.append(Value.dword('BootFlags', boot_flags))
    return out


def plan_service(planner, control_set, service, values):
    """Make Services\\<service> hold ``values``; create it (as a boot-start kernel driver) only with an ImagePath.

    Returns a list of warnings.
    """
    path = (control_set, 'Services', service)
    if not planner.key_exists(path):
        names = set(v.name for v in values)
        if 'ImagePath' not in names:
            raise RegistryError(
                'service %s does not exist in %s\\Services: its driver is not installed in this Windows. '
                'Give image_path (e.g. system32\\drivers\\%s.sys) and the driver file to create it, or use a '
                'driver package.' % (service, control_set, service.lower()))
        # A new driver service: the minimal set virt-v2v writes, unless the user said otherwise.
        defaults = [Value.dword('Type', 1), Value.dword('Start', 0), Value.dword('ErrorControl', 1)]
        values = [d for d in defaults if d.name not in names] + list(values)
    for value in values:
        planner.ensure_value(path, value)
    return []


def plan_critical_device(hive, planner, hardware_ids, service=None, guid=None, values=(), state='present',
                         control_sets='current', subkey_values=()):
    """Plan CDDB entries (and the service) in each selected control set. Returns a result dict.

    ``values`` are Services\\<service> values; ``subkey_values`` (subkey tuple, Value) pairs below it (a driver
    package's service AddReg).
    """
    ids, seen = [], set()
    for device_id in hardware_ids:
        key = cddb_key_name(device_id)
        if key not in seen:
            seen.add(key)
            ids.append((device_id.strip(), key))
    if not ids:
        raise RegistryError('hardware_ids is empty')
    if service is not None:
        validate_service_name(service)
    sets = hive.control_sets(control_sets)
    warnings = []
    if hive.key_exists(('DriverDatabase',)):
        warnings.append('this SYSTEM hive has a DriverDatabase at its root, so it is Windows 8 / Server 2012 or '
                        'later, which ignores the Critical Device Database; use sanboot.windows.iscsi_boot to make '
                        'a device boot-critical there')
    entries = []
    for cs in sets:
        disabled = hive.dword((cs, 'Control', 'PnP'), 'DisableCDDB')
        if disabled and state == 'present':
            warnings.append('%s\\Control\\PnP\\DisableCDDB is %d (set by a device installation Group Policy): '
                            'Windows ignores the Critical Device Database and will stop with 0x7B; '
                            'sanboot.windows.iscsi_boot resets it' % (cs, disabled))
        if state == 'present':
            if not service:
                raise RegistryError('service is required with state=present')
            plan_service(planner, cs, service, list(values))
            for sub, value in subkey_values:
                planner.ensure_value((cs, 'Services', service) + tuple(sub), value)
            for device_id, key in ids:
                path = (cs,) + CDDB + (key,)
                planner.ensure_value(path, Value.sz('ClassGUID', guid))
                planner.ensure_value(path, Value.sz('Service', service))
                entries.append(split_path(planner.real_path(path)))
        else:
            for device_id, key in ids:
                path = (cs,) + CDDB + (key,)
                if not planner.key_exists(path):
                    continue
                owner = planner.get_value(path, 'Service')
                owner_name = owner.decoded() if owner is not None else None
                if service and (not isinstance(owner_name, str) or owner_name.lower() != service.lower()):
                    warnings.append('left %s in place: it belongs to service %r, not %r'
                                    % ('\\'.join(planner.real_path(path)), owner_name, service))
                    continue
                entries.append(planner.real_path(path))
                planner.ensure_key_absent(path)
    return {
        'control_sets': sets,
        'entries': ['\\'.join(e) for e in entries],
        'warnings': warnings,
    }


def driver_package(hive, package, devices=None, lenient=False, templates=None):
    """inf.boot_driver for a Windows <= 7 hive: the package matched as NT 6.1 of the hive's architecture."""
    arch = 'x86'
    current = hive.control_sets('current')[0]
    env = hive.get_value((current, 'Control', 'Session Manager', 'Environment'), 'PROCESSOR_ARCHITECTURE')
    if env is not None and isinstance(env.decoded(), str):
        arch = {'AMD64': 'amd64', 'ARM64': 'arm64'}.get(env.decoded().upper(), 'x86')
    chosen = inf.boot_driver(package, inf.Target(6, 1, None, None, arch, 'Windows 7'), devices=devices or None,
                             lenient=lenient, templates=templates)
    chosen['class_guid'] = class_guid(chosen.get('class_guid') or CLASS_GUIDS['net'])
    return chosen
