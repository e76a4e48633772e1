# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live back-end's formats (backends/live/formats.py), without a host: reg query output in any language, partial
hives spelled as the host stores them, ASCII .reg text, the record of originals first (issue 15, defects 2, 4, 5,
6)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

pytest.importorskip('hivex')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils.backends import live as wb  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value  # noqa: E402


QUERY = ('\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\r\n'
         '    CurrentVersion    REG_SZ    6.1\r\n'
         '    CurrentMajorVersionNumber    REG_DWORD    0xa\r\n'
         '    InstallDate    REG_QWORD    0x1d2f3e4a5b6c7d8\r\n'
         '    DigitalProductId    REG_BINARY    A40000000300\r\n'
         '    PathName    REG_EXPAND_SZ    %SystemRoot%\\x\r\n'
         '    Deps    REG_MULTI_SZ    NDIS\\0Tcpip\r\n'
         '    Flagged    0x40007    4100000000\r\n'
         '    {label}    REG_SZ    Netzwerkadapter f\u00fcr Tests    \r\n'
         '    Leer    REG_SZ    \r\n'
         '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug\r\n')


@pytest.mark.parametrize('label', ['(Default)', '(Standard)'])
def test_reg_query_output_in_any_language(label):
    # the default value's name is translated; it is learnt from the host (a /ve query), not assumed
    assert wb.default_label('\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\X\r\n    %s    REG_SZ    Network adapters\r\n' % label) \
        == label
    parsed = wb.parse_reg_query(QUERY.replace('{label}', label), label)
    values = dict((v.name, v) for v in parsed['HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'])
    assert values['CurrentVersion'] == Value.sz('CurrentVersion', '6.1')
    assert values['CurrentMajorVersionNumber'] == Value.dword('CurrentMajorVersionNumber', 10)
    assert values['InstallDate'].decoded() == 0x1d2f3e4a5b6c7d8
    assert values['DigitalProductId'].data == b'\xa4\x00\x00\x00\x03\x00'
    assert values['PathName'].type == 2 and values['PathName'].decoded() == '%SystemRoot%\\x'
    assert values['Deps'] == Value.multi_sz('Deps', ['NDIS', 'Tcpip'])
    assert values[''].data == 'Netzwerkadapter f\u00fcr Tests    '.encode('utf-16-le') + b'\x00\x00'
    assert values['Leer'].data == b'\x00\x00' and 'Flagged' not in values   # types reg.exe cannot name are left out
    assert parsed['HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug'] == []


def test_the_partial_hive_spells_keys_as_the_host_stores_them(tmp_path):
    hive = wb.PartialHive('SYSTEM')
    # reg query echoes the queried key as typed ...
    hive.add_output('HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\PSched\r\n    Start    REG_DWORD    0x1\r\n',
                    '(Default)', typed=3)
    # ... and prints what a lookup or a listing finds as stored
    hive.add_output('HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\Psched\r\n\r\nEnd of search: 1 match(es) '
                    'found.\r\n', '(Default)', typed=2)
    hive.add_output('HKEY_LOCAL_MACHINE\\SYSTEM\r\n\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\r\n'
                    'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\Select\r\n',
                    '(Default)', typed=0)
    reader = Hive(hive.write(str(tmp_path / 'SYSTEM')))
    assert reader.real_path(('controlset001', 'services', 'psched')) == ('ControlSet001', 'Services', 'Psched')
    assert reader.dword(('ControlSet001', 'Services', 'Psched'), 'Start') == 1
    # the volatile link is not a key of the hive
    assert sorted(reader.subkeys(())) == ['ControlSet001', 'Select']


def test_the_reg_file_travels_as_ascii_text():
    text = ('Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\n"x"="\u00e4\\"b"\n'
            '"y"=dword:00000001\n"z"=hex:%s\n' % ','.join(['ab'] * 60))
    data = wb.ascii_reg(text)
    lines = data.decode('ascii').split('\r\n')
    # the string becomes its UTF-16LE bytes with the NUL, long hex data continues on lines regedit would write
    assert lines[3] == '"x"=hex(1):e4,00,22,00,62,00,00,00' and lines[4] == '"y"=dword:00000001'
    assert lines[5].endswith(',\\') and lines[6].startswith('  ') and max(len(line) for line in lines) <= 76
    with pytest.raises(wb.WinRMError, match='outside ASCII'):
        wb.ascii_reg('Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\\u00e4]\n')


def test_record_first_moves_the_record_and_its_parents_to_the_front():
    text = ('Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\A]\n'
            '"Start"=dword:00000000\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\sanboot.windows]\n\n'
            '[HKEY_LOCAL_MACHINE\\SYSTEM\\sanboot.windows\\iscsi_boot\\originals]\n"x"=dword:00000003\n\n'
            '[HKEY_LOCAL_MACHINE\\SYSTEM\\sanboot.windows\\iscsi_boot]\n"Version"=dword:00000001\n')
    out = wb.record_first(text, ('sanboot.windows', 'iscsi_boot'))
    heads = [line for line in out.split('\n') if line.startswith('[')]
    assert heads == ['[HKEY_LOCAL_MACHINE\\SYSTEM\\sanboot.windows]',
                     '[HKEY_LOCAL_MACHINE\\SYSTEM\\sanboot.windows\\iscsi_boot]',
                     '[HKEY_LOCAL_MACHINE\\SYSTEM\\sanboot.windows\\iscsi_boot\\originals]',
                     '[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\A]']
    assert wb.touches(text, 'sanboot.windows') and not wb.touches(text, 'DriverDatabase')
