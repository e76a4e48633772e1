# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One read-plan-write cycle on the hive files of one installation (backends/hiveset.py): check mode, backups (one
per series of writes), a second run with nothing to do, every plan checked before any hive is written, the locks
held for the whole cycle, the other hives written before the first."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends import hiveset, lock
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive, HiveError
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    cddb_plan, dump_hive, regedit_plan, run_plan, sha256 as sha, unpacked_hive,
)

TCPIP = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters'


def regedit(name='DisableDhcpMediaSense', data=1):
    return regedit_plan(TCPIP, name=name, data=data, type_name='dword')


def backups(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith('~'))


# ---------------------------------------------------------------------------------------------------------
# check mode and a second run

def test_check_mode_changes_nothing(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    before = sha(path)
    result = run_plan(path, cddb_plan(), check_mode=True)
    assert result['changed'] and result['backup_file'] is None
    assert '[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_100e]' in \
        result['diff']['after']
    assert sha(path) == before
    assert os.listdir(os.path.dirname(path)) == ['win7-sp1-x86.SYSTEM']


def test_second_run_is_a_no_op(hive_copy, reg_cross_check):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    result = run_plan(path, cddb_plan(control_sets='all'))
    assert result['changed']
    reg_cross_check(unpacked_hive('win7-sp1-x86.SYSTEM'), path, result['reg'])
    snapshot = dump_hive(path)
    again = run_plan(path, cddb_plan(control_sets='all'))
    assert not again['changed'] and again['changes'] == [] and again['reg'] == ''
    assert again['diff'] == dict(before='', after='', before_header=again['diff']['before_header'],
                                 after_header=again['diff']['after_header'])
    assert dump_hive(path) == snapshot


# ---------------------------------------------------------------------------------------------------------
# backups

def test_backup_is_the_old_file_and_optional(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    os.chmod(path, 0o600)
    before = sha(path)
    result = run_plan(path, cddb_plan())
    assert sha(result['backup_file']) == before
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sha(path) != before
    result = run_plan(path, cddb_plan(ids=['PCI\\VEN_1AF4&DEV_1000']), backup=False)
    assert result['changed'] and result['backup_file'] is None
    assert len([f for f in os.listdir(os.path.dirname(path)) if f.endswith('~')]) == 1


def test_one_backup_per_series_of_writes(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    folder = os.path.dirname(path)
    original = sha(path)
    made = set()
    for number in range(7):
        result = run_plan(path, regedit('Sanboot%d' % number), backup=number != 3)
        assert result['changed']
        made.add(result['backup_file'])
    assert made == {None, os.path.join(folder, backups(folder)[0])} and len(backups(folder)) == 1
    assert sha(os.path.join(folder, backups(folder)[0])) == original

    # Another program changes the hive: the next write keeps a backup of that state.
    other = Hive(path, write=True)
    other.h.node_set_value(other.node(('Select',)), {'key': 'SanbootOther', 't': 4, 'value': b'\x01\x00\x00\x00'})
    other.h.commit(None)
    changed_elsewhere = sha(path)
    result = run_plan(path, regedit('SanbootAfter'))
    assert len(backups(folder)) == 2 and sha(result['backup_file']) == changed_elsewhere

    # A write long after the previous one starts a new series.
    record = lock.lock_path(path)
    with open(record) as f:
        data = json.load(f)
    data['backups'][hiveset.HIVE_FILE]['at'] -= lock.BACKUP_REUSE_SECONDS + 1
    with open(record, 'w') as f:
        json.dump(data, f)
    later = sha(path)
    result = run_plan(path, regedit('SanbootLater'))
    assert len(backups(folder)) == 3 and sha(result['backup_file']) == later


# ---------------------------------------------------------------------------------------------------------
# several hives: SYSTEM first, then the others (DRIVERS)

def big_value(planner):
    # over 16344 bytes: libhivex would write it as a single cell, so the check refuses it (see test_hive.py)
    planner.ensure_value(('SanbootBig',), Value.binary('Blob', b'\x01' * 16345))


def test_every_plan_is_checked_before_any_hive_is_written(hive_copy):
    system, drivers = hive_copy('win10-1903-x64-dirty.SYSTEM'), hive_copy('win10-1903-x64.DRIVERS')
    before = sha(system), sha(drivers)
    with HiveSet([('SYSTEM', system), ('DRIVERS', drivers)], allow_dirty=True) as hives:
        hives.planners['SYSTEM'].ensure_value(('Select',), Value.dword('SanbootProbe', 1))
        big_value(hives.planners['DRIVERS'])
        with pytest.raises(HiveError, match='big-data records'):
            hives.write(backup=False)
    assert (sha(system), sha(drivers)) == before


def test_the_other_hives_are_written_before_the_first_each_with_its_backup(hive_copy):
    system, drivers = hive_copy('win10-1903-x64-dirty.SYSTEM'), hive_copy('win10-1903-x64.DRIVERS')
    before = sha(system), sha(drivers)
    with HiveSet([('SYSTEM', system), ('DRIVERS', drivers)], allow_dirty=True) as hives:
        assert hives.first == 'SYSTEM'
        hives.planners['SYSTEM'].ensure_value(('Select',), Value.dword('SanbootProbe', 1))
        hives.planners['DRIVERS'].ensure_value(('SanbootNew',), Value.sz('Note', 'drivers'))
        writes = hives.write(backup=True)
    assert [(w.name, w.path) for w in writes] == [('SYSTEM', system), ('DRIVERS', drivers)]
    assert [len(w.plan.as_list()) for w in writes] == [1, 2]      # a value; a key and its value
    assert (sha(writes[0].backup_file), sha(writes[1].backup_file)) == before
    # a crash in between leaves DRIVERS written without SYSTEM, which a second run completes; never the reverse
    assert os.stat(drivers).st_mtime_ns <= os.stat(system).st_mtime_ns
    assert Hive(system).dword(('Select',), 'SanbootProbe') == 1
    assert Hive(drivers).get_value(('SanbootNew',), 'Note') == Value.sz('Note', 'drivers')


def test_the_locks_are_held_for_the_whole_cycle_and_check_mode_takes_none(hive_copy):
    system, drivers = hive_copy('win7-sp1-x86.SYSTEM'), hive_copy('win10-1903-x64.DRIVERS')
    with HiveSet([('SYSTEM', system), ('DRIVERS', drivers)]) as hives:
        for path in (system, drivers):
            with pytest.raises(lock.LockError, match=re.escape('another run holds the lock on %s' % path)):
                lock.acquire(path, timeout=0)
        hives.write()
    for path in (system, drivers):
        lock.acquire(path, timeout=0).release()     # released at the end of the cycle
    with HiveSet([('SYSTEM', system)], check_mode=True) as hives:
        assert hives.held == {}
        lock.acquire(system, timeout=0).release()   # a reader does not wait for a writer
    # and a failure while opening releases what was taken
    with pytest.raises(HiveError):
        with HiveSet([('DRIVERS', drivers), ('SYSTEM', str(hive_copy('corrupted.SYSTEM')))]):
            pass
    lock.acquire(drivers, timeout=0).release()
