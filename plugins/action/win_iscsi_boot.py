# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of sanboot.windows.win_iscsi_boot (documentation in plugins/modules/win_iscsi_boot.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
from ansible_collections.sanboot.windows.plugins.module_utils.jobs.live import LIVE_OPTIONS
from ansible_collections.sanboot.windows.plugins.plugin_utils._winrm_action import LiveRegistryAction

ARGUMENT_SPEC = dict(iscsi_boot.CONVERSION_ARGS)
ARGUMENT_SPEC.update(iscsi_boot.DRIVER_ARGS)
ARGUMENT_SPEC.update(LIVE_OPTIONS)


class ActionModule(LiveRegistryAction):
    JOB = 'iscsi_boot'
    ARGUMENT_SPEC = ARGUMENT_SPEC
    REQUIRED_IF = [['state', 'present', ['nics']]]
    PATH_OPTIONS = ('drivers',)
