# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""UEFI Secure Boot, end to end: a signed chain served by the ipxe role boots under enforcing firmware, and every
unsigned link is refused by the link before it.

Everything is real, as in test_boot_chain.py (whose ChainServer this test uses with its own inventory,
tests/integration/secure_boot/inventory.yml): the boot_server playbook deploys both roles into a throwaway root;
tgtd, the role's dnsmasq (DHCP, then proxy mode next to a router's DHCP server) and nginx with the role's site run
in a network namespace the test creates. The machines run Debian's OVMF Secure Boot build with Debian's test
("snakeoil") key enrolled in PK, KEK and db (OVMF_CODE_4M.snakeoil.fd, a copy of OVMF_VARS_4M.snakeoil.fd, SMM,
secure pflash). The test signs with that key, through scripts/sign-ipxe.sh (sbsign, sbverify, an .sbat section):
Debian's snponly.efi (the iPXE the role serves), Debian's unsigned shim (shim-unsigned: shimx64.efi, built to load
grubx64.efi) and the UEFI probe on the iSCSI disks (boot_server/probe-efi.c), which prints the iBFT and the
firmware's SecureBoot variable.

Phases, each few boots (two machines at a time), because every boot costs 25-56 s under TCG:
1. the role as it is by default (Debian's unsigned iPXE): the firmware refuses iPXE ("Access Denied"). Meanwhile
   the role itself, told `sanboot_ipxe_secure_boot: true`, refuses unsigned first stages before it writes anything;
2. DHCP mode with the signed iPXE alone: OVMF's PXE (TFTP) and UEFI HTTP boot boot the signed probe; a machine
   whose iSCSI disk holds the unsigned probe is refused by the firmware when iPXE starts it;
3. proxy mode with the signed shim, which loads the signed iPXE under the name it was built for (grubx64.efi), over
   TFTP and over HTTP.
Needs root and the tools of test_boot_chain.py, plus sbsigntool, shim-unsigned and OVMF's snakeoil files.
"""

from __future__ import absolute_import, division, print_function

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from ansible_collections.sanboot.windows.tests.bootnet import (
    OVMF_SNAKEOIL, SNAKEOIL_CERT, SNAKEOIL_KEY, SUCCESS, make_probe_image, missing_chain_tools,
    parse_probe, read_text,
)
from ansible_collections.sanboot.windows.tests.integration.test_boot_chain import (
    BRIDGE, DHCP_RANGE, PLAYBOOK, ROOT, ROUTER, SERVER, SITE_RANGE, ChainServer, check_sanboot, marker, plain,
)

INVENTORY = os.path.join(ROOT, 'tests', 'integration', 'secure_boot', 'inventory.yml')
SIGN = os.path.join(ROOT, 'scripts', 'sign-ipxe.sh')
DEBIAN_IPXE = '/usr/lib/ipxe/snponly.efi'
DEBIAN_SHIM = '/usr/lib/shim/shimx64.efi'         # shim-unsigned: loads grubx64.efi from where it came from
IPXE_ONLY = ['ipxe']                              # later phases deploy the ipxe role alone
PROBE_SBAT = 'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n' \
             'sanboot-probe,1,sanboot.windows,probe,1,https://example.invalid/sanboot\n'
FIRMWARE_REFUSED = r'BdsDxe: failed to load Boot\w+ "UEFI PXEv4[^\n]*\n'

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root: network and mount namespaces, taps, tgtd'),
    pytest.mark.skipif(bool(missing_chain_tools('ansible-playbook', 'sbsign', 'sbverify', 'openssl')),
                       reason='missing: %s' % ', '.join(missing_chain_tools('ansible-playbook', 'sbsign', 'sbverify',
                                                                            'openssl'))),
    pytest.mark.skipif(not all(os.path.exists(p) for p in list(OVMF_SNAKEOIL.values())
                               + [SNAKEOIL_KEY, SNAKEOIL_CERT, DEBIAN_SHIM, DEBIAN_IPXE]),
                       reason='missing OVMF snakeoil files (ovmf), shim-unsigned or ipxe'),
]


class SecureChainServer(ChainServer):
    inventory = INVENTORY

    def sign(self, src, dest, sbat=None):
        """scripts/sign-ipxe.sh with Debian's test key (its password-protected key, as a site's would be)."""
        cmd = [SIGN, '--key', SNAKEOIL_KEY, '--passin', 'pass:snakeoil', '--cert', SNAKEOIL_CERT]
        if sbat:
            cmd += ['--sbat', sbat]
        res = subprocess.run(cmd + [src, dest], capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stdout + res.stderr
        return dest

    def make_keys_and_files(self):
        signed = os.path.join(self.base, 'signed')
        os.makedirs(signed)
        self.signed_ipxe = self.sign(DEBIAN_IPXE, os.path.join(signed, 'snponly.efi'))
        self.signed_shim = self.sign(DEBIAN_SHIM, os.path.join(signed, 'shimx64.efi'))
        sbat = os.path.join(signed, 'probe-sbat.csv')
        with open(sbat, 'w') as f:
            f.write(PROBE_SBAT)
        code, unsigned_probe = self.probes
        self.signed_probes = (code, self.sign(unsigned_probe, os.path.join(signed, 'BOOTX64.EFI'), sbat=sbat))
        # a signed iPXE without SBAT (sbsign alone): firmware would start it, shim would not
        key = os.path.join(signed, 'key.pem')
        subprocess.run(['openssl', 'rsa', '-in', SNAKEOIL_KEY, '-passin', 'pass:snakeoil', '-out', key],
                       check=True, capture_output=True)
        self.no_sbat_ipxe = os.path.join(signed, 'no-sbat.efi')
        subprocess.run(['sbsign', '--key', key, '--cert', SNAKEOIL_CERT, '--output', self.no_sbat_ipxe, DEBIAN_IPXE],
                       check=True, capture_output=True)

    def write_probe_disks(self):
        for host in self.clients:
            probes = self.probes if host == 'sb-badprobe' else self.signed_probes
            make_probe_image(os.path.join(self.images, host + '.img'), marker(host), probes, size=8 << 20)

    def deploy(self, mode, name, **settings):
        """The boot_server playbook with the ipxe role alone and these role settings as extra variables."""
        extra = dict(settings, sanboot_boot_server_components=IPXE_ONLY)
        return self.playbook(mode, '-e', json.dumps(extra), name=name)

    def refused_run(self, name, **settings):
        """The playbook into a root of its own (nothing there yet), as a user would run it: it must fail."""
        root = os.path.join(self.base, 'refused-' + name)
        env = self.env('dhcp')
        env['SANBOOT_TEST_ROOT'] = root
        extra = dict(settings, sanboot_boot_server_components=IPXE_ONLY)
        t0 = time.time()
        res = subprocess.run(['ansible-playbook', '-i', self.inventory, '-e', json.dumps(extra), PLAYBOOK], env=env,
                             capture_output=True, text=True, cwd=ROOT, check=False)
        res.elapsed = time.time() - t0
        res.root = root
        with open(os.path.join(self.logs, 'refused-%s.log' % name), 'w') as f:
            f.write(res.stdout + res.stderr)
        return res

    def boot(self, name, kind, host, until=None):
        return self.boot_firmware(name, kind, self.clients[host]['sanboot_mac'], BRIDGE, until=until, timeout=300)

    def boot_all(self, boots, also=None):
        """boots: {name: (firmware kind, inventory host, until)}, two at a time; `also` (a callable) runs beside
        them in the pool. Returns ({name: (status, serial, seconds)}, what `also` returned)."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            side = pool.submit(also) if also else None
            futures = {name: pool.submit(self.boot, name, *spec) for name, spec in boots.items()}
            results = {name: f.result() for name, f in futures.items()}
            other = side.result() if side else None
        for name, (status, _serial, seconds) in sorted(results.items()):
            print('boot %s: %s after %.1f s' % (name, status, seconds))          # shown with pytest -s
        return results, other


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    srv = SecureChainServer(str(tmp_path_factory.mktemp('secure-boot')))
    try:
        srv.start()
        srv.make_keys_and_files()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope='module')
def unsigned_phase(server):
    """Phase 1: the role's defaults (Debian's unsigned iPXE). Beside the boot, the role refuses three
    configurations that declare Secure Boot with a first stage it can see will not start."""
    res = server.playbook('dhcp', name='play-default')
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    server.write_probe_disks()
    server.start_services('dhcp')
    server.conf = {'default': read_text(os.path.join(server.root, 'etc', 'dnsmasq.d', 'sanboot-ipxe.conf'))}

    def refusals():
        return {
            'unsigned-ipxe': server.refused_run('unsigned-ipxe', sanboot_ipxe_secure_boot=True,
                                                sanboot_ipxe_efi_ipxe=DEBIAN_IPXE),
            'unsigned-shim': server.refused_run('unsigned-shim', sanboot_ipxe_secure_boot=True,
                                                sanboot_ipxe_efi_ipxe=server.signed_ipxe,
                                                sanboot_ipxe_efi_ipxe_name='grubx64.efi',
                                                sanboot_ipxe_efi_shim=DEBIAN_SHIM),
            'no-sbat': server.refused_run('no-sbat', sanboot_ipxe_secure_boot=True,
                                          sanboot_ipxe_efi_ipxe=server.no_sbat_ipxe,
                                          sanboot_ipxe_efi_ipxe_name='grubx64.efi',
                                          sanboot_ipxe_efi_shim=server.signed_shim),
            'no-ipxe': server.refused_run('no-ipxe', sanboot_ipxe_secure_boot=True),
        }
    boots, refused = server.boot_all({'unsigned-ipxe': ('sb-pxe', 'sb-pxe', FIRMWARE_REFUSED)}, also=refusals)
    return boots, refused


@pytest.fixture(scope='module')
def signed_phase(server, unsigned_phase):
    """Phase 2: DHCP mode, the signed iPXE alone as the UEFI first stage (served as ipxe.efi, the role's default
    name, in place of Debian's unsigned ipxe.efi)."""
    server.signed_run = server.deploy('dhcp', 'play-signed', sanboot_ipxe_secure_boot=True,
                                      sanboot_ipxe_efi_ipxe=server.signed_ipxe)
    res = server.signed_run
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    server.conf['signed'] = read_text(os.path.join(server.root, 'etc', 'dnsmasq.d', 'sanboot-ipxe.conf'))
    server.start_services('dhcp')
    return server.boot_all({
        'sb-pxe': ('sb-pxe', 'sb-pxe', None),
        'sb-http': ('sb-http', 'sb-http', None),
        'sb-badprobe': ('sb-pxe', 'sb-badprobe', r'sb-badprobe: boot failed[^\n]*\n'),
    })[0]


@pytest.fixture(scope='module')
def shim_phase(server, signed_phase):
    """Phase 3: proxy mode; the signed shim first, which loads the signed iPXE as grubx64.efi."""
    res = server.deploy('proxy', 'play-shim', sanboot_ipxe_secure_boot=True, sanboot_ipxe_efi_ipxe=server.signed_ipxe,
                        sanboot_ipxe_efi_ipxe_name='grubx64.efi', sanboot_ipxe_efi_shim=server.signed_shim)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    server.conf['shim'] = read_text(os.path.join(server.root, 'etc', 'dnsmasq.d', 'sanboot-ipxe.conf'))
    server.start_services('proxy')
    return server.boot_all({
        'shim-pxe': ('sb-pxe', 'sb-pxe', None),
        'shim-http': ('sb-http', 'sb-http', None),
    })[0]


def secure_boot_on(serial):
    """The probe read SecureBoot=1 (and SetupMode=0: keys enrolled, so the firmware enforces) from the firmware."""
    facts = parse_probe(serial)
    assert facts.get('secureboot') == '01' and facts.get('setupmode') == '00', plain(serial)[-3000:]


def served(server, name):
    with open(os.path.join(server.serve, name), 'rb') as f:
        return f.read()


def test_firmware_refuses_unsigned_ipxe(unsigned_phase):
    """The role's default first stage, Debian's unsigned snponly.efi, is downloaded and refused by the firmware."""
    status, serial, _seconds = unsigned_phase[0]['unsigned-ipxe']
    serial = plain(serial)
    assert status == 'until', serial[-3000:]
    assert 'NBP filename is snponly.efi' in serial and 'NBP file downloaded successfully.' in serial
    line = re.search(FIRMWARE_REFUSED, serial).group(0).strip()
    assert line.endswith(': Access Denied'), line
    assert 'iPXE initialising devices' not in serial and 'PROBE' not in serial


@pytest.mark.parametrize('case, refused', [
    ('unsigned-ipxe', '%s: not signed' % DEBIAN_IPXE),
    ('unsigned-shim', '%s: not signed' % DEBIAN_SHIM),
    ('no-sbat', 'no-sbat.efi: has no .sbat section, and shim refuses'),
    ('no-ipxe', 'sanboot_ipxe_secure_boot needs sanboot_ipxe_efi_ipxe'),
])
def test_role_refuses_unsigned_first_stage(unsigned_phase, case, refused):
    """With sanboot_ipxe_secure_boot the role reads the signatures itself and fails before it writes anything."""
    res = unsigned_phase[1][case]
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert refused in out, out[-3000:]
    assert not os.path.exists(os.path.join(res.root, 'srv', 'sanboot', 'ipxe')), 'the role wrote files'
    assert not os.path.exists(os.path.join(res.root, 'etc'))


@pytest.mark.parametrize('host', ['sb-pxe', 'sb-http'])
def test_signed_ipxe_boots_in_dhcp_mode(server, signed_phase, host):
    """OVMF with the test key enrolled starts the signed iPXE (PXE over TFTP, HTTP boot over HTTP), iPXE boots the
    signed probe from the iSCSI disk, which prints the iBFT and reads SecureBoot=1 from the firmware."""
    status, serial, _seconds = signed_phase[host]
    check_sanboot(server, signed_phase[host], host, SERVER, DHCP_RANGE)
    secure_boot_on(serial)
    text = plain(serial)
    assert status == SUCCESS
    if host == 'sb-pxe':
        assert 'NBP filename is ipxe.efi' in text
        log = read_text(os.path.join(server.logs, 'dnsmasq.log'))
        assert re.search(r'sent /srv/sanboot/ipxe/ipxe\.efi to 192\.0\.2\.\d+', log), log[-3000:]
    else:
        assert 'URI: http://%s/ipxe.efi' % SERVER in text
        access = read_text(os.path.join(server.logs, 'nginx', 'access.log'))
        assert re.search(r'"GET /ipxe\.efi HTTP/1\.1" 200', access), access[-2000:]
    # the signed build took the place of Debian's unsigned ipxe.efi
    with open(server.signed_ipxe, 'rb') as f:
        assert served(server, 'ipxe.efi') == f.read()


def test_signed_ipxe_with_unsigned_probe_is_refused(signed_phase):
    """iPXE runs (it is signed), attaches the iSCSI disk, and the firmware refuses the unsigned
    \\EFI\\BOOT\\BOOTX64.EFI on it: iPXE reports the failed boot from SAN; nothing on the disk ran."""
    status, serial, _seconds = signed_phase['sb-badprobe']
    text = plain(serial)
    assert status == 'until', text[-3000:]
    assert 'iPXE initialising devices' in text and 'sanboot.windows: sb-badprobe boot iscsi:' in text
    assert 'Boot from SAN device 0x80 failed: Error 0x7f22208f' in text, text[-3000:]
    assert 'PROBE' not in text


def test_bios_clients_unchanged(server, signed_phase, shim_phase):
    """Only the UEFI lines of the role's dnsmasq configuration change; BIOS clients get undionly.kpxe as before."""
    def bios_lines(conf):
        return [line for line in conf.splitlines() if 'bios' in line or 'undionly' in line or 'x86PC' in line]
    assert bios_lines(server.conf['signed']) == bios_lines(server.conf['default'])
    assert 'dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe,,%s' % SERVER in server.conf['signed']
    assert 'dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,%s' % SERVER in server.conf['signed']
    assert 'dhcp-boot=tag:efihttp,http://%s/ipxe.efi' % SERVER in server.conf['signed']
    assert 'pxe-service=tag:!ipxe,x86PC,"sanboot.windows iPXE (BIOS)",undionly.kpxe,%s' % SERVER in server.conf['shim']
    assert 'pxe-service=tag:!ipxe,X86-64_EFI,"sanboot.windows iPXE (UEFI)",shimx64.efi,%s' % SERVER \
        in server.conf['shim']
    assert 'dhcp-boot=tag:efihttp,http://%s/shimx64.efi' % SERVER in server.conf['shim']


@pytest.mark.parametrize('host', ['sb-pxe', 'sb-http'])
def test_shim_chain_in_proxy_mode(server, shim_phase, host):
    """The signed shim loads the signed iPXE by the name it was built for (grubx64.efi) from the server it came from,
    over TFTP (PXE) or HTTP (HTTP boot); the chain boots the signed probe, with Secure Boot on."""
    name = 'shim-' + host.split('-')[1]
    status, serial, _seconds = shim_phase[name]
    check_sanboot(server, shim_phase[name], host, ROUTER[0].split('/', maxsplit=1)[0], SITE_RANGE)
    secure_boot_on(serial)
    assert status == SUCCESS
    text = plain(serial)
    if host == 'sb-pxe':
        assert 'NBP filename is shimx64.efi' in text
        log = read_text(os.path.join(server.logs, 'dnsmasq.log'))
        assert re.search(r'sent /srv/sanboot/ipxe/shimx64\.efi to 192\.0\.2\.\d+', log), log[-3000:]
        assert re.search(r'sent /srv/sanboot/ipxe/grubx64\.efi to 192\.0\.2\.\d+', log), log[-3000:]
    else:
        assert 'URI: http://%s/shimx64.efi' % SERVER in text
        access = read_text(os.path.join(server.logs, 'nginx', 'access.log'))
        assert re.search(r'"GET /shimx64\.efi HTTP/1\.1" 200', access), access[-2000:]
        # shim asks for "//grubx64.efi" (the shim's own path, /, and the name)
        assert re.search(r'"GET /+grubx64\.efi HTTP/1\.1" 200', access), access[-2000:]


def test_secure_boot_keys_in_use(server):
    """The firmware the machines ran is the snakeoil build, and its db holds the certificate the chain is signed
    with (the same bytes as /usr/share/ovmf/PkKek-1-snakeoil.pem, DER-encoded in the variable store)."""
    der = subprocess.run(['openssl', 'x509', '-in', SNAKEOIL_CERT, '-outform', 'DER'], capture_output=True,
                         check=True).stdout
    with open(OVMF_SNAKEOIL['vars'], 'rb') as f:
        assert der in f.read()
    assert shutil.which('sbverify')
    for path in (server.signed_ipxe, server.signed_shim, server.signed_probes[1]):
        res = subprocess.run(['sbverify', '--cert', SNAKEOIL_CERT, path], capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stdout + res.stderr
    res = subprocess.run(['sbverify', '--cert', SNAKEOIL_CERT, DEBIAN_IPXE], capture_output=True, text=True,
                         check=False)
    assert res.returncode != 0
