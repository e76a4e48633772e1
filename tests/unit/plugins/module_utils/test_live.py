# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinRM back-end: formats, then the real pywinrm client against the test WS-Management endpoint on
127.0.0.1, whose commands work on real fixture hives (reg import merged by hivexregedit)."""

from __future__ import absolute_import, division, print_function

import os
import shutil
import struct

import pytest

hivex = pytest.importorskip('hivex')
pytest.importorskip('winrm')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils import bootjob, live as wb  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.hive import Hive  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import FIXTURES, dump_hive, unpacked_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Machine, read_cab  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.server import Endpoint  # noqa: E402

PASSWORD = 'S3cret-pa55!'
WIN7_NIC = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}
VIRTIO_NIC = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
WIN7_PRESENT = {'PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\\4&b70f118&0&0888': 'E1G60'}


def settings(endpoint, password=PASSWORD):
    return wb.Settings('127.0.0.1', endpoint.port, 'Administrator', password, scheme='http', transport='basic')


@pytest.fixture
def host(tmp_path):
    """Factory: (machine, endpoint) for a fixture SYSTEM (+ SOFTWARE) hive; endpoints stop at teardown."""
    started = []

    def make(system, software=None, **kwargs):
        root = tmp_path / ('host%d' % len(started))
        root.mkdir()
        drop = kwargs.pop('drop', None)
        machine = Machine(str(root), unpacked_hive(system), unpacked_hive(software) if software else None, **kwargs)
        endpoint = Endpoint(machine, password=PASSWORD, drop=drop).start()
        started.append(endpoint)
        return machine, endpoint

    yield make
    for endpoint in started:
        endpoint.stop()


def offline(tmp_path, system, params, software=None):
    """The same job by the offline engine on a copy of the fixture: the hive dump to compare with."""
    copy = str(tmp_path / ('offline-' + system))
    shutil.copyfile(unpacked_hive(system), copy)
    os.chmod(copy, 0o644)
    args = dict(params, hive=copy, software_hive=unpacked_hive(software) if software else None, backup=False,
                allow_dirty=True)
    result = bootjob.run_iscsi_boot(args, check_mode=False)
    return dump_hive(copy), result


# ---------------------------------------------------------------------------------------------------------
# Formats

def test_reg_query_output_is_parsed_as_reg_exe_prints_it():
    text = ('\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\r\n'
            '    CurrentVersion    REG_SZ    6.1\r\n'
            '    CurrentMajorVersionNumber    REG_DWORD    0xa\r\n'
            '    InstallDate    REG_QWORD    0x1d2f3e4a5b6c7d8\r\n'
            '    DigitalProductId    REG_BINARY    A40000000300\r\n'
            '    PathName    REG_EXPAND_SZ    %SystemRoot%\\x\r\n'
            '    Deps    REG_MULTI_SZ    NDIS\\0Tcpip\r\n'
            '    (Default)    REG_SZ    \r\n'
            '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug\r\n')
    parsed = wb.parse_reg_query(text)
    values = dict((v.name, v) for v in parsed['HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'])
    assert values['CurrentVersion'] == Value.sz('CurrentVersion', '6.1')
    assert values['CurrentMajorVersionNumber'] == Value.dword('CurrentMajorVersionNumber', 10)
    assert values['InstallDate'].decoded() == 0x1d2f3e4a5b6c7d8
    assert values['DigitalProductId'].data == b'\xa4\x00\x00\x00\x03\x00'
    assert values['PathName'].type == 2 and values['PathName'].decoded() == '%SystemRoot%\\x'
    assert values['Deps'] == Value.multi_sz('Deps', ['NDIS', 'Tcpip'])
    assert values[''].decoded() == ''
    assert parsed['HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug'] == []


def test_present_instances_from_a_recursive_value_search():
    text = ('\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Enum\\PCI\\VEN_8086&DEV_100E\\3&2&18\\Control\r\n'
            '    ActiveService    REG_SZ    E1G60\r\n\r\nEnd of search: 1 match(es) found.\r\n')
    assert wb.present_instances(text) == {('PCI', 'VEN_8086&DEV_100E', '3&2&18'): 'E1G60'}


def test_chain_marks_every_step_and_the_sections_come_back():
    executable, arguments = wb.chain([('one', 'reg query x'), ('two', 'type y')])
    assert executable == 'cmd.exe' and arguments.startswith('/v:on /c cd /d "%SystemRoot%\\Temp" 2>&1 & ')
    assert arguments.endswith('type y 2>&1 & echo ##sanboot## two !ERRORLEVEL!')
    sections, order = wb.parse_sections('x\r\n##sanboot## cd 0\r\nERROR: no\r\n##sanboot## one 1\r\n'
                                        '##sanboot## two 0\r\n')
    assert order == ['cd', 'one', 'two'] and sections['one'] == ('ERROR: no', 1) and sections['two'] == ('', 0)


def test_the_wait_loop_is_the_last_percent_sign_of_the_system_import_line():
    # cmd expands %...% pairs before running: the loop's %i must not pair with a later %.
    arguments = wb.import_command('sanboot-0123abcd', as_system=True)[1]
    assert '%' not in arguments[arguments.index('%i'):].replace('%i', '')


def test_certutil_armor_round_trip_and_reg_file_encoding():
    data = os.urandom(1000)
    armored = wb.certutil_armor(data)
    assert armored.startswith(b'-----BEGIN CERTIFICATE-----\r\n') and max(len(l) for l in armored.split(b'\r\n')) <= 64
    assert wb.certutil_unarmor(armored.decode(), 'x') == data
    with pytest.raises(wb.WinRMError, match='no x'):
        wb.certutil_unarmor('CertUtil: -encode command FAILED', 'x')
    reg = wb.reg_file_bytes('Windows Registry Editor Version 5.00\n\n[A]\n"x"="\u00e9"\n')
    assert reg.startswith(b'\xff\xfe') and reg[2:].decode('utf-16-le').count('\r\n') == 4


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


def test_blank_hive_is_a_valid_regf_that_libhivex_edits(tmp_path):
    values = [Value.sz('CurrentVersion', '6.1'), Value.dword('CurrentMajorVersionNumber', 10)]
    path = wb.write_software_hive(str(tmp_path / 'SOFTWARE'), values)
    hive = Hive(path)
    assert not hive.header.dirty and hive.header.checksum_ok
    assert hive.get_value(('Microsoft', 'Windows NT', 'CurrentVersion'), 'currentversion').decoded() == '6.1'


def test_cab_round_trip(tmp_path):
    files = [('netkvm.inf', b'[Version]\r\n'), ('netkvm.sys', os.urandom(70000)), ('empty.cat', b'')]
    path = tmp_path / 'x.cab'
    path.write_bytes(wb.cab_bytes(files))
    assert read_cab(str(path)) == files
    cabextract = shutil.which('cabextract')
    if cabextract:  # an independent reader, where installed
        import subprocess
        out = tmp_path / 'out'
        subprocess.run([cabextract, '-q', '-d', str(out), str(path)], check=True)
        assert (out / 'netkvm.sys').read_bytes() == files[1][1]


def test_redact_hides_plain_and_url_quoted_secrets():
    assert wb.redact('auth a%20b%2Fc%21 failed a b/c!', ['a b/c!']) == 'auth ******** failed ********'


# ---------------------------------------------------------------------------------------------------------
# Against the endpoint

def test_win7_live_equals_offline_and_is_idempotent(host, tmp_path):
    machine, endpoint = host('win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE')
    params = {'nics': [WIN7_NIC], 'state': 'present', 'auto_reboot': False}
    check = wb.run_live('iscsi_boot', params, settings(endpoint), check_mode=True)
    assert check['changed'] and check['winrm']['commands'] == 1
    assert dump_hive(machine.system) == dump_hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    result = wb.run_live('iscsi_boot', params, settings(endpoint))
    assert result['changed'] and result['ready'] and result['os']['name'] == check['os']['name']
    assert result['winrm']['commands'] == 2 and result['applied_as'] == 'Administrator'
    assert result['changes'] == check['changes']
    expected, offline_result = offline(tmp_path, 'win7-sp1-x86.SYSTEM', params, 'phony-win7-32.SOFTWARE')
    assert result['changes'] == offline_result['changes'] and result['reg'] == offline_result['reg']
    assert dump_hive(machine.system) == expected
    again = wb.run_live('iscsi_boot', params, settings(endpoint))
    assert not again['changed'] and again['winrm']['commands'] == 1
    # Ansible's own connection never ran anything: every command is one of ours.
    assert all(c.startswith('cmd.exe /v:on /c cd /d "%SystemRoot%\\Temp"') for c in machine.commands)
    undo = wb.run_live('iscsi_boot', {'state': 'absent'}, settings(endpoint))
    assert undo['changed'] and undo['restored'] > 0
    assert dump_hive(machine.system) == dump_hive(unpacked_hive('win7-sp1-x86.SYSTEM'))


def test_win10_driver_package_staged_and_imported_as_system(host, tmp_path):
    machine, endpoint = host('win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE', version='10.0', build=17763)
    package = tmp_path / 'netkvm'
    package.mkdir()
    shutil.copy(os.path.join(FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'), str(package))
    incomplete = [str(package)]
    with pytest.raises(wb.WinRMError, match='lacks netkvm.sys.*Nothing was changed'):
        wb.run_live('iscsi_boot', {'nics': [VIRTIO_NIC], 'drivers': incomplete, 'templates': {}}, settings(endpoint))
    (package / 'netkvm.sys').write_bytes(b'MZ' + os.urandom(40000))
    (package / 'netkvm.cat').write_bytes(b'catalog')
    drivers = [str(package)]
    params = {'nics': [VIRTIO_NIC], 'drivers': drivers, 'templates': {}, 'state': 'present'}
    result = wb.run_live('iscsi_boot', dict(params, system_import='auto'), settings(endpoint))
    assert result['changed'] and result['ready'], result.get('msg')
    assert result['applied_as'] == 'SYSTEM (schtasks)' and result['winrm']['commands'] == 3
    staged = result['staged_drivers'][0]
    assert staged['published_name'] == 'oem1.inf' and staged['pnputil']['rc'] == 0
    assert machine.driver_store[0]['inf'] == staged['inf']
    binary = os.path.join(machine.fs, 'c', 'windows', 'system32', 'drivers', 'netkvm.sys')
    with open(binary, 'rb') as handle:
        assert handle.read() == (package / 'netkvm.sys').read_bytes()
    assert sorted(machine.driver_store[0]['files']) == ['netkvm.cat', 'netkvm.sys', 'netkvm_w10_template.inf']
    assert not machine.tasks and not os.listdir(os.path.join(machine.fs, 'c', 'windows', 'temp'))
    expected, _r = offline(tmp_path, 'win10-1903-x64-dirty.SYSTEM', params, 'phony-win10.SOFTWARE')
    assert dump_hive(machine.system) == expected
    again = wb.run_live('iscsi_boot', params, settings(endpoint))
    assert not again['changed'] and again['winrm']['commands'] == 1


def test_import_that_stops_halfway_says_what_is_in_effect_then_undo_and_rerun_work(host, tmp_path):
    machine, endpoint = host('win81-x64-dirty.SYSTEM', version='6.3', build=9600, fail_import_after=4)
    nic = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'}
    result = wb.run_live('iscsi_boot', {'nics': [nic], 'state': 'present'}, settings(endpoint))
    assert result['failed'] and 'Error accessing the registry' in result['msg']
    assert result['applied'] and result['not_applied']
    assert len(result['applied']) + len(result['not_applied']) == len(result['changes'])
    assert result['winrm']['commands'] == 3
    # the record was imported first: state=absent puts back exactly what was there
    undo = wb.run_live('iscsi_boot', {'state': 'absent'}, settings(endpoint))
    assert undo['changed']
    assert dump_hive(machine.system) == dump_hive(unpacked_hive('win81-x64-dirty.SYSTEM'))
    # and running the task again after the failure completes it
    machine.fail_import_after = 4
    wb.run_live('iscsi_boot', {'nics': [nic], 'state': 'present'}, settings(endpoint))
    done = wb.run_live('iscsi_boot', {'nics': [nic], 'state': 'present'}, settings(endpoint))
    assert done['changed'] and not done.get('failed')
    expected, _r = offline(tmp_path, 'win81-x64-dirty.SYSTEM', {'nics': [nic], 'state': 'present'})
    assert dump_hive(machine.system) == expected


def test_driver_database_needs_system_on_windows_8_and_later(host):
    machine, endpoint = host('win81-x64-dirty.SYSTEM', version='6.3', build=9600)
    nic = {'id': 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00', 'service': 'E1G60'}
    result = wb.run_live('iscsi_boot', {'nics': [nic], 'system_import': 'never'}, settings(endpoint))
    assert result['failed'] and 'only SYSTEM may write' in result['msg']
    assert any(c['key'].startswith('DriverDatabase') for c in result['not_applied'])
    assert not any(c['key'].startswith('DriverDatabase') for c in result['applied'])
    # the SYSTEM task's import stops halfway too: same report, and a re-run completes it
    machine.fail_import_after = 2
    half = wb.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    assert half['failed'] and half['applied_as'] == 'SYSTEM (schtasks)' and half['not_applied']
    assert not machine.tasks
    fixed = wb.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    assert fixed['changed'] and fixed['applied_as'] == 'SYSTEM (schtasks)' and fixed['ready']
    assert not wb.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))['changed']


def test_a_user_without_the_backup_privilege(host):
    machine, endpoint = host('win81-x64-dirty.SYSTEM', admin=False)
    with pytest.raises(wb.WinRMError) as err:
        wb.run_live('iscsi_boot_info', {}, settings(endpoint))
    assert 'A required privilege is not held' in str(err.value) and 'LocalAccountTokenFilterPolicy' in str(err.value)
    assert 'Nothing was changed' in str(err.value) and len(machine.commands) == 1


def test_wrong_password_is_a_clear_error_without_the_password(host):
    _m, endpoint = host('win81-x64-dirty.SYSTEM')
    with pytest.raises(wb.WinRMError) as err:
        wb.run_live('iscsi_boot_info', {}, settings(endpoint, password='wrong-' + PASSWORD))
    assert 'authentication failed' in str(err.value) and 'HTTP 401' in str(err.value)
    assert PASSWORD not in str(err.value) and endpoint.unauthorized == 1


def test_ntlm_authentication(host):
    _m, endpoint = host('win81-x64-dirty.SYSTEM')

    def ntlm(password):
        return wb.Settings('127.0.0.1', endpoint.port, 'Administrator', password, scheme='http', transport='ntlm',
                           extra={'message_encryption': 'never'})
    info = wb.run_live('iscsi_boot_info', {}, ntlm(PASSWORD))
    assert info['os']['family'] == 'DriverDatabase'
    with pytest.raises(wb.WinRMError, match='authentication failed.*transport ntlm') as err:
        wb.run_live('iscsi_boot_info', {}, ntlm('wrong-' + PASSWORD))
    assert PASSWORD not in str(err.value)


def test_dropped_connection_while_reading_changes_nothing(host):
    machine, endpoint = host('win81-x64-dirty.SYSTEM', drop=lambda action, n: action == 'Receive' and n == 3)
    with pytest.raises(wb.WinRMError) as err:
        wb.run_live('iscsi_boot', {'nics': [{'id': 'PCI\\VEN_8086&DEV_100E'}]}, settings(endpoint))
    assert 'dropped while reading the registry' in str(err.value) and 'Nothing was changed' in str(err.value)
    assert dump_hive(machine.system) == dump_hive(unpacked_hive('win81-x64-dirty.SYSTEM'))


def test_dropped_connection_while_applying_then_rerun(host, tmp_path):
    counter = {}

    def drop(action, n):
        counter[action] = n
        return action == 'Command' and n == 2
    machine, endpoint = host('win81-x64-dirty.SYSTEM', drop=drop)
    nic = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'}
    with pytest.raises(wb.WinRMError) as err:
        wb.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    assert 'while applying the change' in str(err.value) and 'Running the task again is safe' in str(err.value)
    endpoint.drop = None
    wb.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    expected, _r = offline(tmp_path, 'win81-x64-dirty.SYSTEM', {'nics': [nic]})
    assert dump_hive(machine.system) == expected


def test_a_command_the_host_does_not_know(host, monkeypatch):
    from ansible_collections.sanboot.windows.tests.winrm_endpoint import machine as emulator
    monkeypatch.delattr(emulator.Context, 'p_certutil')
    _m, endpoint = host('win81-x64-dirty.SYSTEM')
    with pytest.raises(wb.WinRMError) as err:
        wb.run_live('iscsi_boot_info', {}, settings(endpoint))
    assert "step encode (exit code 9009): 'certutil' is not recognized" in str(err.value)


def test_a_protocol_request_the_endpoint_does_not_understand(host):
    _m, endpoint = host('win81-x64-dirty.SYSTEM')
    session = wb.Session(settings(endpoint)).open()
    with pytest.raises(wb.WinRMError) as err:
        session._call(session.protocol.send_message, session.protocol.send_message.__doc__ or
                      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                      'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action>urn:frob'
                      '</a:Action><a:MessageID>uuid:1</a:MessageID></s:Header><s:Body/></s:Envelope>')
    assert 'fault' in str(err.value) and 'action is not supported' in str(err.value)
    session.close()


def test_without_skip_cmd_shell_the_line_would_split(host):
    # Why the back-end asks for WINRS_SKIP_CMD_SHELL: an implicit cmd /c splits at the first "&".
    machine, endpoint = host('win81-x64-dirty.SYSTEM')
    result = machine.execute('cmd.exe /v:on /c echo a & echo !ERRORLEVEL!', b'', skip_cmd_shell=False)
    assert result.out == b'a\r\n!ERRORLEVEL!\r\n'
    result = machine.execute('cmd.exe /v:on /c echo a & echo !ERRORLEVEL!', b'', skip_cmd_shell=True)
    assert result.out == b'a\r\n0\r\n'
    del endpoint


def test_info_lists_the_adapters_present_now(host):
    _m, endpoint = host('win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE', present=WIN7_PRESENT)
    info = wb.run_live('iscsi_boot_info', {'nics': [WIN7_NIC]}, settings(endpoint))
    assert info['winrm']['commands'] == 1 and not info['changed']
    assert [a['instance'] for a in info['present_adapters']] == list(WIN7_PRESENT)
    assert info['present_adapters'][0]['active_service'] == 'E1G60'
    assert len(info['adapters']) == 2 and info['ready'] is False
    offline_info = bootjob.run_iscsi_boot_info({'hive': unpacked_hive('win7-sp1-x86.SYSTEM'),
                                                'software_hive': unpacked_hive('phony-win7-32.SOFTWARE'),
                                                'nics': [WIN7_NIC]})
    assert info['findings'] == offline_info['findings'] and info['os'] == offline_info['os']


def test_critical_device_live(host, tmp_path):
    machine, endpoint = host('win7-sp1-x86.SYSTEM')
    params = {'hardware_ids': ['PCI\\VEN_8086&DEV_100E'], 'service': 'E1G60', 'class': 'Net', 'start': 'boot',
              'state': 'present'}
    result = wb.run_live('critical_device', params, settings(endpoint))
    assert result['changed'] and result['winrm']['commands'] == 2
    assert result['entries'] == ['ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_100e']
    key = ('ControlSet001', 'Control', 'CriticalDeviceDatabase', 'pci#ven_8086&dev_100e')
    assert dump_hive(machine.system)[key]['Service'] == (1, 'E1G60\x00'.encode('utf-16-le'))
    assert struct.unpack('<I', dump_hive(machine.system)[('ControlSet001', 'services', 'E1G60')]['Start'][1])[0] == 0


def test_mszip_cabinet_as_makecab_writes_it(tmp_path):
    from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import write_mszip_cab
    data = open(unpacked_hive('win81-x64-dirty.SYSTEM'), 'rb').read()[:300000] + os.urandom(5000) + b'\x00' * 70000
    cab = write_mszip_cab('sanboot-1.hiv', data)
    assert wb.cab_extract(cab) == [('sanboot-1.hiv', data)]
    cabextract = shutil.which('cabextract')
    if cabextract:  # libmspack, an independent MSZIP reader, agrees with the emulator's makecab
        import subprocess
        (tmp_path / 'x.cab').write_bytes(cab)
        subprocess.run([cabextract, '-q', '-d', str(tmp_path / 'out'), str(tmp_path / 'x.cab')], check=True)
        assert (tmp_path / 'out' / 'sanboot-1.hiv').read_bytes() == data
    with pytest.raises(wb.WinRMError, match='damaged|CK signature|inflated'):
        wb.cab_extract(cab[:200] + b'\xff' * 50 + cab[250:])


def test_without_makecab_the_raw_hive_is_sent(host, monkeypatch):
    from ansible_collections.sanboot.windows.tests.winrm_endpoint import machine as emulator
    monkeypatch.delattr(emulator.Context, 'p_makecab')
    _m, endpoint = host('win81-x64-dirty.SYSTEM')
    info = wb.run_live('iscsi_boot_info', {}, settings(endpoint))
    assert info['os']['family'] == 'DriverDatabase' and info['winrm']['bytes_received'] > 7864320
