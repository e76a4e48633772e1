# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Critical Device Database planning (windows/cddb.py) on the real Windows 7 SYSTEM hive, cross-checked with
# hivexregedit.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, Value

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import regedit_plan, run_plan, unpacked_hive  # noqa: E402

WIN7 = 'win7-sp1-x86.SYSTEM'
NET = '{4D36E972-E325-11CE-BFC1-08002BE10318}'
CDDB = ('Control', 'CriticalDeviceDatabase')


RUN_OPTIONS = ('check_mode', 'backup', 'allow_dirty')


def run(path, ids, state='present', service='E1G60', values=(), **kw):
    plan_kw = dict((k, v) for k, v in kw.items() if k not in RUN_OPTIONS)

    def plan(hive, planner):
        return cddb.plan_critical_device(hive, planner, ids, service=service, guid=NET, values=list(values),
                                         state=state, **plan_kw)
    return run_plan(path, plan, **dict((k, v) for k, v in kw.items() if k in RUN_OPTIONS))


@pytest.mark.parametrize('device_id, key', [
    ('PCI\\VEN_8086&DEV_100E', 'pci#ven_8086&dev_100e'),
    ('PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'pci#ven_8086&dev_100e&subsys_11001af4&rev_03'),
    ('*PNP0A03', '*pnp0a03'),
    ('  PCI\\CC_0200 ', 'pci#cc_0200'),
])
def test_cddb_key_name(device_id, key):
    assert cddb.cddb_key_name(device_id) == key


@pytest.mark.parametrize('device_id, message', [
    ('', 'empty'),
    ('PCI#VEN_8086', 'backslashes'),
    ('PCI\\VEN_8086,x', 'characters Windows does not allow'),
    ('PCI\\VEN_8086\x01', 'characters Windows does not allow'),
    ('PCI\\VÉN', 'characters Windows does not allow'),
    ('P' * 201, 'longer than 200'),
])
def test_bad_device_ids(device_id, message):
    with pytest.raises(RegistryError, match=message):
        cddb.cddb_key_name(device_id)


def test_class_guid():
    assert cddb.class_guid(class_name='net') == NET
    assert cddb.class_guid('4d36e97b-e325-11ce-bfc1-08002be10318') == '{4D36E97B-E325-11CE-BFC1-08002BE10318}'
    with pytest.raises(RegistryError, match='not a GUID'):
        cddb.class_guid('{nope}')
    with pytest.raises(RegistryError, match='unknown device class'):
        cddb.class_guid(class_name='Toaster')


def test_service_values_accept_names_and_numbers():
    values = cddb.service_values(start='boot', type_='kernel', error_control='normal', group='NDIS',
                                 image_path='system32\\drivers\\x.sys', boot_flags=1)
    assert values == [Value.dword('Type', 1), Value.dword('Start', 0), Value.dword('ErrorControl', 1),
                      Value.sz('Group', 'NDIS'), Value.expand_sz('ImagePath', 'system32\\drivers\\x.sys'),
                      Value.dword('BootFlags', 1)]
    assert cddb.service_values(start='0x3') == [Value.dword('Start', 3)]
    with pytest.raises(RegistryError, match='start must be between 0 and 4'):
        cddb.service_values(start=5)
    with pytest.raises(RegistryError, match='error_control must be a number or one of'):
        cddb.service_values(error_control='loud')


def test_present_writes_entries_and_service(hive_copy, reg_cross_check):
    path = hive_copy(WIN7)
    ids = ['PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03']
    result = run(path, ids, values=cddb.service_values(start=0, boot_flags=1))
    assert result['changed']
    assert result['entries'] == ['ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_100e',
                                 'ControlSet001\\Control\\CriticalDeviceDatabase\\'
                                 'pci#ven_8086&dev_100e&subsys_11001af4&rev_03']
    hive = Hive(path)
    for key in ('pci#ven_8086&dev_100e', 'pci#ven_8086&dev_100e&subsys_11001af4&rev_03'):
        assert hive.get_value(('ControlSet001',) + CDDB + (key,), 'ClassGUID') == Value.sz('ClassGUID', NET)
        assert hive.get_value(('ControlSet001',) + CDDB + (key,), 'Service') == Value.sz('Service', 'E1G60')
    assert hive.dword(('ControlSet001', 'Services', 'E1G60'), 'Start') == 0
    # ControlSet002 (LastKnownGood) is left alone by default.
    assert not hive.key_exists(('ControlSet002',) + CDDB + ('pci#ven_8086&dev_100e',))
    reg_cross_check(unpacked_hive(WIN7), path, result['reg'])
    assert not run(path, ids, values=cddb.service_values(start=0, boot_flags=1))['changed']


def test_all_control_sets(hive_copy, reg_cross_check):
    path = hive_copy(WIN7)
    result = run(path, ['PCI\\VEN_1AF4&DEV_1000'], control_sets='all')
    assert result['control_sets'] == ['ControlSet001', 'ControlSet002']
    assert len(result['entries']) == 2
    reg_cross_check(unpacked_hive(WIN7), path, result['reg'])


def test_existing_entry_with_other_case_is_updated_in_place(hive_copy, reg_cross_check):
    # The fixture has PCI#VEN_8086&DEV_7111 -> intelide (upper case, as some Windows versions write).
    path = hive_copy(WIN7)
    key = ('ControlSet001',) + CDDB + ('PCI#VEN_8086&DEV_7111',)
    assert Hive(path).get_value(key, 'Service').decoded() == 'intelide'
    result = run(path, ['PCI\\VEN_8086&DEV_7111'], service='pciide')
    assert result['entries'] == ['ControlSet001\\Control\\CriticalDeviceDatabase\\PCI#VEN_8086&DEV_7111']
    assert [(c['op'], c['name']) for c in result['changes']] == [('set_value', 'ClassGUID'), ('set_value', 'Service')]
    assert Hive(path).get_value(key, 'Service').decoded() == 'pciide'
    reg_cross_check(unpacked_hive(WIN7), path, result['reg'])


def test_absent_removes_only_named_entries_of_that_service(hive_copy, reg_cross_check):
    path = hive_copy(WIN7)
    run(path, ['PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_8086&DEV_10D3'], backup=False)
    edited = hive_copy(WIN7, 'edited')
    import shutil
    shutil.copyfile(path, edited)
    result = run(path, ['PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_8086&DEV_7111', 'PCI\\VEN_DEAD&DEV_BEEF'], state='absent')
    assert [c['op'] for c in result['changes']] == ['delete_key']
    assert result['entries'] == ['ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_100e']
    assert any('belongs to service' in w and 'intelide' in w for w in result['warnings'])
    hive = Hive(path)
    assert not hive.key_exists(('ControlSet001',) + CDDB + ('pci#ven_8086&dev_100e',))
    assert hive.key_exists(('ControlSet001',) + CDDB + ('pci#ven_8086&dev_10d3',))
    assert hive.key_exists(('ControlSet001',) + CDDB + ('pci#ven_8086&dev_7111',))
    assert hive.key_exists(('ControlSet001', 'Services', 'E1G60'))
    reg_cross_check(edited, path, result['reg'])
    assert not run(path, ['PCI\\VEN_8086&DEV_100E'], state='absent')['changed']


def test_missing_service_needs_image_path(hive_copy, reg_cross_check):
    path = hive_copy(WIN7)
    with pytest.raises(RegistryError, match='service netkvm does not exist in ControlSet001'):
        run(path, ['PCI\\VEN_1AF4&DEV_1000'], service='netkvm')
    result = run(path, ['PCI\\VEN_1AF4&DEV_1000'], service='netkvm',
                 values=cddb.service_values(image_path='system32\\DRIVERS\\netkvm.sys', group='NDIS'))
    hive = Hive(path)
    svc = ('ControlSet001', 'Services', 'netkvm')
    assert dict((v.name, v.decoded()) for v in hive.values(svc)) == {
        'Type': 1, 'Start': 0, 'ErrorControl': 1, 'Group': 'NDIS', 'ImagePath': 'system32\\DRIVERS\\netkvm.sys'}
    reg_cross_check(unpacked_hive(WIN7), path, result['reg'])


def test_windows8_hive_gets_a_warning(hive_copy):
    path = hive_copy('win81-x64-dirty.SYSTEM')
    result = run(path, ['PCI\\VEN_8086&DEV_100E'], service='Tcpip', allow_dirty=True, check_mode=True)
    assert any('Windows 8' in w for w in result['warnings'])


def test_disable_cddb_policy_is_reported(hive_copy):
    path = hive_copy(WIN7)
    run_plan(path, regedit_plan('CurrentControlSet\\Control\\PnP', name='DisableCDDB', data=1,
                                type_name='dword'), backup=False)
    result = run(path, ['PCI\\VEN_8086&DEV_100E'], check_mode=True)
    assert any('DisableCDDB is 1' in w for w in result['warnings'])


def test_many_entries_cross_check(hive_copy, reg_cross_check):
    path = hive_copy(WIN7)
    ids = ['PCI\\VEN_%04X&DEV_%04X' % (0x1000 + i, i) for i in range(300)]
    result = run(path, ids, values=cddb.service_values(start=0))
    assert len(result['entries']) == 300
    reg_cross_check(unpacked_hive(WIN7), path, result['reg'])
