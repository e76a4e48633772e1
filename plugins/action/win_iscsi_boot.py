# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of sanboot.windows.win_iscsi_boot (documentation in plugins/modules/win_iscsi_boot.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.jobs.live import LIVE_MODULES
from ansible_collections.sanboot.windows.plugins.plugin_utils._winrm_action import LiveRegistryAction


class ActionModule(LiveRegistryAction):
    JOB = 'iscsi_boot'
    SPEC = LIVE_MODULES[JOB]
