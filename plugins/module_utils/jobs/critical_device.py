# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The critical_device job (Windows XP to 7 / 2008 R2): Critical Device Database entries and the service they name,
on a hive file or inside disk images; the same plan serves win_critical_device on a live host (jobs/live.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.windows.cddb import (
    class_guid, driver_package, plan_critical_device, service_values,
)
from ansible_collections.sanboot.windows.plugins.module_utils.windows.hives import hive_prefix

# The options critical_device and win_critical_device share (each adds its target's).
OPTIONS = {
    'hardware_ids': dict(type='list', elements='str'),
    'service': dict(type='str'),
    'class_guid': dict(type='str'),
    'class': dict(type='str'),
    'start': dict(type='raw'),
    'type': dict(type='raw'),
    'error_control': dict(type='raw'),
    'group': dict(type='str'),
    'image_path': dict(type='str'),
    'boot_flags': dict(type='int'),
    'state': dict(type='str', choices=['present', 'absent'], default='present'),
    'control_sets': dict(type='str', choices=['current', 'all'], default='current'),
}


# critical_device (offline): the entries can come from a driver package.
PACKAGE_ARGS = dict(
    driver=dict(type='path'),
    devices=dict(type='list', elements='str'),
    lenient=dict(type='bool', default=False),
    templates=dict(type='dict'),
)
CHOICES = dict(
    mutually_exclusive=[('class_guid', 'class'), ('driver', 'class_guid'), ('driver', 'class')],
    required_one_of=[('hardware_ids', 'driver')],
    required_if=[('state', 'present', ('service', 'driver'), True),
                 ('state', 'present', ('class_guid', 'class', 'driver'), True)],
    required_by={'devices': 'driver'},
)
# win_critical_device: hardware IDs only (a driver package would have to be installed on the host first).
LIVE_ARGS = dict(OPTIONS, hardware_ids=dict(type='list', elements='str', required=True))
LIVE_CHOICES = dict(
    mutually_exclusive=[['class_guid', 'class']],
    required_if=[['state', 'present', ['service']], ['state', 'present', ['class_guid', 'class'], True]],
)


def argument_spec():
    """critical_device's options and constraints: (spec, AnsibleModule keyword arguments)."""
    spec = dict(PACKAGE_ARGS)
    spec.update(OPTIONS)
    spec.update(offline.HIVE_ARGS)
    choices = dict(CHOICES)
    choices['mutually_exclusive'] = CHOICES['mutually_exclusive'] + offline.TARGET_CHOICE['mutually_exclusive']
    choices['required_one_of'] = offline.TARGET_CHOICE['required_one_of'] + CHOICES['required_one_of']
    return spec, choices


class Request(object):
    """The critical_device modules' parameters, checked before any hive is opened: the class GUID and the service
    values they give."""

    def __init__(self, p):
        self.params = p
        self.state = p.get('state') or 'present'
        self.guid = None
        if self.state == 'present' and not p.get('driver'):
            self.guid = class_guid(p.get('class_guid'), p.get('class'))
        self.explicit = service_values(start=p.get('start'), type_=p.get('type'), error_control=p.get('error_control'),
                                       group=p.get('group'), image_path=p.get('image_path'),
                                       boot_flags=p.get('boot_flags'))


def plan(request, hive, planner):
    """Plan ``request`` (offline, image and live alike) on ``hive``; returns the result's fields, warnings included."""
    p, explicit = request.params, request.explicit
    ids, service, klass, values, subkeys, extra = p.get('hardware_ids'), p.get('service'), request.guid, explicit, [], {}
    if p.get('driver'):
        package = driver_package(hive, p['driver'], p.get('devices'), p.get('lenient', False), p.get('templates'))
        ids = ids or package['hardware_ids']
        service = service or package['service']
        klass = package['class_guid']
        names = set(v.name.lower() for v in explicit)
        values = [v for sub, v in package['service_values'] if not sub and v.name.lower() not in names]
        values += explicit
        subkeys = [(sub, v) for sub, v in package['service_values'] if sub]
        extra = {'driver': {'inf': package['inf_path'], 'service': package['service'],
                            'reason': package.get('reason'), 'files': package['files']},
                 'warnings': list(package.get('warnings') or [])}
    out = plan_critical_device(hive, planner, ids or [], service=service, guid=klass, values=values,
                               state=request.state, control_sets=p.get('control_sets') or 'current',
                               subkey_values=subkeys)
    out['warnings'] = extra.pop('warnings', []) + out['warnings']
    out.update(extra)
    return out


def plan_on_file(request, path, check_mode, backup, allow_dirty, lock_dir=None):
    """The cycle on one SYSTEM hive file; returns the module result."""
    with HiveSet([('SYSTEM', path)], check_mode, allow_dirty=allow_dirty, lock_dir=lock_dir) as hives:
        hive = hives.hives['SYSTEM']
        fields = plan(request, hive, hives.planners['SYSTEM'])
        write = hives.write(backup=backup)[0]
    result = offline.hive_result(write, hive, hive_prefix(hive), check_mode, backup)
    result.update(fields)
    return result


def run(params, check_mode):
    """sanboot.windows.critical_device on a hive file or inside disk images (params as in the module)."""
    request = Request(params)
    backup = params.get('backup', True) and bool(params.get('hive'))
    with offline.Target(params, check_mode) as target:
        outcomes = [offline.Outcome(plan_on_file(request, place.hives['SYSTEM'], check_mode, backup,
                                                 params.get('allow_dirty', False), params.get('lock_dir')))
                    for place in target.places]
        return target.finish(outcomes)
