# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine reads nothing outside the read set it declares (jobs/readset.py): every job runs on a full fixture hive
through a reader that records each key and value it looks at, and each look must be answered by the Reads that the
live path would make for the same parameters (readset.read_inputs, evaluated on the full hive)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import sys

import pytest

pytest.importorskip('hivex')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils.backends import hive as hivemod  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.backends import hiveset  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, readset  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs.readset import read_inputs  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.registry import fold, split_path  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    FIXTURES, critical_device_plan, make_driver_package, run_plan, unpacked_hive,
)

WIN7 = ('win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE')
WIN81 = ('win81-x64-dirty.SYSTEM', None, 'win81-x64.DRIVERS')
WIN10 = ('win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE', 'win10-1903-x64.DRIVERS')
E1000 = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}
WIN81_NIC = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'}
# Windows 10 drives the 82574L from a package in the DRIVERS hive only: its records are copied into SYSTEM
E82574_10 = 'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00'
VIRTIO = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'


def _guarding_libhivex():
    """True inside hive.check_plan: its looks guard libhivex's own writes (big-data values), moot on a live host,
    where Windows' reg import writes; on a partial hive it sees only what was read, and refuses nothing more."""
    frame = sys._getframe(2)  # pylint: disable=protected-access
    while frame is not None:
        if frame.f_code.co_name == 'check_plan':
            return True
        frame = frame.f_back
    return False


class Recording(hivemod.Hive):
    """hive.Hive that logs (operation, path, value name) of every look the engine takes."""
    log = []

    def _log(self, op, path, name=None):
        if not _guarding_libhivex():
            Recording.log.append((self.path, op, split_path(path), name))

    def key_exists(self, path):
        self._log('exists', path)
        return hivemod.Hive.key_exists(self, path)

    def get_value(self, path, name):
        self._log('value', path, name)
        return hivemod.Hive.get_value(self, path, name)

    def values(self, path):
        self._log('values', path)
        return hivemod.Hive.values(self, path)

    def subkeys(self, path):
        self._log('subkeys', path)
        return hivemod.Hive.subkeys(self, path)


@pytest.fixture
def recorded(monkeypatch):
    monkeypatch.setattr(hiveset, 'Hive', Recording)
    monkeypatch.setattr(iscsi_boot, 'Hive', Recording)
    del Recording.log[:]
    return Recording.log


def _fold(path):
    return tuple(fold(p) for p in path)


class Coverage(object):
    """Whether a look at the full hive is answered by the Reads (the rules of readset's docstring)."""

    def __init__(self, reads, hive):
        self.reads = [(_fold(r.path), r) for r in reads]
        self.hive = hive

    def _holds(self, path, names):
        return any(self.hive.get_value(path, n) is not None for n in names)

    def _printed_below(self, read):
        """A key line at or below read.path would be printed (so every ancestor is known to exist)."""
        if not self.hive.key_exists(read.path):
            return False
        if read.values is None:
            return True
        if not read.recursive:
            return self._holds(read.path, read.values)
        stack = [tuple(read.path)]
        while stack:
            here = stack.pop()
            if self._holds(here, read.values):
                return True
            stack.extend(here + (c,) for c in self.hive.subkeys(here))
        return False

    def known(self, path):
        """key_exists(path) is answered: present or absent."""
        p = _fold(path)
        exists = self.hive.key_exists(path)
        for rp, read in self.reads:
            if read.values is None:
                if rp == p or (read.recursive and p[:len(rp)] == rp) or (not read.recursive and rp == p[:-1]):
                    return True
                if p[:len(rp)] == rp and not self.hive.key_exists(read.path):
                    return True
            elif exists and p[:len(rp)] == rp and (rp == p or read.recursive) and self._printed_below(
                    read._replace(path=tuple(path))):
                return True
            if len(rp) > len(p) and rp[:len(p)] == p and self._printed_below(read):
                return True
        return False

    def value(self, path, name):
        p = _fold(path)
        if not self.hive.key_exists(path):
            return self.known(path)
        for rp, read in self.reads:
            wanted = read.values is None or fold(name) in [fold(v) for v in read.values]
            if wanted and (rp == p or (read.recursive and p[:len(rp)] == rp)):
                return True
        return False

    def listing(self, path, whole_values=False):
        p = _fold(path)
        if not self.hive.key_exists(path):
            return self.known(path)
        for rp, read in self.reads:
            if whole_values and read.values is not None:
                continue
            if rp == p and (read.values is None or read.recursive) or (read.recursive and p[:len(rp)] == rp):
                return True
        return False

    def answers(self, op, path, name):
        if op == 'exists':
            return self.known(path)
        if op == 'value':
            return self.value(path, name)
        return self.listing(path, whole_values=op == 'values')


def _copy(tmp_path, name):
    copy = str(tmp_path / name)
    shutil.copyfile(unpacked_hive(name), copy)
    os.chmod(copy, 0o644)
    return copy


def _check(log, job, params, system_path, software_path, drivers_path=None):
    system = hivemod.Hive(system_path, allow_dirty=True)
    software = hivemod.Hive(software_path, allow_dirty=True) if software_path else None
    drivers = hivemod.Hive(drivers_path, allow_dirty=True) if drivers_path else None
    cs = system.control_sets('current')[0]
    reads = read_inputs(job, params, system, software, current=cs, drivers_db=drivers)
    by_hive = {'SYSTEM': Coverage([r for r in reads if r.hive == 'SYSTEM'], system)}
    if software is not None:
        by_hive['SOFTWARE'] = Coverage([r for r in reads if r.hive == 'SOFTWARE'], software)
    if drivers is not None:
        by_hive['DRIVERS'] = Coverage([r for r in reads if r.hive == 'DRIVERS'], drivers)
    files = {system_path: 'SYSTEM', software_path: 'SOFTWARE', drivers_path: 'DRIVERS'}
    looks = set((files.get(f), op, path, name) for f, op, path, name in log)
    outside = sorted(('%s %s %s %s' % (h, op, '\\'.join(p), n) for h, op, p, n in looks
                      if h in by_hive and not by_hive[h].answers(op, p, n)))
    assert not outside, '%d looks outside the read set, e.g.:\n%s' % (len(outside), '\n'.join(outside[:15]))
    assert len(looks) > 10
    return reads


def _run_iscsi_boot(log, tmp_path, fixture, params, check_mode=True):
    """iscsi_boot as the live path runs it on Windows 8+: new packages are left to the host's pnputil
    (jobs/live.py)."""
    system = _copy(tmp_path, fixture[0])
    software = unpacked_hive(fixture[1]) if fixture[1] else None
    drivers = _copy(tmp_path, fixture[2]) if len(fixture) > 2 else None
    del log[:]
    outcome = iscsi_boot.convert(dict(params, allow_dirty=True), iscsi_boot.Hives(system, software, drivers),
                                 check_mode, backup=False, stage_with='pnputil')
    return system, software, drivers, outcome.result


@pytest.mark.parametrize('fixture, nic, control_sets', [
    (WIN7, E1000, 'all'),                                                   # service given, two control sets
    (WIN7, 'PCI\\VEN_8086&DEV_100E', 'current'),                            # the in-box service of Windows 7
    (WIN81, {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'}, 'current'),  # an installed adapter's service
    (WIN10, 'PCI\\VEN_14E4&DEV_1639', 'current'),                           # found through the DriverDatabase
], ids=['win7-given-all', 'win7-inbox', 'win81-enum', 'win10-ddb'])
def test_iscsi_boot_reads_only_what_it_declares(recorded, tmp_path, fixture, nic, control_sets):
    params = {'nics': [nic], 'state': 'present', 'control_sets': control_sets}
    system, software, drivers, result = _run_iscsi_boot(recorded, tmp_path, fixture, params)
    assert result['changed']
    _check(recorded, 'iscsi_boot', params, system, software, drivers)


def test_a_driver_package_and_then_state_absent(recorded, tmp_path):
    package = tmp_path / 'netkvm'
    package.mkdir()
    shutil.copy(os.path.join(FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'), str(package))
    (package / 'netkvm.sys').write_bytes(b'MZ' + b'\0' * 64)
    params = {'nics': [VIRTIO], 'drivers': [str(package)], 'templates': {}, 'state': 'present'}
    system, software, drivers, result = _run_iscsi_boot(recorded, tmp_path, WIN10, params, check_mode=False)
    assert result['nics'][0].get('service_created') and result['nics'][0]['driver_database']
    reads = _check(recorded, 'iscsi_boot', params, system, software, drivers)
    # the declared set reads neither the whole DriverDatabase nor whole control sets
    assert not [r for r in reads if r.recursive and r.values is None and len(r.path) < 3 and
                r.path[0] != 'sanboot.windows']
    del recorded[:]
    undo = iscsi_boot.run_iscsi_boot(dict(state='absent', hive=system, software_hive=software, drivers_hive=drivers,
                                          backup=False, allow_dirty=True), check_mode=True)
    assert undo['changed'] and undo['restored']
    _check(recorded, 'iscsi_boot', {'state': 'absent'}, system, software, drivers)


def test_copying_windows_records_after_pnputil(recorded, tmp_path):
    # Windows 8+ on a live host: pnputil has staged the package (its records are in DRIVERS now; staged here by
    # the engine into a copy of the fixture's DRIVERS hive); the engine copies them into SYSTEM\DriverDatabase
    # and reads nothing else.
    package = os.path.dirname(make_driver_package(str(tmp_path / 'pkg'), os.path.join(
        FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'), {'$ARCH$': 'amd64'}, name='netkvm.inf'))
    params = {'nics': [VIRTIO], 'drivers': [package], 'state': 'present'}
    drivers = _copy(tmp_path, WIN10[2])
    iscsi_boot.run_iscsi_boot(dict(params, hive=_copy(tmp_path, WIN10[0]), drivers_hive=drivers,
                                   software_hive=unpacked_hive(WIN10[1]), backup=False, allow_dirty=True), check_mode=False)
    system = _copy(tmp_path, WIN10[0])      # SYSTEM as it was; DRIVERS has the package
    del recorded[:]
    result = iscsi_boot.convert(dict(params, allow_dirty=True),
                                iscsi_boot.Hives(system, unpacked_hive(WIN10[1]), drivers), True,
                                backup=False, stage_with='pnputil').result
    assert result['nics'][0]['driver_database']['state'] == 'copied from DRIVERS'
    _check(recorded, 'iscsi_boot', params, system, unpacked_hive(WIN10[1]), drivers)


def test_copying_windows_own_records_reads_only_what_it_declares(recorded, tmp_path):
    # (was test_ddb.py's check of ddb.read_set, the second list of reads, now gone) Windows 10 has the 82574L's
    # package in DRIVERS only: the job finds it through the DeviceIds chain and copies its records into SYSTEM
    params = {'nics': [{'id': E82574_10}], 'state': 'present'}
    system, software, drivers, result = _run_iscsi_boot(recorded, tmp_path, WIN10, params)
    database = result['nics'][0]['driver_database']
    assert (database['state'], database['inf'], database['from']) == ('copied from DRIVERS', 'net1ic64.inf', 'DRIVERS')
    assert [r for r in recorded if r[0] == drivers and r[2][:1] == ('DriverDatabase',)]
    _check(recorded, 'iscsi_boot', params, system, software, drivers)


@pytest.mark.parametrize('fixture, nic', [(WIN7, E1000), (WIN10, VIRTIO), (WIN81, WIN81_NIC)],
                         ids=['win7', 'win10', 'win81'])
def test_the_doctor_reads_only_what_it_declares(recorded, tmp_path, fixture, nic):
    system = _copy(tmp_path, fixture[0])
    software = unpacked_hive(fixture[1]) if fixture[1] else None
    drivers = _copy(tmp_path, fixture[2]) if len(fixture) > 2 else None
    params = {'nics': [nic], 'drivers': []}
    report = iscsi_boot.run_iscsi_boot_info(dict(params, hive=system, software_hive=software, drivers_hive=drivers))
    assert report['adapters']
    _check(recorded, 'iscsi_boot_info', params, system, software, drivers)


def test_critical_device_reads_only_what_it_declares(recorded, tmp_path):
    system = _copy(tmp_path, WIN7[0])
    params = {'hardware_ids': ['PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_1AF4&DEV_1000'], 'service': 'E1G60',
              'class': 'Net', 'start': 'boot', 'state': 'present', 'control_sets': 'all'}
    result = run_plan(system, critical_device_plan(params), backup=False)
    assert result['changed']
    _check(recorded, 'critical_device', params, system, None)
    del recorded[:]
    removed = run_plan(system, critical_device_plan(dict(params, state='absent')), check_mode=True)
    assert removed['changed']
    _check(recorded, 'critical_device', dict(params, state='absent'), system, None)


def test_a_read_outside_the_set_is_caught(recorded, tmp_path):
    # the check itself can fail: drop the Services reads and the same run is refused
    params = {'nics': [E1000], 'state': 'present'}
    system, software, _d, _r = _run_iscsi_boot(recorded, tmp_path, WIN7, params)
    saved = readset.SERVICE_READS
    try:
        readset.SERVICE_READS = ()
        with pytest.raises(AssertionError, match='outside the read set'):
            _check(recorded, 'iscsi_boot', params, system, software)
    finally:
        readset.SERVICE_READS = saved
