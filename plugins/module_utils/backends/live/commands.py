# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command lines for the host, in cmd.exe syntax (the same from Windows 7 SP1 to Server 2025): one cmd.exe run per
step of the job (read, stage, apply, clean up), each step marked in the output so that it can be cut back into steps
(parse_sections). docs/live-hosts.md lists every command with its purpose.

Every line changes to %SystemRoot%\\Temp and writes what its steps print to a work file that it types at the end:
the output then reaches the controller in one piece (one WS-Man Receive, not one per step). Work files and the
scheduled task are named sanboot-<8 hex digits> for the task that made them, so that a later run finds what an
interrupted one left (leftover_tokens) and removes it (cleanup_steps).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re
import uuid

from ansible_collections.sanboot.windows.plugins.module_utils.registry import HOLES, PARENTS, Follow, Read

MARK = '##'
WORK_DIR = '%SystemRoot%\\Temp'
TASK_WAIT_SECONDS = 300
# cmd.exe reads at most 8191 characters of a command line; %SystemRoot% may grow by its expansion.
MAX_LINE = 8100
# Variables for the key prefixes most queries share (set at the start of every line, longest first): a read round
# of a Windows 8+ NIC (DriverDatabase in two hives, the version values) then stays within one command line.
KEY_VARIABLES = (
    ('B', 'SYSTEM', ('DriverDatabase',)),
    ('D', 'DRIVERS', ('DriverDatabase',)),
    ('W', 'SOFTWARE', ('Microsoft', 'Windows NT', 'CurrentVersion')),
    ('Y', 'SYSTEM', ()),
    ('R', 'DRIVERS', ()),
)
# Windows 10's kernel loads HKLM\DRIVERS on demand and unloads it when idle (issue 25): a line that reads it first
# checks that it is there, and otherwise loads the file under the task's own name (R and D then name that key),
# which the line's last step unloads. reg load fails on a file the kernel holds (a sharing violation): then the
# kernel has just loaded it, and HKLM\DRIVERS is asked again.
DRIVERS_FILE = '!SystemRoot!\\System32\\config\\DRIVERS'
# The current control set before Select has been read: resolved on the host into !S! (see read_command).
CURRENT = '(current control set)'
_TOKEN_RE = re.compile(r'^sanboot-([0-9a-f]{8})(\.[A-Za-z0-9.]+)?$')
_UNSAFE = re.compile(r'["%!^\x00-\x1f]')
PS_CHUNK = 3 * 1024           # raw bytes per line of the staging script (4 KiB of base64)


def work_prefix(token=None):
    """Work file names, relative to %SystemRoot%\\Temp (every command line starts with a cd there)."""
    return 'sanboot-%s' % (token or uuid.uuid4().hex[:8])


def drivers_steps(work):
    """(first steps, last step) of a line that reads HKLM\\DRIVERS: make it readable as !R! (loaded by the kernel,
    or by this line under HKLM\\<work>), and unload what the line loaded."""
    own = 'HKLM\\%s' % work
    load = ('reg query "HKLM\\DRIVERS" /ve >nul 2>&1 || (reg load "%s" "%s" >nul 2>&1 && set "R=%s") || '
            'reg query "HKLM\\DRIVERS" /ve >nul 2>&1' % (own, DRIVERS_FILE, own))
    return ([('drivers', load), ('drivers-name', 'set "D=!R!\\DriverDatabase" & echo !R!')],
            ('unload', 'reg unload "%s" >nul 2>&1' % own))


def _reads_drivers(steps):
    return any('!D!' in command or '!R!' in command for _tag, command in steps)


def _line(steps, work, resolve_current=False):
    """(command, arguments): cmd.exe running each (tag, command) in turn, marked, output buffered in <work>.out.

    Run with WINRS_SKIP_CMD_SHELL (no implicit ``cmd /c`` around it, which would split the line at its first ``&``
    before ours sees it). Delayed expansion (/v:on) makes !ERRORLEVEL! the code of the step just run. cmd.exe pairs
    ``%`` signs before it runs a line and replaces a pair that names a defined variable: %SystemRoot% comes before
    every loop variable, and each pair it can form after that holds a space or a quote, which no variable's name has
    (test_commands checks every line).
    """
    pre = ['set "%s=HKLM\\%s"' % (name, '\\'.join((hive,) + prefix)) for name, hive, prefix in KEY_VARIABLES]
    if resolve_current:
        # Select\Current -> S=HKLM\SYSTEM\ControlSet00N, by the token positions of reg's value line (not translated)
        pre += ['(for /f "tokens=3" %a in (\'reg query HKLM\\SYSTEM\\Select /v Current\') do @set /a N=%a >nul)',
                'set "C=00!N!"', 'set "S=HKLM\\SYSTEM\\ControlSet!C:~-3!"']
        steps = [('cs', 'echo !S!')] + list(steps)
    if _reads_drivers(steps):
        # made readable right before the first step that reads it (after pnputil, which has the kernel load it)
        first, last = drivers_steps(work)
        at = [index for index, step in enumerate(steps) if _reads_drivers([step])][0]
        steps = list(steps[:at]) + first + list(steps[at:]) + [last]
    body = '&'.join('%s&echo %s %s !ERRORLEVEL!' % (command, MARK, tag) for tag, command in steps)
    rest = pre + ['(%s) > "%s.out" 2>&1' % (body, work), 'type "%s.out"' % work, 'del /f /q "%s.out"' % work]
    return 'cmd.exe', '/v:on /c cd /d "%s" && (%s)' % (WORK_DIR, ' & '.join(rest))


def parse_sections(stdout):
    """{tag: (text, exit code)} from a command's output, and the tags in order. A tag printed more than once (a step
    inside a loop, see follow_step) has the texts of every time, and the last exit code."""
    sections = []
    lines = []
    marker = re.compile(r'^%s (\S+) (-?\d+|!ERRORLEVEL!)?\s*$' % re.escape(MARK))
    for line in stdout.replace('\r\n', '\n').split('\n'):
        match = marker.match(line)
        if match:
            code = match.group(2)
            sections.append((match.group(1), ('\n'.join(lines).strip('\n'),
                                              int(code) if code and code.lstrip('-').isdigit() else None)))
            lines = []
        else:
            lines.append(line)
    out, order = {}, []
    for tag, (text, code) in sections:
        if tag in out:
            text = out[tag][0] + '\n\n' + text
        else:
            order.append(tag)
        out[tag] = (text, code)
    return out, order


def safe(text, what):
    if _UNSAFE.search(text):
        raise ValueError('%s %r has a character cmd.exe cannot pass safely (" %% ! ^ or a control character)'
                         % (what, text))
    return text


def key_text(hive, path):
    """The quoted key name for reg.exe; the current control set placeholder becomes !S!, and the longest of
    KEY_VARIABLES' prefixes its variable (see _line)."""
    if path and path[0] == CURRENT:
        return '"!S!%s"' % ''.join('\\' + safe(p, 'registry key') for p in path[1:])
    for name, prefix_hive, prefix in KEY_VARIABLES:
        if hive == prefix_hive and tuple(path[:len(prefix)]) == prefix:
            return '"!%s!%s"' % (name, ''.join('\\' + safe(p, 'registry key') for p in path[len(prefix):]))
    return '"HKLM\\%s%s"' % (hive, ''.join('\\' + safe(p, 'registry key') for p in path))


def queries(read):
    """reg query arguments for one Read (readset.Read): [(arguments, value name or None)]."""
    key = key_text(read.hive, read.path)
    recurse = ' /s' if read.recursive else ''
    if read.values is None:
        return [('%s%s' % (key, recurse), None)]
    return [('%s%s %s' % (key, recurse, '/ve' if name == '' else '/v "%s"' % safe(name, 'value name')), name)
            for name in read.values]


def lookup_query(hive, parent, child):
    """reg query arguments that print a subkey's name as stored (reg.exe echoes a queried key as typed)."""
    return '%s /f "%s" /k /e' % (key_text(hive, parent), safe(child, 'registry key'))


def read_commands(work, jobs, leftovers=True, follows=()):
    """[(command, [(tag, payload)])] for jobs [(reg query arguments, payload)]: as few lines as cmd.exe allows.
    ``follows`` [(cmd.exe text, [(tag, payload)])] (follow_step) go on the last line, or on lines of their own."""
    resolve = any('"!S!' in arguments for arguments, _p in jobs) or any('"!S!' in text for text, _t in follows)
    commands, batch, tags = [], [], []
    first = True
    steps = group_queries(jobs)
    # a follow's own tag is printed after its loop, so that the last tag of a line is always printed
    steps += [('F%d' % index, text, list(follow_tags) + [('F%d' % index, None)])
              for index, (text, follow_tags) in enumerate(follows)]
    for tag, command, step_tags in steps:
        step = (tag, command)
        extra = [('leftovers', 'dir /b "sanboot-*"')] if first and leftovers else []
        if batch and len(_line(extra + batch + [step], work, resolve)[1]) > MAX_LINE:
            commands.append((_line(extra + batch, work, resolve), tags))
            batch, tags, first = [], [], False
        batch.append(step)
        tags.extend(step_tags)
    extra = [('leftovers', 'dir /b "sanboot-*"')] if first and leftovers else []
    if batch or extra:
        commands.append((_line(extra + batch, work, resolve), tags))
    return commands


_QUERY_RE = re.compile(r'^"([^"]*)"(.*)$')
_NAMED_RE = re.compile(r'(/[vf] )"([^"]*)"')


def _variants(arguments):
    """(template, name) pairs of reg query arguments: the value or /f name, or one key name, as %~z."""
    match = _QUERY_RE.match(arguments)
    if not match:
        return []
    key, rest = match.groups()
    out = []
    named = _NAMED_RE.search(rest)
    if named:
        out.append(('"%s"%s' % (key, rest[:named.start()] + named.group(1) + '"%~z"' + rest[named.end():]),
                    named.group(2)))
    parts = key.split('\\')
    for position in range(1, len(parts)):
        out.append(('"%s"%s' % ('\\'.join(parts[:position] + ['%~z'] + parts[position + 1:]), rest), parts[position]))
    return [(t, n) for t, n in out if n and not re.search(r'[\s()]', n) and '%' not in t.replace('%~z', '')]


def group_queries(jobs):
    """Steps [(tag, command, [(tag, payload)])] for jobs [(reg query arguments, payload)]: queries that differ in
    one name only run as one ``for %z in ("name" ...)`` loop (each pass marked with a tag of its own, the name in
    it), so that a read round stays within one command line; others one by one."""
    candidates = [_variants(arguments) for arguments, _payload in jobs]
    left = set(range(len(jobs)))
    groups = []
    while True:
        counts = {}
        for index in left:
            for template, name in candidates[index]:
                counts.setdefault(template, []).append((index, name))
        best = max(counts.items(), key=lambda item: (len(item[1]), -min(i for i, _n in item[1])), default=None)
        if best is None or len(best[1]) < 2:
            break
        members, names = [], set()
        for index, name in sorted(best[1]):
            if name.lower() not in names:
                names.add(name.lower())
                members.append((index, name))
        if len(members) < 2:
            break
        groups.append((best[0], members))
        left -= set(index for index, _name in members)
    # templates over the same names share one loop
    loops = []
    for template, members in groups:
        names = [name for _index, name in members]
        for loop in loops:
            if loop[0] == names:
                loop[1].append((template, members))
                break
        else:
            loops.append((names, [(template, members)]))
    steps = []
    for number, (names, templates) in enumerate(loops):
        body, tags = [], []
        for column, (template, members) in enumerate(templates):
            prefix = 'g%d.%d-' % (number, column)
            body.append('reg query %s&echo %s %s%%~z !ERRORLEVEL!' % (template, MARK, prefix))
            tags += [(prefix + name, jobs[index][1]) for index, name in members]
        tag = 'G%d' % number
        command = '(for %%z in (%s) do @(%s))' % (' '.join('"%s"' % n for n in names), '&'.join(body))
        steps.append((tag, command, tags + [(tag, None)]))
    steps += [('q%d' % index, 'reg query %s' % jobs[index][0], [('q%d' % index, jobs[index][1])])
              for index in sorted(left)]
    return steps


LOOP_VARIABLES = 'ijkl'          # the loop variable of each depth of a Follow (registry.HOLES)


def _holed_key(hive, path, depth):
    """key_text of a path with registry.HOLES in it, the holes up to ``depth`` as their loop variables, and
    registry.PARENTS as the variable P (set from the loop variable, less its last part: see follow_step)."""
    text = key_text(hive, path)
    for level in range(depth + 1):
        text = text.replace(HOLES[level], '%' + LOOP_VARIABLES[level])
        text = text.replace(PARENTS[level], '!P:\\%%~nx%s=!' % LOOP_VARIABLES[level])
    return text


def follow_step(follow, tags, depth=0):
    """The cmd.exe text that follows ``follow`` (registry.Follow) on the host: ``for /f`` over the output of reg query
    of its key - the first word of each line (value names), or the third (a value's data) - running the queries of
    ``then`` for each, each marked with its own tag (a tag per query, its text that of every pass). ``tags`` gets
    (tag, (Read with holes, typed depth)) for each query, name lookups first (reg query /f ... /k /e: the name as
    stored) so that a key whose name came from a value is spelt as the host stores it.

    The lines that are not value lines (the key's own name, a translated "End of search" line) give words that name
    no key: their queries find nothing, and print only an error message that is no key or value line. The IN clause
    runs in a cmd.exe of its own, with delayed expansion (the key variables, !S! and !D!, are in its environment)."""
    if isinstance(follow.take, tuple):
        # names given: a plain for over them (quoted; %~x drops the quotes)
        inner, tokens = None, None
    elif follow.take is None:
        inner, tokens = 'reg query %s' % _holed_key(follow.hive, follow.path, depth - 1), 1
    else:
        inner = 'reg query %s%s /v "%s"' % (_holed_key(follow.hive, follow.path, depth - 1),
                                            ' /s' if follow.recursive else '', safe(follow.take, 'value name'))
        tokens = 3
    body, looked = [], set()
    for item in follow.then:
        if isinstance(item, Follow):
            body.append(follow_step(item, tags, depth + 1))
            continue
        for position, part in enumerate(item.path):
            if part in HOLES[:depth + 1] and (item.hive, item.path[:position + 1]) not in looked:
                looked.add((item.hive, item.path[:position + 1]))
                tag = 'f%d' % len(tags)
                tags.append((tag, (Read(item.hive, item.path[:position], False, ()), position)))
                body.append('reg query %s /f "%%%s" /k /e&echo %s %s !ERRORLEVEL!'
                            % (_holed_key(item.hive, item.path[:position], depth),
                               LOOP_VARIABLES[HOLES.index(part)], MARK, tag))
        parent = [level for level in range(depth + 1) if PARENTS[level] in item.path]
        if parent:
            # a value path's key: the name less "\<its last part>" (delayed !P:\x=! replaces every such text)
            body.append('set "P=%%%s"' % LOOP_VARIABLES[parent[0]])
        for arguments, _name in queries(item):
            tag = 'f%d' % len(tags)
            tags.append((tag, (item, len(item.path))))
            for level in range(depth + 1):
                arguments = arguments.replace(HOLES[level], '%' + LOOP_VARIABLES[level])
                arguments = arguments.replace(PARENTS[level], '!P:\\%%~nx%s=!' % LOOP_VARIABLES[level])
            body.append('reg query %s&echo %s %s !ERRORLEVEL!' % (arguments, MARK, tag))
    if inner is None:
        return '(for %%%s in (%s) do @(%s))' % (LOOP_VARIABLES[depth], ' '.join(
            '"%s"' % safe(name, 'registry key') for name in follow.take), '&'.join(body).replace(
                '%' + LOOP_VARIABLES[depth], '%~' + LOOP_VARIABLES[depth]))
    return '(for /f "tokens=%d" %%%s in (\'cmd /v:on /c %s\') do @(%s))' % (
        tokens, LOOP_VARIABLES[depth], inner, '&'.join(body))


def leftover_tokens(listing, own):
    """{token: [file names]} of work files an earlier run left in %SystemRoot%\\Temp (``dir /b`` output)."""
    found = {}
    for line in listing.replace('\r\n', '\n').split('\n'):
        match = _TOKEN_RE.match(line.strip())
        if match and 'sanboot-%s' % match.group(1) != own:
            found.setdefault(match.group(1), []).append(line.strip())
    return found


def cleanup_steps(tokens):
    """Remove what runs with these tokens left: their SYSTEM task, package folder and work files."""
    steps = []
    for token in sorted(tokens):
        name = 'sanboot-%s' % token
        steps += [('untask-%s' % token, 'schtasks /delete /tn "%s" /f' % name),
                  ('unpkg-%s' % token, '(if exist "%s.pkg" rmdir /s /q "%s.pkg")' % (name, name)),
                  ('unfiles-%s' % token, 'del /f /q "%s.*"' % name)]
    return steps


def cleanup_command(work, tokens):
    return _line(cleanup_steps(tokens), work)


def apply_command(work, as_system=False, cleanup=(), first=None):
    """Receive the .reg text on stdin (as ASCII lines, written to a file by findstr) and import it, directly or as
    SYSTEM through a one-shot scheduled task whose result file is written under another name and then renamed.

    With ``first`` (a number of lines, see formats.in_two_parts) the file's tail is imported alone first, behind a
    header (``more +N`` skips N lines), and the whole file only when that worked."""
    steps = cleanup_steps(cleanup) + [('receive', 'findstr "^" > "%s.reg"' % work)]
    files = ['reg']
    imports = ['%s.reg' % work]
    if first:
        steps.append(('first', '(echo Windows Registry Editor Version 5.00& echo.& more +%d "%s.reg") > "%s.1"'
                      % (first, work, work)))
        files.append('1')
        imports.insert(0, '%s.1' % work)
    if not as_system:
        steps.append(('import', ' && '.join('reg import "%s"' % name for name in imports)))
    else:
        task = work
        # No quotes inside /tr (schtasks cannot nest them); at most 261 characters. The group's output (ok or failed)
        # goes to <work>.rt, renamed to <work>.rc once complete.
        action = ('cmd /c cd /d %s&(%s&&echo ok||echo failed)>%s.rt&ren %s.rt %s.rc'
                  % (WORK_DIR, '&&'.join('reg import %s>>%s.log 2>&1' % (name, work) for name in imports),
                     work, work, work))
        steps += [
            ('task', 'schtasks /create /tn "%s" /ru SYSTEM /sc once /st 00:00 /f /tr "%s"' % (task, action)),
            ('run', 'schtasks /run /tn "%s"' % task),
            ('wait', '(for /l %%i in (1,1,%d) do @if not exist "%s.rc" ping -n 2 127.0.0.1 >nul)'
             % (TASK_WAIT_SECONDS, work)),
            ('import', 'type "%s.log"' % work),
            ('result', 'type "%s.rc"' % work),
            ('untask', 'schtasks /delete /tn "%s" /f' % task),
        ]
        files += ['log', 'rc', 'rt']
    steps.append(('cleanup', 'del /f /q %s' % ' '.join('"%s.%s"' % (work, ext) for ext in files)))
    return _line(steps, work)


def task_action_length(work):
    """Length of the scheduled task's /tr text (schtasks refuses more than 261 characters)."""
    line = apply_command(work, True, first=99)[1]
    return len(re.search(r'/tr "([^"]*)"', line).group(1).replace(WORK_DIR, 'C:\\Windows\\Temp'))


def stage_command(work, inf_name, copies, new_pnputil, cleanup=(), reads=()):
    """The package's files arrive as a PowerShell 2.0 script on stdin (stage_script) that writes them to
    <work>.pkg; pnputil adds the package to the driver store; the service binaries are copied to their INF
    destinations and compared with fc (exit codes only: copy's message is translated). ``reads`` [(tag, command)]:
    read steps run once pnputil has run (Windows' records of the package, issue 25)."""
    pkg = '%s.pkg' % work
    inf = '%s\\%s' % (pkg, safe(inf_name, 'INF name'))
    steps = cleanup_steps(cleanup) + [('receive', 'powershell.exe -NoProfile -NonInteractive -Command -')]
    if new_pnputil:
        steps.append(('pnputil', 'pnputil /add-driver "%s" /install' % inf))
    else:
        steps.append(('pnputil', 'pnputil -i -a "%s"' % inf))
    # the name pnputil published the INF under: the oemN.inf in Windows\INF equal to ours (fc's exit code; a FOR's
    # command runs to the end of the line unless it is in parentheses)
    steps.append(('published', '(for %%f in (..\\inf\\oem*.inf) do @fc /b %%f "%s" >nul && echo %%~nxf)' % inf))
    steps += list(reads)
    for index, (name, target) in enumerate(copies):
        source, dest = '%s\\%s' % (pkg, safe(name, 'file name')), '..\\%s' % safe(target, 'file name')
        steps.append(('copy%d' % index, 'copy /y "%s" "%s" >nul & fc /b "%s" "%s" >nul' % (source, dest, source, dest)))
    steps.append(('rmdir', 'rmdir /s /q "%s"' % pkg))
    return _line(steps, work, resolve_current=any('"!S!' in command for _tag, command in reads))


def published_name(text):
    names = [line.strip() for line in (text or '').split('\n') if re.match(r'^oem\d+\.inf$', line.strip(), re.I)]
    return names[-1] if names else None


def stage_script(work, files):
    """PowerShell 2.0 statements, one per line (as ``-Command -`` reads them), writing ``files`` [(name, bytes)]
    into %SystemRoot%\\Temp\\<work>.pkg; exit code 1 when any statement failed."""
    lines = ["$ErrorActionPreference = 'Stop'",
             "$d = Join-Path $env:SystemRoot 'Temp\\%s.pkg'" % work,
             '[void][IO.Directory]::CreateDirectory($d)']
    for name, data in files:
        lines.append("$f = [IO.File]::Create((Join-Path $d '%s'))" % safe(name, 'file name').replace("'", "''"))
        for start in range(0, len(data), PS_CHUNK):
            chunk = base64.b64encode(data[start:start + PS_CHUNK]).decode('ascii')
            lines.append("$b = [Convert]::FromBase64String('%s'); $f.Write($b, 0, $b.Length)" % chunk)
        lines.append('$f.Close()')
    lines += ['if ($Error.Count -gt 0) { exit 1 }', 'exit 0']
    return ('\r\n'.join(lines) + '\r\n').encode('ascii')
