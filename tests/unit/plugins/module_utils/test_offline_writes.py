# -*- coding: utf-8 -*-
# Writing a hive file safely: the lock, the hive's own namespace, one backup per series of writes, owner/group/mode
# kept (also for an unprivileged user), and permission and disk-full errors that name the user's file or folder.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, offline
from ansible_collections.sanboot.windows.plugins.module_utils.backends import lock
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import COLLECTIONS, unpacked_hive  # noqa: E402

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (other users, tmpfs)')
NOBODY = 65534
TCPIP = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters'


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def regedit(name='DisableDhcpMediaSense', data=1):
    return offline.plan_regedit(TCPIP, name=name, data=data, type_name='dword')


def leftovers(folder):
    return [f for f in os.listdir(folder) if f.endswith('.sanboot-tmp')]


# --- the lock -------------------------------------------------------------------------------------------------

def test_a_writer_waits_for_the_lock_then_says_who_holds_it(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    before = sha(path)
    held = lock.acquire(path)
    try:
        t0 = time.time()
        with pytest.raises(lock.LockError) as info:
            offline.run(path, regedit(), lock_timeout=1)
        assert time.time() - t0 >= 1
        message = str(info.value)
        assert 'another run holds the lock on %s (PID %d of user' % (path, os.getpid()) in message
        assert 'Nothing was changed' in message and 'waited 1 s' in message
        assert sha(path) == before
        # Readers take no lock on a hive file: check mode and the doctor answer at once.
        t0 = time.time()
        assert offline.run(path, regedit(), check_mode=True)['changed']
        report = iscsi_boot.run_iscsi_boot_info(dict(hive=path, nics=[], drivers=[]))
        assert report['control_sets']['current'] == 'ControlSet001' and time.time() - t0 < 5
    finally:
        held.release()
    assert offline.run(path, regedit(), lock_timeout=1)['changed']
    # The lock file sits beside the hive, with its owner and mode, and stays (removing it would race).
    st = os.stat(lock.lock_path(path))
    assert os.path.basename(lock.lock_path(path)) == '.win7-sp1-x86.SYSTEM.sanboot-lock'
    assert st.st_mode & 0o777 == 0o644


# --- the hive's own namespace ---------------------------------------------------------------------------------

@pytest.mark.parametrize('hive, path, message', [
    ('win7-sp1-x86.SYSTEM', 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall',
     r"is in the SOFTWARE hive, but .*win7-sp1-x86.SYSTEM is the SYSTEM hive \(it has a Select key at its root\)"),
    ('phony-win10.SOFTWARE', 'HKLM:\\SYSTEM\\ControlSet001\\Services\\Tcpip',
     r"is in the SYSTEM hive, but .*phony-win10.SOFTWARE is the SOFTWARE hive \(it has Microsoft\\Windows NT"),
    ('minimal.hive', 'HKLM:\\SOFTWARE\\Sanboot',
     r"is in the SOFTWARE hive, but .*minimal.hive is a user hive .*header names it .*DEFAULT"),
    ('win7-sp1-x86.SYSTEM', 'ControlSet001\\..\\Sanboot', r"has a '\.\.' component"),
    ('win7-sp1-x86.SYSTEM', 'HKLM:\\SYSTEM\\.\\Sanboot', r"has a '\.' component"),
    ('win7-sp1-x86.SYSTEM', 'C:\\Windows\\System32\\config\\SYSTEM', 'file path with a drive letter'),
    ('win7-sp1-x86.SYSTEM', 'c:', 'file path with a drive letter'),
    ('win7-sp1-x86.SYSTEM', '\\\\server\\share\\Sanboot', 'UNC path'),
    ('win7-sp1-x86.SYSTEM', '//server/share', 'UNC path'),
])
def test_paths_outside_the_hive_are_refused(hive_copy, hive, path, message):
    target = hive_copy(hive)
    before = sha(target)
    with pytest.raises(RegistryError, match=message):
        offline.run(target, offline.plan_regedit(path, name='x', data=1, type_name='dword'))
    assert sha(target) == before


def test_paths_inside_the_hive_are_taken(hive_copy):
    software = hive_copy('phony-win10.SOFTWARE')
    for path in ('HKLM:\\SOFTWARE\\Sanboot\\A', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Sanboot\\B', 'Sanboot\\C',
                 '\\Sanboot\\D', 'Sanboot\\x..y'):
        result = offline.run(software, offline.plan_regedit(path, name='x', data=1, type_name='dword'))
        assert result['changed'] and result['diff']['after'].startswith('[HKEY_LOCAL_MACHINE\\SOFTWARE\\Sanboot')
    # A hive that does not say which one it is takes the path's word for it.
    special = hive_copy('special-names.hive')
    assert offline.run(special, offline.plan_regedit('HKLM:\\SOFTWARE\\Sanboot', name='x', data=1,
                                                     type_name='dword'))['changed']


# --- backups --------------------------------------------------------------------------------------------------

def backups(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith('~'))


def test_one_backup_per_series_of_writes(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    folder = os.path.dirname(path)
    original = sha(path)
    made = set()
    for number in range(7):
        result = offline.run(path, regedit('Sanboot%d' % number), backup=number != 3)
        assert result['changed']
        made.add(result['backup_file'])
    assert made == {None, os.path.join(folder, backups(folder)[0])} and len(backups(folder)) == 1
    assert sha(os.path.join(folder, backups(folder)[0])) == original

    # Another program changes the hive: the next write keeps a backup of that state.
    other = Hive(path, write=True)
    other.h.node_set_value(other.node(('Select',)), {'key': 'SanbootOther', 't': 4, 'value': b'\x01\x00\x00\x00'})
    other.h.commit(None)
    changed_elsewhere = sha(path)
    result = offline.run(path, regedit('SanbootAfter'))
    assert len(backups(folder)) == 2 and sha(result['backup_file']) == changed_elsewhere

    # A write long after the previous one starts a new series.
    record = lock.lock_path(path)
    with open(record) as f:
        data = json.load(f)
    data['backups'][offline.HIVE_FILE]['at'] -= lock.BACKUP_REUSE_SECONDS + 1
    with open(record, 'w') as f:
        json.dump(data, f)
    later = sha(path)
    result = offline.run(path, regedit('SanbootLater'))
    assert len(backups(folder)) == 3 and sha(result['backup_file']) == later


# --- owner, group, mode ---------------------------------------------------------------------------------------

@ROOT_ONLY
def test_root_keeps_another_users_owner_group_and_mode(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o640)
    result = offline.run(path, regedit())
    st = os.stat(path)
    assert result['changed'] and (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (NOBODY, NOBODY, 0o640)
    assert os.stat(result['backup_file']).st_uid == NOBODY


AS_NOBODY = r'''
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError
try:
    result = offline.run(sys.argv[1], offline.plan_regedit(%(path)r, name='SanbootProbe', data=1, type_name='dword'))
    print(json.dumps({'changed': result['changed'], 'backup_file': result['backup_file']}))
except RegistryError as exc:
    print(json.dumps({'error': str(exc)}))
'''


@pytest.fixture
def nobody_folder():
    """A folder in /tmp that user nobody owns (and so may write), and a way to run the engine as nobody."""
    folder = tempfile.mkdtemp(prefix='sanboot-nobody-')
    os.chmod(folder, 0o755)
    os.chown(folder, NOBODY, NOBODY)
    script = os.path.join(folder, 'run.py')
    with open(script, 'w') as f:
        f.write(AS_NOBODY % {'collections': COLLECTIONS, 'path': TCPIP})

    def run(hive):
        proc = subprocess.run(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups',
                               sys.executable, script, hive], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)
    yield folder, run
    shutil.rmtree(folder)


def place(folder, name, uid, gid, mode):
    path = os.path.join(folder, name)
    shutil.copyfile(unpacked_hive('win7-sp1-x86.SYSTEM'), path)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    return path


@ROOT_ONLY
def test_an_unprivileged_user_keeps_owner_group_and_mode_or_changes_nothing(nobody_folder):
    folder, as_nobody = nobody_folder
    # Root's hive in nobody's folder: the rename would work, but the file would become nobody's.
    for mode, message in ((0o644, 'read-only for user nobody (mode 0644, owner root:root)'),
                          (0o666, 'belongs to root:root; as user nobody this run could replace it, but the new file '
                                  'would belong to nobody')):
        path = place(folder, 'SYSTEM-root-%o' % mode, 0, 0, mode)
        before = sha(path)
        out = as_nobody(path)
        assert message in out['error'] and 'Nothing was changed' in out['error'], out
        st = os.stat(path)
        assert sha(path) == before and (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 0, mode)
    # nobody's own hive, group-readable: changed, and still nobody's with the same mode.
    path = place(folder, 'SYSTEM-nobody', NOBODY, NOBODY, 0o640)
    out = as_nobody(path)
    st = os.stat(path)
    assert out['changed'] and (st.st_uid, st.st_gid, st.st_mode & 0o777) == (NOBODY, NOBODY, 0o640)
    assert os.stat(out['backup_file']).st_uid == NOBODY
    assert not leftovers(folder)


@ROOT_ONLY
def test_a_read_only_folder_is_named(nobody_folder, tmp_path):
    folder, as_nobody = nobody_folder
    locked = os.path.join(folder, 'locked')
    os.mkdir(locked, 0o755)
    path = place(locked, 'SYSTEM', NOBODY, NOBODY, 0o644)
    before = sha(path)
    out = as_nobody(path)
    assert 'the folder %s is read-only for user nobody' % locked in out['error'], out
    assert 'Nothing was changed' in out['error'] and '.sanboot-tmp' not in out['error']
    assert sha(path) == before and os.listdir(locked) == ['SYSTEM']


@ROOT_ONLY
def test_a_full_file_system_is_named_and_nothing_changes(tmp_path):
    folder = str(tmp_path / 'small')
    os.mkdir(folder)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=14m', 'tmpfs', folder], check=True)
    try:
        path = place(folder, 'SYSTEM', 0, 0, 0o644)
        before = sha(path)
        for backup in (True, False):
            with pytest.raises(lock.LockError) as info:
                offline.run(path, regedit(), backup=backup)
            message = str(info.value)
            assert message.startswith('the file system holding %s is full (' % folder), message
            assert 'needs about 22 MB' in message and 'Nothing was changed' in message
            assert '.sanboot-tmp' not in message
            assert sha(path) == before and not leftovers(folder) and not backups(folder)
    finally:
        subprocess.run(['umount', folder], check=True)
