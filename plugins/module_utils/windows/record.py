# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restorable record: what a conversion changed, kept in the hive itself (HKLM\\SYSTEM\\sanboot.windows\\iscsi_boot),
so that state=absent puts back exactly what was there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_NONE, Value, dword_value, fold, split_path,
)
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError

STATE_KEY = ('sanboot.windows', 'iscsi_boot')
STATE_VERSION = 1


def _state_name(path, name=None):
    return '\\'.join(path) + ('\\' + name if name is not None else '')


def record_originals(planner, ops):
    """Add to the plan a record of what ``ops`` change, unless an earlier run recorded it already.

    Kept in the hive itself (STATE_KEY), so it travels with the hive or image: 'originals' holds each
    changed or deleted value with its exact type and bytes, 'absent' the values that did not exist,
    'created' and 'deleted' the keys. The first record wins: a later run never takes our own earlier
    change for the original.
    """
    existing = planner.key_exists(STATE_KEY)
    seen = set()

    def record(sub, value):
        family = 'keys' if sub in ('created', 'deleted') else 'values'
        marker = (family, fold(value.name))
        if marker in seen:
            return
        seen.add(marker)
        if existing:
            others = ('created', 'deleted') if family == 'keys' else ('originals', 'absent')
            if any(planner.get_value(STATE_KEY + (o,), value.name) is not None for o in others):
                return
        planner.ensure_value(STATE_KEY + (sub,), value)

    created = [tuple(fold(p) for p in op.path) for op in ops if op.kind == 'create_key']
    for op in ops:
        pid = tuple(fold(p) for p in op.path)
        if op.kind == 'create_key':
            if not any(len(c) < len(pid) and pid[:len(c)] == c for c in created):
                record('created', Value(_state_name(op.path), REG_NONE, b''))
        elif op.kind in ('set_value', 'delete_value'):
            if any(pid[:len(c)] == c for c in created):
                continue
            name = op.value.name if op.kind == 'set_value' else op.name
            if op.before is not None:
                record('originals', Value(_state_name(op.path, name), op.before.type, op.before.data))
            else:
                record('absent', Value(_state_name(op.path, name), REG_NONE, b''))
        elif op.kind == 'delete_key':
            for path, values in op.before:
                record('deleted', Value(_state_name(path), REG_NONE, b''))
                for value in values:
                    record('originals', Value(_state_name(path, value.name), value.type, value.data))
    if ops:
        planner.ensure_value(STATE_KEY, Value.dword('Version', STATE_VERSION))


def plan_restore(reader, planner, keep=None):
    """state=absent: undo every recorded change, then drop the record. Returns how many changes are taken back.

    ``keep(path, value name or None)`` -> True leaves a change in place: the records of a driver package Windows has
    installed for real since (driverstore.adopted), which are Windows' now.
    """
    state = STATE_KEY
    if not planner.key_exists(state):
        return 0
    version = dword_value(reader, state, 'Version')
    if version != STATE_VERSION:
        raise BootError('the hive holds sanboot.windows state of version %r; this version reads %d'
                        % (version, STATE_VERSION))
    count = 0

    def names(sub):
        key = state + (sub,)
        return reader.values(key) if reader.key_exists(key) else []

    def split(name, has_value):
        parts = name.split('\\')
        return (split_path(parts[:-1]), parts[-1]) if has_value else (split_path(parts), None)

    def kept(path, name=None):
        if keep is None:
            return False
        if name is None and reader.key_exists(path):
            return keep(path, None) or any(keep(path, v.name) for v in reader.values(path))
        return keep(path, name)

    created = sorted((split(v.name, False)[0] for v in names('created')), key=len, reverse=True)
    for path in created:
        if not kept(path) and planner.ensure_key_absent(path):
            count += 1
    for value in sorted(names('deleted'), key=lambda v: len(v.name)):
        planner.ensure_key(split(value.name, False)[0])
    for value in names('originals'):
        path, name = split(value.name, True)
        if not kept(path, name) and planner.ensure_value(path, Value(name, value.type, value.data)):
            count += 1
    for value in names('absent'):
        path, name = split(value.name, True)
        if not kept(path, name) and planner.ensure_value_absent(path, name):
            count += 1
    planner.ensure_key_absent(state)
    parent = state[:-1]
    if [fold(s) for s in reader.subkeys(parent)] == [fold(state[-1])] and not reader.values(parent):
        planner.ensure_key_absent(parent)
    return count
