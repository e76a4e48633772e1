# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live back-end's formats, command lines and settings, without a host: reg query output (in any language),
partial hives spelled as the host stores them, ASCII .reg text, the commands a security team will read, redaction,
and Ansible's winrm variables with their types and defaults (issue 15, defects 2, 4, 5, 6 and the footprint)."""

from __future__ import absolute_import, division, print_function

import os
import re
import stat

import pytest

pytest.importorskip('hivex')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils.backends import live as wb
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import live as live_job  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs.readset import Read  # noqa: E402
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


def _commands():
    reads = [Read('SYSTEM', (wb.CURRENT, 'Services', 'Tcpip'), False, None),
             Read('SYSTEM', (wb.CURRENT, 'Enum', 'PCI'), True, ('ClassGUID', 'HardwareID')),
             Read('SOFTWARE', ('Microsoft', 'Windows NT', 'CurrentVersion'), False, ('CurrentVersion',))]
    jobs = [(arguments, r) for r in reads for arguments, _n in wb.queries(r)]
    jobs.append((wb.lookup_query('SYSTEM', (wb.CURRENT, 'Services'), 'Psched'), None))
    work = 'sanboot-0123abcd'
    copies = [('netkvm.sys', 'System32\\drivers\\netkvm.sys')]
    return ([c for c, _t in wb.read_commands(work, jobs)] +
            [wb.apply_command(work), wb.apply_command(work, True, first=12), wb.cleanup_command(work, ['89abcdef']),
             wb.stage_command(work, 'netkvm.inf', copies, True)])


def test_what_a_security_team_sees_on_the_host():
    # Sigma: "Dumping of Sensitive Hives Via Reg.EXE" (reg save/export + HKLM + \system|\sam|\security), "Suspicious
    # Certutil Command", "Potential Configuration And Service Reconnaissance Via Reg.EXE" (reg query of
    # currentcontrolset\services), PowerShell -EncodedCommand: none of them matches a line the plugins run.
    for executable, arguments in _commands():
        line = (executable + ' ' + arguments).lower()
        assert executable == 'cmd.exe' and len(line) < 8191
        for reg in re.findall(r'reg (\w+) ([^&]*)', line):
            assert reg[0] in ('query', 'import'), reg
        assert 'certutil' not in line and 'currentcontrolset' not in line and '-enc' not in line
        assert 'hidden' not in line and 'bypass' not in line and 'makecab' not in line
        # cmd expands %...% pairs before running: a loop's %x must be the last % of its line
        loop = re.search(r'%[a-z] in', line)
        if loop:
            assert '%' not in line[loop.end():].replace(line[loop.start():loop.start() + 2], '')\
                .replace('%~nx' + line[loop.start() + 1], '')
    # schtasks refuses a /tr longer than 261 characters
    assert wb.task_action_length('sanboot-0123abcd') <= 261


def test_output_cut_back_into_steps_and_leftovers_by_name():
    sections, order = wb.parse_sections('x\r\n## cs 0\r\nERROR: no\r\n## one 1\r\n'
                                        '## two 0\r\n')
    assert order == ['cs', 'one', 'two'] and sections['one'] == ('ERROR: no', 1) and sections['two'] == ('', 0)
    listing = 'sanboot-0123abcd.out\r\nsanboot-89abcdef.reg\r\nsanboot-89abcdef.pkg\r\nsanboot-zz.reg\r\nother.txt\r\n'
    found = wb.leftover_tokens(listing, 'sanboot-0123abcd')
    assert found == {'89abcdef': ['sanboot-89abcdef.reg', 'sanboot-89abcdef.pkg']}


def test_redaction_replaces_whole_tokens_only():
    # a one-letter password used to turn "cannot set up WinRM to http..." into "u******** WinRM to htt********"
    message = 'cannot set up WinRM to http://h:5985/wsman: p is not p4 nor xp'
    assert wb.redact(message, ['p']) == 'cannot set up WinRM to http://h:5985/wsman: ******** is not p4 nor xp'
    assert wb.redact('auth a%20b%2Fc%21 failed a b/c!', ['a b/c!']) == 'auth ******** failed ********'
    header = 'Authorization: Basic QWRtaW5pc3RyYXRvcjpTM2NyZXQ='
    assert wb.redact(header, ['S3cret'], 'Administrator') == 'Authorization: Basic ********'


def test_timeouts_as_ansible_sets_them():
    # connection_timeout = operation timeout; read timeout 10 s more (10 and 20 used to fail in pywinrm)
    for timeout in (10, 20, '30'):
        settings = wb.Settings('h', 5985, connection_timeout=timeout)
        assert (settings.operation_timeout, settings.read_timeout) == (int(timeout), int(timeout) + 10)
    assert (wb.Settings('h').operation_timeout, wb.Settings('h').read_timeout) == (20, 30)
    with pytest.raises(wb.WinRMError, match='must exceed'):
        wb.Settings('h', extra={'read_timeout_sec': '20', 'operation_timeout_sec': 20})


def test_inventory_values_as_ansible_types_them():
    settings = wb.Settings('h', '5985', 'user@EXAMPLE.COM', 'pw', extra={
        'send_cbt': 'false', 'credssp_disable_tlsv1_2': 'yes', 'kerberos_delegation': 'False',
        'message_encryption': 'never', 'frobnicate': 1})
    # a UPN defaults to Kerberos (and a ticket from the password), as in Ansible's winrm connection
    assert settings.transports == ['kerberos'] and settings.kerberos_managed and settings.port == 5985
    assert settings.extra['send_cbt'] is False and settings.extra['credssp_disable_tlsv1_2'] is True
    assert settings.extra['kerberos_delegation'] is False and settings.unsupported == ['frobnicate']
    assert wb.Settings('h', 5986, 'admin').transports == ['ssl']
    assert wb.Settings('h', 5985, 'admin', transport='ntlm, basic').transports == ['ntlm', 'basic']
    assert not wb.Settings('h', 5985, 'u@R', 'pw', kinit_mode='manual').kerberos_managed
    with pytest.raises(wb.WinRMError, match='boolean'):
        wb.Settings('h', extra={'send_cbt': 'maybe'})


def test_kinit_gets_the_password_on_stdin_into_a_private_cache(tmp_path):
    log = tmp_path / 'kinit.log'
    kinit = tmp_path / 'kinit'
    kinit.write_text('#!/bin/sh\nread pw\necho "$* | $pw | $KRB5CCNAME | ${SANBOOT_KEEP:-unset}" > %s\n' % log)
    kinit.chmod(kinit.stat().st_mode | stat.S_IEXEC)
    os.environ['SANBOOT_KEEP'] = 'kept'
    try:
        settings = wb.Settings('h', 5985, 'user@EXAMPLE.COM', 'Kerb-Secret-1', kinit_cmd=str(kinit),
                               kinit_env_vars=['SANBOOT_KEEP'], extra={'kerberos_delegation': 'yes'})
        with wb.KerberosTicket(settings) as ticket:
            assert os.environ['KRB5CCNAME'] == 'FILE:%s' % ticket.cache
        args, password, cache, kept = [p.strip() for p in log.read_text().split('|')]
        assert args == '-f user@EXAMPLE.COM' and password == 'Kerb-Secret-1' and cache.startswith('FILE:')
        assert kept == 'kept' and 'KRB5CCNAME' not in os.environ and not os.path.exists(cache[5:])
        kinit.write_text('#!/bin/sh\nread pw\necho "kinit: Password incorrect ($pw)" >&2\nexit 1\n')
        with pytest.raises(wb.WinRMError) as err:
            wb.KerberosTicket(settings).__enter__()
        assert 'Kerberos authentication failed for principal user@EXAMPLE.COM' in str(err.value)
        assert 'Kerb-Secret-1' not in str(err.value)
    finally:
        del os.environ['SANBOOT_KEEP']
