# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The INF reader's text stage (inf/text.py): decoding, Wine's tokenizer rules, integers, build-time templates, and
InfError, the one exception that leaves the reader."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError
from ansible_collections.sanboot.windows.tests.unit.plugins.module_utils.inf.infs import (  # noqa: E402
    FIXTURES, HEAD, SRV2022, lines, read, simple_driver,
)


# ---------------------------------------------------------------------------------------------------------
# errors

def test_inf_error_is_a_registry_error():
    # The modules catch RegistryError: an INF the reader refuses reaches them as one, an InfError carrying the
    # reader's message (file, line, what is wrong); other exceptions would be a bug (test_install.py fuzzes that).
    with pytest.raises(RegistryError) as info:
        read(HEAD + '[Broken\n')
    assert info.type is inf.InfError
    assert str(info.value) == 't.inf line 7: section name has no closing "]"'


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


def test_bracket_not_at_line_start_is_a_value():
    text = '[A]\nx = [not a header]\n  \t[B] ; header after blanks\ny = 1\n'
    secs = inf.tokenize(text)
    assert list(secs) == ['a', 'b']
    assert lines(text, 'A') == [('x', ['[not a header]'])]
    assert lines(text, 'B') == [('y', ['1'])]


def test_regressions_found_by_fuzzing():
    # NUL characters handed straight to tokenize() must not collide with its quote placeholders
    assert inf.tokenize('[A]\nx = "a\x00b", \x001\x00\n')['a'].lines == [('x', ['a b', '1'], 2, 'x')]


# ---------------------------------------------------------------------------------------------------------
# integers

@pytest.mark.parametrize('text,value', [
    ('0x02', 2), ('0x00000010', 16), ('12', 12), ('010', 10), (' 7 ', 7), ('-1', -1), ('0X1f', 31),
    ('', None), ('abc', None), ('1 2', None), ('0x', None), ('\u0661', None),
])
def test_parse_int(text, value):
    assert inf.parse_int(text) == value


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
    # read without templates: the markers in a comment neither refuse the file nor count as substitutions
    driver = read(simple_driver() + '; Use NT$ARCH$ for stampinf, INX_COMPANY too\n')
    assert driver.inf.template is None and driver.warnings == []
    assert [(d.hardware_id, d.install) for d in driver.devices] == [('PCI\\VEN_1234&DEV_0001', 'Inst')]
    # the same marker outside a comment makes the file a template
    with pytest.raises(inf.InfError, match=r'source template.*\$ARCH\$ \(line 32\)'):
        read(simple_driver() + 'X = NT$ARCH$\n')


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
