# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The INF model (inf/model.py): the one Strings section of a file, %strkey% substitution, and DriverVer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.tests.unit.plugins.module_utils.inf.infs import HEAD, read, simple_driver


# ---------------------------------------------------------------------------------------------------------
# Strings and substitution

def test_strings_substitution_rules():
    text = HEAD + ('[S]\n'
                   'a = %Mfg%, "%Quoted%", %%SystemRoot%%\\x, %12%\\f.sys, %Undefined%, 50%% off, %dev\\id&x*.y%\n'
                   '[Strings]\nMfg = Vendor\nQuoted = " blanks kept "\nRecursive = "%Mfg%"\n'
                   'dev\\id&x*.y = "odd key"\n')
    f = inf.InfFile(text.encode(), 't.inf')
    values = [f.subst(v) for v in f.first('S', 'a')]
    assert values == ['Vendor', ' blanks kept ', '%SystemRoot%\\x', '%12%\\f.sys', '%Undefined%', '50% off', 'odd key']
    assert f.subst('%Recursive%') == '%Mfg%'          # values are not substituted again
    assert f.undefined == set(['Undefined'])


@pytest.mark.parametrize('language,chosen', [
    (0x0409, 'Strings.0409'),
    (0x0809, 'Strings.0009'),
    (0x0C09, 'Strings.0009'),
    (0x0407, 'Strings.0807'),
    (0x0415, 'Strings'),
])
def test_one_strings_section_is_chosen(language, chosen):
    text = ('[Strings]\nA = base\n[Strings.0409]\nA = us\n[Strings.0009]\nA = neutral\n[Strings.0807]\nA = swiss\n'
            '[Strings.0a]\nA = es\n')
    f = inf.InfFile(text.encode(), 't.inf', language=language)
    assert f.strings_section == chosen


def test_windows_does_not_fall_back_per_key():
    text = '[Strings]\nA = base\nB = base\n[Strings.0409]\nA = us\n'
    f = inf.InfFile(text.encode(), 't.inf')
    assert f.subst('%A%/%B%') == 'us/%B%'


def test_integers_are_parsed_after_substitution():
    text = simple_driver(
        install='[Inst]\nCopyFiles = Files\n[Inst.Services]\nAddService = svc, %ASSOC%, Svc\n',
        strings='[Strings]\nMfg = Vendor\nDev = Device\nASSOC = 0x00000002\n').replace(
        'StartType = 0', 'StartType = %SERVICE_BOOT_START%').replace(
        '[Strings]\n', '[Strings]\nSERVICE_BOOT_START = 0\n')
    driver = read(text)
    svc = driver.services[0]
    assert svc.assoc and svc.flags == 2 and svc.flags_raw == '0x00000002'
    assert svc.number('StartType') == 0


# ---------------------------------------------------------------------------------------------------------
# DriverVer

def test_driver_ver_regression_found_by_fuzzing():
    # str.strip() removes \x1c but int() does not accept it (found by the fuzz tests under ansible-test units)
    assert inf.parse_driver_ver(['01/02/2003', '1.\x1c2.3'])[0]['version'] == '1.\x1c2.3'


@pytest.mark.parametrize('models,header,recorded', [('vsmraid', 'VSMRAID', 'vsmraid'), ('Inst', 'Inst.NT', 'Inst.NT'),
                                                    ('inst', 'INST.NTamd64', 'inst.NTamd64')])
def test_install_recorded_is_the_models_spelling_plus_the_headers_decoration(models, header, recorded):
    # What Windows records as the configuration name (windows/test_ddb.py checks it against Windows' records).
    driver = read(HEAD + '[Manufacturer]\n%%Mfg%%=M,NTamd64\n[M.NTamd64]\n%%D%%=%s,PCI\\VEN_1AF4&DEV_1000\n'
                  '[%s]\n[Strings]\nMfg="M"\nD="D"\n' % (models, header))
    inst = driver.devices[0].install_info
    assert (inst.named, inst.actual, inst.recorded) == (models, header, recorded)
