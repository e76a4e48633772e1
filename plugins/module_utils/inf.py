# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read Windows driver packages (INF files) the way Windows does, for offline injection of boot drivers.

Plain Python, no Ansible imports. The rules implemented here are written down, with their Microsoft and Wine
sources, in docs/driver-packages.md; the short version:

* decode (BOM, BOM-less UTF-16, UTF-8, else cp1252 with replacement), Ctrl-Z ends the file;
* tokenize like Wine's setupapi parser (quotes, ``""``, ``;`` comments, ``\\`` continuation, case-insensitive and
  merged sections, a key only when ``=`` comes before the first comma outside quotes);
* substitute ``%strkey%`` from ONE Strings section (Strings.LLLL, then the language-neutral and same-language
  ones, then [Strings]) lazily, keep ``%N%`` DIRIDs symbolic, ``%%`` is ``%``; numbers are parsed afterwards;
* choose per [Manufacturer] line the Models section whose TargetOSVersion decoration applies to the target and is
  closest to it; undecorated Models sections are x86-only unless ``lenient``;
* resolve install sections ``X.NT<arch>`` -> ``X.NT`` -> ``X`` and use that suffix for .Services/.HW/.Wdf/
  .CoInstallers; read AddService, service-install sections, AddReg, CopyFiles, DestinationDirs, SourceDisks*.

The only exception that leaves this module is InfError (a registry.RegistryError).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_SZ, RegistryError, Value,
)


class InfError(RegistryError):
    """The reader's one error type; the message is meant for the user as it is (file and line when known)."""


# ---------------------------------------------------------------------------------------------------------
# Constants

ARCHES = ('x86', 'amd64', 'arm64', 'arm', 'ia64')
_ARCH_ALIASES = {
    'x86': 'x86', 'i386': 'x86', 'i486': 'x86', 'i586': 'x86', 'i686': 'x86', 'ia32': 'x86', '32': 'x86',
    'amd64': 'amd64', 'x64': 'amd64', 'x86_64': 'amd64', 'x86-64': 'amd64', 'em64t': 'amd64', '64': 'amd64',
    'arm64': 'arm64', 'aarch64': 'arm64', 'arm': 'arm', 'ia64': 'ia64',
}
PRODUCT_TYPES = {1: 'workstation', 2: 'domain_controller', 3: 'server'}
_PRODUCT_ALIASES = {
    '1': 1, 'workstation': 1, 'client': 1, 'desktop': 1, 'ver_nt_workstation': 1,
    '2': 2, 'domain_controller': 2, 'domaincontroller': 2, 'dc': 2, 'ver_nt_domain_controller': 2,
    '3': 3, 'server': 3, 'ver_nt_server': 3,
}

# name -> (major, minor, build, product type)
_OS_ALIASES = {
    'win2000': (5, 0, 2195, 1), 'windows2000': (5, 0, 2195, 1), 'win2k': (5, 0, 2195, 1),
    'xp': (5, 1, 2600, 1), 'winxp': (5, 1, 2600, 1), 'windowsxp': (5, 1, 2600, 1),
    'xp64': (5, 2, 3790, 1), 'winxp64': (5, 2, 3790, 1), 'winxpx64': (5, 2, 3790, 1),
    'server2003': (5, 2, 3790, 3), 'win2003': (5, 2, 3790, 3), 'ws2003': (5, 2, 3790, 3), '2003': (5, 2, 3790, 3),
    'server2003r2': (5, 2, 3790, 3), 'win2003r2': (5, 2, 3790, 3),
    'vista': (6, 0, 6002, 1), 'winvista': (6, 0, 6002, 1), 'windowsvista': (6, 0, 6002, 1),
    'server2008': (6, 0, 6002, 3), 'win2008': (6, 0, 6002, 3), 'ws2008': (6, 0, 6002, 3), '2008': (6, 0, 6002, 3),
    'win7': (6, 1, 7601, 1), 'windows7': (6, 1, 7601, 1), '7': (6, 1, 7601, 1),
    'server2008r2': (6, 1, 7601, 3), 'win2008r2': (6, 1, 7601, 3), 'ws2008r2': (6, 1, 7601, 3),
    '2008r2': (6, 1, 7601, 3),
    'win8': (6, 2, 9200, 1), 'windows8': (6, 2, 9200, 1),
    'server2012': (6, 2, 9200, 3), 'win2012': (6, 2, 9200, 3), 'ws2012': (6, 2, 9200, 3), '2012': (6, 2, 9200, 3),
    'win81': (6, 3, 9600, 1), 'win8.1': (6, 3, 9600, 1), 'windows81': (6, 3, 9600, 1), 'windows8.1': (6, 3, 9600, 1),
    'server2012r2': (6, 3, 9600, 3), 'win2012r2': (6, 3, 9600, 3), 'ws2012r2': (6, 3, 9600, 3),
    '2012r2': (6, 3, 9600, 3),
    'win10': (10, 0, 19045, 1), 'windows10': (10, 0, 19045, 1), '10': (10, 0, 19045, 1),
    'win11': (10, 0, 22631, 1), 'windows11': (10, 0, 22631, 1), '11': (10, 0, 22631, 1),
    'server2016': (10, 0, 14393, 3), 'win2016': (10, 0, 14393, 3), 'ws2016': (10, 0, 14393, 3),
    '2016': (10, 0, 14393, 3),
    'server2019': (10, 0, 17763, 3), 'win2019': (10, 0, 17763, 3), 'ws2019': (10, 0, 17763, 3),
    '2019': (10, 0, 17763, 3),
    'server2022': (10, 0, 20348, 3), 'win2022': (10, 0, 20348, 3), 'ws2022': (10, 0, 20348, 3),
    '2022': (10, 0, 20348, 3),
    'server2025': (10, 0, 26100, 3), 'win2025': (10, 0, 26100, 3), 'ws2025': (10, 0, 26100, 3),
    '2025': (10, 0, 26100, 3),
}
_WIN10_RELEASES = {
    '1507': 10240, '1511': 10586, '1607': 14393, '1703': 15063, '1709': 16299, '1803': 17134, '1809': 17763,
    '1903': 18362, '1909': 18363, '2004': 19041, '20h2': 19042, '21h1': 19043, '21h2': 19044, '22h2': 19045,
}
_WIN11_RELEASES = {'21h2': 22000, '22h2': 22621, '23h2': 22631, '24h2': 26100, '25h2': 26200}

SPSVCINST_ASSOCSERVICE = 0x2
MAX_INF_SIZE = 32 * 1024 * 1024
MAX_SECTION_NAME = 255
MAX_INCLUDE_DEPTH = 4
DEFAULT_FEATURE_SCORE = 0xFF
DEFAULT_LANGUAGE = 0x0409

# DIRID -> folder relative to the Windows directory (install/using-dirids.md). 13 is the DriverStore folder of the
# package, whose name carries a hash Windows computes while staging; it is handled apart.
DIRID_PATHS = {
    10: '',
    11: 'System32',
    12: 'System32\\drivers',
    17: 'INF',
    18: 'Help',
    20: 'Fonts',
    50: 'System',
    16425: 'SysWOW64',
}
DIRID_DRIVER_STORE = 13
DIRID_ABSOLUTE = (-1, 65535)

# Names Windows reserves for devices in every directory (with or without an extension).
_DEVICE_NAMES = frozenset(
    ['CON', 'PRN', 'AUX', 'NUL', 'CONIN$', 'CONOUT$', 'CLOCK$'] +
    ['COM%d' % i for i in range(0, 10)] + ['LPT%d' % i for i in range(0, 10)] +
    ['COM\u00b9', 'COM\u00b2', 'COM\u00b3', 'LPT\u00b9', 'LPT\u00b2', 'LPT\u00b3']
)
_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f<>|"?*]')
_SIMPLE_NAME_RE = re.compile(r'[A-Za-z0-9_$][A-Za-z0-9_.$\-]*\Z')   # a plain file name: nothing to check but devices

# Service-install section entries (install/inf-ddinstall-services-section.md); canonical spelling by lower case.
SERVICE_FIELDS = dict((k.lower(), k) for k in (
    'DisplayName', 'Description', 'ServiceType', 'StartType', 'ErrorControl', 'ServiceBinary', 'LoadOrderGroup',
    'Dependencies', 'StartName', 'Security', 'ServiceSidType', 'DelayedAutoStart', 'RequiredPrivileges',
    'BootFlags', 'AddTrigger', 'FailureActions', 'AddReg', 'DelReg', 'BitReg',
))
_SERVICE_REQUIRED = ('ServiceType', 'StartType', 'ErrorControl', 'ServiceBinary')

# DDInstall entries that network INFs write into the driver key (network/ddinstall-section-in-a-network-inf-file.md).
NETWORK_DIRECTIVES = dict((k.lower(), k) for k in (
    'Characteristics', 'BusType', '*IfType', '*MediaType', '*PhysicalMediaType', '*IfConnectorPresent',
    '*ConnectionType', '*DirectionType', '*AccessType', '*HardwareLoopback', 'NumberOfNetworkInterfaces',
    'NetCfgInstanceId',
))

# AddReg flags (install/inf-addreg-directive.md).
FLG_ADDREG_BINVALUETYPE = 0x00000001
FLG_ADDREG_NOCLOBBER = 0x00000002
FLG_ADDREG_DELVAL = 0x00000004
FLG_ADDREG_APPEND = 0x00000008
FLG_ADDREG_KEYONLY = 0x00000010
FLG_ADDREG_OVERWRITEONLY = 0x00000020
FLG_ADDREG_KEYONLY_COMMON = 0x00002000
FLG_ADDREG_DELREG_BIT = 0x00008000
_ADDREG_TYPE_MASK = 0xFFFF0001
_ADDREG_TYPES = {
    0x00000000: REG_SZ,
    0x00000001: REG_BINARY,
    0x00010000: REG_MULTI_SZ,
    0x00020000: REG_EXPAND_SZ,
    0x00010001: REG_DWORD,
    0x00020001: REG_NONE,
}
_REG_ROOTS = frozenset(['HKR', 'HKLM', 'HKCU', 'HKCR', 'HKU'])
_REG_ROLES = {'ddinstall': 'driver', 'hw': 'hw', 'coinstallers': 'coinstallers'}

# Build-time tokens of driver source templates (stampinf, virtio-win's INX macros) and C preprocessor lines.
_STAMPINF_RE = re.compile(
    r'\$(?:ARCH|KMDFVERSION|KMDFCOINSTALLERVERSION|UMDFVERSION|UMDFCOINSTALLERVERSION|WDFCOINSTALLERVERSION)\$')
_INX_RE = re.compile(r'INX_[A-Za-z0-9_]*')   # a match preceded by a letter (LINX_...) is not one
_PREPROC_RE = re.compile(
    r'^[^\S\n]*#[^\S\n]*(?:include|define|undef|ifdef|ifndef|if|elif|else|endif|pragma|error|line)\b[^\n]*', re.M)

_SUBST_RE = re.compile(r'%([^%]*)%')
_DIRID_TOKEN_RE = re.compile(r'^[+-]?[0-9]+$')
_INT_RE = re.compile(r'^\s*([+-]?)\s*(0[xX][0-9a-fA-F]+|[0-9]+)\s*$')
_DECORATION_RE = re.compile(r'^nt(amd64|arm64|arm|ia64|x86)?(?:\.(.*))?$', re.I | re.S)
_DIRID_PREFIX_RE = re.compile(r'^%([+-]?[0-9]+)%(.*)$', re.S)
_DRIVERVER_DATE_RE = re.compile(r'^\s*([0-9]{1,2})\s*[/-]\s*([0-9]{1,2})\s*[/-]\s*([0-9]{4})\s*$')
_STRINGS_SECTION_RE = re.compile(r'^strings(?:\.([0-9a-f]{1,4}))?$', re.I)
_PCI_ID_RE = re.compile(
    r'^PCI\\VEN_([0-9A-F]{4})&DEV_([0-9A-F]{4})(?:&SUBSYS_([0-9A-F]{8}))?(?:&REV_([0-9A-F]{2}))?'
    r'(?:&CC_([0-9A-F]{4}(?:[0-9A-F]{2})?))?$', re.I)


def _warn(warnings, message):
    if message not in warnings:
        warnings.append(message)


def parse_int(text):
    """Integer as INF readers take it after substitution: ``0x`` hex, else decimal (leading zeros stay decimal)."""
    if text is None:
        return None
    if text.isdigit() and text.isascii():
        return int(text)
    m = _INT_RE.match(text)
    if not m:
        return None
    digits = m.group(2)
    value = int(digits, 16) if digits[:2] in ('0x', '0X') else int(digits, 10)
    return -value if m.group(1) == '-' else value


# ---------------------------------------------------------------------------------------------------------
# Target

class Target(object):
    """The Windows a driver is chosen for: version, build (None = unknown), product type (None = unknown), arch."""

    __slots__ = ('major', 'minor', 'build', 'product_type', 'arch', 'name')

    def __init__(self, major, minor, build, product_type, arch, name=None):
        self.major = major
        self.minor = minor
        self.build = build
        self.product_type = product_type
        self.arch = arch
        self.name = name

    @property
    def version(self):
        return '%d.%d' % (self.major, self.minor) + ('.%d' % self.build if self.build is not None else '')

    def describe(self):
        text = '%s %s' % (self.version, self.arch)
        if self.product_type:
            text += ' ' + PRODUCT_TYPES.get(self.product_type, str(self.product_type))
        if self.name:
            text = '%s (%s)' % (self.name, text)
        return text

    def as_dict(self):
        return {'name': self.name, 'major': self.major, 'minor': self.minor, 'build': self.build,
                'version': self.version, 'arch': self.arch,
                'product_type': PRODUCT_TYPES.get(self.product_type) if self.product_type else None}

    def __eq__(self, other):
        return isinstance(other, Target) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(tuple(getattr(self, k) for k in self.__slots__))

    def __repr__(self):
        return 'Target(%s)' % self.describe()


def _alias_key(text):
    return re.sub(r'[\s_\-]+', '', text.strip().lower()).replace('windowsserver', 'server')


def parse_target(os_version, arch, product_type=None):
    """Target from an OS name or version and an architecture.

    ``os_version``: ``6.1``, ``10.0``, ``10.0.20348`` or a name such as ``win7``, ``win10``, ``win10-1809``,
    ``win11``, ``win11-24h2``, ``server2008r2``, ``server2022``. Names fix the build and product type (``win10`` is
    22H2, build 19045; ``win11`` is 23H2, build 22631); a bare ``major.minor`` leaves the build unknown.
    ``arch``: ``x86``, ``amd64`` (or ``x64``), ``arm64``. ``product_type``: ``workstation``, ``domain_controller``,
    ``server`` or 1, 2, 3; it overrides the name's.
    """
    if os_version is None or isinstance(os_version, bool):
        raise InfError('target OS is required (for example 6.1, 10.0.20348, win7 or server2022)')
    text = str(os_version).strip()
    key = _alias_key(text)
    name = None
    major = minor = build = ptype = None
    m = re.match(r'^([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?$', text)
    if m:
        major, minor = int(m.group(1)), int(m.group(2) or 0)
        build = int(m.group(3)) if m.group(3) is not None else None
        if major > 255 or minor > 255 or (build is not None and build > 0xFFFFFFFF):
            raise InfError('target OS version %r is out of range' % text)
    elif key in _OS_ALIASES:
        major, minor, build, ptype = _OS_ALIASES[key]
        name = text
    else:
        rel = re.match(r'^(?:windows|win)(10|11)\.?(\w+)$', key)
        table = None
        if rel:
            table = _WIN10_RELEASES if rel.group(1) == '10' else _WIN11_RELEASES
        if not rel or rel.group(2) not in table:
            raise InfError('unknown target OS %r: give major.minor[.build] (6.1, 10.0.20348) or a name (%s)'
                           % (text, ', '.join(['xp', 'server2003', 'vista', 'win7', 'server2008r2', 'win8', 'win81',
                                               'server2012r2', 'win10', 'win10-1809', 'win11', 'server2016',
                                               'server2019', 'server2022', 'server2025'])))
        major, minor, build, ptype = 10, 0, table[rel.group(2)], 1
        name = text
    if arch is None or isinstance(arch, bool):
        raise InfError('target architecture is required (x86, amd64 or arm64)')
    arch_key = str(arch).strip().lower()
    if arch_key not in _ARCH_ALIASES:
        raise InfError('unknown target architecture %r (x86, amd64 or arm64)' % (arch,))
    if product_type is not None and not isinstance(product_type, bool):
        pkey = str(product_type).strip().lower().replace(' ', '_').replace('-', '_')
        if pkey not in _PRODUCT_ALIASES:
            raise InfError('unknown product type %r (workstation, domain_controller or server)' % (product_type,))
        ptype = _PRODUCT_ALIASES[pkey]
    elif isinstance(product_type, bool):
        raise InfError('product type must be workstation, domain_controller or server, not a boolean')
    return Target(major, minor, build, ptype, _ARCH_ALIASES[arch_key], name)


def _coerce_target(target):
    if isinstance(target, Target):
        return target
    if isinstance(target, dict):
        return parse_target(target.get('os'), target.get('arch'), target.get('product_type'))
    if isinstance(target, (tuple, list)) and 2 <= len(target) <= 3:
        return parse_target(*target)
    raise InfError('target must come from parse_target() or be a dict with os, arch and product_type')


# ---------------------------------------------------------------------------------------------------------
# Decoding

def _sniff_utf16(data):
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    odd = sample[1:pairs * 2:2].count(0)
    even = sample[0:pairs * 2:2].count(0)
    if odd * 10 >= pairs * 4 and even * 20 < pairs:
        return 'utf-16-le'
    if even * 10 >= pairs * 4 and odd * 20 < pairs:
        return 'utf-16-be'
    return None


def decode_inf(data):
    """(text, encoding label) of INF bytes: BOM, BOM-less UTF-16, strict UTF-8, else cp1252 with replacement.

    Text after a Ctrl-Z is dropped and NUL characters become blanks, as in Wine's parser.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise InfError('INF data must be bytes')
    data = bytes(data)
    if data[:2] == b'\xff\xfe':
        text, encoding = data[2:].decode('utf-16-le', 'replace'), 'utf-16le-bom'
    elif data[:2] == b'\xfe\xff':
        text, encoding = data[2:].decode('utf-16-be', 'replace'), 'utf-16be-bom'
    elif data[:3] == b'\xef\xbb\xbf':
        text, encoding = data[3:].decode('utf-8', 'replace'), 'utf-8-bom'
    else:
        codec = _sniff_utf16(data)
        if codec:
            text, encoding = data.decode(codec, 'replace'), codec.replace('utf-16-', 'utf-16')
        else:
            try:
                text, encoding = data.decode('utf-8'), 'utf-8/ascii'
            except UnicodeDecodeError:
                text, encoding = data.decode('cp1252', 'replace'), 'ansi-cp1252'
    cut = text.find('\x1a')
    if cut >= 0:
        text = text[:cut]
    if '\x00' in text:
        text = text.replace('\x00', ' ')
    if text.startswith('\ufeff'):
        text = text[1:]
    return text, encoding


# ---------------------------------------------------------------------------------------------------------
# Templates

def _comment_start(line):
    """Index of the ``;`` that starts a comment on a physical line (outside quotes), or -1."""
    i = 0
    while True:
        semi = line.find(';', i)
        if semi < 0:
            return -1
        quote = line.find('"', i)
        if quote < 0 or semi < quote:
            return semi
        end = line.find('"', quote + 1)
        if end < 0:
            return -1
        i = end + 1


_TEMPLATE_HINTS = ('$ARCH$', '$KMDF', '$UMDF', '$WDF', 'INX_')


def _has_preprocessor_line(text):
    """True when a line starts (after blanks) with "#" followed by a letter: a candidate C preprocessor line."""
    at = text.find('#')
    while at >= 0:
        start = text.rfind('\n', 0, at) + 1
        if not text[start:at].strip() and text[at + 1:at + 40].lstrip(' \t')[:1].isalpha():
            return True
        at = text.find('#', at + 1)
    return False


def _template_markers(text):
    """[(token, line number)] of template tokens outside comments and of C preprocessor lines."""
    found = []
    matches = []
    if '$' in text and any(hint in text for hint in _TEMPLATE_HINTS[:4]):
        matches.extend(_STAMPINF_RE.finditer(text))
    if 'INX_' in text:
        matches.extend(m for m in _INX_RE.finditer(text) if not text[m.start() - 1:m.start()].isalpha())
    for m in matches:
        start = text.rfind('\n', 0, m.start()) + 1
        end = text.find('\n', m.start())
        line = text[start:end if end >= 0 else len(text)]
        semi = _comment_start(line)
        if semi < 0 or m.start() - start < semi:
            found.append((m.group(0), text.count('\n', 0, m.start()) + 1))
    if '#' in text and _has_preprocessor_line(text):
        for m in _PREPROC_RE.finditer(text):
            found.append((m.group(0).strip(), text.count('\n', 0, m.start()) + 1))
    return found


def _describe_markers(markers, limit=6):
    seen = []
    for token, line in markers:
        item = '%s (line %d)' % (token, line)
        if not any(s.startswith(token + ' ') for s in seen):
            seen.append(item)
    more = len(seen) - limit
    return ', '.join(seen[:limit]) + (', and %d more' % more if more > 0 else '')


def apply_templates(text, templates, arch, name, warnings):
    """Substitute build-time template tokens (literal text) and drop C preprocessor lines; refuse what remains."""
    mapping = {}
    for key, value in templates.items():
        if not isinstance(key, str) or not key:
            raise InfError('templates: keys must be non-empty strings, got %r' % (key,))
        if value is None or isinstance(value, (dict, list, tuple)):
            raise InfError('templates: the value for %s must be a string' % key)
        mapping[key] = str(value)
    if '$ARCH$' not in mapping and arch:
        mapping['$ARCH$'] = arch
    present = [k for k in sorted(mapping, key=len, reverse=True) if k in text]
    if len(present) == 1:
        text = text.replace(present[0], mapping[present[0]])
    elif present:
        # one left-to-right pass, longest token first at each place (a replacement is never scanned again)
        pattern = re.compile('|'.join(re.escape(k) for k in present))
        text = pattern.sub(lambda m: mapping[m.group(0)], text)

    def drop(m):
        _warn(warnings, '%s: template line %r dropped (line %d); whatever it would add is missing'
              % (name, m.group(0).strip(), text.count('\n', 0, m.start()) + 1))
        return ''
    if '#' in text and _has_preprocessor_line(text):
        text = _PREPROC_RE.sub(drop, text)
    left = _template_markers(text)
    if left:
        raise InfError('%s: template tokens left after substitution: %s; add them to templates'
                       % (name, _describe_markers(left)))
    return text


# ---------------------------------------------------------------------------------------------------------
# Tokenizer

class Section(object):
    """One section, duplicates merged: ``lines`` are (key or None, [raw fields], line number, lower-case key).

    The lines of a section are split into fields the first time they are asked for: a reader touches a fraction of
    the sections of an INF (one Strings section of many, one platform's Models and install sections).
    """

    __slots__ = ('name', 'chunks', '_lines', '_first')

    def __init__(self, name):
        self.name = name
        self.chunks = []    # (body text, line number of its first line)
        self._lines = None
        self._first = None

    def first(self, key):
        """Fields of the first line whose lower-case key is ``key`` (what SetupFindFirstLine finds), or None."""
        if self._first is None:
            table = {}
            for line in self.lines:
                if line[3] is not None and line[3] not in table:
                    table[line[3]] = line[1]
            self._first = table
        return self._first.get(key)

    @property
    def lines(self):
        if self._lines is None:
            lines = []
            for body, first_line in self.chunks:
                lines.extend(_parse_body(body, first_line))
            self._lines = lines
            self.chunks = []
        return self._lines


def _strip_continuation(text):
    end = len(text)
    while end and (text[end - 1] == '\\' or text[end - 1].isspace()):
        end -= 1
    return text[:end]


# Quoted parts cannot span lines: an unterminated quote ends at the end of its line (Wine's QUOTES state).
_QUOTE_SPLIT_RE = re.compile(r'"([^"\n]*(?:""[^"\n]*)*)"?')
_CONTINUED_HEADER_RE = re.compile(r'\\[^\S\n]*(?:;[^\n]*)?\n[^\S\n]*\[')
_CONTENT_RE = re.compile(r'^[^\S\n]*[^;\s]', re.M)
_PLACEHOLDERS = ['\x00%d\x00' % n for n in range(4096)]


def _placeholder(number):
    return _PLACEHOLDERS[number] if number < 4096 else '\x00%d\x00' % number


def _restore(text, quotes):
    """Put the quoted parts back where _hide_quotes left ``NUL index NUL`` placeholders."""
    if text[0] == '\x00' and text[-1] == '\x00' and text.count('\x00') == 2:
        return quotes[int(text[1:-1])]
    parts = text.split('\x00')
    out = [parts[0]]
    for idx in range(1, len(parts) - 1, 2):
        out.append(quotes[int(parts[idx])])
        out.append(parts[idx + 1])
    return ''.join(out)


def _hide_quotes(body, first=0):
    """(body with each quoted part replaced by a placeholder numbered from ``first``, [quoted texts, "" made "])."""
    parts = _QUOTE_SPLIT_RE.split(body)
    quotes = parts[1::2]
    if '""' in body:
        quotes = [q.replace('""', '"') if '""' in q else q for q in quotes]
    count = len(quotes)
    if first == 0 and count <= len(_PLACEHOLDERS):
        parts[1::2] = _PLACEHOLDERS[:count]
    else:
        parts[1::2] = [_placeholder(first + n) for n in range(count)]
    return ''.join(parts), quotes


def _entry(content, lineno, quotes):
    """(key, fields, line, lower key) of one logical line without comment (Wine: a key only when "=" comes
    before the first comma; leading and trailing blanks of every field dropped)."""
    eq = content.find('=')
    comma = content.find(',')
    if eq >= 0 and (comma < 0 or eq < comma):
        key = content[:eq].strip()
        rest = content[eq + 1:]
    else:
        key = None
        rest = content
    fields = list(map(str.strip, rest.split(','))) if comma >= 0 else [rest.strip()]
    if quotes is not None:
        if key is not None and '\x00' in key:
            key = _restore(key, quotes)
        fields = [_restore(f, quotes) if '\x00' in f else f for f in fields]
    return (key, fields, lineno, key.lower() if key is not None else None)


def _parse_body(body, first_line):
    """Lines of one section body (the text between two section headers)."""
    quotes = None
    if '"' in body:
        body, quotes = _hide_quotes(body)
    out = []
    append = out.append
    strip = str.strip
    restore = _restore
    line = first_line - 1
    physical = iter(body.split('\n'))
    for raw in physical:
        line += 1
        s = raw.lstrip()
        if not s:
            continue
        semi = s.find(';')
        if semi == 0:
            continue
        # s starts with a non-blank that is not ";", so content is never empty here
        content = (s[:semi] if semi > 0 else s).rstrip()
        lineno = line
        if content[-1] == '\\':
            while content[-1:] == '\\':
                content = _strip_continuation(content)
                nxt = next(physical, None)
                if nxt is None:
                    break
                line += 1
                nxt = nxt.lstrip()
                semi = nxt.find(';')
                content += (nxt[:semi] if semi >= 0 else nxt).rstrip()
            if not content:
                continue
        eq = content.find('=')
        if eq >= 0 and content.find(',', 0, eq) < 0:
            key = content[:eq].strip()
            rest = content[eq + 1:]
        else:
            key = None
            rest = content
        fields = list(map(strip, rest.split(','))) if ',' in rest else [rest.strip()]
        if quotes is not None and '\x00' in content:
            if key is not None and '\x00' in key:
                key = restore(key, quotes)
            fields = [restore(f, quotes) if '\x00' in f else f for f in fields]
        append((key, fields, lineno, key.lower() if key is not None else None))
    return out


def _tokenize_exact(text, name, warnings):
    """Line-by-line tokenizer for the rare file where a continued line is followed by a "[" line, which is then
    a value and not a section header."""
    sections = {}
    current = None
    lines = text.replace('\x00', ' ').split('\n')
    count = len(lines)
    i = 0
    while i < count:
        s = lines[i].lstrip()
        i += 1
        if not s or s[0] == ';':
            continue
        lineno = i
        if s[0] == '[':
            end = s.find(']')
            if end < 0:
                raise InfError('%s line %d: section name has no closing "]"' % (name, lineno))
            sname = s[1:end].strip()
            if len(sname) > MAX_SECTION_NAME:
                raise InfError('%s line %d: section name longer than %d characters' % (name, lineno, MAX_SECTION_NAME))
            current = sections.get(sname.lower())
            if current is None:
                current = sections[sname.lower()] = Section(sname)
                current._lines = []
            continue
        quotes = []
        if '"' in s:
            s, quotes = _hide_quotes(s)
        semi = s.find(';')
        if semi >= 0:
            s = s[:semi]
        s = s.rstrip()
        while s.endswith('\\'):
            s = _strip_continuation(s)
            if i >= count:
                break
            nxt = lines[i].lstrip()
            i += 1
            if '"' in nxt:
                nxt, more = _hide_quotes(nxt, len(quotes))
                quotes = quotes + more
            semi = nxt.find(';')
            if semi >= 0:
                nxt = nxt[:semi]
            s += nxt.rstrip()
        if not s:
            continue
        if current is None:
            _warn(warnings, '%s: text before the first section header ignored (line %d)' % (name, lineno))
            continue
        current._lines.append(_entry(s, lineno, quotes or None))
    return sections


def tokenize(text, name='<inf>', warnings=None):
    """Sections of decoded INF text, by lower-case name, in file order (Wine's rules; see the module docstring).

    Section headers are found with one regular expression; each section's lines are split when first used.
    Quoted parts are swapped for ``NUL index NUL`` placeholders (decode_inf turned every NUL into a blank), so
    comments, commas, ``=`` and trailing backslashes are then found with plain string methods.
    """
    if warnings is None:
        warnings = []
    if '\x00' in text:
        text = text.replace('\x00', ' ')
    if '\\' in text and _CONTINUED_HEADER_RE.search(text):
        return _tokenize_exact(text, name, warnings)
    sections = {}
    current = None
    pos = 0
    line = 1
    find = text.find
    length = len(text)
    at = find('[')
    while at >= 0:
        # a "[" that is the first non-blank character of its line starts a section header
        start = text.rfind('\n', 0, at) + 1
        if start != at and not text[start:at].isspace():
            at = find('[', at + 1)
            continue
        eol = find('\n', at)
        if eol < 0:
            eol = length
        header_line = line + text.count('\n', pos, start)
        if current is not None:
            current.chunks.append((text[pos:start], line))
        elif _CONTENT_RE.search(text, 0, start):
            _warn(warnings, '%s: text before the first section header ignored' % name)
        rest = text[at + 1:eol]
        end = rest.find(']')
        if end < 0:
            raise InfError('%s line %d: section name has no closing "]"' % (name, header_line))
        sname = rest[:end].strip()
        if len(sname) > MAX_SECTION_NAME:
            raise InfError('%s line %d: section name longer than %d characters'
                           % (name, header_line, MAX_SECTION_NAME))
        current = sections.get(sname.lower())
        if current is None:
            current = sections[sname.lower()] = Section(sname)
        pos = eol + 1
        line = header_line + 1
        at = find('[', pos)
    if current is not None:
        if pos < len(text):
            current.chunks.append((text[pos:], line))
    elif _CONTENT_RE.search(text):
        _warn(warnings, '%s: text before the first section header ignored' % name)
    return sections


# ---------------------------------------------------------------------------------------------------------
# Parsed file

def _language_of(section_name):
    m = _STRINGS_SECTION_RE.match(section_name)
    if not m:
        return None
    return int(m.group(1), 16) if m.group(1) else -1


class InfFile(object):
    """One INF file, tokenized, with its Strings section chosen; nothing target-specific."""

    def __init__(self, data, name='<inf>', path=None, templates=None, arch=None, language=DEFAULT_LANGUAGE):
        self.name = name
        self.path = path
        self.warnings = []
        self.undefined = set()
        if len(data) > MAX_INF_SIZE:
            raise InfError('%s is larger than %d MB; not an INF file' % (name, MAX_INF_SIZE // (1024 * 1024)))
        text, self.encoding = decode_inf(data)
        self.template = None
        if templates is not None:
            if not isinstance(templates, dict):
                raise InfError('templates must be a mapping of template token to replacement text')
            markers = _template_markers(text)
            if markers:
                self.template = sorted(set(t for t, _line in markers))
            text = apply_templates(text, templates, arch, name, self.warnings)
        else:
            markers = _template_markers(text)
            if markers:
                raise InfError(
                    '%s is a driver source template, not a built INF: it uses %s. Build it (stampinf / the vendor '
                    'build) or pass templates to substitute the tokens, for example {"$ARCH$": "amd64"}'
                    % (name, _describe_markers(markers)))
        self.sections = tokenize(text, name, self.warnings)
        self.strings, self.strings_section = self._pick_strings(language)

    # sections ----------------------------------------------------------------------------------------
    def section(self, name):
        return self.sections.get(name.lower())

    def has_section(self, name):
        return name.lower() in self.sections

    def section_lines(self, name):
        sec = self.sections.get(name.lower())
        return sec.lines if sec is not None else []

    def first(self, section, key):
        """Fields of the first line of ``section`` whose key is ``key`` (case-insensitive), or None."""
        sec = self.sections.get(section.lower())
        return sec.first(key.lower()) if sec is not None else None

    def first_value(self, section, key):
        fields = self.first(section, key)
        if fields is None:
            return None
        return self.subst(fields[0]) if fields else ''

    # strings -----------------------------------------------------------------------------------------
    def _pick_strings(self, language):
        """Windows uses ONE Strings section (install/inf-strings-section.md): exact LANGID, the language-neutral
        one of the same primary language, any of the same primary language, else the undecorated [Strings]."""
        by_lang = {}
        for key, sec in self.sections.items():
            if not key.startswith('strings'):
                continue
            lang = _language_of(sec.name)
            if lang is not None and lang not in by_lang:
                by_lang[lang] = sec
        chosen = None
        if language is not None:
            primary = language & 0x3FF
            chosen = by_lang.get(language) or by_lang.get(primary)
            if chosen is None:
                same = sorted(lang for lang in by_lang if lang >= 0 and lang & 0x3FF == primary)
                if same:
                    chosen = by_lang[same[0]]
        if chosen is None:
            chosen = by_lang.get(-1)
        strings = {}
        if chosen is not None:
            for key, fields, _lineno, lkey in chosen.lines:
                if lkey is not None and lkey not in strings:
                    strings[lkey] = fields[0] if fields else ''
        return strings, (chosen.name if chosen is not None else None)

    def subst(self, text):
        """``%strkey%`` from the chosen Strings section, ``%%`` -> ``%``, ``%N%`` DIRIDs and unknown tokens kept."""
        if '%' not in text:
            return text
        strings = self.strings

        def repl(m):
            token = m.group(1)
            if not token:
                return '%'
            value = strings.get(token.lower())
            if value is not None:
                return value
            if not _DIRID_TOKEN_RE.match(token):
                self.undefined.add(token)
            return m.group(0)
        return _SUBST_RE.sub(repl, text)


# ---------------------------------------------------------------------------------------------------------
# File names

def check_file_name(name, what, allow_subdirs=True, allow_root=False):
    """Reject a file or folder name that would leave the package or the destination folder.

    Refused: ``..`` components, absolute paths (``\\x``, ``/x``), drive letters and streams (``:``), UNC paths,
    device names (CON, NUL, COM1...), wildcard and control characters. Returns the relative parts.
    """
    if _SIMPLE_NAME_RE.match(name) and name.split('.', 1)[0].rstrip(' ').upper() not in _DEVICE_NAMES:
        return [name]
    text = name.replace('/', '\\')
    why = None
    if text.startswith('\\\\'):
        why = 'is a UNC path'
    elif ':' in text:
        why = 'has a drive letter or stream name (":")'
    elif _BAD_NAME_CHARS.search(text):
        why = 'contains characters Windows does not allow in file names'
    elif text.startswith('\\') and not allow_root:
        why = 'is an absolute path'
    else:
        parts = [p for p in text.split('\\') if p not in ('', '.')]
        if not allow_subdirs and len(parts) > 1:
            why = 'names a sub-folder'
        for part in parts:
            if part.strip(' .') == '' and part:
                why = 'has a ".." component' if '..' in part else 'has a component made of dots and blanks'
                break
            base = part.split('.')[0].rstrip(' ').upper()
            if base in _DEVICE_NAMES:
                why = 'is the Windows device name %s' % base
                break
        if why is None:
            return parts
    raise InfError('%s %r %s; refusing a path that leaves the package or the target folder' % (what, name, why))


class _DirCache(object):
    """Case-insensitive file lookup (Windows file names are case-insensitive, the package may sit on ext4)."""

    def __init__(self):
        self._listing = {}

    def _names(self, folder):
        """{lower-case name: (name, is a folder, is a file)} of a folder, read once."""
        table = self._listing.get(folder)
        if table is None:
            table = {}
            try:
                for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                    try:
                        kind = (entry.is_dir(), entry.is_file())
                    except OSError:
                        kind = (False, False)
                    table.setdefault(entry.name.lower(), (entry.name,) + kind)
            except (OSError, ValueError, UnicodeError):
                pass
            self._listing[folder] = table
        return table

    def find(self, base, parts):
        """Actual path of the file base/parts... matched case-insensitively, or None."""
        if not parts:
            return None
        exact = os.path.join(base, *parts)
        if os.path.isfile(exact):       # the common case costs one stat, no folder listing
            return exact
        here = base
        last = len(parts) - 1
        for idx, part in enumerate(parts):
            found = self._names(here).get(part.lower())
            if found is None or not found[2 if idx == last else 1]:
                return None
            here = os.path.join(here, found[0])
        return here if parts else None


# ---------------------------------------------------------------------------------------------------------
# Registry lines

class RegEntry(object):
    """One AddReg/DelReg line: ``op`` is set, keyonly or delete; ``value`` a registry.Value for set."""

    __slots__ = ('root', 'subkey', 'op', 'value', 'name', 'flags', 'section', 'line', 'origin')

    def __init__(self, root, subkey, op, value, name, flags, section, line, origin):
        self.root = root
        self.subkey = subkey
        self.op = op
        self.value = value
        self.name = name
        self.flags = flags
        self.section = section
        self.line = line
        self.origin = origin

    @property
    def noclobber(self):
        return bool(self.flags & FLG_ADDREG_NOCLOBBER)

    @property
    def append(self):
        return bool(self.flags & FLG_ADDREG_APPEND)

    def as_dict(self):
        out = {'root': self.root, 'key': '\\'.join(self.subkey), 'op': self.op, 'name': self.name,
               'flags': '0x%08x' % (self.flags & 0xFFFFFFFF), 'section': self.section, 'line': self.line}
        if self.value is not None:
            shown = self.value.display()
            out['type'] = shown['type']
            out['data'] = shown['data']
        if self.origin:
            out['origin'] = self.origin
        return out


def _hex_bytes(fields):
    """Bytes of binary AddReg data: hex fields (``0x`` allowed); an empty inner field is 0 (Wine's strtoul), trailing
    empty fields are absent."""
    fields = list(fields)
    while fields and not fields[-1].strip():
        fields.pop()
    out = bytearray()
    for field in fields:
        text = field.strip() or '0'
        if text[:2] in ('0x', '0X'):
            text = text[2:]
        if not text or len(text) > 8 or not all(c in '0123456789abcdefABCDEF' for c in text):
            return None
        number = int(text, 16)
        if number > 0xFF:
            return None
        out.append(number)
    return bytes(out)


# ---------------------------------------------------------------------------------------------------------
# What a driver package holds for one target

class Device(object):
    """One Models line that applies to the target."""

    __slots__ = ('description', 'hardware_id', 'compatible_ids', 'install', 'manufacturer', 'models_section',
                 'line', 'driver')

    def __init__(self, description, hardware_id, compatible_ids, install, manufacturer, models_section, line, driver):
        self.description = description
        self.hardware_id = hardware_id
        self.compatible_ids = compatible_ids
        self.install = install
        self.manufacturer = manufacturer
        self.models_section = models_section
        self.line = line
        self.driver = driver

    @property
    def install_info(self):
        return self.driver.installs.get(self.install.lower())

    @property
    def ids(self):
        return ([self.hardware_id] if self.hardware_id else []) + list(self.compatible_ids)

    def as_dict(self):
        inst = self.install_info
        return {'description': self.description, 'hardware_id': self.hardware_id or None,
                'compatible_ids': list(self.compatible_ids), 'install_section': self.install,
                'install_section_resolved': inst.actual if inst is not None else None,
                'service': inst.assoc_service if inst is not None else None,
                'manufacturer': self.manufacturer, 'models_section': self.models_section, 'line': self.line}


class FileEntry(object):
    """One file a CopyFiles directive copies."""

    __slots__ = ('name', 'source', 'copy_list', 'dirid', 'subdir', 'flags', 'source_parts', 'source_path',
                 'present', 'found_at', 'origin', 'role', 'target')

    def __init__(self, name, source, copy_list, dirid, subdir, flags, origin, role):
        self.name = name
        self.source = source
        self.copy_list = copy_list
        self.dirid = dirid
        self.subdir = subdir
        self.flags = flags
        self.origin = origin
        self.role = role
        self.source_parts = None
        self.source_path = None
        self.present = None
        self.found_at = None
        self.target = None

    def as_dict(self):
        return {'name': self.name, 'source': '/'.join(self.source_parts) if self.source_parts else self.source,
                'source_path': self.source_path, 'present': self.present, 'found_at': self.found_at,
                'dirid': self.dirid, 'subdir': self.subdir, 'target': self.target, 'copy_list': self.copy_list,
                'flags': self.flags, 'origin': self.origin, 'role': self.role}


class Service(object):
    """One AddService line with what its service-install section says."""

    def __init__(self, name, flags_raw, flags, install, event_log, event_log_type, event_name, origin, line):
        self.name = name
        self.flags_raw = flags_raw
        self.flags = flags
        self.install = install
        self.event_log = event_log
        self.event_log_type = event_log_type
        self.event_name = event_name
        self.origin = origin
        self.line = line
        self.fields = {}        # canonical name -> substituted text (first line wins, like SetupFindFirstLine)
        self.dependencies = []
        self.addreg = []        # RegEntry, HKR = Services\<name>
        self.event_log_refs = []    # (InfFile, section) of the event-log AddReg, read when asked for
        self._event_log_addreg = None
        self._owner = None
        self.missing = []
        self.image_path = None
        self.binary_dirid = None
        self.binary_file = None
        self.kmdf_library_version = None

    @property
    def assoc(self):
        return bool(self.flags & SPSVCINST_ASSOCSERVICE)

    @property
    def event_log_addreg(self):
        """RegEntry list of the event-log install section (HKR = Services\\EventLog\\<type>\\<name>)."""
        if self._event_log_addreg is None:
            entries = []
            for ctx, name in self.event_log_refs:
                entries.extend(self._owner._reg_section(ctx, name, False, self.origin))
            self._event_log_addreg = entries
        return self._event_log_addreg

    def number(self, field):
        return parse_int(self.fields.get(field))

    def as_dict(self):
        out = {
            'name': self.name, 'flags': self.flags, 'flags_raw': self.flags_raw, 'assoc': self.assoc,
            'install_section': self.install, 'service_type': self.number('ServiceType'),
            'start_type': self.number('StartType'), 'error_control': self.number('ErrorControl'),
            'load_order_group': self.fields.get('LoadOrderGroup'), 'display_name': self.fields.get('DisplayName'),
            'description': self.fields.get('Description'), 'service_binary': self.fields.get('ServiceBinary'),
            'image_path': self.image_path, 'binary_dirid': self.binary_dirid, 'binary_file': self.binary_file,
            'dependencies': list(self.dependencies), 'fields': dict(self.fields), 'missing': list(self.missing),
            'registry': [e.as_dict() for e in self.addreg],
            'event_log': ({'section': self.event_log, 'log': self.event_log_type, 'name': self.event_name,
                           'registry': [e.as_dict() for e in self.event_log_addreg]} if self.event_log else None),
            'kmdf_library_version': self.kmdf_library_version, 'origin': self.origin, 'line': self.line,
        }
        return out


class Install(object):
    """A DDInstall section as named by Models lines, resolved for the platform, with what it installs."""

    def __init__(self, named):
        self.named = named
        self.actual = None
        self.suffix = None
        self.services = []
        self.files = []
        self.reg_refs = {'driver': [], 'hw': [], 'coinstallers': []}   # (InfFile, section, delete, origin)
        self._regs = {}
        self._owner = None
        self.directives = {}
        self.feature_score = DEFAULT_FEATURE_SCORE
        self.driver_ver = None
        self.driver_ver_key = None
        self.unresolved = []
        self.kmdf = []
        self.sections = []

    def registry(self, where):
        """RegEntry list of the AddReg/DelReg sections of a role, built the first time it is asked for."""
        entries = self._regs.get(where)
        if entries is None:
            entries = []
            for ctx, name, delete, origin in self.reg_refs[where]:
                entries.extend(self._owner._reg_section(ctx, name, delete, origin))
            self._regs[where] = entries
        return entries

    @property
    def driver_addreg(self):
        """HKR = the device's driver (software) key."""
        return self.registry('driver')

    @property
    def hw_addreg(self):
        """HKR = the device's hardware key (Device Parameters)."""
        return self.registry('hw')

    @property
    def coinstaller_addreg(self):
        return self.registry('coinstallers')

    @property
    def assoc_services(self):
        return [s for s in self.services if s.assoc]

    @property
    def assoc_service(self):
        found = self.assoc_services
        return found[0].name if found else None

    def as_dict(self):
        return {'named': self.named, 'resolved': self.actual, 'suffix': self.suffix, 'sections': list(self.sections),
                'services': [s.name for s in self.services], 'service': self.assoc_service,
                'feature_score': self.feature_score, 'driver_ver': self.driver_ver,
                'files': [f.as_dict() for f in self.files],
                'driver_registry': self.registry_names('driver'),
                'hardware_registry': self.registry_names('hw'),
                'coinstaller_registry': self.registry_names('coinstallers'),
                'directives': dict(self.directives), 'unresolved': list(self.unresolved)}

    def registry_names(self, where):
        """Names of the AddReg/DelReg sections of a role, as keys of the driver's ``registry_sections``."""
        return [_registry_key(ctx, name, delete, origin) for ctx, name, delete, origin in self.reg_refs[where]]


def _registry_key(ctx, name, delete, origin):
    section = ctx.section(name)
    key = section.name if section is not None else name
    if origin:
        key = '%s:%s' % (origin, key)
    return key + (' (DelReg)' if delete else '')


def parse_driver_ver(fields):
    """{'date': 'YYYY-MM-DD' or None, 'version': 'a.b.c.d' or None} and a sort key (date, version)."""
    date = version = None
    date_key, version_key = (0, 0, 0), (0, 0, 0, 0)
    if fields:
        m = _DRIVERVER_DATE_RE.match(fields[0])
        if m:
            month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if 1 <= month <= 12 and 1 <= day <= 31:
                date = '%04d-%02d-%02d' % (year, month, day)
                date_key = (year, month, day)
        if len(fields) > 1 and fields[1].strip():
            parts = [p.strip() for p in fields[1].strip().split('.')]
            if 1 <= len(parts) <= 4 and all(p.isdigit() and p.isascii() for p in parts):
                version = fields[1].strip()
                numbers = [int(p) for p in parts] + [0] * (4 - len(parts))
                version_key = tuple(numbers)
    return {'date': date, 'version': version}, (date_key, version_key)


class _Decoration(object):
    __slots__ = ('text', 'arch', 'major', 'minor', 'product_type', 'suite', 'build')

    def __init__(self, text, arch, major, minor, product_type, suite, build):
        self.text = text
        self.arch = arch
        self.major = major
        self.minor = minor
        self.product_type = product_type
        self.suite = suite
        self.build = build

    def sort_key(self, target):
        version = (self.major or 0, self.minor or 0)
        build = self.build or 0 if version == (target.major, target.minor) else 0
        specific = (1 if self.product_type else 0) + (1 if self.suite else 0)
        return (version, build, specific, 1 if self.arch else 0)


def parse_decoration(text):
    """TargetOSVersion ``NT[arch][.major[.minor[.ProductType[.SuiteMask[.Build]]]]]`` or None if malformed."""
    m = _DECORATION_RE.match(text.strip())
    if not m:
        return None
    arch = m.group(1).lower() if m.group(1) else None
    numbers = [None] * 5
    if m.group(2) is not None:
        parts = m.group(2).split('.')
        if len(parts) > 5:
            return None
        for idx, part in enumerate(parts):
            if part.strip() == '':
                continue
            value = parse_int(part)
            if value is None or value < 0:
                return None
            numbers[idx] = value
    major, minor, ptype, suite, build = numbers
    return _Decoration(text.strip(), arch, major, minor, ptype or None, suite or None, build)


class InfDriver(object):
    """What one INF installs on one target: chosen Models sections, devices, install sections, services, files."""

    def __init__(self, inf, target, lenient=False, package_dir=None, system_inf_dir=None, dir_cache=None):
        self.inf = inf
        self.target = target
        self.lenient = bool(lenient)
        self.path = inf.path
        self.name = inf.name
        self.package_dir = package_dir
        self.system_inf_dir = system_inf_dir
        self._dirs = dir_cache or _DirCache()
        self.warnings = list(inf.warnings)
        self.valid = True
        self.manufacturers = []
        self.devices = []
        self.installs = {}
        self.services = []
        self._service_cache = {}
        self._reg_cache = {}
        self._copy_cache = {}
        self._included = {}
        self.unresolved = []
        self._read()

    # helpers ------------------------------------------------------------------------------------------
    def warn(self, message):
        _warn(self.warnings, message)

    def _where(self, section, line):
        return '%s [%s] line %d' % (self.name, section, line)

    # [Version] ----------------------------------------------------------------------------------------
    def _read_version(self):
        inf = self.inf
        if not inf.has_section('Version'):
            self.valid = False
            self.warn('%s: no [Version] section; Windows does not accept this INF' % self.name)
        signature = inf.first_value('Version', 'Signature')
        self.signature = signature
        if signature is None or signature.strip().lower() not in ('$windows nt$', '$chicago$', '$windows 95$'):
            self.valid = False
            self.warn('%s: Signature %r is not "$Windows NT$" or "$Chicago$"; Windows does not accept this INF'
                      % (self.name, signature))
        self.class_name = inf.first_value('Version', 'Class')
        self.class_guid = inf.first_value('Version', 'ClassGUID')
        self.provider = inf.first_value('Version', 'Provider')
        arch = self.target.arch
        catalog = None
        for key in ('CatalogFile.NT' + arch, 'CatalogFile.NT', 'CatalogFile'):
            catalog = inf.first_value('Version', key)
            if catalog is not None:
                break
        self.catalog_file = catalog
        fields = inf.first('Version', 'DriverVer')
        self.driver_ver, self.driver_ver_key = parse_driver_ver([inf.subst(f) for f in fields] if fields else None)
        if fields is not None and self.driver_ver['date'] is None:
            self.warn('%s: DriverVer %r has no valid mm/dd/yyyy date' % (self.name, ','.join(fields)))
        self.extension = (self.class_name or '').lower() == 'extension'

    # [Manufacturer] / Models ---------------------------------------------------------------------------
    def _applies(self, dec):
        """(applies, reason) of a parsed decoration for the target (install/inf-manufacturer-section.md)."""
        target = self.target
        if dec.arch is not None:
            if dec.arch != target.arch:
                return False, 'for %s' % dec.arch
        elif target.arch != 'x86' and not self.lenient:
            return False, 'no architecture, so x86 only since Server 2003 SP1'
        if dec.major is not None:
            version = (dec.major, dec.minor or 0)
            mine = (target.major, target.minor)
            if version > mine:
                return False, 'for Windows %d.%d and later' % version
            if version == mine and dec.build is not None:
                if target.build is None:
                    return False, 'needs build %d and the target build is unknown' % dec.build
                if target.build < dec.build:
                    return False, 'for build %d and later' % dec.build
        if dec.product_type is not None:
            if target.product_type is None:
                return False, 'for product type %d and the target product type is unknown' % dec.product_type
            if dec.product_type != target.product_type:
                return False, 'for product type %s' % PRODUCT_TYPES.get(dec.product_type, dec.product_type)
        if dec.suite is not None:
            return False, 'for suite mask 0x%x (suites are not modelled: taken as not matching)' % dec.suite
        return True, 'applies'

    def _select_models(self):
        inf = self.inf
        lines = inf.section_lines('Manufacturer')
        if not inf.has_section('Manufacturer'):
            self.warn('%s: no [Manufacturer] section; not a device INF (no hardware IDs)' % self.name)
        for key, fields, lineno, _lkey in lines:
            values = [inf.subst(f).strip() for f in fields]
            base = values[0] if values else ''
            manufacturer = inf.subst(key).strip() if key is not None else base
            entry = {'manufacturer': manufacturer, 'models_section': base, 'decorations': [d for d in values[1:] if d],
                     'chosen': None, 'reason': None, 'line': lineno, 'lines': 0}
            self.manufacturers.append(entry)
            if not base:
                entry['reason'] = 'no Models section name'
                self.warn('%s: [Manufacturer] line %d names no Models section' % (self.name, lineno))
                continue
            best = None
            rejected = []
            for text in entry['decorations']:
                dec = parse_decoration(text)
                if dec is None:
                    rejected.append('%s: not a TargetOSVersion' % text)
                    self.warn('%s: [Manufacturer] line %d: %r is not a valid TargetOSVersion decoration'
                              % (self.name, lineno, text))
                    continue
                ok, why = self._applies(dec)
                if not ok:
                    rejected.append('%s: %s' % (text, why))
                    if 'unknown' in why:
                        self.warn('%s: Models decoration %s skipped: %s; give the full build / product type'
                                  % (self.name, text, why))
                    continue
                if best is None or dec.sort_key(self.target) > best.sort_key(self.target):
                    best = dec
            if best is not None:
                chosen = base + '.' + best.text
                entry['reason'] = 'decoration %s is the closest that applies' % best.text
            elif self.target.arch == 'x86' or self.lenient:
                chosen = base
                entry['reason'] = ('no decoration applies; the undecorated section is used'
                                   + (' (lenient)' if self.target.arch != 'x86' else ''))
            else:
                chosen = None
                entry['reason'] = ('no decoration applies to %s%s; undecorated Models sections are x86-only '
                                   '(set lenient to accept them)'
                                   % (self.target.describe(), (' (' + '; '.join(rejected) + ')') if rejected else ''))
            if rejected:
                entry['rejected'] = rejected
            if chosen is None:
                continue
            section = inf.section(chosen)
            entry['chosen'] = section.name if section is not None else chosen
            if section is None:
                entry['reason'] += '; but section [%s] does not exist' % chosen
                self.warn('%s: Models section [%s] does not exist' % (self.name, chosen))
                continue
            entry['lines'] = len(section.lines)
            if not section.lines:
                entry['reason'] += '; the section is empty, which blocks this OS'
                continue
            for lkey_line in section.lines:
                self._model_line(lkey_line, manufacturer, section.name)

    def _model_line(self, line, manufacturer, section):
        key, fields, lineno, _lkey = line
        inf = self.inf
        description = inf.subst(key).strip() if key is not None else ''
        values = [inf.subst(f).strip() for f in fields]
        install = values[0] if values else ''
        hardware_id = values[1] if len(values) > 1 else ''
        compatible = [v for v in values[2:] if v]
        if not hardware_id and not compatible:
            self.warn('%s: no hardware or compatible ID' % self._where(section, lineno))
            return
        if not install:
            self.warn('%s: no install section' % self._where(section, lineno))
            return
        self.devices.append(Device(description, hardware_id, compatible, install, manufacturer, section, lineno, self))

    # install sections -----------------------------------------------------------------------------------
    def _resolve_install(self, ctx, named):
        for suffix in ('.nt' + self.target.arch, '.nt', ''):
            section = ctx.section(named + suffix)
            if section is not None:
                return section.name, section.name[len(named):]
        return None, None

    def _install(self, named):
        key = named.lower()
        if key in self.installs:
            return self.installs[key]
        inst = Install(named)
        inst._owner = self
        self.installs[key] = inst
        actual, suffix = self._resolve_install(self.inf, named)
        if actual is None:
            self.warn('%s: install section [%s] (or .NT%s / .NT) does not exist' % (self.name, named, self.target.arch))
            return inst
        inst.actual, inst.suffix = actual, suffix
        self._walk(self.inf, actual, 'ddinstall', inst, None, 0)
        for ext, role in (('.Services', 'services'), ('.HW', 'hw'), ('.CoInstallers', 'coinstallers'),
                          ('.Wdf', 'wdf')):
            if self.inf.has_section(actual + ext):
                self._walk(self.inf, actual + ext, role, inst, None, 0)
        for svc in inst.services:
            for kmdf_service, version in inst.kmdf:
                if svc.name.lower() == kmdf_service.lower():
                    svc.kmdf_library_version = version
        if len(inst.assoc_services) > 1:
            self.warn('%s: install section [%s] flags several services as the function driver (0x2): %s'
                      % (self.name, actual, ', '.join(s.name for s in inst.assoc_services)))
        return inst

    def _walk(self, ctx, section_name, role, inst, origin, depth):
        section = ctx.section(section_name)
        if section is None:
            return
        inst.sections.append(section.name if origin is None else '%s:%s' % (origin, section.name))
        includes, needs = [], []
        for key, fields, lineno, lkey in section.lines:
            if lkey is None:
                continue
            if lkey == 'copyfiles' and role in ('ddinstall', 'coinstallers'):
                for field in fields:
                    self._copy_files(ctx, field, inst, origin, role, section.name, lineno)
            elif lkey in ('addreg', 'delreg'):
                where = _REG_ROLES.get(role)
                if where is None:
                    continue
                for field in fields:
                    name = ctx.subst(field).strip()
                    if name:
                        inst.reg_refs[where].append((ctx, name, lkey == 'delreg', origin))
            elif lkey == 'addservice' and role == 'services':
                self._add_service(ctx, fields, inst, origin, section.name, lineno)
            elif lkey == 'include':
                includes.extend(v for v in (ctx.subst(f).strip() for f in fields) if v)
            elif lkey == 'needs':
                needs.extend(v for v in (ctx.subst(f).strip() for f in fields) if v)
            elif lkey == 'featurescore' and role == 'ddinstall' and origin is None:
                score = parse_int(ctx.subst(fields[0])) if fields else None
                if score is None or not 0 <= score <= 0xFF:
                    self.warn('%s: FeatureScore is not a byte' % self._where(section.name, lineno))
                else:
                    inst.feature_score = score
            elif lkey == 'driverver' and role == 'ddinstall' and origin is None:
                inst.driver_ver, inst.driver_ver_key = parse_driver_ver([ctx.subst(f) for f in fields])
            elif lkey == 'kmdfservice' and role == 'wdf':
                values = [ctx.subst(f).strip() for f in fields]
                if len(values) >= 2 and values[0]:
                    inst.kmdf.append((values[0], ctx.first_value(values[1], 'KmdfLibraryVersion')))
            elif role == 'ddinstall' and origin is None and lkey in NETWORK_DIRECTIVES:
                inst.directives[NETWORK_DIRECTIVES[lkey]] = ctx.subst(fields[0]).strip() if fields else ''
        if includes or needs:
            self._needs(ctx, includes, needs, role, inst, depth, section.name)

    def _included_inf(self, name):
        key = name.lower()
        if key in self._included:
            return self._included[key]
        found = None
        try:
            parts = check_file_name(name, 'Include file', allow_subdirs=False)
        except InfError as exc:
            self.warn(str(exc))
            parts = None
        if parts and self.system_inf_dir:
            path = self._dirs.find(self.system_inf_dir, parts)
            if path is not None:
                try:
                    with open(path, 'rb') as handle:
                        data = handle.read(MAX_INF_SIZE + 1)
                    found = InfFile(data, os.path.basename(path), path)
                except (IOError, OSError) as exc:
                    self.warn('cannot read included INF %s: %s' % (path, exc))
                except InfError as exc:
                    self.warn('included INF %s: %s' % (name, exc))
        self._included[key] = found
        return found

    def _needs(self, ctx, includes, needs, role, inst, depth, section_name):
        loaded = [inc for inc in (self._included_inf(n) for n in includes) if inc is not None]
        missing_incs = [n for n in includes if self._included.get(n.lower()) is None]
        unresolved = []
        for need in needs:
            done = False
            for inc in loaded + [ctx]:
                if inc.has_section(need):
                    if depth >= MAX_INCLUDE_DEPTH:
                        self.warn('%s: Include/Needs nested deeper than %d; [%s] skipped'
                                  % (self.name, MAX_INCLUDE_DEPTH, need))
                    elif not (inc is ctx and need.lower() == section_name.lower()):
                        self._walk(inc, need, role, inst, inc.name if inc is not self.inf else None, depth + 1)
                    done = True
                    break
            if not done:
                unresolved.append(need)
        if unresolved or missing_incs:
            record = {'section': section_name, 'include': list(includes), 'needs': unresolved,
                      'reason': ('the target\'s INF folder was not given' if not self.system_inf_dir
                                 else 'not found in %s' % self.system_inf_dir)}
            inst.unresolved.append(record)
            if record not in self.unresolved:
                self.unresolved.append(record)

    # CopyFiles ---------------------------------------------------------------------------------------------
    def _destination(self, ctx, copy_list):
        """(dirid, subdir, from) for a file list (install/inf-destinationdirs-section.md)."""
        fields = ctx.first('DestinationDirs', copy_list) if copy_list else None
        how = copy_list
        if fields is None:
            fields = ctx.first('DestinationDirs', 'DefaultDestDir')
            how = 'DefaultDestDir'
        if fields is None:
            self.warn('%s: no DestinationDirs entry for %s and no DefaultDestDir; Wine uses DIRID 11 (System32)'
                      % (ctx.name, copy_list or '@file'))
            return 11, '', 'default'
        raw = ctx.subst(fields[0]).strip() if fields else ''
        dirid = parse_int(raw)
        if dirid is None:
            dirid = raw
            self.warn('%s: DestinationDirs %s = %r is not a DIRID number (a build-time placeholder?); pass templates, '
                      'for example {"%s": "12"}' % (ctx.name, how, raw, raw or 'DIRID'))
        elif dirid in DIRID_ABSOLUTE:
            raise InfError('%s: DestinationDirs %s uses DIRID %d (an absolute path); refusing a destination outside '
                           'the target Windows folders' % (ctx.name, how, dirid))
        subdir = ctx.subst(fields[1]).strip() if len(fields) > 1 else ''
        if subdir:
            subdir = '\\'.join(check_file_name(subdir, '%s: DestinationDirs %s sub-folder' % (ctx.name, how)))
        return dirid, subdir, how

    def _copy_files(self, ctx, field, inst, origin, role, section, lineno):
        value = ctx.subst(field).strip()
        if not value:
            return
        key = (id(ctx), value.lower(), origin, role)
        files = self._copy_cache.get(key)
        if files is None:
            files = self._copy_cache[key] = self._copy_list(ctx, value, origin, role, section, lineno)
        for entry in files:
            dup = [f for f in inst.files if (f.name.lower(), f.dirid, f.subdir.lower(), f.origin) ==
                   (entry.name.lower(), entry.dirid, entry.subdir.lower(), origin)]
            if not dup:
                inst.files.append(entry)

    def _copy_list(self, ctx, value, origin, role, section, lineno):
        """FileEntry list of one CopyFiles value (``@file`` or a file-list section), checked and located."""
        entries = []
        if value.startswith('@'):
            name = value[1:].strip()
            if not name:
                return []
            entries.append((name, name, 0, section, lineno))
            dirid, subdir, _how = self._destination(ctx, None)
            copy_list = None
        else:
            copy_list = value
            listed = ctx.section(value)
            if listed is None:
                self.warn('%s: CopyFiles section [%s] does not exist' % (self._where(section, lineno), value))
                return []
            for key, fields, line, _lkey in listed.lines:
                values = [ctx.subst(f).strip() for f in fields]
                if key is not None and not values[0]:
                    values[0] = ctx.subst(key).strip()
                dest = values[0] if values else ''
                if not dest:
                    continue
                source = values[1] if len(values) > 1 and values[1] else dest
                flags = parse_int(values[3]) if len(values) > 3 and values[3] else 0
                entries.append((dest, source, flags or 0, listed.name, line))
            dirid, subdir, _how = self._destination(ctx, copy_list)
        out = []
        for dest, source, flags, where, line in entries:
            what = '%s: CopyFiles' % self._where(where, line)
            check_file_name(dest, what + ' file name')
            check_file_name(source, what + ' source file name')
            entry = FileEntry(dest, source, copy_list, dirid, subdir, flags, origin, role)
            entry.target = self._target_path(dirid, subdir, dest)
            if origin is None:
                self._locate_source(ctx, entry)
            out.append(entry)
        return out

    def _target_path(self, dirid, subdir, name):
        if isinstance(dirid, int) and dirid in DIRID_PATHS:
            base = DIRID_PATHS[dirid]
        elif dirid == DIRID_DRIVER_STORE:
            base = 'System32\\DriverStore\\FileRepository\\%s_%s_<hash>' % (self.name.lower(), self.target.arch)
        else:
            return None
        return '\\'.join(p for p in (base, subdir, name) if p)

    def _locate_source(self, ctx, entry):
        """Where the file is in the package (SourceDisksFiles / SourceDisksNames) and whether it is there."""
        arch = self.target.arch
        disk = subdir = None
        for sec in ('SourceDisksFiles.' + arch, 'SourceDisksFiles'):
            fields = ctx.first(sec, entry.source)
            if fields is not None:
                disk = ctx.subst(fields[0]).strip() if fields else ''
                subdir = ctx.subst(fields[1]).strip() if len(fields) > 1 else ''
                break
        parts = []
        if disk is not None:
            path = None
            for sec in ('SourceDisksNames.' + arch, 'SourceDisksNames'):
                dfields = ctx.first(sec, disk)
                if dfields is None and parse_int(disk) is not None:
                    # disk IDs are numbers (Wine compares them with SetupGetIntField): "01" is disk 1
                    for key, line_fields, _line, _lkey in ctx.section_lines(sec):
                        if key is not None and parse_int(ctx.subst(key)) == parse_int(disk):
                            dfields = line_fields
                            break
                if dfields is not None:
                    path = ctx.subst(dfields[3]).strip() if len(dfields) > 3 else ''
                    break
            if path is None:
                self.warn('%s: source disk %r of %s is not listed in SourceDisksNames' % (ctx.name, disk, entry.source))
            if path:
                parts += check_file_name(path, '%s: SourceDisksNames path' % ctx.name, allow_root=True)
            if subdir:
                parts += check_file_name(subdir, '%s: SourceDisksFiles sub-folder' % ctx.name)
        elif not ctx.first_value('Version', 'LayoutFile'):
            self.warn('%s: %s is not listed in SourceDisksFiles' % (ctx.name, entry.source))
        parts += check_file_name(entry.source, '%s: source file name' % ctx.name)
        entry.source_parts = parts
        if self.package_dir is None:
            return
        found = self._dirs.find(self.package_dir, parts)
        entry.present = found is not None
        entry.source_path = found or os.path.join(self.package_dir, *parts)
        if found is not None:
            return
        beside = self._dirs.find(self.package_dir, parts[-1:]) if len(parts) > 1 else None
        if beside is not None:
            entry.found_at = beside
            self.warn('%s: %s is not where SourceDisksNames/SourceDisksFiles put it (%s) but next to the INF'
                      % (ctx.name, entry.source, '/'.join(parts)))
        else:
            self.warn('%s: %s is not in the package (%s)' % (ctx.name, entry.source, '/'.join(parts)))

    # AddReg -------------------------------------------------------------------------------------------------
    def _reg_section(self, ctx, name, delete, origin):
        key = (id(ctx), name.lower(), delete, origin)
        cached = self._reg_cache.get(key)
        if cached is None:
            cached = self._reg_cache[key] = self._read_reg_section(ctx, name, delete, origin)
        return cached

    def _read_reg_section(self, ctx, name, delete, origin):
        section = ctx.section(name)
        if section is None:
            self.warn('%s: registry section [%s] does not exist' % (ctx.name, name))
            return []
        out = []
        for key, fields, lineno, _lkey in section.lines:
            if key is not None:
                self.warn('%s: not an AddReg/DelReg line (it has "=")' % self._where(section.name, lineno))
                continue
            entry = self._reg_line(ctx, fields, delete, section.name, lineno, origin)
            if entry is not None:
                out.append(entry)
        return out

    def _reg_line(self, ctx, fields, delete, section, lineno, origin):
        subst = ctx.subst
        values = [subst(f) if '%' in f else f for f in fields]
        count = len(values)
        root = values[0].strip().upper()
        if root not in _REG_ROOTS:
            self.warn('%s: unknown registry root %r; line ignored' % (self._where(section, lineno), values[0]))
            return None
        subkey_text = values[1].strip() if count > 1 else ''
        subkey = tuple(p for p in subkey_text.split('\\') if p.strip()) if subkey_text else ()
        name = values[2].strip() if count > 2 else ''
        flags_text = values[3].strip() if count > 3 else ''
        flags = parse_int(flags_text) if flags_text else 0
        if flags is None:
            self.warn('%s: flags %r are not a number; line ignored' % (self._where(section, lineno), flags_text))
            return None
        flags &= 0xFFFFFFFF
        if delete:
            return RegEntry(root, subkey, 'delete', None, name if count > 2 else None, flags, section, lineno, origin)
        if flags & (FLG_ADDREG_DELREG_BIT | FLG_ADDREG_KEYONLY | FLG_ADDREG_KEYONLY_COMMON | FLG_ADDREG_DELVAL):
            if flags & FLG_ADDREG_DELREG_BIT:
                return None
            if flags & (FLG_ADDREG_KEYONLY | FLG_ADDREG_KEYONLY_COMMON):
                return RegEntry(root, subkey, 'keyonly', None, None, flags, section, lineno, origin)
            return RegEntry(root, subkey, 'delete', None, name, flags, section, lineno, origin)
        data = values[4:]
        kind = flags & _ADDREG_TYPE_MASK
        try:
            if kind == 0:
                value = Value.sz(name, data[0] if data else '')
            else:
                value = self._reg_value(name, kind, data, section, lineno)
                if value is None:
                    return None
        except (UnicodeError, ValueError, TypeError, OverflowError) as exc:
            self.warn('%s: cannot build the value (%s); line ignored' % (self._where(section, lineno), exc))
            return None
        return RegEntry(root, subkey, 'set', value, name, flags, section, lineno, origin)

    def _reg_value(self, name, kind, data, section, lineno):
        reg_type = _ADDREG_TYPES.get(kind)
        if reg_type in (REG_SZ, REG_EXPAND_SZ) or (reg_type is None and not kind & FLG_ADDREG_BINVALUETYPE):
            text = data[0] if data else ''
            if reg_type is None:
                return Value(name, kind >> 16, text.encode('utf-16-le') + b'\x00\x00')
            return Value.sz(name, text) if reg_type == REG_SZ else Value.expand_sz(name, text)
        if reg_type == REG_MULTI_SZ:
            items = []
            for item in data:
                if item == '':
                    break
                items.append(item)
            return Value.multi_sz(name, items)
        if reg_type == REG_DWORD and len(data) <= 1:
            number = parse_int(data[0]) if data and data[0].strip() else 0
            if number is None or not -0x80000000 <= number <= 0xFFFFFFFF:
                self.warn('%s: DWORD %r is not a 32-bit number; line ignored' % (self._where(section, lineno), data[0]))
                return None
            return Value.dword(name, number)
        raw = _hex_bytes(data)
        if raw is None:
            self.warn('%s: binary data is not a list of hex bytes; line ignored' % self._where(section, lineno))
            return None
        return Value(name, REG_DWORD if reg_type == REG_DWORD else (reg_type if reg_type is not None else kind >> 16),
                     raw)

    # AddService ---------------------------------------------------------------------------------------------
    def _add_service(self, ctx, fields, inst, origin, section, lineno):
        values = [ctx.subst(f).strip() for f in fields]
        name = values[0] if values else ''
        flags_raw = values[1] if len(values) > 1 else ''
        flags = parse_int(flags_raw) if flags_raw else 0
        if flags is None:
            self.warn('%s: AddService flags %r are not a number' % (self._where(section, lineno), flags_raw))
            flags = 0
        install = values[2] if len(values) > 2 else ''
        cache_key = (ctx.name.lower(), name.lower(), install.lower(), flags)
        svc = self._service_cache.get(cache_key)
        if svc is None:
            event_log = values[3] if len(values) > 3 else ''
            event_type = values[4] if len(values) > 4 and values[4] else 'System'
            event_name = values[5] if len(values) > 5 and values[5] else name
            svc = Service(name, flags_raw, flags, install, event_log or None, event_type, event_name, origin, lineno)
            self._service_cache[cache_key] = svc
            self._read_service(ctx, svc, section, lineno)
            self.services.append(svc)
        if svc not in inst.services:
            inst.services.append(svc)

    def _read_service(self, ctx, svc, section, lineno):
        if not svc.name:
            return  # NULL driver: AddService = ,2
        if not svc.install:
            svc.missing.append('service-install section')
            self.warn('%s: AddService %s names no service-install section' % (self._where(section, lineno), svc.name))
            return
        sec = ctx.section(svc.install)
        if sec is None:
            svc.missing.append('service-install section')
            self.warn('%s: service-install section [%s] of %s does not exist' % (ctx.name, svc.install, svc.name))
            return
        for key, fields, line, lkey in sec.lines:
            canonical = SERVICE_FIELDS.get(lkey) if lkey is not None else None
            if canonical is None:
                continue
            if canonical in ('AddReg', 'DelReg'):
                for field in fields:
                    name = ctx.subst(field).strip()
                    if name:
                        svc.addreg.extend(self._reg_section(ctx, name, canonical == 'DelReg', svc.origin))
            elif canonical == 'Dependencies':
                svc.dependencies.extend(v for v in (ctx.subst(f).strip() for f in fields) if v)
            elif canonical not in svc.fields:
                svc.fields[canonical] = ctx.subst(fields[0]).strip() if fields else ''
        for field in _SERVICE_REQUIRED:
            if field not in svc.fields:
                svc.missing.append(field)
            elif field != 'ServiceBinary' and svc.number(field) is None:
                self.warn('%s: %s %s = %r is not a number' % (ctx.name, svc.install, field, svc.fields[field]))
        if svc.missing:
            self.warn('%s: service-install section [%s] lacks %s; Windows would not install service %s'
                      % (ctx.name, svc.install, ', '.join(svc.missing), svc.name))
        if 'ServiceBinary' in svc.fields:
            self._image_path(ctx, svc)
        if svc.event_log:
            evsec = ctx.section(svc.event_log)
            if evsec is None:
                self.warn('%s: event-log section [%s] does not exist' % (ctx.name, svc.event_log))
            else:
                svc._owner = self
                for key, fields, line, lkey in evsec.lines:
                    if lkey == 'addreg':
                        for field in fields:
                            name = ctx.subst(field).strip()
                            if name:
                                svc.event_log_refs.append((ctx, name))

    def _image_path(self, ctx, svc):
        """ImagePath (REG_EXPAND_SZ) as Windows writes it for an INF-installed service (see docs)."""
        binary = svc.fields['ServiceBinary']
        m = _DIRID_PREFIX_RE.match(binary)
        if not m:
            token = re.match(r'^%([^%]+)%', binary)
            if token:
                self.warn('%s: ServiceBinary "%s" of %s starts with %%%s%%, which is not a DIRID (a build-time '
                          'placeholder?); pass templates, for example {"%s": "12"}'
                          % (ctx.name, binary, svc.name, token.group(1), token.group(1)))
            else:
                self.warn('%s: ServiceBinary "%s" of %s does not start with a %%DIRID%%' % (ctx.name, binary, svc.name))
            return
        dirid = int(m.group(1))
        rest = m.group(2)
        parts = check_file_name(rest.lstrip('\\/'), '%s: ServiceBinary of %s' % (ctx.name, svc.name))
        if not parts:
            self.warn('%s: ServiceBinary %r of %s names no file' % (ctx.name, binary, svc.name))
            return
        svc.binary_dirid = dirid
        svc.binary_file = '\\'.join(parts)
        path = self._target_path(dirid, '', svc.binary_file)
        if path is None:
            self.warn('%s: ServiceBinary %r of %s uses DIRID %d, which has no fixed place under the Windows folder'
                      % (ctx.name, binary, svc.name, dirid))
            return
        svc.image_path = '\\SystemRoot\\' + path
        if dirid == DIRID_DRIVER_STORE:
            self.warn('%s: service %s runs from the DriverStore (DIRID 13); its folder name carries a hash that '
                      'Windows computes while staging the package' % (ctx.name, svc.name))

    # everything -------------------------------------------------------------------------------------------
    def _read(self):
        self._read_version()
        self._select_models()
        for device in self.devices:
            self._install(device.install)
        for token in sorted(self.inf.undefined):
            self.warn('%s: %%%s%% is not defined in [%s]; left as it is'
                      % (self.name, token, self.inf.strings_section or 'Strings'))

    # results ------------------------------------------------------------------------------------------------
    @property
    def files(self):
        out = []
        seen = set()
        for device in self.devices:
            inst = device.install_info
            if inst is None:
                continue
            for entry in inst.files:
                key = (entry.name.lower(), entry.dirid, entry.subdir.lower(), entry.origin)
                if key not in seen:
                    seen.add(key)
                    out.append(entry)
        return out

    @property
    def device_services(self):
        """Services of the install sections of this target's devices, in order, without duplicates."""
        out = []
        for device in self.devices:
            inst = device.install_info
            for svc in (inst.services if inst is not None else []):
                if svc not in out:
                    out.append(svc)
        return out

    def registry_sections(self):
        """{section key: [RegEntry as dict]} of every AddReg/DelReg section the install sections name."""
        out = {}
        for inst in self.installs.values():
            for where in ('driver', 'hw', 'coinstallers'):
                for ctx, name, delete, origin in inst.reg_refs[where]:
                    key = _registry_key(ctx, name, delete, origin)
                    if key not in out:
                        out[key] = [e.as_dict() for e in self._reg_section(ctx, name, delete, origin)]
        return out

    def as_dict(self):
        installs = dict((i.named, i.as_dict()) for i in self.installs.values())
        services = [s.as_dict() for s in self.device_services]
        registry = self.registry_sections()
        return {
            'inf_path': self.path, 'inf_name': self.name, 'encoding': self.inf.encoding, 'valid': self.valid,
            'signature': self.signature, 'class': self.class_name, 'class_guid': self.class_guid,
            'extension': self.extension,
            'provider': self.provider, 'driver_ver': dict(self.driver_ver), 'catalog_file': self.catalog_file,
            'strings_section': self.inf.strings_section, 'template_tokens': self.inf.template,
            'manufacturers': [dict(m) for m in self.manufacturers],
            'devices': [d.as_dict() for d in self.devices],
            'install_sections': installs,
            'registry_sections': registry,
            'services': services,
            'files': [f.as_dict() for f in self.files],
            'unresolved': [dict(u) for u in self.unresolved],
            'warnings': list(self.warnings),
        }


# ---------------------------------------------------------------------------------------------------------
# Reading files and folders

def read_inf_data(data, target, name='<inf>', path=None, lenient=False, templates=None, system_inf_dir=None,
                  language=DEFAULT_LANGUAGE, dir_cache=None):
    """InfDriver from INF bytes; files are looked up next to ``path`` when it is given."""
    target = _coerce_target(target)
    inf = InfFile(data, name, path, templates, target.arch, language)
    package_dir = os.path.dirname(os.path.abspath(path)) if path else None
    return InfDriver(inf, target, lenient, package_dir, system_inf_dir, dir_cache)


def read_inf(path, target, lenient=False, templates=None, system_inf_dir=None, language=DEFAULT_LANGUAGE,
             dir_cache=None):
    """InfDriver for one INF file on disk."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read(MAX_INF_SIZE + 1)
    except (IOError, OSError, ValueError, TypeError) as exc:
        raise InfError('cannot read %s: %s' % (path, getattr(exc, 'strerror', None) or exc))
    return read_inf_data(data, target, os.path.basename(path), path, lenient, templates, system_inf_dir, language,
                         dir_cache)


def find_infs(path):
    """INF files of a file or folder tree, sorted (``.inf`` only; ``.inx`` templates must be named directly)."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise InfError('%s does not exist or is not a file or folder' % path)
    found = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith('.inf'):
                found.append(os.path.join(folder, name))
    return found


def read_package(paths, target, lenient=False, templates=None, system_inf_dir=None, language=DEFAULT_LANGUAGE):
    """([InfDriver], [{'path', 'msg'}]) for INF files and folder trees.

    A file given by name that cannot be read raises InfError; INF files found in folders that cannot be read are
    reported in the error list and skipped.
    """
    target = _coerce_target(target)
    if isinstance(paths, str):
        paths = [paths]
    drivers, errors = [], []
    cache = _DirCache()
    for path in paths:
        if not isinstance(path, str) or not path:
            raise InfError('package paths must be non-empty strings')
        explicit = os.path.isfile(path)
        for inf_path in find_infs(path):
            try:
                drivers.append(read_inf(inf_path, target, lenient, templates, system_inf_dir, language, cache))
            except InfError as exc:
                if explicit:
                    raise
                errors.append({'path': inf_path, 'msg': str(exc)})
    return drivers, errors


# ---------------------------------------------------------------------------------------------------------
# Matching devices (install/identifier-score--windows-vista-and-later-.md, how Windows selects driver packages)

def expand_pci_id(device_id):
    """(hardware IDs, compatible IDs) the PCI bus driver reports for a device, from its most specific ID.

    ``PCI\\VEN_v&DEV_d[&SUBSYS_s][&REV_r][&CC_ccss[pp]]`` -> the lists of install/identifiers-for-pci-devices.md in
    their Windows 10 split (VEN&DEV&REV and VEN&DEV are compatible IDs). Anything else -> ([id], []).
    """
    m = _PCI_ID_RE.match(device_id.strip())
    if not m:
        return [device_id.strip()], []
    ven, dev, subsys, rev, cc = [g.upper() if g else None for g in m.groups()]
    base = 'PCI\\VEN_%s&DEV_%s' % (ven, dev)
    hw, compat = [], []
    if subsys:
        if rev:
            hw.append('%s&SUBSYS_%s&REV_%s' % (base, subsys, rev))
        hw.append('%s&SUBSYS_%s' % (base, subsys))
    if cc:
        if len(cc) == 6:
            hw.append('%s&CC_%s' % (base, cc))
        hw.append('%s&CC_%s' % (base, cc[:4]))
    if rev:
        compat.append('%s&REV_%s' % (base, rev))
    compat.append(base)
    if cc:
        if len(cc) == 6:
            compat.append('PCI\\VEN_%s&CC_%s' % (ven, cc))
        compat.append('PCI\\VEN_%s&CC_%s' % (ven, cc[:4]))
    compat.append('PCI\\VEN_%s' % ven)
    if cc:
        if len(cc) == 6:
            compat.append('PCI\\CC_%s' % cc)
        compat.append('PCI\\CC_%s' % cc[:4])
    if not hw:
        return compat[:1], compat[1:]
    return hw, compat


def normalize_device(device):
    """A device given as one ID (PCI IDs are expanded), a list of hardware IDs (most specific first) or a dict
    with hardware_ids / compatible_ids -> {'label', 'hardware_ids', 'compatible_ids'}."""
    if isinstance(device, str):
        if not device.strip():
            raise InfError('device IDs must not be empty')
        hw, compat = expand_pci_id(device)
        out = {'label': device.strip(), 'hardware_ids': hw, 'compatible_ids': compat}
        if compat and '&CC_' not in device.upper():
            out['hint'] = ('the class-code IDs (PCI\\VEN_v&CC_..., PCI\\CC_...) need the class code: append '
                           '&CC_ccsspp (for example &CC_020000 for Ethernet, &CC_010802 for NVMe) to the ID')
        return out
    if isinstance(device, (list, tuple)):
        ids = [str(i).strip() for i in device if str(i).strip()]
        if not ids or not all(isinstance(i, str) for i in device):
            raise InfError('a device given as a list needs at least one ID string')
        return {'label': ids[0], 'hardware_ids': ids, 'compatible_ids': []}
    if isinstance(device, dict):
        hw = device.get('hardware_ids') or []
        compat = device.get('compatible_ids') or []
        if isinstance(hw, str):
            hw = [hw]
        if isinstance(compat, str):
            compat = [compat]
        if not isinstance(hw, (list, tuple)) or not isinstance(compat, (list, tuple)):
            raise InfError('hardware_ids and compatible_ids of a device must be lists of IDs')
        hw = [str(i).strip() for i in hw if str(i).strip()]
        compat = [str(i).strip() for i in compat if str(i).strip()]
        if not hw and not compat:
            raise InfError('a device needs hardware_ids or compatible_ids')
        return {'label': str(device.get('name') or (hw or compat)[0]), 'hardware_ids': hw, 'compatible_ids': compat}
    raise InfError('a device is an ID string, a list of IDs or a dict with hardware_ids, not %r' % (device,))


def identifier_score(device, entry):
    """(score, match type, device ID, INF ID) of the best identifier match of a device and a Models line."""
    dev_hw = [i.upper() for i in device['hardware_ids']]
    dev_compat = [i.upper() for i in device['compatible_ids']]
    inf_hw = entry.hardware_id.upper() if entry.hardware_id else None
    inf_compat = [i.upper() for i in entry.compatible_ids]
    if inf_hw:
        for pos, dev_id in enumerate(dev_hw):
            if dev_id == inf_hw:
                return pos, 'hardware ID match', device['hardware_ids'][pos], entry.hardware_id
    for pos, dev_id in enumerate(dev_hw):
        if dev_id in inf_compat:
            return (0x1000 + pos, 'device hardware ID matches an INF compatible ID', device['hardware_ids'][pos],
                    entry.compatible_ids[inf_compat.index(dev_id)])
    if inf_hw:
        for pos, dev_id in enumerate(dev_compat):
            if dev_id == inf_hw:
                return (0x2000 + pos, 'device compatible ID matches the INF hardware ID', device['compatible_ids'][pos],
                        entry.hardware_id)
    best = None
    for pos, dev_id in enumerate(dev_compat):
        if dev_id in inf_compat:
            k = inf_compat.index(dev_id)
            score = 0x3000 + min(pos + 0x100 * k, 0xFFF)
            if best is None or score < best[0]:
                best = (score, 'device compatible ID matches an INF compatible ID', device['compatible_ids'][pos],
                        entry.compatible_ids[k])
    return best


def _entry_date_key(entry):
    inst = entry.install_info
    if inst is not None and inst.driver_ver_key is not None:
        return inst.driver_ver_key
    return entry.driver.driver_ver_key


def rank_candidates(drivers, device):
    """Every (rank, sort key, entry, match) of the Models lines of valid drivers that match one device."""
    found = []
    order = 0
    for driver in drivers:
        if not driver.valid:
            continue
        for entry in driver.devices:
            order += 1
            match = identifier_score(device, entry)
            if match is None:
                continue
            inst = entry.install_info
            feature = inst.feature_score if inst is not None else DEFAULT_FEATURE_SCORE
            rank = (feature << 16) | match[0]
            date_key, version_key = _entry_date_key(entry)
            # lowest rank, then newest date, then highest version, then package order
            sort_key = (rank, tuple(-x for x in date_key), tuple(-x for x in version_key), order)
            found.append((rank, sort_key, entry, match))
    found.sort(key=lambda item: item[1])
    return found


def _describe_entry(entry):
    return '%s [%s] line %d "%s"' % (entry.driver.name, entry.models_section, entry.line, entry.description)


def _version_text(driver_ver):
    return '%s %s' % (driver_ver.get('date') or '?', driver_ver.get('version') or '?')


def match_device(drivers, device):
    """What Windows picks for one device among the drivers, and why (a JSON-friendly dict)."""
    device = normalize_device(device) if not isinstance(device, dict) or 'label' not in device else device
    ranked = rank_candidates(drivers, device)
    out = {'device': device['label'], 'hardware_ids': list(device['hardware_ids']),
           'compatible_ids': list(device['compatible_ids']), 'selected': None, 'reason': None, 'candidates': []}
    for rank, _key, entry, match in ranked[:10]:
        out['candidates'].append({'inf_path': entry.driver.path, 'inf_name': entry.driver.name,
                                  'description': entry.description, 'install_section': entry.install,
                                  'models_section': entry.models_section, 'rank': '0x%08X' % rank,
                                  'match': match[1], 'device_id': match[2], 'inf_id': match[3],
                                  'driver_ver': dict(entry.driver.driver_ver)})
    if not ranked:
        out['reason'] = 'no Models line that applies to the target lists any of these IDs'
        if device.get('hint'):
            out['reason'] += '; ' + device['hint']
        return out
    rank, _key, entry, match = ranked[0]
    out['selected'] = dict(out['candidates'][0])
    inst = entry.install_info
    out['selected']['service'] = inst.assoc_service if inst is not None else None
    reason = '%s: %s (%s = %s), rank 0x%08X' % (_describe_entry(entry), match[1], match[2], match[3], rank)
    ties = [item for item in ranked[1:] if item[0] == rank]
    if ties:
        reason += '; %d other match(es) with the same rank lose on DriverVer date/version (%s against %s)' % (
            len(ties), _version_text(entry.driver.driver_ver), _version_text(ties[0][2].driver.driver_ver))
    elif len(ranked) > 1:
        reason += '; next best rank 0x%08X (%s)' % (ranked[1][0], _describe_entry(ranked[1][2]))
    out['reason'] = reason
    return out


# ---------------------------------------------------------------------------------------------------------
# The boot driver of a package, ready to inject

def _service_values(svc, image_path):
    """[(subkey tuple, Value)] relative to Services\\<name>: what Windows writes for the service, then its AddReg."""
    values = [((), Value.dword('Type', svc.number('ServiceType') or 0)),
              ((), Value.dword('Start', svc.number('StartType') or 0)),
              ((), Value.dword('ErrorControl', svc.number('ErrorControl') or 0)),
              ((), Value.expand_sz('ImagePath', image_path))]
    if svc.fields.get('LoadOrderGroup'):
        values.append(((), Value.sz('Group', svc.fields['LoadOrderGroup'])))
    if svc.fields.get('DisplayName'):
        values.append(((), Value.sz('DisplayName', svc.fields['DisplayName'])))
    if svc.fields.get('Description'):
        values.append(((), Value.sz('Description', svc.fields['Description'])))
    services = [d for d in svc.dependencies if not d.startswith('+')]
    groups = [d[1:] for d in svc.dependencies if d.startswith('+') and d[1:]]
    if services:
        values.append(((), Value.multi_sz('DependOnService', services)))
    if groups:
        values.append(((), Value.multi_sz('DependOnGroup', groups)))
    if svc.fields.get('StartName'):
        values.append(((), Value.sz('ObjectName', svc.fields['StartName'])))
    return values


def select_boot_driver(drivers, target, devices=None, errors=()):
    """The boot driver among parsed drivers (see boot_driver)."""
    target = _coerce_target(target)
    warnings = []
    usable = [d for d in drivers if d.valid]
    for driver in drivers:
        if not driver.valid:
            _warn(warnings, '%s skipped: Windows would not accept it' % driver.name)
    entries = [e for d in usable for e in d.devices]
    if not entries:
        why = []
        for driver in drivers:
            for m in driver.manufacturers:
                why.append('%s: %s -> %s' % (driver.name, m['models_section'], m['reason']))
            if not driver.manufacturers:
                why.append('%s: no Models' % driver.name)
        why.extend('%s: %s' % (os.path.basename(e['path']), e['msg']) for e in errors)
        raise InfError('nothing in the package installs a device on %s%s' % (
            target.describe(), (': ' + '; '.join(why[:8])) if why else ' (no INF files)'))
    reason = None
    match = None
    if devices:
        if isinstance(devices, (str, dict)):
            devices = [devices]
        normalized = [normalize_device(d) for d in devices]
        best = None
        for idx, device in enumerate(normalized):
            ranked = rank_candidates(usable, device)
            if ranked and (best is None or ranked[0][1] < best[0][1]):
                best = (ranked[0], idx, ranked)
        if best is None:
            listed = sorted(set(i for e in entries for i in e.ids))
            hints = [d['hint'] for d in normalized if d.get('hint')]
            raise InfError('none of the devices (%s) matches a driver of the package for %s; the package lists %s%s%s'
                           % (', '.join(d['label'] for d in normalized), target.describe(),
                              ', '.join(listed[:8]), ' and %d more' % (len(listed) - 8) if len(listed) > 8 else '',
                              ('; ' + hints[0]) if hints else ''))
        (rank, _key, chosen, match_info), _idx, ranked = best
        reason = '%s: %s (%s = %s), rank 0x%08X' % (
            _describe_entry(chosen), match_info[1], match_info[2], match_info[3], rank)
        match = {'device': normalized[best[1]]['label'], 'match': match_info[1], 'device_id': match_info[2],
                 'inf_id': match_info[3], 'rank': '0x%08X' % rank}
        inst = chosen.install_info
        if inst is None or not inst.assoc_service:
            raise InfError('the best match for %s is %s, which installs no function driver service (no AddService '
                           'with flag 0x2)' % (match['device'], _describe_entry(chosen)))
        driver = chosen.driver
        service_name = inst.assoc_service
        group = [e for e in driver.devices if e.install_info is not None and
                 e.install_info.assoc_service and e.install_info.assoc_service.lower() == service_name.lower()]
        wanted = []
        for device in normalized:
            for dev_id in device['hardware_ids'] + device['compatible_ids']:
                if dev_id.upper() not in [w.upper() for w in wanted]:
                    wanted.append(dev_id)
        listed = {}
        for e in group:
            for i in e.ids:
                listed.setdefault(i.upper(), i)
        hardware_ids = [listed[w.upper()] for w in wanted if w.upper() in listed]
    else:
        with_service = [e for e in entries if e.install_info is not None and e.install_info.assoc_service]
        if not with_service:
            raise InfError('no Models line that applies to %s installs a function driver service (AddService with '
                           'flag 0x2)' % target.describe())
        by_driver = []
        for driver in usable:
            mine = [e for e in with_service if e.driver is driver]
            if mine:
                by_driver.append(driver)
        by_driver.sort(key=lambda d: (tuple(-x for x in d.driver_ver_key[0]), tuple(-x for x in d.driver_ver_key[1])))
        driver = by_driver[0]
        if len(by_driver) > 1:
            _warn(warnings, 'several INF files install a driver on %s (%s); %s has the newest DriverVer; give devices '
                  'to choose the way Windows does' % (target.describe(), ', '.join(d.name for d in by_driver),
                                                      driver.name))
        mine = [e for e in with_service if e.driver is driver]
        names = []
        for e in mine:
            if e.install_info.assoc_service.lower() not in [n.lower() for n in names]:
                names.append(e.install_info.assoc_service)
        if len(names) > 1:
            raise InfError('%s installs several function drivers on %s (%s); give devices to choose one'
                           % (driver.name, target.describe(), ', '.join(names)))
        chosen = mine[0]
        service_name = names[0]
        group = [e for e in mine if e.install_info.assoc_service.lower() == service_name.lower()]
        hardware_ids = []
        for e in group:
            for i in e.ids:
                if i.upper() not in [h.upper() for h in hardware_ids]:
                    hardware_ids.append(i)
        reason = '%s: the only function driver of the package for %s' % (_describe_entry(chosen), target.describe())
    inst = chosen.install_info
    installs = []
    for e in group:
        if e.install_info not in installs:
            installs.append(e.install_info)
    services = [s for s in inst.services if s.assoc]
    svc = services[0]
    for other in installs[1:]:
        alt = [s for s in other.services if s.assoc]
        if alt and alt[0].install.lower() != svc.install.lower():
            _warn(warnings, 'install sections [%s] and [%s] set up service %s from different sections ([%s], [%s]); '
                  'using [%s]' % (inst.actual, other.actual, svc.name, svc.install, alt[0].install, svc.install))
    if svc.missing:
        raise InfError('%s: service %s cannot be installed: [%s] lacks %s'
                       % (driver.name, svc.name, svc.install or '?', ', '.join(svc.missing)))
    for field in ('ServiceType', 'StartType', 'ErrorControl'):
        if svc.number(field) is None:
            raise InfError('%s: service %s: %s = %r is not a number'
                           % (driver.name, svc.name, field, svc.fields.get(field)))
    dirid = svc.binary_dirid
    if dirid is None:
        raise InfError('%s: service %s: ServiceBinary %r does not name a file under a known DIRID%s'
                       % (driver.name, svc.name, svc.fields.get('ServiceBinary'),
                          '; a build-time placeholder? pass templates' if '%' in (svc.fields.get('ServiceBinary')
                                                                                  or '')[1:] else ''))
    if dirid == DIRID_DRIVER_STORE:
        image_path = '\\SystemRoot\\System32\\drivers\\' + svc.binary_file
        _warn(warnings, 'service %s runs from the DriverStore (DIRID 13) in the INF; for offline injection its files '
              'go to System32\\drivers (DIRID 12) and ImagePath is %s' % (svc.name, image_path))
    elif svc.image_path is None:
        raise InfError('%s: service %s: ServiceBinary %r uses DIRID %s, which has no fixed place under the Windows '
                       'folder' % (driver.name, svc.name, svc.fields.get('ServiceBinary'), dirid))
    else:
        image_path = svc.image_path
    values = _service_values(svc, image_path)
    absolute = []
    service_keys = []
    for entry in svc.addreg:
        if entry.root != 'HKR':
            absolute.append((entry.root, entry.subkey, entry.value) if entry.op == 'set' else
                            (entry.root, entry.subkey, None))
            continue
        if entry.op == 'set':
            values.append((entry.subkey, entry.value))
        elif entry.op == 'keyonly':
            service_keys.append(entry.subkey)
        else:
            _warn(warnings, '%s: DelReg/DELVAL line [%s] %d for service %s not applied'
                  % (driver.name, entry.section, entry.line, svc.name))
    if absolute:
        _warn(warnings, '%s: the service-install section of %s writes outside Services\\%s (%s); not included in '
              'service_values' % (driver.name, svc.name, svc.name,
                                  ', '.join('%s\\%s' % (r, '\\'.join(k)) for r, k, _v in absolute)))
    if svc.kmdf_library_version:
        values.append((('Parameters', 'Wdf'), Value.sz('KmdfLibraryVersion', svc.kmdf_library_version)))
    files = []
    for entry in inst.files:
        if entry.origin is not None:
            _warn(warnings, '%s comes from the system INF %s and is not part of the package' % (entry.name,
                                                                                                entry.origin))
            continue
        item = {'source': '/'.join(entry.source_parts or [entry.source]), 'source_path': entry.source_path,
                'present': bool(entry.present), 'dirid': entry.dirid, 'inf_dirid': entry.dirid, 'subdir': entry.subdir,
                'name': entry.name, 'target': entry.target, 'found_at': entry.found_at}
        if entry.dirid == DIRID_DRIVER_STORE:
            item['dirid'] = 12
            item['subdir'] = ''
            item['target'] = 'System32\\drivers\\' + entry.name
        if not isinstance(item['dirid'], int):
            raise InfError('%s: destination of %s is %r, not a DIRID; pass templates, for example {"%s": "12"}'
                           % (driver.name, entry.name, entry.dirid, entry.dirid))
        if item['target'] is None:
            _warn(warnings, '%s goes to DIRID %s, which has no fixed place under the Windows folder'
                  % (entry.name, entry.dirid))
        if not item['present']:
            _warn(warnings, '%s is not in the package (%s)' % (entry.name, item['source_path'] or item['source']))
        files.append(item)
    binary_name = svc.binary_file.split('\\')[-1].lower()
    if not any(f['name'].lower() == binary_name and f['present'] for f in files):
        _warn(warnings, 'the service binary %s of %s is not among the package files that the install section copies'
              % (svc.binary_file, svc.name))
    for w in driver.warnings:
        _warn(warnings, w)
    event_log = None
    if svc.event_log:
        event_log = {'log': svc.event_log_type, 'name': svc.event_name,
                     'values': [(e.subkey, e.value) for e in svc.event_log_addreg if e.root == 'HKR' and e.op == 'set']}
    return {
        'inf_path': driver.path, 'inf_name': driver.name, 'class': driver.class_name, 'class_guid': driver.class_guid,
        'provider': driver.provider, 'driver_ver': dict(inst.driver_ver or driver.driver_ver),
        'description': chosen.description, 'install_section': inst.actual, 'hardware_ids': hardware_ids,
        'service': svc.name, 'service_values': values, 'service_keys': service_keys,
        'event_log': event_log,
        'driver_values': [(e.subkey, e.value) for e in inst.driver_addreg if e.root == 'HKR' and e.op == 'set'],
        'hardware_values': [(e.subkey, e.value) for e in inst.hw_addreg if e.root == 'HKR' and e.op == 'set'],
        'files': files, 'match': match, 'reason': reason, 'warnings': warnings,
    }


def boot_driver(package_path, target, devices=None, lenient=False, templates=None, system_inf_dir=None):
    """The driver Windows would install from a package for a boot device, ready for offline injection.

    See the module documentation of sanboot.windows.driver_info for the result. Raises InfError (only) when the
    package cannot be read or nothing in it matches the target / devices.
    """
    target = _coerce_target(target)
    drivers, errors = read_package(package_path, target, lenient, templates, system_inf_dir)
    result = select_boot_driver(drivers, target, devices, errors)
    for error in errors:
        _warn(result['warnings'], '%s skipped: %s' % (error['path'], error['msg']))
    return result
