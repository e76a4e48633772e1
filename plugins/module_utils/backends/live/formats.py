# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What travels between the controller and the host, and its formats: ``reg query`` output read back into typed
values (and a partial hive built from them, on which the offline engine runs), the .reg text sent for
``reg import`` (ASCII only, so that it can travel as text and needs no decoder on the host), the record of
originals moved first, driver package files, and the one PE check the live path needs (an embedded signature)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import os
import re
import struct
import time

from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.transport import WinRMError
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_QWORD, REG_SZ, Value, fold, path_id,
)

SYSTEM_PREFIX = 'HKEY_LOCAL_MACHINE\\SYSTEM'
MAX_PACKAGE_BYTES = 64 * 1024 * 1024
REG_LINE = 76          # hex continuation lines, as regedit wraps them (and well below findstr's 8191 bytes)

# reg.exe's type names (not translated by Windows); values of any other type are left out of the working hive.
_TYPES = {'REG_SZ': REG_SZ, 'REG_EXPAND_SZ': REG_EXPAND_SZ, 'REG_BINARY': REG_BINARY, 'REG_DWORD': REG_DWORD,
          'REG_MULTI_SZ': REG_MULTI_SZ, 'REG_QWORD': REG_QWORD, 'REG_NONE': REG_NONE}
_VALUE_RE = re.compile(r'^    (.*?)    (REG_[A-Z_]+)(?:    (.*))?$')


# ---------------------------------------------------------------------------------------------------------
# reg query output: key lines (HKEY_LOCAL_MACHINE\...) and value lines ("    name    TYPE    data")

def default_label(text):
    """The name reg.exe prints for a key's default value in this Windows' language: '(Default)', '(Standard)', ...

    ``text`` is the output of ``reg query KEY /ve`` for a key that has a default value: its one value line.
    """
    for line in text.replace('\r\n', '\n').split('\n'):
        match = _VALUE_RE.match(line)
        if match:
            return match.group(1)
    return None


def parse_value_line(line, label='(Default)'):
    """'    CurrentVersion    REG_SZ    6.1' -> Value; None for other lines (key lines, messages, other types)."""
    match = _VALUE_RE.match(line.rstrip('\r'))
    if not match or match.group(2) not in _TYPES:
        return None
    name, kind, data = match.group(1), _TYPES[match.group(2)], match.group(3) or ''
    name = '' if name == label else name
    if kind in (REG_SZ, REG_EXPAND_SZ):
        # reg.exe prints a string up to its first NUL: read back as that text and one NUL (docs/live-hosts.md)
        return Value(name, kind, data.encode('utf-16-le') + b'\x00\x00')
    if kind == REG_MULTI_SZ:
        return Value.multi_sz(name, [i for i in data.split('\\0') if i] if data else [])
    try:
        if kind == REG_DWORD:
            return Value.dword(name, int(data, 16))
        if kind == REG_QWORD:
            return Value.qword(name, int(data, 16))
        return Value(name, kind, binascii.unhexlify(data.strip()) if data.strip() else b'')
    except (ValueError, TypeError, binascii.Error):
        return None


def parse_reg_query(text, label='(Default)'):
    """{key line: [Value]} from reg query output (one key, /s, /v or /ve), keys in the order printed."""
    out = {}
    key = None
    for line in text.replace('\r\n', '\n').split('\n'):
        if line.startswith('HKEY_'):
            key = line.strip()
            out.setdefault(key, [])
            continue
        value = parse_value_line(line, label)
        if value is not None and key is not None:
            out[key].append(value)
    return out


def split_key(key_line):
    """'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services' -> ('SYSTEM', ('ControlSet001', 'Services'))."""
    parts = key_line.split('\\')
    if len(parts) < 2 or parts[0].upper() not in ('HKEY_LOCAL_MACHINE', 'HKLM'):
        return None, ()
    return parts[1].upper(), tuple(p for p in parts[2:] if p)


class PartialHive(object):
    """The keys and values read from one hive of the host, merged over every query, written as a hive file.

    reg.exe prints a queried key's path as it was typed and the keys below it as they are stored: a name is taken
    as stored ("authoritative") only from the second kind, or from a parent's listing or a name lookup, so that
    the working hive spells every key as the host does.
    """

    def __init__(self, name):
        self.name = name
        self.names = {(): ('', True)}       # path_id -> (name, authoritative)
        self.values = {(): {}}              # path_id -> {fold(value name): Value}

    def add(self, parts, values=(), typed=0):
        """A key (and its values) seen in reg's output; its first ``typed`` names are as the query typed them."""
        pid = path_id(parts)
        for depth in range(1, len(parts) + 1):
            sub = pid[:depth]
            stored = depth > typed
            known = self.names.get(sub)
            if known is None or (stored and not known[1]):
                self.names[sub] = (parts[depth - 1], stored)
            self.values.setdefault(sub, {})
        for value in values:
            self.values[pid][fold(value.name)] = value

    def real(self, pid):
        return tuple(self.names[pid[:depth]][0] for depth in range(1, len(pid) + 1))

    def add_output(self, text, label, typed=0):
        """Merge reg query output of a query for a key ``typed`` levels deep; returns how many key lines it had."""
        count = 0
        for key, values in parse_reg_query(text, label).items():
            hive, parts = split_key(key)
            if hive != self.name:
                continue
            if hive == 'SYSTEM' and parts and fold(parts[0]) == fold('CurrentControlSet'):
                continue        # the volatile link to the current ControlSet00N (not in a hive file)
            self.add(parts, values, typed)
            count += 1
        return count

    def write(self, path):
        """A hive file holding these keys and values (via libhivex, on an empty regf)."""
        import hivex  # only called where the offline engine (which needs hivex) runs
        with open(path, 'wb') as handle:
            handle.write(blank_hive_bytes(self.name))
        h = hivex.Hivex(path, write=True)
        nodes = {(): h.root()}
        for pid in sorted(self.names, key=len):
            if pid:
                nodes[pid] = h.node_add_child(nodes[pid[:-1]], self.names[pid][0])
            values = self.values.get(pid)
            if values:
                h.node_set_values(nodes[pid], [{'key': v.name, 't': v.type, 'value': v.data} for v in values.values()])
        h.commit(path)
        del h
        return path


def present_instances(system, control_set):
    """Enum instances (Enum-relative path ids) that have a volatile Control key now, with its ActiveService."""
    found = {}
    base = path_id((control_set, 'Enum'))
    for pid, values in system.values.items():
        if len(pid) < 4 or pid[:2] != base or pid[-1] != fold('Control'):
            continue
        active = values.get(fold('ActiveService'))
        found[path_id(system.real(pid)[2:-1])] = active.decoded() if active is not None else None
    return found


# ---------------------------------------------------------------------------------------------------------
# An empty hive, to build partial working hives on

def blank_hive_bytes(name='SOFTWARE'):
    """An empty regf hive: base block, one 4 KiB bin with a root key and its security cell."""
    bin_size = 0x1000
    root_off = 0x20
    root_name = b'ROOT'
    nk_len = 4 + 0x4C + len(root_name)
    nk_cell = (nk_len + 7) & ~7
    sk_off = root_off + nk_cell
    descriptor = struct.pack('<BBHIIII', 1, 0, 0x8004, 0, 0, 0, 20) + struct.pack('<BBHHH', 2, 0, 8, 0, 0)
    sk_len = 4 + 20 + len(descriptor)
    sk_cell = (sk_len + 7) & ~7
    free_off = sk_off + sk_cell
    stamp = int((time.time() + 11644473600) * 10000000)
    nk = struct.pack('<i2sHQIIIIIIIIIIIIIIIHH', -nk_cell, b'nk', 0x2C, stamp, 0, 0xFFFFFFFF, 0, 0, 0xFFFFFFFF,
                     0xFFFFFFFF, 0, 0xFFFFFFFF, sk_off, 0xFFFFFFFF, 0, 0, 0, 0, 0, len(root_name), 0) + root_name
    nk += b'\x00' * (nk_cell - len(nk))
    sk = struct.pack('<i2sHIIII', -sk_cell, b'sk', 0, sk_off, sk_off, 1, len(descriptor)) + descriptor
    sk += b'\x00' * (sk_cell - len(sk))
    free_size = bin_size - free_off
    free = struct.pack('<i', free_size) + b'\x00' * (free_size - 4)
    hbin = b'hbin' + struct.pack('<IIQQI', 0, bin_size, 0, stamp, 0) + nk + sk + free
    if len(hbin) != bin_size:  # pragma: no cover - a bug here, not an input error
        raise WinRMError('internal error: empty hive bin of %d bytes' % len(hbin))
    base = bytearray(0x1000)
    struct.pack_into('<4sIIQIIIIIII', base, 0, b'regf', 1, 1, stamp, 1, 5, 0, 1, root_off, bin_size, 1)
    label = ('\\??\\C:\\Windows\\System32\\config\\' + name)[-31:].encode('utf-16-le')
    base[0x30:0x30 + len(label)] = label
    checksum = 0
    for (word,) in struct.iter_unpack('<I', bytes(base[:0x1FC])):
        checksum ^= word
    checksum = 0xFFFFFFFE if checksum == 0xFFFFFFFF else (1 if checksum == 0 else checksum)
    struct.pack_into('<I', base, 0x1FC, checksum)
    return bytes(base) + hbin


# ---------------------------------------------------------------------------------------------------------
# .reg text for reg import

def split_reg_sections(reg_text):
    """(header line, [section text]) of .reg text as Plan.to_reg renders it (one blank line between sections)."""
    lines = reg_text.replace('\r\n', '\n').split('\n')
    header = lines[0]
    sections, current = [], []
    for line in lines[1:]:
        if line.startswith('['):
            if current:
                sections.append(current)
            current = [line]
        elif line.strip() and current:
            current.append(line)
    if current:
        sections.append(current)
    return header, ['\n'.join(s) for s in sections]


def section_key(section):
    head = section.split('\n', 1)[0]
    return head[2:-1] if head.startswith('[-') else head[1:-1]


def record_first(reg_text, record_path):
    """Move the sections that write the record of originals to the front.

    reg import applies sections in order; with the record first, whatever was applied is restorable by
    state=absent, whether the import stops at a failing key or carries on past it, and a re-run completes the rest.
    """
    header, sections = split_reg_sections(reg_text)
    prefix = (SYSTEM_PREFIX + '\\' + '\\'.join(record_path)).upper()

    def is_record(section):
        key = section_key(section).upper()
        # the record key, below it, or a parent the plan creates for it
        return key == prefix or key.startswith(prefix + '\\') or prefix.startswith(key + '\\')

    first = [s for s in sections if not s.startswith('[-') and is_record(s) and
             section_key(s).upper() != SYSTEM_PREFIX]
    # the record key itself (its Version value) first: restore refuses a record without it
    first.sort(key=lambda s: 0 if section_key(s).upper() == prefix else 1 if prefix.startswith(section_key(s).upper()) else 2)
    first.sort(key=lambda s: 0 if prefix.startswith(section_key(s).upper() + '\\') else 1)
    rest = [s for s in sections if s not in first]
    return header + '\n\n' + '\n\n'.join(first + rest) + '\n'


def in_two_parts(reg_text, first):
    """(.reg text, lines to skip): the sections ``first`` picks moved to the end, so that the host can import them
    alone first (``more +N`` of the file behind a header) and then the whole file only if that worked.

    Why: whether reg import stops at a key it may not write or carries on is not documented. Imported alone and first,
    the record of originals is in place before any change (or, for state=absent, every original is back before the
    record is deleted), whichever it does. None for the lines when one of the parts is empty.
    """
    header, sections = split_reg_sections(reg_text)
    head = [s for s in sections if first(s)]
    rest = [s for s in sections if not first(s)]
    if not head or not rest:
        return reg_text, None
    before = header + '\n\n' + '\n\n'.join(rest) + '\n\n'
    skip = len(ascii_reg(before).split(b'\r\n')) - 1
    return before + '\n\n'.join(head) + '\n', skip


def record_part(record_path, state='present'):
    """The sections to import first: the record of originals (present), every section but its removal (absent)."""
    prefix = (SYSTEM_PREFIX + '\\' + '\\'.join(record_path[:1])).upper()

    def is_record(section):
        key = section_key(section).upper()
        return key == prefix or key.startswith(prefix + '\\')
    if state == 'absent':
        return lambda section: not is_record(section)
    return is_record


def touches(reg_text, top_key):
    prefix = (SYSTEM_PREFIX + '\\' + top_key).upper()
    return any(section_key(s).upper() == prefix or section_key(s).upper().startswith(prefix + '\\')
               for s in split_reg_sections(reg_text)[1])


def _unescape(text):
    """A .reg quoted string's content (Plan.to_reg escapes only backslash and double quote)."""
    return re.sub(r'\\(.)', r'\1', text)


def _hex_lines(head, data):
    """'head' followed by the bytes as regedit writes long hex data: comma lists continued with a backslash."""
    items = ['%02x' % b for b in bytearray(data)]
    lines, line = [], head
    for index, item in enumerate(items):
        piece = item + (',' if index < len(items) - 1 else '')
        if len(line) + len(piece) > REG_LINE - 2:
            lines.append(line + '\\')
            line = '  '
        line += piece
    lines.append(line)
    return lines


def ascii_reg(reg_text):
    """The .reg text as plain ASCII with CRLF, which reg import reads as it reads any ANSI .reg file.

    Strings with other characters become hex(1): their UTF-16LE bytes, exactly as the plan holds them; long hex data
    is wrapped as regedit wraps it. Key and value names must be ASCII (they cannot be written as hex).
    """
    out = []
    for line in reg_text.replace('\r\n', '\n').split('\n'):
        if not line or line.startswith('[') or line.startswith('Windows Registry'):
            if any(ord(c) > 126 for c in line):
                raise WinRMError('registry key %s has characters outside ASCII; the live modules send the change '
                                 'as ASCII text: make this change with the offline modules' % line)
            out.append(line)
            continue
        match = re.match(r'^(@|"(?:[^"\\]|\\.)*")=(.*)$', line)
        if not match:
            raise WinRMError('internal error: unexpected .reg line %r' % line)
        name, data = match.groups()
        if any(ord(c) > 126 for c in name):
            raise WinRMError('registry value name %s has characters outside ASCII; the live modules send the change '
                             'as ASCII text: make this change with the offline modules' % name)
        if data.startswith('"') and any(ord(c) > 126 for c in data):
            raw = _unescape(data[1:-1]).encode('utf-16-le') + b'\x00\x00'
            out += _hex_lines('%s=hex(1):' % name, raw)
        elif data.startswith('hex') and len(line) > REG_LINE:
            head, _sep, body = data.partition(':')
            out += _hex_lines('%s=%s:' % (name, head), bytes(bytearray(int(b, 16) for b in body.split(',') if b)))
        else:
            out.append(line)
    return '\r\n'.join(out).encode('ascii')


# ---------------------------------------------------------------------------------------------------------
# Driver packages

def package_files(inf_path, files):
    """[(name on the host, local path)] for a driver package: every file beside the INF and the files it copies."""
    folder = os.path.dirname(os.path.abspath(inf_path))
    chosen = {}
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        if os.path.isfile(path):
            chosen[entry.lower()] = (entry, path)
    for item in files or []:
        path = item.get('source_path')
        if path and os.path.isfile(path):
            name = os.path.basename(path)
            if name.lower() in chosen and os.path.abspath(chosen[name.lower()][1]) != os.path.abspath(path):
                raise WinRMError('driver package %s has two files named %s in different folders; stage it by hand '
                                 'with pnputil' % (inf_path, name))
            chosen[name.lower()] = (name, path)
    out = [chosen[k] for k in sorted(chosen)]
    for name, _p in out:
        if not all(32 < ord(c) < 127 and c not in '"<>|*?\\/:%!\'^&' for c in name):
            raise WinRMError('driver package file %r has a name cmd.exe cannot pass safely' % name)
    size = sum(os.path.getsize(p) for _n, p in out)
    if size > MAX_PACKAGE_BYTES:
        raise WinRMError('driver package %s is %d bytes; more than %d is not sent over WinRM' % (
            inf_path, size, MAX_PACKAGE_BYTES))
    return out
