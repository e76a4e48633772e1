# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the boot-server tests share (tests/integration/test_boot_server.py, test_ipxe_discovery.py and
tests/release/test_walkthrough_server.py): a private network namespace holding tgtd and an HTTP server on
127.0.0.1, which qemu's user networking in the same namespace reaches as 10.0.2.2, and the probe disk's facts."""

from __future__ import absolute_import, division, print_function

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

IPXE_LKRN = next((p for p in ('/usr/lib/ipxe/ipxe.lkrn', '/boot/ipxe.lkrn') if os.path.exists(p)), None)
SERVER = '10.0.2.2'          # qemu user networking: the guest reaches the namespace's 127.0.0.1 here
SUCCESS = 33                 # the probe's isa-debug-exit value 0x10, as qemu's exit status
TOOLS = ['tgtd', 'tgtadm', 'tgt-admin', 'qemu-system-x86_64', 'nasm', 'unshare', 'nsenter', 'ip']


def missing_tools(*extra):
    missing = [t for t in TOOLS + list(extra) if shutil.which(t) is None]
    if IPXE_LKRN is None:
        missing.append('ipxe.lkrn (Debian package ipxe)')
    return missing


def parse_probe(serial):
    """PROBE key=value facts from the serial log (lines may be glued to firmware output)."""
    facts = {}
    for line in re.findall(r'PROBE ([^\r\n]*)', serial):
        for key, value in re.findall(r'(\S+?)=(\S*)', line):
            facts[key] = value
        if line.strip() == 'done':
            facts['done'] = True
    return facts


class NamespacedServer:
    """A network namespace with only lo, held open by a sleeping process, and inside it on 127.0.0.1: tgtd on a
    control port nobody else uses, and Python's HTTP server. stop() removes the targets and ends everything."""

    def __init__(self, logs):
        self.logs = logs
        self.procs = []
        self.netns = None
        self.tgt_port = None
        self.tgtd = None

    def start_namespace(self):
        holder = subprocess.Popen(['unshare', '--net', 'sleep', 'infinity'])
        self.procs.append(holder)
        self.netns = '/proc/%d/ns/net' % holder.pid
        for _attempt in range(50):
            if os.path.exists(self.netns) and os.readlink(self.netns) != os.readlink('/proc/self/ns/net'):
                break
            time.sleep(0.02)
        self.ns(['ip', 'link', 'set', 'lo', 'up'], check=True)

    def start_servers(self, serve, http_port, access_log=None):
        self.start_namespace()
        # tgtd's control socket (/var/run/tgtd/socket.N) is a file: pick a number nobody else uses
        used = set(os.listdir('/var/run/tgtd')) if os.path.isdir('/var/run/tgtd') else set()
        self.tgt_port = random.choice([n for n in range(300, 1000) if 'socket.%d' % n not in used])
        with open(os.path.join(self.logs, 'tgtd.log'), 'w') as log:
            self.tgtd = subprocess.Popen(
                self.ns_cmd(['tgtd', '-f', '-C', str(self.tgt_port), '--iscsi', 'portal=127.0.0.1:3260']),
                stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(self.tgtd)
        self.wait(lambda: self.tgtadm('--mode', 'sys', '--op', 'show').returncode == 0, 'tgtd')
        os.makedirs(serve, exist_ok=True)
        # http.server writes its access log (client - - [time] "GET ... HTTP/1.1" 200 -) to stderr
        with open(access_log or os.path.join(self.logs, 'http-access.log'), 'w') as log:
            self.procs.append(subprocess.Popen(
                self.ns_cmd([sys.executable, '-u', '-m', 'http.server', str(http_port), '--bind', '127.0.0.1',
                             '--directory', serve]), stdout=subprocess.DEVNULL, stderr=log))
        probe = "import socket; socket.create_connection(('127.0.0.1', %d), 1)" % http_port
        self.wait(lambda: self.ns([sys.executable, '-c', probe]).returncode == 0, 'HTTP server')

    def stop(self):
        if self.tgtd is not None:
            out = self.tgtadm('--lld', 'iscsi', '--mode', 'target', '--op', 'show').stdout
            for tid in re.findall(r'(?m)^Target (\d+):', out):
                self.tgtadm('--mode', 'target', '--op', 'delete', '--force', '--tid', tid)
            self.tgtadm('--mode', 'system', '--op', 'delete')   # tgtd ignores SIGTERM
        for proc in reversed(self.procs):
            if proc.poll() is None and proc is not self.tgtd:
                proc.terminate()            # HTTP server, namespace holder
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        if self.tgtd is not None:
            for leftover in ('socket.%d' % self.tgt_port, 'socket.%d.lock' % self.tgt_port):
                try:
                    os.unlink(os.path.join('/var/run/tgtd', leftover))   # tgtd leaves its control socket behind
                except OSError:
                    pass

    def boot_ipxe(self, name, initrd, devices, timeout=90):
        """Boot Debian's iPXE in qemu (TCG) in the namespace with ``devices`` (qemu -netdev/-device arguments) and
        ``initrd`` as its embedded script; returns (qemu exit status, serial log, seconds)."""
        log = os.path.join(self.logs, 'serial-%s.log' % name)
        sercon = os.path.join(self.logs, 'sercon-port.bin')
        with open(sercon, 'wb') as f:
            f.write(bytes([0xf8, 0x03, 0, 0, 0, 0, 0, 0]))   # SeaBIOS: mirror the console to COM1
        cmd = ['qemu-system-x86_64', '-accel', 'tcg', '-m', '256', '-display', 'none', '-vga', 'none',
               '-no-reboot', '-kernel', IPXE_LKRN, '-initrd', initrd]
        cmd += list(devices)
        cmd += ['-boot', 'strict=on,reboot-timeout=0', '-serial', 'file:' + log,
                '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
                '-fw_cfg', 'name=etc/sercon-port,file=' + sercon]
        t0 = time.time()
        res = self.ns(cmd, timeout=timeout)
        elapsed = time.time() - t0
        with open(log, 'rb') as f:
            serial = f.read().decode('latin-1').replace('\r', '')
        return res.returncode, serial, elapsed

    @staticmethod
    def wait(predicate, what, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise RuntimeError('%s did not come up' % what)

    def ns_cmd(self, cmd):
        return ['nsenter', '--net=' + self.netns, '--'] + list(cmd)

    def ns(self, cmd, **kwargs):
        kwargs.setdefault('capture_output', True)
        kwargs.setdefault('text', True)
        return subprocess.run(self.ns_cmd(cmd), check=kwargs.pop('check', False), **kwargs)

    def tgtadm(self, *args):
        return subprocess.run(['tgtadm', '-C', str(self.tgt_port)] + list(args), capture_output=True, text=True,
                              check=False)
