# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which driver will drive a boot NIC (windows/nicdriver.py): given in nics:, an installed adapter of the same chip,
the in-box driver of Windows 7, or a package in drivers:; and the error that says what to give when none is."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError
from ansible_collections.sanboot.windows.plugins.module_utils.windows import nic, nicdriver, osinfo
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    FIXTURES, error_ids as errors, iscsi_boot_params as params, make_driver_package, unpacked_hive,
)

CS = 'ControlSet001'
E1000 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
VIRTIO_FULL = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
VIRTIO_WIN = os.path.join(FIXTURES, 'inf', 'virtio-win')
REACTOS = os.path.join(FIXTURES, 'inf', 'reactos')


@pytest.fixture(scope='module')
def windows7():
    hive = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    return hive, osinfo.detect_os(hive, CS, Hive(unpacked_hive('phony-win7-32.SOFTWARE')))


def found(windows7, spec):
    driver = nicdriver.find_driver(windows7[0], CS, windows7[1], nic.parse_nic(spec))
    return driver and (driver.service, driver.source)


def test_windows_7_given_then_installed_then_in_box(windows7):
    assert found(windows7, {'id': '8086:100e', 'service': 'Mine'}) == ('Mine', 'given in nics')
    # the fixture has two 82545EM adapters installed (E1G60): the same chip takes their service
    installed = ('E1G60', 'installed adapter VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\\4&b70f118&0&0888')
    assert found(windows7, 'PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01') == installed
    assert found(windows7, '8086:100f') == installed
    # QEMU's e1000 is not installed, but Windows 7 drives it in-box with E1G60
    assert found(windows7, '8086:100e') == ('E1G60', 'in-box driver of this Windows version (docs/how-it-works.md)')
    assert found(windows7, '1af4:1000') is None


def test_a_package_in_drivers_and_a_match_by_vendor_and_device_only(windows7):
    driver, warnings = nicdriver.driver_from_package([VIRTIO_WIN], windows7[1], nic.parse_nic(VIRTIO_FULL),
                                                     templates={})
    assert (driver.service, driver.inf, driver.ids) == ('netkvm', 'netkvm_w10_template.inf', [VIRTIO_FULL])
    assert driver.source == 'driver package %s' % driver.package_path and driver.class_guid == nic.NET_CLASS
    assert nicdriver.binary_of(driver) == 'netkvm.sys' and driver.inf_driver is None     # Windows 7: no staging
    assert not [w for w in warnings if 'vendor and device only' in w]
    generic, warnings = nicdriver.driver_from_package([VIRTIO_WIN], windows7[1], nic.parse_nic('1af4:1000'),
                                                      templates={})
    assert generic.ids == [VIRTIO_FULL]
    assert warnings[0] == ('PCI\\VEN_1AF4&DEV_1000 matched %s of netkvm_w10_template.inf by vendor and device '
                           'only; give the NIC\'s full hardware ID to be sure' % VIRTIO_FULL)


def test_no_driver_names_what_to_give(windows7):
    with pytest.raises(BootError) as info:
        nicdriver.resolve_drivers(windows7[0], CS, windows7[1], [nic.parse_nic('1af4:1000')], [], False, None)
    assert str(info.value) == (
        'no driver for PCI\\VEN_1AF4&DEV_1000 is known to this Windows (Microsoft Windows 7 Phony Edition): give '
        'its driver package in drivers:, or the in-box service in nics: ({id: ..., service: ...}) if you know it')
    # the report asks for none
    assert nicdriver.resolve_drivers(windows7[0], CS, windows7[1], [nic.parse_nic('1af4:1000')], [], False, None,
                                     required=False) == ({}, [])


def test_unknown_driver_is_a_clear_error(hive_copy):
    path = hive_copy('win10-1903-x64-dirty.SYSTEM')
    with pytest.raises(RegistryError, match='no driver for PCI.VEN_8086&DEV_100E.* is known to this Windows'):
        iscsi_boot.run_iscsi_boot(params(path, 'phony-win10.SOFTWARE', E1000, {}), check_mode=False)
    with pytest.raises(RegistryError, match='set lenient to accept them'):
        iscsi_boot.run_iscsi_boot(params(path, 'phony-win10.SOFTWARE', E1000, {'drivers': [REACTOS]}), check_mode=False)
    report = iscsi_boot.run_iscsi_boot_info(params(path, 'phony-win10.SOFTWARE', E1000, {}))
    assert 'nic-no-driver-package' in errors(report['findings'])


# ---------------------------------------------------------------------------------------------------------
# Class-code Models lines (issue 25): Windows forms PCI\VEN_v&DEV_d&CC_ccsspp / &CC_ccss from the device's class
# code; the hint of the error without one is followed here, in both its forms, and works.

VSMRAID_CASE = os.path.join(FIXTURES, 'inf', 'own', 'vsmraid-case.inf')
VIA_FULL = 'PCI\\VEN_1106&DEV_3349&SUBSYS_00000000&REV_00'


@pytest.fixture(scope='module')
def windows10():
    system = Hive(unpacked_hive('win10-1903-x64-dirty.SYSTEM'), allow_dirty=True)
    return system, Hive(unpacked_hive('win10-1903-x64.DRIVERS')), osinfo.detect_os(
        system, CS, Hive(unpacked_hive('phony-win10.SOFTWARE')))


def test_the_class_code_hint_names_an_id_that_works(windows10, tmp_path):
    system, drivers, os_info = windows10
    package = os.path.dirname(make_driver_package(str(tmp_path / 'pkg'), VSMRAID_CASE, name='vsmraid.inf'))
    with pytest.raises(BootError) as info:
        nicdriver.resolve_drivers(system, CS, os_info, [nic.parse_nic(VIA_FULL)], [package], False, None,
                                  drivers_db=drivers)
    message = str(info.value)
    hint = re.search(r"need the device's class code: give (\S+)&CC_ccss or &CC_ccsspp ", message)
    assert hint and hint.group(1) == VIA_FULL, message
    for cc in ('0104', '010400'):
        followed = nic.parse_nic(hint.group(1) + '&CC_' + cc)
        drivers_found, warnings = nicdriver.resolve_drivers(system, CS, os_info, [followed], [package], False, None,
                                                            drivers_db=drivers)
        driver = drivers_found[VIA_FULL]
        assert (driver.service, driver.ids, driver.section) == ('vsmraid', ['PCI\\VEN_1106&DEV_3349&CC_0104'], 'VSMRAID')
        # Windows 10 has this very package (vsmraid.inf, inbox): found in SYSTEM by its class-code ID
        assert (driver.ddb_state, driver.package.inf) == ('in place', 'vsmraid.inf'), driver.source
        assert not [w for w in warnings if 'vendor and device only' in w]
    # the class from an lspci -nn line works the same way
    lspci = nic.parse_nic('00:0f.0 RAID bus controller [0104]: VIA VT8251 [1106:3349] (rev 80)')
    found_lspci = nicdriver.resolve_drivers(system, CS, os_info, [lspci], [package], False, None,
                                            drivers_db=drivers)[0]
    assert found_lspci['PCI\\VEN_1106&DEV_3349&REV_80'].service == 'vsmraid'
