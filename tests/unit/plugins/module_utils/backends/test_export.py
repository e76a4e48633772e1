# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backends/export.py with the real qemu-storage-daemon: a qcow2 overlay exported as a raw file through FUSE, its
writes landing in the overlay and never in the golden version, started and stopped by pid file; tgtadm's sessions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends import export
from ansible_collections.sanboot.windows.tests.helpers import sha256

needs = pytest.mark.skipif(not shutil.which('qemu-storage-daemon') or not os.path.exists('/dev/fuse')
                           or os.geteuid() != 0, reason='needs qemu-storage-daemon, /dev/fuse and root')


@needs
def test_export_writes_land_in_the_overlay(tmp_path):
    golden = str(tmp_path / 'v1.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', golden, '8M'], check=True)
    subprocess.run(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x47 0 1M', golden], check=True, capture_output=True)
    os.chmod(golden, 0o444)
    before = sha256(golden)
    overlay = str(tmp_path / 'pc1.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', golden, overlay], check=True)
    ex = export.Export(str(tmp_path / 'store'), 'pc1', overlay)
    assert not ex.running()
    try:
        assert ex.start() and ex.running() and not ex.start()
        assert os.path.getsize(ex.mountpoint) == 8 << 20
        with open(ex.mountpoint, 'r+b') as f:
            assert f.read(4) == b'GGGG'
            f.seek(4096)
            f.write(b'CLIENT-1' * 512)
            f.flush()
            os.fsync(f.fileno())
        with open(ex.mountpoint, 'rb') as f:
            f.seek(4096)
            assert f.read(8) == b'CLIENT-1'
    finally:
        assert ex.stop()
    assert not ex.running() and not os.path.exists(ex.pidfile) and os.path.getsize(ex.mountpoint) == 0
    assert sha256(golden) == before
    out = subprocess.run(['qemu-io', '-r', '-f', 'qcow2', '-c', 'read -P 0x43 4096 1', overlay],
                         capture_output=True, text=True, check=True).stdout
    assert 'Pattern verification failed' not in out
    assert ex.start()          # again after a stop: the same file, the same data
    try:
        with open(ex.mountpoint, 'rb') as f:
            f.seek(4096)
            assert f.read(8) == b'CLIENT-1'
    finally:
        ex.stop()


@needs
def test_a_broken_overlay_is_reported_with_the_client(tmp_path):
    bad = tmp_path / 'pc2.qcow2'
    bad.write_bytes(b'not an image')
    ex = export.Export(str(tmp_path / 'store'), 'pc2', str(bad))
    with pytest.raises(export.ExportError, match='client pc2'):
        ex.start()
    assert not ex.running()


def test_command_escapes_commas():
    cmd = export.command('/srv/a,b.qcow2', '/srv/m.raw', '/run/p.pid', daemonize=True)
    assert 'driver=file,node-name=file0,filename=/srv/a,,b.qcow2' in cmd and cmd[-1] == '--daemonize'


TGT_SHOW = """Target 1: iqn.2025-01.test:pc1
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 3
            Initiator: iqn.1991-05.com.microsoft:pc1 alias: none
            Connection: 0
                IP Address: 192.0.2.51
    LUN information:
        LUN: 0
Target 2: iqn.2025-01.test:pc2
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
"""


def test_sessions_parsed_per_target():
    assert export.parse_tgt_sessions(TGT_SHOW) == {'iqn.2025-01.test:pc1': ['iqn.1991-05.com.microsoft:pc1'],
                                                   'iqn.2025-01.test:pc2': []}
