# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinRM transport (backends/live/transport.py): Settings from Ansible's winrm variables with their types and
defaults, redaction, Kerberos tickets, and the Session with the real pywinrm client against the test WS-Management
endpoint on 127.0.0.1 (tests/winrm_endpoint), which behaves as Windows does (issue 15: timeouts, short passwords,
console-mode stdin, MaxEnvelopeSizekb; a command runs while Receive polls, Signal/Delete end it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

pytest.importorskip('hivex')
winrm = pytest.importorskip('winrm')

# pylint: disable=wrong-import-position
import winrm.exceptions  # noqa: E402

from ansible_collections.sanboot.windows.plugins.module_utils.backends import live as wb  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import live as live_job  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.hosts import (  # noqa: E402
    PASSWORD, WIN7, WIN81, WIN10, netkvm_package, settings,
)

VIRTIO_NIC = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'


# ---------------------------------------------------------------------------------------------------------
# Settings from Ansible's variables, redaction, Kerberos

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


# ---------------------------------------------------------------------------------------------------------
# The endpoint's behaviours, which the session relies on

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
    params = {'nics': [VIRTIO_NIC], 'drivers': [netkvm_package(tmp_path, b'MZ' + os.urandom(300000))], 'templates': {}}
    result = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert result['changed'] and not result.get('failed'), result.get('msg')
    sends = [size for action, size in endpoint.sizes if action == 'Send']
    assert len(sends) >= 5 and max(size for _a, size in endpoint.sizes) <= 150 * 1024
    binary = os.path.join(machine.fs, 'c', 'windows', 'system32', 'drivers', 'netkvm.sys')
    with open(binary, 'rb') as handle:
        assert handle.read() == open(os.path.join(params['drivers'][0], 'netkvm.sys'), 'rb').read()


# ---------------------------------------------------------------------------------------------------------
# Connections and users

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
