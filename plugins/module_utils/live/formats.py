# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What travels between the controller and the host, and its formats: certutil's base64 armour, .reg files (UTF-16LE as
regedit writes them, the record of originals moved first), reg query output, a tiny SOFTWARE hive for the offline
engine, and cabinets (MS-CAB) of driver packages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import os
import struct
import time
import zlib

from ansible_collections.sanboot.windows.plugins.module_utils.live.transport import WinRMError
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_QWORD, REG_SZ, Value, fold, path_id,
)

SYSTEM_PREFIX = 'HKEY_LOCAL_MACHINE\\SYSTEM'
MAX_PACKAGE_BYTES = 64 * 1024 * 1024


# ---------------------------------------------------------------------------------------------------------
# certutil armour and .reg files

def certutil_armor(data):
    """What certutil -encode writes (and -decode reads): base64 in 64-column lines between the markers."""
    text = base64.b64encode(data).decode('ascii')
    lines = ['-----BEGIN CERTIFICATE-----'] + [text[i:i + 64] for i in range(0, len(text), 64)] + \
        ['-----END CERTIFICATE-----']
    return ('\r\n'.join(lines) + '\r\n').encode('ascii')


def certutil_unarmor(text, what):
    body = []
    inside = False
    for line in text.replace('\r\n', '\n').split('\n'):
        line = line.strip()
        if line.startswith('-----BEGIN'):
            inside = True
            continue
        if line.startswith('-----END'):
            inside = False
            continue
        if inside and line:
            body.append(line)
    if not body:
        raise WinRMError('the host sent no %s (certutil output without a BEGIN/END block)' % what)
    try:
        return base64.b64decode(''.join(body).encode('ascii'), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WinRMError('the %s the host sent is not valid base64 (%s): the transfer was cut or garbled'
                         % (what, exc))


def reg_file_bytes(reg_text):
    """The .reg text as regedit writes it: UTF-16LE with a byte order mark, CRLF line ends."""
    text = reg_text.replace('\r\n', '\n').replace('\n', '\r\n')
    return b'\xff\xfe' + text.encode('utf-16-le')


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

    reg import applies sections in order and stops at a failure; with the record first, whatever prefix
    was applied is restorable by state=absent, and a re-run completes the rest.
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


def touches(reg_text, top_key):
    prefix = (SYSTEM_PREFIX + '\\' + top_key).upper()
    return any(section_key(s).upper() == prefix or section_key(s).upper().startswith(prefix + '\\')
               for s in split_reg_sections(reg_text)[1])


# ---------------------------------------------------------------------------------------------------------
# reg query output (format of reg.exe: key lines, then "    name    TYPE    data")

_TYPES = {'REG_SZ': REG_SZ, 'REG_EXPAND_SZ': REG_EXPAND_SZ, 'REG_BINARY': REG_BINARY, 'REG_DWORD': REG_DWORD,
          'REG_MULTI_SZ': REG_MULTI_SZ, 'REG_QWORD': REG_QWORD, 'REG_NONE': REG_NONE}


def parse_value_line(line):
    """'    CurrentVersion    REG_SZ    6.1' -> Value; None when the line is not a value line."""
    if not line.startswith('    '):
        return None
    parts = line[4:].split('    ', 2)
    if len(parts) < 2 or parts[1] not in _TYPES:
        return None
    name = '' if parts[0] == '(Default)' else parts[0]
    kind = _TYPES[parts[1]]
    data = parts[2] if len(parts) > 2 else ''
    if kind in (REG_SZ, REG_EXPAND_SZ):
        return Value(name, kind, data.encode('utf-16-le') + b'\x00\x00')
    if kind == REG_MULTI_SZ:
        items = [i for i in data.split('\\0') if i] if data else []
        return Value.multi_sz(name, items)
    if kind == REG_DWORD:
        return Value.dword(name, int(data, 16))
    if kind == REG_QWORD:
        return Value.qword(name, int(data, 16))
    return Value(name, kind, binascii.unhexlify(data.strip()) if data.strip() else b'')


def parse_reg_query(text):
    """{key path: [Value]} from reg query output (with or without /s)."""
    out = {}
    key = None
    for line in text.replace('\r\n', '\n').split('\n'):
        if line.startswith('HKEY_'):
            key = line.strip()
            out.setdefault(key, [])
            continue
        value = parse_value_line(line)
        if value is not None and key is not None:
            out[key].append(value)
    return out


def present_instances(text):
    """Enum instance paths (ControlSet-relative, e.g. Enum\\PCI\\VEN..\\3&..) that have a live Control key."""
    found = {}
    for key, values in parse_reg_query(text).items():
        parts = key.split('\\')
        upper = [p.upper() for p in parts]
        if 'ENUM' not in upper or upper[-1] != 'CONTROL':
            continue
        start = upper.index('ENUM')
        active = [v.decoded() for v in values if fold(v.name) == 'ACTIVESERVICE']
        found[path_id(tuple(parts[start + 1:-1]))] = active[0] if active else None
    return found


# ---------------------------------------------------------------------------------------------------------
# A tiny SOFTWARE hive holding only Microsoft\Windows NT\CurrentVersion, so the offline engine's detect_os
# reads the live version without transferring the (large) SOFTWARE hive.

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


def write_software_hive(path, values):
    """A SOFTWARE hive file with Microsoft\\Windows NT\\CurrentVersion holding ``values`` (via libhivex)."""
    import hivex  # only called where the offline engine (which needs hivex) runs
    with open(path, 'wb') as handle:
        handle.write(blank_hive_bytes())
    h = hivex.Hivex(path, write=True)
    node = h.root()
    for part in ('Microsoft', 'Windows NT', 'CurrentVersion'):
        node = h.node_add_child(node, part)
    h.node_set_values(node, [{'key': v.name, 't': v.type, 'value': v.data} for v in values])
    h.commit(path)
    del h
    return path


# ---------------------------------------------------------------------------------------------------------
# Driver packages: an uncompressed cabinet (MS-CAB), which every Windows unpacks with expand.exe

def cab_bytes(files):
    """A cabinet holding ``files`` [(name, bytes)] uncompressed, one folder, 32 KiB data blocks."""
    names = [name.encode('ascii') for name, _d in files]
    payload = b''.join(data for _n, data in files)
    blocks = [payload[i:i + 0x8000] for i in range(0, len(payload), 0x8000)] or [b'']
    header_len = 36
    folder_len = 8
    files_off = header_len + folder_len
    files_len = sum(16 + len(n) + 1 for n in names)
    data_off = files_off + files_len
    total = data_off + sum(8 + len(b) for b in blocks)
    out = bytearray()
    out += struct.pack('<4sIIIIIBBHHHHH', b'MSCF', 0, total, 0, files_off, 0, 3, 1, 1, len(files), 0, 0x5EB0, 0)
    out += struct.pack('<IHH', data_off, len(blocks), 0)
    offset = 0
    for name, (_n, data) in zip(names, files):
        # date 2020-01-01, time 00:00, attribute archive (0x20)
        out += struct.pack('<IIHHHH', len(data), offset, 0, (40 << 9) | (1 << 5) | 1, 0, 0x20) + name + b'\x00'
        offset += len(data)
    for block in blocks:
        out += struct.pack('<IHH', 0, len(block), len(block)) + block
    if len(out) != total:  # pragma: no cover
        raise WinRMError('internal error: cabinet of %d bytes instead of %d' % (len(out), total))
    return bytes(out)


def cab_extract(data):
    """[(name, bytes)] of a cabinet's first folder: stored or MSZIP (what makecab writes by default).

    MSZIP (MS-MCI): each CFDATA block is "CK" and a complete deflate stream whose back-references may reach
    into the previous 32 KiB of output, so each block is inflated with that history as preset dictionary.
    """
    try:
        flags = struct.unpack_from('<H', data, 30)[0]
        files_off = struct.unpack_from('<I', data, 16)[0]
        count = struct.unpack_from('<H', data, 28)[0]
        off = 36
        folder_reserve = data_reserve = 0
        if flags & 4:
            header_reserve, folder_reserve, data_reserve = struct.unpack_from('<HBB', data, off)
            off += 4 + header_reserve
        if flags & 3:
            raise WinRMError('multi-cabinet sets are not supported')
        data_off, blocks, kind = struct.unpack_from('<IHH', data, off)
        del folder_reserve
        kind &= 0x0F
        if kind not in (0, 1):
            raise WinRMError('the cabinet uses compression type %d; only stored and MSZIP are read' % kind)
        out, history, pos = [], b'', data_off
        for _index in range(blocks):
            size, usize = struct.unpack_from('<HH', data, pos + 4)
            pos += 8 + data_reserve
            block = data[pos:pos + size]
            pos += size
            if kind == 0:
                chunk = block
            else:
                if block[:2] != b'CK':
                    raise WinRMError('a MSZIP block of the cabinet lacks its CK signature')
                inflater = zlib.decompressobj(-15, zdict=history) if history else zlib.decompressobj(-15)
                chunk = inflater.decompress(block[2:]) + inflater.flush()
            if len(chunk) != usize:
                raise WinRMError('a cabinet block inflated to %d bytes instead of %d' % (len(chunk), usize))
            out.append(chunk)
            history = (history + chunk)[-32768:]
        stream = b''.join(out)
        members, off = [], files_off
        for _index in range(count):
            size, start, folder = struct.unpack_from('<IIH', data, off)
            end = data.index(b'\x00', off + 16)
            if folder == 0:
                members.append((data[off + 16:end].decode('latin-1'), stream[start:start + size]))
            off = end + 1
        return members
    except (struct.error, ValueError, zlib.error) as exc:
        raise WinRMError('the cabinet the host sent is damaged (%s)' % exc)


def package_files(inf_path, files):
    """[(name in the cab, local path)] for a driver package: every file beside the INF and the files it copies."""
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
        if not all(32 < ord(c) < 127 and c not in '"<>|*?\\/:' for c in name):
            raise WinRMError('driver package file %r has a name cmd.exe cannot pass safely' % name)
    size = sum(os.path.getsize(p) for _n, p in out)
    if size > MAX_PACKAGE_BYTES:
        raise WinRMError('driver package %s is %d bytes; more than %d is not sent over WinRM' % (
            inf_path, size, MAX_PACKAGE_BYTES))
    return out
