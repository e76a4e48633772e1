# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Windows an installation is (windows/osinfo.py): version, build, architecture and product from the hives,
and the boot-device family it uses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.windows import osinfo
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import unpacked_hive  # noqa: E402


def test_the_family_follows_the_version_else_the_driver_database():
    info = osinfo.OsInfo()
    assert info.family == 'cddb'
    info.has_driver_database = True
    assert info.family == 'ddb' and info.as_dict()['family'] == 'DriverDatabase'
    info.version = (6, 1)       # the version, when known, says it
    assert info.family == 'cddb' and info.as_dict()['family'] == 'CriticalDeviceDatabase'
    info.version = (6, 2)
    assert info.family == 'ddb' and info.as_dict()['version'] == '6.2'


def test_hives_that_do_not_belong_together_are_refused():
    win7 = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    with pytest.raises(BootError, match=r'no Microsoft\\Windows NT\\CurrentVersion key; is it a SOFTWARE hive'):
        osinfo.detect_os(win7, 'ControlSet001', win7)
    with pytest.raises(BootError, match=r'says Windows 10 .* \(10\.0\) but the SYSTEM hive has no DriverDatabase key'):
        osinfo.detect_os(win7, 'ControlSet001', Hive(unpacked_hive('phony-win10.SOFTWARE')))


def test_os_detection():
    win10 = Hive(unpacked_hive('win10-1903-x64-dirty.SYSTEM'), allow_dirty=True)
    detected = {}
    for software in ('phony-win10.SOFTWARE', 'phony-win11.SOFTWARE', 'phony-win2k22.SOFTWARE',
                     'phony-win2k25.SOFTWARE'):
        detected[software] = osinfo.detect_os(win10, 'ControlSet001', Hive(unpacked_hive(software))).as_dict()
    assert detected['phony-win11.SOFTWARE']['name'].startswith('Windows 11')
    assert detected['phony-win11.SOFTWARE']['build'] >= 22000
    assert '2022' in detected['phony-win2k22.SOFTWARE']['name']
    assert '2025' in detected['phony-win2k25.SOFTWARE']['name']
    assert all(d['version'] == '10.0' and d['arch'] == 'amd64' for d in detected.values())
    win7 = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    seven = osinfo.detect_os(win7, 'ControlSet001', Hive(unpacked_hive('phony-win7-32.SOFTWARE'))).as_dict()
    assert seven['version'] == '6.1' and seven['arch'] == 'x86' and seven['family'] == 'CriticalDeviceDatabase'
    xp = osinfo.detect_os(win7, 'ControlSet001', Hive(unpacked_hive('phony-winxp-32.SOFTWARE'))).as_dict()
    assert xp['version'] == '5.2'  # what the virt-v2v phony XP hive says
    alone = osinfo.detect_os(win10, 'ControlSet001').as_dict()
    assert alone['family'] == 'DriverDatabase' and alone['version'] is None and 'SYSTEM hive' in alone['source']
