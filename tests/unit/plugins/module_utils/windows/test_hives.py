# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Windows hive a file is (windows/hives.py), from its own keys and else its header, and the key Windows
loads it under (.reg text and diffs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.windows.hives import hive_kind, hive_prefix

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import unpacked_hive  # noqa: E402


@pytest.mark.parametrize('name, kind, reason, prefix', [
    ('win7-sp1-x86.SYSTEM', 'SYSTEM', 'it has a Select key at its root', 'HKEY_LOCAL_MACHINE\\SYSTEM'),
    # the phony hives' headers all say DEFAULT: their keys say otherwise, and win
    ('phony-windows.SYSTEM', 'SYSTEM', 'it has a Select key at its root', 'HKEY_LOCAL_MACHINE\\SYSTEM'),
    ('phony-win10.SOFTWARE', 'SOFTWARE', 'it has Microsoft\\Windows NT\\CurrentVersion',
     'HKEY_LOCAL_MACHINE\\SOFTWARE'),
    # no sign in its keys: the header's file name (\??\UNC\trick\tmp\DEFAULT), a user hive, loaded under HKU
    ('minimal.hive', 'USER', 'its header names it \\??\\UNC\\trick\\tmp\\DEFAULT', 'HKEY_LOCAL_MACHINE\\OFFLINE'),
    # neither: the hive does not say
    ('special-names.hive', None, None, 'HKEY_LOCAL_MACHINE\\OFFLINE'),
])
def test_which_hive_a_file_is_from_its_own_content(name, kind, reason, prefix):
    hive = Hive(unpacked_hive(name), allow_dirty=True)
    assert hive_kind(hive) == (kind, reason)
    assert hive_prefix(hive) == prefix
    # a name given (the hive a path names, or a job's DRIVERS) is taken as it is
    assert hive_prefix(hive, 'DRIVERS') == 'HKEY_LOCAL_MACHINE\\DRIVERS'
