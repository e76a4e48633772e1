# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry model shared by every back-end: typed values, key paths, a plan of changes, its diff and .reg text.

Plain Python, no Ansible and no hivex imports: the offline (hivex), image (libguestfs) and live (WinRM)
back-ends all read state through the small reader interface that Planner uses and apply the same Plan.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct
from collections import namedtuple

REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_BIG_ENDIAN = 5
REG_LINK = 6
REG_MULTI_SZ = 7
REG_QWORD = 11

# win_regedit's type names, so playbooks read the same.
TYPE_BY_NAME = {
    'none': REG_NONE,
    'string': REG_SZ,
    'expandstring': REG_EXPAND_SZ,
    'binary': REG_BINARY,
    'dword': REG_DWORD,
    'multistring': REG_MULTI_SZ,
    'qword': REG_QWORD,
}
NAME_BY_TYPE = dict((v, k) for k, v in TYPE_BY_NAME.items())
REG_TYPE_LABEL = {
    REG_NONE: 'REG_NONE', REG_SZ: 'REG_SZ', REG_EXPAND_SZ: 'REG_EXPAND_SZ', REG_BINARY: 'REG_BINARY',
    REG_DWORD: 'REG_DWORD', REG_DWORD_BIG_ENDIAN: 'REG_DWORD_BIG_ENDIAN', REG_LINK: 'REG_LINK',
    REG_MULTI_SZ: 'REG_MULTI_SZ', REG_QWORD: 'REG_QWORD',
}

# Windows limits (MSDN "Registry Element Size Limits").
MAX_KEY_NAME = 255
MAX_VALUE_NAME = 16383


# What to read of a registry, declared as data (jobs/readset.py lists what the jobs read; backends/live reads it with
# ``reg query``): hive name ('SYSTEM', 'SOFTWARE', 'DRIVERS'), the key path relative to that hive's root, whether
# the keys below count too, and which values (None: all, and the names of the subkeys; '' is the default value).
Read = namedtuple('Read', 'hive path recursive values')
# Reads whose key names only the host knows until it is read (issue 25: the DriverDatabase chain DeviceIds ->
# DriverInfFiles -> DriverPackages -> a service), followed on the host in the same command: for each name the key
# ``path`` gives - its value names (``take`` None) or the first word of the string value ``take`` in it (and, with
# ``recursive``, in the keys below) - the Reads and Follows of ``then``, with HOLES[depth] in their paths replaced by
# that name (HOLES[0] by the outermost Follow's names). The key ``path`` itself must be read too, by a Read of the same
# round: what the host followed is then known from what was read.
Follow = namedtuple('Follow', 'hive path recursive take then')
HOLES = ('<name0>', '<name1>', '<name2>', '<name3>')
# In a Follow's then: the name of HOLES[depth] without its last backslash-separated part (a value path's key).
PARENTS = ('<parent0>', '<parent1>', '<parent2>', '<parent3>')


class RegistryError(Exception):
    """Every error the engine raises on purpose; the message is meant for the user as it is."""


def type_label(t):
    return REG_TYPE_LABEL.get(t, 'REG_0x%x' % t)


# ---------------------------------------------------------------------------------------------------------
# Values

def _utf16z(text):
    return text.encode('utf-16-le') + b'\x00\x00'


def _decode_utf16(data):
    if len(data) % 2:
        data = data[:-1]
    return data.decode('utf-16-le', 'replace')


class Value(object):
    """A named, typed registry value. ``data`` is the raw bytes exactly as stored in the hive."""

    __slots__ = ('name', 'type', 'data')

    def __init__(self, name, type_, data):
        if not isinstance(data, bytes):
            raise TypeError('registry value data must be bytes')
        self.name = name
        self.type = type_
        self.data = data

    # Constructors for the common types -------------------------------------------------------------
    @classmethod
    def sz(cls, name, text):
        return cls(name, REG_SZ, _utf16z(text))

    @classmethod
    def expand_sz(cls, name, text):
        return cls(name, REG_EXPAND_SZ, _utf16z(text))

    @classmethod
    def multi_sz(cls, name, items):
        return cls(name, REG_MULTI_SZ, b''.join(_utf16z(s) for s in items) + b'\x00\x00')

    @classmethod
    def dword(cls, name, number):
        return cls(name, REG_DWORD, struct.pack('<I', number & 0xFFFFFFFF))

    @classmethod
    def qword(cls, name, number):
        return cls(name, REG_QWORD, struct.pack('<Q', number & 0xFFFFFFFFFFFFFFFF))

    @classmethod
    def binary(cls, name, data):
        return cls(name, REG_BINARY, bytes(data))

    # Reading -----------------------------------------------------------------------------------------
    @property
    def base_type(self):
        """The type without the high flag bits some Windows versions set (0x40007 is a REG_MULTI_SZ)."""
        return self.type & 0xFFFF

    def is_clean_string(self):
        """True when a string value is exactly UTF-16LE text plus one terminating NUL (what .reg "..." means)."""
        if self.type not in (REG_SZ,) or len(self.data) % 2 or not self.data.endswith(b'\x00\x00'):
            return False
        return b'\x00\x00' not in [self.data[i:i + 2] for i in range(0, len(self.data) - 2, 2)]

    def decoded(self):
        """Python form of the data: str, list of str, int or bytes (unknown or malformed types stay bytes)."""
        t, d = self.base_type, self.data
        if t in (REG_SZ, REG_EXPAND_SZ, REG_LINK) and self.type == t:
            return _decode_utf16(d).split('\x00', 1)[0]
        if t == REG_MULTI_SZ:
            items = _decode_utf16(d).split('\x00')
            # Strip the list terminator and the string terminator before it; keep inner empty strings.
            while items and items[-1] == '':
                items.pop()
            return items
        if t == REG_DWORD and self.type == t and len(d) == 4:
            return struct.unpack('<I', d)[0]
        if t == REG_DWORD_BIG_ENDIAN and self.type == t and len(d) == 4:
            return struct.unpack('>I', d)[0]
        if t == REG_QWORD and self.type == t and len(d) == 8:
            return struct.unpack('<Q', d)[0]
        return d

    def same_as(self, other):
        """Equal for Windows: same type and same meaning (a string's bytes after its NUL do not count)."""
        if other is None or self.type != other.type:
            return False
        if self.data == other.data:
            return True
        if self.type in (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ):
            return self.decoded() == other.decoded()
        return False

    def display(self):
        """JSON-friendly form for module results (win_regedit style: hex strings for binary data)."""
        value = self.decoded()
        if isinstance(value, bytes):
            value = ['0x%02x' % b for b in bytearray(value)]
        return {'name': self.name, 'type': type_label(self.type), 'data': value}

    def to_reg(self):
        """One .reg line ("Windows Registry Editor Version 5.00" syntax, as regedit and hivexregedit read it)."""
        name = '@' if self.name == '' else '"%s"' % _reg_escape(self.name)
        if self.is_clean_string():
            return '%s="%s"' % (name, _reg_escape(self.decoded()))
        if self.type == REG_DWORD and len(self.data) == 4:
            return '%s=dword:%08x' % (name, struct.unpack('<I', self.data)[0])
        hexdata = ','.join('%02x' % b for b in bytearray(self.data))
        if self.type == REG_BINARY:
            return '%s=hex:%s' % (name, hexdata)
        return '%s=hex(%x):%s' % (name, self.type, hexdata)

    def __eq__(self, other):
        return isinstance(other, Value) and (self.name, self.type, self.data) == (other.name, other.type, other.data)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.name, self.type, self.data))

    def __repr__(self):
        return 'Value(%r, %s, %r)' % (self.name, type_label(self.type), self.decoded())


def _reg_escape(text):
    return text.replace('\\', '\\\\').replace('"', '\\"')


def _parse_int(data, what):
    if isinstance(data, bool):
        raise RegistryError('%s must be a number, not a boolean' % what)
    if isinstance(data, int):
        return data
    text = str(data).strip()
    try:
        if text.lower().startswith(('0x', '-0x')):
            return int(text, 16)
        return int(text, 10)
    except ValueError:
        raise RegistryError('%s must be a decimal or 0x-hex number, got %r' % (what, data))


def _parse_bytes(data, what):
    """Binary data as win_regedit takes it: a list of ints, or 'hex:be,ef' / 'be,ef' / '0xbe,0xef' text."""
    if data is None:
        return b''
    if isinstance(data, bytes):
        return data
    if isinstance(data, (list, tuple)):
        items = data
    else:
        text = str(data).strip()
        low = text.lower()
        if low.startswith('hex'):
            # 'hex:..' or 'hex(7):..' as in a .reg export
            text = text.split(':', 1)[1] if ':' in text else ''
        items = [t for t in text.replace('\\', '').replace('\n', '').replace(' ', '').split(',') if t != '']
    out = bytearray()
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            number = item
        else:
            token = str(item).strip()
            try:
                number = int(token, 16)
            except ValueError:
                raise RegistryError('%s: %r is not a hex byte' % (what, item))
        if not 0 <= number <= 255:
            raise RegistryError('%s: %r is not a byte (0-255)' % (what, item))
        out.append(number)
    return bytes(out)


def value_from_user(name, type_name, data):
    """Build a Value from playbook input with ansible.windows.win_regedit's conversion rules."""
    if type_name not in TYPE_BY_NAME:
        raise RegistryError('unknown registry type %r (choose one of %s)' % (type_name, ', '.join(sorted(TYPE_BY_NAME))))
    what = 'data for %r' % (name or '(Default)')
    if type_name == 'dword':
        number = _parse_int(0 if data is None else data, what)
        if not -0x80000000 <= number <= 0xFFFFFFFF:
            raise RegistryError('%s does not fit in a 32-bit dword: %r' % (what, data))
        return Value.dword(name, number)
    if type_name == 'qword':
        number = _parse_int(0 if data is None else data, what)
        if not -0x8000000000000000 <= number <= 0xFFFFFFFFFFFFFFFF:
            raise RegistryError('%s does not fit in a 64-bit qword: %r' % (what, data))
        return Value.qword(name, number)
    if type_name in ('string', 'expandstring'):
        if isinstance(data, (list, dict)):
            raise RegistryError('%s must be a string for type %s' % (what, type_name))
        text = '' if data is None else str(data)
        if '\x00' in text:
            raise RegistryError('%s contains a NUL character; use type multistring or binary' % what)
        return Value.sz(name, text) if type_name == 'string' else Value.expand_sz(name, text)
    if type_name == 'multistring':
        if data is None:
            items = []
        elif isinstance(data, (list, tuple)):
            items = [str(i) for i in data]
        else:
            items = [str(data)]
        for item in items:
            if '\x00' in item:
                raise RegistryError('%s: multistring items cannot contain NUL characters' % what)
            if item == '':
                # Windows stops reading a REG_MULTI_SZ at the first empty string.
                raise RegistryError('%s: multistring items cannot be empty strings' % what)
        return Value.multi_sz(name, items)
    # binary and none
    return Value(name, TYPE_BY_NAME[type_name], _parse_bytes(data, what))


# ---------------------------------------------------------------------------------------------------------
# Paths

def split_path(path):
    """'A\\B\\C' -> ('A', 'B', 'C'); rejects empty components and over-long names."""
    if isinstance(path, (tuple, list)):
        parts = tuple(path)
    else:
        parts = tuple(p for p in path.strip().strip('\\').split('\\')) if path.strip().strip('\\') else ()
    for part in parts:
        if part == '':
            raise RegistryError('registry path %r has an empty component (doubled backslash?)' % (path,))
        if len(part) > MAX_KEY_NAME:
            raise RegistryError('registry key name longer than %d characters in %r' % (MAX_KEY_NAME, path))
    return parts


def join_path(parts):
    return '\\'.join(parts)


def fold(name):
    """Key for case-insensitive name comparison, as Windows does it: one upcase mapping per character.

    str.upper() alone is wrong for a few characters ('ß'.upper() == 'SS'); Windows never changes a length.
    """
    if name.isascii():
        return name.upper()
    return ''.join(c.upper() if len(c.upper()) == 1 else c for c in name)


def path_id(parts):
    return tuple(fold(p) for p in parts)


# ---------------------------------------------------------------------------------------------------------
# Plan

class Op(object):
    """One change. kind: create_key | set_value | delete_value | delete_key.

    ``before`` is what was there (a Value for value ops; for delete_key a list of (path, [Value]) for the
    whole subtree) so the diff and a rollback need no second read.
    """

    __slots__ = ('kind', 'path', 'value', 'name', 'before')

    def __init__(self, kind, path, value=None, name=None, before=None):
        self.kind = kind
        self.path = path
        self.value = value
        self.name = name if name is not None else (value.name if value is not None else None)
        self.before = before

    def as_dict(self):
        out = {'op': self.kind, 'key': join_path(self.path)}
        if self.kind in ('set_value', 'delete_value'):
            out['name'] = self.name
        if self.kind == 'set_value':
            out['after'] = self.value.display()
            out['before'] = self.before.display() if self.before is not None else None
        elif self.kind == 'delete_value':
            out['before'] = self.before.display()
        return out

    def __repr__(self):
        return 'Op(%s, %s, %r)' % (self.kind, join_path(self.path), self.value if self.value is not None else self.name)


class Plan(object):
    """An ordered list of Ops, applied in order by a back-end."""

    def __init__(self, ops=None):
        self.ops = list(ops or [])

    def __bool__(self):
        return bool(self.ops)

    __nonzero__ = __bool__

    def __len__(self):
        return len(self.ops)

    def __iter__(self):
        return iter(self.ops)

    def extend(self, other):
        self.ops.extend(other.ops)

    def as_list(self):
        return [op.as_dict() for op in self.ops]

    # .reg renderings ---------------------------------------------------------------------------------
    def to_reg(self, prefix=''):
        """The plan as a .reg file that regedit / `hivexregedit --merge --prefix PREFIX` applies."""
        lines = ['Windows Registry Editor Version 5.00', '']
        current = None
        for op in self.ops:
            full = _prefixed(prefix, op.path)
            if op.kind == 'delete_key':
                if current is not None:
                    lines.append('')
                lines.extend(['[-%s]' % full, ''])
                current = None
                continue
            if current != path_id(op.path):
                if current is not None:
                    lines.append('')
                lines.append('[%s]' % full)
                current = path_id(op.path)
            if op.kind == 'set_value':
                lines.append(op.value.to_reg())
            elif op.kind == 'delete_value':
                lines.append('%s=-' % ('@' if op.name == '' else '"%s"' % _reg_escape(op.name)))
        if current is not None:
            lines.append('')
        return '\n'.join(lines) + '\n'

    def diff(self, prefix=''):
        """(before, after) .reg text of every key and value the plan touches, for Ansible's --diff."""
        before, after = _Snapshot(), _Snapshot()
        for op in self.ops:
            if op.kind == 'create_key':
                after.key(op.path)
            elif op.kind == 'set_value':
                if op.before is not None:
                    before.key(op.path).set(op.before)
                after.key(op.path).set(op.value)
            elif op.kind == 'delete_value':
                before.key(op.path).set(op.before)
                after.key(op.path)
            elif op.kind == 'delete_key':
                for path, values in op.before or [(op.path, [])]:
                    snap = before.key(path)
                    for value in values:
                        snap.set(value)
                after.drop(op.path)
        return before.render(prefix), after.render(prefix)


def _prefixed(prefix, parts):
    return '\\'.join(([prefix.rstrip('\\')] if prefix else []) + list(parts))


class _KeySnap(object):
    def __init__(self, path):
        self.path = path
        self.values = {}
        self.order = []

    def set(self, value):
        k = fold(value.name)
        if k not in self.values:
            self.order.append(k)
        self.values[k] = value


class _Snapshot(object):
    def __init__(self):
        self.keys = {}
        self.order = []

    def key(self, path):
        k = path_id(path)
        if k not in self.keys:
            self.keys[k] = _KeySnap(path)
            self.order.append(k)
        return self.keys[k]

    def drop(self, path):
        k = path_id(path)
        for other in list(self.keys):
            if other[:len(k)] == k:
                del self.keys[other]
        self.order = [o for o in self.order if o in self.keys]

    def render(self, prefix):
        if not self.order:
            return ''
        lines = []
        for k in self.order:
            snap = self.keys[k]
            lines.append('[%s]' % _prefixed(prefix, snap.path))
            lines.extend(snap.values[v].to_reg() for v in snap.order)
            lines.append('')
        return '\n'.join(lines)


# ---------------------------------------------------------------------------------------------------------
# Planning against current state

class Planner(object):
    """Turns wanted state into a minimal Plan, reading current state from a back-end.

    The reader must provide ``key_exists(path)``, ``get_value(path, name)`` (Value or None),
    ``values(path)`` and ``subkeys(path)`` (actual names), and ``real_path(path)`` (stored spelling of
    an existing key's path). Changes already planned are overlaid, so wants may repeat or build on each
    other and the plan stays minimal.
    """

    def __init__(self, reader):
        self.reader = reader
        self.plan = Plan()
        self._created = {}      # path_id -> path as created
        self._deleted = set()   # path_ids deleted (and so everything under them)
        self._values = {}       # (path_id, fold(name)) -> Value or None (deleted)

    # state with the plan overlaid ------------------------------------------------------------------
    def _is_deleted(self, pid):
        return any(pid[:len(d)] == d for d in self._deleted)

    def key_exists(self, path):
        pid = path_id(path)
        if pid in self._created:
            return True
        if self._is_deleted(pid):
            return False
        return self.reader.key_exists(path)

    def get_value(self, path, name):
        pid = path_id(path)
        if (pid, fold(name)) in self._values:
            return self._values[(pid, fold(name))]
        if pid in self._created or self._is_deleted(pid):
            return None
        return self.reader.get_value(path, name)

    def values(self, path):
        path = split_path(path)
        pid = path_id(path)
        if not self.key_exists(path):
            return []
        merged = {} if pid in self._created else dict((fold(v.name), v) for v in self.reader.values(path))
        for (kp, vn), v in self._values.items():
            if kp == pid:
                if v is None:
                    merged.pop(vn, None)
                else:
                    merged[vn] = v
        return list(merged.values())

    def subkeys(self, path):
        path = split_path(path)
        pid = path_id(path)
        if not self.key_exists(path):
            return []
        names = [] if pid in self._created else [n for n in self.reader.subkeys(path)
                                                 if not self._is_deleted(pid + (fold(n),))]
        folded = set(fold(n) for n in names)
        for cpid, created in self._created.items():
            if len(cpid) == len(pid) + 1 and cpid[:len(pid)] == pid and cpid[-1] not in folded:
                names.append(created[-1])
        return names

    def real_path(self, path):
        pid = path_id(path)
        if pid in self._created:
            return self._created[pid]
        if self.reader.key_exists(path) and not self._is_deleted(pid):
            return self.reader.real_path(path)
        # Keep the stored spelling of the longest existing parent.
        for cut in range(len(path) - 1, 0, -1):
            head = path[:cut]
            if self.key_exists(head):
                return tuple(self.real_path(head)) + tuple(path[cut:])
        return tuple(path)

    # wants ------------------------------------------------------------------------------------------
    def ensure_key(self, path):
        path = split_path(path)
        if not path:
            return path
        if self.key_exists(path):
            return self.real_path(path)
        parent = self.ensure_key(path[:-1]) if len(path) > 1 else ()
        real = tuple(parent) + (path[-1],)
        pid = path_id(real)
        self._deleted = set(d for d in self._deleted if d != pid)
        self._created[pid] = real
        self.plan.ops.append(Op('create_key', real))
        return real

    def ensure_value(self, path, value):
        """Set one value; other values of the key are left alone."""
        real = self.ensure_key(path)
        current = self.get_value(real, value.name)
        if value.same_as(current):
            return False
        if current is not None and current.name != value.name:
            # Keep the stored spelling of the value name (names are case-insensitive).
            value = Value(current.name, value.type, value.data)
        self.plan.ops.append(Op('set_value', real, value=value, before=current))
        self._values[(path_id(real), fold(value.name))] = value
        return True

    def ensure_value_absent(self, path, name):
        path = split_path(path)
        if not self.key_exists(path):
            return False
        real = self.real_path(path)
        current = self.get_value(real, name)
        if current is None:
            return False
        self.plan.ops.append(Op('delete_value', real, name=current.name, before=current))
        self._values[(path_id(real), fold(name))] = None
        return True

    def ensure_key_absent(self, path):
        path = split_path(path)
        if not path:
            raise RegistryError('refusing to delete the root key of a hive')
        if not self.key_exists(path):
            return False
        real = self.real_path(path)
        self.plan.ops.append(Op('delete_key', real, before=self._subtree(real)))
        pid = path_id(real)
        self._deleted.add(pid)
        for other in list(self._created):
            if other[:len(pid)] == pid:
                del self._created[other]
        for other in list(self._values):
            if other[0][:len(pid)] == pid:
                del self._values[other]
        return True

    def _subtree(self, path):
        """[(path, [values])] of a key and everything below it, current state with the plan overlaid."""
        out = []
        stack = [tuple(path)]
        while stack:
            here = stack.pop()
            out.append((here, self.values(here)))
            stack.extend(reversed([here + (child,) for child in self.subkeys(here)]))
        return out


def text_value(reader, path, name):
    """A string value (REG_SZ, REG_EXPAND_SZ) of a key through any reader, or None (absent, or of another type)."""
    value = reader.get_value(path, name)
    if value is None:
        return None
    data = value.decoded()
    return data if isinstance(data, str) else None


def dword_value(reader, path, name):
    """A REG_DWORD value of a key through any reader, as a number, or None (absent, or of another type or size)."""
    value = reader.get_value(path, name)
    if value is None or value.type != REG_DWORD or len(value.data) != 4:
        return None
    return value.decoded()
