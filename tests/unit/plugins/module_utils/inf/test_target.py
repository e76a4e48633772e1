# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows a driver is chosen for (inf/target.py): names, numbers and architectures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf


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
