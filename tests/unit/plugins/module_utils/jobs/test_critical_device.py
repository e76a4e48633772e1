# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The critical_device job (jobs/critical_device.py) on a Windows 7 hive file: entries from hardware IDs or from a
driver package, the request checked before any hive is opened, and the argument specs of critical_device and
win_critical_device. The entries themselves are windows/cddb.py's (test_cddb.py); the live twin is in
test_live.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import critical_device
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, Value

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import FIXTURES  # noqa: E402

CS = 'ControlSet001'
CDDB = (CS, 'Control', 'CriticalDeviceDatabase')
VIOSTOR = 'PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00'


def test_entries_from_hardware_ids_then_removed(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    params = {'hive': path, 'hardware_ids': ['PCI\\VEN_1AF4&DEV_1000'], 'service': 'E1G60', 'class': 'Net',
              'backup': False}
    result = critical_device.run(params, check_mode=False)
    assert result['changed'] and result['entries'] == [CS + '\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1000']
    assert result['control_sets'] == [CS] and result['warnings'] == [] and result['backup_file'] is None
    assert Hive(path).get_value(CDDB + ('pci#ven_1af4&dev_1000',), 'Service') == Value.sz('Service', 'E1G60')
    assert not critical_device.run(params, check_mode=False)['changed']
    removed = critical_device.run(dict(params, state='absent'), check_mode=False)
    assert removed['changed'] and not Hive(path).key_exists(CDDB + ('pci#ven_1af4&dev_1000',))


def test_entries_and_service_from_a_driver_package(hive_copy, tmp_path):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    package = tmp_path / 'viostor'
    package.mkdir()
    shutil.copy(os.path.join(FIXTURES, 'inf', 'virtio-win', 'viostor_wlh.inf'), str(package / 'viostor.inf'))
    (package / 'viostor.sys').write_bytes(b'MZ')
    result = critical_device.run({'hive': path, 'driver': str(package), 'devices': [VIOSTOR], 'backup': False},
                                 check_mode=False)
    assert result['entries'] == [CS + '\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1001&subsys_00021af4']
    assert (result['driver']['service'], result['driver']['inf']) == ('viostor', str(package / 'viostor.inf'))
    assert [f['target'] for f in result['driver']['files']] == ['System32\\drivers\\viostor.sys']
    hive = Hive(path)
    entry = CDDB + ('pci#ven_1af4&dev_1001&subsys_00021af4',)
    assert hive.get_value(entry, 'ClassGUID').decoded() == '{4D36E97B-E325-11CE-BFC1-08002BE10318}'   # SCSIAdapter
    assert [(v.name, v.decoded()) for v in hive.values((CS, 'Services', 'viostor'))] == [
        ('Type', 1), ('Start', 0), ('ErrorControl', 1), ('ImagePath', '\\SystemRoot\\System32\\drivers\\viostor.sys'),
        ('Group', 'SCSI miniport')]


def test_the_request_is_checked_before_any_hive_is_opened(tmp_path):
    missing = str(tmp_path / 'no-such-hive')
    for bad, message in (({'class': 'Nope'}, "unknown device class 'Nope'"),
                         ({'class': 'Net', 'start': 'sometimes'}, "start must be a number or one of auto, boot")):
        with pytest.raises(RegistryError, match=message):
            critical_device.run(dict(bad, hive=missing, hardware_ids=['PCI\\VEN_1AF4&DEV_1000'], service='x'),
                                check_mode=True)


def errors(spec, choices, args):
    return ' '.join(ArgumentSpecValidator(spec, **choices).validate(args).error_messages)


def test_the_argument_specs_of_the_module_and_its_live_twin():
    spec, choices = critical_device.argument_spec()
    ids = {'hardware_ids': ['PCI\\VEN_1AF4&DEV_1000'], 'service': 'E1G60', 'class': 'Net'}
    assert errors(spec, choices, dict(ids, hive='/h')) == ''
    assert 'mutually exclusive' in errors(spec, choices, dict(ids, hive='/h', image='/i'))
    assert 'mutually exclusive' in errors(spec, choices, dict(ids, hive='/h', class_guid='{x}'))
    assert 'mutually exclusive' in errors(spec, choices, {'hive': '/h', 'driver': '/d', 'class': 'Net'})
    assert 'devices' in errors(spec, choices, dict(ids, hive='/h', devices=['x']))      # devices needs driver
    assert 'one of the following is required' in errors(spec, choices, {'hive': '/h', 'service': 'x'})
    assert errors(spec, choices, {'hive': '/h', 'driver': '/d'}) == ''
    live = dict(critical_device.LIVE_ARGS)
    assert set(spec) - set(live) == set(critical_device.PACKAGE_ARGS) | {
        'hive', 'image', 'format', 'root', 'images', 'backup', 'allow_dirty', 'lock_dir'}
    assert live['hardware_ids']['required'] is True
    assert errors(live, critical_device.LIVE_CHOICES, dict(ids)) == ''
    assert 'service' in errors(live, critical_device.LIVE_CHOICES, {'hardware_ids': ['x'], 'class': 'Net'})


def test_lock_dir_is_where_the_lock_is_and_nothing_is_left_beside_the_hive(hive_copy, tmp_path_factory):
    path, locks = hive_copy('win7-sp1-x86.SYSTEM'), str(tmp_path_factory.mktemp('locks'))
    params = {'hive': path, 'hardware_ids': ['PCI\\VEN_1AF4&DEV_1000'], 'service': 'E1G60', 'class': 'Net',
              'backup': False, 'lock_dir': locks}
    assert critical_device.run(params, check_mode=False)['changed']
    assert len(os.listdir(locks)) == 1 and os.listdir(locks)[0].endswith('-win7-sp1-x86.SYSTEM.lock')
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]
