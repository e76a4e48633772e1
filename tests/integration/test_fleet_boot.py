# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's proof, through the real chain of test_boot_chain.py: the roles' dnsmasq and tgtd in a network
namespace, machines in qemu (TCG), playbooks boot_server.yml and overlays.yml.

One golden image holds the probe (BIOS boot sector, and an EFI system partition with BOOTX64.EFI; marker
GOLDEN-V1 at LBA 1) and an NTFS partition with a Windows folder tree (fixture hives). Three clients name it with
sanboot_golden (two BIOS, one UEFI): boot_server.yml gives each a qcow2 overlay with its computer name, exported
through qemu-storage-daemon's FUSE export (pid files: manage_services is false) and served by tgtd. Then:
* the three boot at the same time; each probe reports its own IQN in the iBFT and the golden marker;
* a marker written into one client's disk is seen by that client only; the computer name read back from each
  disk's SYSTEM hive is the client's; the golden image's bytes are unchanged;
* overlays.yml: reset refused while the client is logged in (it was killed, not shut down); reset of that client
  (its disk is the golden's again), promote of another (version 2 holds its marker), retire of version 1 refused naming its clients, status's JSON;
* a client added afterwards boots version 2; the reset client boots the golden marker again.

Needs root, the chain's tools (tests/bootnet.py), qemu-storage-daemon, /dev/fuse, libguestfs."""

from __future__ import absolute_import, division, print_function

import concurrent.futures
import json
import os
import re
import shutil
import struct
import subprocess

import pytest
import yaml

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.windows import identity
from ansible_collections.sanboot.windows.tests.bootnet import (
    SUCCESS, NamespacedServer, build_probes, expected_ibft, make_probe_image, missing_chain_tools, observed,
    parse_probe,
)
from ansible_collections.sanboot.windows.tests.helpers import make_windows_image, sha256

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BRIDGE = 'sanboot0'
SERVER = '192.0.2.10'
ROUTER_RA = 'port=0\ninterface=eth0\nbind-interfaces\nlog-dhcp\nenable-ra\ndhcp-range=::,constructor:eth0,ra-only,1h\n'
GOLDEN_MARKER = 'GOLDEN-V1'
NTFS_START = 16 << 20            # the Windows partition, after the 15 MiB EFI system partition
CLIENTS = {                      # name -> (firmware, MAC); MACs whose dnsmasq address seeds differ
    'fleet-bios1': ('bios', '52:54:00:c4:01:01'),
    'fleet-uefi': ('uefi-pxe', '52:54:00:c4:01:02'),
    'fleet-bios2': ('bios', '52:54:00:c4:01:03'),
}
NEW = {'fleet-new': ('bios', '52:54:00:c4:01:04')}

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root: namespaces, taps, tgtd, FUSE'),
    pytest.mark.skipif(bool(missing_chain_tools('ansible-playbook', 'qemu-storage-daemon')),
                       reason='missing: %s' % ', '.join(missing_chain_tools('ansible-playbook', 'qemu-storage-daemon'))),
]


def make_golden(path, probes, work):
    """The probe disk (ESP: 1 - 16 MiB) with a Windows NTFS partition (16 - 48 MiB) behind it."""
    make_probe_image(path, GOLDEN_MARKER, probes, size=NTFS_START)
    windows = make_windows_image(os.path.join(work, 'windows.img'), size_mb=32)
    with open(windows, 'rb') as src, open(path, 'r+b') as dst:
        src.seek(1 << 20)
        dst.seek(NTFS_START)
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.truncate(NTFS_START + (33 << 20))
        dst.seek(446 + 16)          # partition 2: NTFS (0x07), LBA start and length
        dst.write(struct.pack('<B3sB3sII', 0, b'\xfe\xff\xff', 0x07, b'\xfe\xff\xff', NTFS_START // 512,
                              (32 << 20) // 512))
    os.unlink(windows)
    return path


class FleetServer(NamespacedServer):
    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, 'root')
        super().__init__(os.path.join(base, 'logs'))
        self.golden = os.path.join(base, 'golden', 'probe.img')
        self.store = os.path.join(self.root, 'srv', 'sanboot', 'fleet')
        self.inventory = os.path.join(base, 'inventory.yml')
        self.clients = dict(CLIENTS)
        self.extra = {}                  # more clients' host variables (bench/fleet.py: full copies)
        self.dnsmasq = None

    def start(self):
        os.makedirs(self.logs)
        os.makedirs(os.path.join(self.root, 'srv'))
        os.makedirs(os.path.dirname(self.golden))
        self.probes = build_probes(os.path.join(self.base, 'probe'))
        make_golden(self.golden, self.probes, self.base)
        self.start_namespace(srv=os.path.join(self.root, 'srv'))
        self.add_bridge(BRIDGE, SERVER + '/24')
        self.start_tgtd()
        self.router = self.add_peer(BRIDGE, ['192.0.2.1/24', '2001:db8::1/64'])
        conf = os.path.join(self.logs, 'router.conf')
        with open(conf, 'w') as f:
            f.write(ROUTER_RA)
        self.start_dnsmasq(conf, 'router', netns=self.router)

    def write_inventory(self):
        server = {
            'ansible_connection': 'local', 'ansible_become': False,
            'ansible_python_interpreter': os.path.join(ROOT, '.venv', 'bin', 'python'),
            'sanboot_server_address': SERVER, 'sanboot_iqn_prefix': 'iqn.2025-01.test.sanboot',
            'sanboot_iscsi_target_root': self.root, 'sanboot_iscsi_target_manage_packages': False,
            'sanboot_iscsi_target_manage_services': False, 'sanboot_iscsi_target_tgt_control_port': self.tgt_port,
            'sanboot_iscsi_target_portals': [{'address': SERVER, 'port': 3260}],
            'sanboot_ipxe_root': self.root, 'sanboot_ipxe_manage_packages': False,
            'sanboot_ipxe_manage_services': False, 'sanboot_ipxe_dnsmasq': True,
            'sanboot_ipxe_http': True, 'sanboot_ipxe_http_allow': ['192.0.2.0/24'],
            'sanboot_ipxe_dnsmasq_interface': BRIDGE, 'sanboot_ipxe_dnsmasq_mode': 'dhcp',
            'sanboot_ipxe_dnsmasq_range': '192.0.2.50,192.0.2.99,1h',
            'sanboot_golden_images': [{'name': 'probe', 'image': self.golden}],
            'sanboot_fleet_store': self.store,
        }
        clients = dict((name, {'sanboot_mac': mac, 'sanboot_golden': 'probe'})
                       for name, (_kind, mac) in sorted(self.clients.items()))
        if 'fleet-bios2' in clients:
            clients['fleet-bios2']['sanboot_computer_name'] = 'LAB-PC02'
        clients.update(self.extra)
        inv = {'all': {'children': {'sanboot_boot_servers': {'hosts': {'localhost': server}},
                                    'sanboot_clients': {'hosts': clients}}}}
        with open(self.inventory, 'w') as f:
            yaml.safe_dump(inv, f)

    def env(self):
        env = dict(os.environ)
        env.update({'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, 'build', 'collections'),
                    'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0',
                    'ANSIBLE_LOCAL_TEMP': os.path.join(self.base, 'ansible-tmp')})
        env['PATH'] = os.path.join(ROOT, '.venv', 'bin') + os.pathsep + env.get('PATH', '')
        return env

    def playbook(self, name, *extra, log='play'):
        """A playbook inside the namespaces: the exports' FUSE mounts must be where tgtd sees them."""
        self.write_inventory()
        res = self.ns(['ansible-playbook', '-i', self.inventory] + list(extra)
                      + [os.path.join(ROOT, 'playbooks', name)], env=self.env(), cwd=ROOT)
        with open(os.path.join(self.logs, log + '.log'), 'w') as f:
            f.write(res.stdout + res.stderr)
        return res

    def overlays(self, action, *extra, log=None):
        return self.playbook('overlays.yml', '-e', 'sanboot_overlay_action=' + action, *extra, log=log or action)

    def disk(self, client):
        return os.path.join(self.store, 'exports', client + '.raw')

    def read(self, client, offset, size):
        """Bytes of a client's disk as tgtd reads it (its export, inside the mount namespace)."""
        res = self.ns(['dd', 'if=' + self.disk(client), 'bs=512', 'skip=%d' % (offset // 512),
                       'count=%d' % (size // 512), 'status=none'], text=False)
        return res.stdout

    def write(self, client, offset, data):
        self.ns(['dd', 'of=' + self.disk(client), 'bs=512', 'seek=%d' % (offset // 512), 'conv=notrunc,fsync',
                 'status=none'], input=data.ljust(512, b'\0'), text=False, check=True)

    def computer_name(self, client):
        """The computer name in the client's SYSTEM hive, read through its export (ntfscat, no libguestfs)."""
        part = os.path.join(self.base, client + '.ntfs')
        with open(part, 'wb') as f:
            f.write(self.read(client, NTFS_START, 32 << 20))
        hive = os.path.join(self.base, client + '.SYSTEM')
        with open(hive, 'wb') as f:
            subprocess.run(['ntfscat', part, 'Windows/System32/config/SYSTEM'], stdout=f, check=True)
        os.unlink(part)
        return identity.read_computer_name(Hive(hive))

    def logout(self):
        """End the sessions of machines that are off. A machine killed without a shutdown (qemu ending at the probe's
        exit) sends no logout and no FIN: tgtd keeps its session (and fleet_overlay sees it logged in) until it is
        closed, as here, or times out."""
        out = self.tgtadm('--lld', 'iscsi', '--op', 'show', '--mode', 'target').stdout
        tid = sid = None
        for line in out.splitlines():
            m = re.match(r'^Target (\d+):', line)
            if m:
                tid = m.group(1)
            m = re.match(r'^\s+I_T nexus: (\d+)', line)
            if m:
                sid = m.group(1)
            m = re.match(r'^\s+Connection: (\d+)', line)
            if m:
                self.tgtadm('--lld', 'iscsi', '--op', 'delete', '--mode', 'conn', '--tid', tid, '--sid', sid,
                            '--cid', m.group(1))
        left = self.tgtadm('--lld', 'iscsi', '--op', 'show', '--mode', 'target').stdout
        assert 'Initiator:' not in left, left

    def start_services(self):
        if self.dnsmasq is not None:
            self.stop_process(self.dnsmasq)
        self.dnsmasq = self.start_dnsmasq(os.path.join(self.root, 'etc', 'dnsmasq.d', 'sanboot-ipxe.conf'))
        if not os.path.exists(os.path.join(self.logs, 'nginx', 'nginx.conf')):
            self.start_nginx(os.path.join(self.root, 'etc', 'nginx', 'conf.d', 'sanboot-ipxe.conf'))

    def boot(self, names, tag):
        def one(name):
            kind, mac = self.clients[name]
            return self.boot_firmware('%s-%s' % (tag, name), kind, mac, BRIDGE, timeout=300)
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            futures = dict((name, pool.submit(one, name)) for name in names)
            return dict((name, f.result()) for name, f in futures.items())


def check_boot(result, name, marker):
    status, serial, _seconds = result
    facts = parse_probe(serial)
    assert status == SUCCESS and facts.get('done'), serial[-3000:]
    want = expected_ibft({'sanboot_mac': FLEET_MACS[name]}, name, SERVER, marker)
    got = observed(facts)
    assert got == want, (got, want)


FLEET_MACS = dict((n, m) for n, (_k, m) in list(CLIENTS.items()) + list(NEW.items()))


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    srv = FleetServer(str(tmp_path_factory.mktemp('fleet-boot')))
    try:
        srv.start()
        srv.golden_sum = sha256(srv.golden)
        srv.first = srv.playbook('boot_server.yml', log='play-1')
        assert srv.first.returncode == 0, srv.first.stdout[-5000:] + srv.first.stderr[-2000:]
        srv.start_services()
        yield srv
    finally:
        for client in list(CLIENTS) + list(NEW):
            pidfile = os.path.join(srv.store, 'run', client + '.pid')
            if os.path.exists(pidfile):
                with open(pidfile) as f:
                    pid = int(f.read().strip())
                try:
                    os.kill(pid, 15)
                except OSError:
                    pass
        srv.stop()


@pytest.mark.xdist_group('test_fleet_boot')
def test_fleet_boots_resets_and_promotes(fleet):
    # three clients, BIOS and UEFI, at the same time: each its own target, the golden content
    first = fleet.boot(sorted(CLIENTS), 'storm')
    for name in CLIENTS:
        check_boot(first[name], name, GOLDEN_MARKER)
    # each disk has its own computer name; the golden image is unchanged and its version read-only
    assert {n: fleet.computer_name(n) for n in CLIENTS} == {
        'fleet-bios1': 'FLEET-BIOS1', 'fleet-uefi': 'FLEET-UEFI', 'fleet-bios2': 'LAB-PC02'}
    # a second run changes nothing
    again = fleet.playbook('boot_server.yml', log='play-2')
    assert again.returncode == 0 and 'changed=0' in again.stdout, again.stdout[-3000:]
    # markers: each client's own, nobody else's
    fleet.write('fleet-bios1', 512, b'MARK-BIOS1')
    fleet.write('fleet-uefi', 512, b'MARK-UEFI')
    assert fleet.read('fleet-bios1', 512, 512).startswith(b'MARK-BIOS1')
    assert fleet.read('fleet-bios2', 512, 512).startswith(GOLDEN_MARKER.encode())
    # lifecycle (an unknown client is refused in tests/unit/plugins/module_utils/jobs/test_fleet.py)
    # the machines that booted are still logged in (killed, no logout): reset is refused, naming the client
    busy = fleet.overlays('reset', '-e', '{"sanboot_overlay_clients": ["fleet-bios1"]}', log='reset-busy')
    assert busy.returncode != 0 and 'reset refused: logged in now: fleet-bios1' in busy.stdout, busy.stdout[-3000:]
    fleet.logout()
    reset = fleet.overlays('reset', '-e', '{"sanboot_overlay_clients": ["fleet-bios1"]}')
    assert reset.returncode == 0, reset.stdout[-3000:]
    assert fleet.read('fleet-bios1', 512, 512).startswith(GOLDEN_MARKER.encode())
    assert fleet.computer_name('fleet-bios1') == 'FLEET-BIOS1'
    promote = fleet.overlays('promote', '-e', '{"sanboot_overlay_clients": ["fleet-uefi"]}')
    assert promote.returncode == 0, promote.stdout[-3000:]
    retire = fleet.overlays('retire', '-e', 'sanboot_golden=probe', '-e', 'sanboot_golden_version=1')
    assert retire.returncode != 0
    assert 'in use by: fleet-bios1, fleet-bios2, fleet-uefi' in retire.stdout, retire.stdout[-3000:]
    report = os.path.join(fleet.base, 'status.json')
    status = fleet.overlays('status', '-e', 'sanboot_overlay_report=' + report)
    assert status.returncode == 0, status.stdout[-3000:]
    with open(report) as f:
        data = json.load(f)
    assert data['versions'] == {'probe': [1, 2]}
    assert {n: (c['golden'], c['version'], c['logged_in']) for n, c in data['clients'].items()} == {
        'fleet-bios1': ('probe', 1, False), 'fleet-bios2': ('probe', 1, False), 'fleet-uefi': ('probe', 1, False)}
    assert all(c['allocated_bytes'] > 0 for c in data['clients'].values())
    # a new client gets version 2 (the promoted disk); the reset client boots the golden content again
    fleet.clients.update(NEW)
    added = fleet.playbook('boot_server.yml', log='play-3')
    assert added.returncode == 0, added.stdout[-5000:]
    fleet.start_services()
    second = fleet.boot(['fleet-bios1', 'fleet-bios2', 'fleet-new'], 'after')
    check_boot(second['fleet-bios1'], 'fleet-bios1', GOLDEN_MARKER)
    check_boot(second['fleet-bios2'], 'fleet-bios2', GOLDEN_MARKER)
    check_boot(second['fleet-new'], 'fleet-new', 'MARK-UEFI')
    assert fleet.computer_name('fleet-new') == 'FLEET-NEW'
    # the golden image was never written, and its versions are read-only
    assert sha256(fleet.golden) == fleet.golden_sum
    for version in (1, 2):
        assert os.stat(os.path.join(fleet.store, 'golden', 'probe', 'v%d.qcow2' % version)).st_mode & 0o222 == 0
