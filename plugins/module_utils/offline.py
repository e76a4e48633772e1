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
    hive=dict(type='path'),
    image=dict(type='path'),
    format=dict(type='str', choices=['raw', 'qcow2', 'vmdk', 'vhdx', 'vpc', 'vdi', 'qed']),
    root=dict(type='str'),
    images=dict(type='list', elements='dict', options=dict(
        path=dict(type='path', required=True),
        format=dict(type='str', choices=['raw', 'qcow2', 'vmdk', 'vhdx', 'vpc', 'vdi', 'qed']),
        root=dict(type='str'),
    )),
    backup=dict(type='bool', default=True),
    allow_dirty=dict(type='bool', default=False),
)
TARGET_CHOICE = dict(mutually_exclusive=[('hive', 'image', 'images')],
                     required_one_of=[('hive', 'image', 'images')])


def dispatch(params, check_mode, run_local, hive_name='SYSTEM', extra_hives=()):
    """Run ``run_local(hive path, {extra hive name: path or None})`` on a hive file, or inside disk images.

    With ``images`` the result is {'changed', 'results': [one result per image]}; with ``image`` it is that
    image's result.
    """
    if params.get('hive'):
        return run_local(params['hive'], {})
    from ansible_collections.sanboot.windows.plugins.module_utils import image as image_backend
    if params.get('image'):
        images = [dict(path=params['image'], format=params.get('format'), root=params.get('root'))]
    else:
        images = [dict(path=i['path'], format=i.get('format'), root=i.get('root')) for i in params['images']]
    job = image_backend.hive_job(run_local, hive=hive_name, extra_hives=extra_hives, check_mode=check_mode)
    results = image_backend.run_on_images(images, job, check_mode=check_mode, backup=params.get('backup', True))
    if params.get('image'):
        return results[0]
    warnings = [w for r in results for w in r.pop('warnings', [])]
    return {'changed': any(r.get('changed') for r in results), 'results': results, 'warnings': warnings}


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


def run_hives(hive_paths, plan_fn, check_mode=False, backup=True, allow_dirty=False):
    """``run`` on several hives of one installation: ``hive_paths`` is [(name, path)], SYSTEM first; ``plan_fn(hives,
    planners)`` gets both as {name: ...}. The result is ``run``'s for the first hive; changes to the others are added
    to changes (with ``hive``), reg, diff and ``backup_files``.

    The other hives are written before the first, each atomically: a crash in between leaves, say, DRIVERS records
    without their SYSTEM counterpart, which a second run completes (docs/how-it-works.md).
    """
    hives, planners = {}, {}
    for name, path in hive_paths:
        hives[name] = Hive(path, write=not check_mode, allow_dirty=allow_dirty)
        planners[name] = Planner(hives[name])
    extra = plan_fn(hives, planners) or {}
    result = dict(changed=False, changes=[], reg='', diff=dict(before='', after=''), backup_file=None,
                  backup_files={}, dirty=hives[hive_paths[0][0]].header.dirty)
    for name, path in hive_paths:
        plan = planners[name].plan
        prefix = 'HKEY_LOCAL_MACHINE\\%s' % name
        before, after = plan.diff(prefix)
        changes = plan.as_list()
        if name != hive_paths[0][0]:
            for change in changes:
                change['hive'] = name
        result['changes'].extend(changes)
        if plan:
            result['changed'] = True
            result['reg'] += plan.to_reg(prefix) if not result['reg'] else plan.to_reg(prefix).split('\n', 1)[1]
            result['diff']['before'] += before
            result['diff']['after'] += after
    header = ', '.join('%s (%s)' % (path, 'HKEY_LOCAL_MACHINE\\%s' % name) for name, path in hive_paths
                       if planners[name].plan or name == hive_paths[0][0])
    result['diff']['before_header'] = result['diff']['after_header'] = header
    if not check_mode:
        for name, path in list(reversed(hive_paths[1:])) + [hive_paths[0]]:
            if planners[name].plan:
                hives[name].apply(planners[name].plan)
                result['backup_files'][name] = hives[name].commit(backup=backup)
        result['backup_file'] = result['backup_files'].get(hive_paths[0][0])
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
