# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end, the way machines really boot: firmware PXE through the ipxe role's own dnsmasq, BIOS and UEFI.

What runs, all real, inside a network namespace the test creates (plus a mount namespace in which the throwaway
root's /srv is /srv, so the servers find the files where the role's configuration says):
* ansible-playbook playbooks/boot_server.yml with tests/integration/boot_chain/inventory.yml deploys both roles into a
  throwaway root. The iscsi_target role creates the client images (sanboot_image_size) in a folder that does not
  exist yet; the test then writes the probe disk into them (a BIOS boot sector and, on an EFI system partition,
  \\EFI\\BOOT\\BOOTX64.EFI, built here with gnu-efi from boot_server/probe-efi.c);
* a bridge (sanboot0, 192.0.2.10/24) with one tap device per machine; tgtd with the targets the role applied;
  dnsmasq started from the file the role wrote (DHCP or proxyDHCP, TFTP from /srv/sanboot/ipxe); nginx with the
  site file the role wrote; another machine on the bridge (its own namespace, 192.0.2.1) that is the network's
  router, sending IPv6 router advertisements (without one, Debian's iPXE waits about 15 s in "Configuring" for
  one: see docs/boot-server.md), and in proxy mode also the network's DHCP server;
* machines in qemu (TCG): SeaBIOS with the e1000's iPXE ROM; OVMF with its own PXE on virtio-net (no iPXE ROM:
  DHCP client-arch 7, the role's snponly.efi over TFTP, then iPXE); OVMF's UEFI HTTP boot (client-arch 16,
  snponly.efi over HTTP); OVMF with the e1000's iPXE ROM; OVMF's Secure Boot build with Microsoft's keys.
Each machine's next boot device is a local disk holding the same probe with another marker, so falling through
to the local disk is visible. The probes print the iBFT (the UEFI one finds it through the ACPI tables, as Windows
does) and the marker they read from the disk through the firmware, then end qemu through isa-debug-exit.

The DHCP-mode boots run first, then the playbook switches the role's dnsmasq to proxy mode and the router starts
handing out addresses. The discovery report a UEFI machine sent on the way goes through
sanboot.windows.ipxe_discovery and is compared with QEMU's query-pci.

Needs root (namespaces, tgtd, taps), tgt, qemu-system-x86, ipxe, ovmf, dnsmasq-base, nginx, gnu-efi, gcc, mtools,
nasm; skips otherwise (fails under CI=true).
"""

from __future__ import absolute_import, division, print_function

import concurrent.futures
import json
import os
import re
import stat
import subprocess
import time

import pytest
import yaml

from ansible_collections.sanboot.windows.tests.bootnet import (
    NO_IBFT, SUCCESS, NamespacedServer, build_probes, expected_ibft, ibft_ip, make_probe_image, missing_chain_tools,
    observed, parse_probe, query_pci, read_text,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = os.path.join(ROOT, 'tests', 'integration', 'boot_chain', 'inventory.yml')
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'boot_server.yml')
DOCS = os.path.join(ROOT, 'docs', 'boot-server.md')
BRIDGE = 'sanboot0'
SERVER = '192.0.2.10'                    # the boot server on the bridge (inventory: sanboot_server_address)
ROUTER = ['192.0.2.1/24', '2001:db8::1/64']
ROUTER_RA = 'port=0\ninterface=eth0\nbind-interfaces\nlog-dhcp\nenable-ra\ndhcp-range=::,constructor:eth0,ra-only,1h\n'
SITE_DHCP = 'dhcp-range=192.0.2.100,192.0.2.149,1h\ndhcp-option=option:router\n'
# Machines without a host script. dnsmasq seeds a new client's address with a hash of its MAC, and two machines that
# ask at the same time with the same seed are offered the same address; one is then refused (DHCPNAK "address in
# use") and OVMF's HTTP boot gives up ("Network device error"). These MACs' seeds differ from the clients'.
UNKNOWN_MAC = '52:54:00:c4:00:0e'        # default.ipxe: back to the firmware
SECURE_MAC = '52:54:00:c4:00:0f'
LOCAL_MARKER = 'SANBOOT-LOCAL-DISK'
# The machines of each phase: name -> (firmware kind, inventory client or None, MAC when not a client, until)
DHCP_BOOTS = {
    'bios': ('bios', 'bios', None, None),
    'uefi-pxe': ('uefi-pxe', 'uefi-pxe', None, None),
    'uefi-http': ('uefi-http', 'uefi-http', None, None),
    'bios-unknown': ('bios', None, UNKNOWN_MAC, None),
    'uefi-chap': ('uefi-pxe', 'uefi-chap', None, r'uefi-chap: boot failed'),
    'uefi-secure': ('uefi-secure', None, SECURE_MAC, r'failed to load Boot\w+ "UEFI PXEv4[^\n]*\n'),
}
PROXY_BOOTS = {
    'proxy-bios': ('bios', 'bios', None, None),
    'proxy-uefi-pxe': ('uefi-pxe', 'uefi-pxe', None, None),
    'proxy-uefi-http': ('uefi-http', 'uefi-http', None, None),
    'proxy-uefi-ipxe': ('uefi-ipxe', 'uefi-ipxe', None, None),
    'proxy-uefi-unknown': ('uefi-http', None, UNKNOWN_MAC, None),
}

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root: network and mount namespaces, taps, tgtd'),
    pytest.mark.skipif(bool(missing_chain_tools('ansible-playbook')),
                       reason='missing: %s' % ', '.join(missing_chain_tools('ansible-playbook'))),
]


def plain(serial):
    """The serial log without the terminal escapes OVMF and iPXE write."""
    return re.sub(r'\x1b\[[0-9;=?]*[A-Za-z]', '', serial)


class ChainServer(NamespacedServer):
    """The boot server of the real chain: namespaces, bridge, tgtd, router, the role's dnsmasq and nginx site."""

    inventory = INVENTORY          # test_secure_boot.py serves its own machines

    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, 'root')
        self.serve = os.path.join(self.root, 'srv', 'sanboot', 'ipxe')
        self.images = os.path.join(self.root, 'srv', 'sanboot', 'images')
        super().__init__(os.path.join(base, 'logs'))
        with open(self.inventory) as f:
            self.clients = yaml.safe_load(f)['all']['children']['sanboot_clients']['hosts']
        self.discovery_log = os.path.join(self.logs, 'discovery.log')
        self.local_disk = os.path.join(base, 'local-disk.img')
        self.dnsmasq = self.router = self.router_dnsmasq = None
        self.probes = None

    def start(self):
        os.makedirs(self.logs)
        os.makedirs(os.path.join(self.root, 'srv'))
        self.probes = build_probes(os.path.join(self.base, 'probe'))
        make_probe_image(self.local_disk, LOCAL_MARKER, self.probes)
        self.start_namespace(srv=os.path.join(self.root, 'srv'))
        self.add_bridge(BRIDGE, SERVER + '/24')
        self.start_tgtd()
        self.router = self.add_peer(BRIDGE, ROUTER)

    def env(self, mode):
        env = dict(os.environ)
        env.update({
            'SANBOOT_TEST_ROOT': self.root, 'SANBOOT_TEST_TGT_PORT': str(self.tgt_port),
            'SANBOOT_TEST_DHCP_MODE': mode, 'SANBOOT_TEST_DISCOVERY_LOG': self.discovery_log,
            'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, 'build', 'collections'),
            'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.base, 'ansible-tmp'),
        })
        env['PATH'] = os.path.join(ROOT, '.venv', 'bin') + os.pathsep + env.get('PATH', '')
        return env

    def playbook(self, mode, *extra, name='play'):
        t0 = time.time()
        res = subprocess.run(['ansible-playbook', '-i', self.inventory] + list(extra) + [PLAYBOOK], env=self.env(mode),
                             capture_output=True, text=True, cwd=ROOT, check=False)
        res.elapsed = time.time() - t0
        with open(os.path.join(self.logs, name + '.log'), 'w') as f:
            f.write(res.stdout + res.stderr)
        return res

    def write_probe_disks(self):
        for host in self.clients:
            make_probe_image(os.path.join(self.images, host + '.img'), marker(host), self.probes, size=8 << 20)

    def start_services(self, mode):
        """(Re)start the role's dnsmasq from the file the role wrote, the router (RA; in proxy mode also DHCP) and,
        once, nginx with the role's site."""
        for proc in (self.dnsmasq, self.router_dnsmasq):
            if proc is not None:
                self.stop_process(proc)
        conf = os.path.join(self.logs, 'router-%s.conf' % mode)
        with open(conf, 'w') as f:
            f.write(ROUTER_RA + (SITE_DHCP if mode == 'proxy' else ''))
        self.router_dnsmasq = self.start_dnsmasq(conf, 'router', netns=self.router)
        self.dnsmasq = self.start_dnsmasq(os.path.join(self.root, 'etc', 'dnsmasq.d', 'sanboot-ipxe.conf'))
        if not os.path.exists(os.path.join(self.logs, 'nginx', 'nginx.conf')):
            self.start_nginx(os.path.join(self.root, 'etc', 'nginx', 'conf.d', 'sanboot-ipxe.conf'))

    def boot_all(self, boots):
        """The machines of `boots` (DHCP_BOOTS, PROXY_BOOTS), two at a time: {name: (status, serial, seconds)}."""
        def one(name):
            kind, client, mac, until = boots[name]
            mac = mac or self.clients[client]['sanboot_mac']
            return self.boot_firmware(name, kind, mac, BRIDGE, local_disk=self.local_disk, until=until, timeout=400)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(one, name) for name in boots}
            results = {name: f.result() for name, f in futures.items()}
        for name, (status, _serial, seconds) in sorted(results.items()):
            print('boot %s: %s after %.1f s' % (name, status, seconds))          # shown with pytest -s
        return results


def marker(host):
    return 'SANBOOT-CHAIN-MARKER:' + host


def host_script(server, host):
    return os.path.join(server.serve, 'hosts', server.clients[host]['sanboot_mac'].replace(':', '-') + '.ipxe')


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    srv = ChainServer(str(tmp_path_factory.mktemp('boot-chain')))
    try:
        srv.start()
        srv.first_run = srv.playbook('dhcp', name='play-dhcp')
        # the images as the role left them, before the test writes the probe into them
        srv.fresh = {path: os.stat(path) for path in [os.path.join(srv.root, 'srv', 'sanboot'), srv.images]
                     + [os.path.join(srv.images, h + '.img') for h in srv.clients] if os.path.exists(path)}
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope='module')
def dhcp_boots(server):
    assert server.first_run.returncode == 0, server.first_run.stdout[-4000:] + server.first_run.stderr[-2000:]
    server.write_probe_disks()
    # uefi-chap presents a wrong CHAP secret: its login must fail at once, on UEFI as on BIOS
    path = host_script(server, 'uefi-chap')
    with open(path) as f:
        script = f.read()
    tampered = re.sub(r'(?m)^set password .*$', 'set password WRONG-secret-12', script)
    assert tampered != script
    with open(path, 'w') as f:
        f.write(tampered)
    server.start_services('dhcp')
    return server.boot_all(DHCP_BOOTS)


@pytest.fixture(scope='module')
def proxy_boots(server, dhcp_boots):
    """The same machines with the role's dnsmasq in proxy mode next to the router's DHCP server."""
    server.proxy_run = server.playbook('proxy', '-e', '{"sanboot_boot_server_components": ["ipxe"]}',
                                       name='play-proxy')
    assert server.proxy_run.returncode == 0, server.proxy_run.stdout[-4000:] + server.proxy_run.stderr[-2000:]
    server.start_services('proxy')
    return server.boot_all(PROXY_BOOTS)


def expected(server, host):
    return expected_ibft(server.clients[host], host, SERVER, marker(host))


def check_sanboot(server, result, host, dhcp_server, addresses):
    """The machine booted the probe from its iSCSI disk, and the iBFT says what the inventory says."""
    status, serial, _seconds = result
    facts = parse_probe(serial)
    assert status == SUCCESS, plain(serial)[-4000:]
    assert facts.get('done') and facts.get('ibft.oem') == 'FENSYSiPXE', plain(serial)[-3000:]
    assert observed(facts) == expected(server, host)
    assert ibft_ip(facts['nic.dhcp']) == dhcp_server          # who handed out the address
    assert ibft_ip(facts['nic.ip']) in addresses
    assert 'sanboot.windows: %s boot iscsi:%s:::' % (host, SERVER) in plain(serial)
    return facts


DHCP_RANGE = ['192.0.2.%d' % n for n in range(50, 100)]
SITE_RANGE = ['192.0.2.%d' % n for n in range(100, 150)]


def test_playbook_creates_image_folder_root_only(server):
    """Images with a size in a folder that does not exist yet: the folder is created 0700 (its missing parents
    0755, /srv/sanboot also holds what dnsmasq and nginx read), the images sparse and 0600."""
    res = server.first_run
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    sanboot = server.fresh[os.path.join(server.root, 'srv', 'sanboot')]
    images = server.fresh[server.images]
    assert stat.S_IMODE(sanboot.st_mode) == 0o755 and stat.S_IMODE(images.st_mode) == 0o700
    for host in server.clients:
        st = server.fresh[os.path.join(server.images, host + '.img')]
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 8 << 20 and st.st_blocks == 0, host
    for secret in ('S3cret-bios-01', 'S3cret-uefi-02', 'S3cret-target-2'):
        assert secret not in res.stdout + res.stderr


@pytest.mark.parametrize('host', ['bios', 'uefi-pxe', 'uefi-http'])
def test_dhcp_mode(server, dhcp_boots, host):
    """The role's dnsmasq hands out the address and, by client architecture, the boot file."""
    check_sanboot(server, dhcp_boots[host], host, SERVER,
                  ['192.0.2.63'] if host == 'uefi-http' else DHCP_RANGE)   # uefi-http has sanboot_ip
    serial = plain(dhcp_boots[host][1])
    log = read_text(os.path.join(server.logs, 'dnsmasq.log'))
    if host == 'bios':                      # the e1000's iPXE ROM gets the entry script straight away
        assert 'iPXE (PCI 00:03.0) starting execution' in serial and 'Booting from SAN device 0x80' in serial
    elif host == 'uefi-pxe':                # OVMF's PXE: client-arch 7, snponly.efi over TFTP, then iPXE
        assert 'NBP filename is snponly.efi' in serial and 'using SNP on SNP-0000:00:03.0' in serial
        assert re.search(r'sent /srv/sanboot/ipxe/snponly\.efi to 192\.0\.2\.\d+', log), log[-3000:]
    else:                                   # OVMF's HTTP boot: client-arch 16, snponly.efi over HTTP
        assert 'URI: http://%s/snponly.efi' % SERVER in serial
        access = read_text(os.path.join(server.logs, 'nginx', 'access.log'))
        assert re.search(r'"GET /snponly\.efi HTTP/1\.1" 200', access), access[-2000:]


@pytest.mark.parametrize('host', ['bios', 'uefi-pxe', 'uefi-http', 'uefi-ipxe'])
def test_proxy_mode(server, proxy_boots, host):
    """Another DHCP server hands out the addresses (the iBFT names it), the role's dnsmasq adds the boot
    information: BIOS iPXE, OVMF's PXE, OVMF's HTTP boot and OVMF with the iPXE ROM all boot."""
    check_sanboot(server, proxy_boots['proxy-' + host], host, ROUTER[0].split('/', maxsplit=1)[0], SITE_RANGE)
    log = read_text(os.path.join(server.logs, 'dnsmasq.log'))
    assert re.search(r'PXE\(sanboot0\) %s proxy' % server.clients[host]['sanboot_mac'], log)


def test_proxy_mode_renders_what_each_client_needs(server, proxy_boots):
    with open(os.path.join(server.root, 'etc', 'dnsmasq.d', 'sanboot-ipxe.conf')) as f:
        conf = f.read()
    assert 'dhcp-range=192.0.2.0,proxy' in conf
    # BIOS iPXE ignores a proxy reply without a next server; HTTP-boot clients are answered as PXE clients
    assert 'dhcp-boot=tag:ipxe,http://%s/boot.ipxe,,%s\n' % (SERVER, SERVER) in conf
    assert 'dhcp-pxe-vendor=PXEClient,HTTPClient\n' in conf


@pytest.mark.parametrize('name', ['bios-unknown', 'proxy-uefi-unknown'])
def test_machine_without_host_script_falls_through_to_local_disk(dhcp_boots, proxy_boots, name):
    """default.ipxe hands the machine back to its firmware, which boots the next device (the local disk). BIOS:
    no error at all. UEFI: a firmware moves on to the next boot option only after a failure (after success it
    shows its boot menu), so iPXE says "Operation canceled" and OVMF "Aborted", nothing else."""
    status, serial, _seconds = (dhcp_boots if name in dhcp_boots else proxy_boots)[name]
    serial = plain(serial)
    facts = parse_probe(serial)
    assert status == NO_IBFT and facts.get('lba1') == LOCAL_MARKER, serial[-3000:]
    assert 'sanboot.windows: no host script for %s' % UNKNOWN_MAC in serial
    assert 'sanboot.windows: handing back to the firmware (next boot device)' in serial
    assert 'Error 0x' not in serial and 'network boot' not in serial
    if name.startswith('bios'):
        assert 'Could not boot' not in serial and 'failed' not in serial
    else:
        assert re.findall(r'Could not boot[^\n]*', serial) == [
            'Could not boot image: Operation canceled (http://ipxe.org/0b000095)']
        assert re.search(r'BdsDxe: failed to start Boot\w+ "UEFI HTTPv4 \(MAC:525400C4000E\)"[^\n]*: Aborted', serial)


def test_wrong_chap_secret_fails_fast_on_uefi(server, dhcp_boots):
    """OVMF's PXE, iPXE, the host script with a wrong secret: the login is refused at once."""
    status, serial, _seconds = dhcp_boots['uefi-chap']
    assert status == 'until' and 'PROBE lba1' not in serial, plain(serial)[-3000:]
    assert 'Could not open SAN device: Operation not permitted' in plain(serial)
    # from the login attempt to the failure, on the clock of the serial log
    timeline = [(t, plain(line)) for t, line in server.timelines['uefi-chap']]
    start = next(t for t, line in timeline if 'uefi-chap boot iscsi:' in line)
    end = next(t for t, line in timeline if 'uefi-chap: boot failed' in line)
    assert end - start < 5


def test_secure_boot_refuses_debians_ipxe_as_documented(dhcp_boots):
    """OVMF with Secure Boot and Microsoft's keys downloads snponly.efi and refuses to start it (Debian's iPXE
    EFI binaries are not signed): the line docs/boot-server.md quotes."""
    status, serial, _seconds = dhcp_boots['uefi-secure']
    serial = plain(serial)
    assert status == 'until', serial[-3000:]
    assert 'NBP filename is snponly.efi' in serial and 'NBP file downloaded successfully.' in serial
    assert 'iPXE initialising devices' not in serial
    line = re.search(r'BdsDxe: failed to load Boot\w+ "UEFI PXEv4[^\n]*', serial).group(0)
    assert line.endswith(': Access Denied')
    with open(DOCS) as f:
        assert line in f.read(), 'docs/boot-server.md should quote: ' + line


def test_discovery_on_uefi_matches_query_pci(server, dhcp_boots, tmp_path):
    """uefi-pxe (discover: true) reported its NIC from iPXE on UEFI (snponly.efi) before booting; the report in the
    web server's log becomes inventory that matches QEMU's own query-pci for the q35 machine."""
    assert 'sanboot.windows: discovery reported to' in plain(dhcp_boots['uefi-pxe'][1])
    inv = tmp_path / 'inventory'
    inv.mkdir()
    args = json.dumps({'path': [server.discovery_log], 'inventory_dir': str(inv),
                       'names': {'52:54:00:c4:00:02': 'uefi-pxe'}})
    res = subprocess.run(['ansible', 'localhost', '-m', 'sanboot.windows.ipxe_discovery', '-a', args],
                         env=server.env('dhcp'), capture_output=True, text=True, cwd=ROOT, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    with open(str(inv / 'host_vars' / 'uefi-pxe' / 'sanboot_discovery.yml')) as f:
        found = yaml.safe_load(f)
    pci = query_pci(['-device', 'virtio-net-pci,addr=0x3,romfile='], machine='q35')[(3, 0)]
    ids = tuple('%04X' % pci['id'][k] for k in ('vendor', 'device', 'subsystem', 'subsystem-vendor'))
    nic = found['sanboot_discovery']['nics'][0]
    assert (nic['vendor_id'], nic['device_id'], nic['subsystem_id'], nic['subsystem_vendor_id']) == ids
    assert found['sanboot_iscsi_boot_nics'] == [
        {'id': 'PCI\\VEN_%s&DEV_%s&SUBSYS_%s%s&REV_00' % ids, 'location': 'PCIROOT(0)#PCI(0300)'}]
    assert found['sanboot_discovery']['mac'] == '52:54:00:c4:00:02'
