# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Locks and pre-write checks for the files the offline modules replace or change: hive files and disk images.

A writer holds an exclusive lock for its whole read-plan-write cycle, so two runs on one target never both plan
against the same old state (the second one waits, then reads what the first one wrote). The lock is a
``fcntl.flock`` on a lock file in a folder of ours, never beside the target (that is the user's folder, often a
mounted Windows installation): ``/run/lock/sanboot`` unless the task's ``lock_dir`` or the environment variable
``SANBOOT_LOCK_DIR`` names another. The lock file is named after the target's folder (device and inode) and file
name, ``<st_dev>-<st_ino>-<name>.lock``: a hive file is replaced by rename, so its own inode changes with every
write while its folder's does not, and two paths to one folder (a bind mount, a symlink) name one lock. flock locks
die with their process, so a killed run leaves no stale lock. Readers of a hive file take no lock (a rename never
shows them a half-written file); readers of a disk image take a shared lock while their appliance runs, because an
image is changed in place.

A hive whose folder the user may not write (a writable file in a read-only ``config`` folder) is written in place
instead, through a journal kept beside its lock file (``<lock>.journal``): the whole new hive is written there and
renamed into place first, then copied over the hive, then removed. A run killed during the copy leaves the journal,
and the next run that locks the hive finishes the copy before it reads (``Held.recover``); a run in check mode
refuses to read a hive with an unfinished journal (``refuse_unfinished``). No backup can be made there (it would be
a new file in that folder): such a run needs backup off.

The lock file also remembers the backup of the last series of writes (see ``Held.reusable_backup``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import random
import shutil
import struct
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


# Where lock files are kept unless the task says otherwise (lock_dir) or the environment does (SANBOOT_LOCK_DIR):
# /run/lock is the FHS folder for lock files, a tmpfs that every user may write on common distributions.
DEFAULT_LOCK_DIR = '/run/lock/sanboot'
LOCK_DIR_ENV = 'SANBOOT_LOCK_DIR'
# A journal starts with this header: magic, the target's device and inode (a journal only ever applies to the file
# it was written for), and the length of the new hive that follows.
JOURNAL_MAGIC = b'SANBOOT-JOURNAL1'
JOURNAL_HEADER = struct.Struct('<16sQQQ')


def lock_folder(lock_dir=None):
    """The folder of the lock files: ``lock_dir``, else $SANBOOT_LOCK_DIR, else /run/lock/sanboot."""
    return os.path.abspath(lock_dir or os.environ.get(LOCK_DIR_ENV) or DEFAULT_LOCK_DIR)


def lock_path(target, lock_dir=None):
    """The lock file of ``target``: <folder's st_dev>-<folder's st_ino>-<file name>.lock in the lock folder."""
    real = os.path.realpath(target)
    st = os.stat(os.path.dirname(real))
    name = os.path.basename(real)
    if len(name) > 200:
        import hashlib
        name = hashlib.sha256(name.encode('utf-8', 'surrogateescape')).hexdigest()
    return os.path.join(lock_folder(lock_dir), '%d-%d-%s.lock' % (st.st_dev, st.st_ino, name))


def journal_path(lock_file):
    return lock_file[:-len('.lock')] + '.journal'


def _make_folder(folder):
    """Create the lock folder when missing; the default one like /run/lock itself (every user, sticky)."""
    if os.path.isdir(folder):
        return
    try:
        os.makedirs(folder)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise
        return
    if folder == DEFAULT_LOCK_DIR:
        os.chmod(folder, 0o1777)


def write_journal(journal, target, new_file):
    """Put the new hive ``new_file`` (a file in the lock folder) into ``journal``, complete or not at all."""
    st = os.stat(target)
    size = os.path.getsize(new_file)
    tmp = journal + '.new'
    with open(tmp, 'wb') as dst, open(new_file, 'rb') as src:
        dst.write(JOURNAL_HEADER.pack(JOURNAL_MAGIC, st.st_dev, st.st_ino, size))
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    os.rename(tmp, journal)
    fsync_dir(os.path.dirname(journal))


def replay_journal(journal, target):
    """Copy the journal's new hive over ``target`` in place (its inode, owner and mode stay), then remove the
    journal. A journal written for another file (the user replaced the hive since) is removed unused."""
    with open(journal, 'rb') as src:
        magic, dev, ino, size = JOURNAL_HEADER.unpack(src.read(JOURNAL_HEADER.size))
        st = os.stat(target)
        if magic == JOURNAL_MAGIC and (dev, ino) == (st.st_dev, st.st_ino):
            with open(target, 'r+b') as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.truncate(size)
                dst.flush()
                os.fsync(dst.fileno())
    os.unlink(journal)
    fsync_dir(os.path.dirname(journal))


def fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def refuse_unfinished(target, lock_dir=None):
    """For readers that take no lock (check mode): raise when a run writing ``target`` in place was stopped before
    it finished (its journal is still there), since the hive may be half-written until a writer finishes it."""
    try:
        journal = journal_path(lock_path(target, lock_dir))
    except OSError:
        return
    if os.path.exists(journal):
        raise LockError('%s may be half-written: a run writing it in place (its folder is read-only) has not finished '
                        '(journal %s: it was stopped, or is still running). Nothing was read or changed. Run the task '
                        'once without check mode: it finishes that write before it reads the hive.' % (target, journal))


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

    def __init__(self, target, fd, writable, unlocked_reason=None, shared=False, lock_file=None, folder=None):
        self.target = target
        self.lock_file = lock_file
        self.folder = folder or (os.path.dirname(lock_file) if lock_file else None)
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

    @property
    def journal(self):
        """Where an in-place write of the target keeps the new hive until it is in place (None without a lock)."""
        return journal_path(self.lock_file) if self.fd is not None and self.lock_file else None

    def recover(self):
        """Clear what a killed run left: its temporary file beside the target, or the journal of an in-place write,
        which is finished before anything reads the target. True when there was a journal."""
        journal = self.journal
        if journal is None:
            return False
        # A run killed while it wrote the new hive beside the old one (hive.py) left its temporary file there.
        folder, name = os.path.split(os.path.abspath(self.target))
        try:
            names = os.listdir(folder)
        except OSError:
            names = []
        for leftover in names:
            if leftover.startswith('.%s.' % name) and leftover.endswith('.sanboot-tmp'):
                try:
                    os.unlink(os.path.join(folder, leftover))
                except OSError:
                    pass
        if os.path.exists(journal + '.new'):
            os.unlink(journal + '.new')         # the journal was not complete: the target was not touched
        for leftover in (journal + '.hive',):   # the new hive as libhivex wrote it, before the journal
            if os.path.exists(leftover):
                os.unlink(leftover)
        if not os.path.exists(journal):
            return False
        replay_journal(journal, self.target)
        return True

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


def _open_lock_file(target, path):
    """(fd, writable) of the lock file ``path`` of ``target``, created with the target's owner, group and mode (minus
    execute bits) so that whoever may write the target may write the lock file."""
    _make_folder(os.path.dirname(path))
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


def acquire(target, shared=False, timeout=LOCK_TIMEOUT, lock_dir=None):
    """Lock ``target`` (a path that exists) for writing (exclusive) or reading (shared); returns a Held. A writer
    then finishes an in-place write a killed run left (Held.recover) before it reads the target.

    A writer that cannot create the lock file (a lock folder it may not write) gets an unlocked Held with the
    reason: it can still find out that nothing needs to change, and refuse_unwritable() stops it before any write.
    """
    if not HAS_FCNTL:  # pragma: no cover
        return Held(target, None, False, 'no fcntl on this platform')
    try:
        path = lock_path(target, lock_dir)
        fd, writable = _open_lock_file(target, path)
    except OSError as exc:
        where = exc.filename or lock_folder(lock_dir)
        return Held(target, None, False, '%s: %s' % (where, exc.strerror), folder=lock_folder(lock_dir))
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
                return Held(target, None, False, '%s: %s' % (path, exc.strerror), lock_file=path)
        if time.time() >= deadline:
            holder = Held(target, fd, False).record().get('holder') or {}
            os.close(fd)
            raise LockError('another run holds the lock on %s%s: waited %d s for it (lock file %s). Nothing was changed. '
                            'Run again once it has finished; runs on one target wait for each other, and one on a disk '
                            'image takes about a minute.' % (target, _describe(holder), timeout, path))
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 1.5, 0.5)
    held = Held(target, fd, writable, shared=shared, lock_file=path)
    if not shared:
        held.note_holder()
        try:
            held.recover()
        except (OSError, struct.error) as exc:
            held.release()
            why = getattr(exc, 'strerror', None) or exc
            raise LockError('%s: a run that wrote it in place was stopped, and finishing its write from the journal '
                            '%s failed (%s). Nothing else was changed.' % (target, journal_path(path), why))
    return held


# ---------------------------------------------------------------------------------------------------------
# Checks before a write: the user's file or folder named, what to fix, and that nothing was changed.

def writes_in_place(path):
    """True when a hive file's folder is read-only for this process: the hive is then written in place, through a
    journal in the lock folder, since no new file can be made beside it."""
    folder = os.path.dirname(os.path.abspath(path)) or '.'
    return not os.access(folder, os.W_OK | os.X_OK)


def refuse_unwritable(path, what='hive file', in_place=False, held=None, backup=False):
    """Raise a LockError unless this process can change ``path`` and keep its owner, group and mode.

    Replacing a file (``in_place`` False) needs write access to the file itself (we do not overrule a read-only
    mode), and either write access to its folder (the new file is written there and renamed over it) and the right
    to give the new file the old one's owner and group, or, in a read-only folder, a lock (its journal) and no
    backup. A disk image is changed in place: only the file's write access.
    """
    folder = os.path.dirname(os.path.abspath(path)) or '.'
    user = _user()
    st = os.stat(path)
    if not os.access(path, os.W_OK):
        raise LockError('%s %s is read-only for user %s (mode %04o, owner %s). Nothing was changed. Make it writable '
                        '(chmod u+w), or run the task as a user who may write it (become: true).'
                        % (what, path, user, st.st_mode & 0o7777, _owner(st)))
    if held is not None and held.fd is None and held.unlocked_reason:
        raise LockError('cannot lock %s for writing (%s). Nothing was changed. Lock files are kept in %s: make that '
                        'folder writable for user %s, or set lock_dir (or the environment variable %s) to a folder '
                        'user %s may write.' % (path, held.unlocked_reason, held.folder or lock_folder(None), user,
                                                LOCK_DIR_ENV, user))
    if in_place:
        return
    if writes_in_place(path):
        if held is None or held.journal is None:
            raise LockError('the folder %s is read-only for user %s: the new %s is written there and renamed over %s. '
                            'Nothing was changed. Make the folder writable for %s, or run the task as a user who may '
                            'write it (become: true).' % (folder, user, what, os.path.basename(path), user))
        if backup:
            raise LockError('the folder %s is read-only for user %s, so no backup of %s can be made there. Nothing was '
                            'changed. Set backup: false (the %s is then written in place, through a journal in %s), '
                            'or make the folder writable for %s.'
                            % (folder, user, os.path.basename(path), what, os.path.dirname(held.journal), user))
        return                  # written in place: the inode, and so its owner, group and mode, stay
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
