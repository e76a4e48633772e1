"""End to end: playbooks/boot_server.yml serves iSCSI boot, and a real iPXE in qemu boots from it.

What runs, all real: ansible-playbook deploys sanboot.windows.iscsi_target (tgt backend) and sanboot.windows.ipxe
into a throwaway root on this machine, from tests/integration/boot_server/inventory.yml; tgtd and an HTTP server
listen on 127.0.0.1 inside a network namespace the test creates (`unshare -n`); qemu (TCG) in the same namespace
boots Debian's iPXE (ipxe.lkrn) with the role's embed.ipxe, which chains boot.ipxe over HTTP (or TFTP), which
picks the host script by MAC. The target disk is a probe (boot_server/probe.asm) whose boot code reads LBA 1
back through INT 13h (so over iSCSI) and prints the iBFT iPXE built (initiator, NIC and target sections) to the
serial port; the tests compare it with the inventory. Failures exit fast (no NIC ROM, strict boot order,
-no-reboot); the probe exits qemu with status 33 through isa-debug-exit.

Needs root (network namespace, tgtd), tgt, qemu-system-x86, ipxe and nasm; skips otherwise.
"""
import concurrent.futures
import os
import random
import re
import shutil
import subprocess
import time

import pytest
import yaml

from ansible_collections.sanboot.windows.tests.bootnet import (
    SERVER, SUCCESS, NamespacedServer, expected_ibft, missing_tools, observed, parse_probe,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, 'tests', 'integration', 'boot_server')
INVENTORY = os.path.join(HERE, 'inventory.yml')
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'boot_server.yml')
HTTP_PORT = 8080             # inside the private namespace, any port is free
# Chained by the hook-mode client (sanboot_ipxe: {chain: hook-stage2.ipxe}): boot the SAN drive its script hooked.
HOOK_STAGE2 = '''#!ipxe
echo hook stage 2: booting the hooked SAN drive
sanboot --no-describe --drive 0x80
'''


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root: network namespace (unshare -n) and tgtd'),
    pytest.mark.skipif(bool(missing_tools('ansible-playbook')), reason='missing: %s' % ', '.join(missing_tools('ansible-playbook'))),
]


def assemble_probe(out_dir):
    """The probe boot sector (disk image) and its PXE NBP build (the wimboot stand-in)."""
    src = os.path.join(HERE, 'probe.asm')
    disk, nbp = os.path.join(out_dir, 'probe-disk.bin'), os.path.join(out_dir, 'probe-nbp.bin')
    subprocess.run(['nasm', '-f', 'bin', '-o', disk, src], check=True)
    subprocess.run(['nasm', '-f', 'bin', '-DNBP', '-o', nbp, src], check=True)
    return disk, nbp


def make_image(path, probe, marker, size=8 << 20):
    """A sparse disk image: the probe at LBA 0, `marker` at LBA 1."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(probe, 'rb') as f:
        code = f.read()
    with open(path, 'wb') as f:
        f.write(code)
        f.seek(512)
        f.write(marker.encode() + b'\0')
        f.truncate(size)


class BootServer(NamespacedServer):
    """The namespace, tgtd, HTTP server and throwaway root shared by the tests of this module."""

    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, 'root')
        self.assets = os.path.join(base, 'assets')
        self.serve = os.path.join(self.root, 'srv', 'sanboot', 'ipxe')
        super().__init__(os.path.join(base, 'logs'))
        with open(INVENTORY) as f:
            self.inventory = yaml.safe_load(f)
        self.clients = self.inventory['all']['children']['sanboot_clients']['hosts']
        self.markers = {}

    # -- set-up ---------------------------------------------------------------------------------------------
    def prepare(self):
        os.makedirs(self.logs)
        os.makedirs(os.path.join(self.assets, 'serve', 'winpe', 'boot'))
        os.makedirs(os.path.join(self.assets, 'serve', 'winpe', 'sources'))
        disk, nbp = assemble_probe(self.base)
        shutil.copy(nbp, os.path.join(self.assets, 'probe.bin'))
        with open(os.path.join(self.assets, 'serve', 'hook-stage2.ipxe'), 'w') as f:
            f.write(HOOK_STAGE2)
        for name in ('bootmgr', 'boot/bcd', 'boot/boot.sdi', 'sources/boot.wim'):
            with open(os.path.join(self.assets, 'serve', 'winpe', name), 'w') as f:
                f.write('stand-in for the WinPE file %s\n' % name)
        for host in self.clients:
            self.markers[host] = 'SANBOOT-MARKER:%s:%08x' % (host, random.getrandbits(32))
            make_image(os.path.join(self.root, 'srv', 'images', host + '.img'), disk, self.markers[host])

    def start(self):
        self.start_servers(self.serve, HTTP_PORT)

    def live_targets(self):
        """{iqn: {'tid', 'connected', 'luns': {lun: path}}} from the running tgtd."""
        out = self.tgtadm('--lld', 'iscsi', '--mode', 'target', '--op', 'show').stdout
        targets = {}
        for tid, iqn, body in re.findall(r'(?ms)^Target (\d+): (\S+)\n(.*?)(?=^Target \d+: |\Z)', out):
            luns = dict(re.findall(r'LUN: (\d+)\n(?:.*\n)*?\s+Backing store path: (\S+)', body))
            targets[iqn] = {'tid': int(tid), 'connected': 'Connection:' in body,
                            'luns': {int(k): v for k, v in luns.items() if v != 'None'}}
        return targets

    def env(self):
        env = dict(os.environ)
        env.update({
            'SANBOOT_TEST_ROOT': self.root, 'SANBOOT_TEST_ASSETS': self.assets,
            'SANBOOT_TEST_TGT_PORT': str(self.tgt_port), 'SANBOOT_TEST_HTTP_PORT': str(HTTP_PORT),
            'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, 'build', 'collections'),
            'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.base, 'ansible-tmp'),
        })
        env['PATH'] = os.path.join(ROOT, '.venv', 'bin') + os.pathsep + env.get('PATH', '')
        return env

    def playbook(self, *extra, name='play'):
        cmd = ['ansible-playbook', '-i', INVENTORY] + list(extra) + [PLAYBOOK]
        t0 = time.time()
        res = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, cwd=ROOT, check=False)
        res.elapsed = time.time() - t0
        with open(os.path.join(self.logs, name + '.log'), 'w') as f:
            f.write(res.stdout + res.stderr)
        return res

    def boot(self, mac, name, initrd=None, tftp=False, timeout=90):
        """Boot iPXE in qemu with `mac`; returns (qemu exit status, serial log, seconds)."""
        netdev = 'user,id=n0' + (',tftp=%s' % self.serve if tftp else '')
        return self.boot_ipxe(name, initrd or os.path.join(self.serve, 'embed.ipxe'),
                              ['-netdev', netdev, '-device', 'e1000,netdev=n0,mac=%s,romfile=' % mac], timeout)

    def host_script(self, mac):
        with open(os.path.join(self.serve, 'hosts', mac.replace(':', '-') + '.ipxe')) as f:
            return f.read()

    def write_host_script(self, mac, text):
        with open(os.path.join(self.serve, 'hosts', mac.replace(':', '-') + '.ipxe'), 'w') as f:
            f.write(text)


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    srv = BootServer(str(tmp_path_factory.mktemp('boot-server')))
    srv.prepare()
    srv.start()
    try:
        srv.first_run = srv.playbook(name='play-first')
        yield srv
    finally:
        srv.stop()


HOSTS = ['pc-boot', 'pc-chap', 'pc-hook', 'pc-install']
REFUSED = [
    ('wrong-secret', 'pc-chap'),
    ('wrong-mutual-secret', 'pc-chap'),
    ('no-chap', 'pc-chap'),
    ('wrong-initiator', 'pc-boot'),     # tgt ACL: only the inventory's initiator IQN may log in
]


def _tamper(script, case):
    if case == 'wrong-secret':
        return re.sub(r'(?m)^set password .*$', 'set password WRONG-secret-12', script)
    if case == 'wrong-mutual-secret':
        return re.sub(r'(?m)^set reverse-password .*$', 'set reverse-password WRONG-secret-34', script)
    if case == 'no-chap':
        return re.sub(r'(?m)^set (reverse-)?(username|password) .*$', '', script)
    if case == 'wrong-initiator':
        return re.sub(r'(?m)^set initiator-iqn .*$', 'set initiator-iqn iqn.2025-01.test.sanboot:intruder', script)
    raise ValueError(case)


@pytest.fixture(scope='module')
def boots(server):
    """Every qemu boot of this module, two at a time (TCG keeps one core busy per guest)."""
    assert server.first_run.returncode == 0, server.first_run.stdout[-4000:]
    jobs = {host: (server.clients[host]['sanboot_mac'], {}) for host in HOSTS}
    stage0 = os.path.join(server.base, 'tftp-stage0.ipxe')
    with open(stage0, 'w') as f:
        f.write('#!ipxe\ndhcp\nchain tftp://%s/boot.ipxe\n' % SERVER)
    jobs['pc-boot-tftp'] = (server.clients['pc-boot']['sanboot_mac'], {'initrd': stage0, 'tftp': True})
    jobs['unknown'] = ('52:54:00:5b:00:ee', {})
    tampered = []
    for n, (case, host) in enumerate(REFUSED, 1):
        script = server.host_script(server.clients[host]['sanboot_mac'])
        text = _tamper(script, case)
        assert text != script
        mac = '52:54:00:5b:0f:%02x' % n
        server.write_host_script(mac, text)
        tampered.append(mac)
        jobs['refused-' + case] = (mac, {})
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(server.boot, mac, name, **kw) for name, (mac, kw) in jobs.items()}
            return {name: f.result() for name, f in futures.items()}
    finally:
        for mac in tampered:   # the role removes scripts of unlisted machines; leave nothing for it to do
            os.unlink(os.path.join(server.serve, 'hosts', mac.replace(':', '-') + '.ipxe'))


def expected(server, host):
    return expected_ibft(server.clients[host], host, SERVER, server.markers[host])


def test_playbook_deploys_into_throwaway_root(server):
    res = server.first_run
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    # CHAP secrets never reach the output (no_log)
    for c in server.clients.values():
        for key in ('password', 'mutual_password'):
            secret = (c.get('sanboot_chap') or {}).get(key)
            if secret:
                assert secret not in res.stdout + res.stderr
    conf_dir = os.path.join(server.root, 'etc', 'tgt', 'conf.d')
    for host in server.clients:
        path = os.path.join(conf_dir, 'sanboot-%s.conf' % host)
        assert oct(os.stat(path).st_mode & 0o777) == '0o600'
        assert os.path.exists(os.path.join(server.serve, 'hosts',
                                           server.clients[host]['sanboot_mac'].replace(':', '-') + '.ipxe'))
    for name in ('boot.ipxe', 'default.ipxe', 'embed.ipxe', 'undionly.kpxe', 'snponly.efi', 'ipxe.efi', 'wimboot'):
        assert os.path.exists(os.path.join(server.serve, name)), name
    with open(os.path.join(server.root, 'etc', 'dnsmasq.d', 'sanboot-ipxe.conf')) as f:
        dnsmasq = f.read()
    assert 'dhcp-range=10.0.2.0,proxy' in dnsmasq
    for c in server.clients.values():
        assert 'dhcp-host=%s,' % c['sanboot_mac'] in dnsmasq
    with open(os.path.join(server.root, 'etc', 'nginx', 'conf.d', 'sanboot-ipxe.conf')) as f:
        assert 'allow 10.0.2.0/24;' in f.read()
    # the real /etc was not touched
    assert not os.path.exists('/etc/tgt/conf.d/sanboot-pc-boot.conf')
    # tgtd serves every target with its LUN
    live = server.live_targets()
    for host, c in server.clients.items():
        iqn = 'iqn.2025-01.test.sanboot:' + host
        assert live[iqn]['luns'] == {c.get('sanboot_lun', 1): os.path.join(server.root, 'srv', 'images', host + '.img')}


@pytest.mark.parametrize('host', HOSTS)
def test_ipxe_boots_and_ibft_matches_inventory(server, boots, host):
    """boot: sanboot; pc-chap: mutual CHAP; hook: sanhook + chain (LUN 12 = "c" for iPXE); install: sanhook +
    wimboot (the probe's NBP build stands in for wimboot, the WinPE files are fetched)."""
    rc, serial, elapsed = boots[host]
    facts = parse_probe(serial)
    assert rc == SUCCESS, serial[-3000:]
    assert facts.get('done') and facts.get('ibft.oem') == 'FENSYSiPXE'
    assert observed(facts) == expected(server, host)
    assert facts.get('drive') == '80', serial[-3000:]
    if host == 'pc-install':
        assert re.search(r'winpe/sources/boot\.wim\.\.\. ok', serial)


def test_tftp_chain(server, boots):
    """The same scripts over TFTP: boot.ipxe chains hosts/<mac>.ipxe relative to its own tftp:// URL."""
    rc, serial, _elapsed = boots['pc-boot-tftp']
    assert rc == SUCCESS, serial[-3000:]
    assert 'tftp://%s/boot.ipxe' % SERVER in serial
    assert observed(parse_probe(serial)) == expected(server, 'pc-boot')


def test_unknown_mac_gets_default_script(boots):
    rc, serial, elapsed = boots['unknown']
    assert rc == 0 and 'PROBE lba1' not in serial, serial[-2000:]
    assert 'sanboot.windows: no host script for 52:54:00:5b:00:ee' in serial
    # handing the machine back to the firmware is no error: nothing may say so (it used to end with exit 1)
    assert 'Could not boot' not in serial and 'failed' not in serial, serial[-2000:]
    assert elapsed < 30


@pytest.mark.parametrize('case,host', REFUSED)
def test_refused_fast(boots, case, host):
    """A client presenting wrong credentials gets no disk, and the failure is quick (no retry loop)."""
    rc, serial, elapsed = boots['refused-' + case]
    assert rc != SUCCESS and 'PROBE lba1' not in serial, serial[-3000:]
    assert re.search(r'sanboot\.windows: %s: boot failed' % host, serial), serial[-3000:]
    assert elapsed < 30


def test_rerun_changes_nothing_and_keeps_busy_targets(server, boots):
    """Re-running the playbook changes nothing, also while an initiator holds a session; a changed target that is
    in use is left running as it is (warning, retried later) and applied once it is idle."""
    iqn = 'iqn.2025-01.test.sanboot:pc-boot'
    image = os.path.join(server.root, 'srv', 'images', 'pc-boot.img')
    # qemu's own iSCSI initiator (libiscsi) holds a session, like a running Windows would
    holder_log = open(os.path.join(server.logs, 'holder.log'), 'w')
    holder = subprocess.Popen(server.ns_cmd([
        'qemu-system-x86_64', '-accel', 'tcg', '-S', '-display', 'none', '-nodefaults',
        '-iscsi', 'initiator-name=iqn.1991-05.com.microsoft:pc-boot',
        '-drive', 'file=iscsi://127.0.0.1:3260/%s/1,format=raw,if=none,id=d0' % iqn]),
        stdout=holder_log, stderr=subprocess.STDOUT)
    try:
        server.wait(lambda: server.live_targets()[iqn]['connected'], 'iSCSI session', timeout=20)
        before = server.live_targets()

        rerun = server.playbook(name='play-rerun')
        assert rerun.returncode == 0, rerun.stdout[-4000:]
        assert re.search(r'localhost\s+:.*changed=0\b', rerun.stdout), rerun.stdout[-3000:]
        assert server.live_targets() == before

        overlay = os.path.join(server.base, 'overlay.yml')
        with open(overlay, 'w') as f:
            yaml.safe_dump({'sanboot_clients': {'hosts': {'pc-boot': {'sanboot_lun': 2}}}}, f)
        targets_only = ['-e', '{"sanboot_boot_server_components": ["iscsi_target"]}']
        changed = server.playbook('-i', overlay, *targets_only, name='play-changed-busy')
        assert changed.returncode == 0, changed.stdout[-4000:]
        assert 'not applied, initiators are logged in: %s' % iqn in changed.stdout
        after = server.live_targets()
        assert after[iqn] == before[iqn]            # same tid, LUN 1, session still there
        assert after == before
    finally:
        holder.terminate()
        holder.wait(timeout=10)
    server.wait(lambda: not server.live_targets()[iqn]['connected'], 'session end', timeout=20)
    applied = server.playbook('-i', overlay, *targets_only, name='play-changed-idle')
    assert applied.returncode == 0, applied.stdout[-4000:]
    assert 'not applied' not in applied.stdout
    assert server.live_targets()[iqn]['luns'] == {2: image}
