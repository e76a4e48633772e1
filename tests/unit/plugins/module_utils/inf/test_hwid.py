# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One device-ID grammar for every module (inf/hwid.py): the same forms accepted, the same junk refused with the
same message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.inf import hwid
from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb, nic
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

LSPCI_NN = '00:03.0 Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e] (rev 03)'
LSPCI_NNV = LSPCI_NN + '\n\tSubsystem: Red Hat, Inc. QEMU Virtual Machine [1af4:1100]\n\tFlags: bus master, fast devsel'


@pytest.mark.parametrize('text, windows', [
    ('PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'),
    ('pci\\ven_8086&dev_100e', 'PCI\\VEN_8086&DEV_100E'),
    ('8086:100e', 'PCI\\VEN_8086&DEV_100E'),
    ('[8086:100e]', 'PCI\\VEN_8086&DEV_100E'),
    ('  8086:100E  ', 'PCI\\VEN_8086&DEV_100E'),
    ('8086:100e 1af4:1100', 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4'),
    ('[8086:100e] [1af4:1100]', 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4'),
    (LSPCI_NN, 'PCI\\VEN_8086&DEV_100E&REV_03&CC_0200'),
    ('0000:' + LSPCI_NN, 'PCI\\VEN_8086&DEV_100E&REV_03&CC_0200'),
    (LSPCI_NNV, 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03&CC_0200'),
    ('01:00.0 Non-Volatile memory controller [0108]: Samsung Electronics Co Ltd NVMe SSD Controller [144d:a808]',
     'PCI\\VEN_144D&DEV_A808&CC_0108'),
])
def test_pci_forms(text, windows):
    assert hwid.hardware_id(text) == windows
    assert hwid.pci_id(text).windows == windows


@pytest.mark.parametrize('text', ['ACPI\\PNP0A08', '*PNP0F13', 'GenDisk', 'USB\\VID_0781&PID_5567&REV_0100',
                                  '{5d624f94-8850-40c3-a3fa-a4fd2080baf3}\\vwifimp_wfd', 'HDAUDIO\\FUNC_01&VEN_10EC'])
def test_other_ids_are_taken_as_written(text):
    assert hwid.hardware_id(text) == text
    with pytest.raises(RegistryError, match='is not a PCI ID'):
        hwid.pci_id(text)


JUNK = ['hello world', '..\\..\\foo', 'PCI\\..\\x', 'PCI\\\\VEN_8086', '\\PCI', 'PCI\\', '8086:100', '[8086:100ee]', '808:100e 1af4:1100',
        '"PCI\\VEN_8086"', 'PCI\\VEN_8086,DEV_100E', 'PCI#VEN_8086&DEV_100E', 'x' * 201, '']


@pytest.mark.parametrize('junk', JUNK)
def test_junk_is_refused_everywhere_with_the_same_message(junk):
    messages = set()
    for accept in (hwid.hardware_id, cddb.cddb_key_name, cddb.validate_device_id, inf.normalize_device,
                   lambda t: inf.normalize_device([t]), lambda t: inf.normalize_device({'hardware_ids': [t]})):
        with pytest.raises(RegistryError) as info:
            accept(junk)
        messages.add(str(info.value))
    assert len(messages) == 1, messages
    assert 'is not a device ID' in messages.pop()
    with pytest.raises(RegistryError, match='is not a device ID'):
        nic.parse_nic(junk or 'hello world')


def test_every_module_takes_the_same_pci_forms():
    for text in ('8086:100e', '[8086:100e]', LSPCI_NN):
        assert nic.parse_nic(text).generic == 'PCI\\VEN_8086&DEV_100E'
        assert cddb.validate_device_id(text).startswith('PCI\\VEN_8086&DEV_100E')
        device = inf.normalize_device(text)
        assert 'PCI\\VEN_8086&DEV_100E' in device['hardware_ids'] + device['compatible_ids']
