# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""windows/identity.py on real fixture hives: names as Windows takes them, the name planned into every control set
(read back with plain libhivex), ImageState, the answer file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value
from ansible_collections.sanboot.windows.plugins.module_utils.windows import identity
from ansible_collections.sanboot.windows.tests.helpers import dump_hive


@pytest.mark.parametrize('name', ['LAB-PC01', 'a', 'X' * 15, 'pc-7', '7PC'])
def test_names_windows_takes(name):
    assert identity.check_computer_name(name, 'client1') == name


@pytest.mark.parametrize('name, why', [
    ('X' * 16, '16 characters'), ('LAB_PC01', "'_'"), ('LAB.PC', "'.'"), ('LAB PC', "' '"), ('12345', 'only digits'),
    ('-PC', 'hyphen'), ('PC-', 'hyphen'), ('', 'empty'), ('PC*1', "'*'"),
])
def test_names_windows_refuses_name_the_client(name, why):
    with pytest.raises(identity.IdentityError) as err:
        identity.check_computer_name(name, 'lab-pc-17')
    assert 'client lab-pc-17' in str(err.value) and why in str(err.value)


@pytest.mark.parametrize('host, name', [
    ('lab-pc01', 'LAB-PC01'), ('lab-pc01.example.org', 'LAB-PC01'), ('render_node_0001x', 'RENDER-NODE-000'),
])
def test_default_name_from_inventory(host, name):
    assert identity.default_computer_name(host) == name
    identity.check_computer_name(name, host)


def key(dump, *path):
    """A key of dump_hive's result, names compared as Windows compares them (case-insensitively)."""
    wanted = tuple(p.lower() for p in path)
    values = next(v for k, v in dump.items() if tuple(p.lower() for p in k) == wanted)
    return dict((name.lower(), value) for name, value in values.items())


@pytest.mark.parametrize('fixture', ['win7-sp1-x86.SYSTEM', 'win10-1903-x64-dirty.SYSTEM'])
def test_name_written_into_every_control_set(hive_copy, fixture):
    path = hive_copy(fixture)
    with HiveSet([('SYSTEM', path)], allow_dirty=True) as hives:
        sets = identity.plan_identity(hives.planners['SYSTEM'], 'lab-pc01')
        hives.write(backup=False)
    assert sets
    dump = dump_hive(path)
    for cs in sets:
        computer = key(dump, cs, 'Control', 'ComputerName', 'ComputerName')
        assert computer['computername'][1].decode('utf-16-le').rstrip('\0') == 'LAB-PC01'
        tcpip = key(dump, cs, 'Services', 'Tcpip', 'Parameters')
        assert tcpip['hostname'][1].decode('utf-16-le').rstrip('\0') == 'lab-pc01'
        assert tcpip['nv hostname'][1].decode('utf-16-le').rstrip('\0') == 'lab-pc01'
    assert identity.read_computer_name(Hive(path, allow_dirty=True)) == 'LAB-PC01'
    # a second plan is empty: the name is there
    with HiveSet([('SYSTEM', path)], allow_dirty=True) as hives:
        identity.plan_identity(hives.planners['SYSTEM'], 'lab-pc01')
        assert not hives.planners['SYSTEM'].plan


def test_image_state(hive_copy):
    path = hive_copy('phony-win10.SOFTWARE')
    assert identity.image_state(Hive(path)) in (None, 'IMAGE_STATE_COMPLETE')
    assert not identity.is_generalized(identity.image_state(Hive(path)))
    with HiveSet([('SOFTWARE', path)]) as hives:
        state = Value.sz('ImageState', 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE')
        hives.planners['SOFTWARE'].ensure_value(identity.STATE_KEY, state)
        hives.write(backup=False)
    assert identity.is_generalized(identity.image_state(Hive(path)))
    assert identity.image_state(None) is None


def test_unattend_renders_the_name():
    text = identity.render_unattend(identity.DEFAULT_UNATTEND, 'LAB-PC02', 'x86')
    root = ET.fromstring(text.encode())
    ns = {'u': 'urn:schemas-microsoft-com:unattend'}
    comp = root.find('u:settings[@pass="specialize"]/u:component', ns)
    assert comp.get('processorArchitecture') == 'x86'
    assert comp.find('u:ComputerName', ns).text == 'LAB-PC02'
    with pytest.raises(identity.IdentityError, match=r'\$computer_name'):
        identity.render_unattend('<x>$name</x>', 'LAB-PC02')
