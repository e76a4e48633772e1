# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""BootError (windows/errors.py): what the Windows layer raises when an installation cannot be converted as asked.
The modules catch RegistryError and show its message as it is, so a BootError must be one, and its message the
whole story - also when it carries an error from a layer below."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError
from ansible_collections.sanboot.windows.plugins.module_utils.windows import nic
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import iscsi_boot_params as params, unpacked_hive  # noqa: E402

WIN10 = 'win10-1903-x64-dirty.SYSTEM'
E82574 = 'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00'


def test_a_boot_error_reaches_the_modules_as_a_registry_error_with_its_whole_message():
    with pytest.raises(RegistryError) as info:
        nic.parse_nic({'id': 'PCI\\VEN_8086&DEV_100E', 'speed': 10})
    assert info.type is BootError
    assert str(info.value) == 'unknown keys in a nics entry: speed (use id, service, location)'


def test_an_error_from_below_keeps_its_message():
    # nicpackage's PackageError, raised while the conversion plans: the job raises a BootError with the same text
    with pytest.raises(BootError) as info:
        iscsi_boot.run_iscsi_boot(params(unpacked_hive(WIN10), 'phony-win10.SOFTWARE', E82574), check_mode=True)
    assert str(info.value) == (
        'the driver package of %s (net1ic64.inf, installed for e1i65x64) is in the DRIVERS hive '
        '(Windows\\System32\\config\\DRIVERS), which was not given: give it as drivers_hive so that its records can '
        'be copied into SYSTEM. No package is made up.' % E82574)
