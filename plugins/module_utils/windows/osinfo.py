# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Windows an installation is: version, build, architecture, product type, and the boot-device family it
uses (the Critical Device Database up to 7 / 2008 R2, the DriverDatabase from 8 / 2012)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.registry import dword_value, text_value
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError


class OsInfo(object):
    def __init__(self):
        self.name = None
        self.version = None          # (major, minor)
        self.build = None
        self.arch = None             # x86 | amd64 | arm64
        self.product_type = None     # 1 workstation, 2 domain controller, 3 server
        self.installation_type = None
        self.source = None
        self.has_driver_database = False

    @property
    def family(self):
        """'cddb' (XP .. 7 / 2008 R2: Critical Device Database) or 'ddb' (8 / 2012 and later: DriverDatabase)."""
        if self.version is not None:
            return 'ddb' if self.version >= (6, 2) else 'cddb'
        return 'ddb' if self.has_driver_database else 'cddb'

    def as_dict(self):
        return {
            'name': self.name,
            'version': '%d.%d' % self.version if self.version else None,
            'build': self.build,
            'arch': self.arch,
            'product_type': self.product_type,
            'installation_type': self.installation_type,
            'family': 'CriticalDeviceDatabase' if self.family == 'cddb' else 'DriverDatabase',
            'source': self.source,
        }


_ARCH = {'X86': 'x86', 'AMD64': 'amd64', 'ARM64': 'arm64', 'IA64': 'ia64'}
_PRODUCT_TYPE = {'WINNT': 1, 'LANMANNT': 2, 'SERVERNT': 3}


def detect_os(system, control_set, software=None):
    """Windows version from the SOFTWARE hive when given (as libguestfs does), else what SYSTEM alone tells."""
    info = OsInfo()
    info.has_driver_database = system.key_exists(('DriverDatabase',))
    env = (control_set, 'Control', 'Session Manager', 'Environment')
    arch = text_value(system, env, 'PROCESSOR_ARCHITECTURE')
    info.arch = _ARCH.get((arch or '').upper())
    ptype = text_value(system, (control_set, 'Control', 'ProductOptions'), 'ProductType')
    info.product_type = _PRODUCT_TYPE.get((ptype or '').upper())
    if software is not None:
        cv = ('Microsoft', 'Windows NT', 'CurrentVersion')
        if not software.key_exists(cv):
            raise BootError('the SOFTWARE hive has no Microsoft\\Windows NT\\CurrentVersion key; is it a SOFTWARE '
                            'hive of a Windows installation?')
        major = dword_value(software, cv, 'CurrentMajorVersionNumber')
        minor = dword_value(software, cv, 'CurrentMinorVersionNumber')
        if major is not None:
            info.version = (major, minor or 0)
        else:
            text = text_value(software, cv, 'CurrentVersion') or ''
            match = re.match(r'^(\d+)\.(\d+)', text)
            if not match:
                raise BootError('the SOFTWARE hive has no usable CurrentVersion (%r)' % text)
            info.version = (int(match.group(1)), int(match.group(2)))
        build = text_value(software, cv, 'CurrentBuildNumber') or text_value(software, cv, 'CurrentBuild')
        info.build = int(build) if build and build.isdigit() else None
        info.name = text_value(software, cv, 'ProductName')
        info.installation_type = text_value(software, cv, 'InstallationType')
        client = info.product_type in (None, 1) and (info.installation_type or 'Client') == 'Client'
        if info.version == (10, 0) and info.build and info.build >= 22000 and client and info.name and \
                info.name.startswith('Windows 10'):
            # Windows 11 still calls itself "Windows 10" in ProductName; the build tells (libguestfs does the same).
            info.name = 'Windows 11' + info.name[len('Windows 10'):]
        info.source = 'SOFTWARE hive'
        if (info.family == 'ddb') != info.has_driver_database:
            raise BootError(
                'the SOFTWARE hive says %s (%d.%d) but the SYSTEM hive %s DriverDatabase key: the two hives are '
                'not from the same Windows installation' % (info.name or 'Windows', info.version[0], info.version[1],
                                                            'has a' if info.has_driver_database else 'has no'))
    else:
        info.source = 'SYSTEM hive (no SOFTWARE hive given: DriverDatabase at the root means Windows 8 or later)'
        info.name = 'Windows 8 / Server 2012 or later' if info.has_driver_database else \
            'Windows XP .. 7 / Server 2003 .. 2008 R2'
    return info
