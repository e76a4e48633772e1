# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A WS-Management endpoint on 127.0.0.1 that speaks the WinRM remote shell protocol as Windows does.

Create (shell), Command, Send (stdin), Receive (stdout/stderr in chunks that fit the client's
MaxEnvelopeSize, CommandState Running/Done with ExitCode), Signal (terminate), Delete (shell); SOAP 1.2
envelopes with WS-Addressing headers, WS-Management faults (HTTP 500) for unknown shells and actions, and
HTTP Basic authentication (per request) and NTLM (per connection, through pyspnego's acceptor; without
message encryption, as with AllowUnencrypted) answering 401 with WWW-Authenticate like Windows. Commands run on a
``machine.Machine``. Failure injection: ``drop`` closes the TCP connection without an answer.

Run by hand: python -m ansible_collections.sanboot.windows.tests.winrm_endpoint.server SYSTEM [SOFTWARE]
"""

from __future__ import absolute_import, division, print_function

import base64
import os
import socket
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

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


class _Command(object):
    def __init__(self, line, skip_cmd_shell):
        self.line = line
        self.skip_cmd_shell = skip_cmd_shell
        self.stdin = b''
        self.stdin_done = False
        self.result = None
        self.sent_out = 0
        self.sent_err = 0


class Endpoint(object):
    """The HTTP server, its shells and counters. Use as a context manager."""

    def __init__(self, machine, user='Administrator', password='Passw0rd!', drop=None, ntlm=True):
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
        self.shells = {}
        self.codepages = {}
        self.counts = {}
        self.requests = []
        self.unauthorized = 0
        self.lock = threading.Lock()
        endpoint = self

        class Handler(_Handler):
            server_endpoint = endpoint

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = None

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
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

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
            count = self.counts[action]
        if self.drop is not None and self.drop(action, count):
            return None
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
            self.shells[shell_id] = {}
            self.codepages[shell_id] = options.get('WINRS_CODEPAGE') or '437'
            return 200, envelope(message_id, 'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse', (
                '<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s/cmd'
                '</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet>'
                '</a:ReferenceParameters></x:ResourceCreated><rsp:Shell xmlns:rsp="%s"><rsp:ShellId>%s</rsp:ShellId>'
                '<rsp:ResourceUri>%s/cmd</rsp:ResourceUri><rsp:Owner>%s</rsp:Owner><rsp:ClientIP>127.0.0.1'
                '</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin'
                '</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S'
                '</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>')
                % (self.url, SHELL, shell_id, SHELL, shell_id, SHELL, escape(self.user)))
        if shell_id not in self.shells:
            return 500, fault(message_id, 'w:InvalidSelectors', 'The WS-Management service cannot process the request '
                              'because the request contained invalid selectors for the resource. ',
                              ERROR_WINRS_SHELL_NOT_FOUND,
                              'The request for the Windows Remote Shell with ShellId %s failed because the shell was '
                              'not found on the server. Possible causes are: the specified ShellId is incorrect or the '
                              'shell no longer exists on the server. Provide the correct ShellId or create a new shell '
                              'and retry the operation. ' % shell_id)
        commands = self.shells[shell_id]
        if action == 'Delete':
            del self.shells[shell_id]
            return 200, envelope(message_id, 'http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse', '')
        if action == 'Command':
            line = body_el.find('rsp:CommandLine', NS)
            text = (line.findtext('rsp:Command', default='', namespaces=NS) or '').strip()
            arguments = [a.text or '' for a in line.findall('rsp:Arguments', NS)]
            full = ' '.join([text] + arguments)
            command_id = str(uuid.uuid4()).upper()
            commands[command_id] = _Command(full, options.get('WINRS_SKIP_CMD_SHELL', 'FALSE').upper() == 'TRUE')
            return 200, envelope(message_id, SHELL + '/CommandResponse',
                                 '<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>'
                                 % command_id)
        if action == 'Send':
            stream = body_el.find('rsp:Send/rsp:Stream', NS)
            command = commands.get(stream.get('CommandId'))
            if command is None:
                return 500, fault(message_id, 'w:InvalidParameter', 'The parameter is incorrect. ', 2150858770,
                                  'The request contains an invalid CommandId.')
            command.stdin += base64.b64decode(stream.text or '')
            command.stdin_done = (stream.get('End') or '').lower() == 'true'
            return 200, envelope(message_id, SHELL + '/SendResponse', '<rsp:SendResponse/>')
        if action == 'Signal':
            signal = body_el.find('rsp:Signal', NS)
            commands.pop(signal.get('CommandId'), None)
            return 200, envelope(message_id, SHELL + '/SignalResponse', '<rsp:SignalResponse/>')
        # Receive
        stream = body_el.find('rsp:Receive/rsp:DesiredStream', NS)
        command_id = stream.get('CommandId')
        command = commands.get(command_id)
        if command is None:
            return 500, fault(message_id, 'w:InvalidParameter', 'The parameter is incorrect. ', 2150858770,
                              'The request contains an invalid CommandId.')
        if command.result is None:
            command.result = self.machine.execute(command.line, command.stdin, command.skip_cmd_shell,
                                                  self.codepages.get(shell_id, '437'))
        max_envelope = int(header.findtext('w:MaxEnvelopeSize', default='153600', namespaces=NS))
        budget = max(1024, (max_envelope - 4096) * 3 // 4)
        parts = []
        out = command.result.out[command.sent_out:command.sent_out + budget]
        command.sent_out += len(out)
        budget -= len(out)
        err = command.result.err[command.sent_err:command.sent_err + budget] if budget > 0 else b''
        command.sent_err += len(err)
        done = command.sent_out >= len(command.result.out) and command.sent_err >= len(command.result.err)
        if out:
            parts.append('<rsp:Stream Name="stdout" CommandId="%s">%s</rsp:Stream>'
                         % (command_id, base64.b64encode(out).decode('ascii')))
        if err:
            parts.append('<rsp:Stream Name="stderr" CommandId="%s">%s</rsp:Stream>'
                         % (command_id, base64.b64encode(err).decode('ascii')))
        if done:
            parts.append('<rsp:Stream Name="stdout" CommandId="%s" End="true"></rsp:Stream>'
                         '<rsp:Stream Name="stderr" CommandId="%s" End="true"></rsp:Stream>' % (command_id, command_id))
            parts.append('<rsp:CommandState CommandId="%s" State="%s/CommandState/Done"><rsp:ExitCode>%d'
                         '</rsp:ExitCode></rsp:CommandState>' % (command_id, SHELL, command.result.rc))
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
