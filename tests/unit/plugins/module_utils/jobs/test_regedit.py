# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hive_regedit job (jobs/regedit.py): ansible.windows.win_regedit's paths and semantics on a hive file, the
hive's own namespace, and the module result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import regedit
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import regedit_plan, run_plan, sha256 as sha  # noqa: E402

TCPIP = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters'


@pytest.mark.parametrize('path, expected', [
    ('HKLM:\\SYSTEM\\X\\Y', ('SYSTEM', ('X', 'Y'))),
    ('HKEY_LOCAL_MACHINE\\software\\A', ('SOFTWARE', ('A',))),
    ('hklm\\System', ('SYSTEM', ())),
    ('X\\Y', (None, ('X', 'Y'))),
    ('\\X', (None, ('X',))),
])
def test_paths_as_win_regedit_takes_them(path, expected):
    assert regedit.split_hive_path(path) == expected


@pytest.mark.parametrize('path, message', [
    ('HKCU:\\Software', 'is not under HKLM'), ('HKLM:', 'names no hive under HKLM:'),
])
def test_paths_win_regedit_would_not_take(path, message):
    with pytest.raises(RegistryError, match=message):
        regedit.split_hive_path(path)


def test_the_module_result_and_win_regedit_s_change_flags(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    before = sha(path)
    params = dict(hive=path, path=TCPIP, name='DisableDhcpMediaSense', data=1, type='dword')
    checked = regedit.run(params, check_mode=True)
    assert sha(path) == before and checked['changed'] and checked['backup_file'] is None
    assert (checked['data_changed'], checked['data_type_changed']) == (True, False)
    assert checked['key'] == 'ControlSet001\\services\\Tcpip\\Parameters'       # as the hive spells it
    done = regedit.run(params, check_mode=False)
    assert dict(done, backup_file=None) == checked and os.path.isfile(done['backup_file'])
    assert Hive(path).dword(('ControlSet001', 'Services', 'Tcpip', 'Parameters'), 'DisableDhcpMediaSense') == 1
    # the same data as another type: both flags, as win_regedit sets them
    retyped = regedit.run(dict(params, data='1', type='string'), check_mode=False)
    assert (retyped['changed'], retyped['data_changed'], retyped['data_type_changed']) == (True, True, True)
    again = regedit.run(dict(params, data='1', type='string'), check_mode=False)
    assert (again['changed'], again['data_changed'], again['data_type_changed']) == (False, False, False)
    # a key alone, then the key deleted
    assert regedit.run(dict(hive=path, path='HKLM:\\SYSTEM\\SanbootKey'), check_mode=False)['changed']
    gone = regedit.run(dict(hive=path, path='SanbootKey', state='absent'), check_mode=False)
    assert gone['changed'] and not Hive(path).key_exists(('SanbootKey',))
    with pytest.raises(RegistryError, match='names the root of the hive'):
        regedit.run(dict(hive=path, path='HKLM:\\SYSTEM', name='x', data=1), check_mode=True)
    with pytest.raises(RegistryError, match='CurrentControlSet only exists in the SYSTEM hive'):
        regedit.run(dict(hive=hive_copy('phony-win10.SOFTWARE'), path='HKLM:\\SOFTWARE\\CurrentControlSet\\X'),
                    check_mode=True)


# ---------------------------------------------------------------------------------------------------------
# the hive's own namespace

@pytest.mark.parametrize('hive, path, message', [
    ('win7-sp1-x86.SYSTEM', 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall',
     r"is in the SOFTWARE hive, but .*win7-sp1-x86.SYSTEM is the SYSTEM hive \(it has a Select key at its root\)"),
    ('phony-win10.SOFTWARE', 'HKLM:\\SYSTEM\\ControlSet001\\Services\\Tcpip',
     r"is in the SYSTEM hive, but .*phony-win10.SOFTWARE is the SOFTWARE hive \(it has Microsoft\\Windows NT"),
    ('minimal.hive', 'HKLM:\\SOFTWARE\\Sanboot',
     r"is in the SOFTWARE hive, but .*minimal.hive is a user hive .*header names it .*DEFAULT"),
    ('win7-sp1-x86.SYSTEM', 'ControlSet001\\..\\Sanboot', r"has a '\.\.' component"),
    ('win7-sp1-x86.SYSTEM', 'HKLM:\\SYSTEM\\.\\Sanboot', r"has a '\.' component"),
    ('win7-sp1-x86.SYSTEM', 'C:\\Windows\\System32\\config\\SYSTEM', 'file path with a drive letter'),
    ('win7-sp1-x86.SYSTEM', 'c:', 'file path with a drive letter'),
    ('win7-sp1-x86.SYSTEM', '\\\\server\\share\\Sanboot', 'UNC path'),
    ('win7-sp1-x86.SYSTEM', '//server/share', 'UNC path'),
])
def test_paths_outside_the_hive_are_refused(hive_copy, hive, path, message):
    target = hive_copy(hive)
    before = sha(target)
    with pytest.raises(RegistryError, match=message):
        run_plan(target, regedit_plan(path, name='x', data=1, type_name='dword'))
    assert sha(target) == before


def test_paths_inside_the_hive_are_taken(hive_copy):
    software = hive_copy('phony-win10.SOFTWARE')
    for path in ('HKLM:\\SOFTWARE\\Sanboot\\A', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Sanboot\\B', 'Sanboot\\C',
                 '\\Sanboot\\D', 'Sanboot\\x..y'):
        result = run_plan(software, regedit_plan(path, name='x', data=1, type_name='dword'))
        assert result['changed'] and result['diff']['after'].startswith('[HKEY_LOCAL_MACHINE\\SOFTWARE\\Sanboot')
    # A hive that does not say which one it is takes the path's word for it.
    special = hive_copy('special-names.hive')
    assert run_plan(special, regedit_plan('HKLM:\\SOFTWARE\\Sanboot', name='x', data=1,
                                          type_name='dword'))['changed']


def test_lock_dir_is_where_the_lock_is_and_nothing_is_left_beside_the_hive(hive_copy, tmp_path_factory):
    path, locks = hive_copy('win7-sp1-x86.SYSTEM'), str(tmp_path_factory.mktemp('locks'))
    assert regedit.run(dict(hive=path, path=TCPIP, name='SanbootProbe', data=1, type='dword', backup=False,
                            lock_dir=locks), check_mode=False)['changed']
    assert len(os.listdir(locks)) == 1 and os.listdir(locks)[0].endswith('-win7-sp1-x86.SYSTEM.lock')
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]
