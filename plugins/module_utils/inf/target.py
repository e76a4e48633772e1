# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows a driver is chosen for: version, build, product type and architecture, from names or numbers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.inf.text import InfError

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


def coerce_target(target):
    """A Target from a Target, a dict with os, arch and product_type, or a tuple (os, arch[, product_type])."""
    if isinstance(target, Target):
        return target
    if isinstance(target, dict):
        return parse_target(target.get('os'), target.get('arch'), target.get('product_type'))
    if isinstance(target, (tuple, list)) and 2 <= len(target) <= 3:
        return parse_target(*target)
    raise InfError('target must come from parse_target() or be a dict with os, arch and product_type')
