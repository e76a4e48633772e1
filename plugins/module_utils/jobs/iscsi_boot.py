# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iscsi_boot and iscsi_boot_info jobs: the conversion (windows/conversion.py) and the doctor
(windows/doctor.py) on the hives of one installation - a SYSTEM hive file with its SOFTWARE and DRIVERS hives, or
an installation inside disk images. The live job (jobs/live.py) runs the same functions on partial hives read from
a running host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner
from ansible_collections.sanboot.windows.plugins.module_utils.windows import adapters, conversion, doctor
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nic import parse_nics
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nicdriver import resolve_drivers
from ansible_collections.sanboot.windows.plugins.module_utils.windows.osinfo import detect_os
from ansible_collections.sanboot.windows.plugins.module_utils.windows.record import STATE_KEY

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
REQUIRED_IF = [('state', 'present', ('nics',))]


def argument_spec():
    """iscsi_boot's options and constraints: (spec, AnsibleModule keyword arguments)."""
    spec = dict(CONVERSION_ARGS)
    spec.update(offline.HIVE_ARGS)
    spec.update(OPTION_ARGS)
    spec.update(FIRST_BOOT_ARGS)
    return spec, dict(offline.TARGET_CHOICE, required_if=REQUIRED_IF)


def info_argument_spec():
    """iscsi_boot_info's options and constraints (it writes nothing: no backup, dirty hives are read as they are)."""
    spec = dict(offline.REPORT_HIVE_ARGS)
    spec.update(OPTION_ARGS)
    return spec, dict(offline.TARGET_CHOICE)


def _software(path):
    # Only read; a dirty SOFTWARE hive still says which Windows it belongs to.
    return Hive(path, allow_dirty=True) if path else None


def options(params, view=None, stage_with=None):
    """conversion.Options from the module's parameters. ``view``: the installation's files (images); ``stage_with``:
    'pnputil' when a running host stages new packages itself (jobs/live.py)."""
    first_boot = params.get('first_boot')
    if first_boot and view is None:
        raise BootError('first_boot needs an image (the first-boot step is a file in the installation); '
                        'with a hive file, set it to false or leave it unset')
    return conversion.Options(
        control_sets=params.get('control_sets', 'current'),
        wfp_filter_optional=params.get('wfp_filter_optional', True),
        boot_driver_flags=params.get('boot_driver_flags', True),
        auto_reboot=params.get('auto_reboot'),
        nic_power_management=params.get('nic_power_management', False),
        reset_device_policy=params.get('reset_device_policy', True),
        first_boot=view is not None if first_boot is None else first_boot,
        stage_with=stage_with,
    )


class Hives(object):
    """The hive files of one installation as a job gets them: SYSTEM, and SOFTWARE and DRIVERS when known."""

    def __init__(self, system, software=None, drivers=None):
        self.system, self.software, self.drivers = system, software, drivers

    @classmethod
    def of(cls, params, place):
        """A place's hives; a hive file's SOFTWARE and DRIVERS come from the parameters (and an image's too when
        the installation has none)."""
        return cls(place.hives['SYSTEM'], place.hives.get('SOFTWARE') or params.get('software_hive'),
                   place.hives.get('DRIVERS') or params.get('drivers_hive'))


def convert(params, hives, check_mode, view=None, backup=True, stage_with=None):
    """iscsi_boot on the hive files of one installation (``hives``: Hives); returns an offline.Outcome.

    ``stage_with='pnputil'``: a running host stages new driver packages itself (jobs/live.py runs this in check
    mode on the partial hives it read, and applies the plan's .reg text).
    """
    nics = parse_nics(params.get('nics'))
    state = params.get('state', 'present')
    if state == 'present' and not nics:
        raise BootError('nics is required with state=present')
    software = _software(hives.software)
    opts = options(params, view, stage_with)
    paths = [('SYSTEM', hives.system)] + ([('DRIVERS', hives.drivers)] if hives.drivers else [])
    files, driver_files, removals, planned_nics = [], [], [], []
    with HiveSet(paths, check_mode, allow_dirty=params.get('allow_dirty', False),
                 lock_dir=params.get('lock_dir')) as opened:
        hive, planner = opened.hives['SYSTEM'], opened.planners['SYSTEM']
        drivers_db, drivers_planner = opened.hives.get('DRIVERS'), opened.planners.get('DRIVERS')
        if state == 'absent':
            control_set = hive.control_sets('current')[0]
            os_info = detect_os(hive, control_set, software)
            undo = conversion.undo(hive, planner, drivers_db, drivers_planner, control_set, view)
            fields, warnings, removals = undo.as_dict(), undo.warnings, undo.removals
            if view is None and removals:
                fields['files_to_remove'] = removals
        else:
            os_info, drivers, planned = conversion.convert(
                hive, planner, drivers_db, drivers_planner, software, nics, params.get('drivers'), opts,
                params.get('lenient', False), params.get('templates'), view)
            fields, warnings = planned.as_dict(), planned.warnings
            files, planned_nics = planned.files, planned.nics
            driver_files = [n.driver.files or [] for n in planned.nics if n.service_created]
            if view is None:
                # A hive file: nothing to write files with; files_to_copy says what to do.
                fields['files_to_copy'] = [{'source': src if isinstance(src, str) else None, 'target': rel}
                                           for src, rel in files]
            # The doctor's verdict on the result, read through the plans.
            findings, ready = doctor.diagnose(planner, os_info, control_set_of(hive), nics, drivers,
                                              drivers_db=drivers_planner)
            fields['ready'] = ready
            fields['findings'] = [f.as_dict() for f in findings]
        fields['os'] = os_info.as_dict()
        writes = opened.write(backup=backup)
        result = offline.hives_result(writes, opened.hives, check_mode)
    result.update(fields)
    result['warnings'] = warnings
    return offline.Outcome(result, files, driver_files, removals, [w.name for w in writes[1:] if w.plan],
                           planned_nics, os_info)


def control_set_of(hive):
    return hive.control_sets('current')[0]


def report(params, hives, view=None):
    """iscsi_boot_info on the hive files of one installation: the doctor's report, nothing written."""
    nics = parse_nics(params.get('nics'))
    software = _software(hives.software)
    hive = Hive(hives.system, allow_dirty=True)
    drivers_db = Hive(hives.drivers, allow_dirty=True) if hives.drivers else None
    select = hive.select()
    control_set = control_set_of(hive)
    os_info = detect_os(hive, control_set, software)
    planner = Planner(hive)
    drivers, warnings = resolve_drivers(planner, control_set, os_info, nics, params.get('drivers'),
                                        params.get('lenient', False), params.get('templates'), required=False,
                                        drivers_db=drivers_db)
    findings, ready = doctor.diagnose(hive, os_info, control_set, nics, drivers, dirty=hive.header.dirty,
                                      drivers_db=drivers_db, view=view)
    return {
        'changed': False,
        'os': os_info.as_dict(),
        'control_sets': {'current': control_set, 'select': select, 'all': hive.control_sets('all')},
        'adapters': adapters.adapters(hive, control_set),
        'nics': [dict(id=n.most_specific, hardware_ids=n.hardware_ids,
                      driver=drivers[n.most_specific].as_dict() if n.most_specific in drivers else None)
                 for n in nics],
        'findings': [f.as_dict() for f in findings],
        'ready': ready if nics else None,
        'converted': hive.key_exists(STATE_KEY),
        'dirty': hive.header.dirty,
        'warnings': warnings,
    }


def run_iscsi_boot(params, check_mode):
    """sanboot.windows.iscsi_boot on a SYSTEM hive file or inside disk images (params as in the module)."""
    with offline.Target(params, check_mode, extra_hives=('SOFTWARE', 'DRIVERS')) as target:
        outcomes = [convert(params, Hives.of(params, place), check_mode, place.view, place.backup)
                    for place in target.places]
        return target.finish(outcomes)


def run_iscsi_boot_info(params, check_mode=True):
    """sanboot.windows.iscsi_boot_info on a SYSTEM hive file or inside disk images: the report, nothing written (in
    check mode or not)."""
    with offline.Target(params, True, extra_hives=('SOFTWARE', 'DRIVERS')) as target:
        outcomes = [offline.Outcome(report(params, Hives.of(params, place), place.view)) for place in target.places]
        return target.finish(outcomes)
