# -*- coding: utf-8 -*-
# Our writes read back by two parsers that share no code with libhivex (libregf, dissect.regf): on every fixture hive,
# after the fast path (regf.py appends new keys) and after the libhivex path, each reader sees exactly the change the
# plan made and nothing else (the whole hive is compared).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.backends import regf
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import HiveError
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ, Value,
)

pytest.importorskip('hivex')
pytest.importorskip('pyregf')
pytest.importorskip('dissect.regf')

from ansible_collections.sanboot.windows.tests.helpers import dump_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.regreaders import apply_reg, assert_readers_see  # noqa: E402

FIXTURES = ['win7-sp1-x86.SYSTEM', 'win81-x64-dirty.SYSTEM', 'win10-1903-x64-dirty.SYSTEM', 'phony-windows.SYSTEM',
            'phony-winxp-32.SOFTWARE', 'phony-win7-32.SOFTWARE', 'phony-win10.SOFTWARE', 'phony-win11.SOFTWARE',
            'phony-win2k22.SOFTWARE', 'phony-win2k25.SOFTWARE', 'minimal.hive', 'special-names.hive']

NEW_VALUES = [
    Value.sz('Text', 'iSCSI Boot ü™'), Value.expand_sz('Path', '%SystemRoot%\\System32\\drivers\\x.sys'),
    Value.multi_sz('List', ['NDIS', 'Boot Bus Extender']), Value.dword('Start', 0), Value.qword('Big', 2 ** 40 + 3),
    Value.binary('Blob', bytes(range(256)) * 3), Value('Nothing', 0, b''), Value.sz('', 'default value'),
]


def _changed(value):
    """Other data of the same type, well formed (libregf shows strings only up to their NUL)."""
    if value.type in (REG_SZ, REG_EXPAND_SZ):
        return Value(value.name, value.type, ('%s+' % value.decoded()).encode('utf-16-le') + b'\x00\x00')
    if value.type == REG_MULTI_SZ:
        return Value.multi_sz(value.name, value.decoded() + ['+'])
    return Value(value.name, value.type, bytes(b ^ 0xFF for b in value.data) or b'\x01')


def _prefix(result):
    return result['diff']['before_header'].rsplit(' (', 1)[1][:-1]


def _existing(dump):
    """A key with values to edit (deepest first, for a parent with siblings) and a leaf key to delete."""
    with_values = sorted((k for k in dump if k and dump[k] and max(len(d) for _t, d in dump[k].values()) <= 16344),
                         key=lambda k: (-len(k), k))
    edited = with_values[0] if with_values else ()
    parents = set(k[:-1] for k in dump if k)
    leaves = sorted(k for k in dump if k and k not in parents and k[:len(edited)] != edited and edited[:len(k)] != k)
    return edited, (leaves[0] if leaves else None)


@pytest.fixture
def appends(monkeypatch):
    """Records each use of the fast path (regf.append_keys_to_file)."""
    calls = []
    real = regf.append_keys_to_file

    def spy(path, keys):
        calls.append(len(keys))
        return real(path, keys)
    monkeypatch.setattr(regf, 'append_keys_to_file', spy)
    return calls


@pytest.mark.parametrize('name', FIXTURES)
def test_independent_readers_see_exactly_the_planned_change(name, hive_copy, appends):
    path = hive_copy(name)
    before = dump_hive(path)      # the fixture as libhivex reads it; the change is read back without libhivex
    edited, leaf = _existing(before)

    def fast(hive, planner):
        # New keys (the fast path) beside edits of existing values (libhivex) in one write.
        for value in NEW_VALUES:
            planner.ensure_value(('SanbootNew', 'Sub'), value)
        planner.ensure_value(('SanbootNew',), Value.dword('Level', 1))
        planner.ensure_value(edited + ('SanbootChild',), Value.sz('Note', 'new key under an existing parent'))
        planner.ensure_value(edited, Value.dword('SanbootProbe', 7))
        values = planner.values(edited)
        if values:
            first = values[0]
            planner.ensure_value(edited, _changed(first))
        if len(values) > 1:
            planner.ensure_value_absent(edited, values[1].name)

    result = offline.run(path, fast, allow_dirty=True, backup=False)
    assert result['changed'] and appends, 'the fast path was not used'
    expected = apply_reg(before, result['reg'], _prefix(result))
    assert expected != before
    assert_readers_see(path, expected)

    del appends[:]

    def hivex_only(hive, planner):
        # A key deleted after keys are created makes the whole plan go through libhivex (Hive._split_new_keys).
        planner.ensure_value(('SanbootOther',), Value.binary('Blob', bytes(range(251)) * 60))
        planner.ensure_value(('SanbootNew',), Value.multi_sz('Level', ['changed type']))
        planner.ensure_key_absent(('SanbootNew', 'Sub'))
        if leaf:
            planner.ensure_key_absent(leaf)

    again = offline.run(path, hivex_only, allow_dirty=True, backup=False)
    assert again['changed'] and not appends, 'the plan should have gone through libhivex alone'
    expected = apply_reg(expected, again['reg'], _prefix(again))
    assert_readers_see(path, expected)


def test_values_libhivex_would_damage_are_refused(hive_copy):
    """Big values (over 16344 bytes): libhivex writes them as one cell, which the other readers (and Windows) take for
    big-data records; and it rewrites a key's big value when it changes another value of that key."""
    path = hive_copy('win81-x64-dirty.SYSTEM')
    with open(path, 'rb') as f:
        before = f.read()
    key = 'ControlSet001\\Control\\ProductOptions'     # ProductPolicy: 23,748 bytes
    for plan in (offline.plan_regedit(key, name='SanbootProbe', data=1, type_name='dword'),
                 offline.plan_regedit('ControlSet001\\Services\\atapi', name='Big', data=[1] * 16345, type_name='binary')):
        for check_mode in (True, False):
            with pytest.raises(HiveError, match='big-data records'):
                offline.run(path, plan, check_mode=check_mode, allow_dirty=True)
    with open(path, 'rb') as f:
        assert f.read() == before
    # A value of 16344 bytes is still a plain cell, which every reader takes as it is.
    result = offline.run(path, offline.plan_regedit('ControlSet001\\Services\\atapi', name='Big', data=[1] * 16344,
                                                    type_name='binary'), backup=False, allow_dirty=True)
    expected = apply_reg(dump_hive(hive_copy('win81-x64-dirty.SYSTEM', 'original')), result['reg'], _prefix(result))
    assert_readers_see(path, expected)
