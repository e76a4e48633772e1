# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Add new keys to a regf hive image in one pass: the fast path for creating many keys.

libhivex re-reads and re-decodes every sibling's name for each key it adds (twice: the duplicate check and
the sorted insert), which makes adding thousands of Critical Device Database entries quadratic. Here the new
keys, their values and the rebuilt subkey indexes are written into one hive bin appended to the file that
libhivex just committed. Existing cells are never moved; replaced index cells are marked free.

Subkey indexes are sorted the way Windows compares names (upcase each UTF-16 unit; so 'FsDepends' sorts
before 'Fs_Rec', unlike a lower-case comparison) and carry Windows' lh name hashes: Windows looks subkeys up
by binary search and hash, so both matter. The tests check both rules against every index of the real
Windows 7 and 10 fixture hives.

Format reference: the "Windows registry file format specification" (Maxim Suhanov) and libhivex's lib/.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import mmap
import struct
import time

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, fold

HBIN_BASE = 0x1000
LEAF_MAX = 500              # entries per lh leaf (Windows splits well before the 16-bit limit)
INLINE_DATA_MAX = 4         # data of at most 4 bytes lives in the vk cell itself
BIG_DATA_MIN = 16345        # larger values need "db" big-data records: refused (see hive.Hive.check_plan)


class RegfError(RegistryError):
    pass


def _filetime_now():
    return int((time.time() + 11644473600) * 10000000)


def _pad8(n):
    return (n + 7) & ~7


def _name_bytes(name):
    """(bytes, compressed?) Windows stores names below U+0100 one byte per character (KEY_COMP_NAME)."""
    if all(ord(c) < 256 for c in name):
        return name.encode('latin-1'), True
    return name.encode('utf-16-le'), False


def lh_hash(name):
    h = 0
    for c in fold(name):
        h = (h * 37 + ord(c)) & 0xFFFFFFFF
    return h


def windows_sort_key(name):
    """Order of subkeys in an index: names compared case-insensitively by upcased UTF-16 code units."""
    return fold(name).encode('utf-16-be')


class NewKey(object):
    """A key to create: ``parent`` is an existing nk offset (int, file-relative) or another NewKey."""

    __slots__ = ('parent', 'name', 'values', 'children', 'offset')

    def __init__(self, parent, name, values):
        self.parent = parent
        self.name = name
        self.values = values
        self.children = []
        self.offset = None


def appendable(values):
    return all(len(v.data) < BIG_DATA_MIN for v in values)


class _Image(object):
    """Read access to cells of a hive image (bytearray), addressed by file offsets."""

    def __init__(self, buf):
        self.buf = buf
        if bytes(buf[:4]) != b'regf':
            raise RegfError('not a regf image')
        self.bins_size = struct.unpack_from('<I', buf, 0x28)[0]

    def cell(self, off):
        size = struct.unpack_from('<i', self.buf, off)[0]
        if size >= 0:
            raise RegfError('cell at 0x%x is not allocated' % off)
        return off + 4, -size

    def nk(self, off):
        data = self.cell(off)[0]
        if bytes(self.buf[data:data + 2]) != b'nk':
            raise RegfError('cell at 0x%x is not a key' % off)
        return data

    def nk_name(self, off):
        data = self.nk(off)
        flags = struct.unpack_from('<H', self.buf, data + 2)[0]
        length = struct.unpack_from('<H', self.buf, data + 72)[0]
        raw = bytes(self.buf[data + 76:data + 76 + length])
        return raw.decode('latin-1') if flags & 0x20 else raw.decode('utf-16-le', 'replace')

    def subkey_index(self, nk_off):
        """(child nk offsets, index cell offsets) of a key's stable subkeys."""
        data = self.nk(nk_off)
        count = struct.unpack_from('<I', self.buf, data + 20)[0]
        list_rel = struct.unpack_from('<I', self.buf, data + 28)[0]
        if count == 0 or list_rel == 0xFFFFFFFF:
            return [], ([] if list_rel == 0xFFFFFFFF else [HBIN_BASE + list_rel])
        children, cells = [], []
        self._walk_index(HBIN_BASE + list_rel, children, cells, 0)
        if len(children) != count:
            raise RegfError('key at 0x%x says %d subkeys, its index lists %d' % (nk_off, count, len(children)))
        return children, cells

    def _walk_index(self, off, children, cells, depth):
        if depth > 2:
            raise RegfError('subkey index nested too deep at 0x%x' % off)
        data = self.cell(off)[0]
        cells.append(off)
        sig = bytes(self.buf[data:data + 2])
        n = struct.unpack_from('<H', self.buf, data + 2)[0]
        if sig in (b'lf', b'lh'):
            children.extend(HBIN_BASE + struct.unpack_from('<I', self.buf, data + 4 + 8 * i)[0] for i in range(n))
        elif sig == b'li':
            children.extend(HBIN_BASE + struct.unpack_from('<I', self.buf, data + 4 + 4 * i)[0] for i in range(n))
        elif sig == b'ri':
            for i in range(n):
                self._walk_index(HBIN_BASE + struct.unpack_from('<I', self.buf, data + 4 + 4 * i)[0],
                                 children, cells, depth + 1)
        else:
            raise RegfError('unknown subkey index %r at 0x%x' % (sig, off))


class _Bin(object):
    """Cells laid out for the hive bin we append; offsets are file offsets."""

    def __init__(self, start):
        self.start = start
        self.parts = [b'']       # hbin header placeholder, filled at the end
        self.pos = start + 32

    def add(self, payload):
        size = _pad8(len(payload) + 4)
        off = self.pos
        self.parts.append(struct.pack('<i', -size) + payload + b'\x00' * (size - 4 - len(payload)))
        self.pos += size
        return off

    def reserve(self, payload_len):
        """Allocate now, fill later (cells that point at cells allocated after them)."""
        off = self.add(b'\x00' * payload_len)
        return off, len(self.parts) - 1

    def fill(self, index, payload):
        size = len(self.parts[index])
        self.parts[index] = struct.pack('<i', -size) + payload + b'\x00' * (size - 4 - len(payload))

    def finish(self, stamp):
        used = self.pos - self.start
        total = (used + 0xFFF) & ~0xFFF
        if total - used:
            free = total - used
            self.parts.append(struct.pack('<i', free) + b'\x00' * (free - 4))
        self.parts[0] = b'hbin' + struct.pack('<IIIIQI', self.start - HBIN_BASE, total, 0, 0, stamp, 0)
        return b''.join(self.parts)


def append_keys(buf, new_keys):
    """Lay out ``new_keys`` (NewKey objects, parents before children) for the hive image ``buf`` (read-only).

    Returns (patches, end, blob): byte patches [(file offset, bytes)] for existing cells and the base block,
    and the hive bin to write at file offset ``end``. Raises RegfError when the image is not what libhivex
    left behind.
    """
    img = _Image(buf)
    stamp = _filetime_now()
    end = HBIN_BASE + img.bins_size
    out = _Bin(end)
    roots = {}                          # existing parent offset -> [NewKey]
    for key in new_keys:
        if isinstance(key.parent, NewKey):
            key.parent.children.append(key)
        else:
            roots.setdefault(key.parent, []).append(key)

    sk_refs = {}

    def parent_sk(key):
        p = key.parent
        while isinstance(p, NewKey):
            p = p.parent
        return struct.unpack_from('<I', buf, img.nk(p) + 44)[0]

    # 1. nk cells (reserved; filled once their value lists and subkey indexes exist), vk and data cells.
    slots = {}
    for key in new_keys:
        name, compressed = _name_bytes(key.name)
        if len(key.name) > 255 or not key.name:
            raise RegfError('invalid key name %r' % key.name)
        key.offset, slot = out.reserve(76 + len(name))
        slots[id(key)] = (slot, name, compressed)
    for key in new_keys:
        slot, name, compressed = slots[id(key)]
        vk_offsets = []
        max_vname = max_vdata = 0
        for value in key.values:
            vname, vcomp = _name_bytes(value.name)
            size = len(value.data)
            if size <= INLINE_DATA_MAX:
                data_field = struct.unpack('<I', value.data + b'\x00' * (4 - size))[0]
                size_field = size | 0x80000000
            else:
                data_field = out.add(value.data) - HBIN_BASE
                size_field = size
            vk = b'vk' + struct.pack('<HIIIHH', len(vname), size_field, data_field, value.type,
                                     1 if vcomp else 0, 0) + vname
            vk_offsets.append(out.add(vk) - HBIN_BASE)
            max_vname = max(max_vname, len(value.name) * 2)
            max_vdata = max(max_vdata, size)
        vlist = out.add(struct.pack('<%dI' % len(vk_offsets), *vk_offsets)) - HBIN_BASE if vk_offsets else 0xFFFFFFFF
        sk = parent_sk(key)
        sk_refs[sk] = sk_refs.get(sk, 0) + 1
        children = sorted(key.children, key=lambda k: windows_sort_key(k.name))
        index = _write_index(out, [(k.name, k.offset) for k in children]) if children else 0xFFFFFFFF
        max_sub = max([len(k.name) * 2 for k in children] or [0])
        parent_rel = (key.parent.offset if isinstance(key.parent, NewKey) else key.parent) - HBIN_BASE
        nk = b'nk' + struct.pack('<HQIIIIIIIIIIIIIIIHH',
                                 0x20 if compressed else 0, stamp, 0, parent_rel, len(children), 0, index,
                                 0xFFFFFFFF, len(vk_offsets), vlist, sk, 0xFFFFFFFF, max_sub, 0, max_vname,
                                 max_vdata, 0, len(name), 0) + name
        out.fill(slot, nk)

    # 2. Rebuild the subkey index of each existing parent with its old and new children, in Windows order.
    parent_patches = []
    for parent, keys in roots.items():
        old_children, old_cells = img.subkey_index(parent)
        entries = [(img.nk_name(c), c) for c in old_children] + [(k.name, k.offset) for k in keys]
        folded = set()
        for name, _off in entries:
            f = fold(name)
            if f in folded:
                raise RegfError('key %r already exists under the parent at 0x%x' % (name, parent))
            folded.add(f)
        entries.sort(key=lambda e: windows_sort_key(e[0]))
        index = _write_index(out, entries)
        data = img.nk(parent)
        old_max = struct.unpack_from('<H', buf, data + 52)[0]
        new_max = max([old_max] + [len(k.name) * 2 for k in keys])
        parent_patches.append((parent, data, len(entries), index, new_max, old_cells))

    blob = out.finish(stamp)
    patches = []
    for parent, data, count, index, new_max, old_cells in parent_patches:
        patches.append((data + 4, struct.pack('<Q', stamp)))
        patches.append((data + 20, struct.pack('<I', count)))
        patches.append((data + 28, struct.pack('<I', index)))
        patches.append((data + 52, struct.pack('<H', new_max)))
        for cell in old_cells:
            patches.append((cell, struct.pack('<i', abs(struct.unpack_from('<i', buf, cell)[0]))))
    for sk, refs in sk_refs.items():
        data = img.cell(HBIN_BASE + sk)[0]
        if bytes(buf[data:data + 2]) != b'sk':
            raise RegfError('security cell at 0x%x is not an sk record' % (HBIN_BASE + sk))
        patches.append((data + 12, struct.pack('<I', struct.unpack_from('<I', buf, data + 12)[0] + refs)))

    # Base block: new bins size, both sequence numbers bumped (a clean header), timestamp, checksum.
    header = bytearray(buf[:0x200])
    seq = struct.unpack_from('<I', header, 4)[0] + 1
    struct.pack_into('<IIQ', header, 4, seq, seq, stamp)
    struct.pack_into('<I', header, 0x28, end + len(blob) - HBIN_BASE)
    struct.pack_into('<I', header, 0x1FC, header_checksum(header))
    patches.append((0, bytes(header)))
    return patches, end, blob


def append_keys_to_file(path, new_keys):
    """append_keys on a hive file, in place: a few small patches and one write at the end of the file."""
    with open(path, 'r+b') as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            patches, end, blob = append_keys(buf, new_keys)
        finally:
            buf.close()
        for offset, data in patches:
            f.seek(offset)
            f.write(data)
        f.seek(end)
        f.write(blob)
        f.truncate()


def _write_index(out, entries):
    """Cells for a subkey index over (name, nk file offset) pairs already sorted; returns its hive offset."""
    leaves = []
    for start in range(0, len(entries), LEAF_MAX):
        chunk = entries[start:start + LEAF_MAX]
        payload = b'lh' + struct.pack('<H', len(chunk)) + b''.join(
            struct.pack('<II', off - HBIN_BASE, lh_hash(name)) for name, off in chunk)
        leaves.append(out.add(payload) - HBIN_BASE)
    if len(leaves) == 1:
        return leaves[0]
    return out.add(b'ri' + struct.pack('<H%dI' % len(leaves), len(leaves), *leaves)) - HBIN_BASE


def header_checksum(image):
    checksum = 0
    for (word,) in struct.iter_unpack('<I', bytes(image[:0x1FC])):
        checksum ^= word
    if checksum == 0xFFFFFFFF:
        return 0xFFFFFFFE
    if checksum == 0:
        return 1
    return checksum
