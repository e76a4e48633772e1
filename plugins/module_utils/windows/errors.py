# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error the Windows layer raises when a Windows installation cannot be converted as asked (its message is
the whole story; the modules show it as it is)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError


class BootError(RegistryError):
    pass
