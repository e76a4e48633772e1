# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live job: read the keys the engine declares (readset.read_set) from the host, build partial working hives from
them, plan with the offline engine on those, stage a driver package, apply; clean up what an interrupted run left.

LiveHost holds one task against one host (the partial hives on the controller, the commands on the host); run_live
runs critical_device, iscsi_boot or iscsi_boot_info with it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile

from ansible_collections.sanboot.windows.plugins.module_utils.windows import signing
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.commands import (
    CURRENT, TASK_WAIT_SECONDS, apply_command, cleanup_command, leftover_tokens, lookup_query, parse_sections,
    published_name, queries, read_commands, stage_command, stage_script, work_prefix,
)
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.formats import (
    PartialHive, ascii_reg, default_label, in_two_parts, package_files, present_instances, record_first,
    record_part, touches,
)
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.transport import Session, WinRMError
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, fold, path_id

# pnputil's exit codes that mean the package is in the driver store (Microsoft, "PnPUtil return values"):
# 0 success, 259 ERROR_NO_MORE_ITEMS (no device matches it now: the normal case here), 3010 and 1641 (restart).
PNPUTIL_OK = (0, 259, 3010, 1641)
MAX_PHASES = 6
NOTHING_CHANGED = 'Nothing was changed.'
_ADMIN_HINT = ('the WinRM user must be an elevated administrator: local administrators other than the built-in '
               'Administrator get a filtered token over WinRM unless LocalAccountTokenFilterPolicy is 1')


def _marker(read):
    return (read.hive, tuple(fold(p) for p in read.path), read.recursive, read.values)


class LiveHost(object):
    """One task against one host: the partial hives on the controller and the commands on the host."""

    def __init__(self, settings, session_factory=None):
        self.settings = settings
        self.session = (session_factory or Session)(settings)
        self.tmpdir = None
        self.work = work_prefix()
        self.hives = {}                 # hive name -> PartialHive
        self.attempted = set()
        self.current = None             # the literal control set the host resolved CURRENT to
        self.label = None               # reg.exe's name for a default value, in the host's language
        self.leftovers = None           # {token: [file names]} an earlier run left
        self.cleaned = []
        self.partial_reads = []
        self.warnings = []
        self.keys_read = 0
        self.looked_up = set()

    def __enter__(self):
        self.tmpdir = tempfile.mkdtemp(prefix='sanboot-winrm-')
        try:
            self.session.open()
        except BaseException:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc_info):
        self.session.close()
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    # reading -----------------------------------------------------------------------------------------
    def _literal(self, read):
        if read.path and read.path[0] == CURRENT and self.current:
            return read._replace(path=(self.current,) + tuple(read.path[1:]))
        return read

    def read(self, reads, phase='reading the registry', names=True):
        """Read what is new among ``reads`` (one command, or a few when cmd.exe's line limit says so), and the names
        of the keys on their paths as the host stores them; False when nothing was new."""
        from ansible_collections.sanboot.windows.plugins.module_utils.windows import iscsiboot
        from ansible_collections.sanboot.windows.plugins.module_utils.jobs import readset
        new, seen = [], set(self.attempted)
        for read in (self._literal(r) for r in reads):
            if _marker(read) not in seen:        # each key once (the first round's guesses repeat some)
                seen.add(_marker(read))
                new.append(read)
        if not new:
            return False
        if self.label is None:
            # the default value's name in this language, from a key that has one (a class key's description)
            cs = self.current or CURRENT
            new.insert(0, readset.Read('SYSTEM', (cs, 'Control', 'Class', iscsiboot.NET_CLASS), False, ('',)))
        try:
            jobs = [(arguments, (read, len(read.path))) for read in new for arguments, _n in queries(read)]
            jobs += [(lookup_query(hive, parent, child), (readset.Read(hive, parent, False, ()), len(parent)))
                     for hive, parent, child in (self._lookups(new) if names else [])]
            commands = read_commands(self.work, jobs, leftovers=self.leftovers is None)
        except ValueError as exc:
            raise WinRMError('%s. %s' % (exc, NOTHING_CHANGED), phase=phase, applied=False)
        for command, tags in commands:
            stdout, stderr, rc = self.session.run(phase, command)
            sections, _order = parse_sections(stdout)
            if not tags or tags[-1][0] not in sections:
                raise WinRMError('the host did not run the read command as expected (exit code %s); it printed: %s. %s'
                                 % (rc, _clip(stdout + stderr), NOTHING_CHANGED), phase=phase, applied=False)
            if 'cs' in sections and sections['cs'][0].upper().startswith('HKLM\\SYSTEM\\CONTROLSET'):
                self.current = self.current or sections['cs'][0].strip().split('\\')[-1]
            if 'leftovers' in sections:
                self.leftovers = leftover_tokens(sections['leftovers'][0], self.work)
            if self.label is None:
                self.label = default_label(sections.get(tags[0][0], ('', 0))[0]) or '(Default)'
            for tag, (read, typed) in tags:
                text, code = sections.get(tag, ('', None))
                hive = self.hives.setdefault(read.hive, PartialHive(read.hive))
                count = hive.add_output(text, self.label, typed)
                self.keys_read += count
                where = '\\'.join(self._literal(read).path)
                if count and code not in (0, None) and read.recursive and where not in self.partial_reads:
                    self.partial_reads.append(where)
        for read in new:
            self.attempted.add(_marker(self._literal(read)))
        return True

    def _lookups(self, reads):
        """(hive, parent, name) for each key on the reads' paths whose stored name no listing gives."""
        listed = set(m[:2] for m in self.attempted if not m[2] and m[3] is None)
        listed |= set((r.hive, tuple(fold(p) for p in r.path)) for r in reads if r.values is None)
        out = []
        for read in reads:
            if read.hive == 'SOFTWARE':
                continue        # not written back: its spelling does not matter
            for depth in range(len(read.path)):
                parent, child = tuple(read.path[:depth]), read.path[depth]
                marker = (read.hive, tuple(fold(p) for p in parent + (child,)))
                if child == CURRENT or (read.hive, tuple(fold(p) for p in parent)) in listed or \
                        marker in self.looked_up:
                    continue
                self.looked_up.add(marker)
                out.append((read.hive, parent, child))
        return out

    def reader(self, name):
        """A hive.Hive on what was read of hive ``name`` so far (written to a file), or None."""
        from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
        path = self.hive_path(name)
        return Hive(path, allow_dirty=True) if path else None

    def hive_path(self, name):
        hive = self.hives.get(name)
        if hive is None or len(hive.names) <= 1:
            return None
        return hive.write(os.path.join(self.tmpdir, name))

    def read_all(self, job, params, what='reading the registry'):
        """Read until the engine names no key that was not read yet (each round is one command)."""
        for phase in range(1, MAX_PHASES + 1):
            system, software = self.reader('SYSTEM'), self.reader('SOFTWARE')
            reads = read_inputs(job, params, system, software, self.current or CURRENT, self.reader('DRIVERS'))
            label = what + ('' if phase == 1 else ' (round %d)' % phase)
            if not self.read(reads, label):
                return
        raise WinRMError('the registry keys to read did not settle after %d rounds. %s' % (MAX_PHASES, NOTHING_CHANGED))

    def forget(self, hive):
        """Drop what was read of ``hive``, so that the next read_all reads it again (it has changed on the host)."""
        self.hives.pop(hive, None)
        self.attempted = set(m for m in self.attempted if m[0] != hive)
        self.looked_up = set(m for m in self.looked_up if m[0] != hive)

    def reread(self, changes, phase='reading the registry after a failed import'):
        """A fresh partial SYSTEM hive of the keys ``changes`` touch (plan_state reads them)."""
        from ansible_collections.sanboot.windows.plugins.module_utils.jobs.readset import Read
        self.hives.pop('SYSTEM', None)
        self.attempted = set(m for m in self.attempted if m[0] != 'SYSTEM')
        self.looked_up = set()
        keys = {}
        for change in changes:
            key = tuple(change['key'].split('\\'))
            read = Read('SYSTEM', key, change['op'] in ('delete_key', 'create_key'), None)
            keys[_marker(read)] = read
        # only whether each change is in effect matters here, not how the keys are spelt: no name lookups
        self.read(list(keys.values()), phase, names=False)
        return self.reader('SYSTEM')

    # cleaning up ----------------------------------------------------------------------------------
    def cleanup_tokens(self, check_mode):
        """Tokens of an earlier run's leftovers to remove with the next command (none in check mode)."""
        if not self.leftovers:
            return []
        if check_mode:
            self.warnings.append('an earlier, interrupted run left %s on the host; check mode leaves them, the next run '
                                 'removes them' % _leftover_text(self.leftovers))
            return []
        return sorted(self.leftovers)

    def cleaned_up(self, sections, tokens):
        for token in tokens:
            text, code = sections.get('untask-%s' % token, ('', None))
            self.cleaned.append({'token': token, 'files': self.leftovers.get(token, []),
                                 'scheduled_task': code == 0})
        if tokens:
            self.warnings.append('removed what an earlier, interrupted run left on the host: %s'
                                 % _leftover_text(dict((t, self.leftovers[t]) for t in tokens),
                                                  [c['token'] for c in self.cleaned if c['scheduled_task']]))
        self.leftovers = {}

    def clean(self, check_mode):
        """The cleanup command, for a task that runs no other command after its reads."""
        tokens = self.cleanup_tokens(check_mode)
        if tokens:
            stdout, _stderr, _rc = self.session.run('removing what an earlier run left', cleanup_command(self.work, tokens))
            self.cleaned_up(parse_sections(stdout)[0], tokens)

    # staging ------------------------------------------------------------------------------------------
    def stage(self, inf_path, files, targets, new_pnputil, arch, cleanup=(), phase='staging the driver package'):
        """Send the package, add it to the driver store, copy the service binaries. Raises before any import."""
        members = package_files(inf_path, files)
        names = dict((name.lower(), name) for name, _p in members)
        copies = []
        for name, target in targets:
            if name.lower() not in names:
                raise WinRMError('driver file %s is not in the package %s; nothing was changed' % (name, inf_path))
            copies.append((names[name.lower()], target))
        inf_name = os.path.basename(inf_path)
        try:
            command = stage_command(self.work, inf_name, copies, new_pnputil, cleanup)
        except ValueError as exc:
            raise WinRMError('%s; the registry was not changed' % exc, phase=phase, applied=False)
        script = stage_script(self.work, [(name, _read(path)) for name, path in members])
        stdout, stderr, rc = self.session.run(phase, command, stdin=script)
        sections, _order = parse_sections(stdout)
        self.cleaned_up(sections, cleanup)
        report = {'inf': inf_name, 'files': [n for n, _p in members], 'copied': [t for _n, t in copies]}
        for tag in ['receive'] + ['copy%d' % i for i in range(len(copies))]:
            text, code = sections.get(tag, (None, None))
            # exit codes only: copy's own message ("1 file(s) copied.") is translated; fc /b compares the copy
            if code != 0:
                shown = _clip(text if text is not None else stdout + stderr)
                raise WinRMError('staging driver package %s failed at step %s (exit code %s): %s. The registry was '
                                 'not changed; work files under %%SystemRoot%%\\Temp\\%s.* may remain and the next run '
                                 'removes them.' % (inf_name, tag, code, shown, self.work), phase=phase)
        text, code = sections.get('pnputil', ('', None))
        report['pnputil'] = {'rc': code, 'output': text, 'in_driver_store': code in PNPUTIL_OK}
        report['published_name'] = published_name(sections.get('published', ('', 0))[0])
        unsigned = [t for n, t in copies if t.lower().endswith('.sys') and
                    (signing.pe_signature(_read(dict(members)[n])) or {}).get('signed') is False]
        report['unsigned_binaries'] = unsigned
        if code not in PNPUTIL_OK:
            if unsigned and arch in ('amd64', 'arm64', 'ia64'):
                self.warnings.append(
                    'driver %s will not load: pnputil did not add %s to the driver store (exit code %s), so its catalog '
                    'is not registered, and %s carries no embedded signature. 64-bit Windows loads a boot-start driver '
                    'only when it is signed, so booting from iSCSI would stop with 0x7B (INACCESSIBLE_BOOT_DEVICE). Use '
                    'a package that pnputil accepts (see %%SystemRoot%%\\INF\\setupapi.dev.log) or a driver with an '
                    'embedded signature. The registry changes were made.'
                    % (', '.join(unsigned), inf_name, code, ', '.join(unsigned)))
            else:
                self.warnings.append('pnputil did not add %s to the driver store (exit code %s): %s. Its files were '
                                     'copied and the registry changes made; install the package once Windows runs on '
                                     'the new hardware.' % (inf_name, code, _clip(text)))
        return report

    # applying -------------------------------------------------------------------------------------
    def apply(self, reg_text, as_system, cleanup=(), first=None, phase='applying the change'):
        try:
            data = ascii_reg(reg_text) + b'\r\n'
        except WinRMError as exc:
            raise WinRMError('%s. %s' % (exc, NOTHING_CHANGED), phase=phase, applied=False)
        stdout, stderr, rc = self.session.run(phase, apply_command(self.work, as_system, cleanup, first), stdin=data)
        sections, _order = parse_sections(stdout)
        self.cleaned_up(sections, cleanup)
        text, code = sections.get('receive', (None, None))
        if code != 0:
            raise WinRMError('sending the change to the host failed (exit code %s): %s. Nothing was imported.'
                             % (code, _clip(text if text is not None else stdout + stderr)),
                             phase=phase, applied=False)
        if as_system:
            for tag in ('task', 'run'):
                text, code = sections.get(tag, (None, None))
                if code != 0:
                    raise WinRMError('running reg import as SYSTEM through schtasks failed at step %s (exit code %s): '
                                     '%s. Nothing was imported (%s).' % (tag, code, _clip(text or stdout + stderr),
                                                                         _ADMIN_HINT), phase=phase, applied=False)
            result = sections.get('result', ('', 1))[0].strip().lower()
            if result not in ('ok', 'failed'):
                raise WinRMError('the SYSTEM task importing the change did not finish within %d s; it may still '
                                 'run. Run the task again to check the state (it also removes the task and its work '
                                 'files).' % TASK_WAIT_SECONDS, phase=phase, applied=None)
            code = 0 if result == 'ok' else 1
            text = sections.get('import', ('', 0))[0]
        else:
            text, code = sections.get('import', (None, None))
            if code is None:
                raise WinRMError('the host did not run reg import (output: %s)' % _clip(stdout + stderr),
                                 phase=phase, applied=None)
        return code, text


def _read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def _clip(text, limit=600):
    text = (text or '').strip().replace('\r\n', '\n')
    return text if len(text) <= limit else text[:limit] + '...'


def _leftover_text(leftovers, tasks=()):
    parts = []
    for token in sorted(leftovers):
        parts.append('%s (%s%s)' % ('sanboot-%s' % token, ', '.join(leftovers[token]) or 'no files',
                                    ', scheduled task' if token in tasks else ''))
    return '; '.join(parts) + ' in %SystemRoot%\\Temp'


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
# What to read for a job: the engine's read set for these parameters, as far as the keys read so far name keys

def read_inputs(job, params, system=None, software=None, current=CURRENT, drivers_db=None):
    """readset.read_set for ``job`` (critical_device | iscsi_boot | iscsi_boot_info) with ``params``, given the
    partial SYSTEM, SOFTWARE and DRIVERS hives read so far (hive.Hive or None)."""
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, readset
    from ansible_collections.sanboot.windows.plugins.module_utils.windows import iscsiboot
    nics = iscsi_boot.parse_nics(params.get('nics')) if job != 'critical_device' else []
    os_info = cs = None
    if system is not None and system.key_exists(('Select',)):
        try:
            cs = system.control_sets('current')[0]
            os_info = iscsiboot.detect_os(system, cs, software if job != 'critical_device' else None)
        except RegistryError:
            os_info = None
    drivers = {}
    if os_info is not None and nics:
        try:
            drivers = iscsi_boot.resolve_drivers(system, cs, os_info, nics, params.get('drivers'),
                                              params.get('lenient', False), params.get('templates'), required=False,
                                              drivers_db=drivers_db)[0]
        except RegistryError:
            drivers = {}
    critical = job == 'critical_device'
    reads = readset.read_set(
        system, nics=nics, drivers=drivers, services=[params['service']] if critical and params.get('service') else [],
        hardware_ids=params.get('hardware_ids') or [] if critical else [], current=current,
        control_sets=params.get('control_sets') or 'current', os_info=os_info, doctor=job == 'iscsi_boot_info',
        software=not critical, restore=job == 'iscsi_boot' and params.get('state') == 'absent',
        drivers_db=drivers_db if not critical else None)
    if critical:
        reads = [r for r in reads if r.hive != 'DRIVERS']
    if job == 'iscsi_boot_info':
        # the volatile Enum\...\Control keys of the devices present now (live only: a hive file has none)
        reads.append(readset.Read('SYSTEM', (cs or current, 'Enum', 'PCI'), True, ('ActiveService',)))
    if system is None and nics:
        reads += _guesses(nics, params, current)
    return reads


def _guesses(nics, params, current):
    """Before the first read: the service and DriverDatabase keys the NICs' drivers would name on Windows 7 or 10,
    x86 or amd64 (a driver package's service, or the one given in nics), read with the first round so that a task
    usually needs no second one. A wrong guess costs a round, never a wrong plan: the plan is made on what read_set
    names once the host's version is known."""
    from ansible_collections.sanboot.windows.plugins.module_utils.windows import iscsiboot
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import readset
    reads = []
    for version, arch in (((6, 1), 'x86'), ((6, 1), 'amd64'), ((10, 0), 'x86'), ((10, 0), 'amd64')):
        os_info = iscsiboot.OsInfo()
        os_info.version, os_info.arch = version, arch
        for nic in nics:
            driver = iscsiboot.Driver(nic.service, 'given in nics') if nic.service else None
            if params.get('drivers'):
                try:
                    driver = iscsiboot.driver_from_package(params['drivers'], os_info, nic, params.get('lenient', False),
                                                           params.get('templates'))[0]
                except RegistryError:
                    pass
            if driver is None:
                continue
            reads += [readset.Read('SYSTEM', (current, 'Services', driver.service) + sub, recursive, values)
                      for sub, recursive, values in readset.SERVICE_READS]
            # Windows 8+: the package's records are Windows' own, named by Windows (the DeviceIds chain in SYSTEM
            # and DRIVERS, read with the first round by read_set); nothing to guess.
    return reads


# ---------------------------------------------------------------------------------------------------------
# The three live jobs: the offline job on the partial hives (check mode), then the change applied on the host

LIVE_OPTIONS = dict(
    system_import=dict(type='str', choices=['auto', 'always', 'never'], default='auto'),
)


def _offline_critical_device(params, system_path):
    from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
    return offline.run(system_path, cddb.critical_device_plan(params), check_mode=True, backup=False,
                       allow_dirty=True)


def _offline_params(params, host):
    out = dict((k, v) for k, v in params.items() if k not in LIVE_OPTIONS)
    software = host.hive_path('SOFTWARE')
    if software is None:
        host.warnings.append('could not read HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion; the Windows '
                             'version is taken from the SYSTEM hive alone')
    # Windows 8+: Windows' records of its packages (HKLM\\DRIVERS, read in part); new packages are staged by the host's
    # own pnputil, after which the engine copies the records Windows wrote (_run_job).
    out.update(hive=host.hive_path('SYSTEM'), software_hive=software, drivers_hive=host.hive_path('DRIVERS'),
               backup=False, allow_dirty=True, _stage_with='pnputil')
    return out


def _driver_package(entry):
    source = entry.get('driver_source') or ''
    if source.startswith('driver package '):
        # '; Windows already has it as ...' follows when the DriverDatabase knows the package (Windows 8+)
        return source[len('driver package '):].split('; Windows already has it')[0]
    return None


def _to_stage(result):
    """Windows 8+: the NICs whose package the host's pnputil is to stage before the records can be copied."""
    from ansible_collections.sanboot.windows.plugins.module_utils.windows import nicpackage
    return [e for e in result.get('nics') or [] if (e.get('driver_database') or {}).get('state') == nicpackage.PNPUTIL]


def _new_pnputil(os_info):
    version = os_info.get('version') or ''
    build = os_info.get('build') or 0
    try:
        major = int(version.split('.')[0])
    except ValueError:
        major = 0
    return major >= 10 and build >= 14393


def _label(settings):
    return '%s:HKLM\\SYSTEM' % settings.host


def _finish(result, settings, host, applied_as=None):
    for header in ('before_header', 'after_header'):
        if isinstance(result.get('diff'), dict) and header in result['diff']:
            result['diff'][header] = _label(settings)
    result.pop('backup_file', None)
    result['winrm'] = host.session.stats.as_dict()
    result['winrm'].update(host=settings.host, keys_read=host.keys_read, partial_reads=host.partial_reads)
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
    if job not in ('critical_device', 'iscsi_boot', 'iscsi_boot_info'):
        raise WinRMError('unknown job %r' % job)
    host = LiveHost(settings, session_factory)
    with host:
        result = _run_job(host, job, params, settings, check_mode)
    # the counts include the shell's Delete, sent when the task is done
    result['winrm'].update(host.session.stats.as_dict())
    return result


def _run_job(host, job, params, settings, check_mode):
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
    from ansible_collections.sanboot.windows.plugins.module_utils.windows import iscsiboot
    host.warnings += ['ansible_winrm_%s is not an argument of the installed pywinrm and was ignored' % name
                      for name in settings.unsupported]
    try:
        host.read_all(job, params)
    except WinRMError as exc:
        if NOTHING_CHANGED in str(exc):
            raise
        raise WinRMError('%s. %s' % (exc, NOTHING_CHANGED), phase=exc.phase, applied=False)
    if host.hive_path('SYSTEM') is None:
        raise WinRMError('could not read HKLM\\SYSTEM on %s (%s). %s' % (settings.host, _ADMIN_HINT,
                                                                         NOTHING_CHANGED), applied=False)
    if job == 'iscsi_boot_info':
        result = iscsi_boot.run_iscsi_boot_info(_offline_params(params, host))
        _mark_present(result, present_instances(host.hives['SYSTEM'], result['control_sets']['current']))
        host.clean(check_mode=True)
        return _finish(result, settings, host)
    if job == 'critical_device':
        result = _offline_critical_device(params, host.hive_path('SYSTEM'))
    else:
        result = iscsi_boot.run_iscsi_boot(_offline_params(params, host), check_mode=True)
    if _to_stage(result):
        result['changed'] = True        # the package at least (its service may be there already)
    if check_mode and _to_stage(result):
        result = _predict_pnputil(host, params, result)
    if not result['changed'] or check_mode:
        host.clean(check_mode)
        return _finish(result, settings, host)
    cleanup = host.cleanup_tokens(check_mode)
    state = params.get('state', 'present')
    records = job == 'iscsi_boot' and state == 'present'
    if records:
        staged = _stage_drivers(host, result, cleanup)
        if staged:
            cleanup = []
        if _to_stage(result):
            # Windows 8+: pnputil has staged the package; its records are Windows' own, in HKLM\DRIVERS now
            result = _plan_after_pnputil(host, job, params, staged)
        result['staged_drivers'] = staged
    reg_text, first = result['reg'], None
    if records:
        reg_text = record_first(reg_text, iscsiboot.STATE_KEY)
    if job == 'iscsi_boot':
        # the record alone first (or, to undo, every original back before the record goes), whether reg import
        # stops at a key it may not write or carries on
        reg_text, first = in_two_parts(reg_text, record_part(iscsiboot.STATE_KEY, state))
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


def _mark_present(result, present):
    """Say which adapters of an iscsi_boot_info result are present on the host now (live Enum Control keys)."""
    for adapter in result['adapters']:
        pid = path_id(tuple(adapter['instance'].split('\\')))
        adapter['present'] = pid in present
        adapter['active_service'] = present.get(pid)
    result['present_adapters'] = [a for a in result['adapters'] if a['present']]


def _stage_drivers(host, result, cleanup):
    """Stage the driver package of every NIC whose service iscsi_boot creates from a package, or (Windows 8+) whose
    package Windows does not have yet; the staging reports."""
    staged = []
    arch = (result.get('os') or {}).get('arch')
    pending = _to_stage(result)
    for entry in result.get('nics') or []:
        inf_path = _driver_package(entry)
        if not (entry.get('service_created') or entry in pending) or not inf_path:
            continue
        missing = [f['name'] for f in entry.get('files') or [] if not f.get('present')]
        if missing:
            raise WinRMError('driver package %s lacks %s, which its install section copies: a boot-start '
                             'service without its binary is not created on a live host. Nothing was changed.'
                             % (inf_path, ', '.join(missing)), applied=False)
        targets = [(f['name'], f['target']) for f in entry.get('files') or [] if f.get('target')]
        try:
            staged.append(host.stage(inf_path, entry.get('files'), targets, _new_pnputil(result.get('os') or {}),
                                     arch, cleanup=[] if staged else cleanup))
        except WinRMError as exc:
            if 'registry was not changed' in str(exc):
                raise
            raise WinRMError('%s. The registry was not changed (the driver package may be partly staged). %s'
                             % (str(exc).rstrip('.'), _RERUN), phase=exc.phase, applied=False)
        service = entry.get('service')
        result['warnings'] = [w for w in result.get('warnings') or []
                              if not w.startswith('service %s was created from its driver package' % service)]
    return staged


def _predict_pnputil(host, params, result):
    """Check mode, Windows 8+: the plan as it will be once pnputil has staged the packages - their DRIVERS records as
    the engine writes them offline (driverstore.py, our reading of Windows' records) in a scratch copy of what was
    read of HKLM\\DRIVERS, then copied into SYSTEM as after the real pnputil."""
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, offline
    from ansible_collections.sanboot.windows.plugins.module_utils.windows import driverstore, iscsiboot
    from ansible_collections.sanboot.windows.plugins.module_utils.inf import parse_target, read_inf
    pending = _to_stage(result)
    names = ', '.join(e['driver_database']['inf'] for e in pending)
    drivers = host.hive_path('DRIVERS')
    if drivers is None:
        result['warnings'] = list(result.get('warnings') or []) + [
            'check mode: pnputil would stage %s; the host has no HKLM\\DRIVERS to predict its records from, so '
            'the DriverDatabase records copied into SYSTEM then are not shown' % names]
        return result
    scratch = drivers + '.predicted'
    shutil.copyfile(drivers, scratch)
    seen = result.get('os') or {}
    os_info = iscsiboot.OsInfo()
    os_info.version = tuple(int(p) for p in str(seen.get('version') or '10.0').split('.')[:2])
    os_info.build, os_info.arch = seen.get('build'), seen.get('arch') or 'amd64'
    target = parse_target('%d.%d' % os_info.version, os_info.arch)
    packages = [read_inf(_driver_package(e), target, templates=params.get('templates')) for e in pending]

    def plan(_hive, planner):
        for package in packages:
            driverstore.plan_stage(package, None, planner, os_info)
        return {}
    offline.run(scratch, plan, backup=False, allow_dirty=True, hive_name='DRIVERS')
    predicted = iscsi_boot.run_iscsi_boot(dict(_offline_params(params, host), drivers_hive=scratch), check_mode=True)
    services = [e.get('service') for e in predicted.get('nics') or []]
    predicted['warnings'] = [w for w in predicted.get('warnings') or [] if not any(
        w.startswith('service %s was created from its driver package' % s) for s in services)] + [
        'check mode: pnputil would stage %s; the DriverDatabase records shown are those this collection writes for '
        'it offline - Windows\' own may differ in ImportDate and the package folder name' % names]
    predicted['changed'] = True
    return predicted


def _plan_after_pnputil(host, job, params, staged):
    """Windows 8+: read Windows' records of the packages pnputil has just staged (HKLM\\DRIVERS, the DeviceIds chain
    of the NICs' IDs) and plan again: the engine now copies them into SYSTEM\\DriverDatabase, as offline."""
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, readset
    from ansible_collections.sanboot.windows.plugins.module_utils.windows import ddb
    host.forget('DRIVERS')
    # pnputil printed the published names: their DriverInfFiles entries (which name the packages) are read with the
    # first round, so that the packages' records follow in the second
    first = [r for r in read_inputs(job, params, host.reader('SYSTEM'), host.reader('SOFTWARE'),
                                    host.current or CURRENT, None) if r.hive == 'DRIVERS']
    first += [readset.Read('DRIVERS', ddb.INF_FILES + (s['published_name'],), False, None)
              for s in staged if s.get('published_name')]
    try:
        host.read(first, 'reading the driver records pnputil wrote')
        host.read_all(job, params, 'reading the driver records pnputil wrote (round 2)')
    except WinRMError as exc:
        raise WinRMError('%s. The registry was not changed (the driver package is staged). %s'
                         % (str(exc).rstrip('.'), _RERUN), phase=exc.phase, applied=False)
    result = iscsi_boot.run_iscsi_boot(_offline_params(params, host), check_mode=True)
    services = [e.get('service') for e in result.get('nics') or []]
    result['warnings'] = [w for w in result.get('warnings') or [] if not any(
        w.startswith('service %s was created from its driver package' % s) for s in services)]
    missing = _to_stage(result)
    if missing:
        failed = [s for s in staged if not s['pnputil']['in_driver_store']]
        why = ('pnputil did not add %s to the driver store (exit code %s; see %%SystemRoot%%\\INF\\setupapi.dev.log)'
               % (failed[0]['inf'], failed[0]['pnputil']['rc'])) if failed else \
            'HKLM\\DRIVERS has no record of it for the NIC\'s IDs after pnputil'
        raise WinRMError(
            'Windows 8 and later bind the boot NIC through a package in the driver store, and %s is not there: %s. The '
            'registry was not changed; the package\'s service binaries may have been copied already.%s'
            % (', '.join(e['driver_database']['inf'] for e in missing), why,
               ''.join(' ' + w for w in host.warnings if '0x7B' in w)), phase='staging the driver package',
            applied=False)
    return result


def _failed_import(host, result, applied_as, output, records, needed_system):
    """The import did not complete: read the host again and say exactly what is in effect."""
    settings = host.settings
    reader = host.reread(result['changes'])
    applied, missing = plan_state(reader, result['changes'])
    result = _finish(result, settings, host, applied_as)
    result.update(failed=True, changed=bool(applied), applied=applied, not_applied=missing,
                  msg='reg import on %s failed (%s) after %d of %d changes were in effect: %s. %s'
                  % (settings.host, _clip(output, 300), len(applied), len(result['changes']),
                     'the record of originals was written first, so state=absent undoes exactly what was '
                     'applied' if records else 'the operations in not_applied were not made', _RERUN))
    if needed_system:
        result['msg'] += (' On Windows 8 and later only SYSTEM may write HKLM\\SYSTEM\\DriverDatabase: leave '
                          'system_import at auto or set it to always.')
    elif not applied:
        result['msg'] += ' Nothing was imported: %s.' % _ADMIN_HINT
    return result


_RERUN = ('Running the task again is safe: it reads the host again and applies only what is missing')
