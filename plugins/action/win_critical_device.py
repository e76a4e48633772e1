# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of sanboot.windows.win_critical_device (documentation in plugins/modules/win_critical_device.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.winrm_backend import LIVE_OPTIONS
from ansible_collections.sanboot.windows.plugins.plugin_utils._winrm_action import LiveRegistryAction

ARGUMENT_SPEC = dict(
    hardware_ids=dict(type='list', elements='str', required=True),
    service=dict(type='str'),
    class_guid=dict(type='str'),
    start=dict(type='raw'),
    type=dict(type='raw'),
    error_control=dict(type='raw'),
    group=dict(type='str'),
    image_path=dict(type='str'),
    boot_flags=dict(type='int'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    control_sets=dict(type='str', choices=['current', 'all'], default='current'),
)
ARGUMENT_SPEC['class'] = dict(type='str')
ARGUMENT_SPEC.update(LIVE_OPTIONS)


class ActionModule(LiveRegistryAction):
    JOB = 'critical_device'
    ARGUMENT_SPEC = ARGUMENT_SPEC
    MUTUALLY_EXCLUSIVE = [['class_guid', 'class']]
    REQUIRED_IF = [['state', 'present', ['service']], ['state', 'present', ['class_guid', 'class'], True]]
