# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor (windows/doctor.py): its findings (typed records with an id, a severity, a fix and evidence) on the
fixture hives as they are and once converted, the Windows 8+ package findings, and the boot driver's signature read
from the installation's files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner, Value
from ansible_collections.sanboot.windows.plugins.module_utils.windows import doctor, nic, nicdriver, osinfo
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nic import Driver

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    iscsi_boot_params as params, pe_stub64, unpacked_hive,
)

E1000 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
VIRTIO_FULL = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
# The adapter Windows drives in the Windows 10 fixture (its package is in the DRIVERS test hive only).
E82574_10 = 'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00'
CS = 'ControlSet001'


class View(object):
    """An installation's files, as the image back-end's GuestView reads them."""

    def __init__(self, files):
        self.files = dict((k.lower(), v) for k, v in files.items())

    def read(self, rel):
        return self.files.get(rel.lower())


def ids(findings):
    return [(f.id, f.severity) for f in findings]


def test_findings_on_windows_7_as_it_is_and_once_converted(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    nics = [nic.parse_nic(E1000)]
    drivers = {nics[0].most_specific: Driver('E1G60', 'given in nics')}
    hive = Hive(path)
    findings, ready = doctor.diagnose(hive, osinfo.detect_os(hive, CS), CS, nics, drivers)
    assert not ready and all(isinstance(f, doctor.Finding) for f in findings)
    assert ids(findings) == [
        ('nic-not-boot-critical', 'error'), ('not-boot-start', 'error'), ('not-boot-start', 'error'),
        ('wfp-filter-bound', 'error'), ('dhcp-media-sense', 'warning'), ('paging-executive', 'warning'),
        ('boot-driver-flags', 'info'), ('auto-reboot', 'info')]
    assert findings[0].as_dict() == {
        'id': 'nic-not-boot-critical', 'severity': 'error',
        'message': 'no Critical Device Database entry makes %s boot-critical with service E1G60' % E1000,
        'fix': 'run sanboot.windows.iscsi_boot (or critical_device)',
        'evidence': [{'key': 'ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_100e',
                      'value': 'Service', 'data': None, 'type': None}]}
    iscsi_boot.run_iscsi_boot(params(path, None, {'id': E1000, 'service': 'E1G60'}, auto_reboot=False),
                              check_mode=False)
    hive = Hive(path)
    findings, ready = doctor.diagnose(hive, osinfo.detect_os(hive, CS), CS, nics, drivers)
    assert ready and findings == []
    # no NIC, no verdict
    assert doctor.diagnose(hive, osinfo.detect_os(hive, CS), CS, [], {})[1] is False


def test_the_doctor_reads_boot_driver_signatures():
    # 64-bit Windows 8+ loads a boot-start driver only with an embedded signature; the doctor reads the service's
    # binary from the installation's files (images) wherever its ImagePath puts it
    system = Hive(unpacked_hive('win10-1903-x64-dirty.SYSTEM'), allow_dirty=True)
    drivers_db = Hive(unpacked_hive('win10-1903-x64.DRIVERS'))
    os_info = osinfo.detect_os(system, CS, Hive(unpacked_hive('phony-win10.SOFTWARE')))
    nics = [nic.parse_nic(E82574_10)]
    drivers, _warnings = nicdriver.resolve_drivers(system, CS, os_info, nics, [], False, None, drivers_db=drivers_db)
    assert drivers[E82574_10].service == 'e1i65x64'
    binary = 'System32\\drivers\\e1i65x64.sys'

    def signature(view, reader=system):
        found = doctor.diagnose(reader, os_info, CS, nics, drivers, drivers_db=drivers_db, view=view)[0]
        return [f for f in ids(found) if f[0].startswith('boot-driver-') and f[0] != 'boot-driver-flags']
    assert signature(View({binary: pe_stub64(True)})) == []
    assert signature(View({binary: pe_stub64(False)})) == [('boot-driver-unsigned', 'warning')]
    assert signature(View({})) == [('boot-driver-missing', 'error')]
    assert signature(None) == []                    # a hive file: no files to read
    # an ImagePath without \\SystemRoot\\ names the same file
    planner = Planner(system)
    planner.ensure_value((CS, 'Services', 'e1i65x64'), Value.expand_sz('ImagePath', binary))
    assert signature(View({binary: pe_stub64(False)}), planner) == [('boot-driver-unsigned', 'warning')]


# ---------------------------------------------------------------------------------------------------------
# Windows 8+: the NIC's driver package

def test_the_doctor_tells_an_installed_package_from_no_package_and_is_quiet_once_boot_critical(hive_copy):
    # Windows 10 drives the 82574L (e1i65x64, net1ic64.inf): its package is in DRIVERS, not in SYSTEM's DriverDatabase.
    system, drivers = hive_copy('win10-1903-x64-dirty.SYSTEM'), hive_copy('win10-1903-x64.DRIVERS')
    ids = ('nic-package-not-boot-critical', 'nic-no-driver-package')

    def ours(report):
        return [f for f in report['findings'] if f['id'] in ids]
    report = iscsi_boot.run_iscsi_boot_info(params(system, 'phony-win10.SOFTWARE', E82574_10, {}, drivers_hive=drivers))
    [one] = ours(report)
    assert one['id'] == 'nic-package-not-boot-critical' and one['severity'] == 'error'
    assert 'is installed (the DRIVERS hive has it) but not boot-critical' in one['message']
    assert 'copies Windows\' own records of the package from DRIVERS' in one['fix']
    # without the DRIVERS hive the installed adapter still tells it, and the fix asks for the hive
    [one] = ours(iscsi_boot.run_iscsi_boot_info(params(system, 'phony-win10.SOFTWARE', E82574_10, {})))
    assert one['id'] == 'nic-package-not-boot-critical' and 'drivers_hive' in one['fix']
    # a NIC that nothing has a package for: the other error
    [one] = ours(iscsi_boot.run_iscsi_boot_info(params(system, 'phony-win10.SOFTWARE', VIRTIO_FULL, {},
                                                       drivers_hive=drivers)))
    assert one['id'] == 'nic-no-driver-package'
    # once the records are in place, neither
    iscsi_boot.run_iscsi_boot(params(system, 'phony-win10.SOFTWARE', E82574_10, {}, drivers_hive=drivers),
                              check_mode=False)
    after = iscsi_boot.run_iscsi_boot_info(params(system, 'phony-win10.SOFTWARE', E82574_10, {}, drivers_hive=drivers))
    assert not ours(after) and after['ready']
