# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options that critical_device and its live twin win_critical_device document the same way.
    DOCUMENTATION = r'''
options:
  error_control:
    description:
      - Service C(ErrorControl), C(0)..C(3) or C(ignore), C(normal), C(severe), C(critical).
    type: raw
  state:
    description:
      - C(present) writes the entries and service values; C(absent) removes the named entries.
    type: str
    choices: [present, absent]
    default: present
'''
