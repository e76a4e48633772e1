# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The win_* action plugins' controller side: argument validation, WinRM settings from the connection plugin or
the host's variables, secrets kept out of results (the ansible.windows unit-test pattern: a mocked task)."""

from __future__ import absolute_import, division, print_function

from unittest.mock import MagicMock

import pytest

pytest.importorskip('hivex')
pytest.importorskip('winrm')
# ansible-test runs tests under tests/unit/plugins/module_utils with the module-side ansible only (no
# ansible.plugins): there this controller test skips; plain pytest (make test) runs it.
pytest.importorskip('ansible.plugins.action')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.action import (  # noqa: E402
    win_critical_device, win_iscsi_boot, win_iscsi_boot_info,
)
from ansible_collections.sanboot.windows.plugins.plugin_utils import _winrm_action  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import unpacked_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Machine  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.server import Endpoint  # noqa: E402

SECRET = 'Unit-Secret-7'


class FakeWinrmConnection(object):
    transport = 'winrm'
    _load_name = 'ansible.builtin.winrm'

    def __init__(self, options):
        self.options = options
        self._shell = MagicMock(tmpdir='x')

    def get_option(self, name):
        return self.options.get(name)


def action(module, args, connection=None, check_mode=False):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    templar = MagicMock()
    templar.template = lambda value: value
    return module.ActionModule(task, connection or MagicMock(), MagicMock(), loader=None, templar=templar,
                               shared_loader_obj=None)


@pytest.fixture
def endpoint(tmp_path):
    machine = Machine(str(tmp_path), unpacked_hive('win7-sp1-x86.SYSTEM'), unpacked_hive('phony-win7-32.SOFTWARE'))
    with Endpoint(machine, password=SECRET) as running:
        yield running


def host_vars(endpoint, password=SECRET):
    return {'inventory_hostname': 'win7', 'ansible_host': '127.0.0.1', 'ansible_port': endpoint.port,
            'ansible_user': 'Administrator', 'ansible_password': password, 'ansible_winrm_transport': 'basic',
            'ansible_winrm_scheme': 'http', 'ansible_winrm_operation_timeout_sec': 20,
            'ansible_winrm_read_timeout_sec': 30}


def test_arguments_are_validated_like_a_module():
    result = action(win_iscsi_boot, {'state': 'present'}).run(task_vars={'ansible_host': '127.0.0.1'})
    assert result['failed'] and 'nics' in result['msg']
    result = action(win_critical_device, {'hardware_ids': ['PCI\\VEN_8086&DEV_100E'], 'service': 'E1G60',
                                          'class': 'Net', 'class_guid': '{x}'}).run(task_vars={})
    assert result['failed'] and 'mutually exclusive' in result['msg']
    result = action(win_iscsi_boot_info, {'frobnicate': 1}).run(task_vars={})
    assert result['failed'] and 'frobnicate' in result['msg']


def test_settings_from_variables_and_from_the_winrm_connection_plugin():
    variables = {'inventory_hostname': 'w', 'ansible_host': 'h1', 'ansible_winrm_host': 'h2', 'ansible_port': 5985,
                 'ansible_user': 'u', 'ansible_winrm_password': 'p', 'ansible_winrm_server_cert_validation': 'ignore',
                 'ansible_winrm_message_encryption': 'never'}
    settings = action(win_iscsi_boot_info, {}).settings(variables)
    got = (settings.host, settings.port, settings.scheme, settings.user, settings.password)
    assert got == ('h2', 5985, 'http', 'u', 'p')
    assert settings.server_cert_validation == 'ignore' and settings.extra['message_encryption'] == 'never'
    assert settings.transports == ['plaintext']
    connection = FakeWinrmConnection({'remote_addr': 'conn-host', 'port': 5986, 'remote_user': 'conn-user',
                                      'remote_password': 'conn-pass', 'transport': ['ntlm'],
                                      '_extras': {'ansible_winrm_send_cbt': 'false'}})
    settings = action(win_iscsi_boot_info, {}, connection=connection).settings(variables)
    assert (settings.host, settings.port, settings.scheme, settings.user, settings.transport) == (
        'conn-host', 5986, 'https', 'conn-user', 'ntlm')
    assert settings.extra['send_cbt'] is False
    # certificate validation is on by default over HTTPS
    assert action(win_iscsi_boot_info, {}).settings({'ansible_host': 'x'}).server_cert_validation == 'validate'


def test_inventory_values_from_an_ini_file_as_ansible_types_them():
    # INI inventories give every value as a string: "false" must not count as true, "10" is a number
    variables = {'ansible_host': 'h', 'ansible_port': '5985', 'ansible_user': 'admin@EXAMPLE.COM',
                 'ansible_password': 'pw', 'ansible_winrm_send_cbt': 'false', 'ansible_winrm_credssp_disable_tlsv1_2':
                 'no', 'ansible_winrm_kerberos_delegation': 'true', 'ansible_winrm_connection_timeout': '10',
                 'ansible_winrm_kinit_cmd': '/opt/kinit', 'ansible_winrm_kinit_mode': 'managed',
                 'ansible_winrm_kinit_env_vars': 'KRB5_CONFIG, HOME'}
    settings = action(win_iscsi_boot_info, {}).settings(variables)
    assert settings.port == 5985 and settings.transports == ['kerberos'] and settings.kerberos_managed
    assert settings.extra['send_cbt'] is False and settings.extra['credssp_disable_tlsv1_2'] is False
    assert settings.extra['kerberos_delegation'] is True
    assert (settings.operation_timeout, settings.read_timeout) == (10, 20)
    assert settings.kinit_cmd == '/opt/kinit' and settings.kinit_env_vars == ['KRB5_CONFIG', 'HOME']


def test_a_live_task_and_a_wrong_password(endpoint):
    result = action(win_iscsi_boot, {'nics': [{'id': 'PCI\\VEN_8086&DEV_100E', 'service': 'E1G60'}]},
                    check_mode=True).run(task_vars=host_vars(endpoint))
    assert result['changed'] and not result.get('failed') and result['winrm']['commands'] == 1
    denied = action(win_iscsi_boot_info, {}).run(task_vars=host_vars(endpoint, password='x' + SECRET))
    assert denied['failed'] and 'authentication failed' in denied['msg'] and SECRET not in repr(denied)


def test_results_are_scrubbed_of_the_secret():
    scrubbed = _winrm_action.scrub({'a': ['x %s y' % SECRET, 3], 'b': {'c': SECRET}}, [SECRET])
    assert scrubbed == {'a': ['x ******** y', 3], 'b': {'c': '********'}}
