"""End to end: iPXE discovers each machine's NICs, the report becomes inventory, iscsi_boot uses it.

What runs, all real: `ansible-playbook playbooks/site.yml --tags serve` deploys the boot server (tgt targets, iPXE
scripts with discovery on: sanboot_ipxe_discover_default, a host in mode discover, a host with discover: true)
from tests/integration/discovery/inventory.yml into a throwaway root; tgtd and Python's HTTP server (whose log is
the access log discovery reads) listen on 127.0.0.1 inside a network namespace the test creates (`unshare -n`);
qemu (TCG) in that namespace boots Debian's iPXE three times:

* an unknown machine with an e1000 (default.ipxe reports, then exits);
* pc-virtio, a virtio-net machine whose host script is in mode discover (reports, then exits);
* pc-two, two NICs: an e1000 on bus 0 (multi-function slot) and a virtio-net behind two PCI-to-PCI bridges; it
  boots through the second (net1), reports both NICs and the bridges, then sanboots the probe disk
  (boot_server/probe.asm), which prints the iBFT iPXE left (the carry-on after discovery is real).

Then `site.yml --tags discover` reads the log and writes host_vars/<name>/sanboot_discovery.yml into a copy of the
inventory folder. The test checks every ID against what QEMU documents for its devices (and, independently,
against QEMU's own query-pci), each location path against the slots on the qemu command line, that
ansible-inventory reads the written variables, that a second run changes nothing, and that iscsi_boot run with
the discovered NIC on the Windows 7 fixture hive makes iscsi_boot_info report ready for exactly that NIC. When nginx
is installed, the nginx site the role rendered runs too. The whole site.yml loop for a new machine (discover,
iscsi_boot inside its image, serve, then a real iSCSI boot) is the user guide's walk-through 3, which
tests/release/test_walkthrough_server.py runs as written.

Needs root (network namespace, tgtd), tgt, qemu-system-x86, ipxe and nasm; skips otherwise.
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from ansible_collections.sanboot.windows.tests.bootnet import (
    NGINX_MAIN, SERVER, SUCCESS, NamespacedServer, missing_tools, parse_probe, query_pci,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, 'tests', 'integration', 'discovery')
PROBE = os.path.join(ROOT, 'tests', 'integration', 'boot_server', 'probe.asm')
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'site.yml')
NGINX = shutil.which('nginx')
HTTP_PORT = 8080

# What QEMU documents for its NIC models (hw/net/e1000.c: 82540EM 8086:100e, revision 3, subsystem
# 1af4:1100 = PCI_SUBVENDOR_ID_REDHAT_QUMRANET / PCI_SUBDEVICE_ID_QEMU; hw/virtio/virtio-pci.c, transitional
# virtio-net: 1af4:1000, subsystem 1af4:0001 (VIRTIO_ID_NET), revision 0). Class 020000: Ethernet controller.
MODELS = {
    'e1000': dict(vendor_id='8086', device_id='100E', subsystem_vendor_id='1AF4', subsystem_id='1100',
                  revision='03', class_code='020000', chip='82540em'),
    'virtio-net-pci': dict(vendor_id='1AF4', device_id='1000', subsystem_vendor_id='1AF4', subsystem_id='0001',
                           revision='00', class_code='020000', chip='virtio-net'),
}

# The machines booted, their NICs in iPXE's order (net0, net1, ...) with the PCI path of slots and functions
# from the root bus (bridges first), as put on the qemu command line by qemu_devices().
MACHINES = {
    'unknown': {
        'name': 'sanboot-52-54-00-d1-5c-01',
        'nics': [{'model': 'e1000', 'mac': '52:54:00:d1:5c:01', 'path': [(4, 0)]}],
    },
    'pc-virtio': {
        'name': 'pc-virtio',
        'nics': [{'model': 'virtio-net-pci', 'mac': '52:54:00:d1:5c:02', 'path': [(6, 0)]}],
    },
    'pc-two': {
        'name': 'pc-two',
        'boot_through': 1,
        'nics': [
            {'model': 'e1000', 'mac': '52:54:00:d1:5c:03', 'path': [(5, 0)], 'multifunction': True},
            {'model': 'virtio-net-pci', 'mac': '52:54:00:d1:5c:04', 'path': [(7, 0), (2, 0), (9, 0)]},
        ],
    },
}


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root: network namespace (unshare -n) and tgtd'),
    pytest.mark.skipif(bool(missing_tools('ansible-playbook', 'ansible-inventory')),
                       reason='missing: %s' % ', '.join(missing_tools('ansible-playbook', 'ansible-inventory'))),
]


def qemu_devices(machine):
    """qemu -netdev/-device arguments for a machine of MACHINES (bridges as its NIC paths need them)."""
    args, bridges = [], {}
    for i, nic in enumerate(MACHINES[machine]['nics']):
        bus = None
        for depth, (slot, _fn) in enumerate(nic['path'][:-1]):
            key = tuple(nic['path'][:depth + 1])
            if key not in bridges:
                bridges[key] = 'br%d' % (len(bridges) + 1)
                args += ['-device', 'pci-bridge,id=%s,chassis_nr=%d,addr=0x%x%s' % (
                    bridges[key], len(bridges), slot, (',bus=' + bus) if bus else '')]
            bus = bridges[key]
        slot, fn = nic['path'][-1]
        args += ['-netdev', 'user,id=n%d' % i,
                 '-device', '%s,netdev=n%d,mac=%s,romfile=,addr=0x%x.%d%s%s' % (
                     nic['model'], i, nic['mac'], slot, fn, (',bus=' + bus) if bus else '',
                     ',multifunction=on' if nic.get('multifunction') else '')]
    return args


def expected_location(path):
    return 'PCIROOT(0)' + ''.join('#PCI(%02X%02X)' % (slot, fn) for slot, fn in path)


class Server(NamespacedServer):
    """Namespace, tgtd, HTTP server (its log is the discovery log), throwaway root and inventory copy."""

    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, 'root')
        self.serve = os.path.join(self.root, 'srv', 'sanboot', 'ipxe')
        super().__init__(os.path.join(base, 'logs'))
        self.inv_dir = os.path.join(base, 'inventory')
        self.inventory = os.path.join(self.inv_dir, 'inventory.yml')
        self.http_log = os.path.join(self.logs, 'http-access.log')
        self.nginx_log = os.path.join(self.logs, 'nginx-discovery.log')

    def prepare(self):
        os.makedirs(self.logs)
        os.makedirs(self.inv_dir)
        shutil.copy(os.path.join(HERE, 'inventory.yml'), self.inventory)
        disk = os.path.join(self.base, 'probe-disk.bin')
        subprocess.run(['nasm', '-f', 'bin', '-o', disk, PROBE], check=True)
        image = os.path.join(self.root, 'srv', 'images', 'pc-two.img')
        os.makedirs(os.path.dirname(image))
        with open(disk, 'rb') as f:
            code = f.read()
        with open(image, 'wb') as f:
            f.write(code)
            f.seek(512)
            f.write(b'SANBOOT-DISCOVERY-MARKER\0')
            f.truncate(8 << 20)

    def start(self):
        self.start_servers(self.serve, HTTP_PORT, self.http_log)

    def env(self):
        env = dict(os.environ)
        env.update({
            'SANBOOT_TEST_ROOT': self.root, 'SANBOOT_TEST_TGT_PORT': str(self.tgt_port),
            'SANBOOT_TEST_HTTP_PORT': str(HTTP_PORT), 'SANBOOT_TEST_HTTP_LOG': self.http_log,
            'SANBOOT_TEST_NGINX_LOG': self.nginx_log,
            'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, 'build', 'collections'),
            'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.base, 'ansible-tmp'),
            'ANSIBLE_LOG_PATH': os.path.join(self.logs, 'ansible.log'),     # with a time stamp per line
            'LIBGUESTFS_BACKEND_SETTINGS': os.environ.get('LIBGUESTFS_BACKEND_SETTINGS', 'force_tcg'),
        })
        env['PATH'] = os.path.join(ROOT, '.venv', 'bin') + os.pathsep + env.get('PATH', '')
        return env

    def run(self, cmd, name):
        t0 = time.time()
        res = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, cwd=ROOT, check=False)
        res.elapsed = time.time() - t0
        with open(os.path.join(self.logs, name + '.log'), 'w') as f:
            f.write(res.stdout + res.stderr)
        return res

    def site(self, *args, name='site'):
        return self.run(['ansible-playbook', '-i', self.inventory] + list(args) + [PLAYBOOK], name)

    def boot(self, machine, timeout=90):
        """Boot iPXE in qemu as `machine`; returns (qemu exit status, serial log, seconds)."""
        initrd = os.path.join(self.serve, 'embed.ipxe')
        through = MACHINES[machine].get('boot_through')
        if through is not None:
            # boot through net<through>: configure that NIC only, then chain the entry script as embed.ipxe does
            initrd = os.path.join(self.base, 'stage0-%s.ipxe' % machine)
            with open(initrd, 'w') as f:
                f.write('#!ipxe\ndhcp net%d\nchain http://%s:%d/boot.ipxe\n' % (through, SERVER, HTTP_PORT))
        return self.boot_ipxe(machine, initrd, qemu_devices(machine), timeout)


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    srv = Server(str(tmp_path_factory.mktemp('discovery')))
    srv.prepare()
    srv.start()
    try:
        srv.serve_run = srv.site('--tags', 'serve', name='site-serve')
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope='module')
def boots(server):
    """Every qemu boot of this module, two at a time (TCG keeps one core busy per guest)."""
    assert server.serve_run.returncode == 0, server.serve_run.stdout[-4000:]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = dict((m, pool.submit(server.boot, m)) for m in ('pc-two', 'unknown', 'pc-virtio'))
        results = dict((m, f.result()) for m, f in futures.items())
    for machine, (rc, _serial, elapsed) in sorted(results.items()):
        print('boot %s: qemu exit %d after %.1f s' % (machine, rc, elapsed))     # shown with pytest -s
    return results


@pytest.fixture(scope='module')
def discovered(server, boots):
    """site.yml --tags discover after the boots: the module's result and the host_vars files it wrote."""
    res = server.site('--tags', 'discover', '-v', name='site-discover')
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    files = {}
    for machine, spec in MACHINES.items():
        path = os.path.join(server.inv_dir, 'host_vars', spec['name'], 'sanboot_discovery.yml')
        with open(path) as f:
            files[machine] = yaml.safe_load(f)
    return res, files


def test_serve_renders_discovery(server):
    res = server.serve_run
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    with open(os.path.join(server.serve, 'default.ipxe')) as f:
        assert 'chain --autofree discover.ipxe ||' in f.read()
    with open(os.path.join(server.serve, 'hosts', '52-54-00-d1-5c-04.ipxe')) as f:
        two = f.read()
    assert two.index('chain --autofree ../discover.ipxe ||') < two.index('sanboot --keep iscsi:')
    with open(os.path.join(server.serve, 'hosts', '52-54-00-d1-5c-02.ipxe')) as f:
        only = f.read()
    assert 'chain --autofree ../discover.ipxe ||' in only and not re.search(r'(?m)^(sanboot|sanhook) ', only)
    with open(os.path.join(server.serve, 'discover.ipxe')) as f:
        script = f.read()
    assert 'http://%s:%d/discovery.txt?${sbd_q}' % (SERVER, HTTP_PORT) in script
    assert os.path.exists(os.path.join(server.serve, 'discovery.txt'))


@pytest.mark.parametrize('machine', sorted(MACHINES))
def test_ipxe_reports_then_carries_on(boots, machine):
    rc, serial, elapsed = boots[machine]
    assert 'sanboot.windows: discovery reported to http://%s:%d/discovery.txt' % (SERVER, HTTP_PORT) in serial, \
        serial[-3000:]
    for nic in MACHINES[machine]['nics']:
        assert re.search(r'sanboot\.windows: discovery net\d %s PCI' % nic['mac'], serial), serial[-3000:]
    if machine == 'pc-two':
        # booted through net1 after reporting: the probe read its disk over iSCSI and found the iBFT
        facts = parse_probe(serial)
        assert rc == SUCCESS, serial[-3000:]
        assert facts.get('lba1') == 'SANBOOT-DISCOVERY-MARKER'
        assert facts.get('nic.mac') == MACHINES[machine]['nics'][1]['mac'].replace(':', '')
        assert 'sanboot.windows: discovery bridges ' in serial
    else:
        # reported, then the default action (exit): no disk, a quick end, and nothing that looks like an error
        assert rc == 0 and 'PROBE' not in serial, serial[-3000:]
        assert 'Could not boot' not in serial and 'network boot' not in serial, serial[-3000:]
        assert elapsed < 45


def test_inventory_holds_exactly_what_qemu_exposes(discovered):
    _res, files = discovered
    for machine, spec in MACHINES.items():
        data = files[machine]
        through = spec.get('boot_through', 0)
        boot_mac = spec['nics'][through]['mac']
        assert data['sanboot_discovery']['mac'] == boot_mac and 'sanboot_mac' not in data
        assert data['sanboot_discovery']['boot_nic'] == 'net%d' % through
        assert len(data['sanboot_discovery']['nics']) == len(spec['nics'])
        for i, (nic, got) in enumerate(zip(spec['nics'], data['sanboot_discovery']['nics'])):
            model = MODELS[nic['model']]
            ident = 'PCI\\VEN_%s&DEV_%s&SUBSYS_%s%s&REV_%s' % (
                model['vendor_id'], model['device_id'], model['subsystem_id'], model['subsystem_vendor_id'],
                model['revision'])
            base = 'PCI\\VEN_%s&DEV_%s' % (model['vendor_id'], model['device_id'])
            ven = 'PCI\\VEN_%s' % model['vendor_id']
            assert got == {
                'name': 'net%d' % i, 'mac': nic['mac'], 'boot': i == through, 'chip': model['chip'],
                'bus_type': 'PCI', 'pci_address': got['pci_address'], 'id': ident,
                'location': expected_location(nic['path']),
                'hardware_ids': [ident, ident.rsplit('&', 1)[0], base + '&CC_020000', base + '&CC_0200'],
                'compatible_ids': [base + '&REV_' + model['revision'], base, ven + '&CC_020000', ven + '&CC_0200',
                                   ven, 'PCI\\CC_020000', 'PCI\\CC_0200'],
                'vendor_id': model['vendor_id'], 'device_id': model['device_id'],
                'subsystem_vendor_id': model['subsystem_vendor_id'], 'subsystem_id': model['subsystem_id'],
                'revision': model['revision'], 'class_code': model['class_code'],
                'multifunction': bool(nic.get('multifunction')), 'note': None,
            }, (machine, i)
            slot, fn = nic['path'][-1]
            assert got['pci_address'].endswith(':%02x.%d' % (slot, fn))
        boot = spec['nics'][through]
        assert data['sanboot_iscsi_boot_nics'] == [
            {'id': data['sanboot_discovery']['nics'][through]['id'], 'location': expected_location(boot['path'])}]


def test_ids_match_qemus_own_query_pci(discovered):
    """Independently of the documented constants: QEMU's query-pci for both models (bus 0, before the firmware
    runs; revision and chip are not in query-pci)."""
    _res, files = discovered
    devices = ['-device', 'e1000,addr=0x4,romfile=', '-device', 'virtio-net-pci,addr=0x6,romfile=']
    pci = query_pci(devices)
    for machine, slot in (('unknown', 4), ('pc-virtio', 6)):
        qemu = pci[(slot, 0)]
        got = files[machine]['sanboot_discovery']['nics'][0]
        assert qemu['class_info']['class'] == 0x0200
        assert (got['vendor_id'], got['device_id'], got['subsystem_vendor_id'], got['subsystem_id']) == tuple(
            '%04X' % qemu['id'][k] for k in ('vendor', 'device', 'subsystem-vendor', 'subsystem'))


def test_ansible_reads_the_written_host_vars(server, discovered):
    res = server.run(['ansible-inventory', '-i', server.inventory, '--list'], 'ansible-inventory')
    assert res.returncode == 0, res.stderr[-2000:]
    hostvars = json.loads(res.stdout)['_meta']['hostvars']
    _res, files = discovered
    for machine in ('pc-virtio', 'pc-two'):
        assert hostvars[machine]['sanboot_iscsi_boot_nics'] == files[machine]['sanboot_iscsi_boot_nics']
        assert hostvars[machine]['sanboot_discovery']['nics'] == files[machine]['sanboot_discovery']['nics']


def test_discovery_result_and_rerun_changes_nothing(server, discovered):
    res, _files = discovered
    assert re.search(r'localhost\s+:.*changed=1\b', res.stdout), res.stdout[-3000:]
    assert 'sanboot-52-54-00-d1-5c-01' in res.stdout      # not in the inventory: reported by name
    again = server.site('--tags', 'discover', name='site-discover-again')
    assert again.returncode == 0, again.stdout[-3000:]
    assert re.search(r'localhost\s+:.*changed=0\b', again.stdout), again.stdout[-3000:]
    # check mode with --diff into another (empty) inventory folder: the diff shows the files, nothing is written
    empty = os.path.join(server.base, 'empty-inventory')
    os.makedirs(empty)
    checked = server.site('--tags', 'discover', '--check', '--diff', '-e', 'sanboot_discovery_inventory_dir=' + empty,
                          name='site-discover-check')
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert re.search(r'localhost\s+:.*changed=1\b', checked.stdout), checked.stdout[-3000:]
    assert '+  mac: "52:54:00:d1:5c:04"' in checked.stdout
    assert os.listdir(empty) == []


# -- iscsi_boot with the discovered NIC, on the Windows 7 fixture hive ----------------------------------------------

@pytest.fixture(scope='module')
def engine():
    pytest.importorskip('hivex')
    sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
    from ansible_collections.sanboot.windows.tests import helpers
    return iscsi_boot, helpers


VIRTIO = {'drivers': [os.path.join(ROOT, 'tests', 'fixtures', 'inf', 'virtio-win')], 'templates': {}}
OTHER = {  # a NIC the hive was not prepared for
    'e1000': 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00',
    'virtio-net-pci': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03',
}


@pytest.mark.parametrize('machine', sorted(MACHINES))
def test_iscsi_boot_with_discovered_nic_is_ready(tmp_path, discovered, engine, machine):
    iscsi_boot, helpers = engine
    _res, files = discovered
    spec = MACHINES[machine]
    model = spec['nics'][spec.get('boot_through', 0)]['model']
    nics = files[machine]['sanboot_iscsi_boot_nics']
    extra = {}
    if model == 'e1000':
        nics = [dict(n, service='E1G60') for n in nics]       # Windows 7's in-box driver for the 82540EM
    else:
        extra = dict(VIRTIO)
    hive = str(tmp_path / 'SYSTEM')
    shutil.copyfile(helpers.unpacked_hive('win7-sp1-x86.SYSTEM'), hive)
    os.chmod(hive, 0o644)
    params = dict(hive=hive, software_hive=helpers.unpacked_hive('phony-win7-32.SOFTWARE'), nics=nics,
                  drivers=[], allow_dirty=True, backup=False)
    params.update(extra)
    assert iscsi_boot.run_iscsi_boot_info(params)['ready'] is False
    result = iscsi_boot.run_iscsi_boot(params, check_mode=False)
    assert result['changed'] and result['ready'], result['findings']
    after = iscsi_boot.run_iscsi_boot_info(params)
    assert after['ready'] is True, after['findings']
    assert [n['id'] for n in after['nics']] == [nics[0]['id']]
    # ready for that NIC, not for any NIC
    other = iscsi_boot.run_iscsi_boot_info(dict(params, nics=[OTHER[model]], drivers=[]))
    assert other['ready'] is False


# -- the nginx site the role renders ----------------------------------------------------------------------------------

FETCH = """import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
"""


@pytest.mark.skipif(NGINX is None, reason='nginx is not installed (the role renders its site; this test runs it)')
def test_nginx_site_logs_reports_and_refused_clients_do_not_count(server, boots, engine):
    """The rendered nginx site, run for real: the report iPXE sent (replayed from an allowed address, 10.0.2.15,
    and from 127.0.0.1, which sanboot_ipxe_http_allow refuses) lands in sanboot_ipxe_discover_log in nginx's
    combined format; the module counts the allowed one and rejects the refused one (nginx logs it too)."""
    with open(server.http_log) as f:
        target = re.search(r'"GET (/discovery\.txt\?\S*boot=52%3A54%3A00%3Ad1%3A5c%3A01\S*) HTTP', f.read()).group(1)
    base = os.path.join(server.base, 'nginx')
    os.makedirs(os.path.join(base, 'tmp'))
    with open(os.path.join(server.root, 'etc', 'nginx', 'conf.d', 'sanboot-ipxe.conf')) as f:
        site = f.read()
    assert 'access_log %s;' % server.nginx_log in site
    # the site names the served directory as the server sees it; here it is inside the throwaway root
    with open(os.path.join(base, 'site.conf'), 'w') as f:
        f.write(site.replace('root /srv/sanboot/ipxe;', 'root %s;' % server.serve))
    main = os.path.join(base, 'nginx.conf')
    with open(main, 'w') as f:
        f.write(NGINX_MAIN % {'base': base, 'site': os.path.join(base, 'site.conf')})
    check = subprocess.run([NGINX, '-t', '-c', main, '-p', base], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    net = NamespacedServer(base)
    try:
        net.start_namespace()
        net.ns(['ip', 'addr', 'add', '10.0.2.15/24', 'dev', 'lo'], check=True)
        net.procs.append(subprocess.Popen(net.ns_cmd([NGINX, '-c', main, '-p', base]), stderr=subprocess.DEVNULL))
        probe = "import socket; socket.create_connection(('127.0.0.1', %d), 1)" % HTTP_PORT
        net.wait(lambda: net.ns([sys.executable, '-c', probe]).returncode == 0, 'nginx')
        answers = [net.ns([sys.executable, '-c', FETCH, 'http://%s:%d%s' % (address, HTTP_PORT, target)],
                          check=True).stdout.strip()
                   for address in ('10.0.2.15', '127.0.0.1')]
    finally:
        net.stop()
    assert answers == ['200', '403']
    with open(server.nginx_log) as f:
        lines = f.read().splitlines()
    assert len(lines) == 2 and lines[1].startswith('127.0.0.1 - - [') and '" 403 ' in lines[1]
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import discovery
    result = discovery.parse_files([server.nginx_log])
    facts = result['machines']['52:54:00:d1:5c:01']
    assert facts['client'] == '10.0.2.15'
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$', facts['reported_at'])
    assert facts['iscsi_boot_nics'][0]['id'] == 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
    assert [r['line'] for r in result['rejected']] == [2] and 'answered 403' in result['rejected'][0]['reason']
