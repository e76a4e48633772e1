# -*- coding: utf-8 -*-
# The regf fast path for new keys (backends/regf.py): Windows' index order and hashes (checked against real hives),
# structure.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends import regf
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner, Value

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import dump_hive, unpacked_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import run_plan  # noqa: E402


def walk_indexes(path, allow_dirty=False):
    """Yield (parent offset, [child names in index order], [(name, stored lh hash)]) for every key."""
    hive = Hive(path, allow_dirty=allow_dirty)
    with open(path, 'rb') as f:
        buf = f.read()
    img = regf._Image(buf)
    stack = [hive.node(())]
    while stack:
        node = stack.pop()
        kids, cells = img.subkey_index(node)
        hashes = []
        for cell in cells:
            data, _size = img.cell(cell)
            if buf[data:data + 2] == b'lh':
                for i in range(struct.unpack_from('<H', buf, data + 2)[0]):
                    off, stored = struct.unpack_from('<II', buf, data + 4 + 8 * i)
                    hashes.append((img.nk_name(off + regf.HBIN_BASE), stored))
        yield node, [img.nk_name(c) for c in kids], hashes
        stack.extend(kids)


@pytest.mark.parametrize('name, allow_dirty', [('win7-sp1-x86.SYSTEM', False), ('win10-1903-x64-dirty.SYSTEM', True)])
def test_our_order_and_hash_rules_match_what_windows_wrote(name, allow_dirty):
    parents = entries = 0
    for _node, names, hashes in walk_indexes(unpacked_hive(name), allow_dirty):
        keys = [regf.windows_sort_key(n) for n in names]
        assert keys == sorted(keys), names[:10]
        for child, stored in hashes:
            assert regf.lh_hash(child) == stored, child
        parents += 1
        entries += len(hashes)
    assert parents > 10000 and entries > 10000


def test_new_keys_are_sorted_hashed_and_readable(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    names = ['Fs_A', 'FsB', 'fs[', 'FS`x', 'zz_last', 'AA_first', 'Ünïcødé', 'Ελληνικά', '中文']

    def plan(hive, planner):
        for n in names:
            planner.ensure_value(('ControlSet001', 'services', n), Value.dword('Start', 4))
            planner.ensure_value(('ControlSet001', 'services', n, 'Parameters'), Value.sz('x', n))
        planner.ensure_value(('SanbootNew',) + tuple(names[:3]), Value.binary('b', b'\x00' * 100))
    run_plan(path, plan, backup=False)
    seen = set()
    for _node, kids, hashes in walk_indexes(path):
        keys = [regf.windows_sort_key(n) for n in kids]
        assert keys == sorted(keys)
        assert all(regf.lh_hash(n) == h for n, h in hashes)
        seen.update(kids)
    assert set(names) <= seen
    hive = Hive(path)
    for n in names:
        assert hive.dword(('ControlSet001', 'Services', n), 'Start') == 4
        assert hive.get_value(('ControlSet001', 'Services', n, 'parameters'), 'X').decoded() == n
    assert hive.get_value(('SanbootNew', 'Fs_A', 'FsB', 'fs['), 'b').data == b'\x00' * 100
    assert not hive.header.dirty and hive.header.checksum_ok


def test_big_parent_gets_an_index_root_and_old_cells_are_freed(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    cddb = ('ControlSet001', 'Control', 'CriticalDeviceDatabase')
    with open(path, 'rb') as f:
        buf = f.read()
    img = regf._Image(buf)
    old_cells = img.subkey_index(Hive(path).node(cddb))[1]

    def plan(hive, planner):
        for i in range(1200):
            planner.ensure_key(cddb + ('pci#ven_%04x&dev_0001' % i,))
    run_plan(path, plan, backup=False)
    with open(path, 'rb') as f:
        buf = f.read()
    for cell in old_cells:
        assert struct.unpack_from('<i', buf, cell)[0] > 0, 'replaced index cell still allocated'
    img = regf._Image(buf)
    kids, cells = img.subkey_index(Hive(path).node(cddb))
    assert len(kids) == 2548 + 1200
    assert buf[img.cell(cells[0])[0]:img.cell(cells[0])[0] + 2] == b'ri'
    assert len(Hive(path).subkeys(cddb)) == 3748


def test_security_refcount_follows_new_keys(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    hive = Hive(path)
    with open(path, 'rb') as f:
        buf = f.read()
    parent = hive.node(('ControlSet001', 'Services'))
    sk = struct.unpack_from('<I', buf, parent + 4 + 44)[0] + regf.HBIN_BASE
    before = struct.unpack_from('<I', buf, sk + 4 + 12)[0]

    def plan(hive, planner):
        for i in range(5):
            planner.ensure_key(('ControlSet001', 'Services', 'New%d' % i))
    run_plan(path, plan, backup=False)
    with open(path, 'rb') as f:
        buf = f.read()
    assert struct.unpack_from('<I', buf, sk + 4 + 12)[0] == before + 5


def test_same_result_as_libhivex_alone(hive_copy):
    """The fast path and libhivex's own node_add_child give the same registry content."""
    fast, slow = hive_copy('win7-sp1-x86.SYSTEM', 'fast'), hive_copy('win7-sp1-x86.SYSTEM', 'slow')
    ids = [('ControlSet001', 'Control', 'CriticalDeviceDatabase', 'pci#ven_%04x&dev_beef' % i) for i in range(50)]

    def plan(hive, planner):
        for key in ids:
            planner.ensure_value(key, Value.sz('Service', 'E1G60'))
            planner.ensure_value(key, Value.dword('Flags', 7))
        return {}
    run_plan(fast, plan, backup=False)
    hive = Hive(slow, write=True)
    planner = Planner(hive)
    plan(hive, planner)
    hive._apply_hivex(planner.plan)  # libhivex only
    hive.commit(backup=False)
    assert dump_hive(fast) == dump_hive(slow)
