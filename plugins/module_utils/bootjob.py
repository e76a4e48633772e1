# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iscsi_boot / iscsi_boot_info jobs on hive files: shared by the offline and image front-ends."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils import iscsiboot, offline
from ansible_collections.sanboot.windows.plugins.module_utils.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner, RegistryError

# Options of iscsi_boot and iscsi_boot_info; their live twins take all but software_hive (DRIVER_ARGS).
DRIVER_ARGS = dict(
    nics=dict(type='list', elements='raw'),
    drivers=dict(type='list', elements='path', default=[]),
    lenient=dict(type='bool', default=False),
    templates=dict(type='dict'),
)
OPTION_ARGS = dict(DRIVER_ARGS, software_hive=dict(type='path'))

# The settings of the conversion, as iscsi_boot and its live twin win_iscsi_boot take them.
CONVERSION_ARGS = dict(
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    wfp_filter_optional=dict(type='bool', default=True),
    boot_driver_flags=dict(type='bool', default=True),
    auto_reboot=dict(type='bool'),
    nic_power_management=dict(type='bool', default=False),
    reset_device_policy=dict(type='bool', default=True),
    control_sets=dict(type='str', choices=['current', 'all'], default='current'),
)


def _software(path):
    # Only read; a dirty SOFTWARE hive still says which Windows it belongs to.
    return Hive(path, allow_dirty=True) if path else None


def resolve_drivers(reader, control_set, os_info, nics, packages, lenient, templates, required=True):
    """{nic id: Driver} and warnings; raises when a NIC has no driver and ``required``."""
    drivers, warnings = {}, []
    for nic in nics:
        package = None
        if packages:
            try:
                package, notes = iscsiboot.driver_from_package(packages, os_info, nic, lenient, templates)
                warnings.extend(notes)
            except RegistryError as exc:
                if nic.service is None and required:
                    raise iscsiboot.BootError('no driver for %s in %s: %s' % (nic, ', '.join(packages), exc))
                warnings.append('no driver for %s in the packages: %s' % (nic, exc))
        driver = iscsiboot.find_driver(reader, control_set, os_info, nic, package)
        if driver is None:
            if required:
                raise iscsiboot.BootError(
                    'no driver for %s is known to this Windows (%s): give its driver package in drivers:, or the '
                    'in-box service in nics: ({id: ..., service: ...}) if you know it' % (nic, os_info.name))
            continue
        drivers[nic.most_specific] = driver
    return drivers, warnings


def parse_nics(specs):
    nics = [iscsiboot.parse_nic(spec) for spec in specs or []]
    seen = set()
    for nic in nics:
        # a dual-port card: the same ID twice, one entry per port, told apart by location
        key = (nic.most_specific.upper(), nic.location)
        if key in seen:
            raise iscsiboot.BootError(
                '%s is listed twice in nics%s' % (nic, ' with the same location' if nic.location else
                                                  ': for the ports of a multi-port card give each its location '
                                                  '(PCIROOT(0)#PCI(0300)#PCI(0000))'))
        seen.add(key)
    return nics


def _local(params, system, extras):
    """Parameters for a run on one local SYSTEM file (a hive file, or a copy downloaded from an image)."""
    local = dict(params, hive=system, software_hive=extras.get('SOFTWARE') or params.get('software_hive'))
    if not params.get('hive'):
        local['backup'] = False     # inside an image the editor keeps the backup beside the hive
    return local


def run_iscsi_boot(params, check_mode):
    """sanboot.windows.iscsi_boot on a SYSTEM hive file or inside disk images (params as in the module)."""
    return offline.dispatch(params, check_mode,
                            lambda system, extras: _run_iscsi_boot_file(_local(params, system, extras), check_mode),
                            extra_hives=('SOFTWARE',))


def run_iscsi_boot_info(params):
    """sanboot.windows.iscsi_boot_info on a SYSTEM hive file or inside disk images: the report, nothing written."""
    return offline.dispatch(params, True, lambda system, extras: _run_iscsi_boot_info_file(
        _local(params, system, extras)), extra_hives=('SOFTWARE',))


def _run_iscsi_boot_file(params, check_mode):
    nics = parse_nics(params.get('nics'))
    state = params.get('state', 'present')
    if state == 'present' and not nics:
        raise iscsiboot.BootError('nics is required with state=present')
    software = _software(params.get('software_hive'))
    options = iscsiboot.Options(
        control_sets=params.get('control_sets', 'current'),
        wfp_filter_optional=params.get('wfp_filter_optional', True),
        boot_driver_flags=params.get('boot_driver_flags', True),
        auto_reboot=params.get('auto_reboot'),
        nic_power_management=params.get('nic_power_management', False),
        reset_device_policy=params.get('reset_device_policy', True),
    )

    def plan(hive, planner):
        control_set = hive.control_sets('current')[0]
        os_info = iscsiboot.detect_os(hive, control_set, software)
        if state == 'absent':
            out = iscsiboot.plan_restore(hive, planner)
            out['os'] = os_info.as_dict()
            out['warnings'] = []
            return out
        drivers, warnings = resolve_drivers(hive, control_set, os_info, nics, params.get('drivers'),
                                            params.get('lenient', False), params.get('templates'))
        out = iscsiboot.plan_iscsi_boot(hive, planner, os_info, nics, drivers, options)
        iscsiboot.record_originals(planner, list(planner.plan.ops))
        out['warnings'] = warnings + out['warnings']
        out['os'] = os_info.as_dict()
        for entry in out['nics']:
            if entry.get('service_created'):
                out['warnings'].append(
                    'service %s was created from its driver package: its files (%s) must be copied into the '
                    'installation too (the image modules do that)' % (entry['service'], ', '.join(
                        f['name'] for f in entry.get('files') or []) or 'see files'))
        # The doctor's verdict on the result, read through the plan.
        findings, ready = iscsiboot.diagnose(planner, os_info, control_set, nics, drivers)
        out['ready'] = ready
        out['findings'] = findings
        return out

    return offline.run(params['hive'], plan, check_mode=check_mode, backup=params.get('backup', True),
                       allow_dirty=params.get('allow_dirty', False))


def _run_iscsi_boot_info_file(params):
    nics = parse_nics(params.get('nics'))
    software = _software(params.get('software_hive'))
    hive = Hive(params['hive'], allow_dirty=True)
    select = hive.select()
    control_set = hive.control_sets('current')[0]
    os_info = iscsiboot.detect_os(hive, control_set, software)
    planner = Planner(hive)
    drivers, warnings = resolve_drivers(planner, control_set, os_info, nics, params.get('drivers'),
                                        params.get('lenient', False), params.get('templates'), required=False)
    findings, ready = iscsiboot.diagnose(hive, os_info, control_set, nics, drivers, dirty=hive.header.dirty)
    return {
        'changed': False,
        'os': os_info.as_dict(),
        'control_sets': {'current': control_set, 'select': select, 'all': hive.control_sets('all')},
        'adapters': iscsiboot.adapters(hive, control_set),
        'nics': [dict(id=n.most_specific, hardware_ids=n.hardware_ids,
                      driver=drivers[n.most_specific].as_dict() if n.most_specific in drivers else None)
                 for n in nics],
        'findings': findings,
        'ready': ready if nics else None,
        'converted': hive.key_exists(iscsiboot.STATE_KEY),
        'dirty': hive.header.dirty,
        'warnings': warnings,
    }
