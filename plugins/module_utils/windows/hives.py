# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Windows hive a file is, from its own content (the header's file name as the fallback), and the key
Windows loads it under (for .reg text and diffs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


# How a hive tells which one it is, by its own keys (first match wins); the header's file name is the fallback.
HIVE_SIGNS = (
    ('SYSTEM', ('Select',), 'it has a Select key at its root'),
    ('SOFTWARE', ('Microsoft', 'Windows NT', 'CurrentVersion'), 'it has Microsoft\\Windows NT\\CurrentVersion'),
    ('SAM', ('SAM', 'Domains'), 'it has SAM\\Domains'),
    ('SECURITY', ('Policy',), 'it has a Policy key at its root'),
    ('USER', ('Control Panel',), 'it has a Control Panel key at its root, as NTUSER.DAT and DEFAULT have'),
)
HEADER_NAMES = {'SYSTEM': 'SYSTEM', 'SOFTWARE': 'SOFTWARE', 'SAM': 'SAM', 'SECURITY': 'SECURITY',
                'COMPONENTS': 'COMPONENTS', 'DRIVERS': 'DRIVERS', 'DEFAULT': 'USER', 'NTUSER.DAT': 'USER',
                'USRCLASS.DAT': 'USER'}
KIND_LABEL = {'USER': 'a user hive (NTUSER.DAT or DEFAULT, loaded under HKEY_USERS, not HKLM)'}


def hive_kind(hive):
    """(name, how we know) of the hive Windows would load this file as, from its own content; (None, None) when it
    does not say."""
    for name, key, reason in HIVE_SIGNS:
        if hive.key_exists(key):
            return name, reason
    stored = (hive.header.file_name or '').rsplit('\\', 1)[-1].upper()
    if stored in HEADER_NAMES:
        return HEADER_NAMES[stored], 'its header names it %s' % hive.header.file_name
    return None, None


def hive_prefix(hive, name=None):
    """Registry path the hive would be loaded under on Windows (for .reg text)."""
    if name:
        return 'HKEY_LOCAL_MACHINE\\%s' % name
    kind = hive_kind(hive)[0]
    if kind in ('SYSTEM', 'SOFTWARE'):
        return 'HKEY_LOCAL_MACHINE\\%s' % kind
    return 'HKEY_LOCAL_MACHINE\\OFFLINE'
