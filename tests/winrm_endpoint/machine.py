# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An emulated Windows host for the WinRM tests: cmd.exe's parser (the subset the collection and a user's
typo can reach), and reg / certutil / findstr / expand / pnputil / schtasks / copy / del / type / ... working
on a real hive file (HKLM\\SYSTEM), a SOFTWARE hive file and a private folder standing for C:\\.

Output texts follow Microsoft's documentation of each command (and what Windows prints for the errors).
``reg import`` decodes the UTF-16 .reg file and merges it with hivexregedit (libguestfs' Perl implementation,
independent of the collection's), section by section when it must stop halfway.
"""

from __future__ import absolute_import, division, print_function

import base64
import binascii
import os
import re
import shutil
import struct
import subprocess
import threading
import zlib

import hivex

REG_TYPES = {0: 'REG_NONE', 1: 'REG_SZ', 2: 'REG_EXPAND_SZ', 3: 'REG_BINARY', 4: 'REG_DWORD', 7: 'REG_MULTI_SZ',
             11: 'REG_QWORD'}
OK_TEXT = 'The operation completed successfully.\r\n'
NOT_FOUND = 'ERROR: The system was unable to find the specified registry key or value.\r\n'
ACCESS = 'ERROR: Error accessing the registry.\r\n'


class ParseError(Exception):
    pass


# Console output code page of the shell being served (WINRS_CODEPAGE; 437 unless the client asks otherwise).
_CODEPAGE = ['cp437']


class Result(object):
    def __init__(self, out=b'', err=b'', rc=0):
        self.out = out if isinstance(out, bytes) else out.encode(_CODEPAGE[0], 'replace')
        self.err = err if isinstance(err, bytes) else err.encode(_CODEPAGE[0], 'replace')
        self.rc = rc


# ---------------------------------------------------------------------------------------------------------
# cmd.exe parsing

class Simple(object):
    def __init__(self, text):
        self.text = text


class Group(object):
    def __init__(self, seq, redirs):
        self.seq = seq
        self.redirs = redirs


class For(object):
    def __init__(self, var, start, step, end, body):
        self.var, self.start, self.step, self.end, self.body = var, start, step, end, body


class If(object):
    def __init__(self, negate, path, body):
        self.negate, self.path, self.body = negate, path, body


_FOR_RE = re.compile(r'for\s+/l\s+%(\w)\s+in\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)\s*do\s+', re.I)
_IF_RE = re.compile(r'if\s+(not\s+)?exist\s+("[^"]*"|[^\s"]+)\s+', re.I)


def _skip(s, i):
    while i < len(s) and s[i] in ' \t':
        i += 1
    return i


def parse_seq(s, i=0, in_group=False):
    items, op = [], None
    while True:
        i = _skip(s, i)
        if i >= len(s) or (in_group and s[i] == ')'):
            break
        node, i = parse_stmt(s, i, in_group)
        items.append((op, node))
        i = _skip(s, i)
        if i >= len(s) or (in_group and s[i] == ')'):
            break
        if s.startswith('&&', i):
            op, i = '&&', i + 2
        elif s.startswith('||', i):
            op, i = '||', i + 2
        elif s[i] == '&':
            op, i = '&', i + 1
        elif s[i] == '|':
            raise ParseError('pipes are not emulated')
        else:
            raise ParseError('unexpected %r at %d' % (s[i], i))
    return items, i


def _simple_end(s, i, in_group):
    quoted = False
    while i < len(s):
        c = s[i]
        if c == '"':
            quoted = not quoted
        elif not quoted:
            if c == '>' and s.startswith('>&', i):
                i += 2
                continue
            if c in '&|' or (in_group and c == ')'):
                break
        i += 1
    return i


def parse_stmt(s, i, in_group):
    i = _skip(s, i)
    if i < len(s) and s[i] == '@':
        i += 1
    if i < len(s) and s[i] == '(':
        seq, i = parse_seq(s, i + 1, True)
        if i >= len(s) or s[i] != ')':
            raise ParseError('unbalanced parenthesis')
        end = _simple_end(s, i + 1, in_group)
        return Group(seq, s[i + 1:end]), end
    match = _FOR_RE.match(s, i)
    if match:
        body, i = parse_seq(s, match.end(), in_group)
        return For(match.group(1), int(match.group(2)), int(match.group(3)), int(match.group(4)), body), i
    match = _IF_RE.match(s, i)
    if match:
        body, i = parse_seq(s, match.end(), in_group)
        return If(bool(match.group(1)), match.group(2).strip('"'), body), i
    end = _simple_end(s, i, in_group)
    return Simple(s[i:end]), end


def split_redirections(text):
    """(text without redirections, [(fd, mode, target)]) for one simple command."""
    out, redirs = [], []
    i, quoted = 0, False
    while i < len(text):
        c = text[i]
        if c == '"':
            quoted = not quoted
            out.append(c)
            i += 1
            continue
        if c == '>' and not quoted:
            fd = 1
            if out and out[-1] in '12' and (len(out) == 1 or out[-2] in ' \t'):
                fd = int(out.pop())
            mode = 'w'
            i += 1
            if i < len(text) and text[i] == '>':
                mode, i = 'a', i + 1
            i = _skip(text, i)
            if text.startswith('&', i):
                redirs.append((fd, 'dup', text[i + 1]))
                i += 2
                continue
            start = i
            if i < len(text) and text[i] == '"':
                end = text.index('"', i + 1)
                target, i = text[i + 1:end], end + 1
            else:
                while i < len(text) and text[i] not in ' \t>':
                    i += 1
                target = text[start:i]
            redirs.append((fd, mode, target))
            continue
        out.append(c)
        i += 1
    return ''.join(out), redirs


def split_args(text):
    args, cur, quoted, has = [], [], False, False
    for c in text:
        if c == '"':
            quoted = not quoted
            has = True
        elif c in ' \t' and not quoted:
            if cur or has:
                args.append(''.join(cur))
            cur, has = [], False
        else:
            cur.append(c)
    if cur or has:
        args.append(''.join(cur))
    return args


def expand_percent(s, env):
    """Command-line %VAR% expansion: defined names are replaced, others are kept (scan goes on after them)."""
    out, i = [], 0
    while i < len(s):
        if s[i] == '%':
            end = s.find('%', i + 1)
            if end > i + 1 and s[i + 1:end].upper() in env:
                out.append(env[s[i + 1:end].upper()])
                i = end + 1
                continue
        out.append(s[i])
        i += 1
    return ''.join(out)


# ---------------------------------------------------------------------------------------------------------
# The machine

class Machine(object):
    """The state of one emulated Windows host."""

    def __init__(self, root, system_hive, software_hive=None, present=None, version='6.1', build=7601,
                 system_only_driver_database=None, fail_import_after=None, admin=True):
        self.root = root
        self.fs = os.path.join(root, 'fs')
        os.makedirs(os.path.join(self.fs, 'c', 'windows', 'temp'), exist_ok=True)
        os.makedirs(os.path.join(self.fs, 'c', 'windows', 'system32', 'drivers'), exist_ok=True)
        self.system = os.path.join(root, 'SYSTEM')
        shutil.copyfile(system_hive, self.system)
        os.chmod(self.system, 0o644)
        self.software = None
        if software_hive:
            self.software = os.path.join(root, 'SOFTWARE')
            shutil.copyfile(software_hive, self.software)
            os.chmod(self.software, 0o644)
        self.present = dict(present or {})
        self.version = version
        self.build = build
        major, minor = [int(p) for p in version.split('.')]
        # Windows 8 and later: HKLM\SYSTEM\DriverDatabase is writable only by SYSTEM.
        self.system_only_driver_database = (major, minor) >= (6, 2) if system_only_driver_database is None \
            else system_only_driver_database
        self.fail_import_after = fail_import_after   # apply this many sections of the next import, then fail
        self.admin = admin
        self.env = {'SYSTEMROOT': 'C:\\Windows', 'WINDIR': 'C:\\Windows', 'TEMP': 'C:\\Windows\\Temp',
                    'TMP': 'C:\\Windows\\Temp', 'SYSTEMDRIVE': 'C:', 'COMSPEC': 'C:\\Windows\\system32\\cmd.exe'}
        self.tasks = {}
        self.driver_store = []
        self.commands = []          # every command line received, for the tests
        self.imports = []           # every .reg text imported
        self.lock = threading.Lock()

    # file system ---------------------------------------------------------------------------------------
    def path(self, win_path, cwd):
        p = win_path.strip('"')
        if p.lower() == 'nul':
            return None
        if not re.match(r'^[A-Za-z]:', p):
            p = cwd.rstrip('\\') + '\\' + p
        drive, rest = p[0].lower(), p[2:]
        parts = []
        for part in rest.replace('/', '\\').split('\\'):
            if part in ('', '.'):
                continue
            if part == '..':
                if parts:
                    parts.pop()
                continue
            parts.append(part.lower())
        return os.path.join(self.fs, drive, *parts)

    # running ---------------------------------------------------------------------------------------------
    def execute(self, command_line, stdin=b'', skip_cmd_shell=True, codepage='437'):
        """Run what a WinRM Command asks: the process itself, or (WINRS_SKIP_CMD_SHELL false) cmd /c around it."""
        with self.lock:
            _CODEPAGE[0] = 'utf-8' if str(codepage) == '65001' else 'cp%s' % codepage
            self.commands.append(command_line)
            ctx = Context(self, stdin)
            if not skip_cmd_shell:
                return ctx.cmd('/c ' + command_line)
            line = command_line.strip()
            if not line:
                return Result(rc=1)
            word = line.split(None, 1)[0]
            return ctx.program(word, line[len(word):])


class Context(object):
    def __init__(self, machine, stdin, as_system=False, cwd='C:\\Users\\Administrator'):
        self.m = machine
        self.stdin = stdin
        self.cwd = cwd
        os.makedirs(machine.path(cwd, cwd), exist_ok=True)
        self.errorlevel = 0
        self.delayed = False
        self.as_system = as_system

    # cmd.exe -----------------------------------------------------------------------------------------------
    def cmd(self, rest):
        match = re.match(r'^\s*((?:/[a-zA-Z](?::\w+)?\s+)*)/[cCkK]\s+(.*)$', rest, re.S)
        if not match:
            return Result(b'Microsoft Windows [Version %s]\r\n' % self.version_text().encode(), rc=0)
        flags = match.group(1).lower()
        line = match.group(2)
        if line.startswith('"') and line.endswith('"'):
            line = line[1:-1]
        inner = Context(self.m, self.stdin, self.as_system, self.cwd)
        inner.delayed = '/v:on' in flags
        line = expand_percent(line, self.m.env)
        try:
            seq, end = parse_seq(line)
        except ParseError as exc:
            return Result(err='The syntax of the command is incorrect. (%s)\r\n' % exc, rc=1)
        if end != len(line):
            return Result(err='%s was unexpected at this time.\r\n' % line[end:end + 1], rc=1)
        out = Output()
        inner.run_seq(seq, out)
        return Result(out.stdout, out.stderr, inner.errorlevel)

    def version_text(self):
        return '%s.%d' % (self.m.version, self.m.build)

    def run_seq(self, seq, out):
        last_ok = True
        for op, node in seq:
            if op == '&&' and not last_ok:
                continue
            if op == '||' and last_ok:
                continue
            last_ok = self.run_node(node, out)
        return last_ok

    def run_node(self, node, out):
        if isinstance(node, Group):
            sink = out.redirected(self, split_redirections(node.redirs)[1])
            ok = self.run_seq(node.seq, sink)
            sink.close()
            return ok
        if isinstance(node, For):
            ok = True
            value = node.start
            while (node.step > 0 and value <= node.end) or (node.step < 0 and value >= node.end):
                body = _substitute(node.body, node.var, str(value))
                ok = self.run_seq(body, out)
                value += node.step
            return ok
        if isinstance(node, If):
            exists = os.path.exists(self.m.path(node.path, self.cwd) or '/nonexistent')
            if exists != node.negate:
                return self.run_seq(node.body, out)
            return True
        text = node.text
        if self.delayed:
            text = re.sub(r'!ERRORLEVEL!', str(self.errorlevel), text, flags=re.I)
        text, redirs = split_redirections(text)
        stripped = text.strip()
        if not stripped:
            return True
        word = stripped.split(None, 1)[0]
        rest = stripped[len(word):]
        if word.lower() == 'echo' or word.lower().startswith('echo.'):
            result = Result((rest[1:] if rest.startswith(' ') else rest).rstrip() + '\r\n')
        else:
            result = self.program(word, rest)
            self.errorlevel = result.rc
        sink = out.redirected(self, redirs)
        sink.write(1, result.out)
        sink.write(2, result.err)
        sink.close()
        return result.rc == 0

    # programs --------------------------------------------------------------------------------------------
    def program(self, word, rest):
        name = word.strip('"').lower().split('\\')[-1]
        if name.endswith('.exe'):
            name = name[:-4]
        args = split_args(rest)
        handler = getattr(self, 'p_' + name, None)
        if name == 'cmd':
            return self.cmd(rest)
        if handler is None:
            return Result(err="'%s' is not recognized as an internal or external command,\r\noperable program or "
                              "batch file.\r\n" % word, rc=9009)
        return handler(args)

    def p_cd(self, args):
        args = [a for a in args if a.lower() != '/d']
        if not args:
            return Result(self.cwd + '\r\n')
        target = self.m.path(args[0], self.cwd)
        if not os.path.isdir(target):
            return Result(err='The system cannot find the path specified.\r\n', rc=1)
        self.cwd = args[0] if re.match(r'^[A-Za-z]:', args[0]) else self.cwd + '\\' + args[0]
        return Result()

    def p_type(self, args):
        out, err, rc = b'', b'', 0
        for arg in args:
            path = self.m.path(arg, self.cwd)
            if path and os.path.isfile(path):
                with open(path, 'rb') as handle:
                    out += handle.read()
            else:
                err += b'The system cannot find the file specified.\r\n'
                rc = 1
        return Result(out, err, rc)

    def p_del(self, args):
        err = b''
        for arg in args:
            if arg.startswith('/'):
                continue
            path = self.m.path(arg, self.cwd)
            if path and os.path.isfile(path):
                os.unlink(path)
            else:
                err += ('Could Not Find %s\r\n' % arg).encode()
        return Result(err=err)

    def p_mkdir(self, args):
        path = self.m.path(args[0], self.cwd)
        if os.path.exists(path):
            return Result(err='A subdirectory or file %s already exists.\r\n' % args[0], rc=1)
        os.makedirs(path)
        return Result()

    p_md = p_mkdir

    def p_rmdir(self, args):
        names = [a for a in args if not a.startswith('/')]
        path = self.m.path(names[0], self.cwd)
        if not os.path.isdir(path):
            return Result(err='The system cannot find the file specified.\r\n', rc=2)
        shutil.rmtree(path)
        return Result()

    p_rd = p_rmdir

    def p_copy(self, args):
        names = [a for a in args if not a.startswith('/')]
        src, dst = self.m.path(names[0], self.cwd), self.m.path(names[1], self.cwd)
        if not os.path.isfile(src):
            return Result('The system cannot find the file specified.\r\n        0 file(s) copied.\r\n', rc=1)
        if os.path.isdir(dst):
            dst = os.path.join(dst, os.path.basename(src))
        if not os.path.isdir(os.path.dirname(dst)):
            return Result('The system cannot find the path specified.\r\n        0 file(s) copied.\r\n', rc=1)
        shutil.copyfile(src, dst)
        return Result('        1 file(s) copied.\r\n')

    def p_ping(self, args):
        return Result('\r\nPinging 127.0.0.1 with 32 bytes of data:\r\nReply from 127.0.0.1: bytes=32 time<1ms TTL=128\r\n')

    def p_findstr(self, args):
        if args != ['^']:
            return Result(err='FINDSTR: only the "^" (copy stdin) form is emulated\r\n', rc=2)
        data = self.stdin.replace(b'\r\n', b'\n')
        lines = data.split(b'\n')
        if lines and lines[-1] == b'':
            lines.pop()
        if not lines:
            return Result(rc=1)
        return Result(b''.join(line + b'\r\n' for line in lines))

    def p_certutil(self, args):
        args = [a for a in args if a.lower() != '-f']
        if len(args) != 3 or args[0].lower() not in ('-encode', '-decode'):
            return Result('CertUtil: Unknown arg: %s\r\n' % (args[0] if args else ''), rc=-2147024809)
        verb = args[0].lower()
        src, dst = self.m.path(args[1], self.cwd), self.m.path(args[2], self.cwd)
        if not os.path.isfile(src):
            return Result('CertUtil: %s command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\r\nCertUtil: The '
                          'system cannot find the file specified.\r\n' % verb, rc=-2147024894)
        with open(src, 'rb') as handle:
            data = handle.read()
        if verb == '-encode':
            text = base64.b64encode(data).decode('ascii')
            body = '\r\n'.join(text[i:i + 64] for i in range(0, len(text), 64))
            result = ('-----BEGIN CERTIFICATE-----\r\n%s\r\n-----END CERTIFICATE-----\r\n' % body).encode('ascii')
        else:
            lines = data.decode('ascii', 'replace').replace('\r\n', '\n').split('\n')
            body = ''.join(line.strip() for line in lines if line.strip() and not line.startswith('-----'))
            try:
                result = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                return Result('CertUtil: -decode command FAILED: 0x80090005 (-2146893819 NTE_BAD_DATA)\r\nCertUtil: '
                              'Bad Data.\r\n', rc=-2146893819)
        with open(dst, 'wb') as handle:
            handle.write(result)
        return Result('Input Length = %d\r\nOutput Length = %d\r\nCertUtil: %s command completed successfully.\r\n'
                      % (len(data), len(result), verb))

    def p_expand(self, args):
        files = [a for a in args if not a.upper().startswith('-F:')]
        src, dst = self.m.path(files[0], self.cwd), self.m.path(files[1], self.cwd)
        try:
            members = read_cab(src)
        except (OSError, ValueError) as exc:
            return Result('Microsoft (R) File Expansion Utility\r\nCopyright (c) Microsoft Corporation. All rights '
                          'reserved.\r\n\r\nCan\'t open input file: %s. (%s)\r\n' % (files[0], exc), rc=1)
        lines = ['Microsoft (R) File Expansion Utility', 'Copyright (c) Microsoft Corporation. All rights reserved.', '']
        for name, data in members:
            with open(os.path.join(dst, name.lower()), 'wb') as handle:
                handle.write(data)
            lines.append('Adding %s\\%s to Extraction Queue' % (files[1], name))
        lines += ['', 'Expanding Files ....', '', 'Expanding Files Complete ...', '%d files total.' % len(members)]
        return Result('\r\n'.join(lines) + '\r\n')

    def p_makecab(self, args):
        names = [a for a in args if not a.startswith('/')]
        src, dst = self.m.path(names[0], self.cwd), self.m.path(names[1], self.cwd)
        if not os.path.isfile(src):
            return Result('ERROR: Could not find file: %s\r\n' % names[0], rc=1)
        with open(src, 'rb') as handle:
            data = handle.read()
        cab = write_mszip_cab(names[0].split('\\')[-1], data)
        with open(dst, 'wb') as handle:
            handle.write(cab)
        return Result('Cabinet Maker - Lossless Data Compression Tool\r\n\r\n%d bytes in 1 files\r\n'
                      'Total files:              1\r\nBytes before: %14d\r\nBytes after: %15d\r\n'
                      % (len(data), len(data), len(cab)))

    def p_pnputil(self, args):
        low = [a.lower() for a in args]
        modern = self.m.version.startswith('10.') and self.m.build >= 14393
        inf = [a for a in args if a.lower().endswith('.inf')]
        if '/add-driver' in low and not modern or not inf:
            return Result('Microsoft PnP Utility\r\n\r\nUsage:\r\n------\r\npnputil.exe [-f | -i] [ -? | -a | -d | -e ] '
                          '<INF name>\r\n', rc=1)
        path = self.m.path(inf[0], self.cwd)
        if not os.path.isfile(path):
            return Result('Microsoft PnP Utility\r\n\r\nProcessing inf :            %s\r\nAdding the driver package '
                          'failed : The system cannot find the file specified.\r\n' % os.path.basename(inf[0]), rc=2)
        published = 'oem%d.inf' % (len(self.m.driver_store) + 1)
        self.m.driver_store.append({'inf': os.path.basename(path), 'published': published,
                                    'files': sorted(os.listdir(os.path.dirname(path)))})
        if '/add-driver' in low:
            return Result('Microsoft PnP Utility\r\n\r\nAdding driver package:  %s\r\nDriver package added '
                          'successfully.\r\nPublished Name:         %s\r\n\r\nTotal driver packages:  1\r\nAdded driver '
                          'packages:  1\r\n' % (os.path.basename(path), published))
        return Result('Microsoft PnP Utility\r\n\r\nProcessing inf :            %s\r\nDriver package added '
                      'successfully.\r\nPublished name :            %s\r\n\r\nTotal attempted:              1\r\n'
                      'Number successfully imported: 1\r\n\r\n' % (os.path.basename(path), published))

    def p_schtasks(self, args):
        low = [a.lower() for a in args]

        def opt(name):
            return args[low.index(name) + 1] if name in low and low.index(name) + 1 < len(args) else None
        name = opt('/tn')
        if '/create' in low:
            self.m.tasks[name.lower()] = {'tr': opt('/tr'), 'ru': opt('/ru')}
            return Result('WARNING: Task may not run because /ST is earlier than current time.\r\nSUCCESS: The '
                          'scheduled task "%s" has successfully been created.\r\n' % name)
        task = self.m.tasks.get((name or '').lower())
        if task is None:
            return Result(err='ERROR: The system cannot find the file specified.\r\n', rc=1)
        if '/run' in low:
            runner = Context(self.m, b'', as_system=(task['ru'] or '').upper() == 'SYSTEM',
                             cwd='C:\\Windows\\System32')
            line = expand_percent(task['tr'], self.m.env)
            runner.program(split_args(line)[0], line[len(line.split(None, 1)[0]):])
            return Result('SUCCESS: Attempted to run the scheduled task "%s".\r\n' % name)
        if '/delete' in low:
            del self.m.tasks[name.lower()]
            return Result('SUCCESS: The scheduled task "%s" was successfully deleted.\r\n' % name)
        return Result(err='ERROR: Invalid syntax.\r\n', rc=1)

    # reg.exe -----------------------------------------------------------------------------------------------
    def p_reg(self, args):
        if not args:
            return Result(err='ERROR: Invalid syntax.\r\nType "REG /?" for usage.\r\n', rc=1)
        verb = args[0].lower()
        handler = getattr(self, 'reg_' + verb, None)
        if handler is None:
            return Result(err='ERROR: Invalid syntax.\r\nType "REG /?" for usage.\r\n', rc=1)
        return handler(args[1:])

    def _hive_of(self, key):
        parts = [p for p in key.split('\\') if p]
        root = parts[0].upper()
        if root not in ('HKLM', 'HKEY_LOCAL_MACHINE') or len(parts) < 2:
            return None, None, None
        hive = parts[1].upper()
        path = self.m.system if hive == 'SYSTEM' else self.m.software if hive == 'SOFTWARE' else None
        rest = parts[2:]
        if hive == 'SYSTEM' and rest and rest[0].upper() == 'CURRENTCONTROLSET':
            rest = ['ControlSet%03d' % current_control_set(self.m.system)] + rest[1:]
        return hive, path, rest

    def reg_save(self, args):
        if not self.m.admin:
            return Result(err='ERROR: A required privilege is not held by the client.\r\n', rc=1)
        hive, path, rest = self._hive_of(args[0])
        if path is None or rest:
            return Result(err='ERROR: Invalid key name.\r\nType "REG SAVE /?" for usage.\r\n', rc=1)
        dest = self.m.path(args[1], self.cwd)
        if os.path.exists(dest) and '/y' not in [a.lower() for a in args]:
            return Result(err='ERROR: The file exists.\r\n', rc=1)
        with open(path, 'rb') as handle:
            data = bytearray(handle.read())
        # A saved hive is written fresh: both sequence numbers equal, header checksum recomputed.
        struct.pack_into('<I', data, 8, struct.unpack_from('<I', data, 4)[0])
        checksum = 0
        for (word,) in struct.iter_unpack('<I', bytes(data[:0x1FC])):
            checksum ^= word
        struct.pack_into('<I', data, 0x1FC, 0xFFFFFFFE if checksum == 0xFFFFFFFF else (checksum or 1))
        with open(dest, 'wb') as handle:
            handle.write(bytes(data))
        return Result(OK_TEXT)

    def reg_query(self, args):
        hive, path, rest = self._hive_of(args[0])
        if path is None:
            return Result(err=NOT_FOUND, rc=1)
        low = [a.lower() for a in args]
        recursive = '/s' in low
        wanted = args[low.index('/v') + 1] if '/v' in low else None
        h = hivex.Hivex(path)
        node = h.root()
        for part in rest:
            node = h.node_get_child(node, part)
            if node is None:
                return Result(err=NOT_FOUND, rc=1)
        prefix = 'HKEY_LOCAL_MACHINE\\%s' % hive + ''.join('\\' + p for p in args[0].split('\\')[2:] if p)
        lines, matches = [''], 0
        stack = [(node, prefix, list(rest))]
        while stack:
            here, name, parts = stack.pop(0)
            values = [] if here is None else [(h.value_key(v),) + h.value_value(v) for v in h.node_values(here)]
            values += self._volatile(hive, parts)
            if wanted is not None:
                values = [v for v in values if v[0].lower() == wanted.lower()]
            children = [] if here is None else sorted(h.node_children(here), key=lambda c: h.node_name(c).upper())
            kids = [(c, name + '\\' + h.node_name(c), parts + [h.node_name(c)]) for c in children]
            kids += [(None, name + '\\' + v, parts + [v]) for v in self._volatile_children(hive, parts)]
            if values or wanted is None:
                lines.append(name)
                for vname, vtype, data in values:
                    lines.append('    %s    %s    %s' % (vname or '(Default)', REG_TYPES.get(vtype, 'REG_NONE'),
                                                         reg_display(vtype, data)))
                    matches += 1
                lines.append('')
            if recursive:
                stack[0:0] = kids
            elif wanted is None:
                for _c, kid_name, _p in kids:
                    lines.append(kid_name)
        if wanted is not None:
            lines.append('End of search: %d match(es) found.' % matches)
            rc = 0 if matches else 1
        else:
            rc = 0
        text = '\r\n'.join(lines) + '\r\n'
        return Result(text, rc=rc)

    def _volatile(self, hive, parts):
        """Values of the volatile Enum\\...\\<instance>\\Control keys of devices present now."""
        if hive != 'SYSTEM' or len(parts) < 3 or parts[-1].upper() != 'CONTROL':
            return []
        instance = '\\'.join(parts[2:-1]).upper()
        for path, service in self.m.present.items():
            if path.upper() == instance:
                return [('ActiveService', 1, (service + '\0').encode('utf-16-le'))]
        return []

    def _volatile_children(self, hive, parts):
        if hive != 'SYSTEM' or len(parts) < 2:
            return []
        here = '\\'.join(parts[2:]).upper()
        return ['Control' for path in self.m.present if path.upper() == here]

    def reg_import(self, args):
        path = self.m.path(args[0], self.cwd)
        if not path or not os.path.isfile(path):
            return Result(err='ERROR: Error opening the file. There may be a disk or file system error.\r\n', rc=1)
        with open(path, 'rb') as handle:
            raw = handle.read()
        if raw.startswith(b'\xff\xfe'):
            text = raw[2:].decode('utf-16-le')
        else:
            text = raw.decode('latin-1')
        text = text.replace('\r\n', '\n')
        if not text.startswith('Windows Registry Editor Version 5.00') and not text.startswith('REGEDIT4'):
            return Result(err='ERROR: The specified file is not a registry script.\r\nYou can only import binary '
                              'registry files from within the registry editor.\r\n', rc=1)
        self.m.imports.append(text)
        header, sections = _sections(text)
        stop = None
        if self.m.fail_import_after is not None:
            stop = self.m.fail_import_after
            self.m.fail_import_after = None
        if self.m.system_only_driver_database and not self.as_system:
            for index, section in enumerate(sections):
                key = section.split('\n', 1)[0].lstrip('[-').rstrip(']').upper()
                if key.startswith('HKEY_LOCAL_MACHINE\\SYSTEM\\DRIVERDATABASE'):
                    stop = index if stop is None else min(stop, index)
                    break
        todo = sections if stop is None else sections[:stop]
        for target, prefix in ((self.m.system, 'HKEY_LOCAL_MACHINE\\SYSTEM'),):
            mine = [s for s in todo if s.split('\n', 1)[0].lstrip('[-').upper().startswith(prefix.upper())]
            mine = with_parents(mine, prefix)
            if mine:
                merge(target, header + '\n\n' + '\n\n'.join(mine) + '\n', prefix)
        if stop is not None:
            return Result(err=ACCESS, rc=1)
        return Result(err=OK_TEXT)


class Output(object):
    """Where a command's stdout (1) and stderr (2) go."""

    def __init__(self):
        self.stdout = b''
        self.stderr = b''

    def write(self, fd, data):
        if fd == 1:
            self.stdout += data
        else:
            self.stderr += data

    def redirected(self, ctx, redirs):
        return _Redirected(self, ctx, redirs)

    def close(self):
        pass


class _Redirected(object):
    def __init__(self, parent, ctx, redirs):
        self.targets = {1: ('parent', 1), 2: ('parent', 2)}
        self.parent = parent
        self.files = {}
        for fd, mode, target in redirs:
            if mode == 'dup':
                self.targets[fd] = self.targets[int(target)]
                continue
            path = ctx.m.path(target, ctx.cwd)
            if path is None:
                self.targets[fd] = ('nul', None)
                continue
            handle = open(path, 'ab' if mode == 'a' else 'wb')
            self.files[fd] = handle
            self.targets[fd] = ('file', handle)

    def write(self, fd, data):
        kind, where = self.targets[fd]
        if kind == 'parent':
            self.parent.write(where, data)
        elif kind == 'file':
            where.write(data)

    def close(self):
        for handle in self.files.values():
            handle.close()


def _substitute(seq, var, value):
    out = []
    for op, node in seq:
        if isinstance(node, Simple):
            node = Simple(node.text.replace('%' + var, value))
        elif isinstance(node, If):
            node = If(node.negate, node.path, _substitute(node.body, var, value))
        out.append((op, node))
    return out


def _sections(text):
    lines = text.split('\n')
    header, sections, current = lines[0], [], []
    for line in lines[1:]:
        if line.startswith('['):
            if current:
                sections.append('\n'.join(current))
            current = [line]
        elif line.strip() and current:
            current.append(line)
    if current:
        sections.append('\n'.join(current))
    return header, sections


def with_parents(sections, prefix):
    """Windows' reg import creates missing parent keys (RegCreateKeyEx); hivexregedit needs them spelled out."""
    out, seen = [], set()
    for section in sections:
        head = section.split('\n', 1)[0]
        if not head.startswith('[-'):
            parts = head[1:-1].split('\\')
            base = len(prefix.split('\\'))
            for depth in range(base + 1, len(parts)):
                parent = '\\'.join(parts[:depth])
                if parent.upper() not in seen:
                    seen.add(parent.upper())
                    out.append('[%s]' % parent)
            seen.add(head[1:-1].upper())
        out.append(section)
    return out


def merge(hive, reg_text, prefix):
    """hivexregedit --merge (libguestfs' Perl implementation), reading the text as UTF-8."""
    reg_file = hive + '.import.reg'
    with open(reg_file, 'w', encoding='utf-8', newline='\n') as handle:
        handle.write(reg_text)
    proc = subprocess.run(['perl', '-CSD', '/usr/bin/hivexregedit', '--merge', '--prefix', prefix, hive, reg_file],
                          check=False, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError('hivexregedit --merge failed: %s (the .reg file is kept at %s)' % (proc.stderr, reg_file))
    os.unlink(reg_file)


def reg_display(vtype, data):
    """Data as reg query prints it."""
    if vtype in (1, 2):
        return data.decode('utf-16-le', 'replace').split('\x00', 1)[0]
    if vtype == 7:
        items = data.decode('utf-16-le', 'replace').split('\x00')
        while items and items[-1] == '':
            items.pop()
        return '\\0'.join(items)
    if vtype == 4 and len(data) == 4:
        return '0x%x' % struct.unpack('<I', data)[0]
    if vtype == 11 and len(data) == 8:
        return '0x%x' % struct.unpack('<Q', data)[0]
    return binascii.hexlify(data).decode('ascii').upper()


def current_control_set(system):
    h = hivex.Hivex(system)
    select = h.node_get_child(h.root(), 'Select')
    value = h.node_get_value(select, 'Current')
    return h.value_dword(value)


def write_mszip_cab(name, data):
    """A one-file MSZIP cabinet as makecab writes it by default (compressed with zlib, block by block)."""
    blocks, history = [], b''
    for start in range(0, len(data), 0x8000):
        chunk = data[start:start + 0x8000]
        deflater = zlib.compressobj(3, zlib.DEFLATED, -15, zdict=history) if history else \
            zlib.compressobj(3, zlib.DEFLATED, -15)
        blocks.append((b'CK' + deflater.compress(chunk) + deflater.flush(), len(chunk)))
        history = (history + chunk)[-0x8000:]
    if not blocks:
        blocks = [(b'CK\x03\x00', 0)]
    encoded = name.encode('latin-1')
    files_off = 36 + 8
    data_off = files_off + 16 + len(encoded) + 1
    total = data_off + sum(8 + len(b) for b, _u in blocks)
    out = struct.pack('<4sIIIIIBBHHHHH', b'MSCF', 0, total, 0, files_off, 0, 3, 1, 1, 1, 0, 0x1234, 0)
    out += struct.pack('<IHH', data_off, len(blocks), 1)
    out += struct.pack('<IIHHHH', len(data), 0, 0, (46 << 9) | (11 << 5) | 25, 0, 0x20) + encoded + b'\x00'
    for block, usize in blocks:
        out += struct.pack('<IHH', 0, len(block), usize) + block
    return out


def read_cab(path):
    """[(name, data)] of an uncompressed cabinet (MS-CAB: CFHEADER, CFFOLDER, CFFILE, CFDATA)."""
    with open(path, 'rb') as handle:
        data = handle.read()
    if data[:4] != b'MSCF':
        raise ValueError('not a cabinet')
    files_off, = struct.unpack_from('<I', data, 16)
    folders, count, flags = struct.unpack_from('<HHH', data, 26)
    if flags or folders != 1:
        raise ValueError('only single-folder cabinets without reserve fields are emulated')
    data_off, blocks, compress = struct.unpack_from('<IHH', data, 36)
    if compress != 0:
        raise ValueError('compressed cabinets are not emulated')
    stream, off = b'', data_off
    for _i in range(blocks):
        _csum, size, _usize = struct.unpack_from('<IHH', data, off)
        stream += data[off + 8:off + 8 + size]
        off += 8 + size
    out, off = [], files_off
    for _i in range(count):
        size, start, _folder, _date, _time, _attr = struct.unpack_from('<IIHHHH', data, off)
        end = data.index(b'\x00', off + 16)
        out.append((data[off + 16:end].decode('ascii'), stream[start:start + size]))
        off = end + 1
    return out
