# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline hive back-end on libhivex: open with checks, read through caches, apply a Plan, commit atomically.

libhivex's Python bindings ship with the distribution (Debian/Ubuntu python3-hivex, Fedora/RHEL
python3-hivex); the PyPI package called "hivex" is unrelated.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import os
import shutil
import struct
import tempfile

from ansible_collections.sanboot.windows.plugins.module_utils.backends import lock, regf
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_DWORD, RegistryError, Value, fold, join_path, path_id, split_path,
)

try:
    import hivex
    HAS_HIVEX = True
    HIVEX_IMPORT_ERROR = None

    class _Hivex(hivex.Hivex):
        # The bindings' destructor assumes the open succeeded; avoid "Exception ignored" noise when it failed.
        def __del__(self):
            if '_o' in self.__dict__:
                hivex.Hivex.__del__(self)
except ImportError as exc:  # pragma: no cover - depends on the host
    HAS_HIVEX = False
    HIVEX_IMPORT_ERROR = str(exc)

REGF_MAGIC = b'regf'
BIG_VALUE = 16344        # CM_KEY_VALUE_BIG: longer data goes into big-data (db) records
MAX_DEPTH = 512         # levels of keys (MSDN "Registry Element Size Limits")
HEADER_SIZE = 4096


class HiveError(RegistryError):
    pass


class HiveHeader(object):
    """The fields of a regf base block that matter before we let hivex touch a file."""

    def __init__(self, path):
        try:
            with open(path, 'rb') as f:
                block = f.read(HEADER_SIZE)
                f.seek(0, os.SEEK_END)
                self.size = f.tell()
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                raise HiveError('hive file %s does not exist' % path)
            if exc.errno == errno.EISDIR:
                raise HiveError('%s is a directory, not a hive file' % path)
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise HiveError('hive file %s is not readable for this user (%s). Nothing was changed. Run the task as '
                                'a user who may read it (become: true), or make it readable (chmod).'
                                % (path, exc.strerror))
            raise HiveError('cannot read hive file %s: %s. Nothing was changed.' % (path, exc.strerror or exc))
        if len(block) < 512 or block[:4] != REGF_MAGIC:
            raise HiveError('%s is not a Windows registry hive (no "regf" signature at the start of the file)' % path)
        self.sequence1, self.sequence2 = struct.unpack_from('<II', block, 4)
        self.major, self.minor = struct.unpack_from('<II', block, 20)
        # The size of the hive bins after the base block: libhivex and regf.py append at its end.
        self.data_size = struct.unpack_from('<I', block, 0x28)[0]
        stored = struct.unpack_from('<I', block, 0x1FC)[0]
        computed = 0
        for (word,) in struct.iter_unpack('<I', block[:0x1FC]):
            computed ^= word
        # Windows maps the two reserved results (see "Windows registry file format specification").
        if computed == 0xFFFFFFFF:
            computed = 0xFFFFFFFE
        elif computed == 0:
            computed = 1
        self.checksum_ok = stored == computed
        # Last 31 UTF-16 characters of the hive's own path on the machine that wrote it.
        self.file_name = block[0x30:0x30 + 64].decode('utf-16-le', 'replace').split('\x00', 1)[0]

    @property
    def dirty(self):
        return self.sequence1 != self.sequence2


def check_openable(path, allow_dirty=False):
    """Refuse what hivex would misread; returns the header."""
    if not HAS_HIVEX:
        raise HiveError('the libhivex Python bindings are not installed on this host '
                        '(Debian/Ubuntu: apt install python3-hivex; Fedora/RHEL: dnf install python3-hivex; '
                        'not the unrelated PyPI package "hivex"): %s' % HIVEX_IMPORT_ERROR)
    header = HiveHeader(path)
    if not header.checksum_ok:
        raise HiveError('%s: the hive header checksum is wrong; the file is damaged or not a hive. '
                        'Nothing was changed.' % path)
    if header.data_size % HEADER_SIZE or header.data_size > header.size - HEADER_SIZE:
        raise HiveError('%s: the hive header says its hive bins take %d bytes, but the file holds %d after its base '
                        'block; the file is truncated or damaged. Nothing was changed.'
                        % (path, header.data_size, max(0, header.size - HEADER_SIZE)))
    if header.dirty and not allow_dirty:
        logs = [p for p in (path + '.LOG', path + '.LOG1', path + '.LOG2') if os.path.exists(p)]
        raise HiveError(
            '%s was not cleanly written: its header sequence numbers differ (%d != %d), so Windows still '
            'has changes for it in its transaction logs%s, which libhivex cannot replay. Editing it could lose '
            'those changes and Windows may then prefer the logs over ours. Boot the installation and shut it '
            'down cleanly (with Fast Startup off, e.g. "shutdown /s /t 0"), or set allow_dirty: true to edit '
            'it anyway (the header is marked clean on write). Nothing was changed.'
            % (path, header.sequence1, header.sequence2,
               ' (' + ', '.join(os.path.basename(p) for p in logs) + ')' if logs else
               ' (none were found beside the file)'))
    return header


class Hive(object):
    """One hive file opened through libhivex. Implements the Planner's reader interface and applies Plans."""

    def __init__(self, path, write=False, allow_dirty=False):
        self.path = path
        self.header = check_openable(path, allow_dirty=allow_dirty)
        try:
            self.h = _Hivex(path, write=write)
            self._root = self.h.root()
        except (RuntimeError, OSError) as exc:
            raise HiveError('%s is not a readable registry hive: libhivex refused it (%s). The file may be '
                            'truncated or corrupt. Nothing was changed.' % (path, exc))
        self.writable = write
        self._chains = {(): (self._root,)}  # path_id -> node handles from the root down to the key
        self._children = {}                 # node -> {fold(name): (name, node)}
        self._values = {}                   # node -> {fold(name): Value}
        self._new_keys = []                 # regf.NewKey, written at commit (see apply)

    # reading ---------------------------------------------------------------------------------------
    def _child_map(self, node):
        cmap = self._children.get(node)
        if cmap is None:
            cmap = {}
            try:
                for child in self.h.node_children(node):
                    name = self.h.node_name(child)
                    cmap[fold(name)] = (name, child)
            except RuntimeError as exc:
                raise HiveError('%s: cannot read the subkeys of a key (%s); the hive is damaged' % (self.path, exc))
            self._children[node] = cmap
        return cmap

    def node(self, path):
        parts = split_path(path)
        pid = path_id(parts)
        chain = self._chains.get(pid)
        if chain is not None:
            return chain[-1]
        if len(parts) > MAX_DEPTH:
            raise HiveError('%s: key path deeper than %d levels, the most Windows allows: %s'
                            % (self.path, MAX_DEPTH, join_path(parts[:8]) + '\\...'))
        known = len(parts) - 1
        while pid[:known] not in self._chains:
            known -= 1
        chain = self._chains[pid[:known]]
        for depth in range(known, len(parts)):
            entry = self._child_map(chain[-1]).get(fold(parts[depth]))
            if entry is None:
                return None
            if entry[1] in chain:
                # A damaged subkey index can point back at an ancestor; walking it would never end.
                raise HiveError('%s: the hive is damaged: key %s lists one of its own parents as a subkey. '
                                'Nothing was changed.' % (self.path, join_path(parts[:depth + 1])))
            chain += (entry[1],)
            self._chains[pid[:depth + 1]] = chain
        return chain[-1]

    def _value_map(self, node):
        vmap = self._values.get(node)
        if vmap is None:
            vmap = {}
            try:
                for v in self.h.node_values(node):
                    name = self.h.value_key(v)
                    t, data = self.h.value_value(v)
                    vmap[fold(name)] = Value(name, t, data)
            except RuntimeError as exc:
                raise HiveError('%s: cannot read the values of a key (%s); the hive is damaged' % (self.path, exc))
            self._values[node] = vmap
        return vmap

    def key_exists(self, path):
        return self.node(path) is not None

    def real_path(self, path):
        parts = split_path(path)
        out = []
        node = self._root
        for part in parts:
            name, node = self._child_map(node)[fold(part)]
            out.append(name)
        return tuple(out)

    def get_value(self, path, name):
        node = self.node(path)
        if node is None:
            return None
        return self._value_map(node).get(fold(name))

    def values(self, path):
        node = self.node(path)
        return [] if node is None else list(self._value_map(node).values())

    def subkeys(self, path):
        node = self.node(path)
        return [] if node is None else [entry[0] for entry in self._child_map(node).values()]

    def dword(self, path, name):
        value = self.get_value(path, name)
        if value is None or value.type != REG_DWORD or len(value.data) != 4:
            return None
        return value.decoded()

    # control sets ----------------------------------------------------------------------------------
    def select(self):
        """Select\\{Current,Default,LastKnownGood} of a SYSTEM hive; HiveError when this is not one."""
        if not self.key_exists(('Select',)):
            raise HiveError('%s is not a SYSTEM hive: it has no Select key at its root%s. Use the hive '
                            'Windows\\System32\\config\\SYSTEM of the installation.'
                            % (self.path, " (its header names it '%s')" % self.header.file_name
                               if self.header.file_name else ''))
        return dict((n, self.dword(('Select',), n)) for n in ('Current', 'Default', 'LastKnownGood'))

    def control_sets(self, which='current'):
        """Names of the ControlSet00N keys to work on: the current one, or every one Select names."""
        sel = self.select()
        current = sel['Current'] or sel['Default']
        if not current:
            raise HiveError('%s: Select has neither Current nor Default set; cannot tell which ControlSet is '
                            'in use' % self.path)
        numbers = [current]
        if which == 'all':
            numbers += [n for n in (sel['Default'], sel['LastKnownGood']) if n and n not in numbers]
        names = []
        for number in numbers:
            name = 'ControlSet%03d' % number
            if self.key_exists((name,)):
                names.append(self.real_path((name,))[0])
            elif number == current:
                raise HiveError('%s: Select names %s as the current control set but the hive has no such key'
                                % (self.path, name))
        return names

    def resolve(self, path):
        """Map CurrentControlSet (first component) to the ControlSet00N that Select\\Current names."""
        parts = split_path(path)
        if parts and fold(parts[0]) == 'CURRENTCONTROLSET':
            return (self.control_sets('current')[0],) + parts[1:]
        return parts

    # writing ---------------------------------------------------------------------------------------
    def check_plan(self, plan):
        """Refuse, before anything is written (and in check mode too), what libhivex would write wrongly.

        Hives of format 1.4 and later (Windows XP on) keep a value of more than 16344 bytes in big-data records;
        libhivex writes such a value as one plain cell, which Windows and other readers then misread, and it
        rewrites every value of a key when it sets or deletes one (so a big value already there, such as
        ProductOptions\\ProductPolicy, would be damaged too). Found by reading our writes with libregf and
        dissect.regf (tests/unit/plugins/module_utils/backends/test_hive.py).
        """
        if self.header.minor < 4:
            return
        checked = set()
        for op in plan:
            if op.kind == 'set_value' and len(op.value.data) > BIG_VALUE:
                raise HiveError('%s: the value %s of %s would be %d bytes; values over %d bytes need the registry\'s '
                                'big-data records, which libhivex cannot write. Nothing was changed.'
                                % (self.path, op.value.name or '(Default)', join_path(op.path), len(op.value.data),
                                   BIG_VALUE))
            if op.kind not in ('set_value', 'delete_value') or path_id(op.path) in checked:
                continue
            checked.add(path_id(op.path))
            if self.node(op.path) is None:
                continue
            for value in self.values(op.path):
                if len(value.data) > BIG_VALUE and fold(value.name) != fold(op.name or ''):
                    raise HiveError(
                        '%s: %s holds %s, a value of %d bytes kept in big-data records, and libhivex would damage it '
                        'while changing %s of the same key. Nothing was changed; this key cannot be edited offline by '
                        'this collection.' % (self.path, join_path(op.path), value.name or '(Default)',
                                              len(value.data), op.name or '(Default)'))

    def apply(self, plan):
        """Apply a plan. New keys (and their values) are written at commit() by regf.append_keys, which is
        linear where libhivex is quadratic in the number of siblings; everything else goes through libhivex.
        After apply() the handle only serves commit(): new keys are not visible through it."""
        if not self.writable:
            raise HiveError('hive %s was opened read-only' % self.path)
        self.check_plan(plan)
        rest = self._split_new_keys(plan)
        self._apply_hivex(rest)

    def _split_new_keys(self, plan):
        new, rest = {}, []
        for op in plan:
            pid = path_id(op.path)
            if op.kind == 'create_key':
                parent = new.get(pid[:-1]) or self.node(op.path[:-1])
                new[pid] = regf.NewKey(parent, op.path[-1], [])
            elif op.kind == 'set_value' and pid in new:
                values = new[pid].values
                values[:] = [v for v in values if fold(v.name) != fold(op.value.name)] + [op.value]
            elif new and (op.kind == 'delete_key' or any(pid[:len(k)] == k for k in new)):
                # An edit that undoes part of a creation earlier in the same plan: keep strict plan order.
                self._new_keys = []
                return list(plan)
            else:
                rest.append(op)
        keys = list(new.values())
        if not all(regf.appendable(k.values) for k in keys):
            return list(plan)
        self._new_keys = keys
        return rest

    def _apply_hivex(self, ops):
        h = self.h
        for op in ops:
            try:
                if op.kind == 'create_key':
                    parent = self.node(op.path[:-1])
                    child = h.node_add_child(parent, op.path[-1])
                    self._child_map(parent)[fold(op.path[-1])] = (op.path[-1], child)
                    self._chains[path_id(op.path)] = self._chains[path_id(op.path[:-1])] + (child,)
                    self._children[child] = {}
                    self._values[child] = {}
                elif op.kind == 'set_value':
                    node = self.node(op.path)
                    h.node_set_value(node, {'key': op.value.name, 't': op.value.type, 'value': op.value.data})
                    self._value_map(node)[fold(op.value.name)] = op.value
                elif op.kind == 'delete_value':
                    node = self.node(op.path)
                    vmap = self._value_map(node)
                    vmap.pop(fold(op.name), None)
                    # libhivex has no call to delete one value: rewrite the node's value list without it.
                    h.node_set_values(node, [{'key': v.name, 't': v.type, 'value': v.data} for v in vmap.values()])
                elif op.kind == 'delete_key':
                    node = self.node(op.path)
                    parent = self.node(op.path[:-1])
                    h.node_delete_child(node)
                    self._child_map(parent).pop(fold(op.path[-1]), None)
                    pid = path_id(op.path)
                    for other in [k for k in self._chains if k[:len(pid)] == pid]:
                        node_h = self._chains.pop(other)[-1]
                        self._children.pop(node_h, None)
                        self._values.pop(node_h, None)
                else:
                    raise HiveError('unknown plan operation %r' % op.kind)
            except RuntimeError as exc:
                raise HiveError('%s: libhivex failed to %s %s (%s); the file on disk is unchanged'
                                % (self.path, op.kind.replace('_', ' '), join_path(op.path), exc))

    def commit(self, backup=True, journal=None):
        """Write the changed hive next to the original and rename it into place; with ``journal`` (a path in the
        lock folder, lock.Held.journal), write it in place through that journal instead (a read-only folder).

        A crash at any moment leaves the old file or the new one, never a half-written hive. The new file gets the
        old one's owner, group and mode before the rename; when that is not allowed, nothing is replaced. The backup
        is a hard link to the old inode when possible (no copy), else a copy. Returns the backup path or None.
        Errors name the hive and its folder (never the temporary file) and say that nothing was changed.
        """
        if journal is not None:
            return self._commit_in_place(journal)
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            st = os.stat(self.path)
            fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(self.path), suffix='.sanboot-tmp',
                                       dir=directory)
        except OSError as exc:
            raise lock.space_error(self.path, exc)
        os.close(fd)
        backup_path = None
        try:
            try:
                self.h.commit(tmp)
            except RuntimeError as exc:
                code = _errno_of(exc)
                if code is not None:
                    raise lock.space_error(self.path, OSError(code, os.strerror(code)))
                raise HiveError('%s: libhivex could not write the new hive (%s). Nothing was changed.'
                                % (self.path, exc))
            try:
                if self._new_keys:
                    regf.append_keys_to_file(tmp, self._new_keys)
                with open(tmp, 'rb+') as f:
                    os.fsync(f.fileno())
                if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.chown(tmp, st.st_uid, st.st_gid)
                    except OSError as exc:
                        if exc.errno not in (errno.EPERM, errno.EACCES):
                            raise
                        raise lock.cannot_keep_owner(self.path, st)
                os.chmod(tmp, st.st_mode & 0o7777)     # after chown, which may clear set-id bits
                if backup:
                    backup_path = backup_name(self.path)
                    try:
                        os.link(self.path, backup_path)
                    except OSError:
                        shutil.copy2(self.path, backup_path)
                os.rename(tmp, self.path)
                tmp = None
            except OSError as exc:
                if backup_path and os.path.exists(backup_path):
                    os.unlink(backup_path)
                raise lock.space_error(self.path, exc)
            lock.fsync_dir(directory)
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
        return backup_path

    def _commit_in_place(self, journal):
        """The new hive into ``journal`` (complete or not at all), then copied over the hive file in place: its inode,
        owner, group and mode stay, and nothing is created beside it. A run killed during the copy leaves the
        journal; the next run that locks the hive finishes the copy first (lock.Held.recover). No backup."""
        new = journal + '.hive'
        try:
            try:
                self.h.commit(new)
            except RuntimeError as exc:
                code = _errno_of(exc)
                if code is not None:
                    raise lock.space_error(new, OSError(code, os.strerror(code)), what='the new hive')
                raise HiveError('%s: libhivex could not write the new hive (%s). Nothing was changed.'
                                % (self.path, exc))
            try:
                if self._new_keys:
                    regf.append_keys_to_file(new, self._new_keys)
                lock.write_journal(journal, self.path, new)
            except OSError as exc:
                raise lock.space_error(new, exc, what='the journal of the new hive')
        finally:
            for leftover in (new, journal + '.new'):
                if os.path.exists(leftover):
                    os.unlink(leftover)
        try:
            lock.replay_journal(journal, self.path)
        except OSError as exc:
            raise HiveError('%s: writing the new hive in place failed (%s); the journal %s holds it, and the next run '
                            'finishes the write.' % (self.path, exc.strerror or exc, journal))
        return None


def _errno_of(exc):
    """libhivex's bindings raise RuntimeError(strerror(errno)); map the text back to the errors users can fix."""
    text = str(exc)
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG):
        if os.strerror(code) in text:
            return code
    return None


def backup_name(path):
    """Ansible's backup naming (module.backup_local): <file>.<pid>.<timestamp>~, made unique."""
    stamp = datetime.datetime.now().strftime('%Y-%m-%d@%H:%M:%S')
    name = '%s.%d.%s~' % (path, os.getpid(), stamp)
    counter = 1
    while os.path.lexists(name):
        counter += 1
        name = '%s.%d.%s.%d~' % (path, os.getpid(), stamp, counter)
    return name
