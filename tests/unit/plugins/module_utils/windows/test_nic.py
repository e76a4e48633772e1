# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A boot NIC and the driver that drives it (windows/nic.py): the forms nics: takes, Windows' IDs in their order,
multi-port cards, and the Driver record."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError
from ansible_collections.sanboot.windows.plugins.module_utils.windows import nic

E1000 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'


def test_a_nic_matches_its_windows_ids_in_any_case():
    found = nic.parse_nic(E1000)
    assert found.generic == 'PCI\\VEN_8086&DEV_100E' and str(found) == found.most_specific == E1000
    assert found.matches('pci\\ven_8086&dev_100e&rev_03') and found.matches('PCI\\VEN_8086&DEV_100E')
    assert not found.matches('PCI\\VEN_8086&DEV_100F') and not found.matches('PCI\\VEN_8086&DEV_100E&SUBSYS_1')


def test_the_driver_record_says_where_it_came_from():
    given = nic.Driver('E1G60', 'given in nics')
    assert given.as_dict() == {'service': 'E1G60', 'source': 'given in nics', 'class_guid': nic.NET_CLASS,
                               'inf': None, 'section': None, 'hardware_ids': [], 'files': []}
    staged = nic.Driver('netkvm', 'driver package /p/netkvm.inf', inf='netkvm.inf', ddb_state='staged')
    assert staged.as_dict()['package_state'] == 'staged' and staged.as_dict()['package'] is None


# ---------------------------------------------------------------------------------------------------------
# nics: entries

@pytest.mark.parametrize('spec, ids', [
    ('PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03',
     ['PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4',
      'PCI\\VEN_8086&DEV_100E&REV_03', 'PCI\\VEN_8086&DEV_100E']),
    ('pci\\ven_1af4&dev_1000', ['PCI\\VEN_1AF4&DEV_1000']),
    ('8086:100e', ['PCI\\VEN_8086&DEV_100E']),
    ({'id': '1af4:1000', 'service': 'netkvm', 'location': 'PCIROOT(0)#PCI(0300)'}, ['PCI\\VEN_1AF4&DEV_1000']),
    # With a class code, the class-code IDs Windows forms from it, where Windows ranks them (issue 25)
    ('PCI\\VEN_1106&DEV_3349&SUBSYS_00000000&REV_00&CC_010400',
     ['PCI\\VEN_1106&DEV_3349&SUBSYS_00000000&REV_00', 'PCI\\VEN_1106&DEV_3349&SUBSYS_00000000',
      'PCI\\VEN_1106&DEV_3349&CC_010400', 'PCI\\VEN_1106&DEV_3349&CC_0104', 'PCI\\VEN_1106&DEV_3349&REV_00',
      'PCI\\VEN_1106&DEV_3349']),
    ('PCI\\VEN_1106&DEV_3349&CC_0104', ['PCI\\VEN_1106&DEV_3349&CC_0104', 'PCI\\VEN_1106&DEV_3349']),
    ('00:0f.0 RAID bus controller [0104]: VIA Technologies, Inc. VT8251 AHCI/SATA 4-Port Controller [1106:3349] '
     '(rev 80)', ['PCI\\VEN_1106&DEV_3349&CC_0104', 'PCI\\VEN_1106&DEV_3349&REV_80', 'PCI\\VEN_1106&DEV_3349']),
])
def test_parse_nic(spec, ids):
    parsed = nic.parse_nic(spec)
    assert parsed.hardware_ids == ids
    # the NIC's name stays its most specific ID without the class code
    assert parsed.most_specific == [i for i in ids if '&CC_' not in i][0]


@pytest.mark.parametrize('spec, message', [
    ('USB\\VID_1234', 'not a PCI ID'),
    ('', 'needs a PCI ID'),
    ({'id': E1000, 'speed': 10}, 'unknown keys'),
    ({'id': E1000, 'location': 'PCI(0300)'}, 'not a PCI location path'),
    ({'id': E1000, 'service': 'a\\b'}, 'not a valid Windows service'),
])
def test_parse_nic_errors(spec, message):
    with pytest.raises(RegistryError, match=message):
        nic.parse_nic(spec)


def test_a_dual_port_card_is_one_entry_per_port():
    ports = [{'id': '8086:10d3', 'location': 'PCIROOT(0)#PCI(1C00)#PCI(0000)'},
             {'id': '8086:10d3', 'location': 'PCIROOT(0)#PCI(1C00)#PCI(0001)'}]
    assert [n.location for n in nic.parse_nics(ports)] == [p['location'] for p in ports]
    with pytest.raises(RegistryError, match='give each its location'):
        nic.parse_nics(['8086:10d3', 'PCI\\VEN_8086&DEV_10D3'])
    with pytest.raises(RegistryError, match='with the same location'):
        nic.parse_nics([ports[0], dict(ports[0])])
