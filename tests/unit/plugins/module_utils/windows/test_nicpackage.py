# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot NIC's driver package on Windows 8 and later (windows/nicpackage.py), on the Windows 10 fixture and its
DRIVERS hive: which package serves the NIC, in the one vocabulary of states the results use, and what plan() does
or refuses for each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner
from ansible_collections.sanboot.windows.plugins.module_utils.windows import (
    adapters, driverstore, nic, nicdriver, nicpackage, osinfo,
)

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import unpacked_hive  # noqa: E402

CS = 'ControlSet001'
# Windows drives the 82574L (e1i65x64, net1ic64.inf): its package is in the DRIVERS hive, not in SYSTEM's database.
E82574 = 'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00'
# A Broadcom NIC whose in-box package SYSTEM's DriverDatabase has (and DRIVERS too).
BROADCOM = 'PCI\\VEN_14E4&DEV_1639'
VIRTIO_FULL = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'


@pytest.fixture(scope='module')
def windows10():
    system = Hive(unpacked_hive('win10-1903-x64-dirty.SYSTEM'), allow_dirty=True)
    drivers = Hive(unpacked_hive('win10-1903-x64.DRIVERS'))
    return system, drivers, adapters.enum_net_instances(system, CS), osinfo.detect_os(
        system, CS, Hive(unpacked_hive('phony-win10.SOFTWARE')))


def test_the_states_are_the_words_of_the_results():
    assert (nicpackage.IN_PLACE, nicpackage.COPY, nicpackage.STAGE, nicpackage.ENUM_ONLY) == (
        'in place', 'copied from DRIVERS', 'staged', 'named by an installed adapter')
    assert (nicpackage.STAGE_SYSTEM_ONLY, nicpackage.PNPUTIL) == ('staged in SYSTEM only', 'to be staged by pnputil')


def test_which_package_serves_the_nic(windows10):
    system, drivers, net, _os = windows10

    def find(spec, drivers_db):
        driver = nicpackage.find(system, drivers_db, CS, nic.parse_nic(spec), None, net)
        return driver and (driver.service, driver.ddb_state, driver.inf)
    assert [(state, p.hive, p.inf) for state, p in nicpackage.candidates(system, drivers, nic.parse_nic(BROADCOM))] == [
        ('in place', 'SYSTEM', 'netbvbda.inf'), ('copied from DRIVERS', 'DRIVERS', 'netbvbda.inf')]
    assert find(BROADCOM, drivers) == find(BROADCOM, None) == ('b06bdrv', 'in place', 'netbvbda.inf')
    assert [(state, p.inf) for state, p in nicpackage.candidates(system, drivers, nic.parse_nic(E82574))] == [
        ('copied from DRIVERS', 'net1ic64.inf')]
    assert find(E82574, drivers) == ('e1i65x64', 'copied from DRIVERS', 'net1ic64.inf')
    # without DRIVERS, the installed adapter still names the package
    assert find(E82574, None) == ('e1i65x64', 'named by an installed adapter', 'net1ic64.inf')
    assert find(VIRTIO_FULL, drivers) is None
    assert find({'id': VIRTIO_FULL, 'service': 'netkvm'}, drivers) == ('netkvm', None, None)


def plan(windows10, spec, drivers_planner=True):
    system, drivers, net, os_info = windows10
    found = nic.parse_nic(spec)
    driver = nicpackage.find(system, drivers, CS, found, None, net)
    planner = Planner(system)
    return nicpackage.plan(planner, Planner(drivers) if drivers_planner else None, os_info, found, driver), planner


def test_what_plan_does_for_each_state(windows10):
    in_place, planner = plan(windows10, BROADCOM)
    assert (in_place.state, in_place.details, in_place.staging) == (
        'in place', {'hive': 'SYSTEM', 'inf': 'netbvbda.inf', 'package': 'netbvbda.inf_amd64_06bc8afcd2617abf'}, None)
    assert not planner.plan
    copied, planner = plan(windows10, E82574)
    assert copied.as_dict() == {'inf': 'net1ic64.inf', 'package': 'net1ic64.inf_amd64_0000000000000000',
                                'from': 'DRIVERS', 'device_ids': ['PCI\\VEN_8086&DEV_10D3'], 'keys': 7,
                                'state': 'copied from DRIVERS'}
    assert planner.key_exists(('DriverDatabase', 'DriverPackages', 'net1ic64.inf_amd64_0000000000000000'))
    with pytest.raises(nicpackage.PackageError, match=r'the DRIVERS hive is needed to copy the records of '
                                                      r'net1ic64.inf \(net1ic64.inf_amd64_0000000000000000\)'):
        plan(windows10, E82574, drivers_planner=False)
    with pytest.raises(nicpackage.PackageError, match='none is known for PCI.VEN_1AF4&DEV_1000 .service netkvm '
                                                      'given.: give the NIC driver package in drivers:$'):
        plan(windows10, {'id': '1af4:1000', 'service': 'netkvm'})


def test_named_by_an_installed_adapter_asks_for_the_drivers_hive(windows10):
    system, _drivers, net, os_info = windows10
    found = nic.parse_nic(E82574)
    driver = nicpackage.find(system, None, CS, found, None, net)
    with pytest.raises(nicpackage.PackageError) as info:
        nicpackage.plan(Planner(system), None, os_info, found, driver)
    assert str(info.value) == (
        'the driver package of %s (net1ic64.inf, installed for e1i65x64) is in the DRIVERS hive '
        '(Windows\\System32\\config\\DRIVERS), which was not given: give it as drivers_hive so that its records can '
        'be copied into SYSTEM. No package is made up.' % E82574)


def test_a_package_in_drivers_is_staged_until_windows_has_it(windows10, netkvm):
    system, drivers, net, os_info = windows10
    found = nic.parse_nic(VIRTIO_FULL)
    given = nicdriver.driver_from_package([netkvm], os_info, found)[0]
    assert nicpackage.find(system, drivers, CS, found, given, net) is given and given.ddb_state == 'staged'
    # Windows has it once it is in the driver store (staged into DRIVERS here, as pnputil does on a running host):
    # the same package is then Windows' own, and its records are copied
    drivers_planner = Planner(drivers)
    staging = driverstore.plan_stage(given.inf_driver, None, drivers_planner, os_info)
    again = nicdriver.driver_from_package([netkvm], os_info, found)[0]
    assert nicpackage.find(system, drivers_planner, CS, found, again, net) is again
    assert again.ddb_state == 'copied from DRIVERS' and again.package.label == staging.label
    assert again.source.endswith('; Windows already has it as %s (%s)' % (staging.oem_inf, staging.label))
