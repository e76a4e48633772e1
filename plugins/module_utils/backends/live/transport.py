# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WS-Man transport: where and how to reach the host (Settings, with the connection variables, types and
defaults of Ansible's winrm connection plugin), a Kerberos ticket from the inventory password (kinit, as that plugin
gets one), one WinRM shell that runs command lines with stdin and counts every request (Session), and the live path's
one error type (WinRMError) with redact() to keep secrets out of messages. pywinrm is imported guarded, so the
engine imports where it is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re
import shlex
import subprocess
import tempfile
import time

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

try:
    import winrm
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

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote

# Raw bytes per Send: base64 of it plus the envelope stays below WinRM 2.0's MaxEnvelopeSizekb of 150 KB.
STDIN_CHUNK = 96 * 1024
# UTF-8, as Ansible's winrm connection opens its shells: reg.exe prints key names and strings in the shell's code page.
CODEPAGE = 65001


class WinRMError(RegistryError):
    """A failure talking to the host or on the host. ``phase`` names the step, ``applied`` says whether the change was
    applied (False: not at all; None: unknown), ``complete`` that the message already says what was and was not
    changed (callers add nothing to it)."""

    def __init__(self, message, phase=None, applied=None, complete=False):
        RegistryError.__init__(self, message)
        self.phase = phase
        self.applied = applied
        self.complete = complete


def secret_forms(secret, user=None):
    """The forms in which a password could show up in a message: as is, URL-quoted, in a Basic header."""
    forms = set([secret, quote(secret, safe='')])
    if user is not None:
        forms.add(base64.b64encode(('%s:%s' % (user, secret)).encode('utf-8')).decode('ascii'))
    return forms


def redact(text, secrets, user=None):
    """``text`` with every secret replaced by ******** where it stands as a whole token: not inside a longer word
    (a password 'p' leaves 'http' alone). Messages are built without secrets; this is the second line of defence."""
    if text is None:
        return text
    text = str(text)
    for secret in secrets or ():
        if not secret:
            continue
        for form in sorted(secret_forms(str(secret), user), key=len, reverse=True):
            text = re.sub(r'(?<![A-Za-z0-9])%s(?![A-Za-z0-9])' % re.escape(form), '********', text)
    return text


def boolean(value, name):
    """Ansible's boolean parsing (module_utils.parsing.convert_bool), for values from INI inventories."""
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in ('y', 'yes', 'on', '1', 'true', 't', '1.0'):
        return True
    if text in ('n', 'no', 'off', '0', 'false', 'f', '0.0', ''):
        return False
    raise WinRMError('ansible_winrm_%s must be a boolean, not %r' % (name, value))


def integer(value, name):
    if value is None or value == '':
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise WinRMError('%s must be a whole number, not %r' % (name, value))


def as_list(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(',') if v.strip()]


# pywinrm Protocol arguments that ansible_winrm_<name> passes through (Ansible's winrm plugin passes every argument of
# the installed pywinrm's Protocol), with the type Ansible's users give them.
PROTOCOL_ARGS = {
    'realm': 'str', 'service': 'str', 'keytab': 'str', 'ca_trust_path': 'str', 'cert_pem': 'str',
    'cert_key_pem': 'str', 'server_cert_validation': 'str', 'kerberos_delegation': 'bool', 'read_timeout_sec': 'int',
    'operation_timeout_sec': 'int', 'kerberos_hostname_override': 'str', 'message_encryption': 'str',
    'credssp_disable_tlsv1_2': 'bool', 'send_cbt': 'bool', 'proxy': 'str',
}


class Settings(object):
    """Where and how to reach the host: Ansible's winrm connection options (remote_addr, port, remote_user,
    remote_password, scheme, path, transport, connection_timeout, kerberos_command, kinit_args, kinit_env_vars,
    kerberos_mode) and the ansible_winrm_* arguments it passes to pywinrm (``extra``), typed as Ansible types them."""

    def __init__(self, host, port=None, user=None, password=None, scheme=None, path='/wsman', transport=None,
                 server_cert_validation=None, ca_trust_path=None, read_timeout=None, operation_timeout=None,
                 extra=None, connection_timeout=None, kinit_cmd=None, kinit_args=None, kinit_env_vars=None,
                 kinit_mode=None):
        if not host:
            raise WinRMError('no host to connect to (ansible_host)')
        self.host = host
        self.port = integer(port, 'ansible_port') or 5986
        self.scheme = scheme or ('http' if self.port == 5985 else 'https')
        if self.scheme not in ('http', 'https'):
            raise WinRMError('ansible_winrm_scheme must be http or https, not %r' % self.scheme)
        self.path = path or '/wsman'
        self.user = user
        self.password = password
        # Ansible's default: Kerberos for a UPN (user@REALM), else Basic (over TLS on https)
        transports = as_list(transport)
        if not transports:
            transports = ['kerberos'] if user and '@' in user else ['ssl' if self.scheme == 'https' else 'plaintext']
        self.transports = transports
        extra = dict(extra or {})
        if server_cert_validation is not None:
            extra['server_cert_validation'] = server_cert_validation
        if ca_trust_path is not None:
            extra['ca_trust_path'] = ca_trust_path
        if read_timeout is not None:
            extra['read_timeout_sec'] = read_timeout
        if operation_timeout is not None:
            extra['operation_timeout_sec'] = operation_timeout
        self.extra = {}
        self.unsupported = []
        for name, value in extra.items():
            kind = PROTOCOL_ARGS.get(name)
            if kind is None:
                self.unsupported.append(name)
            elif kind == 'bool':
                self.extra[name] = boolean(value, name)
            elif kind == 'int':
                self.extra[name] = integer(value, 'ansible_winrm_%s' % name)
            else:
                self.extra[name] = value
        self.server_cert_validation = self.extra.setdefault('server_cert_validation', 'validate')
        if self.server_cert_validation not in ('validate', 'ignore'):
            raise WinRMError('ansible_winrm_server_cert_validation must be validate or ignore, not %r'
                             % self.server_cert_validation)
        # connection_timeout sets both, as in Ansible: operation = timeout, read = timeout + 10
        timeout = integer(connection_timeout, 'ansible_winrm_connection_timeout')
        if timeout:
            self.extra['operation_timeout_sec'] = timeout
            self.extra['read_timeout_sec'] = timeout + 10
        self.operation_timeout = self.extra.get('operation_timeout_sec') or 20
        self.read_timeout = self.extra.get('read_timeout_sec') or 30
        if 'read_timeout_sec' in self.extra or 'operation_timeout_sec' in self.extra:
            self.extra['operation_timeout_sec'] = self.operation_timeout
            self.extra['read_timeout_sec'] = self.read_timeout
            if self.read_timeout <= self.operation_timeout:
                raise WinRMError('ansible_winrm_read_timeout_sec (%s) must exceed ansible_winrm_operation_timeout_sec '
                                 '(%s); or give only ansible_winrm_connection_timeout, which sets both'
                                 % (self.read_timeout, self.operation_timeout))
        self.kinit_cmd = kinit_cmd or 'kinit'
        self.kinit_args = kinit_args
        self.kinit_env_vars = as_list(kinit_env_vars) or []
        if kinit_mode not in (None, 'managed', 'manual'):
            raise WinRMError('ansible_winrm_kinit_mode must be managed or manual, not %r' % kinit_mode)
        self.kinit_mode = kinit_mode

    @property
    def transport(self):
        return self.transports[0]

    @property
    def endpoint(self):
        host = self.host
        if ':' in host and not host.startswith('['):
            host = '[%s]' % host
        return '%s://%s:%d%s' % (self.scheme, host, self.port, self.path if self.path.startswith('/') else '/' + self.path)

    @property
    def kerberos_managed(self):
        """Ansible's rule: a ticket is got with kinit when Kerberos is among the transports and a password is given."""
        if self.kinit_mode is not None:
            return self.kinit_mode == 'managed'
        return 'kerberos' in self.transports and bool(self.password)

    def secrets(self):
        return [s for s in (self.password,) if s]

    def redact(self, text):
        return redact(text, self.secrets(), self.user)


class KerberosTicket(object):
    """kinit for the inventory's user and password into a private credential cache (KRB5CCNAME) for this task."""

    def __init__(self, settings):
        self.settings = settings
        self.cache = None
        self.previous = None

    def __enter__(self):
        settings = self.settings
        handle, self.cache = tempfile.mkstemp(prefix='sanboot-krb5cc-')
        os.close(handle)
        env = {'PATH': os.environ.get('PATH', ''), 'KRB5CCNAME': 'FILE:%s' % self.cache}
        for name in settings.kinit_env_vars:
            if name not in env and name in os.environ:
                env[name] = os.environ[name]
        command = [settings.kinit_cmd]
        if settings.kinit_args:
            command += [a for a in shlex.split(settings.kinit_args) if a.strip()]
        elif settings.extra.get('kerberos_delegation'):
            command.append('-f')
        command.append(settings.user)
        try:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=env, start_new_session=True)
        except OSError as exc:
            self._drop()
            raise WinRMError('Kerberos: cannot run %r: %s' % (settings.kinit_cmd, exc))
        _out, err = proc.communicate((settings.password or '').encode('utf-8') + b'\n')
        if proc.returncode != 0:
            self._drop()
            raise WinRMError(settings.redact('Kerberos authentication failed for principal %s (kinit exit code %d): %s'
                                             % (settings.user, proc.returncode,
                                                err.decode('utf-8', 'replace').strip()[:500])))
        self.previous = os.environ.get('KRB5CCNAME')
        os.environ['KRB5CCNAME'] = env['KRB5CCNAME']
        return self

    def _drop(self):
        if self.cache and os.path.exists(self.cache):
            os.unlink(self.cache)
        self.cache = None

    def __exit__(self, *exc_info):
        if self.previous is None:
            os.environ.pop('KRB5CCNAME', None)
        else:
            os.environ['KRB5CCNAME'] = self.previous
        self._drop()


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
        self.protocol = None
        self.phase = 'connecting'
        self.ticket = None

    def _protocol(self, transport):
        settings = self.settings
        kwargs = dict(settings.extra)
        kwargs.update(endpoint=settings.endpoint, transport=transport, username=settings.user,
                      password=settings.password)
        try:
            protocol = winrm.protocol.Protocol(**kwargs)
        except (winrm.exceptions.WinRMError, ValueError, TypeError) as exc:
            raise WinRMError(settings.redact('cannot set up WinRM (transport %s) to %s: %s'
                                             % (transport, settings.endpoint, exc)))
        original = protocol.send_message

        def counted(message):
            self.stats.requests += 1
            self.stats.bytes_sent += len(message)
            reply = original(message)
            self.stats.bytes_received += len(reply or b'')
            return reply

        protocol.send_message = counted
        return protocol

    def _fail(self, exc, transport=None):
        """A WinRMError that says what went wrong, where, without secrets."""
        where = 'while %s' % self.phase
        endpoint = self.settings.endpoint
        transport = transport or self.settings.transport
        if HAS_WINRM and isinstance(exc, winrm.exceptions.InvalidCredentialsError):
            msg = ('authentication failed at %s (HTTP 401) for user %r with transport %s: check ansible_user, '
                   'ansible_password and ansible_winrm_transport' % (endpoint, self.settings.user, transport))
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
            msg = 'WinRM error talking to %s %s (transport %s): %s: %s' % (
                endpoint, where, transport, exc.__class__.__name__, exc)
            if 'kerberos' in str(exc) and 'not installed' in str(exc):
                msg += ' (on the controller: pip install pywinrm[kerberos])'
        return WinRMError(self.settings.redact(msg), phase=self.phase)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except WinRMError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            raise self._fail(exc)

    def open(self):
        """A shell, trying the transports in order as Ansible's winrm connection does."""
        self.phase = 'opening a shell'
        errors = []
        for transport in self.settings.transports:
            if transport == 'kerberos' and self.settings.kerberos_managed and self.ticket is None:
                self.ticket = KerberosTicket(self.settings).__enter__()
            try:
                self.protocol = self._protocol(transport)
                self.shell_id = self.protocol.open_shell(codepage=CODEPAGE)
                return self
            except WinRMError as exc:
                errors.append(exc)
            except Exception as exc:  # pylint: disable=broad-except
                errors.append(self._fail(exc, transport))
        self._drop_ticket()
        if len(errors) == 1:
            raise errors[0]
        raise WinRMError('; '.join(str(e) for e in errors), phase=self.phase)

    def _drop_ticket(self):
        if self.ticket is not None:
            ticket, self.ticket = self.ticket, None
            ticket.__exit__(None, None, None)

    def close(self):
        try:
            if self.shell_id is not None:
                shell_id, self.shell_id = self.shell_id, None
                try:
                    # Deleting the shell ends whatever still runs in it.
                    self.protocol.close_shell(shell_id)
                except Exception:  # pylint: disable=broad-except
                    pass  # a shell left behind is deleted by WinRM after its IdleTimeout, with its processes
        finally:
            self._drop_ticket()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc_info):
        self.close()

    def run(self, phase, command, stdin=None):
        """Run one (executable, arguments) without cmd.exe around it; returns (stdout, stderr, exit code).

        Stdin goes in pipe mode (WINRS_CONSOLEMODE_STDIN=FALSE, as Ansible's winrm connection sends it): the last
        Send closes the pipe, so a reader sees the end of its input. Every command ends with Signal terminate, which
        MS-WSMV 3.1.4.14 requires after the last Receive (and which ends the process if it still runs).
        """
        self.phase = phase
        started = time.time()
        before = self.stats.requests
        executable, arguments = command
        command_id = self._call(self.protocol.run_command, self.shell_id, executable, [arguments],
                                console_mode_stdin=False, skip_cmd_shell=True)
        self.stats.commands += 1
        try:
            if stdin is not None:
                chunks = [stdin[i:i + STDIN_CHUNK] for i in range(0, len(stdin), STDIN_CHUNK)] or [b'']
                for index, chunk in enumerate(chunks):
                    self._call(self.protocol.send_command_input, self.shell_id, command_id, chunk,
                               index == len(chunks) - 1)
            stdout, stderr, rc = self._call(self.protocol.get_command_output, self.shell_id, command_id)
        finally:
            try:
                self.protocol.cleanup_command(self.shell_id, command_id)
            except Exception:  # pylint: disable=broad-except
                pass        # the connection is gone: WinRM ends the process with the shell (IdleTimeout)
            self.stats.phases.append({'phase': phase, 'requests': self.stats.requests - before,
                                      'seconds': round(time.time() - started, 3)})
        return stdout.decode('utf-8', 'replace'), stderr.decode('utf-8', 'replace'), rc
