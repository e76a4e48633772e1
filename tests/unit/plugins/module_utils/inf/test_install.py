# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The install stage (inf/install.py): what one INF installs on one target - [Version], install sections and their
platform suffixes, Include/Needs, the JSON report - checked rule by rule, against the hand-checked answer key
tests/fixtures/inf/expected.json, and by fuzzing (whatever the bytes, only InfError escapes the reader)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.registry import REG_MULTI_SZ, Value
from ansible_collections.sanboot.windows.tests.unit.plugins.module_utils.inf.infs import (
    FIXTURES, SRV2022, read, simple_driver,
)


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
# install sections

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


def test_missing_install_section_is_a_warning():
    driver = read(simple_driver(install=''))
    assert driver.devices[0].install_info.actual is None
    assert any('[Inst]' in w for w in driver.warnings)


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
# the report

def test_as_dict_is_json_ready():
    # The report goes into module results as it is: only JSON types (a tuple or an object would come back changed
    # or not at all), and it says what the reader found.
    for name in ('ms-driver-samples/netrtwlans.inf', 'ofa-nvme/nvme.inf', 'reactos/scsi.inf'):
        driver = inf.read_inf(os.path.join(FIXTURES, name), SRV2022, lenient=True)
        report = driver.as_dict()
        assert json.loads(json.dumps(report)) == report, name
        assert report['inf_name'] == os.path.basename(name) and report['class'] == driver.class_name
        assert [d['hardware_id'] or '' for d in report['devices']] == [d.hardware_id for d in driver.devices] != []
        assert [s['name'] for s in report['services']] == [s.name for s in driver.services] != []


# ---------------------------------------------------------------------------------------------------------
# The answer key, tests/fixtures/inf/expected.json: one test per file, target and mode it lists. Its conventions:
# * hardware_ids / compatible_ids: upper-cased, sorted, without duplicates -> compared as such;
# * install_sections: "as named -> as resolved", the resolved name written with a lower-case platform suffix
#   ("disk" -> "disk.nt" where the INF says [disk.NT]); section names are case-insensitive, so compared lower-cased;
# * models: one entry per [Manufacturer] line, null when no Models section applies; compared case-insensitively;
# * services: sorted by name; field values are the INF text after %strkey% substitution, DIRIDs unexpanded;
# * copyfiles: sorted unique [file, dirid];
# * template: the build-time substitutions the key assumed; "DRIVER_DIRID placeholder" means read as is (the
#   placeholder stays, with warnings), which is what the key shows.
# No entry of the key is believed wrong; see the report in docs/driver-packages.md ("Answer key").

with open(os.path.join(FIXTURES, 'expected.json')) as _handle:
    EXPECTED = json.load(_handle)

KEY_TARGETS = {
    'srv2022': inf.parse_target('server2022', 'amd64'),   # 10.0.20348, ProductType 3
    'win10': inf.parse_target('win10', 'amd64'),          # 10.0.19045, ProductType 1
}

# The substitutions the key's "template" notes describe.
KEY_INX = {'$ARCH$': 'amd64', '_INX_SUBSYS_VENDOR_ID': '1AF4', 'INX_PLATFORM_DRIVERS_DIR': '12',
           'INX_COMPANY': 'Red Hat, Inc.', 'INX_PREFIX_VENDOR': 'Red Hat '}


def templates_for(note):
    if note is None or note.startswith('DRIVER_DIRID'):
        return None
    if 'INX' in note:
        return dict(KEY_INX)
    # "$ARCH$", "$ARCH$ (stampinf -a amd64)", "$ARCH$ + DRIVER_DIRID", "$ARCH$ + C-preprocessor #include lines"
    return {'$ARCH$': 'amd64'}


CASES = sorted((name, key) for name, entries in EXPECTED.items() for key in entries if key != 'template')


def summary(driver):
    """The reader's result in the key's shape."""
    devices = driver.devices
    services = []
    for svc in driver.device_services:
        services.append({
            'name': svc.name, 'flags': svc.flags_raw, 'install': svc.install,
            'ServiceType': svc.fields.get('ServiceType'), 'StartType': svc.fields.get('StartType'),
            'ErrorControl': svc.fields.get('ErrorControl'), 'ServiceBinary': svc.fields.get('ServiceBinary'),
            'LoadOrderGroup': svc.fields.get('LoadOrderGroup'), 'DisplayName': svc.fields.get('DisplayName'),
        })
    return {
        'Class': driver.class_name,
        'ClassGUID': driver.class_guid,
        'encoding': driver.inf.encoding,
        'models': [(m['chosen'] or '').lower() or None for m in driver.manufacturers],
        'model_lines': sum(m['lines'] for m in driver.manufacturers if m['chosen']),
        'hardware_ids': sorted(set(d.hardware_id.upper() for d in devices if d.hardware_id)),
        'compatible_ids': sorted(set(c.upper() for d in devices for c in d.compatible_ids)),
        'install_sections': dict((d.install, (d.install_info.actual or '').lower() or None) for d in devices),
        'services': sorted(services, key=lambda s: (s['name'].lower(), s['install'].lower())),
        'copyfiles': sorted(set((f.name, str(f.dirid)) for f in driver.files)),
    }


def expected_summary(entry):
    out = dict(entry)
    out['models'] = [m.lower() if m else None for m in entry['models']]
    out['hardware_ids'] = sorted(set(i.upper() for i in entry['hardware_ids']))
    out['compatible_ids'] = sorted(set(i.upper() for i in entry['compatible_ids']))
    out['install_sections'] = dict((k, v.lower()) for k, v in entry['install_sections'].items())
    out['services'] = sorted(entry['services'], key=lambda s: (s['name'].lower(), s['install'].lower()))
    out['copyfiles'] = sorted(tuple(c) for c in entry['copyfiles'])
    return out


@pytest.mark.parametrize('name,key', CASES, ids=['%s:%s' % case for case in CASES])
def test_matches_answer_key(name, key):
    target_name, mode = key.split('/')
    driver = inf.read_inf(os.path.join(FIXTURES, name), KEY_TARGETS[target_name], lenient=(mode == 'lenient'),
                          templates=templates_for(EXPECTED[name]['template']))
    got = summary(driver)
    want = expected_summary(EXPECTED[name][key])
    for field in sorted(want):
        assert got[field] == want[field], '%s %s: %s differs' % (name, key, field)
    # ClassGUID is compared as written; Windows compares GUIDs case-insensitively.
    assert got['ClassGUID'].lower() == want['ClassGUID'].lower()


def test_every_file_of_the_key_is_vendored():
    for name in EXPECTED:
        assert os.path.isfile(os.path.join(FIXTURES, name)), name


def test_strict_only_entries_equal_lenient():
    """The key lists lenient only where it differs; where it does not, lenient must give the strict answer."""
    for name, entries in EXPECTED.items():
        if any(k.endswith('/lenient') for k in entries):
            continue
        for target_name in KEY_TARGETS:
            if '%s/strict' % target_name not in entries:
                continue
            tpl = templates_for(entries['template'])
            strict = summary(inf.read_inf(os.path.join(FIXTURES, name), KEY_TARGETS[target_name], False, tpl))
            lenient = summary(inf.read_inf(os.path.join(FIXTURES, name), KEY_TARGETS[target_name], True, tpl))
            assert strict == lenient, name


def test_templates_are_refused_without_substitutions():
    for name, entries in EXPECTED.items():
        note = entries['template']
        if note is None or note.startswith('DRIVER_DIRID'):
            continue
        with pytest.raises(inf.InfError, match='template'):
            inf.read_inf(os.path.join(FIXTURES, name), KEY_TARGETS['srv2022'])


# ---------------------------------------------------------------------------------------------------------
# Fuzzing: whatever the bytes, only InfError escapes. Two generators, together at least 20,000 examples
# (11,000 + 9,500) in CI-sized time (under a minute):
# * grammar-aware INF text built from sections, directives and awkward tokens (quotes, continuations, comments,
#   %strkey%, DIRIDs, unsafe file names, template tokens, decorations), in several encodings; for these the lazy
#   per-section tokenizer must also agree with the line-by-line one;
# * byte-level mutations (flips, inserts, deletes, duplicated and spliced ranges, injected tokens) of the vendored
#   fixture INFs.
# Every example goes through decoding, tokenizing, reading for a target (one of four targets, strict or lenient,
# with or without template substitutions, with or without devices), the JSON report and boot driver selection.
# Hypothesis draws one 64-bit seed per example and the generators are deterministic functions of it (cheapest draw,
# so the examples fit the time budget); a failure is reported with its seed and replays exactly.
# Set SANBOOT_FUZZ_SCALE (default 1) to run more or fewer examples.

SCALE = float(os.environ.get('SANBOOT_FUZZ_SCALE', '1'))
GRAMMAR_EXAMPLES = int(11000 * SCALE)
MUTATION_EXAMPLES = int(9500 * SCALE)
MINIMUM_TOTAL = int(20000 * SCALE)
COUNTS = {}

FUZZ_TARGETS = [inf.parse_target('server2022', 'amd64'), inf.parse_target('win7', 'x86'),
                inf.parse_target('10.0', 'arm64'), inf.parse_target('win10', 'amd64')]
DEVICES = [None, ['PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00'], ['PCI\\VEN_1234&DEV_0001', 'ID\\X'],
           [{'hardware_ids': ['XEN\\TYPE_vif'], 'compatible_ids': ['PCI\\CC_010802']}]]
FUZZ_INX = {'$ARCH$': 'amd64', '_INX_SUBSYS_VENDOR_ID': '1AF4', 'INX_PLATFORM_DRIVERS_DIR': '12',
            'INX_COMPANY': 'Red Hat, Inc.', 'INX_PREFIX_VENDOR': 'Red Hat ', 'DRIVER_DIRID': '12'}
TEMPLATE_CHOICES = [None, {}, FUZZ_INX]


def load_fixtures():
    found = []
    for folder in sorted(os.listdir(FIXTURES)):
        path = os.path.join(FIXTURES, folder)
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                with open(os.path.join(path, name), 'rb') as handle:
                    found.append(handle.read())
    return found


FIXTURE_BYTES = load_fixtures()


def options(rnd):
    """(target, lenient, templates, devices) for one example."""
    return rnd.choice(FUZZ_TARGETS), rnd.random() < 0.5, rnd.choice(TEMPLATE_CHOICES), rnd.choice(DEVICES)


def exercise(data, target, lenient, templates, devices):
    """Everything a user of the reader can do with one INF; only InfError may come out."""
    try:
        driver = inf.read_inf_data(data, target, name='fuzz.inf', lenient=lenient, templates=templates)
    except inf.InfError:
        return None
    report = driver.as_dict()
    json.dumps(report)
    for device in devices or []:
        try:
            json.dumps(inf.match_device([driver], device))
        except inf.InfError:
            pass
    try:
        result = inf.select_boot_driver([driver], target, devices)
    except inf.InfError:
        return driver
    assert result['service'] and result['service_values']
    for subkey, value in result['service_values']:
        assert isinstance(subkey, tuple) and isinstance(value.data, bytes)
    return driver


# ---------------------------------------------------------------------------------------------------------
# grammar-aware generation

SECTION_NAMES = [
    'Version', 'Manufacturer', 'Strings', 'Strings.0409', 'Strings.0a', 'M', 'M.NTamd64', 'M.NTx86', 'M.NT',
    'M.NTarm64', 'M.NTamd64.10.0...16299', 'M.NTamd64.6.1', 'M.ntamd64.10.0.1..18362', 'Inst', 'Inst.NT',
    'Inst.NTamd64', 'Inst.Services', 'Inst.NTamd64.Services', 'inst.nt.services', 'Inst.HW', 'Inst.Wdf',
    'Inst.CoInstallers', 'Svc', 'Files', 'DestinationDirs', 'SourceDisksNames', 'SourceDisksFiles',
    'SourceDisksFiles.amd64', 'R', 'Ev', 'wdf', '', 'x' * 40,
]
KEYS = [None, None, None, 'Signature', 'Class', 'ClassGUID', 'Provider', 'DriverVer', '%Mfg%', 'M', '%Dev%',
        'CopyFiles', 'AddReg', 'DelReg', 'AddService', 'Include', 'Needs', 'FeatureScore', 'DriverVer',
        'ServiceType', 'StartType', 'ErrorControl', 'ServiceBinary', 'LoadOrderGroup', 'DisplayName',
        'Dependencies', 'DefaultDestDir', 'Files', 'KmdfService', 'KmdfLibraryVersion', 'Mfg', 'Dev', 'svc.sys',
        '1', 'Characteristics', '*IfType', 'Enable*', '"quoted key"', 'k%x%', 'a=b']
TOKENS = [
    '', ' ', '$Windows NT$', '"$Windows NT$"', 'Net', '{4d36e972-e325-11ce-bfc1-08002be10318}', '%Mfg%', '%Dev%',
    '%%', '%', '%12%\\svc.sys', '%13%\\svc.sys', '%11%', '%-1%', '%DRIVER_DIRID%\\x.sys', '%Undefined%',
    'M', 'NTamd64', 'NTx86', 'NT', 'NTarm64', 'NTamd64.10.0...16299', 'NTamd64.6.1', 'NTamd64.10.0.1..18362',
    'NTamd64....0x80', 'NT$ARCH$', 'NTamd64.99', 'NTamd64.1.2.3.4.5.6', 'NTamd64.x', 'Inst', 'Svc', 'Files',
    'R', 'Ev', 'wdf', 'svc', 'svc.sys', 'PCI\\VEN_1234&DEV_0001', 'PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4',
    'ID\\X', 'XEN\\TYPE_vif', 'PCI\\CC_010802', 'HKR', 'HKLM', 'HKQQ', 'Parameters', 'Ndi\\Params\\*RSS', '0',
    '1', '2', '3', '12', '13', '-1', '65535', '0x2', '0x00000002', '0x10002', '0x00010001', '0x00010000',
    '0x00020000', '0x00000001', '0x00020001', '0x000B0001', '0x10', '0x8000', '0x4', '0xFFFFFFFF',
    '99999999999999999999', '0x', 'de', 'ad', 'zz', '01/02/2020', '1.2.3.4', '13/45/2020', '1.2.x',
    '"quoted, with; stuff"', '""', '"a""b"', '"unterminated', '"%Mfg%"', '"\\"', '..\\evil.sys', '\\abs.sys',
    'C:\\x.sys', 'CON', 'nul.sys', '\\\\srv\\share\\x', 'a/../../b', 'x?.sys', '@svc.sys', '@..\\x.sys',
    '$ARCH$', 'INX_COMPANY', '$KMDFVERSION$', '+NDIS', '#include', '\u00e9\u4e2d', '\ufeff', '\x1c', '\t',
    '=', ';', ',', '[', ']', '\\',
]
ALPHABET = list('abcAB09 _.-\\%"[];,=#$&*+\t\r\x00\x1a\u00e9\u4e2d\u2028\x85')
HEADERS = ['[%s]', '[%s]', '[%s]', ' [ %s ] ; c', '[%s', '[%s] x']
TAILS = ['', '', '', ' ; comment', ';%x%', ' \\', '\\\\', ' \\ ; c', '"', '\r']
NEWLINES = ['\n', '\r\n', '\n', '\r']
ENCODINGS = ['utf-8', 'utf-8', 'utf-8-sig', 'utf-16', 'utf-16-le', 'utf-16-be', 'cp1252', 'latin-1']


def random_line(rnd):
    fields = []
    for dummy in range(rnd.randint(0, 6)):
        if rnd.random() < 0.8:
            fields.append(rnd.choice(TOKENS))
        else:
            fields.append(''.join(rnd.choice(ALPHABET) for dummy in range(rnd.randint(0, 12))))
    text = ', '.join(fields)
    key = rnd.choice(KEYS)
    if key is not None:
        text = '%s = %s' % (key, text)
    return rnd.choice(['', ' ', '\t']) + text + rnd.choice(TAILS)


def random_document(rnd):
    """An INF-shaped text from the grammar: sections of directive lines with awkward tokens."""
    parts = []
    if rnd.random() < 0.1:
        parts.append(random_line(rnd))
    for dummy in range(rnd.randint(0, 12)):
        parts.append(rnd.choice(HEADERS) % rnd.choice(SECTION_NAMES))
        parts.extend(random_line(rnd) for dummy in range(rnd.randint(0, 6)))
    text = rnd.choice(NEWLINES).join(parts)
    return text, text.encode(rnd.choice(ENCODINGS), 'replace')


def check_tokenizers_agree(text):
    """The lazy per-section tokenizer and the line-by-line one give the same sections and lines."""
    try:
        lazy = inf.tokenize(text)
        lazy_lines = dict((k, (s.name, s.lines)) for k, s in lazy.items())
        lazy_error = None
    except inf.InfError as exc:
        lazy_lines, lazy_error = None, str(exc)
    try:
        exact = inf.text._tokenize_exact(text, '<inf>', [])
        exact_lines = dict((k, (s.name, s.lines)) for k, s in exact.items())
        exact_error = None
    except inf.InfError as exc:
        exact_lines, exact_error = None, str(exc)
    assert (lazy_error is None) == (exact_error is None), (lazy_error, exact_error)
    assert lazy_lines == exact_lines


def test_generated_infs_only_raise_inf_error():
    COUNTS['grammar'] = 0
    start = time.time()

    @settings(max_examples=GRAMMAR_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(seed=st.integers(0, 2 ** 64 - 1))
    def run(seed):
        COUNTS['grammar'] += 1
        rnd = random.Random(seed)
        text, data = random_document(rnd)
        decoded = inf.decode_inf(data)[0]
        check_tokenizers_agree(decoded)
        exercise(data, *options(rnd))

    run()
    print('\ngrammar-aware INFs: %d examples in %.1f s' % (COUNTS['grammar'], time.time() - start))
    assert COUNTS['grammar'] >= GRAMMAR_EXAMPLES


# ---------------------------------------------------------------------------------------------------------
# byte-level mutations of the fixtures

INJECTED = [b'"', b'""', b';', b',', b'=', b'\\', b'\\\n', b'[', b']', b'\n[Version]\n', b'\n[Strings]\n',
            b'%', b'%%', b'%12%', b'\x00', b'\x1a', b'\r', b'\xff\xfe', b'\xef\xbb\xbf', b'\x81\x8f', b'..\\',
            b'CON', b'C:', b'\\\\', b'$ARCH$', b'INX_', b'#include "x"\n', b'NTamd64', b'.NT', b'0x', b'\n']


def mutate(rnd, data):
    """Byte-level mutations: flips, inserts, deletes, duplicated and spliced ranges, injected tokens."""
    data = bytearray(data)
    for dummy in range(rnd.randint(1, 6)):
        kind = rnd.randint(0, 5)
        size = len(data)
        pos = rnd.randint(0, max(size - 1, 0))
        if kind == 0 and size:
            data[pos] = rnd.randint(0, 255)
        elif kind == 1:
            data[pos:pos] = bytes(rnd.randint(0, 255) for dummy in range(rnd.randint(1, 8)))
        elif kind == 2:
            del data[pos:pos + rnd.randint(1, 400)]
        elif kind == 3 and size:
            end = min(size, pos + rnd.randint(1, 400))
            at = rnd.randint(0, size)
            data[at:at] = data[pos:end]
        elif kind == 4:
            other = rnd.choice(FIXTURE_BYTES)
            start = rnd.randint(0, len(other) - 1)
            data[pos:pos] = other[start:start + rnd.randint(1, 600)]
        else:
            data[pos:pos] = rnd.choice(INJECTED)
    return bytes(data)


def test_mutated_fixtures_only_raise_inf_error():
    COUNTS['mutation'] = 0
    start = time.time()

    @settings(max_examples=MUTATION_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(seed=st.integers(0, 2 ** 64 - 1))
    def run(seed):
        COUNTS['mutation'] += 1
        rnd = random.Random(seed)
        exercise(mutate(rnd, rnd.choice(FIXTURE_BYTES)), *options(rnd))

    run()
    print('\nmutated fixture INFs: %d examples in %.1f s' % (COUNTS['mutation'], time.time() - start))
    assert COUNTS['mutation'] >= MUTATION_EXAMPLES


def test_fixtures_themselves_pass_the_same_checks():
    for data in FIXTURE_BYTES:
        for target in FUZZ_TARGETS:
            for templates in TEMPLATE_CHOICES:
                for devices in DEVICES:
                    exercise(data, target, True, templates, devices)
                    exercise(data, target, False, templates, devices)


def test_total_example_count():
    """Each generator asserts its own count; together they make the minimum. With xdist they may run in other
    processes, so the counts themselves are summed only when both ran here."""
    assert GRAMMAR_EXAMPLES + MUTATION_EXAMPLES >= MINIMUM_TOTAL
    if 'grammar' in COUNTS and 'mutation' in COUNTS:
        total = COUNTS['grammar'] + COUNTS['mutation']
        print('\nINF fuzzing: %d examples in total' % total)
        assert total >= MINIMUM_TOTAL
