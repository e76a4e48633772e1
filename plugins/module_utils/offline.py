# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a planning function against an offline hive file: plan, diff, then (unless check mode) apply and commit.

Every offline module is this runner plus a planning function, so check mode, diff, backups and atomic writes
behave the same everywhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    Planner, RegistryError, split_path, value_from_user,
)

# Argument spec shared by the offline modules (plain data, so this file needs no Ansible import).
HIVE_ARGS = dict(
    hive=dict(type='path', required=True),
    backup=dict(type='bool', default=True),
    allow_dirty=dict(type='bool', default=False),
)

ROOT_ALIASES = ('HKLM:', 'HKLM', 'HKEY_LOCAL_MACHINE')


def hive_prefix(hive, name=None):
    """Registry path the hive would be loaded under on Windows (for .reg text)."""
    if name:
        return 'HKEY_LOCAL_MACHINE\\%s' % name
    if hive.key_exists(('Select',)):
        return 'HKEY_LOCAL_MACHINE\\SYSTEM'
    if hive.key_exists(('Microsoft', 'Windows NT')):
        return 'HKEY_LOCAL_MACHINE\\SOFTWARE'
    return 'HKEY_LOCAL_MACHINE\\OFFLINE'


def run(hive_path, plan_fn, check_mode=False, backup=True, allow_dirty=False, hive_name=None):
    """Open the hive, call plan_fn(hive, planner) -> dict, and apply the plan unless in check mode.

    Returns the module result: changed, diff (.reg text before/after), reg (the plan as a .reg file a human
    could merge), changes (one dict per operation), backup_file, plus whatever plan_fn returned.
    """
    hive = Hive(hive_path, write=not check_mode, allow_dirty=allow_dirty)
    planner = Planner(hive)
    extra = plan_fn(hive, planner) or {}
    plan = planner.plan
    prefix = hive_prefix(hive, extra.pop('_hive_name', hive_name))
    before, after = plan.diff(prefix)
    result = dict(
        changed=bool(plan),
        changes=plan.as_list(),
        reg=plan.to_reg(prefix) if plan else '',
        diff=dict(before=before, after=after,
                  before_header='%s (%s)' % (hive_path, prefix), after_header='%s (%s)' % (hive_path, prefix)),
        backup_file=None,
        dirty=hive.header.dirty,
    )
    if plan and not check_mode:
        hive.apply(plan)
        result['backup_file'] = hive.commit(backup=backup)
    result.update(extra)
    return result


def split_hive_path(path):
    """'HKLM:\\SYSTEM\\X\\Y' -> ('SYSTEM', ('X', 'Y')); hive-relative 'X\\Y' -> (None, ('X', 'Y'))."""
    text = path.strip()
    head = text.split('\\', 1)[0]
    if head.upper() in ROOT_ALIASES:
        rest = split_path(text.split('\\', 1)[1] if '\\' in text else '')
        if not rest:
            raise RegistryError('path %r names no hive under %s' % (path, head))
        return rest[0].upper(), rest[1:]
    if head.upper().startswith(('HKCU', 'HKEY_CURRENT_USER', 'HKCR', 'HKEY_CLASSES_ROOT', 'HKU', 'HKEY_USERS',
                                'HKCC', 'HKEY_CURRENT_CONFIG')):
        raise RegistryError('path %r is not under HKLM; give the path inside the hive file (or HKLM:\\<HIVE>\\...)'
                            % path)
    return None, split_path(text)


def plan_regedit(path, name=None, data=None, type_name='string', state='present', delete_key=True):
    """A plan_fn with ansible.windows.win_regedit's semantics, on a hive file."""
    hive_name, rel = split_hive_path(path)

    def plan_fn(hive, planner):
        if hive_name and hive_name != 'SYSTEM' and rel and rel[0].upper() == 'CURRENTCONTROLSET':
            raise RegistryError('CurrentControlSet only exists in the SYSTEM hive')
        key = hive.resolve(rel)
        if not key:
            raise RegistryError('path %r names the root of the hive; give a key inside it' % path)
        out = {'_hive_name': hive_name, 'data_changed': False, 'data_type_changed': False}
        if state == 'present':
            if name is None and data is None:
                planner.ensure_key(key)
                out['key'] = '\\'.join(planner.real_path(key))
                return out
            value = value_from_user(name or '', type_name, data)
            current = planner.get_value(key, value.name) if planner.key_exists(key) else None
            if planner.ensure_value(key, value):
                out['data_changed'] = current is None or current.data != value.data
                out['data_type_changed'] = current is not None and current.type != value.type
        else:
            if name is not None:
                planner.ensure_value_absent(key, name)
            elif delete_key:
                planner.ensure_key_absent(key)
            else:
                planner.ensure_value_absent(key, '')
        out['key'] = '\\'.join(planner.real_path(key))
        return out

    return plan_fn
