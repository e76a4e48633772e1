# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iscsi_boot and iscsi_boot_info jobs (jobs/iscsi_boot.py) on every real fixture hive: not ready -> convert ->
ready -> no-op -> exact restore; hives that do not belong together; dirty hives; the report; the options and the
argument spec the modules take."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive, HiveError
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, offline
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError
from ansible_collections.sanboot.windows.plugins.module_utils.windows import adapters, nic
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    FIXTURES, dump_hive, error_ids as errors, iscsi_boot_params as params, reg_for_hive, sha256 as sha,
    unpacked_hive,
)

E1000 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
VIRTIO = 'PCI\\VEN_1AF4&DEV_1000'
VIRTIO_FULL = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
VIRTIO_WIN = os.path.join(FIXTURES, 'inf', 'virtio-win')
# The adapters Windows drives in the 8.1 and 10 fixtures (their packages are in the DRIVERS test hives only).
E1000_81 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'
E82574_10 = 'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00'
DRIVERS = {'win81-x64-dirty.SYSTEM': 'win81-x64.DRIVERS', 'win10-1903-x64-dirty.SYSTEM': 'win10-1903-x64.DRIVERS'}
NETKVM = 'netkvm'   # stands for the built netkvm package (the netkvm fixture)


CASES = [
    ('win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE', {'id': E1000, 'service': 'E1G60'}, {}, 'CriticalDeviceDatabase'),
    ('win7-sp1-x86.SYSTEM', None, E1000, {}, 'CriticalDeviceDatabase'),
    ('win7-sp1-x86.SYSTEM', 'phony-winxp-32.SOFTWARE', VIRTIO, {'drivers': [VIRTIO_WIN], 'templates': {}},
     'CriticalDeviceDatabase'),
    ('win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE', VIRTIO, {'drivers': [VIRTIO_WIN], 'templates': {}},
     'CriticalDeviceDatabase'),
    ('win81-x64-dirty.SYSTEM', None, E1000_81, {}, 'DriverDatabase'),
    ('win81-x64-dirty.SYSTEM', None, VIRTIO_FULL, {'drivers': [NETKVM]}, 'DriverDatabase'),
    ('win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE', E82574_10, {}, 'DriverDatabase'),
    ('win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE', VIRTIO_FULL, {'drivers': [NETKVM]}, 'DriverDatabase'),
    ('win10-1903-x64-dirty.SYSTEM', 'phony-win11.SOFTWARE', VIRTIO_FULL, {'drivers': [NETKVM]}, 'DriverDatabase'),
    ('win10-1903-x64-dirty.SYSTEM', 'phony-win2k22.SOFTWARE', VIRTIO_FULL, {'drivers': [NETKVM]}, 'DriverDatabase'),
    ('win10-1903-x64-dirty.SYSTEM', 'phony-win2k25.SOFTWARE', E82574_10, {}, 'DriverDatabase'),
]


def timeless(changes):
    """Changes without the data of the values that hold the time of the run (ImportDate, UpdateDate)."""
    return [dict(c, after=None) if c.get('name') in ('ImportDate', 'UpdateDate') else c for c in changes]


@pytest.mark.parametrize('system_name, software, nic_spec, extra, family', CASES,
                         ids=['%s+%s+%s' % (c[0].split('-')[0], (c[1] or 'none').split('.')[0],
                                            'virtio' if 'VEN_1AF4' in str(c[2]) else 'e1000')
                              for c in CASES])
def test_convert_report_and_restore(hive_copy, reg_cross_check, netkvm, system_name, software, nic_spec, extra, family):
    path = hive_copy(system_name)
    extra = dict(extra, drivers=[netkvm if d == NETKVM else d for d in extra.get('drivers', [])])
    if system_name in DRIVERS:
        extra['drivers_hive'] = hive_copy(DRIVERS[system_name])
    original = dump_hive(path)
    original_drivers = dump_hive(extra['drivers_hive']) if 'drivers_hive' in extra else None
    p = params(path, software, nic_spec, extra)

    before = iscsi_boot.run_iscsi_boot_info(p)
    assert before['os']['family'] == family
    assert before['ready'] is False
    assert errors(before['findings']), 'the untouched hive must not be ready'

    checked = iscsi_boot.run_iscsi_boot(p, check_mode=True)
    assert checked['changed'] and checked['ready'] and sha(path) == sha(unpacked_hive(system_name))

    result = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert result['changed'] and result['ready'], errors(result['findings'])
    assert timeless(result['changes']) == timeless(checked['changes'])
    reg_cross_check(unpacked_hive(system_name), path, reg_for_hive(result['reg'], 'SYSTEM'))
    if 'drivers_hive' in extra:
        reg_cross_check(unpacked_hive(DRIVERS[system_name]), extra['drivers_hive'],
                        reg_for_hive(result['reg'], 'DRIVERS'), prefix='HKEY_LOCAL_MACHINE\\DRIVERS')

    after = iscsi_boot.run_iscsi_boot_info(p)
    assert after['ready'] is True, after['findings']
    assert after['converted'] is True
    nic_id = nic.parse_nic(nic_spec).most_specific
    assert [n['id'] for n in after['nics']] == [nic_id]

    again = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert not again['changed'], again['changes']

    restored = iscsi_boot.run_iscsi_boot(dict(p, state='absent'), check_mode=False)
    assert restored['changed'] and restored['restored'] > 0
    assert dump_hive(path) == original, 'state=absent must put back exactly what was there'
    if original_drivers is not None:
        assert dump_hive(extra['drivers_hive']) == original_drivers
    assert not iscsi_boot.run_iscsi_boot(dict(p, state='absent'), check_mode=False)['changed']
    assert iscsi_boot.run_iscsi_boot_info(p)['ready'] is False


# ---------------------------------------------------------------------------------------------------------
# refusals

@pytest.mark.parametrize('system_name, software, message', [
    ('win7-sp1-x86.SYSTEM', 'phony-win10.SOFTWARE', 'not from the same Windows installation'),
    ('win10-1903-x64-dirty.SYSTEM', 'phony-win7-32.SOFTWARE', 'not from the same Windows installation'),
    ('phony-windows.SYSTEM', 'phony-win10.SOFTWARE', 'not from the same Windows installation'),
    ('phony-windows.SYSTEM', 'phony-win7-32.SOFTWARE', 'NDIS does not exist; this does not look like a complete'),
])
def test_inconsistent_or_incomplete_hives_fail_and_stay_identical(hive_copy, system_name, software, message):
    path = hive_copy(system_name)
    before = sha(path)
    with pytest.raises(RegistryError, match=message):
        iscsi_boot.run_iscsi_boot(params(path, software, {'id': E1000, 'service': 'Tcpip'}, {}), check_mode=False)
    assert sha(path) == before


def test_dirty_hive_needs_allow_dirty_to_write_but_not_to_read(hive_copy):
    path = hive_copy('win81-x64-dirty.SYSTEM')
    p = params(path, None, E1000, {}, allow_dirty=False)
    with pytest.raises(HiveError, match='allow_dirty'):
        iscsi_boot.run_iscsi_boot(p, check_mode=False)
    report = iscsi_boot.run_iscsi_boot_info(p)
    assert report['dirty'] and any(f['id'] == 'dirty-hive' for f in report['findings'])


# ---------------------------------------------------------------------------------------------------------
# the report, the options, the argument spec

def test_the_report_names_the_control_sets_and_the_adapters():
    report = iscsi_boot.run_iscsi_boot_info(dict(hive=unpacked_hive('win7-sp1-x86.SYSTEM'), nics=[]))
    assert report['ready'] is None and report['nics'] == []     # no verdict without a NIC; findings all the same
    assert 'service iScsiPrt does not start at boot (Start=3)' in [f['message'] for f in report['findings']]
    assert report['converted'] is False and report['dirty'] is False and report['changed'] is False
    assert report['control_sets'] == {'current': 'ControlSet001', 'select': {'Current': 1, 'Default': 1,
                                                                             'LastKnownGood': 2},
                                      'all': ['ControlSet001', 'ControlSet002']}
    assert report['adapters'] == adapters.adapters(Hive(unpacked_hive('win7-sp1-x86.SYSTEM')), 'ControlSet001')
    assert len(report['adapters']) == 2


def test_first_boot_is_for_images():
    with pytest.raises(BootError, match='first_boot needs an image'):
        iscsi_boot.run_iscsi_boot(dict(hive=unpacked_hive('win10-1903-x64-dirty.SYSTEM'), nics=['8086:10d3'],
                                       first_boot=True, allow_dirty=True), check_mode=True)
    # unset: on inside an image (a view of its files), off with a hive file
    assert iscsi_boot.options({}, view=object()).first_boot is True
    assert iscsi_boot.options({}).first_boot is False
    assert iscsi_boot.options({'first_boot': False}, view=object()).first_boot is False
    assert iscsi_boot.options({}, stage_with='pnputil').stage_with == 'pnputil'


def test_the_hives_of_a_place_come_from_the_image_else_the_parameters():
    params_ = {'software_hive': '/given/SOFTWARE', 'drivers_hive': '/given/DRIVERS'}
    place = offline.Place({'SYSTEM': '/image/SYSTEM', 'SOFTWARE': None, 'DRIVERS': '/image/DRIVERS'})
    hives = iscsi_boot.Hives.of(params_, place)
    assert (hives.system, hives.software, hives.drivers) == ('/image/SYSTEM', '/given/SOFTWARE', '/image/DRIVERS')


def validate(spec_and_choices, args):
    spec, choices = spec_and_choices
    return ArgumentSpecValidator(spec, **choices).validate(args)


def test_the_argument_specs_are_the_modules_constraints():
    ok = validate(iscsi_boot.argument_spec(), {'hive': '/h', 'nics': [E1000]})
    assert not ok.error_messages
    assert dict((k, ok.validated_parameters[k]) for k in ('state', 'backup', 'allow_dirty', 'control_sets',
                                                          'drivers', 'first_boot')) == {
        'state': 'present', 'backup': True, 'allow_dirty': False, 'control_sets': 'current', 'drivers': [],
        'first_boot': None}
    assert 'nics' in ' '.join(validate(iscsi_boot.argument_spec(), {'hive': '/h'}).error_messages)
    assert not validate(iscsi_boot.argument_spec(), {'hive': '/h', 'state': 'absent'}).error_messages
    assert 'mutually exclusive' in ' '.join(validate(iscsi_boot.argument_spec(), {
        'hive': '/h', 'image': '/i', 'nics': [E1000]}).error_messages)
    assert 'one of the following is required' in ' '.join(validate(iscsi_boot.argument_spec(), {
        'nics': [E1000]}).error_messages)
    # the report writes nothing: no backup, no allow_dirty, no state
    info = validate(iscsi_boot.info_argument_spec(), {'hive': '/h', 'backup': False})
    assert 'backup' in ' '.join(info.error_messages)
    assert not validate(iscsi_boot.info_argument_spec(), {'hive': '/h'}).error_messages


def test_lock_dir_is_where_the_locks_are_and_nothing_is_left_beside_the_hives(hive_copy, tmp_path_factory):
    # SYSTEM and DRIVERS (Windows 10), each locked in lock_dir for the whole cycle; nothing of ours beside them
    system, drivers = hive_copy('win10-1903-x64-dirty.SYSTEM'), hive_copy('win10-1903-x64.DRIVERS')
    locks = str(tmp_path_factory.mktemp('locks'))
    result = iscsi_boot.run_iscsi_boot(params(system, 'phony-win10.SOFTWARE', 'PCI\\VEN_8086&DEV_10D3',
                                              drivers_hive=drivers, lock_dir=locks), check_mode=False)
    assert result['changed']
    assert sorted(n.split('-', 2)[2] for n in os.listdir(locks)) == [
        'win10-1903-x64-dirty.SYSTEM.lock', 'win10-1903-x64.DRIVERS.lock']
    assert sorted(os.listdir(os.path.dirname(system))) == sorted(os.path.basename(p) for p in (system, drivers))
