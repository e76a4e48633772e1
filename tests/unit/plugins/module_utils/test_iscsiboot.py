# -*- coding: utf-8 -*-
# iscsi_boot and the doctor on every real fixture hive: not ready -> convert -> ready -> no-op -> exact restore.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, offline
from ansible_collections.sanboot.windows.plugins.module_utils.windows import iscsiboot
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive, HiveError
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    FIXTURES, dump_hive, make_driver_package, reg_for_hive, unpacked_hive,
)

E1000 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
VIRTIO = 'PCI\\VEN_1AF4&DEV_1000'
VIRTIO_FULL = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
VIRTIO_WIN = os.path.join(FIXTURES, 'inf', 'virtio-win')
REACTOS = os.path.join(FIXTURES, 'inf', 'reactos')
# The adapters Windows drives in the 8.1 and 10 fixtures (their packages are in the DRIVERS test hives only).
E1000_81 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'
E82574_10 = 'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00'
DRIVERS = {'win81-x64-dirty.SYSTEM': 'win81-x64.DRIVERS', 'win10-1903-x64-dirty.SYSTEM': 'win10-1903-x64.DRIVERS'}
NETKVM = 'netkvm'   # stands for the built netkvm package of the fixture below


@pytest.fixture(scope='module')
def netkvm(tmp_path_factory):
    """netkvm as virtio-win ships it for Windows 10 x64: the fixture INF built for amd64, a signed stand-in .sys and a
    catalog (a real package must have both to be staged)."""
    return os.path.dirname(make_driver_package(str(tmp_path_factory.mktemp('netkvm')),
                                               os.path.join(VIRTIO_WIN, 'netkvm_w10_template.inf'),
                                               {'$ARCH$': 'amd64'}, name='netkvm.inf'))


# (SYSTEM, SOFTWARE or None, nic, extra parameters, expected family). Windows 8+ runs get the DRIVERS test hive;
# the Windows 10 SYSTEM hive with the Windows 11 and Server 2022/2025 SOFTWARE hives stands for those versions.
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


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def params(system, software, nic, extra, **more):
    out = dict(hive=system, software_hive=unpacked_hive(software) if software else None, nics=[nic], drivers=[],
               allow_dirty=True, backup=False)
    out.update(extra)
    out.update(more)
    return out


def errors(findings):
    return sorted(f['id'] for f in findings if f['severity'] == 'error')


def timeless(changes):
    """Changes without the data of the values that hold the time of the run (ImportDate, UpdateDate)."""
    return [dict(c, after=None) if c.get('name') in ('ImportDate', 'UpdateDate') else c for c in changes]


@pytest.mark.parametrize('system_name, software, nic, extra, family', CASES,
                         ids=['%s+%s+%s' % (c[0].split('-')[0], (c[1] or 'none').split('.')[0],
                                            'virtio' if 'VEN_1AF4' in str(c[2]) else 'e1000')
                              for c in CASES])
def test_convert_report_and_restore(hive_copy, reg_cross_check, netkvm, system_name, software, nic, extra, family):
    path = hive_copy(system_name)
    extra = dict(extra, drivers=[netkvm if d == NETKVM else d for d in extra.get('drivers', [])])
    if system_name in DRIVERS:
        extra['drivers_hive'] = hive_copy(DRIVERS[system_name])
    original = dump_hive(path)
    original_drivers = dump_hive(extra['drivers_hive']) if 'drivers_hive' in extra else None
    p = params(path, software, nic, extra)

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
    nic_id = iscsiboot.parse_nic(nic).most_specific
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


def test_start_override_is_removed_and_restored(hive_copy, netkvm):
    path = hive_copy('win10-1903-x64-dirty.SYSTEM')
    offline.run(path, offline.plan_regedit('CurrentControlSet\\Services\\iScsiPrt\\StartOverride', name='0',
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
    offline.run(path, offline.plan_regedit('CurrentControlSet\\Control\\PnP', name='DisableCDDB', data=1,
                                           type_name='dword'), backup=False)
    original = dump_hive(path)
    p = params(path, None, {'id': E1000, 'service': 'E1G60'}, {})
    assert 'device-policy' in errors(iscsi_boot.run_iscsi_boot_info(p)['findings'])
    result = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert any('DisableCDDB was 1' in w for w in result['warnings'])
    assert Hive(path).dword(('ControlSet001', 'Control', 'PnP'), 'DisableCDDB') == 0
    iscsi_boot.run_iscsi_boot(dict(p, state='absent'), check_mode=False)
    assert dump_hive(path) == original


def test_options_off_leave_things_and_the_doctor_notices(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    p = params(path, None, {'id': E1000, 'service': 'E1G60'}, {}, wfp_filter_optional=False, boot_driver_flags=False)
    result = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert not result['ready'] and errors(result['findings']) == ['wfp-filter-bound']
    assert Hive(path).dword(('ControlSet001', 'Control'), 'BootDriverFlags') == 0


def test_later_runs_keep_the_first_originals(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    original = dump_hive(path)
    p = params(path, None, {'id': E1000, 'service': 'E1G60'}, {})
    iscsi_boot.run_iscsi_boot(p, check_mode=False)
    # A second run with more: another control set and AutoReboot.
    more = iscsi_boot.run_iscsi_boot(dict(p, control_sets='all', auto_reboot=False), check_mode=False)
    assert more['changed'] and more['control_sets'] == ['ControlSet001', 'ControlSet002']
    assert Hive(path).dword(('ControlSet002', 'Services', 'iScsiPrt'), 'Start') == 0
    iscsi_boot.run_iscsi_boot(dict(p, state='absent'), check_mode=False)
    assert dump_hive(path) == original


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


def test_unknown_driver_is_a_clear_error(hive_copy):
    path = hive_copy('win10-1903-x64-dirty.SYSTEM')
    with pytest.raises(RegistryError, match='no driver for PCI.VEN_8086&DEV_100E.* is known to this Windows'):
        iscsi_boot.run_iscsi_boot(params(path, 'phony-win10.SOFTWARE', E1000, {}), check_mode=False)
    with pytest.raises(RegistryError, match='set lenient to accept them'):
        iscsi_boot.run_iscsi_boot(params(path, 'phony-win10.SOFTWARE', E1000, {'drivers': [REACTOS]}), check_mode=False)
    report = iscsi_boot.run_iscsi_boot_info(params(path, 'phony-win10.SOFTWARE', E1000, {}))
    assert 'nic-no-driver-package' in errors(report['findings'])


def test_dirty_hive_needs_allow_dirty_to_write_but_not_to_read(hive_copy):
    path = hive_copy('win81-x64-dirty.SYSTEM')
    p = params(path, None, E1000, {}, allow_dirty=False)
    with pytest.raises(HiveError, match='allow_dirty'):
        iscsi_boot.run_iscsi_boot(p, check_mode=False)
    report = iscsi_boot.run_iscsi_boot_info(p)
    assert report['dirty'] and any(f['id'] == 'dirty-hive' for f in report['findings'])


def test_os_detection():
    win10 = Hive(unpacked_hive('win10-1903-x64-dirty.SYSTEM'), allow_dirty=True)
    detected = {}
    for software in ('phony-win10.SOFTWARE', 'phony-win11.SOFTWARE', 'phony-win2k22.SOFTWARE',
                     'phony-win2k25.SOFTWARE'):
        detected[software] = iscsiboot.detect_os(win10, 'ControlSet001', Hive(unpacked_hive(software))).as_dict()
    assert detected['phony-win11.SOFTWARE']['name'].startswith('Windows 11')
    assert detected['phony-win11.SOFTWARE']['build'] >= 22000
    assert '2022' in detected['phony-win2k22.SOFTWARE']['name']
    assert '2025' in detected['phony-win2k25.SOFTWARE']['name']
    assert all(d['version'] == '10.0' and d['arch'] == 'amd64' for d in detected.values())
    win7 = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    seven = iscsiboot.detect_os(win7, 'ControlSet001', Hive(unpacked_hive('phony-win7-32.SOFTWARE'))).as_dict()
    assert seven['version'] == '6.1' and seven['arch'] == 'x86' and seven['family'] == 'CriticalDeviceDatabase'
    xp = iscsiboot.detect_os(win7, 'ControlSet001', Hive(unpacked_hive('phony-winxp-32.SOFTWARE'))).as_dict()
    assert xp['version'] == '5.2'  # what the virt-v2v phony XP hive says
    alone = iscsiboot.detect_os(win10, 'ControlSet001').as_dict()
    assert alone['family'] == 'DriverDatabase' and alone['version'] is None and 'SYSTEM hive' in alone['source']


@pytest.mark.parametrize('spec, ids', [
    ('PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03',
     ['PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4',
      'PCI\\VEN_8086&DEV_100E&REV_03', 'PCI\\VEN_8086&DEV_100E']),
    ('pci\\ven_1af4&dev_1000', ['PCI\\VEN_1AF4&DEV_1000']),
    ('8086:100e', ['PCI\\VEN_8086&DEV_100E']),
    ({'id': '1af4:1000', 'service': 'netkvm', 'location': 'PCIROOT(0)#PCI(0300)'}, ['PCI\\VEN_1AF4&DEV_1000']),
])
def test_parse_nic(spec, ids):
    assert iscsiboot.parse_nic(spec).hardware_ids == ids


@pytest.mark.parametrize('spec, message', [
    ('USB\\VID_1234', 'not a PCI ID'),
    ('', 'needs a PCI ID'),
    ({'id': E1000, 'speed': 10}, 'unknown keys'),
    ({'id': E1000, 'location': 'PCI(0300)'}, 'not a PCI location path'),
    ({'id': E1000, 'service': 'a\\b'}, 'not a valid Windows service'),
])
def test_parse_nic_errors(spec, message):
    with pytest.raises(RegistryError, match=message):
        iscsiboot.parse_nic(spec)


def test_adapters_report():
    report = iscsi_boot.run_iscsi_boot_info(dict(hive=unpacked_hive('win81-x64-dirty.SYSTEM'), nics=[]))
    assert report['ready'] is None
    assert report['adapters'] == [{
        'instance': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02\\3&267a616a&2&18',
        'description': 'Intel(R) PRO/1000 MT Desktop Adapter',
        'hardware_ids': ['PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02', 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086',
                         'PCI\\VEN_8086&DEV_100E&CC_020000', 'PCI\\VEN_8086&DEV_100E&CC_0200'],
        'compatible_ids': ['PCI\\VEN_8086&DEV_100E&REV_02', 'PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_8086&CC_020000',
                           'PCI\\VEN_8086&CC_0200', 'PCI\\VEN_8086', 'PCI\\CC_020000', 'PCI\\CC_0200'],
        'service': 'E1G60', 'location_path': 'PCIROOT(0)#PCI(0300)', 'service_start': 3, 'starts_at_boot': False}]
    win7 = iscsi_boot.run_iscsi_boot_info(dict(hive=unpacked_hive('win7-sp1-x86.SYSTEM'), nics=[]))
    assert [a['location_path'] for a in win7['adapters']] == [None, None]  # behind a bridge (bus 2)
    select = {'Current': 1, 'Default': 1, 'LastKnownGood': 2}
    assert win7['control_sets'] == {'current': 'ControlSet001', 'select': select,
                                    'all': ['ControlSet001', 'ControlSet002']}


def test_missing_iscsi_initiator_is_named(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    offline.run(path, offline.plan_regedit('CurrentControlSet\\Services\\iScsiPrt', state='absent'), backup=False)
    before = sha(path)
    p = params(path, None, {'id': E1000, 'service': 'E1G60'}, {})
    with pytest.raises(RegistryError, match='no Microsoft iSCSI initiator'):
        iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert sha(path) == before
    assert 'service-missing' in errors(iscsi_boot.run_iscsi_boot_info(p)['findings'])


def test_the_doctor_tells_an_installed_package_from_no_package_and_is_quiet_once_boot_critical(hive_copy):
    # Windows 10 drives the 82574L (e1i65x64, net1ic64.inf): its package is in DRIVERS, not in SYSTEM's DriverDatabase.
    system, drivers = hive_copy('win10-1903-x64-dirty.SYSTEM'), hive_copy('win10-1903-x64.DRIVERS')
    ids = ('nic-package-not-boot-critical', 'nic-no-driver-package')

    def ours(report):
        return [f for f in report['findings'] if f['id'] in ids]
    report = iscsi_boot.run_iscsi_boot_info(params(system, 'phony-win10.SOFTWARE', E82574_10, {}, drivers_hive=drivers))
    [one] = ours(report)
    assert one['id'] == 'nic-package-not-boot-critical' and one['severity'] == 'error'
    assert 'is installed (the DRIVERS hive has it) but not boot-critical' in one['message']
    assert 'copies Windows\' own records of the package from DRIVERS' in one['fix']
    # without the DRIVERS hive the installed adapter still tells it, and the fix asks for the hive
    [one] = ours(iscsi_boot.run_iscsi_boot_info(params(system, 'phony-win10.SOFTWARE', E82574_10, {})))
    assert one['id'] == 'nic-package-not-boot-critical' and 'drivers_hive' in one['fix']
    # a NIC that nothing has a package for: the other error
    [one] = ours(iscsi_boot.run_iscsi_boot_info(params(system, 'phony-win10.SOFTWARE', VIRTIO_FULL, {},
                                                    drivers_hive=drivers)))
    assert one['id'] == 'nic-no-driver-package'
    # once the records are in place, neither
    iscsi_boot.run_iscsi_boot(params(system, 'phony-win10.SOFTWARE', E82574_10, {}, drivers_hive=drivers),
                           check_mode=False)
    after = iscsi_boot.run_iscsi_boot_info(params(system, 'phony-win10.SOFTWARE', E82574_10, {}, drivers_hive=drivers))
    assert not ours(after) and after['ready']
