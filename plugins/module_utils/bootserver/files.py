# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many small files written at once (module sanboot.windows.files): each compared with what is on disk, and only
those that differ written, atomically (a temporary file in the same folder, renamed over the old one), keeping the
owner and group of a file that exists; the mode is the one asked for. Files to remove, and files of a folder that
match a pattern but are not listed, are removed. Nothing is written in check mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib
import os
import stat
import tempfile


class FilesError(Exception):
    pass


def parse_mode(mode):
    """'0644', '644', 0o644 or 420 -> 0o644."""
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        raise FilesError('mode %r is not an octal mode such as 0644' % (mode,))


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def read(path):
    """(bytes, stat) of a regular file, (None, None) when there is none."""
    try:
        st = os.lstat(path)
    except OSError:
        return None, None
    if not stat.S_ISREG(st.st_mode):
        raise FilesError('%s exists and is not a regular file' % path)
    with open(path, 'rb') as handle:
        return handle.read(), st


class Change:
    """One file's change: kind is 'create', 'update', 'mode' or 'remove'."""

    def __init__(self, path, kind, before=None, after=None, st=None, mode=None):
        self.path, self.kind, self.before, self.after, self.st, self.mode = path, kind, before, after, st, mode


def plan(files, remove=(), clean=None):
    """The changes that make the disk match: `files` [{'path', 'content', 'mode'}], `remove` [paths], `clean`
    {'path': folder, 'patterns': [glob]} (its matching files that are not in `files` are removed). Returns
    (changes, checksums {path: sha1 of the wanted content})."""
    changes, checksums, wanted = [], {}, set()
    for f in files:
        path = f['path']
        if not os.path.isabs(path):
            raise FilesError('%s: give an absolute path' % path)
        if path in wanted:
            raise FilesError('%s is listed twice' % path)
        wanted.add(path)
        data = f['content'].encode('utf-8') if not isinstance(f['content'], bytes) else f['content']
        mode = parse_mode(f.get('mode') or '0644')
        checksums[path] = sha1(data)
        before, st = read(path)
        if before is None:
            changes.append(Change(path, 'create', after=data, mode=mode))
        elif before != data:
            changes.append(Change(path, 'update', before, data, st, mode))
        elif stat.S_IMODE(st.st_mode) != mode:
            changes.append(Change(path, 'mode', before, data, st, mode))
    gone = [p for p in remove or () if p not in wanted]
    if clean and os.path.isdir(clean['path']):
        patterns = clean.get('patterns') or ['*']
        for name in sorted(os.listdir(clean['path'])):
            path = os.path.join(clean['path'], name)
            if path not in wanted and any(fnmatch.fnmatch(name, p) for p in patterns) and os.path.isfile(path):
                gone.append(path)
    for path in sorted(set(gone)):
        before, st = read(path)
        if before is not None:
            changes.append(Change(path, 'remove', before, None, st))
    return changes, checksums


def write(change):
    """Carries out one change."""
    if change.kind == 'remove':
        os.unlink(change.path)
        return
    if change.kind == 'mode':
        os.chmod(change.path, change.mode)
        return
    folder = os.path.dirname(change.path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + os.path.basename(change.path) + '.')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(change.after)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, change.mode)
        if change.st is not None and (change.st.st_uid, change.st.st_gid) != (os.getuid(), os.getgid()):
            os.chown(tmp, change.st.st_uid, change.st.st_gid)
        os.rename(tmp, change.path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def diff(change):
    """Ansible's diff of one change (text)."""
    def text(data):
        return '' if data is None else data.decode('utf-8', 'replace')
    out = {'before_header': change.path, 'after_header': change.path,
           'before': text(change.before), 'after': text(change.after)}
    if change.kind == 'mode':
        out['before'] = 'mode %04o\n' % stat.S_IMODE(change.st.st_mode)
        out['after'] = 'mode %04o\n' % change.mode
    return out


def apply(files, remove=(), clean=None, check_mode=False, want_diff=False):
    """plan() then, unless in check mode, every change. Returns the module's result."""
    changes, checksums = plan(files, remove, clean)
    if not check_mode:
        for change in changes:
            write(change)
        if changes:
            folders = set(os.path.dirname(c.path) for c in changes)
            for folder in folders:
                try:
                    fd = os.open(folder, os.O_RDONLY)
                except OSError:
                    continue
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
    result = {
        'changed': bool(changes),
        'changed_files': [c.path for c in changes if c.kind != 'remove'],
        'created': [c.path for c in changes if c.kind == 'create'],
        'removed': [c.path for c in changes if c.kind == 'remove'],
        'checksums': checksums,
        'count': len(files),
    }
    if want_diff:
        result['diff'] = [diff(c) for c in changes]
    return result
