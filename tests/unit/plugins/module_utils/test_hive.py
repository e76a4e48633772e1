# -*- coding: utf-8 -*-
# The hivex back-end on real hives: refusal of bad input, control sets, case, value preservation, atomic writes.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive, HiveError
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import COLLECTIONS, dump_hive, unpacked_hive  # noqa: E402

E1000 = ['PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03']
NET = cddb.class_guid(class_name='Net')


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def cddb_plan(ids=None, **kw):
    ids = ids or E1000

    def plan(hive, planner):
        return cddb.plan_critical_device(hive, planner, ids, service='E1G60', guid=NET, **kw)
    return plan


# --- bad input: one clear message, file byte-identical ---------------------------------------------------

def _truncated(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM', 'truncated')
    with open(path, 'r+b') as f:
        f.truncate(200 * 1024)
    return path


def _garbage(hive_copy, tmp_path):
    path = str(tmp_path / 'garbage')
    with open(path, 'wb') as f:
        f.write(os.urandom(64 * 1024))
    return path


def _bad_checksum(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM', 'badsum')
    with open(path, 'r+b') as f:
        f.seek(0x1FC)
        f.write(b'\x00\x00\x00\x00')
    return path


@pytest.mark.parametrize('make, message', [
    (lambda hc, tp: hc('corrupted.SYSTEM'), 'not a readable registry hive'),
    (lambda hc, tp: hc('win81-x64-dirty.SYSTEM'), r'not cleanly written: its header sequence numbers differ \(205 != 204\)'),
    (lambda hc, tp: hc('win10-1903-x64-dirty.SYSTEM'), 'allow_dirty: true'),
    (lambda hc, tp: hc('minimal.hive'), 'is not a SYSTEM hive: it has no Select key'),
    (lambda hc, tp: hc('phony-win10.SOFTWARE'), 'is not a SYSTEM hive'),
    (lambda hc, tp: _truncated(hc), 'truncated or corrupt|damaged'),
    (_garbage, 'no "regf" signature'),
    (lambda hc, tp: _bad_checksum(hc), 'checksum is wrong'),
])
def test_bad_hives_fail_clearly_and_stay_identical(hive_copy, tmp_path, make, message):
    path = make(hive_copy, tmp_path)
    before = sha(path)
    with pytest.raises(HiveError, match=message):
        offline.run(path, cddb_plan())
    assert sha(path) == before
    assert sorted(os.listdir(os.path.dirname(path))) == sorted(os.listdir(os.path.dirname(path)))
    assert not [f for f in os.listdir(os.path.dirname(path)) if f.endswith(('~', '.sanboot-tmp'))]


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(HiveError, match='does not exist'):
        offline.run(str(tmp_path / 'nope'), cddb_plan())
    with pytest.raises(HiveError, match='is a directory'):
        offline.run(str(tmp_path), cddb_plan())


def test_dirty_hive_with_allow_dirty_is_written_clean(hive_copy, reg_cross_check):
    path = hive_copy('win81-x64-dirty.SYSTEM')
    original = unpacked_hive('win81-x64-dirty.SYSTEM')
    result = offline.run(path, offline.plan_regedit('HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters',
                                                    name='DisableDhcpMediaSense', data=1, type_name='dword'),
                         allow_dirty=True)
    assert result['changed'] and result['dirty']
    hive = Hive(path)
    assert not hive.header.dirty
    assert hive.dword(('ControlSet001', 'Services', 'Tcpip', 'Parameters'), 'DisableDhcpMediaSense') == 1
    reg_cross_check(original, path, result['reg'])


# --- control sets and paths -------------------------------------------------------------------------------

def test_control_sets_follow_select(hive_copy):
    hive = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    assert hive.select() == {'Current': 1, 'Default': 1, 'LastKnownGood': 2}
    assert hive.control_sets('current') == ['ControlSet001']
    assert hive.control_sets('all') == ['ControlSet001', 'ControlSet002']
    assert hive.resolve('CurrentControlSet\\Services') == ('ControlSet001', 'Services')
    assert Hive(unpacked_hive('phony-windows.SYSTEM')).control_sets('all') == ['ControlSet001']


def test_current_zero_falls_back_to_default(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    offline.run(path, offline.plan_regedit('Select', name='Current', data=0, type_name='dword'), backup=False)
    offline.run(path, offline.plan_regedit('Select', name='Default', data=2, type_name='dword'), backup=False)
    hive = Hive(path)
    assert hive.control_sets('current') == ['ControlSet002']
    result = offline.run(path, offline.plan_regedit('HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip', name='Start',
                                                    data=0, type_name='dword'))
    assert result['key'] == 'ControlSet002\\services\\Tcpip'  # stored spelling


def test_select_pointing_nowhere_is_an_error(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    offline.run(path, offline.plan_regedit('Select', name='Current', data=7, type_name='dword'), backup=False)
    before = sha(path)
    with pytest.raises(HiveError, match='names ControlSet007 as the current control set'):
        offline.run(path, cddb_plan())
    assert sha(path) == before


def test_paths_are_case_insensitive_and_keep_stored_spelling():
    hive = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    assert hive.key_exists(('controlset001', 'CONTROL', 'criticaldevicedatabase', 'PCI#VEN_8086&DEV_7111'))
    assert hive.real_path(('controlset001', 'control', 'criticaldevicedatabase', 'pci#ven_8086&dev_7111')) == \
        ('ControlSet001', 'Control', 'CriticalDeviceDatabase', 'PCI#VEN_8086&DEV_7111')
    assert hive.get_value(('ControlSet001', 'services', 'ATAPI'), 'imagepath').decoded() == \
        'system32\\drivers\\atapi.sys'


def test_special_names_round_trip(hive_copy, reg_cross_check):
    path = hive_copy('special-names.hive')
    original = unpacked_hive('special-names.hive')
    hive = Hive(path)
    assert sorted(hive.subkeys(())) == sorted(['abcd_äöüß', 'weird™', 'zero\x00key'])
    result = offline.run(path, offline.plan_regedit('ABCD_ÄÖÜß', name='neu_ü', data='wert™', type_name='string'))
    assert result['changed'] and result['key'] == 'abcd_äöüß'
    reg_cross_check(original, path, result['reg'], prefix='HKEY_LOCAL_MACHINE\\OFFLINE')
    assert not offline.run(path, offline.plan_regedit('abcd_äöüß', name='NEU_Ü', data='wert™'))['changed']


# --- values -----------------------------------------------------------------------------------------------

def test_setting_one_value_keeps_the_others(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    key = ('ControlSet001', 'Services', 'atapi')
    before = dict((v.name, v) for v in Hive(path).values(key))
    offline.run(path, offline.plan_regedit('ControlSet001\\Services\\atapi', name='Start', data=3, type_name='dword'))
    after = dict((v.name, v) for v in Hive(path).values(key))
    assert after.pop('Start') == Value.dword('Start', 3)
    before.pop('Start')
    assert after == before and 'Tag' in after and 'ImagePath' in after


def test_unknown_types_are_read_and_preserved(hive_copy):
    path = hive_copy('win10-1903-x64-dirty.SYSTEM')
    hive = Hive(path, allow_dirty=True)
    # Find a key holding a value of type 0x40007 (REG_MULTI_SZ with high flag bits).
    found = None
    stack = [()]
    while stack and found is None:
        key = stack.pop()
        for v in hive.values(key):
            if v.type == 0x40007:
                found = (key, v)
                break
        stack.extend(key + (c,) for c in hive.subkeys(key))
    assert found, 'fixture should hold a 0x40007 value'
    key, odd = found
    others = [v for v in hive.values(key) if v.name != odd.name]
    offline.run(path, offline.plan_regedit('\\'.join(key), name='SanbootProbe', data=1, type_name='dword'),
                allow_dirty=True, backup=False)
    assert Hive(path).get_value(key, odd.name) == odd
    # Deleting a value rewrites the key's value list: the odd value must survive that too.
    offline.run(path, offline.plan_regedit('\\'.join(key), name='SanbootProbe', state='absent'), backup=False)
    reread = Hive(path)
    assert reread.get_value(key, odd.name) == odd
    assert sorted((v.name, v.type, v.data) for v in reread.values(key) if v.name != odd.name) == \
        sorted((v.name, v.type, v.data) for v in others)


# --- writing: check mode, backup, atomicity ---------------------------------------------------------------

def test_check_mode_changes_nothing(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    before = sha(path)
    result = offline.run(path, cddb_plan(), check_mode=True)
    assert result['changed'] and result['backup_file'] is None
    assert '[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_100e]' in \
        result['diff']['after']
    assert sha(path) == before
    assert os.listdir(os.path.dirname(path)) == ['win7-sp1-x86.SYSTEM']


def test_backup_is_the_old_file_and_optional(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    os.chmod(path, 0o600)
    before = sha(path)
    result = offline.run(path, cddb_plan())
    assert sha(result['backup_file']) == before
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sha(path) != before
    result = offline.run(path, cddb_plan(ids=['PCI\\VEN_1AF4&DEV_1000']), backup=False)
    assert result['changed'] and result['backup_file'] is None
    assert len([f for f in os.listdir(os.path.dirname(path)) if f.endswith('~')]) == 1


CRASH_SCRIPT = r'''
import sys
sys.path.insert(0, %(collections)r)
from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
ids = ['PCI\\VEN_%%04X&DEV_BEEF' %% i for i in range(400)]
def plan(hive, planner):
    return cddb.plan_critical_device(hive, planner, ids, service='E1G60', guid=cddb.class_guid(class_name='Net'))
offline.run(sys.argv[1], plan, backup=False)
'''


def test_killed_at_any_moment_leaves_old_or_new_hive(hive_copy, tmp_path):
    """SIGKILL the writer at random moments: the hive is byte-identical to the old one, or a finished new one.

    A finished hive carries the time it was written, so "finished" is checked on content (every key and value).
    """
    script = tmp_path / 'writer.py'
    script.write_text(CRASH_SCRIPT % {'collections': COLLECTIONS})
    path = hive_copy('win7-sp1-x86.SYSTEM')
    old = sha(path)
    t0 = time.time()
    subprocess.run([sys.executable, str(script), path], check=True)
    full = time.time() - t0
    new = dump_hive(path)
    assert sha(path) != old
    rng = random.Random(7)
    killed = 0
    for dummy in range(12):
        path = hive_copy('win7-sp1-x86.SYSTEM')
        proc = subprocess.Popen([sys.executable, str(script), path])
        time.sleep(rng.uniform(0.05, full * 1.1))
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait() == -signal.SIGKILL
        assert sha(path) == old or dump_hive(path) == new
        for leftover in os.listdir(os.path.dirname(path)):
            if leftover.endswith('.sanboot-tmp'):
                os.unlink(os.path.join(os.path.dirname(path), leftover))
    assert killed > 0, 'no run was interrupted'


def test_second_run_is_a_no_op(hive_copy, reg_cross_check):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    result = offline.run(path, cddb_plan(control_sets='all'))
    assert result['changed']
    reg_cross_check(unpacked_hive('win7-sp1-x86.SYSTEM'), path, result['reg'])
    snapshot = dump_hive(path)
    again = offline.run(path, cddb_plan(control_sets='all'))
    assert not again['changed'] and again['changes'] == [] and again['reg'] == ''
    assert again['diff'] == dict(before='', after='', before_header=again['diff']['before_header'],
                                 after_header=again['diff']['after_header'])
    assert dump_hive(path) == snapshot


REGEDIT_PLANS = [
    ('CurrentControlSet\\Services\\Tcpip\\Parameters', 'DisableDhcpMediaSense', 1, 'dword', 'present'),
    ('ControlSet001\\Services\\SanbootNew', 'Q', 2 ** 40, 'qword', 'present'),
    ('ControlSet001\\Services\\SanbootNew\\Sub', 'M', ['a', 'b c', 'ü'], 'multistring', 'present'),
    ('ControlSet001\\Services\\atapi', 'ImagePath', '%SystemRoot%\\x.sys', 'expandstring', 'present'),
    ('ControlSet001\\Services\\atapi', 'Blob', 'hex:00,ff,10', 'binary', 'present'),
    ('ControlSet001\\Services\\atapi', 'Marker', None, 'none', 'present'),
    ('ControlSet001\\Services\\atapi', None, 'default text', 'string', 'present'),
    ('ControlSet001\\Services\\atapi', 'Tag', None, 'string', 'absent'),
    ('ControlSet001\\Services\\atapi', None, None, 'string', 'absent'),
    ('ControlSet001\\Control\\CriticalDeviceDatabase', None, None, 'string', 'absent'),
]


@pytest.mark.parametrize('path, name, data, type_name, state', REGEDIT_PLANS)
def test_every_regedit_plan_agrees_with_hivexregedit(hive_copy, reg_cross_check, path, name, data, type_name, state):
    """Our write and hivexregedit's merge of our .reg rendering give the same hive (two implementations agree)."""
    hive = hive_copy('win7-sp1-x86.SYSTEM')
    result = offline.run(hive, offline.plan_regedit(path, name=name, data=data, type_name=type_name, state=state),
                         backup=False)
    assert result['changed']
    reg_cross_check(unpacked_hive('win7-sp1-x86.SYSTEM'), hive, result['reg'])
    assert not offline.run(hive, offline.plan_regedit(path, name=name, data=data, type_name=type_name,
                                                      state=state))['changed']
