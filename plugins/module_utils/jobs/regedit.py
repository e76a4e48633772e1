# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hive_regedit job: ansible.windows.win_regedit's semantics on a hive file or inside disk images."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, split_path, value_from_user
from ansible_collections.sanboot.windows.plugins.module_utils.windows.hives import KIND_LABEL, hive_kind, hive_prefix

ROOT_ALIASES = ('HKLM:', 'HKLM', 'HKEY_LOCAL_MACHINE')

# The module's options besides the target (jobs/offline.py HIVE_ARGS): win_regedit's, with its aliases.
REGEDIT_ARGS = dict(
    path=dict(type='str', required=True, aliases=['key']),
    name=dict(type='str', aliases=['entry', 'value']),
    data=dict(type='raw'),
    type=dict(type='str', default='string', aliases=['datatype'],
              choices=['none', 'binary', 'dword', 'expandstring', 'multistring', 'string', 'qword']),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    delete_key=dict(type='bool', default=True),
)


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


class Edit(object):
    """What one win_regedit-style edit names: the hive (None: the file's own), the key path inside it, and the
    value or key to set or delete."""

    def __init__(self, path, name=None, data=None, type_name='string', state='present', delete_key=True):
        self.path = path
        self.hive_name, self.rel = split_hive_path(path)
        self.name, self.data, self.type_name, self.state, self.delete_key = name, data, type_name, state, delete_key


def plan_edit(edit, hive, planner):
    """Plan ``edit`` with ansible.windows.win_regedit's semantics; returns the result's fields (key, data_changed,
    data_type_changed)."""
    path, name, data, rel = edit.path, edit.name, edit.data, edit.rel
    hive_name = edit.hive_name
    refuse_other_hive(hive, hive_name, path)
    if hive_name and hive_name != 'SYSTEM' and rel and rel[0].upper() == 'CURRENTCONTROLSET':
        raise RegistryError('CurrentControlSet only exists in the SYSTEM hive')
    key = hive.resolve(rel)
    if not key:
        raise RegistryError('path %r names the root of the hive; give a key inside it' % path)
    out = {'data_changed': False, 'data_type_changed': False}
    if edit.state == 'present':
        if name is None and data is None:
            planner.ensure_key(key)
            out['key'] = '\\'.join(planner.real_path(key))
            return out
        value = value_from_user(name or '', edit.type_name, data)
        current = planner.get_value(key, value.name) if planner.key_exists(key) else None
        if planner.ensure_value(key, value):
            out['data_changed'] = current is None or current.data != value.data
            out['data_type_changed'] = current is not None and current.type != value.type
    else:
        if name is not None:
            planner.ensure_value_absent(key, name)
        elif edit.delete_key:
            planner.ensure_key_absent(key)
        else:
            planner.ensure_value_absent(key, '')
    out['key'] = '\\'.join(planner.real_path(key))
    return out


def run(params, check_mode):
    """sanboot.windows.hive_regedit on a hive file or inside disk images (params as in the module)."""
    edit = Edit(params['path'], name=params.get('name'), data=params.get('data'),
                type_name=params.get('type') or 'string', state=params.get('state') or 'present',
                delete_key=params.get('delete_key', True))
    hive_name = edit.hive_name or 'SYSTEM'
    with offline.Target(params, check_mode, hive_name=hive_name) as target:
        outcomes = []
        for place in target.places:
            with HiveSet([(hive_name, place.hives[hive_name])], check_mode,
                         allow_dirty=params.get('allow_dirty', False), lock_dir=params.get('lock_dir')) as hives:
                hive = hives.hives[hive_name]
                fields = plan_edit(edit, hive, hives.planners[hive_name])
                write = hives.write(backup=place.backup)[0]
            result = offline.hive_result(write, hive, hive_prefix(hive, edit.hive_name), check_mode, place.backup)
            result.update(fields)
            outcomes.append(offline.Outcome(result))
        return target.finish(outcomes)
