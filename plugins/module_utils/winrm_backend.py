# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live Windows hosts over WinRM, for stock Windows 7 SP1 / 2008 R2 (WinRM 2.0, PowerShell 2.0) to Server 2025.

The host only runs stock console commands (cmd built-ins, reg.exe, certutil, expand, pnputil, schtasks);
everything else happens on the controller with the offline engine, unchanged:

1. read: ``reg save HKLM\\SYSTEM`` to a work file, ``certutil -encode`` it and ``type`` it back (plus
   ``reg query`` of ``HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion`` for the version, and of the
   volatile ``Enum\\PCI\\...\\Control`` keys for the adapters present now). One command.
2. plan: the saved hive is opened with ``hive.Hive`` and the offline job runs on it in check mode (the same
   Planner, the same .reg text): live and offline give the same plan by construction.
3. stage (only when a NIC driver comes from ``drivers:`` and is not installed): one CAB of the package sent
   on stdin, ``expand``, ``pnputil``, the service binaries copied to their INF targets. One command.
4. apply: the plan's .reg text (UTF-16LE with BOM, CRLF, as regedit writes it) sent on stdin, decoded with
   ``certutil -decode`` and imported with ``reg import``; through a one-shot ``schtasks /ru SYSTEM`` task
   when it touches ``DriverDatabase`` (writable only by SYSTEM on Windows 8 and later). One command.

Everything is sent in one WinRM shell; the number of commands does not depend on the number of values.
Plain Python: no Ansible import. pywinrm is imported lazily (guarded) so the engine imports everywhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import os
import re
import shutil
import struct
import tempfile
import time
import uuid
import zlib

from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_QWORD, REG_SZ, RegistryError, Value,
    fold, path_id,
)

try:
    import winrm.protocol
    import winrm.exceptions
    HAS_WINRM = True
    WINRM_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the controller
    HAS_WINRM = False
    WINRM_IMPORT_ERROR = str(exc)

try:
    import requests.exceptions
    HAS_REQUESTS = True
except ImportError:  # pragma: no cover
    HAS_REQUESTS = False

MARK = '##sanboot##'
WORK_DIR = '%SystemRoot%\\Temp'
SOFTWARE_VERSION_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'
PRESENT_QUERY = 'reg query HKLM\\SYSTEM\\CurrentControlSet\\Enum\\PCI /s /v ActiveService'
SYSTEM_PREFIX = 'HKEY_LOCAL_MACHINE\\SYSTEM'
STDIN_CHUNK = 96 * 1024        # raw bytes per Send: fits WinRM 2.0's default 150 KB MaxEnvelopeSize
TASK_WAIT_SECONDS = 300
MAX_PACKAGE_BYTES = 64 * 1024 * 1024


class WinRMError(RegistryError):
    """A failure talking to the host or on the host; the message says what was and was not applied."""

    def __init__(self, message, phase=None, applied=None):
        RegistryError.__init__(self, message)
        self.phase = phase
        self.applied = applied


def redact(text, secrets):
    """``text`` with every secret (and its URL-quoted and base64 forms) replaced by ********."""
    if text is None:
        return text
    text = str(text)
    for secret in secrets or ():
        if not secret:
            continue
        secret = str(secret)
        forms = set([secret])
        try:
            from urllib.parse import quote
            forms.add(quote(secret, safe=''))
        except ImportError:  # pragma: no cover
            pass
        for form in sorted(forms, key=len, reverse=True):
            if len(form) >= 1:
                text = text.replace(form, '********')
    return text


# ---------------------------------------------------------------------------------------------------------
# Connection

class Settings(object):
    """Where and how to reach the host: the WinRM connection variables of the inventory."""

    def __init__(self, host, port=None, user=None, password=None, scheme=None, path='/wsman', transport=None,
                 server_cert_validation=None, ca_trust_path=None, read_timeout=None, operation_timeout=None,
                 extra=None):
        if not host:
            raise WinRMError('no host to connect to (ansible_host)')
        self.host = host
        self.port = int(port) if port else 5986
        self.scheme = scheme or ('http' if self.port == 5985 else 'https')
        if self.scheme not in ('http', 'https'):
            raise WinRMError('ansible_winrm_scheme must be http or https, not %r' % self.scheme)
        self.path = path or '/wsman'
        self.user = user
        self.password = password
        if isinstance(transport, str) and ',' in transport:
            transport = [t.strip() for t in transport.split(',') if t.strip()]
        if isinstance(transport, (list, tuple)):
            # Ansible's winrm connection tries a list in order; pywinrm takes one: the first.
            transport = transport[0] if transport else None
        # Ansible's winrm connection defaults: ssl (basic over HTTPS) for https, plaintext for http.
        self.transport = transport or ('ssl' if self.scheme == 'https' else 'plaintext')
        self.server_cert_validation = server_cert_validation or 'validate'
        if self.server_cert_validation not in ('validate', 'ignore'):
            raise WinRMError('ansible_winrm_server_cert_validation must be validate or ignore, not %r'
                             % self.server_cert_validation)
        self.ca_trust_path = ca_trust_path
        self.operation_timeout = int(operation_timeout or 20)
        self.read_timeout = int(read_timeout or max(30, self.operation_timeout + 10))
        self.extra = dict(extra or {})

    @property
    def endpoint(self):
        host = self.host
        if ':' in host and not host.startswith('['):
            host = '[%s]' % host
        return '%s://%s:%d%s' % (self.scheme, host, self.port, self.path if self.path.startswith('/') else '/' + self.path)

    def secrets(self):
        return [s for s in (self.password,) if s]


class Stats(object):
    def __init__(self):
        self.requests = 0
        self.commands = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.started = time.time()
        self.phases = []

    def as_dict(self):
        return {'requests': self.requests, 'commands': self.commands, 'bytes_sent': self.bytes_sent,
                'bytes_received': self.bytes_received, 'seconds': round(time.time() - self.started, 3),
                'phases': list(self.phases)}


class Session(object):
    """One WinRM shell on the host; runs cmd.exe command lines with optional stdin, counting every request."""

    def __init__(self, settings):
        if not HAS_WINRM:
            raise WinRMError('pywinrm is not installed on the controller (pip install pywinrm): %s'
                             % WINRM_IMPORT_ERROR)
        self.settings = settings
        self.stats = Stats()
        self.shell_id = None
        self.phase = 'connecting'
        kwargs = dict(self.settings.extra)
        kwargs.update(endpoint=settings.endpoint, transport=settings.transport, username=settings.user,
                      password=settings.password, server_cert_validation=settings.server_cert_validation,
                      read_timeout_sec=settings.read_timeout, operation_timeout_sec=settings.operation_timeout)
        if settings.ca_trust_path:
            kwargs['ca_trust_path'] = settings.ca_trust_path
        try:
            self.protocol = winrm.protocol.Protocol(**kwargs)
        except (winrm.exceptions.WinRMError, ValueError, TypeError) as exc:
            raise WinRMError(self._redact('cannot set up WinRM to %s: %s' % (settings.endpoint, exc)))
        original = self.protocol.send_message

        def counted(message):
            self.stats.requests += 1
            self.stats.bytes_sent += len(message)
            reply = original(message)
            self.stats.bytes_received += len(reply or b'')
            return reply

        self.protocol.send_message = counted

    def _redact(self, text):
        return redact(text, self.settings.secrets())

    def _fail(self, exc):
        """A WinRMError that says what went wrong, where, without secrets."""
        where = 'while %s' % self.phase
        endpoint = self.settings.endpoint
        if HAS_WINRM and isinstance(exc, winrm.exceptions.InvalidCredentialsError):
            msg = ('authentication failed at %s (HTTP 401) for user %r with transport %s: check ansible_user, '
                   'ansible_password and ansible_winrm_transport' % (endpoint, self.settings.user, self.settings.transport))
        elif HAS_WINRM and isinstance(exc, winrm.exceptions.WSManFaultError):
            msg = 'the WinRM service at %s answered with a fault %s: %s (WS-Management code %s)' % (
                endpoint, where, (exc.reason or '').strip(), exc.wsman_fault_code)
        elif HAS_WINRM and isinstance(exc, winrm.exceptions.WinRMTransportError):
            msg = 'the WinRM service at %s answered HTTP %s %s' % (endpoint, exc.code, where)
        elif HAS_REQUESTS and isinstance(exc, requests.exceptions.SSLError):
            msg = ('TLS certificate validation of %s failed %s: %s. Give the CA with ansible_winrm_ca_trust_path, '
                   'or (test hosts only) ansible_winrm_server_cert_validation: ignore' % (endpoint, where, exc))
        elif HAS_REQUESTS and isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            msg = 'the connection to %s failed or was dropped %s: %s' % (endpoint, where, exc.__class__.__name__)
            detail = str(exc)
            if detail:
                msg += ' (%s)' % detail[:300]
        else:
            msg = 'WinRM error talking to %s %s: %s: %s' % (endpoint, where, exc.__class__.__name__, exc)
        return WinRMError(self._redact(msg), phase=self.phase)

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except WinRMError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            raise self._fail(exc)

    def open(self):
        self.phase = 'opening a shell'
        # Code page 437 (WinRM's default): everything the back-end parses is ASCII (base64, markers, reg query
        # of version values), and 65001 is unreliable for console programs on Windows 7.
        self.shell_id = self._call(self.protocol.open_shell, 'stdin', 'stdout stderr', None, None, True, 437)
        return self

    def close(self):
        if self.shell_id is None:
            return
        shell_id, self.shell_id = self.shell_id, None
        try:
            self.protocol.close_shell(shell_id)
        except Exception:  # pylint: disable=broad-except
            pass  # the work is done; a shell left behind expires with WinRM's idle timeout

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc_info):
        self.close()

    def run(self, phase, command, stdin=None):
        """Run one (executable, arguments) without cmd.exe around it; returns (stdout, stderr, exit code)."""
        self.phase = phase
        started = time.time()
        before = self.stats.requests
        executable, arguments = command
        command_id = self._call(self.protocol.run_command, self.shell_id, executable, [arguments], True, True)
        self.stats.commands += 1
        if stdin is not None:
            data = stdin if isinstance(stdin, bytes) else stdin.encode('ascii')
            chunks = [data[i:i + STDIN_CHUNK] for i in range(0, len(data), STDIN_CHUNK)] or [b'']
            for index, chunk in enumerate(chunks):
                self._call(self.protocol.send_command_input, self.shell_id, command_id, chunk,
                           index == len(chunks) - 1)
        stdout, stderr, rc = self._call(self.protocol.get_command_output, self.shell_id, command_id)
        try:
            self.protocol.cleanup_command(self.shell_id, command_id)
        except Exception:  # pylint: disable=broad-except
            pass
        self.stats.phases.append({'phase': phase, 'requests': self.stats.requests - before,
                                  'seconds': round(time.time() - started, 3)})
        return stdout.decode('cp437', 'replace'), stderr.decode('cp437', 'replace'), rc


# ---------------------------------------------------------------------------------------------------------
# Command lines (cmd.exe syntax only: works the same from Windows 7 SP1 to Server 2025)

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


# ---------------------------------------------------------------------------------------------------------
# Payloads

def certutil_armor(data):
    """What certutil -encode writes (and -decode reads): base64 in 64-column lines between the markers."""
    text = base64.b64encode(data).decode('ascii')
    lines = ['-----BEGIN CERTIFICATE-----'] + [text[i:i + 64] for i in range(0, len(text), 64)] + \
        ['-----END CERTIFICATE-----']
    return ('\r\n'.join(lines) + '\r\n').encode('ascii')


def certutil_unarmor(text, what):
    body = []
    inside = False
    for line in text.replace('\r\n', '\n').split('\n'):
        line = line.strip()
        if line.startswith('-----BEGIN'):
            inside = True
            continue
        if line.startswith('-----END'):
            inside = False
            continue
        if inside and line:
            body.append(line)
    if not body:
        raise WinRMError('the host sent no %s (certutil output without a BEGIN/END block)' % what)
    try:
        return base64.b64decode(''.join(body).encode('ascii'), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WinRMError('the %s the host sent is not valid base64 (%s): the transfer was cut or garbled'
                         % (what, exc))


def reg_file_bytes(reg_text):
    """The .reg text as regedit writes it: UTF-16LE with a byte order mark, CRLF line ends."""
    text = reg_text.replace('\r\n', '\n').replace('\n', '\r\n')
    return b'\xff\xfe' + text.encode('utf-16-le')


def split_reg_sections(reg_text):
    """(header line, [section text]) of .reg text as Plan.to_reg renders it (one blank line between sections)."""
    lines = reg_text.replace('\r\n', '\n').split('\n')
    header = lines[0]
    sections, current = [], []
    for line in lines[1:]:
        if line.startswith('['):
            if current:
                sections.append(current)
            current = [line]
        elif line.strip() and current:
            current.append(line)
    if current:
        sections.append(current)
    return header, ['\n'.join(s) for s in sections]


def section_key(section):
    head = section.split('\n', 1)[0]
    return head[2:-1] if head.startswith('[-') else head[1:-1]


def record_first(reg_text, record_path):
    """Move the sections that write the record of originals to the front.

    reg import applies sections in order and stops at a failure; with the record first, whatever prefix
    was applied is restorable by state=absent, and a re-run completes the rest.
    """
    header, sections = split_reg_sections(reg_text)
    prefix = (SYSTEM_PREFIX + '\\' + '\\'.join(record_path)).upper()

    def is_record(section):
        key = section_key(section).upper()
        # the record key, below it, or a parent the plan creates for it
        return key == prefix or key.startswith(prefix + '\\') or prefix.startswith(key + '\\')

    first = [s for s in sections if not s.startswith('[-') and is_record(s) and
             section_key(s).upper() != SYSTEM_PREFIX]
    # the record key itself (its Version value) first: restore refuses a record without it
    first.sort(key=lambda s: 0 if section_key(s).upper() == prefix else 1 if prefix.startswith(section_key(s).upper()) else 2)
    first.sort(key=lambda s: 0 if prefix.startswith(section_key(s).upper() + '\\') else 1)
    rest = [s for s in sections if s not in first]
    return header + '\n\n' + '\n\n'.join(first + rest) + '\n'


def touches(reg_text, top_key):
    prefix = (SYSTEM_PREFIX + '\\' + top_key).upper()
    return any(section_key(s).upper() == prefix or section_key(s).upper().startswith(prefix + '\\')
               for s in split_reg_sections(reg_text)[1])


# ---------------------------------------------------------------------------------------------------------
# reg query output (format of reg.exe: key lines, then "    name    TYPE    data")

_TYPES = {'REG_SZ': REG_SZ, 'REG_EXPAND_SZ': REG_EXPAND_SZ, 'REG_BINARY': REG_BINARY, 'REG_DWORD': REG_DWORD,
          'REG_MULTI_SZ': REG_MULTI_SZ, 'REG_QWORD': REG_QWORD, 'REG_NONE': REG_NONE}


def parse_value_line(line):
    """'    CurrentVersion    REG_SZ    6.1' -> Value; None when the line is not a value line."""
    if not line.startswith('    '):
        return None
    parts = line[4:].split('    ', 2)
    if len(parts) < 2 or parts[1] not in _TYPES:
        return None
    name = '' if parts[0] == '(Default)' else parts[0]
    kind = _TYPES[parts[1]]
    data = parts[2] if len(parts) > 2 else ''
    if kind in (REG_SZ, REG_EXPAND_SZ):
        return Value(name, kind, data.encode('utf-16-le') + b'\x00\x00')
    if kind == REG_MULTI_SZ:
        items = [i for i in data.split('\\0') if i] if data else []
        return Value.multi_sz(name, items)
    if kind == REG_DWORD:
        return Value.dword(name, int(data, 16))
    if kind == REG_QWORD:
        return Value.qword(name, int(data, 16))
    return Value(name, kind, binascii.unhexlify(data.strip()) if data.strip() else b'')


def parse_reg_query(text):
    """{key path: [Value]} from reg query output (with or without /s)."""
    out = {}
    key = None
    for line in text.replace('\r\n', '\n').split('\n'):
        if line.startswith('HKEY_'):
            key = line.strip()
            out.setdefault(key, [])
            continue
        value = parse_value_line(line)
        if value is not None and key is not None:
            out[key].append(value)
    return out


def present_instances(text):
    """Enum instance paths (ControlSet-relative, e.g. Enum\\PCI\\VEN..\\3&..) that have a live Control key."""
    found = {}
    for key, values in parse_reg_query(text).items():
        parts = key.split('\\')
        upper = [p.upper() for p in parts]
        if 'ENUM' not in upper or upper[-1] != 'CONTROL':
            continue
        start = upper.index('ENUM')
        active = [v.decoded() for v in values if fold(v.name) == 'ACTIVESERVICE']
        found[path_id(tuple(parts[start + 1:-1]))] = active[0] if active else None
    return found


# ---------------------------------------------------------------------------------------------------------
# A tiny SOFTWARE hive holding only Microsoft\Windows NT\CurrentVersion, so the offline engine's detect_os
# reads the live version without transferring the (large) SOFTWARE hive.

def blank_hive_bytes(name='SOFTWARE'):
    """An empty regf hive: base block, one 4 KiB bin with a root key and its security cell."""
    bin_size = 0x1000
    root_off = 0x20
    root_name = b'ROOT'
    nk_len = 4 + 0x4C + len(root_name)
    nk_cell = (nk_len + 7) & ~7
    sk_off = root_off + nk_cell
    descriptor = struct.pack('<BBHIIII', 1, 0, 0x8004, 0, 0, 0, 20) + struct.pack('<BBHHH', 2, 0, 8, 0, 0)
    sk_len = 4 + 20 + len(descriptor)
    sk_cell = (sk_len + 7) & ~7
    free_off = sk_off + sk_cell
    stamp = int((time.time() + 11644473600) * 10000000)
    nk = struct.pack('<i2sHQIIIIIIIIIIIIIIIHH', -nk_cell, b'nk', 0x2C, stamp, 0, 0xFFFFFFFF, 0, 0, 0xFFFFFFFF,
                     0xFFFFFFFF, 0, 0xFFFFFFFF, sk_off, 0xFFFFFFFF, 0, 0, 0, 0, 0, len(root_name), 0) + root_name
    nk += b'\x00' * (nk_cell - len(nk))
    sk = struct.pack('<i2sHIIII', -sk_cell, b'sk', 0, sk_off, sk_off, 1, len(descriptor)) + descriptor
    sk += b'\x00' * (sk_cell - len(sk))
    free_size = bin_size - free_off
    free = struct.pack('<i', free_size) + b'\x00' * (free_size - 4)
    hbin = b'hbin' + struct.pack('<IIQQI', 0, bin_size, 0, stamp, 0) + nk + sk + free
    if len(hbin) != bin_size:  # pragma: no cover - a bug here, not an input error
        raise WinRMError('internal error: empty hive bin of %d bytes' % len(hbin))
    base = bytearray(0x1000)
    struct.pack_into('<4sIIQIIIIIII', base, 0, b'regf', 1, 1, stamp, 1, 5, 0, 1, root_off, bin_size, 1)
    label = ('\\??\\C:\\Windows\\System32\\config\\' + name)[-31:].encode('utf-16-le')
    base[0x30:0x30 + len(label)] = label
    checksum = 0
    for (word,) in struct.iter_unpack('<I', bytes(base[:0x1FC])):
        checksum ^= word
    checksum = 0xFFFFFFFE if checksum == 0xFFFFFFFF else (1 if checksum == 0 else checksum)
    struct.pack_into('<I', base, 0x1FC, checksum)
    return bytes(base) + hbin


def write_software_hive(path, values):
    """A SOFTWARE hive file with Microsoft\\Windows NT\\CurrentVersion holding ``values`` (via libhivex)."""
    import hivex  # only called where the offline engine (which needs hivex) runs
    with open(path, 'wb') as handle:
        handle.write(blank_hive_bytes())
    h = hivex.Hivex(path, write=True)
    node = h.root()
    for part in ('Microsoft', 'Windows NT', 'CurrentVersion'):
        node = h.node_add_child(node, part)
    h.node_set_values(node, [{'key': v.name, 't': v.type, 'value': v.data} for v in values])
    h.commit(path)
    del h
    return path


# ---------------------------------------------------------------------------------------------------------
# Driver packages: an uncompressed cabinet (MS-CAB), which every Windows unpacks with expand.exe

def cab_bytes(files):
    """A cabinet holding ``files`` [(name, bytes)] uncompressed, one folder, 32 KiB data blocks."""
    names = [name.encode('ascii') for name, _d in files]
    payload = b''.join(data for _n, data in files)
    blocks = [payload[i:i + 0x8000] for i in range(0, len(payload), 0x8000)] or [b'']
    header_len = 36
    folder_len = 8
    files_off = header_len + folder_len
    files_len = sum(16 + len(n) + 1 for n in names)
    data_off = files_off + files_len
    total = data_off + sum(8 + len(b) for b in blocks)
    out = bytearray()
    out += struct.pack('<4sIIIIIBBHHHHH', b'MSCF', 0, total, 0, files_off, 0, 3, 1, 1, len(files), 0, 0x5EB0, 0)
    out += struct.pack('<IHH', data_off, len(blocks), 0)
    offset = 0
    for name, (_n, data) in zip(names, files):
        # date 2020-01-01, time 00:00, attribute archive (0x20)
        out += struct.pack('<IIHHHH', len(data), offset, 0, (40 << 9) | (1 << 5) | 1, 0, 0x20) + name + b'\x00'
        offset += len(data)
    for block in blocks:
        out += struct.pack('<IHH', 0, len(block), len(block)) + block
    if len(out) != total:  # pragma: no cover
        raise WinRMError('internal error: cabinet of %d bytes instead of %d' % (len(out), total))
    return bytes(out)


def cab_extract(data):
    """[(name, bytes)] of a cabinet's first folder: stored or MSZIP (what makecab writes by default).

    MSZIP (MS-MCI): each CFDATA block is "CK" and a complete deflate stream whose back-references may reach
    into the previous 32 KiB of output, so each block is inflated with that history as preset dictionary.
    """
    try:
        flags = struct.unpack_from('<H', data, 30)[0]
        files_off = struct.unpack_from('<I', data, 16)[0]
        count = struct.unpack_from('<H', data, 28)[0]
        off = 36
        folder_reserve = data_reserve = 0
        if flags & 4:
            header_reserve, folder_reserve, data_reserve = struct.unpack_from('<HBB', data, off)
            off += 4 + header_reserve
        if flags & 3:
            raise WinRMError('multi-cabinet sets are not supported')
        data_off, blocks, kind = struct.unpack_from('<IHH', data, off)
        del folder_reserve
        kind &= 0x0F
        if kind not in (0, 1):
            raise WinRMError('the cabinet uses compression type %d; only stored and MSZIP are read' % kind)
        out, history, pos = [], b'', data_off
        for _index in range(blocks):
            size, usize = struct.unpack_from('<HH', data, pos + 4)
            pos += 8 + data_reserve
            block = data[pos:pos + size]
            pos += size
            if kind == 0:
                chunk = block
            else:
                if block[:2] != b'CK':
                    raise WinRMError('a MSZIP block of the cabinet lacks its CK signature')
                inflater = zlib.decompressobj(-15, zdict=history) if history else zlib.decompressobj(-15)
                chunk = inflater.decompress(block[2:]) + inflater.flush()
            if len(chunk) != usize:
                raise WinRMError('a cabinet block inflated to %d bytes instead of %d' % (len(chunk), usize))
            out.append(chunk)
            history = (history + chunk)[-32768:]
        stream = b''.join(out)
        members, off = [], files_off
        for _index in range(count):
            size, start, folder = struct.unpack_from('<IIH', data, off)
            end = data.index(b'\x00', off + 16)
            if folder == 0:
                members.append((data[off + 16:end].decode('latin-1'), stream[start:start + size]))
            off = end + 1
        return members
    except (struct.error, ValueError, zlib.error) as exc:
        raise WinRMError('the cabinet the host sent is damaged (%s)' % exc)


def package_files(inf_path, files):
    """[(name in the cab, local path)] for a driver package: every file beside the INF and the files it copies."""
    folder = os.path.dirname(os.path.abspath(inf_path))
    chosen = {}
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        if os.path.isfile(path):
            chosen[entry.lower()] = (entry, path)
    for item in files or []:
        path = item.get('source_path')
        if path and os.path.isfile(path):
            name = os.path.basename(path)
            if name.lower() in chosen and os.path.abspath(chosen[name.lower()][1]) != os.path.abspath(path):
                raise WinRMError('driver package %s has two files named %s in different folders; stage it by hand '
                                 'with pnputil' % (inf_path, name))
            chosen[name.lower()] = (name, path)
    out = [chosen[k] for k in sorted(chosen)]
    for name, _p in out:
        if not all(32 < ord(c) < 127 and c not in '"<>|*?\\/:' for c in name):
            raise WinRMError('driver package file %r has a name cmd.exe cannot pass safely' % name)
    size = sum(os.path.getsize(p) for _n, p in out)
    if size > MAX_PACKAGE_BYTES:
        raise WinRMError('driver package %s is %d bytes; more than %d is not sent over WinRM' % (
            inf_path, size, MAX_PACKAGE_BYTES))
    return out


# ---------------------------------------------------------------------------------------------------------
# The live task: read, plan with the offline engine, stage, apply

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
            present = host.present or {}
            for adapter in result['adapters']:
                pid = path_id(tuple(adapter['instance'].split('\\')))
                adapter['present'] = pid in present
                adapter['active_service'] = present.get(pid)
            result['present_adapters'] = [a for a in result['adapters'] if a['present']]
            return _finish(result, settings, host)
        if job == 'critical_device':
            result = _offline_critical_device(params, host.system_path)
        else:
            result = bootjob.run_iscsi_boot(_offline_params(params, host.system_path, host.software_path),
                                            check_mode=True)
        if not result['changed'] or check_mode:
            return _finish(result, settings, host)
        reg_text = result['reg']
        state = params.get('state', 'present')
        if job == 'iscsi_boot' and state == 'present':
            reg_text = record_first(reg_text, iscsiboot.STATE_KEY)
        mode = params.get('system_import') or 'auto'
        as_system = mode == 'always' or (mode == 'auto' and touches(reg_text, 'DriverDatabase'))
        staged = []
        if job == 'iscsi_boot' and state == 'present':
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
                    staged.append(host.stage(inf_path, entry.get('files'), targets,
                                             _new_pnputil(result.get('os') or {})))
                except WinRMError as exc:
                    if 'registry was not changed' in str(exc):
                        raise
                    raise WinRMError('%s. The registry was not changed (the driver package may be partly staged). %s'
                                     % (exc, _RERUN), phase=exc.phase, applied=False)
                service = entry.get('service')
                result['warnings'] = [w for w in result.get('warnings') or []
                                      if not w.startswith('service %s was created from its driver package' % service)]
            result['staged_drivers'] = staged
        try:
            code, text = host.apply(reg_text, as_system)
        except WinRMError as exc:
            if exc.phase == 'applying the change' and exc.applied is not False:
                raise WinRMError('%s. The change may be partly applied: %s' % (exc, _RERUN), phase=exc.phase)
            raise
        applied_as = 'SYSTEM (schtasks)' if as_system else settings.user or 'the WinRM user'
        if code == 0:
            return _finish(result, settings, host, applied_as)
        # The import stopped halfway: read the host again and say exactly what is in effect.
        from ansible_collections.sanboot.windows.plugins.module_utils.hive import Hive
        host.read(software=False, phase='reading the registry after a failed import')
        applied, missing = plan_state(Hive(host.system_path, allow_dirty=True), result['changes'])
        result = _finish(result, settings, host, applied_as)
        result.update(failed=True, changed=bool(applied), applied=applied, not_applied=missing,
                      msg='reg import on %s failed (%s) after %d of %d changes were in effect: %s. %s'
                      % (settings.host, _clip(text, 300), len(applied), len(result['changes']),
                         'the record of originals was written first, so state=absent undoes exactly what was '
                         'applied' if job == 'iscsi_boot' and state == 'present' else
                         'the operations in not_applied were not made', _RERUN))
        if not as_system and touches(reg_text, 'DriverDatabase'):
            result['msg'] += (' On Windows 8 and later only SYSTEM may write HKLM\\SYSTEM\\DriverDatabase: leave '
                              'system_import at auto or set it to always.')
        return result


_RERUN = ('Running the task again is safe: it reads the host again and applies only what is missing')
