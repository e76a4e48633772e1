# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Attributes of every live module (win_*): an action plugin on the controller that talks to the host with pywinrm.
    DOCUMENTATION = r'''
attributes:
  action:
    support: full
    description: Runs on the controller as an action plugin and talks to the host with pywinrm.
  async:
    support: none
    description: The task runs in the foreground; it takes seconds.
  platform:
    support: full
    platforms: windows
    description: Windows 7 SP1 / Server 2008 R2 to Windows 11 / Server 2025, over WinRM.
'''
