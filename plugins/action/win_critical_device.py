# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of sanboot.windows.win_critical_device (documentation in plugins/modules/win_critical_device.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb
from ansible_collections.sanboot.windows.plugins.module_utils.jobs.live import LIVE_OPTIONS
from ansible_collections.sanboot.windows.plugins.plugin_utils._winrm_action import LiveRegistryAction

ARGUMENT_SPEC = dict(cddb.OPTIONS, hardware_ids=dict(type='list', elements='str', required=True))
ARGUMENT_SPEC.update(LIVE_OPTIONS)


class ActionModule(LiveRegistryAction):
    JOB = 'critical_device'
    ARGUMENT_SPEC = ARGUMENT_SPEC
    MUTUALLY_EXCLUSIVE = [['class_guid', 'class']]
    REQUIRED_IF = [['state', 'present', ['service']], ['state', 'present', ['class_guid', 'class'], True]]
