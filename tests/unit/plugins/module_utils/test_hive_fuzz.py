# -*- coding: utf-8 -*-
# The hive reader on 5,000 damaged copies of the fixture hives (bit flips, truncation, bad cell offsets): each one
# either reads or is refused with a RegistryError, and the file is left byte-identical. Nothing else may escape.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import struct
import time

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import unpacked_hive  # noqa: E402

SMALL = ['minimal.hive', 'special-names.hive', 'phony-windows.SYSTEM', 'phony-winxp-32.SOFTWARE',
         'phony-win7-32.SOFTWARE', 'phony-win10.SOFTWARE', 'phony-win11.SOFTWARE', 'phony-win2k22.SOFTWARE',
         'phony-win2k25.SOFTWARE']
BIG = ['win7-sp1-x86.SYSTEM', 'win81-x64-dirty.SYSTEM', 'win10-1903-x64-dirty.SYSTEM']
CASES = 5000
BIG_CASES = 150         # of the 5,000: a big hive costs ~100 times a small one to write and open
WALK_LIMIT = 400        # keys read per big hive (all of a small one)
BAD_OFFSETS = (0xFFFFFFFF, 0x7FFFFFF8, 0x80000000, 0, 4, 0x20, 0xFFFFFFF8)


def cells(data):
    """File offsets of the allocated cells of a hive image (walking its bins)."""
    out = []
    pos = 0x1000
    while pos + 0x20 <= len(data) and data[pos:pos + 4] == b'hbin':
        size = struct.unpack_from('<I', data, pos + 8)[0]
        if size < 0x1000:
            break
        cell = pos + 0x20
        while cell + 4 <= min(pos + size, len(data)):
            length = struct.unpack_from('<i', data, cell)[0]
            if length == 0:
                break
            if length < 0:
                out.append(cell)
            cell += abs(length)
        pos += size
    return out


def mutate(rng, data, cell_offsets):
    """(description, damaged copy of ``data``)."""
    out = bytearray(data)
    kind = rng.choice(['flip', 'flip', 'truncate', 'offset', 'offset', 'header'])
    if kind == 'flip':
        # Bit flips where the structure lives: the base block, the cells' first bytes, anywhere.
        spots = []
        for _flip in range(rng.randint(1, 8)):
            where = rng.choice(['header', 'cell', 'any'])
            if where == 'header':
                pos = rng.randrange(0x200)
            elif where == 'cell' and cell_offsets:
                pos = rng.choice(cell_offsets) + rng.randrange(0x50)
            else:
                pos = rng.randrange(len(out))
            pos = min(pos, len(out) - 1)
            out[pos] ^= 1 << rng.randrange(8)
            spots.append('0x%x' % pos)
        return 'bit flips at %s' % ','.join(spots), bytes(out)
    if kind == 'truncate':
        cut = rng.choice([rng.randrange(0x1000), rng.randrange(0x1000, len(out)), len(out) - rng.randrange(1, 0x1000)])
        return 'truncated to %d bytes' % cut, bytes(out[:max(cut, 0)])
    if kind == 'header':
        # The base block's own offsets: root cell (0x24), size of the bins (0x28); checksum kept valid so the
        # damage gets past the header check.
        field = rng.choice([0x24, 0x28])
        value = rng.choice(BAD_OFFSETS + (rng.randrange(1 << 32), len(out)))
        struct.pack_into('<I', out, field, value)
        checksum = 0
        for (word,) in struct.iter_unpack('<I', bytes(out[:0x1FC])):
            checksum ^= word
        struct.pack_into('<I', out, 0x1FC, {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(checksum, checksum))
        return 'header field 0x%x = 0x%x' % (field, value), bytes(out)
    # A bad offset or count in a cell: subkey list, value list, parent, security, name length, data offset...
    cell = rng.choice(cell_offsets) if cell_offsets else 0x1020
    field = cell + 4 + 4 * rng.randrange(0x14)
    if field + 4 > len(out):
        field = len(out) - 4
    value = rng.choice(BAD_OFFSETS + (rng.randrange(1 << 32), len(out), cell - 0x1000, rng.choice(cell_offsets or [0])))
    struct.pack_into('<I', out, field, value & 0xFFFFFFFF)
    return 'cell 0x%x: field 0x%x = 0x%x' % (cell, field, value & 0xFFFFFFFF), bytes(out)


def read_everything(path, limit):
    """What the modules read: the header checks, the keys and values, the hive's kind, its control sets."""
    hive = Hive(path, allow_dirty=True)
    seen = 0
    stack = [()]
    while stack and seen < limit:
        key = stack.pop()
        seen += 1
        for value in hive.values(key):
            value.decoded()
            value.display()
        stack.extend(key + (name,) for name in hive.subkeys(key))
    offline.hive_kind(hive)
    if hive.key_exists(('Select',)):
        hive.control_sets('all')
    return seen


def test_damaged_hives_are_read_or_refused_and_never_changed(tmp_path):
    rng = random.Random(16)
    sources = dict((name, open(unpacked_hive(name), 'rb').read()) for name in SMALL + BIG)
    offsets = dict((name, cells(data)) for name, data in sources.items())
    plan = [rng.choice(BIG) for _i in range(BIG_CASES)] + [rng.choice(SMALL) for _i in range(CASES - BIG_CASES)]
    rng.shuffle(plan)
    path = str(tmp_path / 'damaged')
    outcomes = {'read': 0, 'refused': 0}
    escaped = []
    started = time.time()
    for index, name in enumerate(plan):
        what, data = mutate(rng, sources[name], offsets[name])
        with open(path, 'wb') as f:
            f.write(data)
        try:
            read_everything(path, WALK_LIMIT if name in BIG else 10 ** 6)
            outcomes['read'] += 1
        except RegistryError:
            outcomes['refused'] += 1
        except Exception as exc:  # pylint: disable=broad-except
            escaped.append('case %d, %s, %s: %s: %s' % (index, name, what, type(exc).__name__, exc))
        with open(path, 'rb') as f:
            if f.read() != data:
                escaped.append('case %d, %s, %s: the file was changed' % (index, name, what))
    os.unlink(path)
    print('fuzz: %d cases in %.1f s: %r' % (len(plan), time.time() - started, outcomes))
    assert not escaped, '\n'.join(escaped[:20])
    # Both outcomes happen: the mutations are neither all harmless nor all fatal.
    assert outcomes['read'] > CASES // 10 and outcomes['refused'] > CASES // 10
