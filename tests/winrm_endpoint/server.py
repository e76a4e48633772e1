# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A WS-Management endpoint on 127.0.0.1 that speaks the WinRM remote shell protocol as Windows does.

Create (shell), Command (the process starts and runs while the client sends stdin and polls), Send (stdin; pipe or
console mode), Receive (waits up to OperationTimeout for output, then a TimedOut fault as Windows sends it; output in
chunks that fit MaxEnvelopeSize; CommandState Running/Done with ExitCode), Signal (terminate: the process ends),
Delete (the shell and its processes end); IdleTimeout and MaxEnvelopeSizekb enforced; SOAP 1.2 envelopes with
WS-Addressing headers, WS-Management faults (HTTP 500) for unknown shells and actions, and
HTTP Basic authentication (per request) and NTLM (per connection, through pyspnego's acceptor; without
message encryption, as with AllowUnencrypted) answering 401 with WWW-Authenticate like Windows. Commands run on a
``machine.Machine``. Failure injection: ``drop`` closes the TCP connection without an answer.

Run by hand: python -m ansible_collections.sanboot.windows.tests.winrm_endpoint.server SYSTEM [SOFTWARE]
"""

from __future__ import absolute_import, division, print_function

import base64
import os
import re
import socket
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Process, Stdin

NS = {
    's': 'http://www.w3.org/2003/05/soap-envelope',
    'a': 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
    'w': 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
    'rsp': 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
    'p': 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
    'x': 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
}
SHELL = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell'
ACTIONS = {
    'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create': 'Create',
    'http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete': 'Delete',
    SHELL + '/Command': 'Command',
    SHELL + '/Send': 'Send',
    SHELL + '/Receive': 'Receive',
    SHELL + '/Signal': 'Signal',
}
ERROR_WINRS_SHELL_NOT_FOUND = 2150858843
ERROR_WSMAN_OPERATION_TIMEDOUT = 2150858793
ERROR_WSMAN_SERVER_ENVELOPE_LIMIT = 2150858825


class _Command(object):
    """One command in a shell: its process, its stdin, how much of its output the client has received."""

    def __init__(self, line, skip_cmd_shell, console, console_timeout):
        self.line = line
        self.skip_cmd_shell = skip_cmd_shell
        self.stdin = Stdin(closed=False, console=console, timeout=console_timeout)
        self.proc = Process()
        self.sent_out = 0
        self.sent_err = 0
        self.thread = None


class _Shell(object):
    def __init__(self, codepage, idle_timeout):
        self.codepage = codepage
        self.commands = {}
        self.last = time.time()
        self.busy = 0           # Receives waiting on it (a long poll is activity)
        self.idle_timeout = idle_timeout


def _seconds(duration, default):
    """xs:duration PT20S / PT20.000S -> 20.0."""
    match = re.match(r'^PT(\d+(?:\.\d+)?)S$', (duration or '').strip())
    return float(match.group(1)) if match else default


class Endpoint(object):
    """The HTTP server, its shells and counters. Use as a context manager.

    Windows' limits are enforced: a shell nobody talks to for ``idle_timeout`` seconds is deleted and its processes
    end (WinRM's IdleTimeout, 180 s by default on the shells pywinrm opens: MS-WSMV 2.2.4.37, winrm quickconfig);
    a request larger than ``max_envelope_kb`` is refused (MaxEnvelopeSizekb: 150 on WinRM 2.0 / Windows 7, 500
    later: MS-WSMV 2.2.4.10) and no reply is larger than it or than the client's MaxEnvelopeSize (3.1.4.1.7).
    """

    def __init__(self, machine, user='Administrator', password='Passw0rd!', drop=None, ntlm=True, idle_timeout=180.0,
                 max_envelope_kb=None, receive_settle=0.05):
        self.machine = machine
        self.user = user
        self.password = password
        self.ntlm = ntlm
        if ntlm:
            # pyspnego's NTLM acceptor reads its accounts from the file NTLM_USER_FILE names (DOMAIN:USER:PASSWORD).
            import tempfile
            handle, users = tempfile.mkstemp(prefix='winrm-endpoint-ntlm-')
            with os.fdopen(handle, 'w') as out:
                out.write(':%s:%s\n' % (user, password))
            os.environ['NTLM_USER_FILE'] = users
            self.ntlm_user_file = users
        self.drop = drop            # callable(action name, per-action count) -> True to drop the connection
        self.idle_timeout = idle_timeout
        if max_envelope_kb is None:
            max_envelope_kb = 150 if machine.version == '6.1' else 500
        self.max_envelope = max_envelope_kb * 1024
        self.shells = {}
        self.counts = {}
        self.requests = []
        self.sizes = []             # (action, request bytes)
        self.expired = []           # shells deleted for being idle
        self.killed = []            # command lines ended by Signal, Delete or IdleTimeout while they ran
        self.unsignaled = []        # command lines the client never sent Signal for (MS-WSMV 3.1.4.14: it MUST)
        self.receive_settle = receive_settle
        self.unauthorized = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        endpoint = self

        class Handler(_Handler):
            server_endpoint = endpoint

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = None
        self.reaper = None

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def url(self):
        return 'http://127.0.0.1:%d/wsman' % self.port

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05})
        self.thread.daemon = True
        self.thread.start()
        self.reaper = threading.Thread(target=self._reap, daemon=True)
        self.reaper.start()
        return self

    def stop(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        with self.lock:
            for shell_id in list(self.shells):
                self._delete(shell_id)
        self.machine.shutdown()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _reap(self):
        """WinRM's IdleTimeout: a shell without requests for that long is deleted, ending its processes."""
        while not self.stopping.wait(0.05):
            now = time.time()
            with self.lock:
                for shell_id, shell in list(self.shells.items()):
                    if not shell.busy and now - shell.last > self.idle_timeout:
                        self.expired.append(shell_id)
                        self._delete(shell_id)

    def _delete(self, shell_id):
        shell = self.shells.pop(shell_id, None)
        for command in (shell.commands.values() if shell else ()):
            self.unsignaled.append(command.line)
            self._end(command)

    def _end(self, command):
        if not command.proc.done:
            self.killed.append(command.line)
        command.proc.kill()

    # protocol ----------------------------------------------------------------------------------------
    def handle(self, body):
        """(status, reply xml) for one request envelope, or None to drop the connection."""
        root = ET.fromstring(body)
        header = root.find('s:Header', NS)
        action_uri = header.findtext('a:Action', default='', namespaces=NS)
        message_id = header.findtext('a:MessageID', default='', namespaces=NS)
        action = ACTIONS.get(action_uri)
        with self.lock:
            self.counts[action] = self.counts.get(action, 0) + 1
            self.requests.append(action or action_uri)
            self.sizes.append((action, len(body)))
            count = self.counts[action]
        if self.drop is not None and self.drop(action, count):
            return None
        if len(body) > self.max_envelope:
            return 500, fault(message_id, 'w:EncodingLimit', 'The WS-Management service cannot process the request '
                              'because the request size exceeded the MaxEnvelopeSize quota configured on the service.',
                              ERROR_WSMAN_SERVER_ENVELOPE_LIMIT, 'The request is %d bytes; MaxEnvelopeSizekb is %d.'
                              % (len(body), self.max_envelope // 1024))
        if action is None:
            return 500, fault(message_id, 'a:ActionNotSupported', 'The action is not supported by the service.',
                              2150858767, 'The WS-Management service does not support the specified action.')
        shell_id = None
        for selector in header.findall('w:SelectorSet/w:Selector', NS):
            if selector.get('Name') == 'ShellId':
                shell_id = selector.text
        options = dict((o.get('Name'), (o.text or '').strip()) for o in header.findall('w:OptionSet/w:Option', NS))
        body_el = root.find('s:Body', NS)
        if action == 'Create':
            shell_id = str(uuid.uuid4()).upper()
            with self.lock:
                self.shells[shell_id] = _Shell(options.get('WINRS_CODEPAGE') or '437', self.idle_timeout)
            return 200, envelope(message_id, 'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse', (
                '<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s/cmd'
                '</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet>'
                '</a:ReferenceParameters></x:ResourceCreated><rsp:Shell xmlns:rsp="%s"><rsp:ShellId>%s</rsp:ShellId>'
                '<rsp:ResourceUri>%s/cmd</rsp:ResourceUri><rsp:Owner>%s</rsp:Owner><rsp:ClientIP>127.0.0.1'
                '</rsp:ClientIP><rsp:IdleTimeOut>PT%.3fS</rsp:IdleTimeOut><rsp:InputStreams>stdin'
                '</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S'
                '</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>')
                % (self.url, SHELL, shell_id, SHELL, shell_id, SHELL, escape(self.user), self.idle_timeout))
        with self.lock:
            shell = self.shells.get(shell_id)
            if shell is not None:
                shell.last = time.time()
        if shell is None:
            return 500, fault(message_id, 'w:InvalidSelectors', 'The WS-Management service cannot process the request '
                              'because the request contained invalid selectors for the resource. ',
                              ERROR_WINRS_SHELL_NOT_FOUND,
                              'The request for the Windows Remote Shell with ShellId %s failed because the shell was '
                              'not found on the server. Possible causes are: the specified ShellId is incorrect or the '
                              'shell no longer exists on the server. Provide the correct ShellId or create a new shell '
                              'and retry the operation. ' % shell_id)
        commands = shell.commands
        if action == 'Delete':
            with self.lock:
                self._delete(shell_id)
            return 200, envelope(message_id, 'http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse', '')
        if action == 'Command':
            line = body_el.find('rsp:CommandLine', NS)
            text = (line.findtext('rsp:Command', default='', namespaces=NS) or '').strip()
            arguments = [a.text or '' for a in line.findall('rsp:Arguments', NS)]
            full = ' '.join([text] + arguments)
            command_id = str(uuid.uuid4()).upper()
            command = _Command(full, options.get('WINRS_SKIP_CMD_SHELL', 'FALSE').upper() == 'TRUE',
                               options.get('WINRS_CONSOLEMODE_STDIN', 'TRUE').upper() == 'TRUE',
                               self.machine.console_stdin_timeout)
            commands[command_id] = command
            # the process starts now and runs while the client sends its input and polls its output
            command.thread = self.machine.start(full, command.stdin, command.skip_cmd_shell, shell.codepage,
                                                command.proc)
            return 200, envelope(message_id, SHELL + '/CommandResponse',
                                 '<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>'
                                 % command_id)
        if action == 'Send':
            stream = body_el.find('rsp:Send/rsp:Stream', NS)
            command = commands.get(stream.get('CommandId'))
            if command is None:
                return 500, fault(message_id, 'w:InvalidParameter', 'The parameter is incorrect. ', 2150858770,
                                  'The request contains an invalid CommandId.')
            command.stdin.feed(base64.b64decode(stream.text or ''), (stream.get('End') or '').lower() == 'true')
            return 200, envelope(message_id, SHELL + '/SendResponse', '<rsp:SendResponse/>')
        if action == 'Signal':
            signal = body_el.find('rsp:Signal', NS)
            command = commands.pop(signal.get('CommandId'), None)
            if command is not None:
                with self.lock:
                    self._end(command)
            return 200, envelope(message_id, SHELL + '/SignalResponse', '<rsp:SignalResponse/>')
        return self._receive(shell, header, body_el, message_id)

    def _receive(self, shell, header, body_el, message_id):
        """Receive: wait until the command has output or has ended (or OperationTimeout passes), send what there is."""
        stream = body_el.find('rsp:Receive/rsp:DesiredStream', NS)
        command_id = stream.get('CommandId')
        command = shell.commands.get(command_id)
        if command is None:
            return 500, fault(message_id, 'w:InvalidParameter', 'The parameter is incorrect. ', 2150858770,
                              'The request contains an invalid CommandId.')
        timeout = _seconds(header.findtext('w:OperationTimeout', default='', namespaces=NS), 60.0)
        proc = command.proc
        deadline = time.time() + timeout
        with self.lock:
            shell.busy += 1
        try:
            with proc.cond:
                while not proc.done and not proc.killed.is_set() and len(proc.out) <= command.sent_out and \
                        len(proc.err) <= command.sent_err and time.time() < deadline:
                    proc.cond.wait(min(0.05, max(0.0, deadline - time.time())))
                # Output is answered when it comes, after a short settle time for what follows it (the emulator's
                # model: Windows does not document how it batches a process's output into Receive responses).
                settle = time.time() + self.receive_settle
                while not proc.done and not proc.killed.is_set() and time.time() < settle:
                    proc.cond.wait(max(0.0, settle - time.time()))
                out_all, err_all, done, rc = bytes(proc.out), bytes(proc.err), proc.done, proc.rc
        finally:
            with self.lock:
                shell.busy -= 1
                shell.last = time.time()
        if proc.killed.is_set() and not done:
            return 500, fault(message_id, 'w:InvalidParameter', 'The parameter is incorrect. ', 2150858770,
                              'The request contains an invalid CommandId.')
        if not done and len(out_all) <= command.sent_out and len(err_all) <= command.sent_err:
            return 500, fault(message_id, 'w:TimedOut', 'The WS-Management service cannot complete the operation '
                              'within the time specified in OperationTimeout.', ERROR_WSMAN_OPERATION_TIMEDOUT,
                              'The WS-Management service cannot complete the operation within the time specified in '
                              'OperationTimeout.')
        max_envelope = min(int(header.findtext('w:MaxEnvelopeSize', default='153600', namespaces=NS)),
                           self.max_envelope)
        budget = max(1024, (max_envelope - 4096) * 3 // 4)
        parts = []
        out = out_all[command.sent_out:command.sent_out + budget]
        command.sent_out += len(out)
        budget -= len(out)
        err = err_all[command.sent_err:command.sent_err + budget] if budget > 0 else b''
        command.sent_err += len(err)
        finished = done and command.sent_out >= len(out_all) and command.sent_err >= len(err_all)
        if out:
            parts.append('<rsp:Stream Name="stdout" CommandId="%s">%s</rsp:Stream>'
                         % (command_id, base64.b64encode(out).decode('ascii')))
        if err:
            parts.append('<rsp:Stream Name="stderr" CommandId="%s">%s</rsp:Stream>'
                         % (command_id, base64.b64encode(err).decode('ascii')))
        if finished:
            parts.append('<rsp:Stream Name="stdout" CommandId="%s" End="true"></rsp:Stream>'
                         '<rsp:Stream Name="stderr" CommandId="%s" End="true"></rsp:Stream>' % (command_id, command_id))
            parts.append('<rsp:CommandState CommandId="%s" State="%s/CommandState/Done"><rsp:ExitCode>%d'
                         '</rsp:ExitCode></rsp:CommandState>' % (command_id, SHELL, rc if rc is not None else 1))
        else:
            parts.append('<rsp:CommandState CommandId="%s" State="%s/CommandState/Running"></rsp:CommandState>'
                         % (command_id, SHELL))
        return 200, envelope(message_id, SHELL + '/ReceiveResponse',
                             '<rsp:ReceiveResponse>%s</rsp:ReceiveResponse>' % ''.join(parts))


def envelope(relates_to, action, body):
    return ('<s:Envelope xml:lang="en-US" xmlns:s="%(s)s" xmlns:a="%(a)s" xmlns:x="%(x)s" xmlns:w="%(w)s" '
            'xmlns:rsp="%(rsp)s" xmlns:p="%(p)s"><s:Header><a:Action>%(action)s</a:Action><a:MessageID>uuid:%(id)s'
            '</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>'
            '<a:RelatesTo>%(relates)s</a:RelatesTo></s:Header><s:Body>%(body)s</s:Body></s:Envelope>') % dict(
                NS, action=action, id=str(uuid.uuid4()).upper(), relates=relates_to, body=body)


def fault(relates_to, subcode, reason, code, message):
    return ('<s:Envelope xml:lang="en-US" xmlns:s="%(s)s" xmlns:a="%(a)s" xmlns:x="%(x)s" xmlns:w="%(w)s" '
            'xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing"><s:Header><a:Action>'
            'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action><a:MessageID>uuid:%(id)s</a:MessageID>'
            '<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>%(relates)s'
            '</a:RelatesTo></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>'
            '%(subcode)s</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">%(reason)s</s:Text>'
            '</s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
            'Code="%(code)d" Machine="127.0.0.1"><f:Message>%(message)s</f:Message></f:WSManFault></s:Detail>'
            '</s:Fault></s:Body></s:Envelope>') % dict(
                NS, id=str(uuid.uuid4()).upper(), relates=relates_to, subcode=subcode, reason=escape(reason),
                code=code, message=escape(message))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_endpoint = None

    def log_message(self, *args):
        pass

    def _reply(self, status, body, headers=()):
        data = body.encode('utf-8') if body else b''
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if data:
            self.send_header('Content-Type', 'application/soap+xml;charset=UTF-8')
        self.send_header('Server', 'Microsoft-HTTPAPI/2.0')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authenticated(self, endpoint):
        """Basic per request; NTLM (in a Negotiate or NTLM header) per connection, as HTTP.sys does."""
        header = self.headers.get('Authorization') or ''
        scheme, _sep, token = header.partition(' ')
        if getattr(self, 'ntlm_user', None) and not header:
            return True
        if scheme == 'Basic':
            expected = base64.b64encode(('%s:%s' % (endpoint.user, endpoint.password)).encode('utf-8')).decode()
            if token == expected:
                return True
        elif scheme in ('Negotiate', 'NTLM') and endpoint.ntlm:
            import spnego
            import spnego.exceptions
            if getattr(self, 'ntlm_context', None) is None:
                self.ntlm_context = spnego.server(protocol='ntlm')
            try:
                out = self.ntlm_context.step(base64.b64decode(token))
            except spnego.exceptions.SpnegoError:
                self.ntlm_context = None
            else:
                if self.ntlm_context.complete:
                    self.ntlm_user = self.ntlm_context.client_principal
                    self.ntlm_context = None
                    return True
                self._reply(401, '', [('WWW-Authenticate', '%s %s' % (scheme, base64.b64encode(out).decode()))])
                return False
        endpoint.unauthorized += 1
        offers = [('WWW-Authenticate', 'Basic realm="WSMAN"'), ('WWW-Authenticate', 'Negotiate')]
        self._reply(401, '', offers)
        return False

    def do_POST(self):
        endpoint = self.server_endpoint
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        if self.path.rstrip('/').lower() != '/wsman':
            self._reply(404, '')
            return
        if not self._authenticated(endpoint):
            return
        try:
            answer = endpoint.handle(body)
        except ET.ParseError:
            answer = 400, ''
        except Exception as exc:  # pylint: disable=broad-except
            # A bug of the emulator, not a Windows behaviour: say so loudly in the fault.
            import traceback
            traceback.print_exc()
            answer = 500, fault('', 'w:InternalError', 'emulator error: %s: %s' % (exc.__class__.__name__, exc),
                                2147500037, traceback.format_exc())
        if answer is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._reply(*answer)


def main(argv):
    import tempfile
    from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Machine
    machine = Machine(tempfile.mkdtemp(prefix='winrm-endpoint-'), argv[0], argv[1] if len(argv) > 1 else None)
    with Endpoint(machine) as endpoint:
        print('listening on %s (user %s, password %s)' % (endpoint.url, endpoint.user, endpoint.password))
        sys.stdout.flush()
        threading.Event().wait()


if __name__ == '__main__':
    main(sys.argv[1:])
