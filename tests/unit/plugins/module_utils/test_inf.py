# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the INF reader: the syntax, selection and injection rules of docs/inf-format.md, one by one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_SZ, RegistryError, Value,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fixtures', 'inf')
SRV2022 = inf.parse_target('server2022', 'amd64')
WIN10 = inf.parse_target('win10', 'amd64')
WIN7 = inf.parse_target('win7', 'amd64')
WIN7_X86 = inf.parse_target('win7', 'x86')

HEAD = '[Version]\nSignature="$Windows NT$"\nClass=Net\nClassGUID={4d36e972-e325-11ce-bfc1-08002be10318}\n' \
       'Provider=%Mfg%\nDriverVer=01/02/2020,1.2.3.4\n'


def read(text, target=SRV2022, **kwargs):
    data = text.encode('utf-8') if isinstance(text, str) else text
    return inf.read_inf_data(data, target, name='t.inf', **kwargs)


def lines(text, section):
    return [(k, f) for k, f, _n, _l in inf.tokenize(text)[section.lower()].lines]


def simple_driver(models='[Mfg.NTamd64]\n%Dev% = Inst, PCI\\VEN_1234&DEV_0001\n', manufacturer='%Mfg% = Mfg, NTamd64',
                  install='[Inst]\nCopyFiles = Files\n[Inst.Services]\nAddService = svc, 2, Svc\n',
                  extra='', strings='[Strings]\nMfg = "Vendor"\nDev = "Device"\n'):
    return (HEAD + '[Manufacturer]\n' + manufacturer + '\n' + models + install +
            '[Svc]\nServiceType = 1\nStartType = 0\nErrorControl = 1\nServiceBinary = %12%\\svc.sys\n'
            'LoadOrderGroup = NDIS\n[Files]\nsvc.sys\n[DestinationDirs]\nDefaultDestDir = 12\n'
            '[SourceDisksNames]\n1 = "Disk",,,\n[SourceDisksFiles]\nsvc.sys = 1\n' + extra + strings)


def package(tmp_path, text, name='drv.inf', files=('svc.sys',), folder='pkg'):
    folder = tmp_path / folder
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text.encode('utf-8') if isinstance(text, str) else text)
    for f in files:
        (folder / f).write_bytes(b'MZ')
    return str(folder)


# ---------------------------------------------------------------------------------------------------------
# errors

def test_inf_error_is_a_registry_error():
    assert issubclass(inf.InfError, RegistryError)


# ---------------------------------------------------------------------------------------------------------
# decoding

@pytest.mark.parametrize('codec,bom,label', [
    ('utf-16-le', b'\xff\xfe', 'utf-16le-bom'),
    ('utf-16-be', b'\xfe\xff', 'utf-16be-bom'),
    ('utf-16-le', b'', 'utf-16le'),
    ('utf-16-be', b'', 'utf-16be'),
    ('utf-8', b'\xef\xbb\xbf', 'utf-8-bom'),
    ('utf-8', b'', 'utf-8/ascii'),
])
def test_encodings(codec, bom, label):
    text = HEAD + '[Strings]\nMfg = "Caf\u00e9 \u4e2d"\n'
    driver = read(bom + text.encode(codec))
    assert driver.inf.encoding == label
    assert driver.provider == 'Caf\u00e9 \u4e2d'


def test_ansi_with_stray_bytes_is_read_lossy():
    # 0x81/0x8F/0x90/0x9D are undefined in cp1252, GBK bytes in a localized section: strict decoders fail
    data = HEAD.encode('ascii') + b'; comment \x92 \x81\x8f\x90\x9d\n[Strings]\nMfg = "Vendor"\n' \
        b'[Strings.0804]\nMfg = "\xd6\xd0\xce\xc4"\n'
    driver = read(data)
    assert driver.inf.encoding == 'ansi-cp1252'
    assert driver.provider == 'Vendor'


def test_ctrl_z_ends_the_file_and_nul_is_a_blank():
    text, _enc = inf.decode_inf(b'[A]\nx = a\x00b\n\x1a[B]\ny = 1\n')
    secs = inf.tokenize(text)
    assert list(secs) == ['a']
    assert lines(text, 'A') == [('x', ['a b'])]


def test_mixed_line_ends_and_trailing_blanks():
    text = inf.decode_inf(b'[A]\r\nx = 1   \r\ny = 2\n  z = 3 \t\r\n')[0]
    assert lines(text, 'A') == [('x', ['1']), ('y', ['2']), ('z', ['3'])]


def test_decode_rejects_non_bytes():
    with pytest.raises(inf.InfError):
        inf.decode_inf(u'text')


# ---------------------------------------------------------------------------------------------------------
# tokenizer (Wine's parser rules)

def test_quotes_comments_and_keys():
    text = ('[S]\n'
            'a = "x;y", b ; comment\n'
            'HKR,,X,,"a=b"\n'
            '"Instances\\"%Inst%\n'
            'k = v1, , v3,\n'
            '"a""b" , c\n'
            'e =\n'
            'plain\n'
            'x = "  kept  " , "unterminated ; still, quoted\n'
            'LSI = "LSI Ultra3 PCI SCSI Adapter; 53C1010-33 (StorPort)"\n')
    assert lines(text, 'S') == [
        ('a', ['x;y', 'b']),
        (None, ['HKR', '', 'X', '', 'a=b']),
        (None, ['Instances\\%Inst%']),
        ('k', ['v1', '', 'v3', '']),
        (None, ['a"b', 'c']),
        ('e', ['']),
        (None, ['plain']),
        ('x', ['  kept  ', 'unterminated ; still, quoted']),
        ('LSI', ['LSI Ultra3 PCI SCSI Adapter; 53C1010-33 (StorPort)']),
    ]


def test_hash_is_not_a_comment_and_percent_in_comment_is_ignored():
    text = '[S]\nDiskId1 = "Disk #1"\nStartType = 3 ;%SERVICE_DEMAND_START%\n'
    assert lines(text, 'S') == [('DiskId1', ['Disk #1']), ('StartType', ['3'])]


def test_line_continuation():
    text = ('[S]\n'
            'CopyFiles = "SomeDirectory\\"\\\n'
            '   file.sys\n'
            'Dir\\\\\n'
            'next\n'
            'a = b, \\ ; comment after the backslash\n'
            '    c\n'
            'ExcludeFromSelect = \\ \n'
            '\n'
            'id = PCI\\VEN_1&DEV_2\n'
            'last = x \\')
    assert lines(text, 'S') == [
        ('CopyFiles', ['SomeDirectory\\file.sys']),
        (None, ['Dirnext']),
        ('a', ['b', 'c']),
        ('ExcludeFromSelect', ['']),
        ('id', ['PCI\\VEN_1&DEV_2']),
        ('last', ['x']),
    ]


def test_continued_line_makes_a_bracket_line_a_value():
    text = '[S]\nExclude = \\\n[NotASection]\nx = 1\n'
    secs = inf.tokenize(text)
    assert list(secs) == ['s']
    assert lines(text, 'S') == [('Exclude', ['[NotASection]']), ('x', ['1'])]


def test_sections_case_insensitive_merged_and_header_rest_ignored():
    text = '[Rss.reg] ; comment\nx = 1\n[Other]\ny = 2\n[  rss.REG  ] anything here\nz = 3\n'
    secs = inf.tokenize(text)
    assert secs['rss.reg'].name == 'Rss.reg'
    assert lines(text, 'RSS.reg') == [('x', ['1']), ('z', ['3'])]


def test_unterminated_section_name_fails_the_file():
    with pytest.raises(inf.InfError, match='closing'):
        inf.tokenize('[Version]\nx=1\n[Broken\ny=2\n')


def test_overlong_section_name_fails_the_file():
    with pytest.raises(inf.InfError, match='longer'):
        inf.tokenize('[%s]\n' % ('x' * 256))


def test_text_before_first_section_is_ignored_with_a_warning():
    warnings = []
    secs = inf.tokenize('stray = 1\n[A]\nx = 1\n', 't', warnings)
    assert list(secs) == ['a']
    assert any('before the first section' in w for w in warnings)


def test_exact_and_lazy_tokenizers_agree():
    path = os.path.join(FIXTURES, 'ms-driver-samples', 'netrtwlans.inf')
    text = inf.decode_inf(open(path, 'rb').read())[0]
    lazy = inf.tokenize(text)
    exact = inf.text._tokenize_exact(text, 'x', [])
    assert list(lazy) == list(exact)
    for key in lazy:
        assert lazy[key].lines == exact[key].lines


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


@pytest.mark.parametrize('text,value', [
    ('0x02', 2), ('0x00000010', 16), ('12', 12), ('010', 10), (' 7 ', 7), ('-1', -1), ('0X1f', 31),
    ('', None), ('abc', None), ('1 2', None), ('0x', None), ('\u0661', None),
])
def test_parse_int(text, value):
    assert inf.parse_int(text) == value


# ---------------------------------------------------------------------------------------------------------
# [Version]

def test_version_fields_and_driver_ver():
    driver = read(simple_driver())
    assert driver.class_name == 'Net'
    assert driver.class_guid == '{4d36e972-e325-11ce-bfc1-08002be10318}'
    assert driver.provider == 'Vendor'
    assert driver.driver_ver == {'date': '2020-01-02', 'version': '1.2.3.4'}
    assert driver.valid


def test_bad_signature_marks_the_inf_invalid():
    driver = read(simple_driver().replace('$Windows NT$', '$Windows 3.1$'))
    assert not driver.valid
    assert any('Signature' in w for w in driver.warnings)


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
# Models lines and install sections

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


@pytest.mark.parametrize('sections,expected', [
    (['Inst.NTamd64', 'Inst.NT', 'Inst'], 'Inst.NTamd64'),
    (['Inst.NT', 'Inst'], 'Inst.NT'),
    (['Inst'], 'Inst'),
    (['inst.ntAMD64'], 'inst.ntAMD64'),
    (['Inst.NTx86', 'Inst'], 'Inst'),
])
def test_install_section_platform_suffix(sections, expected):
    install = ''.join('[%s]\nCopyFiles = Files\n' % s for s in sections)
    install += '[%s.Services]\nAddService = svc, 2, Svc\n' % expected
    driver = read(simple_driver(install=install))
    inst = driver.devices[0].install_info
    assert inst.actual == expected
    assert inst.assoc_service == 'svc'


def test_empty_install_section_counts_and_suffix_is_shared():
    install = ('[Inst.NTamd64]\n[Inst]\nCopyFiles = Files\n[Inst.Services]\nAddService = wrong, 2, Svc\n'
               '[Inst.ntamd64.services]\nAddService = right, 2, Svc\n[Inst.NTamd64.HW]\nAddReg = hw\n'
               '[hw]\nHKR,,X,0x10001,1\n')
    driver = read(simple_driver(install=install))
    inst = driver.devices[0].install_info
    assert inst.actual == 'Inst.NTamd64'
    assert [s.name for s in inst.services] == ['right']
    assert inst.files == []
    assert [(e.subkey, e.value) for e in inst.hw_addreg] == [((), Value.dword('X', 1))]


def test_dotted_install_names_are_not_decorations():
    models = '[Mfg.NTamd64]\n%Dev% = XenNet.Ndi.6.1, XEN\\TYPE_vif\n'
    install = '[XenNet.Ndi.6.1]\nCopyFiles = Files\n[XenNet.Ndi.6.1.Services]\nAddService = XenNet, 2, Svc\n'
    inst = read(simple_driver(models=models, install=install)).devices[0].install_info
    assert inst.actual == 'XenNet.Ndi.6.1' and inst.assoc_service == 'XenNet'


def test_missing_install_section_is_a_warning():
    driver = read(simple_driver(install=''))
    assert driver.devices[0].install_info.actual is None
    assert any('[Inst]' in w for w in driver.warnings)


# ---------------------------------------------------------------------------------------------------------
# AddService and service-install sections

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


# ---------------------------------------------------------------------------------------------------------
# AddReg

def addreg(body, strings=''):
    install = '[Inst]\nAddReg = R\n[Inst.Services]\nAddService = svc, 2, Svc\n'
    driver = read(simple_driver(install=install, extra='[R]\n' + body,
                                strings='[Strings]\nMfg = V\nDev = D\n' + strings))
    return driver.devices[0].install_info.driver_addreg, driver


def test_addreg_types():
    entries, _driver = addreg(
        'HKR,,Sz,,"text, with comma"\n'
        'HKR,,Sz0,0,\n'
        'HKR,Ndi\\Interfaces,Multi,0x00010000,"a","b",,"c"\n'
        'HKR,,Exp,0x00020000,"%%SystemRoot%%\\x"\n'
        'HKR,,Dw,0x00010001,0x1F\n'
        'HKR,,DwDec,%REG_DWORD%,7\n'
        'HKR,,DwBytes,0x00010001,01,00,00,00\n'
        'HKR,,DwEmpty,0x00010001\n'
        'HKR,,Bin,1,de,ad,0xbe,EF\n'
        'HKR,,None,0x00020001,\n'
        'HKR,,Custom,0x00090001,01,02\n'
        'HKR,,,0,"default value"\n',
        'REG_DWORD = 0x00010001\n')
    assert [(e.subkey, e.value) for e in entries] == [
        ((), Value.sz('Sz', 'text, with comma')),
        ((), Value.sz('Sz0', '')),
        (('Ndi', 'Interfaces'), Value.multi_sz('Multi', ['a', 'b'])),
        ((), Value.expand_sz('Exp', '%SystemRoot%\\x')),
        ((), Value.dword('Dw', 31)),
        ((), Value.dword('DwDec', 7)),
        ((), Value('DwBytes', REG_DWORD, b'\x01\x00\x00\x00')),
        ((), Value.dword('DwEmpty', 0)),
        ((), Value('Bin', REG_BINARY, b'\xde\xad\xbe\xef')),
        ((), Value('None', REG_NONE, b'')),
        ((), Value('Custom', 9, b'\x01\x02')),
        ((), Value.sz('', 'default value')),
    ]


def test_addreg_modifiers_and_mistakes():
    entries, driver = addreg(
        'HKR, Interrupt Management, 0x00000010\n'        # flags in the value-name slot (nvme.inf): a REG_SZ
        'HKR, "Interrupt Management",, 0x00000010\n'     # KEYONLY
        'HKR,,NoClobber,0x00010003,1\n'
        'HKR,,Gone,0x00008000,1\n'                       # DELREG_BIT: ignored by AddReg
        'HKR,,Del,0x00000004\n'                          # DELVAL
        'HKQQ,,X,0,"unknown root"\n'
        'HKLM,System\\CurrentControlSet\\Services\\x,Y,0x10001,1\n'
        'HKR,,Bad,0x10001,notanumber\n'
        'HKR,,BadBin,1,zz\n')
    ops = [(e.root, e.op, e.subkey, e.name) for e in entries]
    assert ops == [
        ('HKR', 'set', ('Interrupt Management',), '0x00000010'),
        ('HKR', 'keyonly', ('Interrupt Management',), None),
        ('HKR', 'set', (), 'NoClobber'),
        ('HKR', 'delete', (), 'Del'),
        ('HKLM', 'set', ('System', 'CurrentControlSet', 'Services', 'x'), 'Y'),
    ]
    assert entries[2].noclobber and entries[2].value == Value.dword('NoClobber', 1)
    joined = '\n'.join(driver.warnings)
    assert 'unknown registry root' in joined and 'not a 32-bit number' in joined and 'hex bytes' in joined


def test_addreg_reports_as_json():
    entries, _driver = addreg('HKR,,Bin,1,de,ad\n')
    assert entries[0].as_dict()['data'] == ['0xde', '0xad']
    assert entries[0].as_dict()['type'] == 'REG_BINARY'


def test_delreg_lines():
    install = '[Inst]\n[Inst.HW]\nDelReg = Legacy\n[Inst.Services]\nAddService = svc, 2, Svc\n'
    extra = '[Legacy]\nHKR,Scsiport,BusNumber\nHKR,Scsiport\n'
    inst = read(simple_driver(install=install, extra=extra)).devices[0].install_info
    assert [(e.op, e.subkey, e.name) for e in inst.hw_addreg] == [
        ('delete', ('Scsiport',), 'BusNumber'), ('delete', ('Scsiport',), None)]


def test_multi_sz_type_constant():
    entries, _driver = addreg('HKR,,M,0x00010000,"x"\n')
    assert entries[0].value.type == REG_MULTI_SZ and entries[0].value.decoded() == ['x']
    entries, _driver = addreg('HKR,,S,0x00000000,"x"\nHKR,,E,0x00020000,x\n')
    assert [e.value.type for e in entries] == [REG_SZ, REG_EXPAND_SZ]


# ---------------------------------------------------------------------------------------------------------
# CopyFiles, DestinationDirs, SourceDisks

def test_copy_files_destinations_and_presence(tmp_path):
    install = ('[Inst]\nCopyFiles = Files, Other\nCopyFiles = @direct.dll\n'
               '[Inst.Services]\nAddService = svc, 2, Svc\n'
               '[Other]\ntarget.dll, source.dll,,0x2\n')
    extra = ('[DestinationDirs]\nOther = 11, sub\\dir\n'
             '[SourceDisksNames.amd64]\n2 = "Disk",,,\\amd64\n'
             '[SourceDisksFiles.amd64]\nsource.dll = 2, lib\n')
    text = simple_driver(install=install, extra=extra).replace('[DestinationDirs]\nDefaultDestDir = 12\n', '') \
        .replace('[DestinationDirs]\n', '[DestinationDirs]\nDefaultDestDir = 12\n')
    folder = package(tmp_path, text, files=('SVC.SYS', 'direct.dll'))
    os.makedirs(os.path.join(folder, 'AMD64', 'Lib'))
    open(os.path.join(folder, 'AMD64', 'Lib', 'Source.DLL'), 'wb').close()
    driver = inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022)
    files = dict((f.name, f) for f in driver.files)
    assert sorted(files) == ['direct.dll', 'svc.sys', 'target.dll']
    assert (files['svc.sys'].dirid, files['svc.sys'].target, files['svc.sys'].present) == \
        (12, 'System32\\drivers\\svc.sys', True)
    assert files['svc.sys'].source_path == os.path.join(folder, 'SVC.SYS')
    assert (files['target.dll'].dirid, files['target.dll'].subdir, files['target.dll'].target) == \
        (11, 'sub\\dir', 'System32\\sub\\dir\\target.dll')
    assert files['target.dll'].source_parts == ['amd64', 'lib', 'source.dll'] and files['target.dll'].present
    assert files['target.dll'].flags == 2
    assert files['direct.dll'].copy_list is None and files['direct.dll'].present


def test_missing_file_and_file_found_next_to_the_inf(tmp_path):
    extra = '[SourceDisksNames.amd64]\n1 = "Disk",,,\\amd64\n'
    text = simple_driver(extra=extra).replace('[SourceDisksNames]\n1 = "Disk",,,\n', '')
    folder = package(tmp_path, text, files=('svc.sys',))
    driver = inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022)
    entry = driver.files[0]
    assert entry.present is False and entry.found_at == os.path.join(folder, 'svc.sys')
    assert any('next to the INF' in w for w in driver.warnings)
    os.remove(os.path.join(folder, 'svc.sys'))
    driver = inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022)
    assert driver.files[0].present is False
    assert any('not in the package' in w for w in driver.warnings)


def test_default_destination_and_placeholders():
    text = simple_driver().replace('DefaultDestDir = 12', 'Files = DRIVER_DIRID')
    driver = read(text)
    assert driver.files[0].dirid == 'DRIVER_DIRID'
    assert any('DRIVER_DIRID' in w for w in driver.warnings)
    driver = read(simple_driver().replace('[DestinationDirs]\nDefaultDestDir = 12\n', ''))
    assert driver.files[0].dirid == 11


@pytest.mark.parametrize('name', [
    '..\\evil.sys', 'a\\..\\..\\evil.sys', '..', '...', '\\Windows\\evil.sys', '/etc/passwd', 'C:evil.sys',
    'c:\\windows\\evil.sys', 'file.sys:stream', '\\\\server\\share\\evil.sys', '//server/share/evil.sys',
    'a/../../evil.sys', 'CON', 'con.sys', 'NUL', 'nul.txt', 'COM1', 'LPT9.dll', 'AUX ', 'sub\\PRN\\x.sys',
    'wild*.sys', 'what?.sys', 'pipe|.sys', 'a<b.sys', 'CONIN$',
])
def test_unsafe_copy_file_names_are_refused(name):
    text = simple_driver().replace('[Files]\nsvc.sys\n', '[Files]\n"%s"\n' % name)
    with pytest.raises(inf.InfError, match='leaves the package or the target folder'):
        read(text)


@pytest.mark.parametrize('where,text', [
    ('source', '[Files]\nsvc.sys, ..\\..\\outside.sys\n'),
    ('direct', '[Files]\nsvc.sys\n[Inst2]\n'),
])
def test_unsafe_source_and_direct_names(where, text):
    base = simple_driver()
    if where == 'source':
        base = base.replace('[Files]\nsvc.sys\n', text)
    else:
        base = base.replace('CopyFiles = Files', 'CopyFiles = @..\\x.sys')
    with pytest.raises(inf.InfError, match='leaves the package'):
        read(base)


@pytest.mark.parametrize('replace,match', [
    (('DefaultDestDir = 12', 'DefaultDestDir = 12, ..\\..\\x'), 'sub-folder'),
    (('DefaultDestDir = 12', 'DefaultDestDir = -1, C:\\x'), 'absolute'),
    (('DefaultDestDir = 12', 'DefaultDestDir = 65535'), 'absolute'),
    (('1 = "Disk",,,', '1 = "Disk",,,..\\..\\up'), 'SourceDisksNames'),
    (('svc.sys = 1', 'svc.sys = 1, ..\\x'), 'SourceDisksFiles'),
    (('%12%\\svc.sys', '%12%\\..\\..\\evil.sys'), 'ServiceBinary'),
])
def test_unsafe_destinations_and_sources(replace, match):
    with pytest.raises(inf.InfError, match=match):
        read(simple_driver().replace(*replace))


def test_check_file_name_keeps_plain_relative_paths():
    assert inf.check_file_name('sub\\dir/file.sys', 'x') == ['sub', 'dir', 'file.sys']
    assert inf.check_file_name('.\\file.sys', 'x') == ['file.sys']
    assert inf.check_file_name('\\amd64', 'x', allow_root=True) == ['amd64']
    assert inf.check_file_name('console.sys', 'x') == ['console.sys']
    with pytest.raises(inf.InfError):
        inf.check_file_name('a\\b', 'x', allow_subdirs=False)


# ---------------------------------------------------------------------------------------------------------
# Include / Needs

NEEDS = ('[Inst]\nCopyFiles = Files\nInclude = netvwifibus.inf\nNeeds = VWiFiBus.CopyFiles\n'
         '[Inst.Services]\nAddService = svc, 2, Svc\nInclude = netvwifibus.inf\nNeeds = VWiFiBus.Services\n'
         '[Inst.HW]\nInclude = netvwifibus.inf\nNeeds = VWiFiBus.PnPFilterRegistration.HW\n')
SYSTEM_INF = ('[Version]\nSignature="$Windows NT$"\n[VWiFiBus.CopyFiles]\nCopyFiles = VWiFiBus.Files\n'
              '[VWiFiBus.Files]\nvwifibus.sys\n[DestinationDirs]\nDefaultDestDir = 12\n'
              '[VWiFiBus.Services]\nAddService = vwifibus,, VWiFiBus.Svc\n'
              '[VWiFiBus.Svc]\nServiceType = 1\nStartType = 3\nErrorControl = 1\nServiceBinary = %12%\\vwifibus.sys\n'
              '[VWiFiBus.PnPFilterRegistration.HW]\nAddReg = flt\n[flt]\nHKR,,UpperFilters,0x00010008,"vwifibus"\n')


def test_include_needs_unresolved_without_the_target_inf_folder():
    driver = read(simple_driver(install=NEEDS))
    inst = driver.devices[0].install_info
    assert [u['needs'] for u in inst.unresolved] == [
        ['VWiFiBus.CopyFiles'], ['VWiFiBus.Services'], ['VWiFiBus.PnPFilterRegistration.HW']]
    assert all(u['include'] == ['netvwifibus.inf'] for u in driver.unresolved)
    assert "INF folder was not given" in driver.unresolved[0]['reason']


def test_include_needs_resolved_from_the_target_inf_folder(tmp_path):
    system = tmp_path / 'INF'
    system.mkdir()
    (system / 'NetVWiFiBus.inf').write_text(SYSTEM_INF)
    driver = read(simple_driver(install=NEEDS), system_inf_dir=str(system))
    inst = driver.devices[0].install_info
    assert inst.unresolved == []
    assert [(s.name, s.origin) for s in inst.services] == [('svc', None), ('vwifibus', 'NetVWiFiBus.inf')]
    assert [(f.name, f.origin) for f in inst.files] == [('svc.sys', None), ('vwifibus.sys', 'NetVWiFiBus.inf')]
    assert [(e.name, e.value.type, e.append) for e in inst.hw_addreg] == [('UpperFilters', REG_MULTI_SZ, True)]


def test_include_needs_not_found_in_the_target_inf_folder(tmp_path):
    driver = read(simple_driver(install=NEEDS), system_inf_dir=str(tmp_path))
    assert driver.unresolved and 'not found' in driver.unresolved[0]['reason']


def test_include_cannot_leave_the_inf_folder(tmp_path):
    install = NEEDS.replace('Include = netvwifibus.inf\nNeeds = VWiFiBus.CopyFiles', 'Include = ..\\x.inf\nNeeds = A')
    driver = read(simple_driver(install=install), system_inf_dir=str(tmp_path))
    assert any('Include file' in w for w in driver.warnings)


# ---------------------------------------------------------------------------------------------------------
# templates

TEMPLATE = simple_driver(manufacturer='%Mfg% = Mfg, NT$ARCH$', models='[Mfg.NT$ARCH$]\n%Dev% = Inst, ID\\X\n')


def test_templates_refused_with_a_clear_message():
    with pytest.raises(inf.InfError, match=r'source template.*\$ARCH\$ \(line \d+\).*templates'):
        read(TEMPLATE)


def test_arch_defaults_to_the_target():
    assert [m['chosen'] for m in read(TEMPLATE, SRV2022, templates={}).manufacturers] == ['Mfg.NTamd64']
    driver = read(TEMPLATE, inf.parse_target('win11', 'arm64'), templates={})
    assert driver.manufacturers[0]['chosen'] == 'Mfg.NTarm64'
    assert driver.inf.template == ['$ARCH$']


def test_markers_in_comments_are_not_templates():
    driver = read(simple_driver() + '; Use NT$ARCH$ for stampinf, INX_COMPANY too\n')
    assert driver.devices


def test_leftover_template_tokens_are_refused():
    text = TEMPLATE.replace('ServiceBinary = %12%', 'ServiceBinary = %INX_PLATFORM_DRIVERS_DIR%')
    with pytest.raises(inf.InfError, match='INX_PLATFORM_DRIVERS_DIR'):
        read(text, templates={})
    driver = read(text, templates={'INX_PLATFORM_DRIVERS_DIR': 12})
    assert driver.services[0].image_path == '\\SystemRoot\\System32\\drivers\\svc.sys'


def test_preprocessor_lines_are_dropped_with_a_warning():
    text = TEMPLATE.replace('[Strings]\n', '[Strings]\n#include "common.inf.h"\n  #  define X\n')
    with pytest.raises(inf.InfError, match='#include'):
        read(text)
    driver = read(text, templates={'$ARCH$': 'amd64'})
    assert sum('dropped' in w for w in driver.warnings) == 2


def test_bad_templates_argument():
    with pytest.raises(inf.InfError):
        read(TEMPLATE, templates=['$ARCH$'])
    with pytest.raises(inf.InfError):
        read(TEMPLATE, templates={'': 'x'})
    with pytest.raises(inf.InfError):
        read(TEMPLATE, templates={'$ARCH$': None})


# ---------------------------------------------------------------------------------------------------------
# targets

@pytest.mark.parametrize('os_version,arch,ptype,expected', [
    ('6.1', 'amd64', None, (6, 1, None, None, 'amd64')),
    (6.1, 'x64', None, (6, 1, None, None, 'amd64')),
    ('10.0.20348', 'amd64', 'server', (10, 0, 20348, 3, 'amd64')),
    (10, 'x86', None, (10, 0, None, None, 'x86')),
    ('win7', 'x86', None, (6, 1, 7601, 1, 'x86')),
    ('Windows 7', 'amd64', None, (6, 1, 7601, 1, 'amd64')),
    ('win10', 'amd64', None, (10, 0, 19045, 1, 'amd64')),
    ('win10-1809', 'amd64', None, (10, 0, 17763, 1, 'amd64')),
    ('win11', 'arm64', None, (10, 0, 22631, 1, 'arm64')),
    ('win11_24H2', 'aarch64', None, (10, 0, 26100, 1, 'arm64')),
    ('server2022', 'amd64', None, (10, 0, 20348, 3, 'amd64')),
    ('Windows Server 2008 R2', 'amd64', None, (6, 1, 7601, 3, 'amd64')),
    ('server2019', 'amd64', 'domain_controller', (10, 0, 17763, 2, 'amd64')),
    ('xp', 'x86', 1, (5, 1, 2600, 1, 'x86')),
])
def test_parse_target(os_version, arch, ptype, expected):
    t = inf.parse_target(os_version, arch, ptype)
    assert (t.major, t.minor, t.build, t.product_type, t.arch) == expected
    assert t.as_dict()['arch'] == expected[4]


@pytest.mark.parametrize('os_version,arch,ptype', [
    ('win12', 'amd64', None), ('6.x', 'amd64', None), (None, 'amd64', None), ('win7', 'sparc', None),
    ('win7', None, None), ('win7', 'amd64', 'mainframe'), ('win10-9999', 'amd64', None), ('300.1', 'x86', None),
    (True, 'x86', None), ('win7', 'amd64', True),
])
def test_parse_target_errors(os_version, arch, ptype):
    with pytest.raises(inf.InfError):
        inf.parse_target(os_version, arch, ptype)


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


def test_as_dict_is_json_ready():
    import json
    for name in ('ms-driver-samples/netrtwlans.inf', 'ofa-nvme/nvme.inf', 'reactos/scsi.inf'):
        driver = inf.read_inf(os.path.join(FIXTURES, name), SRV2022, lenient=True)
        json.dumps(driver.as_dict())


# ---------------------------------------------------------------------------------------------------------
# details added with the fast paths

def test_bracket_not_at_line_start_is_a_value():
    text = '[A]\nx = [not a header]\n  \t[B] ; header after blanks\ny = 1\n'
    secs = inf.tokenize(text)
    assert list(secs) == ['a', 'b']
    assert lines(text, 'A') == [('x', ['[not a header]'])]
    assert lines(text, 'B') == [('y', ['1'])]


def test_numeric_source_disk_ids(tmp_path):
    text = simple_driver().replace('svc.sys = 1', 'svc.sys = 01').replace('1 = "Disk",,,', '1 = "Disk",,,sub')
    folder = package(tmp_path, text, files=())
    os.makedirs(os.path.join(folder, 'Sub'))
    open(os.path.join(folder, 'Sub', 'svc.sys'), 'wb').close()
    entry = inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022).files[0]
    assert entry.source_parts == ['sub', 'svc.sys'] and entry.present is True


def test_a_folder_with_the_file_name_is_not_the_file(tmp_path):
    folder = package(tmp_path, simple_driver(), files=())
    os.makedirs(os.path.join(folder, 'svc.sys'))
    assert inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022).files[0].present is False


def test_driver_ver_in_the_install_section_ranks_the_device():
    install_extra = 'DriverVer = 12/31/2030,9.9.9.9\n'
    newer = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2\n', '01/01/2020,1.0', 'a.inf', install_extra)
    older = ranked_driver('%Dev% = Inst, PCI\\VEN_1&DEV_2\n', '01/01/2025,1.0', 'b.inf')
    assert inf.match_device([older, newer], DEVICE)['selected']['inf_name'] == 'a.inf'


def test_regressions_found_by_fuzzing():
    # str.strip() removes \x1c but int() does not accept it (found by test_inf_fuzz under ansible-test units)
    assert inf.parse_driver_ver(['01/02/2003', '1.\x1c2.3'])[0]['version'] == '1.\x1c2.3'
    # NUL characters handed straight to tokenize() must not collide with its quote placeholders
    assert inf.tokenize('[A]\nx = "a\x00b", \x001\x00\n')['a'].lines == [('x', ['a b', '1'], 2, 'x')]


def test_class_code_hint_when_a_pci_id_has_no_class_code():
    driver = inf.read_inf(os.path.join(FIXTURES, 'reactos', 'scsi.inf'), WIN7_X86)
    result = inf.match_device([driver], 'PCI\\VEN_104B&DEV_1040')
    assert result['selected'] is None and '&CC_' in result['reason']
    result = inf.match_device([driver], 'PCI\\VEN_104B&DEV_1040&CC_010000')
    assert result['selected']['install_section'] == 'BusLogic_Inst'
    assert result['selected']['inf_id'] == 'PCI\\VEN_104B&CC_0100'
