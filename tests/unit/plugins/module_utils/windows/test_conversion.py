# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conversion (windows/conversion.py): what a Windows installation gets to boot from iSCSI, value by value on
Windows 7 and 8.1, the typed record of the plan, StartOverride and the device installation policy taken back by
state=absent, the options that leave things alone, and the refusals that name what is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner, RegistryError
from ansible_collections.sanboot.windows.plugins.module_utils.windows import conversion, nic, nicpackage
from ansible_collections.sanboot.windows.plugins.module_utils.windows.record import STATE_KEY

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    dump_hive, error_ids as errors, iscsi_boot_params as params, regedit_plan, run_plan, sha256 as sha,
    unpacked_hive,
)

E1000 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
VIRTIO_FULL = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
# The adapter Windows drives in the 8.1 fixture (its package is in the DRIVERS test hive only).
E1000_81 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'
WIN10 = 'win10-1903-x64-dirty.SYSTEM'


# ---------------------------------------------------------------------------------------------------------
# what is written

def test_what_is_written_on_windows_7(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    iscsi_boot.run_iscsi_boot(params(path, 'phony-win7-32.SOFTWARE', {'id': E1000, 'service': 'E1G60'}, {},
                                     auto_reboot=False), check_mode=False)
    hive = Hive(path)
    cs = ('ControlSet001',)
    for key in ('pci#ven_8086&dev_100e', 'pci#ven_8086&dev_100e&subsys_11001af4&rev_03'):
        entry = cs + ('Control', 'CriticalDeviceDatabase', key)
        assert hive.get_value(entry, 'Service').decoded() == 'E1G60'
        assert hive.get_value(entry, 'ClassGUID').decoded() == '{4D36E972-E325-11CE-BFC1-08002BE10318}'
    for svc in ('E1G60', 'NDIS', 'Tcpip', 'iScsiPrt', 'PSched'):
        assert hive.dword(cs + ('Services', svc), 'Start') == 0, svc
    assert hive.dword(cs + ('Services', 'E1G60'), 'BootFlags') & 1
    assert hive.dword(cs + ('Services', 'Tcpip', 'Parameters'), 'DisableDhcpMediaSense') == 1
    assert hive.dword(cs + ('Control', 'Session Manager', 'Memory Management'), 'DisablePagingExecutive') == 1
    assert hive.dword(cs + ('Control',), 'BootDriverFlags') == 1
    assert hive.dword(cs + ('Control', 'CrashControl'), 'AutoReboot') == 0
    ndi = cs + ('Control', 'Network', '{4D36E974-E325-11CE-BFC1-08002BE10318}',
                '{B70D6460-3635-4D42-B866-B8AB1A24454C}', 'Ndi')
    assert hive.dword(ndi, 'FilterRunType') == 2
    # Only the current control set unless asked.
    assert hive.dword(('ControlSet002', 'Services', 'iScsiPrt'), 'Start') == 3
    assert not hive.key_exists(('ControlSet001', 'Control', 'DriverDatabase'))


def test_what_is_written_on_windows_8_1(hive_copy):
    path, drivers = hive_copy('win81-x64-dirty.SYSTEM'), hive_copy('win81-x64.DRIVERS')
    result = iscsi_boot.run_iscsi_boot(params(path, None, E1000_81, {'drivers_hive': drivers}), check_mode=False)
    record = result['nics'][0]['driver_database']
    assert record['state'] == 'copied from DRIVERS' and record['inf'] == 'nete1g3e.inf'
    # Windows' own records, unchanged: DRIVERS is not written, SYSTEM now holds the same keys and values.
    source, hive = dump_hive(drivers), dump_hive(path)
    assert source == dump_hive(unpacked_hive('win81-x64.DRIVERS'))
    package = ('DriverDatabase', 'DriverPackages', record['package'])
    copied = [k for k in source if k[:3] == package]
    assert copied and all(hive[k] == source[k] for k in copied)
    inf = ('DriverDatabase', 'DriverInfFiles', 'nete1g3e.inf')
    assert hive[inf] == source[inf]
    device = [k for k in source if [p.lower() for p in k] ==
              ['driverdatabase', 'deviceids', 'pci', 'ven_8086&dev_100e&subsys_001e8086']][0]
    assert hive[device] == source[device] == {'nete1g3e.inf': (3, b'\x01\xff\x00\x00')}
    assert hive[('DriverDatabase', 'DeviceIds', '{4d36e972-e325-11ce-bfc1-08002be10318}')] == \
        {'nete1g3e.inf': (0, b'')}
    assert not [k for k in hive if 'sanboot_' in '\\'.join(k).lower()], 'no made-up package'
    assert Hive(path).dword(('HardwareConfig', '{0082a41f-0a8c-5d41-9a34-5caa8b6f544c}'), 'BootDriverFlags') == 0x1
    assert Hive(path).dword(('ControlSet001', 'Control'), 'BootDriverFlags') == 0x1D
    # The adapter's power settings: set for the NIC Windows has installed.
    assert Hive(path).dword(('ControlSet001', 'Control', 'Class', '{4d36e972-e325-11ce-bfc1-08002be10318}', '0000'),
                            'PnPCapabilities') == 24


# ---------------------------------------------------------------------------------------------------------
# the plan, as a record

def _convert(hive_copy, package, options):
    system, drivers = hive_copy(WIN10), hive_copy('win10-1903-x64.DRIVERS')
    hive, drivers_db = Hive(system, allow_dirty=True), Hive(drivers)
    planner, drivers_planner = Planner(hive), Planner(drivers_db)
    os_info, found, planned = conversion.convert(hive, planner, drivers_db, drivers_planner,
                                                 Hive(unpacked_hive('phony-win10.SOFTWARE')),
                                                 [nic.parse_nic(VIRTIO_FULL)], [package], options)
    return os_info, found, planned, planner, drivers_planner


def test_the_plan_is_a_record_of_nics_packages_and_files(hive_copy, netkvm):
    os_info, found, planned, planner, drivers_planner = _convert(hive_copy, netkvm, conversion.Options())
    assert isinstance(planned, conversion.Conversion) and os_info.family == 'ddb'
    [entry] = planned.nics
    assert isinstance(entry, conversion.NicConversion) and entry.driver is found[VIRTIO_FULL]
    assert entry.driver.service == 'netkvm' and entry.service_created
    assert entry.package_state == nicpackage.STAGE == 'staged'
    [staging] = planned.stagings
    assert staging is entry.package.staging and staging.oem_inf == 'oem12.inf'
    folder = 'System32\\DriverStore\\FileRepository\\' + staging.label
    assert [target for _source, target in planned.files] == [
        folder + '\\netkvm.inf', folder + '\\netkvm.cat', folder + '\\netkvm.sys', 'INF\\oem12.inf',
        'System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\\oem12.cat', 'System32\\drivers\\netkvm.sys']
    assert planned.boot_start_services == ['netkvm', 'NDIS', 'Tcpip', 'iScsiPrt'] and planned.first_boot is None
    assert planned.control_sets == ['ControlSet001']
    # planned, not written: the record of originals is in SYSTEM's plan, the package's records in DRIVERS' too
    assert planner.key_exists(STATE_KEY) and drivers_planner.plan.ops
    assert planned.as_dict()['nics'][0]['driver_database'] == dict(staging.as_dict(), state='staged')


def test_on_a_running_host_the_package_is_left_to_pnputil(hive_copy, netkvm):
    _os, _found, planned, planner, drivers_planner = _convert(hive_copy, netkvm,
                                                              conversion.Options(stage_with='pnputil'))
    [entry] = planned.nics
    assert entry.package_state == nicpackage.PNPUTIL == 'to be staged by pnputil'
    assert planned.stagings == [] and planned.files == [] and not drivers_planner.plan.ops
    assert planned.as_dict()['nics'][0]['driver_database'] == {'inf': 'netkvm.inf', 'state': 'to be staged by pnputil'}
    assert planner.key_exists(STATE_KEY)


# ---------------------------------------------------------------------------------------------------------
# taken back by state=absent

def test_start_override_is_removed_and_restored(hive_copy, netkvm):
    path = hive_copy('win10-1903-x64-dirty.SYSTEM')
    run_plan(path, regedit_plan('CurrentControlSet\\Services\\iScsiPrt\\StartOverride', name='0',
                                data=3, type_name='dword'), allow_dirty=True, backup=False)
    original = dump_hive(path)
    p = params(path, 'phony-win10.SOFTWARE', VIRTIO_FULL, {'drivers': [netkvm],
                                                           'drivers_hive': hive_copy('win10-1903-x64.DRIVERS')})
    assert 'start-override' in errors(iscsi_boot.run_iscsi_boot_info(p)['findings'])
    result = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert any(c['op'] == 'delete_key' and c['key'].endswith('iScsiPrt\\StartOverride') for c in result['changes'])
    assert not Hive(path).key_exists(('ControlSet001', 'Services', 'iScsiPrt', 'StartOverride'))
    iscsi_boot.run_iscsi_boot(dict(p, state='absent'), check_mode=False)
    assert dump_hive(path) == original


def test_device_policy_is_reset_with_a_warning_and_restored(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    run_plan(path, regedit_plan('CurrentControlSet\\Control\\PnP', name='DisableCDDB', data=1,
                                type_name='dword'), backup=False)
    original = dump_hive(path)
    p = params(path, None, {'id': E1000, 'service': 'E1G60'}, {})
    assert 'device-policy' in errors(iscsi_boot.run_iscsi_boot_info(p)['findings'])
    result = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert any('DisableCDDB was 1' in w for w in result['warnings'])
    assert Hive(path).dword(('ControlSet001', 'Control', 'PnP'), 'DisableCDDB') == 0
    iscsi_boot.run_iscsi_boot(dict(p, state='absent'), check_mode=False)
    assert dump_hive(path) == original


# ---------------------------------------------------------------------------------------------------------
# options and refusals

def test_options_off_leave_things_and_the_doctor_notices(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    p = params(path, None, {'id': E1000, 'service': 'E1G60'}, {}, wfp_filter_optional=False, boot_driver_flags=False)
    result = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert not result['ready'] and errors(result['findings']) == ['wfp-filter-bound']
    assert Hive(path).dword(('ControlSet001', 'Control'), 'BootDriverFlags') == 0


def test_missing_iscsi_initiator_is_named(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    run_plan(path, regedit_plan('CurrentControlSet\\Services\\iScsiPrt', state='absent'), backup=False)
    before = sha(path)
    p = params(path, None, {'id': E1000, 'service': 'E1G60'}, {})
    with pytest.raises(RegistryError, match='no Microsoft iSCSI initiator'):
        iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert sha(path) == before
    assert 'service-missing' in errors(iscsi_boot.run_iscsi_boot_info(p)['findings'])
