# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based and fuzz tests of the INF reader: whatever the bytes, only InfError escapes.

Two generators, together at least 20,000 examples (11,000 + 9,500) in CI-sized time (under a minute):
* grammar-aware INF text built from sections, directives and awkward tokens (quotes, continuations, comments,
  %strkey%, DIRIDs, unsafe file names, template tokens, decorations), in several encodings; for these the lazy
  per-section tokenizer must also agree with the line-by-line one;
* byte-level mutations (flips, inserts, deletes, duplicated and spliced ranges, injected tokens) of the vendored
  fixture INFs.
Every example goes through decoding, tokenizing, reading for a target (one of four targets, strict or lenient,
with or without template substitutions, with or without devices), the JSON report and boot driver selection.
Hypothesis draws one 64-bit seed per example and the generators are deterministic functions of it (cheapest draw,
so the examples fit the time budget); a failure is reported with its seed and replays exactly.
Set SANBOOT_FUZZ_SCALE (default 1) to run more or fewer examples.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import random
import time

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.sanboot.windows.plugins.module_utils import inf

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fixtures', 'inf')
SCALE = float(os.environ.get('SANBOOT_FUZZ_SCALE', '1'))
GRAMMAR_EXAMPLES = int(11000 * SCALE)
MUTATION_EXAMPLES = int(9500 * SCALE)
MINIMUM_TOTAL = int(20000 * SCALE)
COUNTS = {}

TARGETS = [inf.parse_target('server2022', 'amd64'), inf.parse_target('win7', 'x86'),
           inf.parse_target('10.0', 'arm64'), inf.parse_target('win10', 'amd64')]
DEVICES = [None, ['PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00'], ['PCI\\VEN_1234&DEV_0001', 'ID\\X'],
           [{'hardware_ids': ['XEN\\TYPE_vif'], 'compatible_ids': ['PCI\\CC_010802']}]]
INX = {'$ARCH$': 'amd64', '_INX_SUBSYS_VENDOR_ID': '1AF4', 'INX_PLATFORM_DRIVERS_DIR': '12',
       'INX_COMPANY': 'Red Hat, Inc.', 'INX_PREFIX_VENDOR': 'Red Hat ', 'DRIVER_DIRID': '12'}
TEMPLATE_CHOICES = [None, {}, INX]


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
    return rnd.choice(TARGETS), rnd.random() < 0.5, rnd.choice(TEMPLATE_CHOICES), rnd.choice(DEVICES)


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
        for target in TARGETS:
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
