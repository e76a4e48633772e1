# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of sanboot.windows.win_iscsi_boot (documentation in plugins/modules/win_iscsi_boot.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.live import LIVE_OPTIONS
from ansible_collections.sanboot.windows.plugins.plugin_utils._winrm_action import LiveRegistryAction

ARGUMENT_SPEC = dict(
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    wfp_filter_optional=dict(type='bool', default=True),
    boot_driver_flags=dict(type='bool', default=True),
    auto_reboot=dict(type='bool'),
    nic_power_management=dict(type='bool', default=False),
    reset_device_policy=dict(type='bool', default=True),
    control_sets=dict(type='str', choices=['current', 'all'], default='current'),
    nics=dict(type='list', elements='raw'),
    drivers=dict(type='list', elements='path', default=[]),
    lenient=dict(type='bool', default=False),
    templates=dict(type='dict'),
)
ARGUMENT_SPEC.update(LIVE_OPTIONS)


class ActionModule(LiveRegistryAction):
    JOB = 'iscsi_boot'
    ARGUMENT_SPEC = ARGUMENT_SPEC
    REQUIRED_IF = [['state', 'present', ['nics']]]
    PATH_OPTIONS = ('drivers',)
