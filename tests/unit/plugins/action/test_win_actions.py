# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The win_* action plugins (plugins/action): each validates its arguments like a module, with the live job's
argument spec (jobs/live.py LIVE_MODULES, the one source), and runs its job against a host; a wrong password fails
without the secret in the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

pytest.importorskip('hivex')
pytest.importorskip('winrm')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.action import (  # noqa: E402
    win_critical_device, win_iscsi_boot, win_iscsi_boot_info,
)
from ansible_collections.sanboot.windows.plugins.module_utils.jobs.live import LIVE_MODULES  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint import hosts  # noqa: E402

SECRET = 'Unit-Secret-7'


@pytest.fixture
def endpoint(tmp_path):
    _machine, running = hosts.start(tmp_path, hosts.WIN7, password=SECRET)
    yield running
    running.stop()


def host_vars(endpoint, password=SECRET):
    return {'inventory_hostname': 'win7', 'ansible_host': '127.0.0.1', 'ansible_port': endpoint.port,
            'ansible_user': 'Administrator', 'ansible_password': password, 'ansible_winrm_transport': 'basic',
            'ansible_winrm_scheme': 'http', 'ansible_winrm_operation_timeout_sec': 20,
            'ansible_winrm_read_timeout_sec': 30}


def test_arguments_are_validated_like_a_module(make_action):
    for plugin, job in ((win_iscsi_boot, 'iscsi_boot'), (win_iscsi_boot_info, 'iscsi_boot_info'),
                        (win_critical_device, 'critical_device')):
        assert plugin.ActionModule.JOB == job and plugin.ActionModule.SPEC is LIVE_MODULES[job]
    result = make_action(win_iscsi_boot.ActionModule, {'state': 'present'}).run(task_vars={'ansible_host': '127.0.0.1'})
    assert result['failed'] and 'nics' in result['msg']
    result = make_action(win_critical_device.ActionModule, {
        'hardware_ids': ['PCI\\VEN_8086&DEV_100E'], 'service': 'E1G60', 'class': 'Net', 'class_guid': '{x}'}).run(
        task_vars={})
    assert result['failed'] and 'mutually exclusive' in result['msg']
    result = make_action(win_iscsi_boot_info.ActionModule, {'frobnicate': 1}).run(task_vars={})
    assert result['failed'] and 'frobnicate' in result['msg']


def test_a_live_task_and_a_wrong_password(endpoint, make_action):
    result = make_action(win_iscsi_boot.ActionModule, {'nics': [{'id': 'PCI\\VEN_8086&DEV_100E', 'service': 'E1G60'}]},
                         check_mode=True).run(task_vars=host_vars(endpoint))
    assert result['changed'] and not result.get('failed') and result['winrm']['commands'] == 1
    denied = make_action(win_iscsi_boot_info.ActionModule, {}).run(task_vars=host_vars(endpoint,
                                                                                       password='x' + SECRET))
    assert denied['failed'] and 'authentication failed' in denied['msg'] and SECRET not in repr(denied)
