# -*- coding: utf-8 -*-
# Registry model: value encodings, user input conversion, planning and .reg rendering (no hive needed).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_QWORD, REG_SZ,
    Planner, RegistryError, Value, split_path, value_from_user,
)


class DictReader(object):
    """A tiny in-memory registry: {('A','B'): {'name': Value}} with implied parents."""

    def __init__(self, keys):
        self.keys = {}
        for path, values in keys.items():
            for i in range(1, len(path) + 1):
                self.keys.setdefault(tuple(p.upper() for p in path[:i]), (path[:i], {}))
            self.keys[tuple(p.upper() for p in path)] = (path, dict((v.name.upper(), v) for v in values))

    def key_exists(self, path):
        return tuple(p.upper() for p in path) in self.keys

    def real_path(self, path):
        return self.keys[tuple(p.upper() for p in path)][0]

    def get_value(self, path, name):
        entry = self.keys.get(tuple(p.upper() for p in path))
        return entry[1].get(name.upper()) if entry else None

    def values(self, path):
        return list(self.keys[tuple(p.upper() for p in path)][1].values())

    def subkeys(self, path):
        pid = tuple(p.upper() for p in path)
        return [entry[0][-1] for k, entry in self.keys.items() if len(k) == len(pid) + 1 and k[:len(pid)] == pid]


def test_value_encodings():
    assert Value.sz('a', 'E1G60').data == 'E1G60\x00'.encode('utf-16-le')
    assert Value.expand_sz('a', 'x').type == REG_EXPAND_SZ
    assert Value.multi_sz('a', ['a', 'b']).data == 'a\x00b\x00\x00'.encode('utf-16-le')
    assert Value.multi_sz('a', []).data == b'\x00\x00'
    assert Value.dword('a', 1).data == b'\x01\x00\x00\x00'
    assert Value.dword('a', -1).data == b'\xff\xff\xff\xff'
    assert Value.qword('a', 2 ** 40).data == (2 ** 40).to_bytes(8, 'little')
    assert Value.multi_sz('a', ['x', 'y']).decoded() == ['x', 'y']
    assert Value('a', 0x40007, 'x\x00\x00'.encode('utf-16-le')).decoded() == ['x']


def test_string_equality_ignores_bytes_after_nul():
    stored = Value('Service', REG_SZ, 'E1G60\x00junk'.encode('utf-16-le'))
    assert Value.sz('Service', 'E1G60').same_as(stored)
    assert not Value.sz('Service', 'E1G6').same_as(stored)
    # The type is part of the value: REG_EXPAND_SZ and REG_SZ with the same text differ.
    assert not Value.expand_sz('Service', 'E1G60').same_as(Value.sz('Service', 'E1G60'))


@pytest.mark.parametrize('value, line', [
    (Value.sz('Service', 'E1G60'), '"Service"="E1G60"'),
    (Value.sz('', 'x'), '@="x"'),
    (Value.sz('q"uote', 'a\\b"c'), '"q\\"uote"="a\\\\b\\"c"'),
    (Value.dword('Start', 0), '"Start"=dword:00000000'),
    (Value.dword('x', 0xFFFFFFFF), '"x"=dword:ffffffff'),
    (Value.expand_sz('P', 'a'), '"P"=hex(2):61,00,00,00'),
    (Value.multi_sz('M', ['a']), '"M"=hex(7):61,00,00,00,00,00'),
    (Value.qword('Q', 1), '"Q"=hex(b):01,00,00,00,00,00,00,00'),
    (Value.binary('B', b'\x01\xff'), '"B"=hex:01,ff'),
    (Value('N', REG_NONE, b''), '"N"=hex(0):'),
    (Value('U', 0x40007, b'\x61\x00\x00\x00\x00\x00'), '"U"=hex(40007):61,00,00,00,00,00'),
    # A REG_SZ without its terminator cannot be written as "..." without changing its bytes.
    (Value('S', REG_SZ, b'\x61\x00'), '"S"=hex(1):61,00'),
])
def test_value_to_reg(value, line):
    assert value.to_reg() == line


@pytest.mark.parametrize('type_name, data, expected', [
    ('dword', 1, Value.dword('v', 1)),
    ('dword', '0x10', Value.dword('v', 16)),
    ('dword', '4294967295', Value.dword('v', 0xFFFFFFFF)),
    ('dword', -1, Value.dword('v', 0xFFFFFFFF)),
    ('qword', '0x100000000', Value.qword('v', 2 ** 32)),
    ('string', 'abc', Value.sz('v', 'abc')),
    ('string', 12, Value.sz('v', '12')),
    ('expandstring', '%SystemRoot%\\x', Value.expand_sz('v', '%SystemRoot%\\x')),
    ('multistring', ['a', 'b'], Value.multi_sz('v', ['a', 'b'])),
    ('multistring', 'a', Value.multi_sz('v', ['a'])),
    ('binary', [1, 255], Value.binary('v', b'\x01\xff')),
    ('binary', 'hex:be,ef', Value.binary('v', b'\xbe\xef')),
    ('binary', '0xbe,0xef', Value.binary('v', b'\xbe\xef')),
    ('none', None, Value('v', REG_NONE, b'')),
])
def test_value_from_user(type_name, data, expected):
    assert value_from_user('v', type_name, data) == expected


@pytest.mark.parametrize('type_name, data, message', [
    ('dword', 2 ** 32, 'does not fit'),
    ('dword', 'ten', 'decimal or 0x-hex'),
    ('dword', True, 'boolean'),
    ('binary', [256], 'not a byte'),
    ('binary', 'zz', 'not a hex byte'),
    ('string', 'a\x00b', 'NUL'),
    ('multistring', ['a', ''], 'empty'),
    ('float', 1, 'unknown registry type'),
])
def test_value_from_user_errors(type_name, data, message):
    with pytest.raises(RegistryError, match=message):
        value_from_user('v', type_name, data)


def test_split_path():
    assert split_path('\\A\\B\\') == ('A', 'B')
    assert split_path('') == ()
    with pytest.raises(RegistryError, match='empty component'):
        split_path('A\\\\B')
    with pytest.raises(RegistryError, match='longer than'):
        split_path('A\\' + 'x' * 256)


def test_planner_is_minimal_and_keeps_spelling():
    reader = DictReader({('ControlSet001', 'Services', 'E1G60'): [Value.dword('Start', 3), Value.sz('Group', 'NDIS')]})
    planner = Planner(reader)
    assert planner.ensure_value(('controlset001', 'services', 'e1g60'), Value.dword('start', 0))
    assert not planner.ensure_value(('ControlSet001', 'Services', 'E1G60'), Value.dword('Start', 0))
    assert not planner.ensure_value(('ControlSet001', 'Services', 'E1G60'), Value.sz('Group', 'NDIS'))
    planner.ensure_value(('ControlSet001', 'Control', 'X'), Value.sz('A', 'b'))
    ops = [(op.kind, '\\'.join(op.path), op.name) for op in planner.plan]
    assert ops == [
        ('set_value', 'ControlSet001\\Services\\E1G60', 'Start'),
        ('create_key', 'ControlSet001\\Control', None),
        ('create_key', 'ControlSet001\\Control\\X', None),
        ('set_value', 'ControlSet001\\Control\\X', 'A'),
    ]
    assert planner.plan.ops[0].before == Value.dword('Start', 3)


def test_planner_delete_key_then_recreate():
    reader = DictReader({('A', 'B'): [Value.sz('x', '1')], ('A', 'B', 'C'): [Value.dword('y', 2)]})
    planner = Planner(reader)
    assert planner.ensure_key_absent(('a', 'b'))
    assert not planner.key_exists(('A', 'B', 'C'))
    assert not planner.ensure_key_absent(('A', 'B'))
    planner.ensure_value(('A', 'B'), Value.sz('x', '2'))
    kinds = [op.kind for op in planner.plan]
    assert kinds == ['delete_key', 'create_key', 'set_value']
    deleted = planner.plan.ops[0].before
    assert [(p, sorted(v.name for v in vals)) for p, vals in deleted] == [(('A', 'B'), ['x']), (('A', 'B', 'C'), ['y'])]
    with pytest.raises(RegistryError, match='root key'):
        planner.ensure_key_absent(())


def test_plan_reg_and_diff_text():
    reader = DictReader({('S', 'Svc'): [Value.dword('Start', 3), Value.sz('Old', 'o')]})
    planner = Planner(reader)
    planner.ensure_value(('S', 'Svc'), Value.dword('Start', 0))
    planner.ensure_value_absent(('S', 'Svc'), 'old')
    planner.ensure_value(('S', 'New'), Value.sz('', 'd'))
    reg = planner.plan.to_reg('HKEY_LOCAL_MACHINE\\SYSTEM')
    assert reg == (
        'Windows Registry Editor Version 5.00\n\n'
        '[HKEY_LOCAL_MACHINE\\SYSTEM\\S\\Svc]\n"Start"=dword:00000000\n"Old"=-\n\n'
        '[HKEY_LOCAL_MACHINE\\SYSTEM\\S\\New]\n@="d"\n\n')
    before, after = planner.plan.diff('HKLM')
    assert before == '[HKLM\\S\\Svc]\n"Start"=dword:00000003\n"Old"="o"\n'
    assert after == '[HKLM\\S\\Svc]\n"Start"=dword:00000000\n\n[HKLM\\S\\New]\n@="d"\n'
    assert planner.plan.as_list()[0]['before'] == {'name': 'Start', 'type': 'REG_DWORD', 'data': 3}


def test_binary_display_and_types():
    assert Value.binary('b', b'\x01').display() == {'name': 'b', 'type': 'REG_BINARY', 'data': ['0x01']}
    assert Value('t', 0x40007, b'').display()['type'] == 'REG_0x40007'
    assert Value.qword('q', 5).decoded() == 5
    assert Value('d', REG_DWORD, b'\x01').decoded() == b'\x01'
    assert Value.multi_sz('m', ['a']).type == REG_MULTI_SZ
    assert Value.binary('b', b'').type == REG_BINARY
    assert Value.qword('q', 0).type == REG_QWORD
