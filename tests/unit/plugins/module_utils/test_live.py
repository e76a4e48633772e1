# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinRM back-end with the real pywinrm client against the test WS-Management endpoint on 127.0.0.1
(tests/winrm_endpoint), whose commands work on real fixture hives and behave as Windows does, unfriendly parts
included (each behaviour has a switch; these tests name the ones they lean on).

Issue 15: live equals offline on Windows 7, 8.1 and 10 in English and German; one test per defect (pnputil 259,
translated messages, reg query ending with exit code 1, timeouts, short passwords, leftovers of a dropped run, the
result file race, unsigned boot drivers, console-mode stdin) and per endpoint behaviour (a command runs while
Receive polls, Signal/Delete/IdleTimeout end it, MaxEnvelopeSizekb, reg import stopping or carrying on)."""

from __future__ import absolute_import, division, print_function

import os
import re
import shutil

import pytest

hivex = pytest.importorskip('hivex')
winrm = pytest.importorskip('winrm')

# pylint: disable=wrong-import-position
import winrm.exceptions  # noqa: E402

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, offline as off
from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb
from ansible_collections.sanboot.windows.plugins.module_utils.backends import live as wb
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import live as live_job  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import FIXTURES, dump_hive, pe_stub64, unpacked_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Machine  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.server import Endpoint  # noqa: E402

PASSWORD = 'S3cret-pa55!'
WIN7 = ('win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE', '6.1', 7601)
WIN81 = ('win81-x64-dirty.SYSTEM', None, '6.3', 9600)
WIN10 = ('win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE', '10.0', 17763)
# Windows 8+: the DRIVERS hive of each fixture (tests/fixtures/README.md), HKLM\\DRIVERS of the emulated host
DRIVERS_OF = {'win81-x64-dirty.SYSTEM': 'win81-x64.DRIVERS', 'win10-1903-x64-dirty.SYSTEM': 'win10-1903-x64.DRIVERS'}
WIN7_NIC = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}
WIN81_NIC = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'}
VIRTIO_NIC = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
WIN7_PRESENT = {'PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\\4&b70f118&0&0888': 'E1G60'}
# what the plugins may run on a host: stock Windows 7 SP1 (PowerShell only to write a driver package's files)
ALLOWED = {'cmd', 'cd', 'reg', 'dir', 'type', 'del', 'findstr', 'more', 'schtasks', 'ping', 'ren', 'pnputil', 'fc', 'copy',
           'rmdir', 'powershell'}


def settings(endpoint, password=PASSWORD, **kwargs):
    return wb.Settings('127.0.0.1', endpoint.port, 'Administrator', password, scheme='http', transport='basic',
                       **kwargs)


@pytest.fixture
def host(tmp_path):
    """Factory: (machine, endpoint) for a fixture (SYSTEM, SOFTWARE, version, build); endpoints stop at teardown."""
    started = []

    def make(fixture, prepare=None, endpoint_args=None, **kwargs):
        root = tmp_path / ('host%d' % len(started))
        root.mkdir()
        system, software, version, build = fixture
        if system in DRIVERS_OF:
            kwargs.setdefault('drivers_hive', unpacked_hive(DRIVERS_OF[system]))
        machine = Machine(str(root), unpacked_hive(system), unpacked_hive(software) if software else None,
                          version=version, build=build, **kwargs)
        if prepare:
            prepare(machine.system)
        endpoint = Endpoint(machine, password=PASSWORD, **(endpoint_args or {})).start()
        started.append(endpoint)
        return machine, endpoint

    yield make
    for endpoint in started:
        endpoint.stop()


def offline(tmp_path, fixture, params, prepare=None, drivers=None):
    """The same job by the offline engine on a copy of the whole fixture hive: the hive dump to compare with.
    Windows 8+: with the fixture's DRIVERS hive, or ``drivers`` (the emulated host's, after its pnputil staged a
    package: the engine then copies Windows' records, as the live path does)."""
    system, software = fixture[0], fixture[1]
    copy = str(tmp_path / ('offline-%s-%d' % (system, len(os.listdir(str(tmp_path))))))
    shutil.copyfile(unpacked_hive(system), copy)
    os.chmod(copy, 0o644)
    if prepare:
        prepare(copy)
    drivers_copy = None
    if drivers or system in DRIVERS_OF:
        drivers_copy = copy + '.DRIVERS'
        shutil.copyfile(drivers or unpacked_hive(DRIVERS_OF[system]), drivers_copy)
        os.chmod(drivers_copy, 0o644)
    args = dict(params, hive=copy, software_hive=unpacked_hive(software) if software else None, backup=False,
                allow_dirty=True, drivers_hive=drivers_copy)
    result = iscsi_boot.run_iscsi_boot(args, check_mode=False)
    return dump_hive(copy), result


_ORIGINALS = {}


def original(fixture):
    """The dump of an untouched fixture hive (computed once)."""
    if fixture[0] not in _ORIGINALS:
        _ORIGINALS[fixture[0]] = dump_hive(unpacked_hive(fixture[0]))
    return _ORIGINALS[fixture[0]]


def set_value(path, key, name, kind, data):
    h = hivex.Hivex(path, write=True)
    node = h.root()
    for part in key:
        node = h.node_get_child(node, part)
    h.node_set_value(node, {'key': name, 't': kind, 'value': data})
    h.commit(path)


def package(tmp_path, binary=None):
    folder = tmp_path / 'netkvm'
    if not folder.exists():
        folder.mkdir()
        shutil.copy(os.path.join(FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'), str(folder))
    (folder / 'netkvm.sys').write_bytes(binary if binary is not None else b'MZ' + b'\x90' * 40000)
    (folder / 'netkvm.cat').write_bytes(b'catalog')     # the INF names it: no package is staged without it
    return str(folder)


def temp_files(machine):
    return sorted(os.listdir(os.path.join(machine.fs, 'c', 'windows', 'temp')))


# ---------------------------------------------------------------------------------------------------------
# Live equals offline, in English and German

def _umlaut(path):
    # a string whose bytes reg.exe prints in the shell's code page, recorded and restored exactly
    set_value(path, ('ControlSet001', 'Control', 'Session Manager', 'Memory Management'), 'DisablePagingExecutive',
              1, '\u00e4 \u00fc'.encode('utf-16-le') + b'\x00\x00')


@pytest.mark.parametrize('fixture, locale, params, prepare', [
    (WIN7, 'en', {'nics': [WIN7_NIC], 'auto_reboot': False}, None),
    (WIN7, 'de', {'nics': [WIN7_NIC], 'control_sets': 'all'}, _umlaut),
    (WIN81, 'en', {'nics': [WIN81_NIC]}, None),
    (WIN81, 'de', {'nics': [WIN81_NIC]}, None),
    (WIN10, 'en', {'nics': [VIRTIO_NIC], 'drivers': 'package'}, None),
    (WIN10, 'de', {'nics': [VIRTIO_NIC], 'drivers': 'package'}, None),
], ids=['win7-en', 'win7-de', 'win81-en', 'win81-de', 'win10-en', 'win10-de'])
def test_live_equals_offline(host, tmp_path, fixture, locale, params, prepare):
    if params.get('drivers') == 'package':
        params = dict(params, drivers=[package(tmp_path)], templates={})
    machine, endpoint = host(fixture, prepare, locale=locale)
    before = dump_hive(machine.system) if prepare else original(fixture)
    result = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert result['changed'] and result['ready'] and not result.get('failed'), result.get('msg')
    # Windows 8+: pnputil has staged the package into the host's DRIVERS hive; offline, the engine copies those records
    expected, offline_result = offline(tmp_path, fixture, params, prepare, machine.drivers)
    assert result['changes'] == offline_result['changes'] and result['reg'] == offline_result['reg']
    assert dump_hive(machine.system) == expected
    assert not [w for w in result['warnings'] if 'pnputil' in w]            # 259 means "no device matches it"
    if params.get('drivers'):
        assert result['staged_drivers'][0]['pnputil']['rc'] == 259 and result['applied_as'] == 'SYSTEM (schtasks)'
        database = result['nics'][0]['driver_database']
        assert database['state'] == 'copied from DRIVERS' and database['from'] == 'DRIVERS'
        assert result['staged_drivers'][0]['published_name'] == database['inf']
    again = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert not again['changed'] and all(p['phase'].startswith('reading') for p in again['winrm']['phases'])
    undo = live_job.run_live('iscsi_boot', {'state': 'absent'}, settings(endpoint))
    assert undo['changed'] and dump_hive(machine.system) == before
    assert not machine.tasks and not temp_files(machine) and not endpoint.unsignaled


def test_a_task_is_two_commands_within_ten_requests_and_nothing_a_security_team_would_flag(host):
    machine, endpoint = host(WIN7)
    check = live_job.run_live('iscsi_boot', {'nics': [WIN7_NIC]}, settings(endpoint), check_mode=True)
    assert check['changed'] and check['winrm']['commands'] == 1 and check['winrm']['requests'] == 5
    assert dump_hive(machine.system) == original(WIN7)
    result = live_job.run_live('iscsi_boot', {'nics': [WIN7_NIC]}, settings(endpoint))
    stats = result['winrm']
    assert stats['commands'] == 2 and stats['requests'] == 9 and endpoint.requests[-9:] == [
        'Create', 'Command', 'Receive', 'Signal', 'Command', 'Send', 'Receive', 'Signal', 'Delete']
    assert stats['bytes_sent'] + stats['bytes_received'] < 1024 * 1024 and stats['keys_read'] < 1000
    assert set(machine.programs) <= ALLOWED - {'powershell', 'pnputil'}
    for line in machine.commands:
        assert not re.search(r'reg(\.exe)? (save|export)', line, re.I) and 'certutil' not in line.lower()
        assert 'currentcontrolset' not in line.lower()


# ---------------------------------------------------------------------------------------------------------
# The endpoint's behaviours

def _protocol(endpoint, operation_timeout=1):
    return winrm.protocol.Protocol(endpoint.url, transport='basic', username='Administrator', password=PASSWORD,
                                   operation_timeout_sec=operation_timeout, read_timeout_sec=operation_timeout + 5)


def test_a_command_runs_while_receive_polls_and_signal_or_delete_end_it(host):
    machine, endpoint = host(WIN7)
    protocol = _protocol(endpoint)
    shell = protocol.open_shell(codepage=65001)
    line = '/v:on /c (for /l %i in (1,1,1000) do @ping -n 2 127.0.0.1 >nul) & echo done'
    command = protocol.run_command(shell, 'cmd.exe', [line], skip_cmd_shell=True)
    # still running after the operation timeout: Receive answers TimedOut and the client asks again
    with pytest.raises(winrm.exceptions.WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)
    protocol.cleanup_command(shell, command)            # Signal terminate
    assert endpoint.killed == ['cmd.exe ' + line]
    second = protocol.run_command(shell, 'cmd.exe', [line], skip_cmd_shell=True)
    protocol.close_shell(shell)                         # Delete: its processes end too
    assert endpoint.killed == ['cmd.exe ' + line] * 2 and endpoint.unsignaled == ['cmd.exe ' + line]
    del second, machine


def test_stdin_in_pipe_mode_ends_where_console_mode_never_does(host):
    machine, endpoint = host(WIN7, console_stdin_timeout=0.5)
    protocol = _protocol(endpoint, 5)
    shell = protocol.open_shell(codepage=65001)
    results = []
    for console in (True, False):
        command = protocol.run_command(shell, 'cmd.exe', ['/c findstr "^"'], console_mode_stdin=console,
                                       skip_cmd_shell=True)
        protocol.send_command_input(shell, command, b'line 1\r\nline 2\r\n', end=True)
        results.append(protocol.get_command_output(shell, command))
        protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    assert results[0][2] != 0 and b'end of input never came' in results[0][1]
    assert results[1] == (b'line 1\r\nline 2\r\n', b'', 0)
    # and the plugins send it in pipe mode
    live_job.run_live('critical_device', {'hardware_ids': ['PCI\\VEN_8086&DEV_100E'], 'service': 'E1G60', 'class': 'Net'},
                settings(endpoint))
    del machine


def test_max_envelope_size_of_winrm_2(host, tmp_path):
    _machine, endpoint = host(WIN7)
    protocol = _protocol(endpoint, 5)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, 'cmd.exe', ['/c findstr "^"'], console_mode_stdin=False, skip_cmd_shell=True)
    with pytest.raises(winrm.exceptions.WSManFaultError) as fault:
        protocol.send_command_input(shell, command, b'x' * 120 * 1024, end=True)  # 160 KB of base64
    assert fault.value.wsman_fault_code == 2150858825
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    # a driver package larger than an envelope is staged in Sends that each fit WinRM 2.0's 150 KB
    machine, endpoint = host(WIN10, endpoint_args={'max_envelope_kb': 150})
    params = {'nics': [VIRTIO_NIC], 'drivers': [package(tmp_path, b'MZ' + os.urandom(300000))], 'templates': {}}
    result = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert result['changed'] and not result.get('failed'), result.get('msg')
    sends = [size for action, size in endpoint.sizes if action == 'Send']
    assert len(sends) >= 5 and max(size for _a, size in endpoint.sizes) <= 150 * 1024
    binary = os.path.join(machine.fs, 'c', 'windows', 'system32', 'drivers', 'netkvm.sys')
    with open(binary, 'rb') as handle:
        assert handle.read() == open(os.path.join(params['drivers'][0], 'netkvm.sys'), 'rb').read()


def test_reg_query_of_system_only_keys_ends_with_exit_code_1_after_the_rest(host):
    # Enum\...\Properties: readable only by SYSTEM. The queries of Enum\PCI end with exit code 1; what they
    # printed before still counts (it used to be thrown away: no adapters present).
    _m, endpoint = host(WIN7, present=WIN7_PRESENT)
    info = live_job.run_live('iscsi_boot_info', {'nics': [WIN7_NIC]}, settings(endpoint))
    assert [a['instance'] for a in info['present_adapters']] == list(WIN7_PRESENT)
    assert info['present_adapters'][0]['active_service'] == 'E1G60' and len(info['adapters']) == 2
    assert info['winrm']['partial_reads'] and not info['changed'] and info['ready'] is False
    offline_info = iscsi_boot.run_iscsi_boot_info({'hive': unpacked_hive(WIN7[0]), 'software_hive': unpacked_hive(WIN7[1]),
                                                'nics': [WIN7_NIC]})
    assert info['findings'] == offline_info['findings'] and info['os'] == offline_info['os']


@pytest.mark.parametrize('on_error, failing', [('stop', 'Tcpip\\Parameters'), ('continue', 'Tcpip\\Parameters'),
                                               ('continue', 'iscsi_boot\\originals')],
                         ids=['stop', 'carry-on', 'carry-on-at-the-record'])
def test_reg_import_that_fails_at_a_key_then_undo_and_rerun(host, tmp_path, on_error, failing):
    # Whether reg.exe stops at the first key it cannot write or carries on is not documented by Microsoft (Wine's
    # reg.exe carries on: programs/reg/import.c); both are handled. The record is imported alone first, so no change
    # is made unless it is in place, and the host is read back either way.
    machine, endpoint = host(WIN81, fail_import_key=failing, import_on_error=on_error)
    params = {'nics': [WIN81_NIC]}
    result = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert result['failed'] and result['not_applied']
    assert len(result['applied']) + len(result['not_applied']) == len(result['changes'])
    phases = [p['phase'] for p in result['winrm']['phases']]
    assert phases[-2:] == ['applying the change', 'reading the registry after a failed import']
    changed = [c for c in result['applied'] if not c['key'].startswith('sanboot.windows')]
    assert bool(changed) == (failing != 'iscsi_boot\\originals')     # no change without its record
    undo = live_job.run_live('iscsi_boot', {'state': 'absent'}, settings(endpoint))
    assert undo['changed'] and dump_hive(machine.system) == original(WIN81)
    machine.fail_import_key = failing
    live_job.run_live('iscsi_boot', params, settings(endpoint))
    done = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert done['changed'] and not done.get('failed')
    assert dump_hive(machine.system) == offline(tmp_path, WIN81, params)[0]


def test_schtasks_run_returns_first_and_the_result_file_appears_whole(host, tmp_path):
    # The SYSTEM task runs a while after schtasks /run returned, and its echo creates the result file before it
    # writes to it: the wait loop must not take the empty file for the result (it is written, then renamed).
    machine, endpoint = host(WIN81, task_delay=20, redirect_delay=30)
    nic = WIN81_NIC     # Windows' package of it is copied from DRIVERS into SYSTEM\DriverDatabase: only SYSTEM may
    result = live_job.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    assert result['changed'] and not result.get('failed') and result['applied_as'] == 'SYSTEM (schtasks)', \
        result.get('msg')
    assert dump_hive(machine.system) == offline(tmp_path, WIN81, {'nics': [nic]})[0]
    assert not machine.tasks and not temp_files(machine)


def test_a_dropped_run_leaves_work_that_the_next_run_removes(host, tmp_path):
    # The connection drops while the SYSTEM task imports; WinRM ends the shell after IdleTimeout and with it the
    # wait loop, so the task and the work files stay. The next run finds them by name and removes them.
    machine, endpoint = host(WIN81, task_delay=100000)

    def drop(action, n):
        # everything after the change was sent is lost (the reads have no stdin: the first Send is the change's);
        # the shell's IdleTimeout is short (half a second) from then on
        if action != 'Send' and endpoint.counts.get('Send', 0) >= 1:
            endpoint.idle_timeout = 0.5
            return True
        return False
    endpoint.drop = drop
    nic = WIN81_NIC
    with pytest.raises(wb.WinRMError, match='dropped while applying the change.*Running the task again is safe'):
        live_job.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    for _i in range(100):
        if endpoint.expired:
            break
        __import__('time').sleep(0.05)
    assert endpoint.expired and endpoint.killed
    left = temp_files(machine)          # the task has not run yet (Task Scheduler is slow today)
    assert machine.tasks and left and all(name.startswith('sanboot-') for name in left)
    endpoint.drop = None
    endpoint.idle_timeout, machine.task_delay = 180, 2
    check = live_job.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint), check_mode=True)
    assert check['leftovers'] and temp_files(machine) == left         # check mode only reports them
    rerun = live_job.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    token = left[0][len('sanboot-'):len('sanboot-') + 8]
    assert rerun['cleaned_up'] == [{'token': token, 'files': left, 'scheduled_task': True}]
    assert [w for w in rerun['warnings'] if 'removed what an earlier, interrupted run left' in w]
    assert not machine.tasks and not temp_files(machine)
    assert dump_hive(machine.system) == offline(tmp_path, WIN81, {'nics': [nic]})[0]


@pytest.mark.parametrize('signed', [False, True])
def test_an_unregistered_catalog_and_no_embedded_signature(host, tmp_path, signed):
    # 64-bit Windows loads a boot-start driver only when it is signed: pnputil failing and no embedded signature
    # means the boot would stop with 0x7B, and the result says so.
    # Windows 8+ (issue 14): without the package in the driver store there are no records of it to copy into
    # SYSTEM\DriverDatabase, so nothing is imported; the message says why, and 0x7B when the binary is unsigned.
    machine, endpoint = host(WIN10, arch='amd64', pnputil_rc=0xE000022F - (1 << 32))
    params = {'nics': [VIRTIO_NIC], 'drivers': [package(tmp_path, pe_stub64(signed))], 'templates': {}}
    with pytest.raises(wb.WinRMError) as err:
        live_job.run_live('iscsi_boot', params, settings(endpoint))
    message = str(err.value)
    assert 'pnputil did not add netkvm_w10_template.inf to the driver store (exit code -536870353' in message
    assert 'The registry was not changed' in message and ('0x7B' in message) != signed
    assert ('netkvm.sys carries no embedded signature' in message) != signed
    assert dump_hive(machine.system) == original(WIN10)


# ---------------------------------------------------------------------------------------------------------
# Connections, users and errors

def test_connection_timeouts_of_10_and_20_seconds(host):
    _m, endpoint = host(WIN81)
    for timeout in (10, 20):
        info = live_job.run_live('iscsi_boot_info', {}, settings(endpoint, connection_timeout=timeout))
        assert info['os']['family'] == 'DriverDatabase'


def test_a_short_password_does_not_destroy_messages(host):
    _m, endpoint = host(WIN81)
    with pytest.raises(wb.WinRMError) as err:
        live_job.run_live('iscsi_boot_info', {},
                    wb.Settings('127.0.0.1', endpoint.port, 'nobody', 'p', scheme='http', transport='basic'))
    assert 'authentication failed at http://127.0.0.1:%d/wsman (HTTP 401)' % endpoint.port in str(err.value)
    assert "for user 'nobody' with transport basic" in str(err.value)


def test_wrong_password_and_ntlm(host):
    _m, endpoint = host(WIN81)
    with pytest.raises(wb.WinRMError) as err:
        live_job.run_live('iscsi_boot_info', {}, settings(endpoint, password='wrong-' + PASSWORD))
    assert 'authentication failed' in str(err.value) and PASSWORD not in str(err.value) and endpoint.unauthorized == 1
    ntlm = wb.Settings('127.0.0.1', endpoint.port, 'Administrator', PASSWORD, scheme='http', transport='ntlm',
                       extra={'message_encryption': 'never'})
    assert live_job.run_live('iscsi_boot_info', {}, ntlm)['os']['family'] == 'DriverDatabase'


def test_a_user_who_may_read_but_not_write(host):
    machine, endpoint = host(WIN7, admin=False)
    result = live_job.run_live('iscsi_boot', {'nics': [WIN7_NIC]}, settings(endpoint))
    assert result['failed'] and not result['applied'] and 'elevated administrator' in result['msg']
    assert dump_hive(machine.system) == original(WIN7)


def test_dropped_connection_while_reading_changes_nothing(host):
    machine, endpoint = host(WIN81, endpoint_args={'drop': lambda action, n: action == 'Receive' and n == 1})
    with pytest.raises(wb.WinRMError) as err:
        live_job.run_live('iscsi_boot', {'nics': [WIN81_NIC]}, settings(endpoint))
    assert 'dropped while reading the registry' in str(err.value) and 'Nothing was changed' in str(err.value)
    assert dump_hive(machine.system) == original(WIN81)


def test_a_protocol_request_the_endpoint_does_not_understand(host):
    _m, endpoint = host(WIN81)
    session = wb.Session(settings(endpoint)).open()
    with pytest.raises(wb.WinRMError) as err:
        session._call(session.protocol.send_message,
                      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                      'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action>urn:frob'
                      '</a:Action><a:MessageID>uuid:1</a:MessageID></s:Header><s:Body/></s:Envelope>')
    assert 'fault' in str(err.value) and 'action is not supported' in str(err.value)
    session.close()


def test_critical_device_live_equals_offline(host, tmp_path):
    machine, endpoint = host(WIN7)
    params = {'hardware_ids': ['PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_1AF4&DEV_1000'], 'service': 'E1G60',
              'class': 'Net', 'start': 'boot', 'state': 'present', 'control_sets': 'all'}
    result = live_job.run_live('critical_device', params, settings(endpoint))
    assert result['changed'] and result['winrm']['commands'] == 3       # ControlSet002: a second read
    copy = str(tmp_path / 'cd-offline')
    shutil.copyfile(unpacked_hive(WIN7[0]), copy)
    os.chmod(copy, 0o644)
    expected = off.run(copy, cddb.critical_device_plan(params), backup=False)
    assert result['entries'] == expected['entries'] and dump_hive(machine.system) == dump_hive(copy)
