# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iscsi_boot / iscsi_boot_info jobs on hive files: shared by the offline and image front-ends."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.windows import driverstore, iscsiboot
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner, RegistryError, Value, fold

# Options of iscsi_boot and iscsi_boot_info; their live twins take all but software_hive (DRIVER_ARGS).
DRIVER_ARGS = dict(
    nics=dict(type='list', elements='raw'),
    drivers=dict(type='list', elements='path', default=[]),
    lenient=dict(type='bool', default=False),
    templates=dict(type='dict'),
)
OPTION_ARGS = dict(DRIVER_ARGS, software_hive=dict(type='path'), drivers_hive=dict(type='path'))
# Offline only: the first-boot step needs to write a file into the installation.
FIRST_BOOT_ARGS = dict(first_boot=dict(type='bool'))

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


def _system_root(software):
    """The Windows folder as Windows names it (SOFTWARE ...\\CurrentVersion\\SystemRoot), for paths Windows records."""
    if software is not None:
        value = software.get_value(('Microsoft', 'Windows NT', 'CurrentVersion'), 'SystemRoot')
        text = value.decoded() if value is not None else None
        if isinstance(text, str) and re.match(r'^[A-Za-z]:\\', text):
            return text
    return 'C:\\Windows'


def resolve_drivers(reader, control_set, os_info, nics, packages, lenient, templates, required=True, drivers_db=None):
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
        driver = iscsiboot.find_driver(reader, control_set, os_info, nic, package, drivers_db)
        if driver is None:
            if required:
                raise iscsiboot.BootError(
                    'no driver for %s is known to this Windows (%s): give its driver package in drivers:%s'
                    % (nic, os_info.name, ', or the DRIVERS hive (drivers_hive) when Windows has it installed'
                       if os_info.family == 'ddb' and drivers_db is None else
                       '' if os_info.family == 'ddb' else
                       ', or the in-box service in nics: ({id: ..., service: ...}) if you know it'))
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
    local = dict(params, hive=system, software_hive=extras.get('SOFTWARE') or params.get('software_hive'),
                 drivers_hive=extras.get('DRIVERS') or params.get('drivers_hive'), _view=extras.get('_view'))
    if not params.get('hive'):
        local['backup'] = False     # inside an image the editor keeps the backup beside the hive
    return local


def run_iscsi_boot(params, check_mode):
    """sanboot.windows.iscsi_boot on a SYSTEM hive file or inside disk images (params as in the module)."""
    return offline.dispatch(params, check_mode,
                            lambda system, extras: _run_iscsi_boot_file(_local(params, system, extras), check_mode),
                            extra_hives=('SOFTWARE', 'DRIVERS'))


def run_iscsi_boot_info(params):
    """sanboot.windows.iscsi_boot_info on a SYSTEM hive file or inside disk images: the report, nothing written."""
    return offline.dispatch(params, True, lambda system, extras: _run_iscsi_boot_info_file(
        _local(params, system, extras)), extra_hives=('SOFTWARE', 'DRIVERS'))


def _options(params, view):
    first_boot = params.get('first_boot')
    if first_boot and view is None:
        raise iscsiboot.BootError('first_boot needs an image (the first-boot step is a file in the installation); '
                                  'with a hive file, set it to false or leave it unset')
    return iscsiboot.Options(
        control_sets=params.get('control_sets', 'current'),
        wfp_filter_optional=params.get('wfp_filter_optional', True),
        boot_driver_flags=params.get('boot_driver_flags', True),
        auto_reboot=params.get('auto_reboot'),
        nic_power_management=params.get('nic_power_management', False),
        reset_device_policy=params.get('reset_device_policy', True),
        first_boot=view is not None if first_boot is None else first_boot,
        stage_with=params.get('_stage_with'),
    )


def _run_iscsi_boot_file(params, check_mode):
    nics = parse_nics(params.get('nics'))
    state = params.get('state', 'present')
    if state == 'present' and not nics:
        raise iscsiboot.BootError('nics is required with state=present')
    software = _software(params.get('software_hive'))
    view = params.get('_view')
    options = _options(params, view)
    hive_paths = [('SYSTEM', params['hive'])] + ([('DRIVERS', params['drivers_hive'])]
                                                 if params.get('drivers_hive') else [])

    def plan(hives, planners):
        hive, planner = hives['SYSTEM'], planners['SYSTEM']
        drivers_db, drivers_planner = hives.get('DRIVERS'), planners.get('DRIVERS')
        control_set = hive.control_sets('current')[0]
        os_info = iscsiboot.detect_os(hive, control_set, software)
        if state == 'absent':
            out = _plan_absent(hive, planner, drivers_db, drivers_planner, control_set, view)
            out['os'] = os_info.as_dict()
            return out
        drivers, warnings = resolve_drivers(hive, control_set, os_info, nics, params.get('drivers'),
                                            params.get('lenient', False), params.get('templates'),
                                            drivers_db=drivers_db)
        # SystemRoot: only for what staging records (a running host's pnputil stages by itself)
        system_root = _system_root(software) if os_info.family == 'ddb' and options.stage_with is None else None
        out = iscsiboot.plan_iscsi_boot(hive, planner, os_info, nics, drivers, options, drivers_planner, view,
                                        system_root=system_root or 'C:\\Windows')
        stagings = out.pop('_stagings')
        iscsiboot.record_originals(planner, list(planner.plan.ops))
        if drivers_planner is not None and drivers_planner.plan.ops:
            iscsiboot.record_originals(drivers_planner, list(drivers_planner.plan.ops))
        for staging in stagings:
            for path, value in driverstore.state_records(iscsiboot.STATE_KEY, staging, view):
                planner.ensure_value(path, value)
        if out.get('first_boot'):
            planner.ensure_value(iscsiboot.STATE_KEY, Value.multi_sz('Files', [driverstore.FIRST_BOOT_SCRIPT]))
        out['warnings'] = warnings + out['warnings']
        out['os'] = os_info.as_dict()
        if stagings and drivers_planner is None:
            out['warnings'].append(
                'the DRIVERS hive was not given: the package was recorded in SYSTEM only, and its DriverStore folder, '
                'published INF and catalog (files_to_copy) are not in the installation. Give drivers_hive, or use the '
                'image modules, to stage it completely')
        if view is None:
            out['files_to_copy'] = [{'source': src if isinstance(src, str) else None, 'target': rel}
                                    for src, rel in out['_files']]
            for entry in out['nics']:
                if entry.get('service_created'):
                    out['warnings'].append(
                        'service %s was created from its driver package: its files (%s) must be copied into the '
                        'installation too (the image modules do that)' % (entry['service'], ', '.join(
                            f['name'] for f in entry.get('files') or []) or 'see files'))
        # The doctor's verdict on the result, read through the plans.
        findings, ready = iscsiboot.diagnose(planner, os_info, control_set, nics, drivers, drivers_db=drivers_planner)
        out['ready'] = ready
        out['findings'] = findings
        return out

    result = offline.run_hives(hive_paths, plan, check_mode=check_mode, backup=params.get('backup', True),
                               allow_dirty=params.get('allow_dirty', False))
    if view is None:
        # A hive file: nothing to write files with (files_to_copy / files_to_remove say what to do).
        result.pop('_files', None)
        result.pop('_remove_files', None)
    return result


def _plan_absent(hive, planner, drivers_db, drivers_planner, control_set, view):
    """state=absent on SYSTEM (and DRIVERS): keep what Windows has made its own since, take back the rest."""
    staged = driverstore.staged_packages(hive, iscsiboot.STATE_KEY)
    kept, removed, files = [], [], []
    for package in staged:
        why = driverstore.adopted(package, hive, drivers_db, control_set, view)
        if why:
            kept.append(dict(package, reason=why))
        else:
            removed.append(package)
            files.extend(package['files'])
    first = hive.get_value(iscsiboot.STATE_KEY, 'Files') if hive.key_exists(iscsiboot.STATE_KEY) else None
    files.extend(first.decoded() if first is not None else [])
    keep = driverstore.keep_predicate(kept) if kept else None
    if kept:
        services = _package_services(hive, control_set, kept)
        base = keep

        def keep(path, name=None):
            folded = tuple(fold(p) for p in path)
            return base(path, name) or any(folded[:len(s)] == s for s in services)
    out = iscsiboot.plan_restore(hive, planner, keep)
    if drivers_planner is not None:
        out['restored'] += iscsiboot.plan_restore(drivers_db, drivers_planner, keep)['restored']
    out['warnings'] = ['driver package %s (%s) stays: %s' % (p['inf'], p['package'], p['reason']) for p in kept]
    out['packages_kept'] = [p['inf'] for p in kept]
    out['packages_removed'] = [p['inf'] for p in removed]
    out['_remove_files'] = files
    if view is None and files:
        out['files_to_remove'] = files
    return out


def _package_services(hive, control_set, packages):
    """Services\\<svc> keys whose Owners name one of ``packages``' INFs (the service came with the package)."""
    infs = set(fold(p['inf']) for p in packages)
    out = []
    base = (control_set, 'Services')
    for name in hive.subkeys(base) if hive.key_exists(base) else []:
        owners = hive.get_value(base + (name,), 'Owners')
        data = owners.decoded() if owners is not None else []
        if isinstance(data, list) and any(fold(o) in infs for o in data):
            out.append(tuple(fold(p) for p in base + (name,)))
    return out


def _run_iscsi_boot_info_file(params):
    nics = parse_nics(params.get('nics'))
    software = _software(params.get('software_hive'))
    hive = Hive(params['hive'], allow_dirty=True)
    drivers_db = Hive(params['drivers_hive'], allow_dirty=True) if params.get('drivers_hive') else None
    select = hive.select()
    control_set = hive.control_sets('current')[0]
    os_info = iscsiboot.detect_os(hive, control_set, software)
    planner = Planner(hive)
    drivers, warnings = resolve_drivers(planner, control_set, os_info, nics, params.get('drivers'),
                                        params.get('lenient', False), params.get('templates'), required=False,
                                        drivers_db=drivers_db)
    findings, ready = iscsiboot.diagnose(hive, os_info, control_set, nics, drivers, dirty=hive.header.dirty,
                                         drivers_db=drivers_db, view=params.get('_view'))
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
