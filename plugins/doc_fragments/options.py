# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options that offline modules and their live twins document the same way, one variable each: name it
    # (sanboot.windows.options.control_sets, sanboot.windows.options.lenient); there is no DOCUMENTATION.

    # iscsi_boot, win_iscsi_boot and win_critical_device (critical_device says more about Last Known Good).
    CONTROL_SETS = r'''
options:
  control_sets:
    description:
      - C(current) edits the control set Windows boots with; C(all) every control set that C(Select) names.
    type: str
    choices: [current, all]
    default: current
'''

    # iscsi_boot, iscsi_boot_info and win_iscsi_boot.
    LENIENT = r'''
options:
  lenient:
    description:
      - Also accept undecorated Models sections on 64-bit Windows, as old tools do (Windows itself does not).
    type: bool
    default: false
'''
