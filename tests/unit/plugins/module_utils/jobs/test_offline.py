# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every offline job shares (jobs/offline.py): the target a task names (a hive file here; disk images are
tested with libguestfs in tests/integration/test_image.py), the result of a cycle on one or several hives as the
modules return it, and the target options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import sha256 as sha  # noqa: E402


def test_a_hive_file_is_one_place_and_its_result_is_the_modules(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    with offline.Target({'hive': path, 'backup': False}, False) as target:
        assert target.images is None and len(target.places) == 1
        place = target.places[0]
        assert (place.hives, place.view, place.editor, place.guest, place.backup) == ({'SYSTEM': path}, None, None,
                                                                                      {}, False)
        outcome = offline.Outcome({'changed': False, 'warnings': []})
        assert target.finish([outcome]) is outcome.result
    with offline.Target({'hive': path}, False, hive_name='SOFTWARE') as target:
        assert target.places[0].hives == {'SOFTWARE': path} and target.places[0].backup is True


def cycle(system, drivers, check_mode):
    with HiveSet([('SYSTEM', system), ('DRIVERS', drivers)], check_mode, allow_dirty=True) as hives:
        hives.planners['SYSTEM'].ensure_value(('Select',), Value.dword('SanbootProbe', 1))
        hives.planners['DRIVERS'].ensure_value(('SanbootNew',), Value.sz('Note', 'x'))
        writes = hives.write(backup=True)
        return writes, offline.hives_result(writes, hives.hives, check_mode)


def test_the_result_of_a_cycle_on_several_hives(hive_copy):
    system, drivers = hive_copy('win10-1903-x64-dirty.SYSTEM'), hive_copy('win10-1903-x64.DRIVERS')
    before = sha(system), sha(drivers)
    _writes, checked = cycle(system, drivers, True)
    assert (sha(system), sha(drivers)) == before
    assert checked['changed'] and checked['dirty'] and checked['backup_file'] is None and checked['backup_files'] == {}
    # the other hive's changes say which hive they are in; the .reg text has one header for both
    assert [(c['op'], c['key'], c.get('hive')) for c in checked['changes']] == [
        ('set_value', 'Select', None), ('create_key', 'SanbootNew', 'DRIVERS'), ('set_value', 'SanbootNew', 'DRIVERS')]
    assert checked['reg'].count('Windows Registry Editor Version 5.00') == 1
    assert '[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]' in checked['reg']
    assert '[HKEY_LOCAL_MACHINE\\DRIVERS\\SanbootNew]\n"Note"="x"' in checked['reg']
    assert checked['diff']['before_header'] == '%s (HKEY_LOCAL_MACHINE\\SYSTEM), %s (HKEY_LOCAL_MACHINE\\DRIVERS)' % (
        system, drivers)
    writes, written = cycle(system, drivers, False)
    assert dict(written, backup_file=None, backup_files={}) == checked
    assert written['backup_files'] == {'SYSTEM': writes[0].backup_file, 'DRIVERS': writes[1].backup_file}
    assert written['backup_file'] == writes[0].backup_file and (sha(written['backup_file']),
                                                                sha(written['backup_files']['DRIVERS'])) == before
    # nothing left to do: the result says so
    _writes, again = cycle(system, drivers, False)
    assert not again['changed'] and again['changes'] == [] and again['reg'] == '' and again['backup_files'] == {}


def test_the_result_of_a_cycle_on_one_hive(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    with HiveSet([('SYSTEM', path)]) as hives:
        hives.planners['SYSTEM'].ensure_value(('Select',), Value.dword('SanbootProbe', 1))
        write = hives.write(backup=False)[0]
        result = offline.hive_result(write, hives.hives['SYSTEM'], 'HKEY_LOCAL_MACHINE\\SYSTEM', False, False)
    assert result == {
        'changed': True, 'changes': write.plan.as_list(), 'dirty': False, 'backup_file': None,
        'reg': 'Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n'
               '"SanbootProbe"=dword:00000001\n\n',
        'diff': {'before': '', 'after': '[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n"SanbootProbe"=dword:00000001\n',
                 'before_header': '%s (HKEY_LOCAL_MACHINE\\SYSTEM)' % path,
                 'after_header': '%s (HKEY_LOCAL_MACHINE\\SYSTEM)' % path}}
    assert Hive(path).dword(('Select',), 'SanbootProbe') == 1


def test_the_target_options():
    assert offline.TARGET_CHOICE == {'mutually_exclusive': [('hive', 'image', 'images')],
                                     'required_one_of': [('hive', 'image', 'images')]}
    assert offline.HIVE_ARGS['backup'] == {'type': 'bool', 'default': True}
    # the reports write nothing
    assert set(offline.HIVE_ARGS) - set(offline.REPORT_HIVE_ARGS) == {'backup', 'allow_dirty', 'lock_dir'}
    assert offline.HIVE_ARGS['lock_dir'] == {'type': 'path'}      # default: SANBOOT_LOCK_DIR, else /run/lock/sanboot
    assert offline.HIVE_ARGS['images']['options']['format']['choices'] == offline.IMAGE_FORMATS
