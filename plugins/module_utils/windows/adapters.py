# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network adapters an installation has seen (Enum\\PCI instances of the Net class): their IDs, services, class
keys and PCI location paths."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value, dword_value, text_value
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nic import NET_CLASS

DEVPKEY_LOCATION_PATHS = ('{a45c254e-df1c-4efd-8020-67d146a850e0}', '0025')


def enum_net_instances(reader, control_set):
    """Every network adapter instance Windows has seen on PCI: [(instance path tuple, values dict)]."""
    out = []
    base = (control_set, 'Enum', 'PCI')
    if not reader.key_exists(base):
        return out
    for device in reader.subkeys(base):
        for instance in reader.subkeys(base + (device,)):
            key = base + (device, instance)
            guid = text_value(reader, key, 'ClassGUID')
            klass = text_value(reader, key, 'Class')
            if (guid or '').upper() == NET_CLASS or (klass or '').lower() == 'net':
                out.append(key)
    return out


def nic_class_keys(reader, control_set, nic):
    """Control\\Class\\{Net}\\NNNN keys of installed instances of this NIC (same hardware ID)."""
    out = []
    for key in enum_net_instances(reader, control_set):
        ids = (reader.get_value(key, 'HardwareID') or Value.multi_sz('', [])).decoded()
        if not isinstance(ids, list) or not any(nic.matches(i) for i in ids):
            continue
        driver = text_value(reader, key, 'Driver')
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
    info = text_value(reader, instance_key, 'LocationInformation') or ''
    match = re.search(r'\((\d+),(\d+),(\d+)\)\s*$', info)
    if match and match.group(1) == '0':
        return 'PCIROOT(0)#PCI(%02X%02X)' % (int(match.group(2)), int(match.group(3)))
    return None


def adapters(reader, control_set):
    """Network adapters the installation has seen, for the report (and for nics: of iscsi_boot)."""
    out = []
    for key in enum_net_instances(reader, control_set):
        hw = reader.get_value(key, 'HardwareID')
        compat = reader.get_value(key, 'CompatibleIDs')
        service = text_value(reader, key, 'Service')
        start = dword_value(reader, (control_set, 'Services', service), 'Start') if service else None
        desc = text_value(reader, key, 'FriendlyName') or text_value(reader, key, 'DeviceDesc') or ''
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
