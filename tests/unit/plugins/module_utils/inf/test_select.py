# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The select stage (inf/select.py): which driver Windows picks for a device (identifier scores, FeatureScore,
DriverVer), and the boot driver of a package, ready to inject."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value
from ansible_collections.sanboot.windows.tests.unit.plugins.module_utils.inf.infs import (
    FIXTURES, SRV2022, WIN7, WIN7_X86, package, simple_driver,
)


# ---------------------------------------------------------------------------------------------------------
# device matching and ranking

def test_expand_pci_id():
    hw, compat = inf.expand_pci_id('pci\\ven_8086&dev_10d3&subsys_07d015ad&rev_00&cc_020000')
    assert hw == ['PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00', 'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD',
                  'PCI\\VEN_8086&DEV_10D3&CC_020000', 'PCI\\VEN_8086&DEV_10D3&CC_0200']
    assert compat == ['PCI\\VEN_8086&DEV_10D3&REV_00', 'PCI\\VEN_8086&DEV_10D3', 'PCI\\VEN_8086&CC_020000',
                      'PCI\\VEN_8086&CC_0200', 'PCI\\VEN_8086', 'PCI\\CC_020000', 'PCI\\CC_0200']
    assert inf.expand_pci_id('PCI\\VEN_1AF4&DEV_1001') == (['PCI\\VEN_1AF4&DEV_1001'], ['PCI\\VEN_1AF4'])
    assert inf.expand_pci_id('ACPI\\PNP0A03') == (['ACPI\\PNP0A03'], [])


def ranked_driver(models, driver_ver='01/02/2020,1.2.3.4', name='t.inf', install_extra=''):
    text = simple_driver(models='[Mfg.NTamd64]\n' + models,
                         install='[Inst]\nCopyFiles = Files\n' + install_extra +
                                 '[Inst.Services]\nAddService = svc, 2, Svc\n'
                                 '[Inst2]\nFeatureScore = 0xFE\n[Inst2.Services]\nAddService = svc2, 2, Svc\n'
                                 '[Null]\n[Null.Services]\nAddService = ,2\n')
    text = text.replace('DriverVer=01/02/2020,1.2.3.4', 'DriverVer=' + driver_ver)
    return inf.read_inf_data(text.encode(), SRV2022, name=name)


DEVICE = {'hardware_ids': ['PCI\\VEN_1&DEV_2&SUBSYS_3&REV_01', 'PCI\\VEN_1&DEV_2&SUBSYS_3'],
          'compatible_ids': ['PCI\\VEN_1&DEV_2&REV_01', 'PCI\\VEN_1&DEV_2', 'PCI\\CC_0200']}


@pytest.mark.parametrize('models,score,kind', [
    ('%Dev% = Inst, PCI\\VEN_1&DEV_2&SUBSYS_3&REV_01\n', 0x0000, 'hardware ID match'),
    ('%Dev% = Inst, pci\\ven_1&dev_2&subsys_3\n', 0x0001, 'hardware ID match'),
    ('%Dev% = Inst, OTHER, PCI\\VEN_1&DEV_2&SUBSYS_3\n', 0x1001, 'INF compatible ID'),
    ('%Dev% = Inst, PCI\\VEN_1&DEV_2\n', 0x2001, 'device compatible ID matches the INF hardware ID'),
    ('%Dev% = Inst, OTHER, X, PCI\\CC_0200\n', 0x3102, 'device compatible ID matches an INF compatible ID'),
])
def test_identifier_score(models, score, kind):
    entry = ranked_driver(models).devices[0]
    got = inf.identifier_score(inf.normalize_device(DEVICE), entry)
    assert got[0] == score and kind in got[1]


def test_hardware_id_match_beats_compatible_and_newer_date_breaks_ties():
    a = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2\n', '01/01/2024,9.0', 'generic-new.inf')
    b = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2&SUBSYS_3\n', '01/01/2010,1.0', 'specific-old.inf')
    c = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2&SUBSYS_3\n', '06/01/2015,1.0', 'specific-newer.inf')
    d = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2&SUBSYS_3\n', '06/01/2015,2.0', 'specific-higher.inf')
    result = inf.match_device([a, b, c, d], DEVICE)
    assert result['selected']['inf_name'] == 'specific-higher.inf'
    assert 'same rank lose on DriverVer' in result['reason']
    assert [c_['inf_name'] for c_ in result['candidates']] == [
        'specific-higher.inf', 'specific-newer.inf', 'specific-old.inf', 'generic-new.inf']


def test_feature_score_ranks_before_identifier_position():
    driver = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2&SUBSYS_3&REV_01\n%Dev% = Inst2, PCI\\VEN_1&DEV_2\n')
    result = inf.match_device([driver], DEVICE)
    assert result['selected']['install_section'] == 'Inst2' and result['selected']['rank'] == '0x00FE2001'


def test_driver_ver_in_the_install_section_ranks_the_device():
    install_extra = 'DriverVer = 12/31/2030,9.9.9.9\n'
    newer = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2\n', '01/01/2020,1.0', 'a.inf', install_extra)
    older = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2\n', '01/01/2025,1.0', 'b.inf')
    assert inf.match_device([older, newer], DEVICE)['selected']['inf_name'] == 'a.inf'


def test_no_match_and_invalid_inf_is_skipped():
    driver = ranked_driver('%Dev% = Inst, PCI\\VEN_9&DEV_9\n')
    assert inf.match_device([driver], DEVICE)['selected'] is None
    bad = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2\n')
    bad.valid = False
    assert inf.match_device([bad], DEVICE)['selected'] is None


@pytest.mark.parametrize('device', [[], '', {'hardware_ids': []}, 5, {'hardware_ids': 'x', 'compatible_ids': 3}])
def test_bad_devices(device):
    with pytest.raises(inf.InfError):
        inf.normalize_device(device)


@pytest.mark.parametrize('inf_path, target, device, cc, inf_id', [
    # scsi.inf lists PCI\VEN_104B&CC_0100 (vendor and class)
    (os.path.join('reactos', 'scsi.inf'), WIN7_X86, 'PCI\\VEN_104B&DEV_1040', '010000', 'PCI\\VEN_104B&CC_0100'),
    # our vsmraid-like INF lists PCI\VEN_1106&DEV_3349&CC_0104 only; the full ID, then the class code (issue 25)
    (os.path.join('own', 'vsmraid-case.inf'), SRV2022, 'PCI\\VEN_1106&DEV_3349&SUBSYS_00000000&REV_00', '010400',
     'PCI\\VEN_1106&DEV_3349&CC_0104'),
    (os.path.join('own', 'vsmraid-case.inf'), SRV2022, 'PCI\\VEN_1106&DEV_3349&SUBSYS_00000000&REV_00', '0104',
     'PCI\\VEN_1106&DEV_3349&CC_0104'),
])
def test_the_class_code_hint_when_a_pci_id_has_none_is_one_that_works(inf_path, target, device, cc, inf_id):
    driver = inf.read_inf(os.path.join(FIXTURES, inf_path), target)
    result = inf.match_device([driver], device)
    assert result['selected'] is None
    hint = re.search(r"need the device's class code: give (\S+)&CC_ccss or &CC_ccsspp ", result['reason'])
    assert hint and hint.group(1) == device, result['reason']
    with pytest.raises(inf.InfError) as info:
        inf.select_boot_driver([driver], target, [device])
    assert hint.group(0) in str(info.value)
    followed = hint.group(1) + '&CC_' + cc
    result = inf.match_device([driver], followed)
    assert result['selected'] is not None and result['selected']['inf_id'] == inf_id
    assert inf.select_boot_driver([driver], target, [followed])['match']['inf_id'] == inf_id


# ---------------------------------------------------------------------------------------------------------
# boot_driver

def test_boot_driver_result(tmp_path):
    install = ('[Inst]\nCopyFiles = Files\nAddReg = drv\n[Inst.HW]\nAddReg = hw\n'
               '[Inst.Services]\nAddService = svc, 0x2, Svc, Ev\n[Ev]\nAddReg = ev\n[ev]\nHKR,,TypesSupported,0x10001,7\n'
               '[drv]\nHKR,Ndi,Service,,"svc"\n[hw]\nHKR,"Interrupt Management",,0x10\n')
    extra = ('[SvcReg]\nHKR,Parameters,BusType,0x00010001,10\nHKR,Parameters\\Wdf,,0x10\n'
             'HKLM,System\\CurrentControlSet\\Control\\X,Y,,"z"\n')
    text = simple_driver(install=install, extra=extra).replace(
        'LoadOrderGroup = NDIS\n', 'LoadOrderGroup = NDIS\nDisplayName = "Svc Display"\nAddReg = SvcReg\n'
                                   'Dependencies = dep1, +grp\n')
    folder = package(tmp_path, text)
    result = inf.boot_driver(folder, SRV2022, devices=['PCI\\VEN_1234&DEV_0001&SUBSYS_00011234&REV_00'])
    assert result['service'] == 'svc' and result['inf_name'] == 'drv.inf'
    assert result['class_guid'] == '{4d36e972-e325-11ce-bfc1-08002be10318}'
    assert result['driver_ver'] == {'date': '2020-01-02', 'version': '1.2.3.4'}
    assert result['hardware_ids'] == ['PCI\\VEN_1234&DEV_0001']
    assert result['match']['match'] == 'device compatible ID matches the INF hardware ID'
    assert result['service_values'] == [
        ((), Value.dword('Type', 1)), ((), Value.dword('Start', 0)), ((), Value.dword('ErrorControl', 1)),
        ((), Value.expand_sz('ImagePath', '\\SystemRoot\\System32\\drivers\\svc.sys')),
        ((), Value.sz('Group', 'NDIS')), ((), Value.sz('DisplayName', 'Svc Display')),
        ((), Value.multi_sz('DependOnService', ['dep1'])), ((), Value.multi_sz('DependOnGroup', ['grp'])),
        (('Parameters',), Value.dword('BusType', 10)),
    ]
    assert result['service_keys'] == [('Parameters', 'Wdf')]
    assert any('writes outside Services' in w for w in result['warnings'])
    assert result['event_log'] == {'log': 'System', 'name': 'svc', 'values': [((), Value.dword('TypesSupported', 7))]}
    assert result['driver_values'] == [(('Ndi',), Value.sz('Service', 'svc'))]
    assert result['hardware_values'] == []
    assert result['files'] == [{'source': 'svc.sys', 'source_path': os.path.join(folder, 'svc.sys'), 'present': True,
                                'dirid': 12, 'inf_dirid': 12, 'subdir': '', 'name': 'svc.sys',
                                'target': 'System32\\drivers\\svc.sys', 'found_at': None}]


def test_boot_driver_without_devices_uses_all_ids(tmp_path):
    models = '[Mfg.NTamd64]\n%Dev% = Inst, PCI\\VEN_1&DEV_1, PCI\\VEN_1\n%Dev% = Inst, PCI\\VEN_1&DEV_2\n'
    folder = package(tmp_path, simple_driver(models=models))
    result = inf.boot_driver(os.path.join(folder, 'drv.inf'), {'os': 'server2022', 'arch': 'amd64'})
    assert result['hardware_ids'] == ['PCI\\VEN_1&DEV_1', 'PCI\\VEN_1', 'PCI\\VEN_1&DEV_2']
    assert result['match'] is None and 'only function driver' in result['reason']


def test_boot_driver_driver_store_package_is_redirected(tmp_path):
    text = simple_driver().replace('%12%\\svc.sys', '%13%\\svc.sys').replace('DefaultDestDir = 12', 'DefaultDestDir = 13')
    result = inf.boot_driver(package(tmp_path, text), SRV2022)
    assert result['service_values'][3] == ((), Value.expand_sz('ImagePath', '\\SystemRoot\\System32\\drivers\\svc.sys'))
    assert result['files'][0]['dirid'] == 12 and result['files'][0]['inf_dirid'] == 13
    assert any('DriverStore' in w for w in result['warnings'])


def test_boot_driver_kmdf(tmp_path):
    install = ('[Inst]\nCopyFiles = Files\n[Inst.Services]\nAddService = svc, 2, Svc\n[Inst.Wdf]\n'
               'KmdfService = svc, wdf\n[wdf]\nKmdfLibraryVersion = $KMDFVERSION$\n')
    result = inf.boot_driver(package(tmp_path, simple_driver(install=install)), SRV2022,
                             templates={'$KMDFVERSION$': '1.15'})
    assert result['service_values'][-1] == (('Parameters', 'Wdf'), Value.sz('KmdfLibraryVersion', '1.15'))


def test_boot_driver_errors(tmp_path):
    folder = package(tmp_path, simple_driver())
    with pytest.raises(inf.InfError, match='none of the devices'):
        inf.boot_driver(folder, SRV2022, devices=['PCI\\VEN_9999&DEV_9999'])
    with pytest.raises(inf.InfError, match='nothing in the package'):
        inf.boot_driver(folder, WIN7_X86)
    with pytest.raises(inf.InfError, match='does not exist'):
        inf.boot_driver(str(tmp_path / 'missing'), SRV2022)
    with pytest.raises(inf.InfError, match='target'):
        inf.boot_driver(folder, 'server2022')
    null = simple_driver(install='[Inst]\n[Inst.Services]\nAddService = , 2\n')
    with pytest.raises(inf.InfError, match='no function driver'):
        inf.boot_driver(package(tmp_path, null, folder='null'), SRV2022, devices=['PCI\\VEN_1234&DEV_0001'])


def test_boot_driver_missing_service_entries(tmp_path):
    with pytest.raises(inf.InfError, match='lacks ErrorControl'):
        inf.boot_driver(package(tmp_path, simple_driver().replace('ErrorControl = 1\n', '')), SRV2022)
    with pytest.raises(inf.InfError, match='DRIVER_DIRID'):
        inf.boot_driver(package(tmp_path, simple_driver().replace('%12%', '%DRIVER_DIRID%'), folder='b'), SRV2022)


def test_boot_driver_several_services_need_devices(tmp_path):
    models = '[Mfg.NTamd64]\n%Dev% = Inst, ID\\A\n%Dev% = Inst2, ID\\B\n'
    install = ('[Inst]\n[Inst.Services]\nAddService = one, 2, Svc\n'
               '[Inst2]\n[Inst2.Services]\nAddService = two, 2, Svc\n')
    folder = package(tmp_path, simple_driver(models=models, install=install))
    with pytest.raises(inf.InfError, match='several function drivers'):
        inf.boot_driver(folder, SRV2022)
    assert inf.boot_driver(folder, SRV2022, devices=[['ID\\B']])['service'] == 'two'


def test_boot_driver_skips_unreadable_infs_in_folders(tmp_path):
    folder = package(tmp_path, simple_driver())
    with open(os.path.join(folder, 'broken.inf'), 'w') as handle:
        handle.write('[Version\n')
    result = inf.boot_driver(folder, SRV2022)
    assert any('broken.inf' in w and 'skipped' in w for w in result['warnings'])
    with pytest.raises(inf.InfError, match='closing'):
        inf.read_package(os.path.join(folder, 'broken.inf'), SRV2022)


def test_boot_driver_on_the_virtio_fixture(tmp_path):
    folder = tmp_path / 'viostor' / 'w7' / 'amd64'
    folder.mkdir(parents=True)
    shutil.copy(os.path.join(FIXTURES, 'virtio-win', 'viostor_wlh.inf'), str(folder / 'viostor.inf'))
    (folder / 'viostor.sys').write_bytes(b'MZ')
    result = inf.boot_driver(str(tmp_path), WIN7, devices=['PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00'])
    assert result['service'] == 'viostor'
    assert result['hardware_ids'] == ['PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4']
    values = dict((v.name, v) for k, v in result['service_values'] if k == ())
    assert values['ImagePath'] == Value.expand_sz('ImagePath', '\\SystemRoot\\System32\\drivers\\viostor.sys')
    assert values['Start'].decoded() == 0 and values['Group'].decoded() == 'SCSI miniport'
    assert [(k, v.name) for k, v in result['service_values'] if k != ()] == [
        (('Parameters', 'PnpInterface'), '5'), (('Parameters',), 'BusType')]
    assert result['files'][0]['present'] is True
