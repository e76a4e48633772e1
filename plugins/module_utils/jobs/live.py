# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live jobs (win_critical_device, win_iscsi_boot, win_iscsi_boot_info): read the keys the job names
(jobs/readset.py) from a running host into partial working hives (backends/live), run the offline job on them in
check mode (jobs/iscsi_boot.py, jobs/critical_device.py), stage a driver package where one is needed, apply the
plan's .reg text, and say exactly what is in effect when an import fails.

The three modules' argument specs are here too (LIVE_MODULES), built from the offline jobs' own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shutil

from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.commands import CURRENT
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.formats import (
    in_two_parts, present_instances, record_first, record_part, touches,
)
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.host import (
    ADMIN_HINT, NOTHING_CHANGED, LiveHost, clip, read_bytes,
)
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.transport import WinRMError
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import critical_device, iscsi_boot
from ansible_collections.sanboot.windows.plugins.module_utils.jobs.readset import follows, read_inputs
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Read, path_id
from ansible_collections.sanboot.windows.plugins.module_utils.windows import ddb, driverstore, nicpackage, signing
from ansible_collections.sanboot.windows.plugins.module_utils.inf import parse_target, read_inf
from ansible_collections.sanboot.windows.plugins.module_utils.windows.osinfo import OsInfo
from ansible_collections.sanboot.windows.plugins.module_utils.windows.record import STATE_KEY

MAX_PHASES = 6

# The live modules' own option; each module's options, constraints and path options (resolved on the controller).
LIVE_OPTIONS = dict(
    system_import=dict(type='str', choices=['auto', 'always', 'never'], default='auto'),
)
LIVE_MODULES = {
    'iscsi_boot': dict(
        argument_spec=dict(iscsi_boot.CONVERSION_ARGS, **dict(iscsi_boot.DRIVER_ARGS, **LIVE_OPTIONS)),
        required_if=[['state', 'present', ['nics']]], path_options=('drivers',)),
    'iscsi_boot_info': dict(argument_spec=dict(iscsi_boot.DRIVER_ARGS), path_options=('drivers',)),
    'critical_device': dict(argument_spec=dict(critical_device.LIVE_ARGS, **LIVE_OPTIONS),
                            **critical_device.LIVE_CHOICES),
}

_RERUN = ('Running the task again is safe: it reads the host again and applies only what is missing')


def read_all(host, job, params, what='reading the registry'):
    """Read until the job names no key that was not read yet (each round is one command)."""
    for phase in range(1, MAX_PHASES + 1):
        system, software = host.reader('SYSTEM'), host.reader('SOFTWARE')
        reads = read_inputs(job, params, system, software, host.current or CURRENT, host.reader('DRIVERS'))
        label = what + ('' if phase == 1 else ' (round %d)' % phase)
        chains = follows(job, params, host.current or CURRENT) if phase == 1 and what == 'reading the registry' else ()
        if not host.read(reads, label, follows=chains):
            return
    raise WinRMError('the registry keys to read did not settle after %d rounds. %s' % (MAX_PHASES, NOTHING_CHANGED),
                     applied=False, complete=True)


def plan_state(reader, changes):
    """Which of the planned operations are in effect in ``reader`` (a Hive): (applied, not_applied) lists."""
    applied, missing = [], []
    for change in changes:
        key = tuple(change['key'].split('\\'))
        kind = change['op']
        if kind == 'create_key':
            done = reader is not None and reader.key_exists(key)
        elif kind == 'delete_key':
            done = reader is None or not reader.key_exists(key)
        elif kind == 'delete_value':
            done = reader is None or reader.get_value(key, change['name']) is None
        else:
            current = reader.get_value(key, change['name']) if reader is not None else None
            done = current is not None and current.display() == change['after']
        (applied if done else missing).append(change)
    return applied, missing


# ---------------------------------------------------------------------------------------------------------
# The offline jobs on what was read

def _hives(host, drivers=None):
    """The partial hives read so far, as the offline jobs take them."""
    software = host.hive_path('SOFTWARE')
    if software is None:
        warning = ('could not read HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion; the Windows version is taken '
                   'from the SYSTEM hive alone')
        if warning not in host.warnings:
            host.warnings.append(warning)
    return iscsi_boot.Hives(host.hive_path('SYSTEM'), software, drivers or host.hive_path('DRIVERS'))


def _offline(params):
    """The parameters as the offline job takes them: partial hives are read as they are."""
    out = dict((k, v) for k, v in params.items() if k not in LIVE_OPTIONS)
    out['allow_dirty'] = True
    return out


def _convert(host, params, drivers=None):
    """iscsi_boot on the partial hives, in check mode; Windows 8+ packages are left to the host's pnputil."""
    return iscsi_boot.convert(_offline(params), _hives(host, drivers), True, backup=False, stage_with='pnputil')


def _to_stage(outcome):
    """Windows 8+: the NICs whose package the host's pnputil is to stage before the records can be copied."""
    return [n for n in outcome.nics if n.package_state == nicpackage.PNPUTIL]


def _new_pnputil(os_info):
    return (os_info.version or (0, 0))[0] >= 10 and (os_info.build or 0) >= 14393


def _label(settings):
    return '%s:HKLM\\SYSTEM' % settings.host


def _finish(result, settings, host, applied_as=None):
    for header in ('before_header', 'after_header'):
        if isinstance(result.get('diff'), dict) and header in result['diff']:
            result['diff'][header] = _label(settings)
    for name in ('backup_file', 'backup_files', 'files_to_copy'):
        result.pop(name, None)          # a running host keeps no backup of ours, and staging copies the files
    result['winrm'] = host.session.stats.as_dict()
    result['winrm'].update(host=settings.host, keys_read=host.keys_read, partial_reads=host.partial_reads,
                           drivers_loaded_by_task=host.drivers_loaded_here)
    if host.cleaned:
        result['cleaned_up'] = host.cleaned
    if host.leftovers:
        result['leftovers'] = [{'token': t, 'files': f} for t, f in sorted(host.leftovers.items())]
    if applied_as:
        result['applied_as'] = applied_as
    result['warnings'] = list(result.get('warnings') or []) + host.warnings
    return result


def run_live(job, params, settings, check_mode=False, session_factory=None):
    """Run ``job`` (critical_device | iscsi_boot | iscsi_boot_info) against a live host; returns the result dict.

    Errors raise WinRMError (message safe to show); a failed import returns a result with failed=True and the
    operations that are and are not in effect, read back from the host.
    """
    if job not in LIVE_MODULES:
        raise WinRMError('unknown job %r' % job)
    host = LiveHost(settings, session_factory)
    with host:
        result = _run_job(host, job, params, settings, check_mode)
    # the counts include the shell's Delete, sent when the task is done
    result['winrm'].update(host.session.stats.as_dict())
    return result


def _run_job(host, job, params, settings, check_mode):
    host.warnings += ['ansible_winrm_%s is not an argument of the installed pywinrm and was ignored' % name
                      for name in settings.unsupported]
    try:
        read_all(host, job, params)
    except WinRMError as exc:
        if exc.complete:
            raise
        raise WinRMError('%s. %s' % (exc, NOTHING_CHANGED), phase=exc.phase, applied=False, complete=True)
    if host.hive_path('SYSTEM') is None:
        raise WinRMError('could not read HKLM\\SYSTEM on %s (%s). %s' % (settings.host, ADMIN_HINT,
                                                                         NOTHING_CHANGED), applied=False)
    _check_drivers(host, job, params, settings)
    if job == 'iscsi_boot_info':
        result = iscsi_boot.report(_offline(params), _hives(host))
        _mark_present(result, present_instances(host.hives['SYSTEM'], result['control_sets']['current']))
        host.clean(check_mode=True)
        return _finish(result, settings, host)
    outcome = None
    if job == 'critical_device':
        result = critical_device.plan_on_file(critical_device.Request(params), host.hive_path('SYSTEM'), True,
                                              False, True)
    else:
        outcome = _convert(host, params)
        result = outcome.result
        if _to_stage(outcome):
            result['changed'] = True        # the package at least (its service may be there already)
            if check_mode:
                outcome = _predict_pnputil(host, params, outcome)
                result = outcome.result
    if not result['changed'] or check_mode:
        host.clean(check_mode)
        return _finish(result, settings, host)
    cleanup = host.cleanup_tokens(check_mode)
    state = params.get('state', 'present')
    records = job == 'iscsi_boot' and state == 'present'
    if records:
        staged = _stage_drivers(host, outcome, cleanup, job, params)
        if staged:
            cleanup = []
        if _to_stage(outcome):
            # Windows 8+: pnputil has staged the package; its records are Windows' own, in HKLM\DRIVERS now
            outcome = _plan_after_pnputil(host, job, params, staged)
        result = outcome.result
        result['staged_drivers'] = [s.as_dict() for s in staged]
    reg_text, first = result['reg'], None
    if records:
        reg_text = record_first(reg_text, STATE_KEY)
    if job == 'iscsi_boot':
        # the record alone first (or, to undo, every original back before the record goes), whether reg import
        # stops at a key it may not write or carries on
        reg_text, first = in_two_parts(reg_text, record_part(STATE_KEY, state))
    mode = params.get('system_import') or 'auto'
    as_system = mode == 'always' or (mode == 'auto' and touches(reg_text, 'DriverDatabase'))
    try:
        code, text = host.apply(reg_text, as_system, cleanup, first)
    except WinRMError as exc:
        if exc.phase == 'applying the change' and exc.applied is not False:
            raise WinRMError('%s. The change may be partly applied: %s' % (exc, _RERUN), phase=exc.phase)
        raise
    applied_as = 'SYSTEM (schtasks)' if as_system else settings.user or 'the WinRM user'
    if code == 0:
        return _finish(result, settings, host, applied_as)
    return _failed_import(host, result, applied_as, text, records,
                          not as_system and touches(reg_text, 'DriverDatabase'))


def _check_drivers(host, job, params, settings):
    """Windows 8+: the NICs' packages are looked up in HKLM\\DRIVERS, which the read loads itself when the kernel has
    not (issue 25). When that failed too, say so here: the engine's own message would name drivers_hive, an option
    of the offline modules."""
    if job == 'critical_device' or not params.get('nics') or host.drivers_missing is None or \
            host.hive_path('DRIVERS') is not None or not host.reader('SYSTEM').key_exists(ddb.DDB):
        return
    raise WinRMError('could not read HKLM\\DRIVERS on %s (Windows\' driver database): it is not loaded, and reg load '
                     'of %%SystemRoot%%\\System32\\config\\DRIVERS failed (exit code %s); %s. %s'
                     % (settings.host, host.drivers_missing, ADMIN_HINT, NOTHING_CHANGED), applied=False,
                     complete=True)


def _mark_present(result, present):
    """Say which adapters of an iscsi_boot_info result are present on the host now (live Enum Control keys)."""
    for adapter in result['adapters']:
        pid = path_id(tuple(adapter['instance'].split('\\')))
        adapter['present'] = pid in present
        adapter['active_service'] = present.get(pid)
    result['present_adapters'] = [a for a in result['adapters'] if a['present']]


def _driver_reads(host, job, params):
    """The DRIVERS keys the job names before anything of DRIVERS is known (the first round's)."""
    return [r for r in read_inputs(job, params, host.reader('SYSTEM'), host.reader('SOFTWARE'),
                                   host.current or CURRENT, None) if r.hive == 'DRIVERS']


def _stage_drivers(host, outcome, cleanup, job='iscsi_boot', params=None):
    """Stage the driver package of every NIC whose service iscsi_boot creates from a package, or (Windows 8+) whose
    package Windows does not have yet; the Staged records."""
    staged = []
    arch = outcome.os_info.arch if outcome.os_info is not None else None
    pending = _to_stage(outcome)
    for entry in outcome.nics:
        driver = entry.driver
        inf_path = driver.package_path
        if not (entry.service_created or entry in pending) or not inf_path:
            continue
        after = None
        if pending:
            # Windows 8+: Windows' records of the package, read in the same command once pnputil has run
            after = ('DRIVERS', _driver_reads(host, job, params), follows(job, params, host.current or CURRENT))
        # a package pnputil stages brings its own files; a service created from a package needs its binaries copied
        files = driver.files if entry.service_created else None
        missing = [f['name'] for f in files or [] if not f.get('present')]
        if missing:
            raise WinRMError('driver package %s lacks %s, which its install section copies: a boot-start '
                             'service without its binary is not created on a live host. Nothing was changed.'
                             % (inf_path, ', '.join(missing)), applied=False)
        targets = [(f['name'], f['target']) for f in files or [] if f.get('target')]
        try:
            report = host.stage(inf_path, files, targets, _new_pnputil(outcome.os_info),
                                cleanup=[] if staged else cleanup, after=after)
        except WinRMError as exc:
            if exc.complete:
                raise
            raise WinRMError('%s. The registry was not changed (the driver package may be partly staged). %s'
                             % (str(exc).rstrip('.'), _RERUN), phase=exc.phase, applied=False, complete=True)
        _check_staged(host, report, arch)
        staged.append(report)
    return staged


def _check_staged(host, report, arch):
    """The service binaries that carry no embedded signature, and what pnputil's refusal means for the boot."""
    members = dict(report.members)
    report.unsigned_binaries = [
        t for n, t in report.copies if t.lower().endswith('.sys') and
        (signing.pe_signature(read_bytes(members[n])) or {}).get('signed') is False]
    if report.in_driver_store:
        return
    unsigned = report.unsigned_binaries
    if unsigned and arch in ('amd64', 'arm64', 'ia64'):
        report.stop_warning = (
            'driver %s will not load: pnputil did not add %s to the driver store (exit code %s), so its catalog '
            'is not registered, and %s carries no embedded signature. 64-bit Windows loads a boot-start driver '
            'only when it is signed, so booting from iSCSI would stop with 0x7B (INACCESSIBLE_BOOT_DEVICE). Use '
            'a package that pnputil accepts (see %%SystemRoot%%\\INF\\setupapi.dev.log) or a driver with an '
            'embedded signature. The registry changes were made.'
            % (', '.join(unsigned), report.inf, report.pnputil_rc, ', '.join(unsigned)))
        host.warnings.append(report.stop_warning)
    else:
        host.warnings.append('pnputil did not add %s to the driver store (exit code %s): %s. Its files were '
                             'copied and the registry changes made; install the package once Windows runs on '
                             'the new hardware.' % (report.inf, report.pnputil_rc, clip(report.pnputil_output)))


def _predict_pnputil(host, params, outcome):
    """Check mode, Windows 8+: the plan as it will be once pnputil has staged the packages - their DRIVERS records as
    the engine writes them offline (driverstore.py, our reading of Windows' records) in a scratch copy of what was
    read of HKLM\\DRIVERS, then copied into SYSTEM as after the real pnputil."""
    pending = _to_stage(outcome)
    names = ', '.join(n.package.details['inf'] for n in pending)
    drivers = host.hive_path('DRIVERS')
    if drivers is None:
        outcome.result['warnings'] = list(outcome.result.get('warnings') or []) + [
            'check mode: pnputil would stage %s; the host has no HKLM\\DRIVERS to predict its records from, so '
            'the DriverDatabase records copied into SYSTEM then are not shown' % names]
        return outcome
    scratch = drivers + '.predicted'
    shutil.copyfile(drivers, scratch)
    seen = outcome.os_info
    os_info = OsInfo()
    os_info.version = seen.version or (10, 0)
    os_info.build, os_info.arch = seen.build, seen.arch or 'amd64'
    target = parse_target('%d.%d' % os_info.version, os_info.arch)
    packages = [read_inf(n.driver.package_path, target, templates=params.get('templates')) for n in pending]
    with HiveSet([('DRIVERS', scratch)], allow_dirty=True) as hives:
        for package in packages:
            driverstore.plan_stage(package, None, hives.planners['DRIVERS'], os_info)
        hives.write(backup=False)
    predicted = _convert(host, params, drivers=scratch)
    predicted.result['warnings'] = list(predicted.result.get('warnings') or []) + [
        'check mode: pnputil would stage %s; the DriverDatabase records shown are those this collection writes for '
        'it offline - Windows\' own may differ in ImportDate and the package folder name' % names]
    predicted.result['changed'] = True
    return predicted


def _plan_after_pnputil(host, job, params, staged):
    """Windows 8+: read Windows' records of the packages pnputil has just staged (HKLM\\DRIVERS, the DeviceIds chain
    of the NICs' IDs) and plan again: the engine now copies them into SYSTEM\\DriverDatabase, as offline."""
    # the staging command has read them, following the DeviceIds chain (issue 25); what it did not find (a published
    # INF no DeviceIds entry names) is read now
    first = _driver_reads(host, job, params)
    first += [Read('DRIVERS', ddb.INF_FILES + (s.published_name,), False, None) for s in staged if s.published_name]
    try:
        host.read(first, 'reading the driver records pnputil wrote')
        read_all(host, job, params, 'reading the driver records pnputil wrote (round 2)')
    except WinRMError as exc:
        raise WinRMError('%s. The registry was not changed (the driver package is staged). %s'
                         % (str(exc).rstrip('.'), _RERUN), phase=exc.phase, applied=False, complete=True)
    outcome = _convert(host, params)
    missing = _to_stage(outcome)
    if missing:
        failed = [s for s in staged if not s.in_driver_store]
        why = ('pnputil did not add %s to the driver store (exit code %s; see %%SystemRoot%%\\INF\\setupapi.dev.log)'
               % (failed[0].inf, failed[0].pnputil_rc)) if failed else \
            'HKLM\\DRIVERS has no record of it for the NIC\'s IDs after pnputil'
        raise WinRMError(
            'Windows 8 and later bind the boot NIC through a package in the driver store, and %s is not there: %s. The '
            'registry was not changed; the package\'s service binaries may have been copied already.%s'
            % (', '.join(n.package.details['inf'] for n in missing), why,
               ''.join(' ' + s.stop_warning for s in staged if s.stop_warning)), phase='staging the driver package',
            applied=False, complete=True)
    return outcome


def _failed_import(host, result, applied_as, output, records, needed_system):
    """The import did not complete: read the host again and say exactly what is in effect."""
    settings = host.settings
    reader = host.reread(result['changes'])
    applied, missing = plan_state(reader, result['changes'])
    result = _finish(result, settings, host, applied_as)
    result.update(failed=True, changed=bool(applied), applied=applied, not_applied=missing,
                  msg='reg import on %s failed (%s) after %d of %d changes were in effect: %s. %s'
                  % (settings.host, clip(output, 300), len(applied), len(result['changes']),
                     'the record of originals was written first, so state=absent undoes exactly what was '
                     'applied' if records else 'the operations in not_applied were not made', _RERUN))
    if needed_system:
        result['msg'] += (' On Windows 8 and later only SYSTEM may write HKLM\\SYSTEM\\DriverDatabase: leave '
                          'system_import at auto or set it to always.')
    elif not applied:
        result['msg'] += ' Nothing was imported: %s.' % ADMIN_HINT
    return result
