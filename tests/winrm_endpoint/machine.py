# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An emulated Windows host for the WinRM tests: processes that run while the client polls and end when WinRM tells
them to, cmd.exe (cmdline.py), and reg / findstr / schtasks / pnputil / powershell / fc / copy / del / dir / ren /
type / mkdir / rmdir / ping working on a real hive file (HKLM\\SYSTEM), a SOFTWARE hive file and a folder standing
for C:\\, in English or German (messages.py).

Every behaviour that makes Windows unfriendly to a client is on by default and has a switch (Machine arguments):
``task_delay`` (schtasks /run returns before the task has run), ``pnputil_rc`` (pnputil's own exit codes: 259 when no
device matches), ``locale``, ``system_only_keys`` (reg query /s ends with exit code 1 after printing the rest),
``import_on_error`` ('stop' or 'continue' at a key reg import may not write), ``redirect_delay`` (a redirection
creates its file before it writes to it), ``console_stdin_timeout`` (console-mode stdin never reports its end).
Emulated seconds last ``time_scale`` real seconds.
"""

from __future__ import absolute_import, division, print_function

import base64
import fnmatch
import os
import re
import shutil
import threading
import time

import hivex

from ansible_collections.sanboot.windows.tests.winrm_endpoint import cmdline
from ansible_collections.sanboot.windows.tests.winrm_endpoint.cmdline import (
    For, Group, If, ParseError, expand_delayed, expand_percent, parse_seq, split_args, split_redirections, substitute,
)
from ansible_collections.sanboot.windows.tests.winrm_endpoint.messages import MESSAGES
from ansible_collections.sanboot.windows.tests.winrm_endpoint.regexe import Reg
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError
from ansible_collections.sanboot.windows.tests.helpers import run_plan


class Killed(Exception):
    """The process was ended (Signal terminate, shell deleted, shell idle past IdleTimeout)."""


class Result(object):
    def __init__(self, out=b'', err=b'', rc=0):
        self.out = out
        self.err = err
        self.rc = rc


class Stdin(object):
    """A process's standard input as WinRM feeds it. Pipe mode: the last Send closes it, a reader sees its end.
    Console mode (WINRS_CONSOLEMODE_STDIN=TRUE): the end is not reported to a reader; the emulator gives up after
    ``timeout`` seconds (the model of 'unproven' in issue 15)."""

    def __init__(self, data=b'', closed=True, console=False, timeout=3.0):
        self.data = bytearray(data)
        self.closed = closed
        self.console = console
        self.timeout = timeout
        self.cond = threading.Condition()

    def feed(self, data, end):
        with self.cond:
            self.data += data
            if end:
                self.closed = True
            self.cond.notify_all()

    def read_all(self, proc):
        deadline = time.time() + self.timeout
        with self.cond:
            while not self.closed or self.console:
                if self.console and time.time() > deadline:
                    raise IOError('console input: the end of input never came')
                proc.check()
                self.cond.wait(0.05)
            return bytes(self.data)


class Process(object):
    """What WinRM sees of one command: its output so far, whether it ended, its exit code; kill() ends it."""

    def __init__(self):
        self.out = bytearray()
        self.err = bytearray()
        self.cond = threading.Condition()
        self.killed = threading.Event()
        self.done = False
        self.rc = None

    def write(self, fd, data):
        if data:
            with self.cond:
                (self.out if fd == 1 else self.err).extend(data)
                self.cond.notify_all()

    def finish(self, rc):
        with self.cond:
            self.done, self.rc = True, rc
            self.cond.notify_all()

    def kill(self):
        self.killed.set()
        with self.cond:
            self.cond.notify_all()

    def check(self):
        if self.killed.is_set():
            raise Killed()


def _for_items(spec):
    """The words of a for's set: separated by spaces, commas or semicolons outside double quotes, quotes kept."""
    items, current, quoted = [], '', False
    for char in spec:
        if char == '"':
            quoted = not quoted
        if not quoted and char in ' \t,;':
            if current:
                items.append(current)
            current = ''
            continue
        current += char
    if current:
        items.append(current)
    return items


class Machine(object):
    """The state of one emulated Windows host."""

    def __init__(self, root, system_hive, software_hive=None, present=None, version='6.1', build=7601,
                 system_only_driver_database=None, fail_import_key=None, admin=True, locale='en', arch=None,
                 task_delay=2.0, time_scale=0.01, pnputil_rc=None, system_only_keys=True, import_on_error='stop',
                 redirect_delay=0.0, console_stdin_timeout=3.0, drivers_hive=None, drivers_loaded=True,
                 drivers_unload_after=False):
        self.root = root
        self.fs = os.path.join(root, 'fs')
        for folder in ('temp', 'inf', os.path.join('system32', 'drivers')):
            os.makedirs(os.path.join(self.fs, 'c', 'windows', folder), exist_ok=True)
        self.system = os.path.join(root, 'SYSTEM')
        shutil.copyfile(system_hive, self.system)
        os.chmod(self.system, 0o644)
        self.software = None
        if software_hive:
            self.software = os.path.join(root, 'SOFTWARE')
            shutil.copyfile(software_hive, self.software)
            os.chmod(self.software, 0o644)
        # Windows 8 and later: the DRIVERS hive (HKLM\\DRIVERS), Windows' records of the packages in its driver store
        self.drivers = None
        if drivers_hive:
            self.drivers = os.path.join(root, 'DRIVERS')
            shutil.copyfile(drivers_hive, self.drivers)
            os.chmod(self.drivers, 0o644)
        # Windows 10's kernel loads HKLM\\DRIVERS on demand and unloads it when idle (PiDrvDbLoadHive/UnloadHive):
        # drivers_loaded=False, the key is absent until something loads it (pnputil does; reg load of the file under
        # another name does while the kernel does not hold it); drivers_unload_after, the kernel unloads it again at
        # the end of every command.
        self.drivers_loaded = bool(drivers_hive) and drivers_loaded
        self.drivers_unload_after = drivers_unload_after
        self.loaded = {}            # HKLM\<name> loaded with reg load -> hive file
        self.present = dict(present or {})
        self.version = version
        self.build = build
        self.arch = arch
        major, minor = [int(p) for p in version.split('.')]
        # Windows 8 and later: HKLM\SYSTEM\DriverDatabase is writable only by SYSTEM.
        self.system_only_driver_database = (major, minor) >= (6, 2) if system_only_driver_database is None \
            else system_only_driver_database
        self.fail_import_key = fail_import_key       # the next import fails at the first key containing this
        self.admin = admin
        self.locale = locale
        self.task_delay = task_delay
        self.time_scale = time_scale
        self.pnputil_rc = pnputil_rc
        self.system_only_keys = system_only_keys
        self.import_on_error = import_on_error
        self.redirect_delay = redirect_delay
        self.console_stdin_timeout = console_stdin_timeout
        self.env = {'SYSTEMROOT': 'C:\\Windows', 'WINDIR': 'C:\\Windows', 'TEMP': 'C:\\Windows\\Temp',
                    'TMP': 'C:\\Windows\\Temp', 'SYSTEMDRIVE': 'C:', 'COMSPEC': 'C:\\Windows\\system32\\cmd.exe'}
        self.tasks = {}
        self.task_threads = []
        self.task_procs = []
        self.driver_store = []
        self.commands = []          # every command line received, for the tests
        self.programs = []          # every program run (name), also inside loops and scheduled tasks
        self.imports = []           # every .reg text imported
        self.hive_loads = []        # every name a hive file was loaded under (reg load)
        self.hive_lock = threading.RLock()
        self.handles = {}
        self.lock = threading.Lock()

    def text(self, key):
        return MESSAGES[self.locale][key]

    def open_hive(self, path):
        """A libhivex handle on a hive file, kept until the file changes (reg import rewrites it)."""
        stamp = (os.stat(path).st_mtime_ns, os.stat(path).st_size)
        cached = self.handles.get(path)
        if cached is None or cached[0] != stamp:
            cached = self.handles[path] = (stamp, hivex.Hivex(path))
        return cached[1]

    def sleep(self, seconds, proc):
        end = time.time() + seconds * self.time_scale
        while time.time() < end:
            proc.check()
            time.sleep(min(0.01, max(0.0, end - time.time())))

    def wait_tasks(self, timeout=30):
        for thread in list(self.task_threads):
            thread.join(timeout)

    def shutdown(self):
        """The host goes away: scheduled tasks still waiting or running end."""
        for proc in self.task_procs:
            proc.kill()
        self.wait_tasks(5)

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
    def start(self, command_line, stdin, skip_cmd_shell=True, codepage='437', proc=None):
        """Run what a WinRM Command asks in a thread, writing to ``proc`` as it goes; returns the thread."""
        proc = proc or Process()

        def body():
            try:
                rc = self._run(command_line, stdin, skip_cmd_shell, codepage, proc)
            except Exception:  # pylint: disable=broad-except
                # a bug of the emulator, not a Windows behaviour: say so loudly, end the command
                import traceback
                proc.write(2, ('emulator error: %s' % traceback.format_exc()).encode('utf-8'))
                rc = 1
            proc.finish(rc)
        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        return thread

    def execute(self, command_line, stdin=b'', skip_cmd_shell=True, codepage='437'):
        """Run to the end; Result(out, err, rc) (for tests that call the host directly)."""
        proc = Process()
        stdin = stdin if isinstance(stdin, Stdin) else Stdin(stdin)
        rc = self._run(command_line, stdin, skip_cmd_shell, codepage, proc)
        return Result(bytes(proc.out), bytes(proc.err), rc)

    def _run(self, command_line, stdin, skip_cmd_shell, codepage, proc):
        with self.lock:
            self.commands.append(command_line)
        ctx = Context(self, stdin, proc, codepage=codepage)
        try:
            if len(command_line) > cmdline.MAX_LINE:
                ctx.out.write(2, ctx.encode(self.text('too_long') + '\r\n'))
                return 1
            if not skip_cmd_shell:
                result = ctx.cmd('/c ' + command_line, top=True)
            else:
                line = command_line.strip()
                word = line.split(None, 1)[0] if line else ''
                result = ctx.program(word, line[len(word):], top=True)
            ctx.out.write(1, result.out)
            ctx.out.write(2, result.err)
            return result.rc
        except Killed:
            return None
        finally:
            if self.drivers_unload_after:
                self.drivers_loaded = False


class Output(object):
    """Where a command's stdout (1) and stderr (2) go: the process (streamed to WinRM) or a buffer."""

    def __init__(self, proc=None):
        self.proc = proc
        self.stdout = b''
        self.stderr = b''

    def write(self, fd, data):
        if self.proc is not None:
            self.proc.write(fd, data)
        elif fd == 1:
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
        self.delay = (ctx.m.redirect_delay, ctx.proc, ctx.m)
        for fd, mode, target in redirs:
            if mode == 'dup':
                self.targets[fd] = self.targets[int(target)]
                continue
            path = ctx.m.path(target, ctx.cwd)
            if path is None:
                self.targets[fd] = ('nul', None)
                continue
            handle = open(path, 'ab' if mode == 'a' else 'wb', buffering=0)
            self.files[fd] = handle
            self.targets[fd] = ('file', handle)

    def redirected(self, ctx, redirs):
        return _Redirected(self, ctx, redirs)

    def write(self, fd, data):
        kind, where = self.targets[fd]
        if kind == 'parent':
            self.parent.write(where, data)
        elif kind == 'file' and data:
            delay, proc, machine = self.delay
            if delay and where.tell() == 0:
                # the file exists (created empty) a moment before what is first written into it
                machine.sleep(delay, proc)
            where.write(data)

    def close(self):
        for handle in self.files.values():
            handle.close()


class Context(object):
    """One cmd.exe (or the program WinRM started) with its environment, current folder and identity."""

    def __init__(self, machine, stdin, proc, as_system=False, cwd='C:\\Users\\Administrator', codepage='437',
                 env=None):
        self.m = machine
        self.stdin = stdin
        self.proc = proc
        self.cwd = cwd
        os.makedirs(machine.path(cwd, cwd), exist_ok=True)
        self.errorlevel = 0
        self.delayed = False
        self.as_system = as_system
        self.codepage = 'utf-8' if str(codepage) == '65001' else 'cp%s' % codepage
        self.env = dict(env if env is not None else machine.env)
        self.out = Output(proc)

    def text(self, key):
        return self.m.text(key)

    def encode(self, text):
        return text.encode(self.codepage, 'replace') if isinstance(text, str) else text

    def result(self, out=b'', err=b'', rc=0):
        return Result(self.encode(out), self.encode(err), rc)

    def check(self):
        self.proc.check()

    def child(self, as_system=None, cwd=None):
        return Context(self.m, self.stdin, self.proc, self.as_system if as_system is None else as_system,
                       cwd or self.cwd, '65001' if self.codepage == 'utf-8' else self.codepage[2:], self.env)

    # cmd.exe -----------------------------------------------------------------------------------------------
    def cmd(self, rest, top=False):
        match = re.match(r'^\s*((?:/[a-zA-Z](?::\w+)?\s+)*)/[cCkK]\s+(.*)$', rest, re.S)
        if not match:
            return self.result('Microsoft Windows [Version %s.%d]\r\n' % (self.m.version, self.m.build))
        flags = match.group(1).lower()
        line = match.group(2)
        if line.startswith('"') and line.endswith('"') and line.count('"') == 2:
            line = line[1:-1]
        inner = self.child()
        inner.delayed = '/v:on' in flags
        line = expand_percent(line, inner.env)
        try:
            seq, end = parse_seq(line)
        except ParseError as exc:
            return self.result(err='%s (%s)\r\n' % (self.text('syntax'), exc), rc=1)
        if end != len(line):
            return self.result(err='%s was unexpected at this time.\r\n' % line[end:end + 1], rc=1)
        out = Output(self.proc if top else None)
        inner.run_seq(seq, out)
        return Result(out.stdout, out.stderr, inner.errorlevel)

    def run_seq(self, seq, out):
        last_ok = True
        for op, node in seq:
            self.check()
            if op == '&&' and not last_ok:
                continue
            if op == '||' and last_ok:
                continue
            last_ok = self.run_node(node, out)
        return last_ok

    def run_node(self, node, out):
        if isinstance(node, Group):
            sink = out.redirected(self, split_redirections(node.redirs)[1])
            try:
                return self.run_seq(node.seq, sink)
            finally:
                sink.close()
        if isinstance(node, For):
            return self.run_for(node, out)
        if isinstance(node, If):
            path = node.path if not self.delayed else expand_delayed(node.path, self.env_view())
            exists = os.path.exists(self.m.path(path, self.cwd) or '/nonexistent')
            if exists != node.negate:
                return self.run_seq(node.body, out)
            return True
        text = node.text
        if self.delayed:
            text = expand_delayed(text, self.env_view())
        text, redirs = split_redirections(text)
        stripped = text.strip()
        if not stripped:
            return True
        word = stripped.split(None, 1)[0]
        rest = stripped[len(word):]
        low = word.lower()
        if low == 'echo' or low.startswith('echo.'):
            result = self.result((rest[1:] if rest.startswith(' ') else rest).rstrip() + '\r\n')
        elif low == 'set':
            result = self.builtin_set(rest)
            self.errorlevel = result.rc if result.rc else self.errorlevel
        else:
            result = self.program(word, rest)
            self.errorlevel = result.rc
        sink = out.redirected(self, redirs)
        try:
            sink.write(1, result.out)
            sink.write(2, result.err)
        finally:
            sink.close()
        return result.rc == 0

    def env_view(self):
        view = dict(self.env)
        view['ERRORLEVEL'] = str(self.errorlevel)
        return view

    def run_for(self, node, out):
        ok = True
        if node.kind == 'l':
            start, step, end = node.spec
            value = start
            while (step > 0 and value <= end) or (step < 0 and value >= end):
                ok = self.run_seq(substitute(node.body, node.var, str(value)), out)
                value += step
            return ok
        if node.kind == 'f':
            tokens = re.search(r'tokens=(\d+)', node.options)
            column = int(tokens.group(1)) if tokens else 1
            inner = self.child()
            result = inner.cmd('/c ' + node.spec)
            for line in result.out.decode(self.codepage, 'replace').replace('\r\n', '\n').split('\n'):
                words = line.split()
                if len(words) >= column:
                    ok = self.run_seq(substitute(node.body, node.var, words[column - 1]), out)
            return ok
        for pattern in _for_items(node.spec):
            # a word with a wildcard names the files it matches; any other word is taken as it is (quotes kept)
            for name in self.glob(pattern) if '*' in pattern or '?' in pattern else [pattern]:
                ok = self.run_seq(substitute(node.body, node.var, name), out)
        return ok

    def glob(self, pattern):
        """Windows paths of the files matching a wildcard pattern (relative patterns stay relative)."""
        folder, _sep, mask = pattern.replace('/', '\\').rpartition('\\')
        local = self.m.path(folder or '.', self.cwd)
        if not local or not os.path.isdir(local):
            return []
        names = sorted(n for n in os.listdir(local) if fnmatch.fnmatch(n.lower(), mask.lower()))
        return [(folder + '\\' if folder else '') + n for n in names]

    def builtin_set(self, rest):
        rest = rest.strip()
        if rest.lower().startswith('/a '):
            expr = rest[3:].strip()
            name, _eq, value = expr.partition('=')
            try:
                number = int(value.strip(), 0)
            except ValueError:
                return self.result(err='Missing operand.\r\n', rc=1)
            self.env[name.strip().upper()] = str(number)
            return self.result(str(number))                # set /a on a command line prints its result
        if rest.startswith('"') and rest.endswith('"'):
            rest = rest[1:-1]
        name, _eq, value = rest.partition('=')
        if value:
            self.env[name.upper()] = value
        else:
            self.env.pop(name.upper(), None)
        return self.result()

    # programs --------------------------------------------------------------------------------------------
    def program(self, word, rest, top=False):
        self.check()
        name = word.strip('"').lower().split('\\')[-1]
        if name.endswith('.exe'):
            name = name[:-4]
        with self.m.lock:
            self.m.programs.append(name)
        if name == 'cmd':
            return self.cmd(rest, top=top)
        handler = getattr(self, 'p_' + name, None)
        if handler is None:
            return self.result(err=self.text('not_recognized') % word + '\r\n', rc=9009)
        return handler(split_args(rest))

    def p_reg(self, args):
        return Reg(self).run(args)

    def p_cd(self, args):
        args = [a for a in args if a.lower() != '/d']
        if not args:
            return self.result(self.cwd + '\r\n')
        target = self.m.path(args[0], self.cwd)
        if not os.path.isdir(target):
            return self.result(err=self.text('no_path') + '\r\n', rc=1)
        self.cwd = args[0] if re.match(r'^[A-Za-z]:', args[0]) else self.cwd + '\\' + args[0]
        return self.result()

    def p_type(self, args):
        out, err, rc = b'', '', 0
        for arg in args:
            path = self.m.path(arg, self.cwd)
            if path and os.path.isfile(path):
                with open(path, 'rb') as handle:
                    out += handle.read()
            else:
                err += self.text('no_file') + '\r\n'
                rc = 1
        return Result(out, self.encode(err), rc)

    def p_del(self, args):
        err = ''
        for arg in args:
            if arg.startswith('/'):
                continue
            matches = self.glob(arg) if any(c in arg for c in '*?') else [arg]
            found = False
            for name in matches:
                path = self.m.path(name, self.cwd)
                if path and os.path.isfile(path):
                    os.unlink(path)
                    found = True
            if not found:
                err += self.text('could_not_find') % arg + '\r\n'
        return self.result(err=err)

    def p_dir(self, args):
        patterns = [a for a in args if not a.startswith('/')] or ['*']
        names = [n.split('\\')[-1] for p in patterns for n in self.glob(p)]
        if not names:
            return self.result(err=self.text('file_not_found') + '\r\n', rc=1)
        return self.result(''.join(n + '\r\n' for n in names))

    def p_ren(self, args):
        src = self.m.path(args[0], self.cwd)
        if not src or not os.path.exists(src):
            return self.result(err=self.text('no_file') + '\r\n', rc=1)
        dst = os.path.join(os.path.dirname(src), args[1].lower())
        if os.path.exists(dst):
            return self.result(err='A duplicate file name exists, or the file\r\ncannot be found.\r\n', rc=1)
        os.rename(src, dst)       # one step: a reader sees the old name or the new one, never a half
        return self.result()

    p_rename = p_ren

    def p_mkdir(self, args):
        path = self.m.path(args[0], self.cwd)
        if os.path.exists(path):
            return self.result(err=self.text('dir_exists') % args[0] + '\r\n', rc=1)
        os.makedirs(path)
        return self.result()

    p_md = p_mkdir

    def p_rmdir(self, args):
        names = [a for a in args if not a.startswith('/')]
        path = self.m.path(names[0], self.cwd)
        if not os.path.isdir(path):
            return self.result(err=self.text('no_file') + '\r\n', rc=2)
        shutil.rmtree(path)
        return self.result()

    p_rd = p_rmdir

    def p_copy(self, args):
        names = [a for a in args if not a.startswith('/')]
        src, dst = self.m.path(names[0], self.cwd), self.m.path(names[1], self.cwd)
        if not os.path.isfile(src):
            return self.result(self.text('no_file') + '\r\n' + self.text('copied') % 0 + '\r\n', rc=1)
        if os.path.isdir(dst):
            dst = os.path.join(dst, os.path.basename(src))
        if not os.path.isdir(os.path.dirname(dst)):
            return self.result(self.text('no_path') + '\r\n' + self.text('copied') % 0 + '\r\n', rc=1)
        shutil.copyfile(src, dst)
        return self.result(self.text('copied') % 1 + '\r\n')

    def p_fc(self, args):
        names = [a for a in args if not a.startswith('/')]
        paths = [self.m.path(n, self.cwd) for n in names[:2]]
        for name, path in zip(names, paths):
            if not path or not os.path.isfile(path):
                return self.result(err=self.text('fc_missing') % name + '\r\n', rc=2)
        with open(paths[0], 'rb') as one, open(paths[1], 'rb') as two:
            same = one.read() == two.read()
        if same:
            return self.result(self.text('fc_same') % tuple(names[:2]) + '\r\n')
        return self.result(self.text('fc_differ') % (names[0], names[1], names[0], names[1]) + '\r\n', rc=1)

    def p_more(self, args):
        """more +N FILE: the file from line N on (N lines skipped); with its output redirected it does not page."""
        skip = int(args[0][1:]) if args and args[0].startswith('+') else 0
        names = [a for a in args if not a.startswith('+') and not a.startswith('/')]
        path = self.m.path(names[0], self.cwd) if names else None
        if not path or not os.path.isfile(path):
            return self.result(err='Cannot access file %s\r\n' % (names[0] if names else ''), rc=1)
        with open(path, 'rb') as handle:
            lines = handle.read().replace(b'\r\n', b'\n').split(b'\n')
        if lines and lines[-1] == b'':
            lines.pop()
        return Result(b''.join(line + b'\r\n' for line in lines[skip:]))

    def p_ping(self, args):
        self.m.sleep(1, self.proc)
        return self.result('\r\n' + self.text('ping') + '\r\n')

    def p_findstr(self, args):
        if args != ['^']:
            return self.result(err='FINDSTR: only the "^" (copy stdin) form is emulated\r\n', rc=2)
        try:
            data = self.stdin.read_all(self.proc).replace(b'\r\n', b'\n')
        except IOError as exc:
            return self.result(err='FINDSTR: %s\r\n' % exc, rc=2)
        lines = data.split(b'\n')
        if lines and lines[-1] == b'':
            lines.pop()
        if any(len(line) > 8191 for line in lines):
            return self.result(err='FINDSTR: Line 1 is too long.\r\n', rc=2)
        if not lines:
            return Result(rc=1)
        return Result(b''.join(line + b'\r\n' for line in lines))

    def p_powershell(self, args):
        """PowerShell 2.0 ``-Command -``: statements read from stdin, one per line; the forms stage_script writes."""
        if '-command' not in [a.lower() for a in args] or args[-1] != '-':
            return self.result(err='powershell: only -Command - (a script on stdin) is emulated\r\n', rc=1)
        try:
            script = self.stdin.read_all(self.proc).decode('ascii')
        except (IOError, UnicodeDecodeError) as exc:
            return self.result(err='%s\r\n' % exc, rc=1)
        return PowerShell(self).run(script)

    def p_pnputil(self, args):
        low = [a.lower() for a in args]
        modern = self.m.version.startswith('10.') and self.m.build >= 14393
        inf = [a for a in args if a.lower().endswith('.inf')]
        if '/add-driver' in low and not modern or not inf:
            return self.result('Microsoft PnP Utility\r\n\r\nUsage:\r\n------\r\npnputil.exe [-f | -i] [ -? | -a | -d | -e ] '
                               '<INF name>\r\n', rc=1)
        path = self.m.path(inf[0], self.cwd)
        head = 'Microsoft PnP Utility\r\n\r\n'
        if not os.path.isfile(path):
            return self.result(head + self.text('pnputil_failed') % self.text('no_file') + '\r\n', rc=2)
        if self.m.pnputil_rc not in (None, 0, 259, 3010, 1641):
            return self.result(head + self.text('pnputil_failed') % self.text('pnputil_unsigned') + '\r\n',
                               rc=self.m.pnputil_rc)
        with open(path, 'rb') as handle:
            inf_data = handle.read()
        known = [d for d in self.m.driver_store if d['data'] == inf_data]
        published = known[0]['published'] if known else 'oem%d.inf' % (len(self.m.driver_store) + 1)
        if self.m.drivers:
            self.m.drivers_loaded = True        # the driver database code loads the hive to add the package
        if not known and self.m.drivers:
            try:
                published = self._driver_records(path)
            except RegistryError:
                # a file the INF names is missing (its catalog, say): Windows refuses the package, as the engine does
                return self.result(head + self.text('pnputil_failed') % self.text('no_file') + '\r\n', rc=2)
        if not known:
            self.m.driver_store.append({'inf': os.path.basename(path), 'published': published, 'data': inf_data,
                                        'files': sorted(os.listdir(os.path.dirname(path)))})
            with open(os.path.join(self.m.fs, 'c', 'windows', 'inf', published), 'wb') as handle:
                handle.write(inf_data)
        # ERROR_NO_MORE_ITEMS (259): no device present matches the package (what pnputil returns then)
        text = inf_data.decode('latin-1').upper()
        matches = any(p.upper().split('\\')[1] in text for p in self.m.present)
        rc = self.m.pnputil_rc if self.m.pnputil_rc is not None else (0 if matches else 259)
        lines = [self.text('pnputil_added'),
                 self.text('pnputil_published_new' if modern else 'pnputil_published') % published]
        if rc == 259:
            lines.append(self.text('pnputil_no_device'))
        return self.result(head + '\r\n'.join(lines) + '\r\n', rc=rc)

    def _driver_records(self, inf_path):
        """Windows 8+: the DriverDatabase records pnputil leaves in the DRIVERS hive, as the engine writes them when it
        stages a package offline (module_utils/windows/driverstore.py: our reading of Windows' records, docs/how-it-works.md
        section 4; Windows' own pnputil is the real thing). Returns the published name (oemN.inf)."""
        from ansible_collections.sanboot.windows.plugins.module_utils.windows import driverstore, osinfo
        from ansible_collections.sanboot.windows.plugins.module_utils.inf.install import read_inf
        from ansible_collections.sanboot.windows.plugins.module_utils.inf.target import parse_target
        os_info = osinfo.OsInfo()
        os_info.version = tuple(int(p) for p in self.m.version.split('.'))
        os_info.arch = self.m.arch or 'amd64'
        # templates={}: the tests stage virtio-win's netkvm template as it is (real pnputil wants a built INF)
        driver = read_inf(inf_path, parse_target(self.m.version, os_info.arch), templates={})
        staged = []

        def plan(hive, planner):
            staged.append(driverstore.plan_stage(driver, None, planner, os_info))
            return {}
        with self.m.hive_lock:
            run_plan(self.m.drivers, plan, backup=False, allow_dirty=True, hive_name='DRIVERS')
        return staged[0].oem_inf

    def p_schtasks(self, args):
        low = [a.lower() for a in args]

        def opt(name):
            return args[low.index(name) + 1] if name in low and low.index(name) + 1 < len(args) else None
        name = opt('/tn')
        if '/create' in low:
            if (opt('/ru') or '').upper() == 'SYSTEM' and not self.m.admin and not self.as_system:
                return self.result(err=self.text('access') + '\r\n', rc=1)
            if len(opt('/tr') or '') > 261:
                return self.result(err=self.text('task_tr_long') + '\r\n', rc=1)
            self.m.tasks[name.lower()] = {'tr': opt('/tr'), 'ru': opt('/ru')}
            return self.result(self.text('task_st_warning') + '\r\n' + self.text('task_created') % name + '\r\n')
        task = self.m.tasks.get((name or '').lower())
        if task is None:
            return self.result(err=self.text('task_missing') + '\r\n', rc=1)
        if '/run' in low:
            self._start_task(task)
            return self.result(self.text('task_run') % name + '\r\n')
        if '/delete' in low:
            del self.m.tasks[name.lower()]
            return self.result(self.text('task_deleted') % name + '\r\n')
        return self.result(err=self.text('invalid_syntax') + '\r\n', rc=1)

    def _start_task(self, task):
        """The Task Scheduler starts the task a moment later, in its own session: schtasks /run does not wait for
        it, and ending the WinRM shell does not end it."""
        machine = self.m
        line = task['tr']
        as_system = (task['ru'] or '').upper() == 'SYSTEM'
        proc = Process()

        def body():
            try:
                machine.sleep(machine.task_delay, proc)
                runner = Context(machine, Stdin(b''), proc, as_system=as_system, cwd='C:\\Windows\\System32')
                word = split_args(line)[0]
                proc.finish(runner.program(word, line[len(line.split(None, 1)[0]):]).rc)
            except Killed:
                proc.finish(None)
        thread = threading.Thread(target=body, daemon=True)
        machine.task_threads.append(thread)
        machine.task_procs.append(proc)
        thread.start()


class PowerShell(object):
    """The statements stage_script writes, as PowerShell 2.0 runs them; anything else is an error, as it would be
    for a term PowerShell does not know."""

    ASSIGN_DIR = re.compile(r"^\$d = Join-Path \$env:SystemRoot '([^']*)'$")
    CREATE_DIR = re.compile(r'^\[void\]\[IO\.Directory\]::CreateDirectory\(\$d\)$')
    CREATE_FILE = re.compile(r"^\$f = \[IO\.File\]::Create\(\(Join-Path \$d '((?:[^']|'')*)'\)\)$")
    WRITE = re.compile(r"^\$b = \[Convert\]::FromBase64String\('([A-Za-z0-9+/=]*)'\); \$f\.Write\(\$b, 0, \$b\.Length\)$")

    def __init__(self, ctx):
        self.ctx = ctx
        self.errors = []
        self.folder = None
        self.handle = None

    def run(self, script):
        ctx = self.ctx
        code = 0
        for line in script.replace('\r\n', '\n').split('\n'):
            ctx.check()
            line = line.strip()
            if not line or line == "$ErrorActionPreference = 'Stop'":
                continue
            try:
                if line == 'if ($Error.Count -gt 0) { exit 1 }':
                    if self.errors:
                        code = 1
                        break
                elif line == 'exit 0':
                    break
                elif self.ASSIGN_DIR.match(line):
                    self.folder = ctx.m.path('C:\\Windows\\' + self.ASSIGN_DIR.match(line).group(1), ctx.cwd)
                elif self.CREATE_DIR.match(line):
                    os.makedirs(self.folder, exist_ok=True)
                elif self.CREATE_FILE.match(line):
                    name = self.CREATE_FILE.match(line).group(1).replace("''", "'")
                    self.handle = open(os.path.join(self.folder, name.lower()), 'wb')
                elif self.WRITE.match(line):
                    self.handle.write(base64.b64decode(self.WRITE.match(line).group(1)))
                elif line == '$f.Close()':
                    self.handle.close()
                else:
                    raise ValueError("The term '%s' is not recognized as the name of a cmdlet" % line.split()[0])
            except (OSError, ValueError, AttributeError, TypeError) as exc:
                self.errors.append(str(exc))
        if self.handle is not None and not self.handle.closed:
            self.handle.close()
        err = ''.join('%s\r\n' % e for e in self.errors)
        return ctx.result(err=err, rc=code)
