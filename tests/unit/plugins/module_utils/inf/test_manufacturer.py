# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""[Manufacturer] and Models sections (inf/manufacturer.py): which Models section applies to a target, and the
devices its lines install."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.tests.unit.plugins.module_utils.inf.infs import (
    HEAD, SRV2022, WIN10, WIN7, WIN7_X86, read, simple_driver,
)


# ---------------------------------------------------------------------------------------------------------
# [Manufacturer] and TargetOSVersion

def chosen(text, target=SRV2022, lenient=False):
    return [m['chosen'] for m in read(text, target, lenient=lenient).manufacturers]


def mfg(decorations, sections):
    body = ''.join('[M%s]\n%%Dev%% = Inst, ID\\%s\n' % (('.' + s) if s else '', s.replace('.', '_') or 'BARE')
                   for s in sections)
    return simple_driver(manufacturer='%Mfg% = M' + ''.join(', ' + d for d in decorations), models=body)


@pytest.mark.parametrize('decorations,target,expected', [
    (['NTamd64', 'NTx86'], SRV2022, 'M.NTamd64'),
    (['NTx86'], SRV2022, None),
    (['NTarm64'], SRV2022, None),
    (['NTamd64.10.0...16299'], SRV2022, 'M.NTamd64.10.0...16299'),
    (['NTamd64', 'NTamd64.10.0...25319'], SRV2022, 'M.NTamd64'),
    (['NTamd64', 'NTamd64.10.0...20348'], SRV2022, 'M.NTamd64.10.0...20348'),
    (['NTamd64.5', 'NTamd64.6', 'NTamd64.6.1'], SRV2022, 'M.NTamd64.6.1'),
    (['NTamd64.6.1', 'NTamd64.6.2'], WIN7, 'M.NTamd64.6.1'),
    (['NTamd64.10.0.1', 'NTamd64.10.0.3'], SRV2022, 'M.NTamd64.10.0.3'),
    (['NTamd64.10.0.1', 'NTamd64.10.0.3'], WIN10, 'M.NTamd64.10.0.1'),
    (['NTamd64.10.0.1..18362'], WIN10, 'M.NTamd64.10.0.1..18362'),
    (['NTamd64.10.0.1..18362'], SRV2022, None),
    (['NTamd64.6.0', 'NTamd64.6.3'], WIN7, 'M.NTamd64.6.0'),
    # a specific version beats a product-type decoration (install/inf-manufacturer-section.md example)
    (['NTamd64.6.1', 'NTamd64...3'], inf.parse_target('server2008r2', 'amd64'), 'M.NTamd64.6.1'),
    (['NTamd64...3', 'NTamd64'], SRV2022, 'M.NTamd64...3'),
    (['NTAMD64'], SRV2022, 'M.NTAMD64'),
    (['NTamd64....0x80'], SRV2022, None),    # suite masks are not modelled: not matching
    (['NT'], SRV2022, None),                 # no architecture: x86 only
    (['NT'], WIN7_X86, 'M.NT'),
    (['NTx86', 'NT'], WIN7_X86, 'M.NTx86'),
    (['bogus'], SRV2022, None),
])
def test_models_section_choice(decorations, target, expected):
    sections = list(decorations) + ['']
    assert chosen(mfg(decorations, sections), target) == [expected]


def test_undecorated_models_are_x86_only_unless_lenient():
    text = mfg([], [''])
    assert chosen(text, SRV2022) == [None]
    assert chosen(text, SRV2022, lenient=True) == ['M']
    assert chosen(text, WIN7_X86) == ['M']
    assert chosen(mfg(['NT'], ['NT', '']), SRV2022, lenient=True) == ['M.NT']


def test_empty_models_section_blocks_the_os():
    text = simple_driver(manufacturer='%Mfg% = M, NTamd64, NTamd64.10.0...22000',
                         models='[M.NTamd64]\n[M.NTamd64.10.0...22000]\n%Dev% = Inst, ID\\X\n')
    driver = read(text, SRV2022)
    assert driver.manufacturers[0]['chosen'] == 'M.NTamd64'
    assert 'blocks' in driver.manufacturers[0]['reason']
    assert driver.devices == []
    assert [d.hardware_id for d in read(text, inf.parse_target('win11', 'amd64')).devices] == ['ID\\X']


def test_each_manufacturer_line_is_evaluated_alone():
    text = simple_driver(manufacturer='%Mfg% = A, NTamd64\n%Mfg% = B\nC, NTx86, NTamd64.6.1',
                         models='[A.NTamd64]\n%Dev% = Inst, ID\\A\n[B]\n%Dev% = Inst, ID\\B\n'
                                '[C.NTamd64.6.1]\n%Dev% = Inst, ID\\C\n')
    driver = read(text, SRV2022)
    assert [m['chosen'] for m in driver.manufacturers] == ['A.NTamd64', None, 'C.NTamd64.6.1']
    assert [d.hardware_id for d in driver.devices] == ['ID\\A', 'ID\\C']
    assert driver.manufacturers[2]['manufacturer'] == 'C'


def test_unknown_build_or_product_type_skips_with_a_warning():
    text = mfg(['NTamd64.10.0...16299', 'NTamd64.10.0.1'], ['NTamd64.10.0...16299', 'NTamd64.10.0.1'])
    driver = read(text, inf.parse_target('10.0', 'amd64'))
    assert driver.manufacturers[0]['chosen'] is None
    assert any('build' in w for w in driver.warnings)
    assert any('product type' in w for w in driver.warnings)
    assert chosen(text, inf.parse_target('10.0.19041', 'amd64', 'workstation')) == ['M.NTamd64.10.0...16299']


def test_missing_models_section_is_reported():
    driver = read(simple_driver(models=''))
    assert driver.manufacturers[0]['chosen'] == 'Mfg.NTamd64'
    assert 'does not exist' in driver.manufacturers[0]['reason']


def test_non_device_inf_has_no_hardware_ids():
    driver = read(HEAD + '[DefaultInstall]\nCopyFiles = x\n[Strings]\nMfg = a\n')
    assert driver.devices == [] and driver.manufacturers == []
    assert any('not a device INF' in w for w in driver.warnings)


# ---------------------------------------------------------------------------------------------------------
# Models lines

def test_models_lines():
    models = ('[Mfg.NTamd64]\n'
              '"Quoted, with comma" = Inst, PCI\\VEN_1&DEV_2, PCI\\CC_0108 ; comment\n'
              '%Dev% = Inst,, GEN_SCSIADAPTER\n'
              '%Dev% = Inst\n'
              '%Dev% = , ID\\NOINSTALL\n')
    driver = read(simple_driver(models=models))
    assert [(d.description, d.hardware_id, d.compatible_ids) for d in driver.devices] == [
        ('Quoted, with comma', 'PCI\\VEN_1&DEV_2', ['PCI\\CC_0108']),
        ('Device', '', ['GEN_SCSIADAPTER']),
    ]


def test_dotted_install_names_are_not_decorations():
    models = '[Mfg.NTamd64]\n%Dev% = XenNet.Ndi.6.1, XEN\\TYPE_vif\n'
    install = '[XenNet.Ndi.6.1]\nCopyFiles = Files\n[XenNet.Ndi.6.1.Services]\nAddService = XenNet, 2, Svc\n'
    inst = read(simple_driver(models=models, install=install)).devices[0].install_info
    assert inst.actual == 'XenNet.Ndi.6.1' and inst.assoc_service == 'XenNet'
