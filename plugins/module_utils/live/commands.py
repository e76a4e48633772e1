# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command lines for the host, in cmd.exe syntax only (the same from Windows 7 SP1 to Server 2025): one cmd.exe run
per step of the job (read, stage, import), its output cut back into steps by markers (chain, parse_sections)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import uuid

MARK = '##sanboot##'
WORK_DIR = '%SystemRoot%\\Temp'
SOFTWARE_VERSION_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'
PRESENT_QUERY = 'reg query HKLM\\SYSTEM\\CurrentControlSet\\Enum\\PCI /s /v ActiveService'
TASK_WAIT_SECONDS = 300


def work_prefix(token=None):
    """Work file names, relative to %SystemRoot%\\Temp (every command line starts with a cd there)."""
    return 'sanboot-%s' % (token or uuid.uuid4().hex[:8])


def chain(steps):
    """(command, arguments) for one cmd.exe run doing each (tag, command) in turn, marking output and exit code.

    Run with WINRS_SKIP_CMD_SHELL (no implicit ``cmd /c`` around it, which would split the line at its first
    ``&`` before our cmd.exe sees it). Delayed expansion (/v:on) makes !ERRORLEVEL! the code of the step just
    run. The first step changes to %SystemRoot%\\Temp, so that later steps need no %-variables (the wait
    loop's %i must be the last % on the line).
    """
    steps = [('cd', 'cd /d "%s"' % WORK_DIR)] + list(steps)
    parts = ['%s 2>&1 & echo %s %s !ERRORLEVEL!' % (command, MARK, tag) for tag, command in steps]
    return 'cmd.exe', '/v:on /c ' + ' & '.join(parts)


def parse_sections(stdout):
    """{tag: (text, exit code)} from a chain()'s output, in order."""
    sections = []
    lines = []
    marker = re.compile(r'^%s (\S+) (-?\d+)\s*$' % re.escape(MARK))
    for line in stdout.replace('\r\n', '\n').split('\n'):
        match = marker.match(line)
        if match:
            sections.append((match.group(1), ('\n'.join(lines).strip('\n'), int(match.group(2)))))
            lines = []
        else:
            lines.append(line)
    return dict(sections), [tag for tag, _v in sections]


def read_command(work, software=True, present=False):
    steps = []
    if software:
        steps.append(('software', 'reg query "%s"' % SOFTWARE_VERSION_KEY))
    if present:
        steps.append(('present', PRESENT_QUERY))
    steps += [
        ('save', 'reg save HKLM\\SYSTEM "%s.hiv" /y' % work),
        # MSZIP cabinet (4 to 8 times smaller); the raw hive if makecab is missing or fails
        ('pack', 'makecab "%s.hiv" "%s.hcab" >nul || copy /y "%s.hiv" "%s.hcab"' % (work, work, work, work)),
        ('encode', 'certutil -f -encode "%s.hcab" "%s.hb64"' % (work, work)),
        ('hive', 'type "%s.hb64"' % work),
        ('cleanup', 'del /f /q "%s.hiv" "%s.hcab" "%s.hb64"' % (work, work, work)),
    ]
    return chain(steps)


def import_command(work, as_system=False):
    """Receive the base64 .reg on stdin, decode it, import it (directly, or as SYSTEM through schtasks)."""
    steps = [
        ('receive', 'findstr "^" > "%s.rb64"' % work),
        ('decode', 'certutil -f -decode "%s.rb64" "%s.reg"' % (work, work)),
    ]
    if not as_system:
        steps.append(('import', 'reg import "%s.reg"' % work))
    else:
        task = work
        # No quotes inside /tr (schtasks cannot nest them): the work files live under %SystemRoot%\Temp.
        full = '%s\\%s' % (WORK_DIR, work)
        action = 'cmd /c reg import %s.reg > %s.log 2>&1 && echo ok> %s.rc || echo failed> %s.rc' % (
            full, full, full, full)
        steps += [
            ('task', 'schtasks /create /tn "%s" /ru SYSTEM /sc once /st 00:00 /f /tr "%s"' % (task, action)),
            ('run', 'schtasks /run /tn "%s"' % task),
            ('wait', '(for /l %%i in (1,1,%d) do @if not exist "%s.rc" ping -n 2 127.0.0.1 >nul)'
             % (TASK_WAIT_SECONDS, work)),
            ('import', 'type "%s.log"' % work),
            ('result', 'type "%s.rc"' % work),
            ('untask', 'schtasks /delete /tn "%s" /f' % task),
        ]
    files = ' '.join('"%s.%s"' % (work, ext) for ext in (('rb64', 'reg', 'log', 'rc') if as_system else ('rb64', 'reg')))
    steps.append(('cleanup', 'del /f /q %s' % files))
    return chain(steps)


def stage_command(work, inf_name, copies, new_pnputil):
    """Receive a CAB of the driver package on stdin, unpack it, add it to the driver store, copy the binaries."""
    pkg = '%s.pkg' % work
    steps = [
        ('receive', 'findstr "^" > "%s.cb64"' % work),
        ('decode', 'certutil -f -decode "%s.cb64" "%s.cab"' % (work, work)),
        ('mkdir', 'mkdir "%s"' % pkg),
        ('expand', 'expand "%s.cab" -F:* "%s"' % (work, pkg)),
    ]
    if new_pnputil:
        steps.append(('pnputil', 'pnputil /add-driver "%s\\%s" /install' % (pkg, inf_name)))
    else:
        steps.append(('pnputil', 'pnputil -i -a "%s\\%s"' % (pkg, inf_name)))
    for index, (name, target) in enumerate(copies):
        steps.append(('copy%d' % index, 'copy /y "%s\\%s" "..\\%s"' % (pkg, name, target)))
    steps += [
        ('cleanup', 'del /f /q "%s.cb64" "%s.cab"' % (work, work)),
        ('rmdir', 'rmdir /s /q "%s"' % pkg),
    ]
    return chain(steps)
