# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a planning function against an offline hive file: plan, diff, then (unless check mode) apply and commit.

Every offline module is this runner plus a planning function, so check mode, diff, backups and atomic writes
behave the same everywhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.sanboot.windows.plugins.module_utils.backends import lock
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
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
    from ansible_collections.sanboot.windows.plugins.module_utils.backends import image as image_backend
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
# The backup record's key for a hive file (images keep one per hive name: SYSTEM, SOFTWARE...).
HIVE_FILE = 'hive'


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


def run(hive_path, plan_fn, check_mode=False, backup=True, allow_dirty=False, hive_name=None,
        lock_timeout=lock.LOCK_TIMEOUT):
    """Open the hive, call plan_fn(hive, planner) -> dict, and apply the plan unless in check mode.

    A writer holds the hive's lock from before it reads the hive until the new one is in place, so concurrent runs
    each see the one before them. Returns the module result: changed, diff (.reg text before/after), reg (the plan
    as a .reg file a human could merge), changes (one dict per operation), backup_file, plus whatever plan_fn
    returned.
    """
    if check_mode or not os.path.isfile(hive_path):
        return _run(hive_path, plan_fn, check_mode, backup, allow_dirty, hive_name, None)
    with lock.acquire(hive_path, timeout=lock_timeout) as held:
        return _run(hive_path, plan_fn, check_mode, backup, allow_dirty, hive_name, held)


def _run(hive_path, plan_fn, check_mode, backup, allow_dirty, hive_name, held):
    hive = Hive(hive_path, write=not check_mode, allow_dirty=allow_dirty)
    planner = Planner(hive)
    extra = plan_fn(hive, planner) or {}
    plan = planner.plan
    hive.check_plan(plan)
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
        lock.refuse_unwritable(hive_path, held=held)
        hive.apply(plan)
        # One backup per series of writes (a play's tasks on this hive): reuse the one made before the series.
        previous = held.reusable_backup(HIVE_FILE) if held else None
        made = hive.commit(backup=backup and not previous)
        if held:
            held.remember_write(HIVE_FILE, made or previous)
        result['backup_file'] = (made or previous) if backup else None
    result.update(extra)
    return result


def run_hives(hive_paths, plan_fn, check_mode=False, backup=True, allow_dirty=False, lock_timeout=lock.LOCK_TIMEOUT):
    """``run`` on several hives of one installation: ``hive_paths`` is [(name, path)], SYSTEM first; ``plan_fn(hives,
    planners)`` gets both as {name: ...}. The result is ``run``'s for the first hive; changes to the others are added
    to changes (with ``hive``), reg, diff and ``backup_files``.

    A writer holds every hive's lock (in the order given) for the whole cycle. The other hives are written before the
    first, each atomically: a crash in between leaves, say, DRIVERS records without their SYSTEM counterpart, which a
    second run completes (docs/how-it-works.md).
    """
    helds = {}
    try:
        for name, path in hive_paths:
            if not check_mode and os.path.isfile(path):
                helds[name] = lock.acquire(path, timeout=lock_timeout).__enter__()
        return _run_hives(hive_paths, plan_fn, check_mode, backup, allow_dirty, helds)
    finally:
        for name, _path in reversed(hive_paths):
            if name in helds:
                helds[name].__exit__(None, None, None)


def _run_hives(hive_paths, plan_fn, check_mode, backup, allow_dirty, helds):
    hives, planners = {}, {}
    for name, path in hive_paths:
        hives[name] = Hive(path, write=not check_mode, allow_dirty=allow_dirty)
        planners[name] = Planner(hives[name])
    extra = plan_fn(hives, planners) or {}
    first = hive_paths[0][0]
    result = dict(changed=False, changes=[], reg='', diff=dict(before='', after=''), backup_file=None,
                  backup_files={}, dirty=hives[first].header.dirty)
    for name, path in hive_paths:
        plan = planners[name].plan
        hives[name].check_plan(plan)
        prefix = 'HKEY_LOCAL_MACHINE\\%s' % name
        before, after = plan.diff(prefix)
        changes = plan.as_list()
        if name != first:
            for change in changes:
                change['hive'] = name
        result['changes'].extend(changes)
        if plan:
            result['changed'] = True
            result['reg'] += plan.to_reg(prefix) if not result['reg'] else plan.to_reg(prefix).split('\n', 1)[1]
            result['diff']['before'] += before
            result['diff']['after'] += after
    header = ', '.join('%s (%s)' % (path, 'HKEY_LOCAL_MACHINE\\%s' % name) for name, path in hive_paths
                       if planners[name].plan or name == first)
    result['diff']['before_header'] = result['diff']['after_header'] = header
    if not check_mode:
        order = list(reversed(hive_paths[1:])) + [hive_paths[0]]
        for name, path in order:
            if planners[name].plan:
                lock.refuse_unwritable(path, held=helds.get(name))
        for name, path in order:
            if not planners[name].plan:
                continue
            held = helds.get(name)
            hives[name].apply(planners[name].plan)
            previous = held.reusable_backup(HIVE_FILE) if held else None
            made = hives[name].commit(backup=backup and not previous)
            if held:
                held.remember_write(HIVE_FILE, made or previous)
            result['backup_files'][name] = (made or previous) if backup else None
        result['backup_file'] = result['backup_files'].get(first)
    result.update(extra)
    return result


def split_hive_path(path):
    """'HKLM:\\SYSTEM\\X\\Y' -> ('SYSTEM', ('X', 'Y')); hive-relative 'X\\Y' -> (None, ('X', 'Y')).

    Refused like ansible.windows.win_regedit refuses them (it takes only HK..:\\ paths): file paths with a drive
    letter and UNC paths. Also refused: '.' and '..' components, which the registry does not resolve (Windows would
    create a key literally named '..').
    """
    text = path.strip()
    if text.startswith(('\\\\', '//')):
        raise RegistryError('path %r is a UNC path (\\\\server\\share), not a registry key; give the key inside the '
                            'hive file, or HKLM:\\<HIVE>\\...' % path)
    if re.match(r'^[A-Za-z]:([\\/]|$)', text):
        raise RegistryError('path %r is a file path with a drive letter, not a registry key; give the hive file in '
                            'hive: and the key inside it in path:' % path)
    head = text.split('\\', 1)[0]
    if head.upper() in ROOT_ALIASES:
        rest = _user_parts(path, text.split('\\', 1)[1] if '\\' in text else '')
        if not rest:
            raise RegistryError('path %r names no hive under %s' % (path, head))
        return rest[0].upper(), rest[1:]
    if head.upper().startswith(('HKCU', 'HKEY_CURRENT_USER', 'HKCR', 'HKEY_CLASSES_ROOT', 'HKU', 'HKEY_USERS',
                                'HKCC', 'HKEY_CURRENT_CONFIG')):
        raise RegistryError('path %r is not under HKLM; give the path inside the hive file (or HKLM:\\<HIVE>\\...)'
                            % path)
    return None, _user_parts(path, text)


def _user_parts(path, text):
    parts = split_path(text)
    for part in parts:
        if part.strip() in ('.', '..'):
            raise RegistryError('path %r has a %r component: registry paths have no parent or current-key references '
                                '(Windows would create a key literally named %r); give the key\'s full path'
                                % (path, part, part))
    return parts


def refuse_other_hive(hive, hive_name, path):
    """A path under HKLM:\\<hive_name> on a file that is another hive: refused, naming both."""
    kind, reason = hive_kind(hive)
    if hive_name and kind and kind != hive_name:
        raise RegistryError(
            'path %r is in the %s hive, but %s is %s (%s). Nothing was changed. Give the %s hive file in hive: '
            '(Windows\\System32\\config\\%s), or a path in this hive (HKLM:\\%s\\... or a path relative to '
            'the hive\'s root).' % (path, hive_name, hive.path, KIND_LABEL.get(kind, 'the %s hive' % kind), reason,
                                    hive_name, hive_name, kind if kind != 'USER' else '<key>'))


def plan_regedit(path, name=None, data=None, type_name='string', state='present', delete_key=True):
    """A plan_fn with ansible.windows.win_regedit's semantics, on a hive file."""
    hive_name, rel = split_hive_path(path)

    def plan_fn(hive, planner):
        refuse_other_hive(hive, hive_name, path)
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
