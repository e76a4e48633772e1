# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AddReg and DelReg sections (inf/addreg.py): roots, flags, value types and data as Windows reads them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_SZ, Value,
)
from ansible_collections.sanboot.windows.tests.unit.plugins.module_utils.inf.infs import read, simple_driver


def addreg(body, strings=''):
    install = '[Inst]\nAddReg = R\n[Inst.Services]\nAddService = svc, 2, Svc\n'
    driver = read(simple_driver(install=install, extra='[R]\n' + body,
                                strings='[Strings]\nMfg = V\nDev = D\n' + strings))
    return driver.devices[0].install_info.driver_addreg, driver


def test_addreg_types():
    entries, _driver = addreg(
        'HKR,,Sz,,"text, with comma"\n'
        'HKR,,Sz0,0,\n'
        'HKR,Ndi\\Interfaces,Multi,0x00010000,"a","b",,"c"\n'
        'HKR,,Exp,0x00020000,"%%SystemRoot%%\\x"\n'
        'HKR,,Dw,0x00010001,0x1F\n'
        'HKR,,DwDec,%REG_DWORD%,7\n'
        'HKR,,DwBytes,0x00010001,01,00,00,00\n'
        'HKR,,DwEmpty,0x00010001\n'
        'HKR,,Bin,1,de,ad,0xbe,EF\n'
        'HKR,,None,0x00020001,\n'
        'HKR,,Custom,0x00090001,01,02\n'
        'HKR,,,0,"default value"\n',
        'REG_DWORD = 0x00010001\n')
    assert [(e.subkey, e.value) for e in entries] == [
        ((), Value.sz('Sz', 'text, with comma')),
        ((), Value.sz('Sz0', '')),
        (('Ndi', 'Interfaces'), Value.multi_sz('Multi', ['a', 'b'])),
        ((), Value.expand_sz('Exp', '%SystemRoot%\\x')),
        ((), Value.dword('Dw', 31)),
        ((), Value.dword('DwDec', 7)),
        ((), Value('DwBytes', REG_DWORD, b'\x01\x00\x00\x00')),
        ((), Value.dword('DwEmpty', 0)),
        ((), Value('Bin', REG_BINARY, b'\xde\xad\xbe\xef')),
        ((), Value('None', REG_NONE, b'')),
        ((), Value('Custom', 9, b'\x01\x02')),
        ((), Value.sz('', 'default value')),
    ]


def test_addreg_modifiers_and_mistakes():
    entries, driver = addreg(
        'HKR, Interrupt Management, 0x00000010\n'        # flags in the value-name slot (nvme.inf): a REG_SZ
        'HKR, "Interrupt Management",, 0x00000010\n'     # KEYONLY
        'HKR,,NoClobber,0x00010003,1\n'
        'HKR,,Gone,0x00008000,1\n'                       # DELREG_BIT: ignored by AddReg
        'HKR,,Del,0x00000004\n'                          # DELVAL
        'HKQQ,,X,0,"unknown root"\n'
        'HKLM,System\\CurrentControlSet\\Services\\x,Y,0x10001,1\n'
        'HKR,,Bad,0x10001,notanumber\n'
        'HKR,,BadBin,1,zz\n')
    ops = [(e.root, e.op, e.subkey, e.name) for e in entries]
    assert ops == [
        ('HKR', 'set', ('Interrupt Management',), '0x00000010'),
        ('HKR', 'keyonly', ('Interrupt Management',), None),
        ('HKR', 'set', (), 'NoClobber'),
        ('HKR', 'delete', (), 'Del'),
        ('HKLM', 'set', ('System', 'CurrentControlSet', 'Services', 'x'), 'Y'),
    ]
    assert entries[2].noclobber and entries[2].value == Value.dword('NoClobber', 1)
    joined = '\n'.join(driver.warnings)
    assert 'unknown registry root' in joined and 'not a 32-bit number' in joined and 'hex bytes' in joined


def test_addreg_reports_as_json():
    entries, _driver = addreg('HKR,,Bin,1,de,ad\n')
    assert entries[0].as_dict()['data'] == ['0xde', '0xad']
    assert entries[0].as_dict()['type'] == 'REG_BINARY'


def test_delreg_lines():
    install = '[Inst]\n[Inst.HW]\nDelReg = Legacy\n[Inst.Services]\nAddService = svc, 2, Svc\n'
    extra = '[Legacy]\nHKR,Scsiport,BusNumber\nHKR,Scsiport\n'
    inst = read(simple_driver(install=install, extra=extra)).devices[0].install_info
    assert [(e.op, e.subkey, e.name) for e in inst.hw_addreg] == [
        ('delete', ('Scsiport',), 'BusNumber'), ('delete', ('Scsiport',), None)]


def test_multi_sz_type_constant():
    entries, _driver = addreg('HKR,,M,0x00010000,"x"\n')
    assert entries[0].value.type == REG_MULTI_SZ and entries[0].value.decoded() == ['x']
    entries, _driver = addreg('HKR,,S,0x00000000,"x"\nHKR,,E,0x00020000,x\n')
    assert [e.value.type for e in entries] == [REG_SZ, REG_EXPAND_SZ]
