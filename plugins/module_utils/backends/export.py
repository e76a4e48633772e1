# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A client's qcow2 overlay served as a raw, writable file: qemu-storage-daemon's FUSE export.

tgt and LIO read raw files and block devices only; qemu-storage-daemon opens the qcow2 chain (the overlay
read-write, the golden version below it read-only) and exports the top as a regular file through FUSE. Writes land
in the overlay. One daemon per client:

* on servers where systemd runs the services, the unit template ``sanboot-overlay@.service`` (roles/fleet)
  runs ``command()`` in the foreground;
* elsewhere (containers, network-namespace tests, manage_services false) ``Export.start`` daemonizes it with a pid
  file under the store's ``run/`` folder, and ``Export.stop`` ends it by that PID (the file is then unmounted).

Also here: who is logged in on a tgt target (``tgt_sessions``), which reset and status need.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import signal
import subprocess
import time

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError


class ExportError(RegistryError):
    pass


def command(overlay, mountpoint, pidfile=None, daemonize=False):
    """qemu-storage-daemon's arguments for one export."""
    cmd = ['qemu-storage-daemon',
           '--blockdev', 'driver=file,node-name=file0,filename=%s' % _escape(overlay),
           '--blockdev', 'driver=qcow2,node-name=disk0,file=file0',
           '--export', 'type=fuse,id=export0,node-name=disk0,mountpoint=%s,writable=on' % _escape(mountpoint)]
    if pidfile:
        cmd += ['--pidfile', pidfile]
    if daemonize:
        cmd += ['--daemonize']
    return cmd


def _escape(path):
    """QEMU's option syntax doubles a comma inside a value."""
    return path.replace(',', ',,')


def fuse_mounts():
    """Mount points of FUSE file systems in this mount namespace."""
    found = set()
    try:
        with open('/proc/self/mountinfo') as f:
            for line in f:
                left, _sep, right = line.partition(' - ')
                if right.split(' ', 1)[0].startswith('fuse'):
                    found.add(left.split(' ')[4].replace('\\040', ' '))
    except OSError:
        pass
    return found


def _alive(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return b'qemu-storage-daemon' in f.read()
    except OSError:
        return False


class Export(object):
    """The export of one client's overlay: ``<store>/exports/<client>.raw``, pid file ``<store>/run/<client>.pid``."""

    def __init__(self, store_root, client, overlay):
        self.client = client
        self.overlay = overlay
        self.mountpoint = os.path.join(store_root, 'exports', client + '.raw')
        self.pidfile = os.path.join(store_root, 'run', client + '.pid')

    def pid(self):
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def mounted(self):
        return self.mountpoint in fuse_mounts()

    def running(self):
        return self.pid() is not None and self.mounted()

    def start(self, timeout=20):
        """Start the daemon unless it runs; True when started."""
        if self.running():
            return False
        self.stop()                               # a daemon without its mount, or a stale pid file
        for folder in (os.path.dirname(self.mountpoint), os.path.dirname(self.pidfile)):
            if not os.path.isdir(folder):
                os.makedirs(folder, 0o700)
        if not os.path.isfile(self.mountpoint):
            with open(self.mountpoint, 'wb'):
                pass
            os.chmod(self.mountpoint, 0o600)
        proc = subprocess.run(command(self.overlay, self.mountpoint, self.pidfile, daemonize=True),
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ExportError('client %s: qemu-storage-daemon could not export %s: %s'
                              % (self.client, self.overlay, (proc.stderr or proc.stdout).strip()))
        deadline = time.time() + timeout
        while not self.running():
            if time.time() > deadline:
                self.stop()
                raise ExportError('client %s: the export of %s did not appear at %s within %d s'
                                  % (self.client, self.overlay, self.mountpoint, timeout))
            time.sleep(0.05)
        return True

    def stop(self, timeout=20):
        """End the daemon by its PID; True when one was running."""
        pid = self.pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
            deadline = time.time() + timeout
            while _alive(pid) or self.mounted():
                if time.time() > deadline:
                    raise ExportError('client %s: qemu-storage-daemon (PID %d) did not stop within %d s; is the '
                                      'export still open (tgtd)?' % (self.client, pid, timeout))
                time.sleep(0.05)
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        return pid is not None


# ---------------------------------------------------------------------------------------------------------
# Sessions on tgt targets

def parse_tgt_sessions(text):
    """{target IQN: [initiator IQNs logged in]} from ``tgtadm --lld iscsi --op show --mode target``."""
    sessions = {}
    current = None
    for line in text.splitlines():
        head = re.match(r'^Target \d+: (\S+)', line)
        if head:
            current = head.group(1)
            sessions[current] = []
            continue
        initiator = re.match(r'^\s+Initiator: (\S+)', line)
        if initiator and current is not None:
            sessions[current].append(initiator.group(1))
    return sessions


def tgt_sessions(control_port=None):
    """tgtd's sessions, or None when tgtadm cannot reach tgtd."""
    cmd = ['tgtadm'] + (['-C', str(control_port)] if control_port is not None else []) + \
        ['--lld', 'iscsi', '--op', 'show', '--mode', 'target']
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    return parse_tgt_sessions(proc.stdout)
