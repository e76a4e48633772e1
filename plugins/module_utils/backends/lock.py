# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Locks and pre-write checks for the files the offline modules replace or change: hive files and disk images.

A writer holds an exclusive lock for its whole read-plan-write cycle, so two runs on one target never both plan
against the same old state (the second one waits, then reads what the first one wrote). The lock is a
``fcntl.flock`` on a lock file beside the target, ``.<name>.sanboot-lock``: a hive file is replaced by rename,
and a lock on its old inode would not stop a run that opens the new one. flock locks die with their process, so
a killed run leaves no stale lock. Readers of a hive file take no lock (a rename never shows them a half-written
file); readers of a disk image take a shared lock while their appliance runs, because an image is changed in
place.

The lock file also remembers the backup of the last series of writes (see ``Held.reusable_backup``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import random
import time

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

try:
    import fcntl
    HAS_FCNTL = True
except ImportError:  # pragma: no cover - not POSIX
    HAS_FCNTL = False

# How long a writer waits for another run on the same target. A run on a hive file takes seconds; one on a disk
# image, about a minute under TCG; so this covers a long queue of runs.
LOCK_TIMEOUT = 900
# A backup is reused while the target is still exactly what the previous write left, and that write was this recent
# (the length of a play, not of a week: a later play gets a backup of its own).
BACKUP_REUSE_SECONDS = 3600
RECORD_MAX = 64 * 1024


class LockError(RegistryError):
    pass


def lock_path(target):
    real = os.path.realpath(target)
    return os.path.join(os.path.dirname(real), '.%s.sanboot-lock' % os.path.basename(real))


def _user():
    try:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return 'uid %d' % os.geteuid()


def _owner(st):
    try:
        import grp
        import pwd
        return '%s:%s' % (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name)
    except (ImportError, KeyError):
        return '%d:%d' % (st.st_uid, st.st_gid)


def identity(path):
    """What changes whenever anyone rewrites a file: (device, inode, size, mtime in ns)."""
    st = os.stat(path)
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


class Held(object):
    """A lock that is held, or (fd None) a note of why it could not be taken: a read-only folder, for instance."""

    def __init__(self, target, fd, writable, unlocked_reason=None, shared=False):
        self.target = target
        self.fd = fd
        self.writable = writable and not shared
        self.shared = shared
        self.unlocked_reason = unlocked_reason
        self._record = None

    def release(self):
        if self.fd is not None:
            if self.writable and 'holder' in self.record():
                del self._record['holder']
                self._save()
            os.close(self.fd)      # closing the only descriptor releases the flock
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    # The record: JSON in the lock file, written only while the exclusive lock is held --------------------------
    def record(self):
        if self._record is None:
            self._record = {}
            if self.fd is not None:
                try:
                    data = os.pread(self.fd, RECORD_MAX, 0)
                    self._record = json.loads(data.decode('utf-8')) if data.strip() else {}
                except (OSError, ValueError):
                    self._record = {}
                if not isinstance(self._record, dict):
                    self._record = {}
        return self._record

    def _save(self):
        if self.fd is None or not self.writable:
            return
        data = json.dumps(self._record, sort_keys=True).encode('utf-8')
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, data, 0)
        except OSError:
            pass        # the record only saves backups; losing it costs one more backup later

    def note_holder(self):
        self.record()['holder'] = {'pid': os.getpid(), 'user': _user(),
                                   'since': time.strftime('%Y-%m-%d %H:%M:%S')}
        self._save()

    def reusable_backup(self, key, target=None):
        """The backup made earlier in this series of writes, when it still holds the state before the series: the
        target is exactly what our last write left (nobody else changed it since), that write was recent, and the
        backup file is still there. None otherwise."""
        entry = self.record().get('backups', {}).get(key)
        if not entry:
            return None
        try:
            same = identity(target or self.target) == entry.get('left')
        except OSError:
            return None
        recent = 0 <= time.time() - entry.get('at', 0) < BACKUP_REUSE_SECONDS
        backup = entry.get('backup')
        if same and recent and backup and os.path.isfile(backup):
            return backup
        return None

    def valid_backups(self, target=None):
        """{key: backup} of every recorded backup that reusable_backup would return now."""
        out = {}
        for key in list(self.record().get('backups', {})):
            backup = self.reusable_backup(key, target)
            if backup:
                out[key] = backup
        return out

    def remember_write(self, key, backup, target=None):
        """After our write of the target: ``backup`` holds its state before this series of writes (None: there is
        none, and the next write with backup on makes one)."""
        backups = self.record().setdefault('backups', {})
        if backup is None:
            backups.pop(key, None)
        else:
            try:
                left = identity(target or self.target)
            except OSError:
                left = None
            backups[key] = {'backup': os.path.abspath(backup), 'left': left, 'at': time.time()}
        self._save()


def _describe(holder):
    """' (PID n of user u, since t)' when the recorded writer still runs."""
    try:
        pid = int(holder.get('pid'))
        os.kill(pid, 0)
    except (TypeError, ValueError, OSError):
        return ''
    return ' (PID %d of user %s, since %s)' % (pid, holder.get('user'), holder.get('since'))


def _open_lock_file(target):
    """(fd, writable) of the lock file beside ``target``, created with the target's owner, group and mode (minus
    execute bits) so that whoever may write the target may write the lock file."""
    path = lock_path(target)
    try:
        st = os.stat(target)
    except OSError:
        st = None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0), 0o600)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise
    else:
        if st is not None:
            try:
                os.fchmod(fd, st.st_mode & 0o666)
                if os.geteuid() == 0:
                    os.fchown(fd, st.st_uid, st.st_gid)
            except OSError:
                pass
        return fd, True
    try:
        return os.open(path, os.O_RDWR | getattr(os, 'O_CLOEXEC', 0)), True
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    # flock needs no write access: a lock file another user created still serves as a lock.
    return os.open(path, os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0)), False


def acquire(target, shared=False, timeout=LOCK_TIMEOUT):
    """Lock ``target`` (a path that exists) for writing (exclusive) or reading (shared); returns a Held.

    A writer that cannot create the lock file (a read-only folder) gets an unlocked Held with the reason: it can
    still find out that nothing needs to change, and refuse_unwritable() stops it before any write.
    """
    if not HAS_FCNTL:  # pragma: no cover
        return Held(target, None, False, 'no fcntl on this platform')
    try:
        fd, writable = _open_lock_file(target)
    except OSError as exc:
        return Held(target, None, False, '%s: %s' % (lock_path(target), exc.strerror))
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    deadline = time.time() + timeout
    delay = 0.02
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            break
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                os.close(fd)
                return Held(target, None, False, '%s: %s' % (lock_path(target), exc.strerror))
        if time.time() >= deadline:
            holder = Held(target, fd, False).record().get('holder') or {}
            os.close(fd)
            raise LockError('another run holds the lock on %s%s: waited %d s for it (lock file %s). Nothing was changed. '
                            'Run again once it has finished; runs on one target wait for each other, and one on a disk '
                            'image takes about a minute.' % (target, _describe(holder), timeout, lock_path(target)))
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 1.5, 0.5)
    held = Held(target, fd, writable, shared=shared)
    if not shared:
        held.note_holder()
    return held


# ---------------------------------------------------------------------------------------------------------
# Checks before a write: the user's file or folder named, what to fix, and that nothing was changed.

def refuse_unwritable(path, what='hive file', in_place=False, held=None):
    """Raise a LockError unless this process can change ``path`` and keep its owner, group and mode.

    Replacing a file (``in_place`` False) needs write access to its folder (the new file is written there and
    renamed over it), write access to the file itself (we do not overrule a read-only mode), and the right to give
    the new file the old one's owner and group. A disk image is changed in place: only the file's write access.
    """
    folder = os.path.dirname(os.path.abspath(path)) or '.'
    user = _user()
    st = os.stat(path)
    if not os.access(path, os.W_OK):
        raise LockError('%s %s is read-only for user %s (mode %04o, owner %s). Nothing was changed. Make it writable '
                        '(chmod u+w), or run the task as a user who may write it (become: true).'
                        % (what, path, user, st.st_mode & 0o7777, _owner(st)))
    if not in_place and not os.access(folder, os.W_OK | os.X_OK):
        raise LockError('the folder %s is read-only for user %s: the new %s is written there and renamed over %s. '
                        'Nothing was changed. Make the folder writable for %s, or run the task as a user who may write '
                        'it (become: true).' % (folder, user, what, os.path.basename(path), user))
    if held is not None and held.fd is None and held.unlocked_reason:
        raise LockError('cannot lock %s for writing (%s). Nothing was changed. The lock file is created beside the %s: '
                        'make the folder writable for user %s.' % (path, held.unlocked_reason, what, user))
    if in_place:
        return
    euid = os.geteuid()
    if euid != 0 and (st.st_uid != euid or st.st_gid not in set(os.getgroups()) | {os.getegid()}):
        raise cannot_keep_owner(path, st, what)


def cannot_keep_owner(path, st, what='hive file'):
    user = _user()
    # owner and group both: a file of the same user but another group cannot keep its group either
    mine = _owner(os.stat_result((0, 0, 0, 0, os.geteuid(), os.getegid(), 0, 0, 0, 0)))
    return LockError('%s %s belongs to %s; as user %s this run could replace it, but the new file would belong to %s. '
                     'Nothing was changed. Run the task as root or as the owner (become: true), or give the file to '
                     '%s first (chown).' % (what, path, _owner(st), user, mine, mine))


def space_error(path, exc, what='the new hive and its backup', need=None):
    """A LockError for a write beside ``path`` that failed for lack of space or permission (an OSError)."""
    folder = os.path.dirname(os.path.abspath(path)) or '.'
    code = getattr(exc, 'errno', None)
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        try:
            vfs = os.statvfs(folder)
            free = ' (%d MB free)' % (vfs.f_bavail * vfs.f_frsize // (1 << 20))
        except OSError:
            free = ''
        if need is None:
            try:
                need = 2 * os.path.getsize(path)
            except OSError:
                need = 0
        return LockError('the file system holding %s is full%s: writing %s beside %s needs about %d MB. Nothing was '
                         'changed. Free some space there (or set backup: false if the backup is what does not fit), '
                         'then run again.' % (folder, free, what, os.path.basename(path), max(1, need // (1 << 20))))
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return LockError('user %s may not write %s in %s (%s). Nothing was changed. Make the folder writable for %s, '
                         'or run the task as a user who may write there (become: true).'
                         % (_user(), what, folder, os.strerror(code), _user()))
    return LockError('writing %s beside %s failed: %s. Nothing was changed.'
                     % (what, path, getattr(exc, 'strerror', None) or exc))
