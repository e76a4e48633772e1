# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side the win_* action plugins share (plugins/plugin_utils/_winrm_action.py): WinRM settings from
the connection plugin or the host's variables, with Ansible's types, and secrets kept out of results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest.mock import MagicMock

import pytest

pytest.importorskip('winrm')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.plugin_utils import _winrm_action  # noqa: E402

SECRET = 'Unit-Secret-7'


class FakeWinrmConnection(object):
    transport = 'winrm'
    _load_name = 'ansible.builtin.winrm'

    def __init__(self, options):
        self.options = options
        self._shell = MagicMock(tmpdir='x')

    def get_option(self, name):
        return self.options.get(name)


def settings_of(make_action, variables, connection=None):
    return make_action(_winrm_action.LiveRegistryAction, {}, connection=connection).settings(variables)


def test_settings_from_variables_and_from_the_winrm_connection_plugin(make_action):
    variables = {'inventory_hostname': 'w', 'ansible_host': 'h1', 'ansible_winrm_host': 'h2', 'ansible_port': 5985,
                 'ansible_user': 'u', 'ansible_winrm_password': 'p', 'ansible_winrm_server_cert_validation': 'ignore',
                 'ansible_winrm_message_encryption': 'never'}
    settings = settings_of(make_action, variables)
    got = (settings.host, settings.port, settings.scheme, settings.user, settings.password)
    assert got == ('h2', 5985, 'http', 'u', 'p')
    assert settings.server_cert_validation == 'ignore' and settings.extra['message_encryption'] == 'never'
    assert settings.transports == ['plaintext']
    connection = FakeWinrmConnection({'remote_addr': 'conn-host', 'port': 5986, 'remote_user': 'conn-user',
                                      'remote_password': 'conn-pass', 'transport': ['ntlm'],
                                      '_extras': {'ansible_winrm_send_cbt': 'false'}})
    settings = settings_of(make_action, variables, connection)
    assert (settings.host, settings.port, settings.scheme, settings.user, settings.transport) == (
        'conn-host', 5986, 'https', 'conn-user', 'ntlm')
    assert settings.extra['send_cbt'] is False
    # certificate validation is on by default over HTTPS
    assert settings_of(make_action, {'ansible_host': 'x'}).server_cert_validation == 'validate'


def test_inventory_values_from_an_ini_file_as_ansible_types_them(make_action):
    # INI inventories give every value as a string: "false" must not count as true, "10" is a number
    variables = {'ansible_host': 'h', 'ansible_port': '5985', 'ansible_user': 'admin@EXAMPLE.COM',
                 'ansible_password': 'pw', 'ansible_winrm_send_cbt': 'false', 'ansible_winrm_credssp_disable_tlsv1_2':
                 'no', 'ansible_winrm_kerberos_delegation': 'true', 'ansible_winrm_connection_timeout': '10',
                 'ansible_winrm_kinit_cmd': '/opt/kinit', 'ansible_winrm_kinit_mode': 'managed',
                 'ansible_winrm_kinit_env_vars': 'KRB5_CONFIG, HOME'}
    settings = settings_of(make_action, variables)
    assert settings.port == 5985 and settings.transports == ['kerberos'] and settings.kerberos_managed
    assert settings.extra['send_cbt'] is False and settings.extra['credssp_disable_tlsv1_2'] is False
    assert settings.extra['kerberos_delegation'] is True
    assert (settings.operation_timeout, settings.read_timeout) == (10, 20)
    assert settings.kinit_cmd == '/opt/kinit' and settings.kinit_env_vars == ['KRB5_CONFIG', 'HOME']


def test_results_are_scrubbed_of_the_secret():
    scrubbed = _winrm_action.scrub({'a': ['x %s y' % SECRET, 3], 'b': {'c': SECRET}}, [SECRET])
    assert scrubbed == {'a': ['x ******** y', 3], 'b': {'c': '********'}}
