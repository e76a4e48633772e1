# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WS-Man transport: where and how to reach the host (Settings), one WinRM shell that runs command lines with
stdin and counts every request (Session), and the live path's one error type (WinRMError) with redact() to keep
secrets out of messages. pywinrm is imported guarded, so the engine imports where it is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

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

STDIN_CHUNK = 96 * 1024        # raw bytes per Send: fits WinRM 2.0's default 150 KB MaxEnvelopeSize


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
