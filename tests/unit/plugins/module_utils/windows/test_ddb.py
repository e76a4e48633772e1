# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows 8+ DriverDatabase (windows/ddb.py) against the records Windows wrote: the real SYSTEM fixtures (8.1,
10 1903), the DRIVERS test hives built from them (tests/fixtures/README.md), and the records Windows wrote for
virtio-win packages that lxc/distrobuilder carries (transcribed below, with their source). The records of a new
package are composed here (ddb.compose_package) and staged by driverstore.plan_stage (test_driverstore.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import struct

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_NONE, REG_SZ, Planner, fold,
)
from ansible_collections.sanboot.windows.plugins.module_utils.windows import ddb, driverstore

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    FIXTURES, dump_hive, make_driver_package, unpacked_hive,
)

WIN10, WIN81 = 'win10-1903-x64-dirty.SYSTEM', 'win81-x64-dirty.SYSTEM'
VIRTIO_WIN = os.path.join(FIXTURES, 'inf', 'virtio-win')
INX = {'$ARCH$': 'amd64', '_INX_SUBSYS_VENDOR_ID': '1AF4', 'INX_PLATFORM_DRIVERS_DIR': '12',
       'INX_COMPANY': 'Red Hat, Inc.', 'INX_PREFIX_VENDOR': 'Red Hat '}
SCSI = '{4D36E97B-E325-11CE-BFC1-08002BE10318}'


def folded(dump):
    return dict((tuple(fold(p) for p in k), dict((fold(n), v) for n, v in values.items()))
                for k, values in dump.items())


def sz(text):
    return (REG_SZ, (text + '\0').encode('utf-16-le'))


def dword(number):
    return (REG_DWORD, struct.pack('<I', number))


def multi(*items):
    return (REG_MULTI_SZ, b''.join((i + '\0').encode('utf-16-le') for i in items) + b'\0\0')


# ---------------------------------------------------------------------------------------------------------
# Encodings, checked on every record of the real hives

@pytest.mark.parametrize('name', [WIN10, WIN81])
def test_version_encoder_rebuilds_every_record_of_the_fixtures(name):
    hive = Hive(unpacked_hive(name), allow_dirty=True)
    rebuilt = zero_tails = 0
    labels = hive.subkeys(ddb.PACKAGES)
    for label in labels:
        blob = hive.get_value(ddb.PACKAGES + (label,), 'Version').data
        info = ddb.parse_version_blob(blob)
        date = '%s/%s/%s' % (info['date'][5:7], info['date'][8:10], info['date'][:4]) if info['date'] else None
        ours = ddb.version_blob(info['class_guid'], (date, info['version']), info['arch_code'], info['inbox'])
        assert ours[:40] == blob[:40], label
        rebuilt += 1
        zero_tails += blob[40:] == bytes(8)
    assert rebuilt == len(labels) == {WIN10: 238, WIN81: 159}[name]
    # The last 8 bytes are zero in all but a few records (their meaning is not known; the encoder writes zeros).
    assert zero_tails == {WIN10: 233, WIN81: 152}[name]


def test_oem_inf_map_and_database_version_as_windows_writes_them():
    ten, eight = (Hive(unpacked_hive(n), allow_dirty=True) for n in (WIN10, WIN81))
    assert ddb.oem_numbers(ten) == set(range(12)) and ddb.oem_map(set(range(12))) == b'\xff\xf0'
    assert ddb.oem_numbers(eight) == {0, 1, 2} and ddb.oem_map({0, 1, 2}) == b'\xe0'
    assert ddb.oem_map({0}) == b'\x80' and ddb.oem_map({0, 2}) == b'\xa0'     # distrobuilder's 80 / e0
    assert ddb.database_version(ten) == (10, 0) and ddb.database_version(eight) == (6, 3)
    assert ddb.arch_code(ten, None) == 9


def test_the_drivers_test_hives_hold_system_s_database_and_the_installed_nics_package():
    for system, drivers, nic_inf in ((WIN10, 'win10-1903-x64.DRIVERS', 'net1ic64.inf'),
                                     (WIN81, 'win81-x64.DRIVERS', 'nete1g3e.inf')):
        sys_dump, drv_dump = dump_hive(unpacked_hive(system)), dump_hive(unpacked_hive(drivers))
        ddb_keys = [k for k in sys_dump if k[:1] == ('DriverDatabase',)]
        assert all(drv_dump[k] == sys_dump[k] for k in ddb_keys if nic_inf not in str(k).lower())
        assert ('DriverDatabase', 'DriverInfFiles', nic_inf) in drv_dump
        assert ('DriverDatabase', 'DriverInfFiles', nic_inf) not in sys_dump


# ---------------------------------------------------------------------------------------------------------
# Copying Windows' records: delete a third-party package Windows installed from a copy of SYSTEM, copy it back
# from DRIVERS, and compare with what Windows wrote.

def test_copy_restores_pvscsi_exactly_as_windows_wrote_it(hive_copy):
    path = hive_copy(WIN10)
    original = dump_hive(path)
    hive = Hive(path, write=True, allow_dirty=True)
    planner = Planner(hive)
    label = 'pvscsi.inf_amd64_b0d59727d712523f'
    planner.ensure_key_absent(ddb.PACKAGES + (label,))
    planner.ensure_key_absent(ddb.INF_FILES + ('oem4.inf',))
    planner.ensure_value_absent(ddb.device_key('PCI\\VEN_15AD&DEV_07C0'), 'oem4.inf')
    planner.ensure_value_absent(ddb.class_key(SCSI), 'oem4.inf')
    hive.apply(planner.plan)
    hive.commit(backup=False)
    stripped = Hive(path, write=True, allow_dirty=True)
    assert not ddb.packages_for(stripped, ['PCI\\VEN_15AD&DEV_07C0'])
    drivers = Hive(unpacked_hive('win10-1903-x64.DRIVERS'))
    found = ddb.packages_for(drivers, ['PCI\\VEN_15AD&DEV_07C0'], 'DRIVERS')
    assert [(p.inf, p.label, p.data) for p in found] == [('oem4.inf', label, b'\x01\xff\x00\x00')]
    assert found[0].version == {'class_guid': SCSI, 'date': '2019-08-02', 'version': '1.3.15.0', 'arch_code': 9,
                                'inbox': False}
    planner = Planner(stripped)
    ddb.copy_package(drivers, planner, found[0], ['PCI\\VEN_15AD&DEV_07C0'])
    stripped.apply(planner.plan)
    stripped.commit(backup=False)
    assert dump_hive(path) == original


# ---------------------------------------------------------------------------------------------------------
# Composing a new package's records, against records Windows wrote

# Windows 10, vioscsi 100.83.104.19000 (virtio-win 0.1.190), installed with pnputil: lxc/distrobuilder
# windows/driver_vioscsi.go at bb9369b (2021-01-13), the SYSTEM DriverDatabase template distrobuilder captured; its
# placeholders (infFile, packageName, driverName) stand for oemN.inf, the package name and "vioscsi".
VIOSCSI_BY_WINDOWS = {
    ('DriverInfFiles', '{inf}'): {'': multi('{label}'), 'Active': sz('{label}'), 'Configurations': multi('scsi_inst')},
    ('DriverPackages', '{label}'): {
        '': sz('{inf}'), 'Catalog': sz('vioscsi.cat'), 'InfName': sz('vioscsi.inf'), 'Provider': sz('Red Hat, Inc.'),
        'StatusFlags': dword(0x12),
        'Version': (REG_BINARY, bytes.fromhex('00ff0900000000007be9364d25e3ce11bfc108002be10318'
                                              '00008ec386b8d601384a680053006400' '0000000000000000')),
        # Also written by Windows, depending on the machine and the real catalog: ImportDate, OemPath,
        # SignerName '', SignerScore 0x0D000004 (see test_record_shape...).
    },
    ('DriverPackages', '{label}', 'Configurations', 'scsi_inst'): {
        'ConfigFlags': dword(0), 'ConfigScope': dword(7), 'Service': sz('vioscsi')},
    ('DriverPackages', '{label}', 'Configurations', 'scsi_inst', 'Device', 'Interrupt Management',
     'Affinity Policy'): {'DevicePolicy': dword(5), 'DevicePriority': dword(3)},
    ('DriverPackages', '{label}', 'Configurations', 'scsi_inst', 'Device', 'Interrupt Management',
     'MessageSignaledInterruptProperties'): {'MSISupported': dword(1), 'MessageNumberLimit': dword(256)},
    ('DriverPackages', '{label}', 'Configurations', 'scsi_inst', 'Services', 'vioscsi', 'Parameters'): {
        'BusType': dword(10)},
    ('DriverPackages', '{label}', 'Configurations', 'scsi_inst', 'Services', 'vioscsi', 'Parameters',
     'PnpInterface'): {'5': dword(1)},
    ('DriverPackages', '{label}', 'Strings'): {
        'vendor': sz('Red Hat, Inc.'), 'virtioscsi.devicedesc': sz('Red Hat VirtIO SCSI pass-through controller')},
    ('DeviceIds', '{4d36e97b-e325-11ce-bfc1-08002be10318}'): {'{inf}': (REG_NONE, b'')},
}
for _id, _rank in (('VEN_1AF4&DEV_1004', 2), ('VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00', 1),
                   ('VEN_1AF4&DEV_1048', 2), ('VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01', 1)):
    VIOSCSI_BY_WINDOWS[('DriverPackages', '{label}', 'Descriptors', 'PCI', _id)] = {
        'Configuration': sz('scsi_inst'), 'Description': sz('%virtioscsi.devicedesc%'), 'Manufacturer': sz('%vendor%')}
    VIOSCSI_BY_WINDOWS[('DeviceIds', 'PCI', _id)] = {'{inf}': (REG_BINARY, bytes([_rank, 0xff, 0, 0]))}

# The one value whose data differs because the fixture INF (virtio-win @ fbcc19d7, 2024) is newer than the package
# Windows installed (2020): its MessageNumberLimit is 258 (256 until July 2023). Nothing else is excepted here.
INF_VERSION_DELTA = {'MESSAGENUMBERLIMIT': dword(258)}


def _stage_on_windows10(driver, system, drivers):
    """Stage ``driver`` into the Windows 10 SYSTEM and DRIVERS hive files, as the module does; its Staging."""
    hives = [Hive(system, write=True, allow_dirty=True), Hive(drivers, write=True)]
    planners = [Planner(h) for h in hives]
    os_info = type('OsInfo', (), {'version': (10, 0), 'build': 18362, 'arch': 'amd64'})()
    staging = driverstore.plan_stage(driver, planners[0], planners[1], os_info)
    for hive, planner in zip(hives, planners):
        hive.apply(planner.plan)
        hive.commit(backup=False)
    return staging


def assert_windows_records(ours, by_windows, staging, deltas=None):
    """Every key and value of ``by_windows`` (a capture with {inf} and {label} placeholders) is in the folded hive
    dump ``ours`` with the same type and data; ``deltas``: values whose data is known to differ, by folded name."""
    for key, values in by_windows.items():
        full = tuple(fold(p.replace('{inf}', staging.oem_inf).replace('{label}', staging.label))
                     for p in ('DriverDatabase',) + key)
        assert full in ours, 'missing key %s' % '\\'.join(full)
        for name, (kind, data) in values.items():
            name = fold(name.replace('{inf}', staging.oem_inf))
            data = data.replace('{label}'.encode('utf-16-le'), staging.label.encode('utf-16-le')) \
                .replace('{inf}'.encode('utf-16-le'), staging.oem_inf.encode('utf-16-le'))
            expected = (deltas or {}).get(name, (kind, data))
            assert ours[full].get(name) == expected, '%s\\%s' % ('\\'.join(full), name)


def _stamped(dest, source, driver_ver, name='vioscsi.inf'):
    """A built INF from a virtio-win source template: INX substitutions and stampinf's DriverVer line."""
    path = make_driver_package(dest, source, dict(INX, **{'$ARCH$': 'amd64'}))
    with open(path) as f:
        text = f.read()
    lines = [('DriverVer=' + driver_ver if line.strip().lower().startswith('driverver') else line)
             for line in text.split('\n')]
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    os.rename(path, os.path.join(dest, name))
    return os.path.join(dest, name)


def test_staged_records_equal_windows_records_of_vioscsi(hive_copy, tmp_path):
    system, drivers = hive_copy(WIN10), hive_copy('win10-1903-x64.DRIVERS')
    inf_path = _stamped(str(tmp_path / 'pkg'), os.path.join(VIRTIO_WIN, 'vioscsi.inx'), '11/12/2020,100.83.104.19000')
    target = inf.parse_target('win10', 'amd64')
    driver = inf.read_inf(inf_path, target)
    staging = _stage_on_windows10(driver, system, drivers)
    assert staging.oem_inf == 'oem12.inf'       # OemInfMap fff0: oem0..oem11 taken
    for path in (system, drivers):
        assert_windows_records(folded(dump_hive(path)), VIOSCSI_BY_WINDOWS, staging, INF_VERSION_DELTA)


# Windows 10, netkvm 100.83.104.19000 (virtio-win 0.1.190), installed with pnputil: lxc/distrobuilder
# windows/driver_netkvm.go at be59b4f, the DRIVERS-hive records distrobuilder captured. Its placeholders infFile,
# packageName and classGuid stand for oemN.inf, the package name and the Net class.
NETKVM_BY_WINDOWS = {
    ('DeviceIds', '{4d36e972-e325-11ce-bfc1-08002be10318}'): {'{inf}': (REG_NONE, b'')},
    ('DriverInfFiles', '{inf}'): {'': multi('{label}'), 'Active': sz('{label}')},
    ('DriverPackages', '{label}'): {
        '': sz('{inf}'), 'Catalog': sz('netkvm.cat'), 'InfName': sz('netkvm.inf'), 'Provider': sz('Red Hat, Inc.'),
        'StatusFlags': dword(0x12),
        'Version': (REG_BINARY, bytes.fromhex('00ff09000000000072e9364d25e3ce11bfc108002be10318'
                                              '00008ec386b8d601384a680053006400' '0000000000000000')),
        # Also written by Windows, depending on the machine and the real catalog: ImportDate (the time of the
        # import), OemPath (the folder it was imported from, E:\NetKVM\w10\amd64 there), SignerName '' and
        # SignerScore 0x0D000004 (Microsoft's attestation signature; what our test catalog gives differs).
    },
}
for _id, _rank in (('VEN_1AF4&DEV_1000', 2), ('VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00', 1),
                   ('VEN_1AF4&DEV_1041', 2), ('VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01', 1)):
    NETKVM_BY_WINDOWS[('DeviceIds', 'PCI', _id)] = {'{inf}': (REG_BINARY, bytes([_rank, 0xff, 0, 0]))}


def test_staged_records_equal_windows_records_of_netkvm(hive_copy, tmp_path):
    # The second package Windows wrote records for (beside vioscsi): the boot NIC's own driver, in the DRIVERS hive.
    system, drivers = hive_copy(WIN10), hive_copy('win10-1903-x64.DRIVERS')
    # the INF of that very package: virtio-win's netkvm.inx as 0.1.190 was built from it (tests/fixtures/README.md)
    inf_path = _stamped(str(tmp_path / 'pkg'), os.path.join(VIRTIO_WIN, 'netkvm-0.1.190.inx'),
                        '11/12/2020,100.83.104.19000', 'netkvm.inf')
    driver = inf.read_inf(inf_path, inf.parse_target('win10', 'amd64'))
    staging = _stage_on_windows10(driver, system, drivers)
    ours = folded(dump_hive(drivers))
    assert_windows_records(ours, NETKVM_BY_WINDOWS, staging)
    # the package serves exactly the IDs Windows recorded for it, no more
    device_ids = [k for k in ours if len(k) == 4 and k[:3] == tuple(fold(p) for p in ddb.DDB + ('DeviceIds', 'PCI'))
                  and fold(staging.oem_inf) in ours[k]]
    assert sorted(k[3] for k in device_ids) == sorted(fold(k[2]) for k in NETKVM_BY_WINDOWS if k[1] == 'PCI')


def test_record_shape_equals_windows_third_party_records_in_the_fixtures(hive_copy, tmp_path):
    """Every value name and type Windows wrote on the third-party packages of the fixtures (pvscsi on Windows 10,
    VBoxGuest on 8.1) and on an installed one's configuration (vmci) is on a staged package; and nothing Windows 8.1
    does not write (ImportDate, Properties) is written there."""
    inf_path = make_driver_package(str(tmp_path / 'pkg'), os.path.join(VIRTIO_WIN, 'netkvm_w10_template.inf'),
                                   {'$ARCH$': 'amd64'}, submission_id='30099670_13733908127521728_1152921504628140550',
                                   name='netkvm.inf')
    target = inf.parse_target('win10', 'amd64')
    for system_name, model, config in ((WIN10, 'pvscsi.inf_amd64_b0d59727d712523f',
                                        ('vmci.inf_amd64_5e38a278d114b813', 'vmci.install.x64.NT')),
                                       (WIN81, 'vboxguest.inf_amd64_7c8d1446c2599c22', None)):
        windows = Hive(unpacked_hive(system_name), allow_dirty=True)
        path = hive_copy(system_name)
        hive = Hive(path, write=True, allow_dirty=True)
        planner = Planner(hive)
        os_info = type('OsInfo', (), {'version': None, 'build': None, 'arch': 'amd64'})()
        staging = driverstore.plan_stage(inf.read_inf(inf_path, target), planner, None, os_info)
        hive.apply(planner.plan)
        hive.commit(backup=False)
        ours = Hive(path, allow_dirty=True)
        theirs = dict((v.name, v.type) for v in windows.values(ddb.PACKAGES + (model,)))
        mine = dict((v.name, v.type) for v in ours.values(ddb.PACKAGES + (staging.label,)))
        missing = dict((n, t) for n, t in theirs.items() if mine.get(n) != t)
        if system_name == WIN81:
            # VBoxGuest's INF names no catalog, so Windows wrote no Catalog; the netkvm INF does.
            assert 'Catalog' not in theirs and 'ImportDate' not in mine
            assert not ours.key_exists(ddb.PACKAGES + (staging.label, 'Properties'))
        assert not missing, missing
        if config:
            # Windows' package property: the catalog's Submission ID, as a DEVPROP string.
            prop = ddb.PACKAGES + (model,) + ddb.SUBMISSION_ID_PROPERTY
            mine_prop = ddb.PACKAGES + (staging.label,) + ddb.SUBMISSION_ID_PROPERTY
            assert windows.get_value(prop, '').type == ours.get_value(mine_prop, '').type == ddb.PROPERTY_STRING
            assert ours.get_value(mine_prop, '').data == windows.get_value(prop, '').data
            label, section = config
            conf = list(windows.values(ddb.PACKAGES + (label, 'Configurations', section)))
            mine_conf = dict((v.name, v.type) for v in ours.values(
                ddb.PACKAGES + (staging.label, 'Configurations', 'kvmnet6.ndi')))
            assert all(mine_conf.get(v.name) == v.type for v in conf), conf
            desc = windows.subkeys(ddb.PACKAGES + (label, 'Descriptors', 'PCI'))[0]
            theirs_desc = dict((v.name, v.type) for v in windows.values(
                ddb.PACKAGES + (label, 'Descriptors', 'PCI', desc)))
            mine_desc = dict((v.name, v.type) for v in ours.values(
                ddb.PACKAGES + (staging.label, 'Descriptors', 'PCI', 'VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00')))
            assert theirs_desc == mine_desc == {'Configuration': REG_SZ, 'Description': REG_SZ,
                                                'Manufacturer': REG_SZ}


@pytest.mark.parametrize('guid', ['[{4d36e972-e325-11ce-bfc1-08002be10318}', '{4D36E972-E325}', ''])
def test_a_class_guid_that_is_not_one_is_refused_clearly(guid):
    # Found by the behaviour snapshot's fuzzed INFs: a damaged ClassGUID line crashed staging with a ValueError.
    with pytest.raises(ddb.DriverDatabaseError, match='is not a class GUID'):
        ddb.guid_bytes(guid)
    assert ddb.guid_bytes('{4D36E972-E325-11CE-BFC1-08002BE10318}')[:4] == b'\x72\xe9\x36\x4d'


# ---------------------------------------------------------------------------------------------------------
# The configuration name's spelling: the Models line's, plus the decoration the header carries (issue 25)

OWN_INF = os.path.join(FIXTURES, 'inf', 'own')


def _configuration_names(records):
    """(Configurations key names, DriverInfFiles Configurations, {descriptor: Configuration}) of composed records."""
    keys = sorted(set(path[len(ddb.PACKAGES) + 2] for path, _v in records
                      if path[:len(ddb.PACKAGES)] == ddb.PACKAGES and len(path) > len(ddb.PACKAGES) + 2
                      and path[len(ddb.PACKAGES) + 1] == 'Configurations'))
    listed = [v.decoded() for path, v in records if path[:len(ddb.INF_FILES)] == ddb.INF_FILES and v is not None
              and v.name == 'Configurations'][0]
    descriptors = dict((path[-1], v.decoded()) for path, v in records if v is not None and v.name == 'Configuration')
    return keys, listed, descriptors


@pytest.mark.parametrize('name', [WIN10, WIN81])
def test_configuration_names_are_spelled_as_windows_spelled_vsmraid(name):
    # Windows' records of vsmraid.inf: Models lines name "vsmraid", the header is [VSMRAID] (the INF in
    # tests/fixtures/inf/own reproduces that case); Windows recorded "vsmraid" in all three places.
    hive = Hive(unpacked_hive(name), allow_dirty=True)
    label = [p for p in hive.subkeys(ddb.PACKAGES) if p.lower().startswith('vsmraid.inf_')][0]
    package = ddb.PACKAGES + (label,)
    by_windows = (hive.subkeys(package + ('Configurations',)),
                  hive.get_value(ddb.INF_FILES + ('vsmraid.inf',), 'Configurations').decoded(),
                  dict((d, hive.get_value(package + ('Descriptors', 'PCI', d), 'Configuration').decoded())
                       for d in hive.subkeys(package + ('Descriptors', 'PCI'))))
    assert by_windows[0] == ['vsmraid'] and len(by_windows[2]) == 6
    driver = inf.read_inf(os.path.join(OWN_INF, 'vsmraid-case.inf'), inf.parse_target('win10', 'amd64'))
    assert driver.installs['vsmraid'].actual == 'VSMRAID'       # the header's spelling, which Windows does not record
    records = ddb.compose_package(driver, 'oem12.inf', 'vsmraid.inf_amd64_0000000000000000', 9, {},
                                  with_config_scope=name == WIN10)     # 8.1 records have no ConfigScope
    assert _configuration_names(records) == by_windows
    ours = dict(((path, v.name), v) for path, v in records if v is not None)
    conf = package[:2] + ('vsmraid.inf_amd64_0000000000000000', 'Configurations', 'vsmraid')
    for sub, value_name in (((), 'Service'), ((), 'ConfigScope'), ((), 'ConfigFlags'),
                            (('Services', 'vsmraid', 'Parameters'), 'BusType'),
                            (('Services', 'vsmraid', 'Parameters', 'Device'), 'CreateInitiatorLU'),
                            (('Services', 'vsmraid', 'Parameters', 'PnpInterface'), '5')):
        windows = hive.get_value(package + ('Configurations', 'vsmraid') + sub, value_name)
        mine = ours.get((conf + sub, value_name))
        assert (mine.type, mine.data) == (windows.type, windows.data) if windows else mine is None, (sub, value_name)


DECORATED = '''[Version]
Signature="$Windows NT$"
Class=SCSIAdapter
ClassGUID={4D36E97B-E325-11CE-BFC1-08002BE10318}
Provider=%%P%%
DriverVer=01/02/2020,1.2.3.4
[Manufacturer]
%%P%%=M,NTamd64
[M.NTamd64]
%%D%%=%(models)s,PCI\\VEN_1AF4&DEV_1002
[%(header)s]
[%(header)s.Services]
AddService=balloon,2,Svc
[Svc]
ServiceType=1
StartType=3
ErrorControl=1
ServiceBinary=%%12%%\\balloon.sys
[Strings]
P="P"
D="D"
'''


@pytest.mark.parametrize('models,header,recorded', [
    # lxc/distrobuilder windows/driver_balloon.go: virtio-win's balloon (Models BALLOON_Device, header
    # [BALLOON_Device.NT]) recorded as BALLOON_Device.NT; 339 of the fixtures' 1140 configuration names end in
    # .NT or .NTamd64 (docs/driver-packages.md).
    ('BALLOON_Device', 'BALLOON_Device.NT', 'BALLOON_Device.NT'),
    ('BALLOON_Device', 'BALLOON_Device.NTamd64', 'BALLOON_Device.NTamd64'),
    ('vsmraid', 'VSMRAID', 'vsmraid'),
    ('Inst', 'Inst', 'Inst'),
])
def test_the_recorded_name_keeps_the_models_spelling_and_the_headers_decoration(tmp_path, models, header, recorded):
    path = tmp_path / 't.inf'
    path.write_text(DECORATED % {'models': models, 'header': header})
    driver = inf.read_inf(str(path), inf.parse_target('win10', 'amd64'))
    keys, listed, descriptors = _configuration_names(ddb.compose_package(driver, 'oem1.inf', 'l', 9, {}))
    assert keys == listed == [recorded] and set(descriptors.values()) == {recorded}
