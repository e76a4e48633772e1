# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live job: read the host's registry, plan with the offline engine on the copy, stage a driver package, apply.

LiveHost holds one task against one host (the hive copy on the controller, the commands on the host); run_live runs
critical_device, iscsi_boot or iscsi_boot_info with it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import tempfile

from ansible_collections.sanboot.windows.plugins.module_utils.live.commands import (
    SOFTWARE_VERSION_KEY, TASK_WAIT_SECONDS, import_command, parse_sections, read_command, stage_command, work_prefix,
)
from ansible_collections.sanboot.windows.plugins.module_utils.live.formats import (
    cab_bytes, cab_extract, certutil_armor, certutil_unarmor, package_files, parse_reg_query, present_instances,
    record_first, reg_file_bytes, touches, write_software_hive,
)
from ansible_collections.sanboot.windows.plugins.module_utils.live.transport import Session, WinRMError
from ansible_collections.sanboot.windows.plugins.module_utils.registry import path_id


class LiveHost(object):
    """One task against one host: the hive copy on the controller and the commands on the host."""

    def __init__(self, settings, session_factory=None):
        self.settings = settings
        self.session = (session_factory or Session)(settings)
        self.tmpdir = None
        self.work = work_prefix()
        self.software_values = None
        self.present = None
        self.system_path = None
        self.software_path = None
        self.warnings = []

    def __enter__(self):
        self.tmpdir = tempfile.mkdtemp(prefix='sanboot-winrm-')
        self.session.open()
        return self

    def __exit__(self, *exc_info):
        self.session.close()
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    # step 1 -------------------------------------------------------------------------------------------
    def read(self, software=True, present=False, phase='reading the registry'):
        stdout, stderr, rc = self.session.run(phase, read_command(self.work, software, present))
        sections, order = parse_sections(stdout)
        for tag in ('save', 'encode', 'hive'):
            if tag not in sections:
                raise WinRMError('the host did not run the read command as expected (exit code %s); it printed: %s'
                                 % (rc, _clip(stdout + stderr)), phase=phase)
            text, code = sections[tag]
            if code != 0:
                hint = ''
                if tag == 'save' and 'privilege' in text.lower():
                    hint = (' (reg save needs an elevated administrator: use the built-in Administrator or set '
                            'LocalAccountTokenFilterPolicy=1 for other local administrators)')
                raise WinRMError('reading the registry failed at step %s (exit code %d): %s%s. Nothing was changed.'
                                 % (tag, code, _clip(text), hint), phase=phase)
        data = certutil_unarmor(sections['hive'][0], 'SYSTEM hive')
        if data[:4] == b'MSCF':
            members = cab_extract(data)
            data = members[0][1] if len(members) == 1 else b''
        if data[:4] != b'regf':
            raise WinRMError('the file the host sent for HKLM\\SYSTEM is not a registry hive. Nothing was changed.',
                             phase=phase)
        self.system_path = os.path.join(self.tmpdir, 'SYSTEM')
        with open(self.system_path, 'wb') as handle:
            handle.write(data)
        if software:
            text, code = sections.get('software', ('', 1))
            values = parse_reg_query(text).get(SOFTWARE_VERSION_KEY.replace('HKLM', 'HKEY_LOCAL_MACHINE'), [])
            if code != 0 or not values:
                self.warnings.append('could not read %s (exit code %d); the Windows version is taken from the SYSTEM '
                                     'hive alone' % (SOFTWARE_VERSION_KEY, code))
            else:
                self.software_values = values
                self.software_path = write_software_hive(os.path.join(self.tmpdir, 'SOFTWARE'), values)
        if present:
            text, code = sections.get('present', ('', 1))
            self.present = present_instances(text) if code == 0 else {}
        return self.system_path

    # step 3 -------------------------------------------------------------------------------------------
    def stage(self, inf_path, files, targets, new_pnputil, phase='staging the driver package'):
        """Send the package, add it to the driver store, copy the service binaries. Raises before any import."""
        members = package_files(inf_path, files)
        cab = cab_bytes([(name, _read(path)) for name, path in members])
        names = dict((name.lower(), name) for name, _p in members)
        copies = []
        for name, target in targets:
            if name.lower() not in names:
                raise WinRMError('driver file %s is not in the package %s; nothing was changed' % (name, inf_path))
            copies.append((names[name.lower()], target))
        command = stage_command(self.work, os.path.basename(inf_path), copies, new_pnputil)
        stdout, stderr, rc = self.session.run(phase, command, stdin=certutil_armor(cab))
        sections, order = parse_sections(stdout)
        report = {'inf': os.path.basename(inf_path), 'files': [n for n, _p in members], 'copied': [t for _n, t in copies]}
        for tag in ['receive', 'decode', 'expand'] + ['copy%d' % i for i in range(len(copies))]:
            text, code = sections.get(tag, (None, None))
            # copy may leave ERRORLEVEL as the previous command set it: its own message tells.
            if code != 0 or (tag.startswith('copy') and '1 file(s) copied' not in (text or '')):
                raise WinRMError('staging driver package %s failed at step %s (exit code %s): %s. The registry was '
                                 'not changed; work files under %%SystemRoot%%\\Temp\\sanboot-* may remain.'
                                 % (os.path.basename(inf_path), tag, code, _clip(text if text is not None else stdout + stderr)),
                                 phase=phase)
        text, code = sections.get('pnputil', ('', None))
        report['pnputil'] = {'rc': code, 'output': text}
        published = re.search(r'Published [Nn]ame\s*:\s*(\S+)', text or '')
        report['published_name'] = published.group(1) if published else None
        if code not in (0, 3010):
            self.warnings.append('pnputil did not add %s to the driver store (exit code %s): %s. Its files were copied '
                                 'and the registry changes made, so Windows can boot with it; install the package '
                                 'once Windows runs on the new hardware.' % (os.path.basename(inf_path), code, _clip(text)))
        return report

    # step 4 -------------------------------------------------------------------------------------------
    def apply(self, reg_text, as_system, phase='applying the change'):
        stdout, stderr, rc = self.session.run(phase, import_command(self.work, as_system),
                                              stdin=certutil_armor(reg_file_bytes(reg_text)))
        sections, order = parse_sections(stdout)
        for tag in ('receive', 'decode'):
            text, code = sections.get(tag, (None, None))
            if code != 0:
                raise WinRMError('sending the change to the host failed at step %s (exit code %s): %s. Nothing was '
                                 'imported.' % (tag, code, _clip(text if text is not None else stdout + stderr)),
                                 phase=phase, applied=False)
        if as_system:
            for tag in ('task', 'run'):
                text, code = sections.get(tag, (None, None))
                if code != 0:
                    raise WinRMError('running reg import as SYSTEM through schtasks failed at step %s (exit code %s): '
                                     '%s. Nothing was imported.' % (tag, code, _clip(text or stdout + stderr)),
                                     phase=phase, applied=False)
            result = sections.get('result', ('', 1))[0].strip().lower()
            if result not in ('ok', 'failed'):
                raise WinRMError('the SYSTEM task importing the change did not finish within %d s; it may still '
                                 'run. Run the task again to check the state.' % TASK_WAIT_SECONDS,
                                 phase=phase, applied=None)
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


def plan_state(reader, changes):
    """Which of the planned operations are in effect in ``reader`` (a Hive): (applied, not_applied) lists."""
    applied, missing = [], []
    for change in changes:
        key = tuple(change['key'].split('\\'))
        kind = change['op']
        if kind == 'create_key':
            done = reader.key_exists(key)
        elif kind == 'delete_key':
            done = not reader.key_exists(key)
        elif kind == 'delete_value':
            done = reader.get_value(key, change['name']) is None
        else:
            current = reader.get_value(key, change['name'])
            after = change['after']
            done = current is not None and current.display() == after
        (applied if done else missing).append(change)
    return applied, missing


# ---------------------------------------------------------------------------------------------------------
# The three live jobs: the offline job on the saved copy (check mode), then the change applied on the host

LIVE_OPTIONS = dict(
    system_import=dict(type='str', choices=['auto', 'always', 'never'], default='auto'),
)


def _offline_critical_device(params, system_path):
    from ansible_collections.sanboot.windows.plugins.module_utils import cddb, offline
    return offline.run(system_path, cddb.critical_device_plan(params), check_mode=True, backup=False,
                       allow_dirty=True)


def _offline_params(params, system_path, software_path):
    out = dict((k, v) for k, v in params.items() if k not in LIVE_OPTIONS)
    out.update(hive=system_path, software_hive=software_path, backup=False, allow_dirty=True)
    return out


def _driver_package(entry):
    source = entry.get('driver_source') or ''
    if source.startswith('driver package '):
        return source[len('driver package '):]
    return None


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
    result['winrm']['host'] = settings.host
    if applied_as:
        result['applied_as'] = applied_as
    result['warnings'] = list(result.get('warnings') or []) + host.warnings
    return result


def run_live(job, params, settings, check_mode=False, session_factory=None):
    """Run ``job`` (critical_device | iscsi_boot | iscsi_boot_info) against a live host; returns the result dict.

    Errors raise WinRMError (message safe to show); a failed import returns a result with failed=True and the
    operations that are and are not in effect, read back from the host.
    """
    from ansible_collections.sanboot.windows.plugins.module_utils import bootjob, iscsiboot
    if job not in ('critical_device', 'iscsi_boot', 'iscsi_boot_info'):
        raise WinRMError('unknown job %r' % job)
    with LiveHost(settings, session_factory) as host:
        try:
            host.read(software=job != 'critical_device', present=job == 'iscsi_boot_info')
        except WinRMError as exc:
            if 'Nothing was changed' in str(exc):
                raise
            raise WinRMError('%s. Nothing was changed.' % exc, phase=exc.phase, applied=False)
        if job == 'iscsi_boot_info':
            result = bootjob.run_iscsi_boot_info(_offline_params(params, host.system_path, host.software_path))
            _mark_present(result, host.present or {})
            return _finish(result, settings, host)
        if job == 'critical_device':
            result = _offline_critical_device(params, host.system_path)
        else:
            result = bootjob.run_iscsi_boot(_offline_params(params, host.system_path, host.software_path),
                                            check_mode=True)
        if not result['changed'] or check_mode:
            return _finish(result, settings, host)
        reg_text = result['reg']
        records = job == 'iscsi_boot' and params.get('state', 'present') == 'present'
        if records:
            reg_text = record_first(reg_text, iscsiboot.STATE_KEY)
        mode = params.get('system_import') or 'auto'
        as_system = mode == 'always' or (mode == 'auto' and touches(reg_text, 'DriverDatabase'))
        if records:
            result['staged_drivers'] = _stage_drivers(host, result)
        try:
            code, text = host.apply(reg_text, as_system)
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


def _stage_drivers(host, result):
    """Stage the driver package of every NIC whose service iscsi_boot creates from a package; the staging reports."""
    staged = []
    for entry in result.get('nics') or []:
        inf_path = _driver_package(entry)
        if not entry.get('service_created') or not inf_path:
            continue
        missing = [f['name'] for f in entry.get('files') or [] if not f.get('present')]
        if missing:
            raise WinRMError('driver package %s lacks %s, which its install section copies: a boot-start '
                             'service without its binary is not created on a live host. Nothing was changed.'
                             % (inf_path, ', '.join(missing)), applied=False)
        targets = [(f['name'], f['target']) for f in entry.get('files') or [] if f.get('target')]
        try:
            staged.append(host.stage(inf_path, entry.get('files'), targets, _new_pnputil(result.get('os') or {})))
        except WinRMError as exc:
            if 'registry was not changed' in str(exc):
                raise
            raise WinRMError('%s. The registry was not changed (the driver package may be partly staged). %s'
                             % (exc, _RERUN), phase=exc.phase, applied=False)
        service = entry.get('service')
        result['warnings'] = [w for w in result.get('warnings') or []
                              if not w.startswith('service %s was created from its driver package' % service)]
    return staged


def _failed_import(host, result, applied_as, output, records, needed_system):
    """The import stopped halfway: read the host again and say exactly what is in effect."""
    from ansible_collections.sanboot.windows.plugins.module_utils.hive import Hive
    settings = host.settings
    host.read(software=False, phase='reading the registry after a failed import')
    applied, missing = plan_state(Hive(host.system_path, allow_dirty=True), result['changes'])
    result = _finish(result, settings, host, applied_as)
    result.update(failed=True, changed=bool(applied), applied=applied, not_applied=missing,
                  msg='reg import on %s failed (%s) after %d of %d changes were in effect: %s. %s'
                  % (settings.host, _clip(output, 300), len(applied), len(result['changes']),
                     'the record of originals was written first, so state=absent undoes exactly what was '
                     'applied' if records else 'the operations in not_applied were not made', _RERUN))
    if needed_system:
        result['msg'] += (' On Windows 8 and later only SYSTEM may write HKLM\\SYSTEM\\DriverDatabase: leave '
                          'system_import at auto or set it to always.')
    return result


_RERUN = ('Running the task again is safe: it reads the host again and applies only what is missing')
