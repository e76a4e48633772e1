# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network adapters an installation has seen (windows/adapters.py): their IDs, services, class keys and PCI
location paths, from the fixtures' Enum\\PCI."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner, Value
from ansible_collections.sanboot.windows.plugins.module_utils.windows import adapters, nic

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import unpacked_hive  # noqa: E402

CS = 'ControlSet001'
E1000_81 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'
INSTANCE_81 = (CS, 'Enum', 'PCI', 'VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02', '3&267a616a&2&18')


def test_adapters_report():
    eight = Hive(unpacked_hive('win81-x64-dirty.SYSTEM'), allow_dirty=True)
    assert adapters.adapters(eight, CS) == [{
        'instance': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02\\3&267a616a&2&18',
        'description': 'Intel(R) PRO/1000 MT Desktop Adapter',
        'hardware_ids': ['PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02', 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086',
                         'PCI\\VEN_8086&DEV_100E&CC_020000', 'PCI\\VEN_8086&DEV_100E&CC_0200'],
        'compatible_ids': ['PCI\\VEN_8086&DEV_100E&REV_02', 'PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_8086&CC_020000',
                           'PCI\\VEN_8086&CC_0200', 'PCI\\VEN_8086', 'PCI\\CC_020000', 'PCI\\CC_0200'],
        'service': 'E1G60', 'location_path': 'PCIROOT(0)#PCI(0300)', 'service_start': 3, 'starts_at_boot': False}]
    seven = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    assert [(a['instance'], a['location_path']) for a in adapters.adapters(seven, CS)] == [
        ('PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\\4&b70f118&0&0888', None),     # behind a bridge (bus 2)
        ('PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\\4&b70f118&0&1888', None)]


def test_class_keys_of_a_nic_are_those_of_its_installed_instances():
    eight = Hive(unpacked_hive('win81-x64-dirty.SYSTEM'), allow_dirty=True)
    assert adapters.enum_net_instances(eight, CS) == [INSTANCE_81]
    assert adapters.nic_class_keys(eight, CS, nic.parse_nic(E1000_81)) == [
        (CS, 'Control', 'Class', '{4d36e972-e325-11ce-bfc1-08002be10318}', '0000')]
    assert adapters.nic_class_keys(eight, CS, nic.parse_nic('PCI\\VEN_8086&DEV_100F')) == []


def test_the_location_path_from_the_properties_else_from_location_information():
    planner = Planner(Hive(unpacked_hive('win81-x64-dirty.SYSTEM'), allow_dirty=True))
    prop = INSTANCE_81 + ('Properties',) + adapters.DEVPKEY_LOCATION_PATHS
    assert planner.key_exists(prop) and adapters.location_path(planner, INSTANCE_81) == 'PCIROOT(0)#PCI(0300)'
    # what the device property says wins (a multi-string: ACPI and PCI paths)
    paths = 'ACPI(_SB_)#ACPI(PCI0)\0PCIROOT(0)#PCI(1C00)#PCI(0000)\0\0'.encode('utf-16-le')
    planner.ensure_value(prop, Value('', 0xFFFF2012, paths))
    assert adapters.location_path(planner, INSTANCE_81) == 'PCIROOT(0)#PCI(1C00)#PCI(0000)'
    # without it, LocationInformation (bus, device, function) on bus 0
    planner.ensure_key_absent(INSTANCE_81 + ('Properties',))
    assert adapters.location_path(planner, INSTANCE_81) == 'PCIROOT(0)#PCI(0300)'
    planner.ensure_value(INSTANCE_81, Value.sz('LocationInformation', 'PCI bus 2, device 1, function 0;(2,1,0)'))
    assert adapters.location_path(planner, INSTANCE_81) is None
