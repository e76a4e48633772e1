# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Locks and the checks before a write (backends/lock.py): a writer waits for the lock and then says who holds it;
owner, group and mode are kept (also for an unprivileged user), or nothing is changed; permission and disk-full
errors name the user's file or folder."""

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

from ansible_collections.sanboot.windows.plugins.module_utils.backends import lock
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    COLLECTIONS, dump_hive, regedit_plan, run_plan, unpacked_hive,
)

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (other users, tmpfs)')
NOBODY = 65534
TCPIP = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters'


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def regedit(name='DisableDhcpMediaSense', data=1):
    return regedit_plan(TCPIP, name=name, data=data, type_name='dword')


def leftovers(folder):
    return [f for f in os.listdir(folder) if f.endswith('.sanboot-tmp')]


def backups(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith('~'))


# ---------------------------------------------------------------------------------------------------------
# the lock

def test_a_writer_waits_for_the_lock_then_says_who_holds_it(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    before = sha(path)
    held = lock.acquire(path)
    try:
        t0 = time.time()
        with pytest.raises(lock.LockError) as info:
            run_plan(path, regedit(), lock_timeout=1)
        assert time.time() - t0 >= 1
        message = str(info.value)
        assert 'another run holds the lock on %s (PID %d of user' % (path, os.getpid()) in message
        assert 'Nothing was changed' in message and 'waited 1 s' in message
        assert sha(path) == before
        # Readers take no lock on a hive file: check mode and a reader answer at once.
        t0 = time.time()
        assert run_plan(path, regedit(), check_mode=True)['changed']
        assert Hive(path).control_sets('current') == ['ControlSet001'] and time.time() - t0 < 5
    finally:
        held.release()
    assert run_plan(path, regedit(), lock_timeout=1, backup=False)['changed']
    # The lock file is in the lock folder, named after the hive's folder and name, with the hive's owner and mode,
    # and stays (removing it would race); nothing of ours is beside the hive.
    folder = os.stat(os.path.dirname(path))
    assert lock.lock_path(path) == os.path.join(lock.lock_folder(), '%d-%d-win7-sp1-x86.SYSTEM.lock'
                                                % (folder.st_dev, folder.st_ino))
    assert os.stat(lock.lock_path(path)).st_mode & 0o777 == 0o644
    assert os.listdir(os.path.dirname(path)) == ['win7-sp1-x86.SYSTEM']


def test_the_lock_folder_is_lock_dir_else_the_environment_else_run_lock(hive_copy, tmp_path_factory, monkeypatch):
    locks = tmp_path_factory.mktemp('locks')
    monkeypatch.delenv(lock.LOCK_DIR_ENV, raising=False)
    assert lock.lock_folder() == '/run/lock/sanboot' == lock.DEFAULT_LOCK_DIR
    monkeypatch.setenv(lock.LOCK_DIR_ENV, str(locks / 'env'))
    assert lock.lock_folder() == str(locks / 'env') and lock.lock_folder(str(locks / 'mine')) == str(locks / 'mine')
    path = hive_copy('win7-sp1-x86.SYSTEM')
    assert run_plan(path, regedit(), backup=False)['changed']
    assert os.listdir(str(locks / 'env')) == [os.path.basename(lock.lock_path(path))]
    # a run that uses another folder takes its lock there (jobs pass the modules' lock_dir to HiveSet)
    with HiveSet([('hive', path)], lock_dir=str(locks / 'mine')) as hives:
        hives.planners['hive'].ensure_value(('Select',), Value.dword('SanbootProbe', 1))
        hives.write(backup=False)
    assert os.listdir(str(locks / 'mine')) == [os.path.basename(lock.lock_path(path))]
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]
    # the same folder through another path (a symlink) is the same lock
    link = str(locks / 'link')
    os.symlink(os.path.dirname(path), link)
    assert lock.lock_path(os.path.join(link, os.path.basename(path))) == lock.lock_path(path)


def test_the_default_lock_folder_is_made_for_every_user(tmp_path, monkeypatch):
    # /run/lock/sanboot itself may already exist on this host: the same rule on a stand-in default.
    default = str(tmp_path / 'run-lock-sanboot')
    monkeypatch.setattr(lock, 'DEFAULT_LOCK_DIR', default)
    monkeypatch.delenv(lock.LOCK_DIR_ENV, raising=False)
    target = tmp_path / 'SYSTEM'
    target.write_bytes(b'x')
    with lock.acquire(str(target)) as held:
        assert held.fd is not None and os.path.dirname(held.lock_file) == default
    assert os.stat(default).st_mode & 0o7777 == 0o1777


# ---------------------------------------------------------------------------------------------------------
# owner, group, mode

@ROOT_ONLY
def test_root_keeps_another_users_owner_group_and_mode(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o640)
    result = run_plan(path, regedit())
    st = os.stat(path)
    assert result['changed'] and (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (NOBODY, NOBODY, 0o640)
    assert os.stat(result['backup_file']).st_uid == NOBODY


AS_NOBODY = r'''
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError
from ansible_collections.sanboot.windows.tests.helpers import regedit_plan, run_plan
try:
    result = run_plan(sys.argv[1], regedit_plan(%(path)r, name=sys.argv[4] if len(sys.argv) > 4 else 'SanbootProbe',
                                                data=1, type_name='dword'),
                      backup=sys.argv[2] == 'backup' if len(sys.argv) > 2 else True,
                      check_mode=len(sys.argv) > 3 and sys.argv[3] == 'check')
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

    def run(hive, backup=True, check_mode=False, env=None, name='SanbootProbe'):
        proc = subprocess.run(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups',
                               sys.executable, script, hive, 'backup' if backup else 'no-backup',
                               'check' if check_mode else 'write', name],
                              capture_output=True, text=True, check=False, env=dict(os.environ, **(env or {})))
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


def nobody_lock_folder(parent):
    folder = os.path.join(parent, 'locks')
    os.mkdir(folder, 0o755)
    os.chown(folder, NOBODY, NOBODY)
    return folder


@ROOT_ONLY
def test_a_read_only_folder_is_written_in_place_without_backup_and_nothing_is_left_there(nobody_folder):
    folder, as_nobody = nobody_folder
    locks = {lock.LOCK_DIR_ENV: nobody_lock_folder(folder)}
    locked = os.path.join(folder, 'locked')
    os.mkdir(locked, 0o755)         # root's folder: nobody may not create files in it
    path = place(locked, 'SYSTEM', NOBODY, NOBODY, 0o640)
    before, inode = sha(path), os.stat(path).st_ino
    # backup: true needs a new file in that folder: refused, and the message says what to do
    out = as_nobody(path, env=locks)
    message = out.get('error', '')
    assert message.startswith('the folder %s is read-only for user nobody, so no backup of SYSTEM can be made there. '
                              'Nothing was changed. Set backup: false' % locked), out
    assert '.sanboot-tmp' not in message and sha(path) == before and os.listdir(locked) == ['SYSTEM']
    # following it: written in place (same inode, owner, group and mode), nothing of ours beside it, no journal left
    out = as_nobody(path, backup=False, env=locks)
    assert out == {'changed': True, 'backup_file': None}, out
    st = os.stat(path)
    assert sha(path) != before
    assert (st.st_ino, st.st_uid, st.st_gid, st.st_mode & 0o777) == (inode, NOBODY, NOBODY, 0o640)
    assert Hive(path).dword(('ControlSet001', 'Services', 'Tcpip', 'Parameters'), 'SanbootProbe') == 1
    assert os.listdir(locked) == ['SYSTEM']
    assert [f for f in os.listdir(locks[lock.LOCK_DIR_ENV]) if not f.endswith('.lock')] == []
    # a second run finds nothing to change
    assert as_nobody(path, backup=False, env=locks)['changed'] is False


@ROOT_ONLY
def test_a_read_only_folder_without_a_usable_lock_folder_is_named(nobody_folder):
    folder, as_nobody = nobody_folder
    locked = os.path.join(folder, 'locked')
    os.mkdir(locked, 0o755)
    path = place(locked, 'SYSTEM', NOBODY, NOBODY, 0o644)
    before = sha(path)
    no_locks = os.path.join(folder, 'root-locks')
    os.mkdir(no_locks, 0o755)       # root's: nobody can create its lock file there
    out = as_nobody(path, backup=False, env={lock.LOCK_DIR_ENV: no_locks})
    message = out.get('error', '')
    assert message.startswith('cannot lock %s for writing (' % path), out
    assert ('Lock files are kept in %s: make that folder writable for user nobody, or set lock_dir (or the environment '
            'variable SANBOOT_LOCK_DIR) to a folder user nobody may write.' % no_locks) in message
    assert sha(path) == before and os.listdir(locked) == ['SYSTEM'] and os.listdir(no_locks) == []
    # following the hint: a folder nobody may write
    out = as_nobody(path, backup=False, env={lock.LOCK_DIR_ENV: nobody_lock_folder(folder)})
    assert out['changed'] is True, out


@ROOT_ONLY
def test_an_unfinished_in_place_write_is_finished_by_the_next_run_and_check_mode_says_so(nobody_folder):
    folder, as_nobody = nobody_folder
    locks = {lock.LOCK_DIR_ENV: nobody_lock_folder(folder)}
    locked = os.path.join(folder, 'locked')
    os.mkdir(locked, 0o755)
    path = place(locked, 'SYSTEM', NOBODY, NOBODY, 0o644)
    # a run that was killed while it copied the journal over the hive: the journal, and a hive cut short
    assert as_nobody(path, backup=False, env=locks, name='SanbootFirst')['changed']
    wanted = dump_hive(path)
    journal = lock.journal_path(lock.lock_path(path, locks[lock.LOCK_DIR_ENV]))
    st = os.stat(path)
    with open(journal, 'wb') as f, open(path, 'rb') as new:
        f.write(lock.JOURNAL_HEADER.pack(lock.JOURNAL_MAGIC, st.st_dev, st.st_ino, st.st_size) + new.read())
    with open(path, 'r+b') as f:
        f.seek(st.st_size // 2)
        f.write(b'\0' * 4096)
    out = as_nobody(path, backup=False, check_mode=True, env=locks)
    message = out.get('error', '')
    assert message.startswith('%s may be half-written: a run writing it in place' % path), out
    assert 'Run the task once without check mode: it finishes that write' in message
    # following the hint: the run finishes the write, then does its own
    assert as_nobody(path, backup=False, env=locks, name='SanbootFirst')['changed'] is False
    assert dump_hive(path) == wanted and not os.path.exists(journal) and os.listdir(locked) == ['SYSTEM']
    assert as_nobody(path, backup=False, check_mode=True, env=locks)['changed'] is True


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
                run_plan(path, regedit(), backup=backup)
            message = str(info.value)
            assert message.startswith('the file system holding %s is full (' % folder), message
            assert 'needs about 22 MB' in message and 'Nothing was changed' in message
            assert '.sanboot-tmp' not in message
            assert sha(path) == before and not leftovers(folder) and not backups(folder)
    finally:
        subprocess.run(['umount', folder], check=True)
