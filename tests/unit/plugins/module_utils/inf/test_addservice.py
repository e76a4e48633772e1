# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AddService directives and service-install sections (inf/addservice.py), with the ImagePath Windows writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value
from ansible_collections.sanboot.windows.tests.unit.plugins.module_utils.inf.infs import read, simple_driver


def test_add_service_forms():
    install = ('[Inst]\n[Inst.Services]\n'
               'AddService = , 0x00000002\n'
               'AddService = Filter,, Svc\n'
               'AddService = Wlan, 0x10002, Svc, EvLog\n'
               'AddService = Other, 2, Svc, EvLog, Application, OtherName\n'
               '[EvLog]\nAddReg = ev\n[ev]\nHKR,,EventMessageFile,0x00020000,"%%SystemRoot%%\\System32\\IoLogMsg.dll"\n'
               'HKR,,TypesSupported,0x00010001,7\n')
    driver = read(simple_driver(install=install))
    services = driver.devices[0].install_info.services
    assert [(s.name, s.flags, s.flags_raw, s.assoc) for s in services] == [
        ('', 2, '0x00000002', True), ('Filter', 0, '', False), ('Wlan', 0x10002, '0x10002', True),
        ('Other', 2, '2', True)]
    assert (services[2].event_log_type, services[2].event_name) == ('System', 'Wlan')
    assert (services[3].event_log_type, services[3].event_name) == ('Application', 'OtherName')
    assert [e.value for e in services[2].event_log_addreg] == [
        Value.expand_sz('EventMessageFile', '%SystemRoot%\\System32\\IoLogMsg.dll'), Value.dword('TypesSupported', 7)]
    assert any('several services' in w for w in driver.warnings)


def test_service_fields_dependencies_and_image_path():
    extra = ('[Svc2]\nDisplayName = %Dev%\nServiceType = 0x1\nStartType = 3\nErrorControl = 1\n'
             'ServiceBinary = %13%\\sub\\x.sys\nDependencies = ndis, +NDIS Wrapper\nStartName = LocalSystem\n'
             'ServiceType = 2\nBootFlags = 1\n')
    install = '[Inst]\n[Inst.Services]\nAddService = x, 2, Svc2\n'
    svc = read(simple_driver(install=install, extra=extra)).services[0]
    assert svc.fields['ServiceType'] == '0x1'     # first line wins
    assert svc.fields['DisplayName'] == 'Device'
    assert svc.dependencies == ['ndis', '+NDIS Wrapper']
    assert svc.binary_dirid == 13 and svc.binary_file == 'sub\\x.sys'
    assert svc.image_path == '\\SystemRoot\\System32\\DriverStore\\FileRepository\\t.inf_amd64_<hash>\\sub\\x.sys'
    as_dict = svc.as_dict()
    assert as_dict['fields']['BootFlags'] == '1' and as_dict['service_type'] == 1


@pytest.mark.parametrize('binary,image_path', [
    ('%12%\\netkvm.sys', '\\SystemRoot\\System32\\drivers\\netkvm.sys'),
    ('%11%\\drivers\\x.sys', '\\SystemRoot\\System32\\drivers\\x.sys'),
    ('%10%\\System32\\drivers\\x.sys', '\\SystemRoot\\System32\\drivers\\x.sys'),
])
def test_image_path_as_windows_writes_it(binary, image_path):
    svc = read(simple_driver().replace('%12%\\svc.sys', binary)).services[0]
    assert svc.image_path == image_path


def test_missing_required_service_field():
    driver = read(simple_driver().replace('ErrorControl = 1\n', ''))
    assert driver.services[0].missing == ['ErrorControl']
    assert any('lacks ErrorControl' in w for w in driver.warnings)


def test_kmdf_library_version():
    install = ('[Inst]\n[Inst.Services]\nAddService = svc, 2, Svc\n[Inst.Wdf]\nKmdfService = svc, wdfsect\n'
               '[wdfsect]\nKmdfLibraryVersion = 1.15\n')
    assert read(simple_driver(install=install)).services[0].kmdf_library_version == '1.15'
