# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the boot-server tests share (tests/integration/test_boot_server.py, test_boot_chain.py,
test_ipxe_discovery.py, tests/release/test_walkthrough_server.py and bench/boot_server.py).

Two ways to reach the boot server from a machine in qemu, both inside a private network namespace:
* qemu's user networking (slirp): tgtd and an HTTP server listen on 127.0.0.1, the guest reaches them as 10.0.2.2
  and gets its address from qemu's own DHCP; iPXE starts as `-kernel ipxe.lkrn` with a script (boot_ipxe);
* the real chain (test_boot_chain.py): a bridge with one tap device per machine, the ipxe role's dnsmasq (DHCP or
  proxyDHCP, TFTP) and nginx site, and the machine's own firmware: SeaBIOS with the NIC's iPXE ROM, or OVMF with its
  own PXE or HTTP boot (boot_firmware). The namespace then also has a mount namespace in which the throwaway root's
  /srv is /srv, so dnsmasq and nginx run from the files the role wrote, unchanged.
And the probe disk: a boot sector (boot_server/probe.asm) and a UEFI application (boot_server/probe-efi.c, built
with gnu-efi) that both print the iBFT and a marker read from the disk to the serial port (parse_probe)."""

from __future__ import absolute_import, division, print_function

import ipaddress
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE_ASM = os.path.join(HERE, 'integration', 'boot_server', 'probe.asm')
PROBE_EFI_C = os.path.join(HERE, 'integration', 'boot_server', 'probe-efi.c')
IPXE_LKRN = next((p for p in ('/usr/lib/ipxe/ipxe.lkrn', '/boot/ipxe.lkrn') if os.path.exists(p)), None)
SERVER = '10.0.2.2'          # qemu user networking: the guest reaches the namespace's 127.0.0.1 here
SUCCESS = 33                 # the probe's isa-debug-exit value 0x10, as qemu's exit status
NO_IBFT = 37                 # the probe's 0x12: it ran (from a disk) but found no iBFT, e.g. from the local disk
TOOLS = ['tgtd', 'tgtadm', 'tgt-admin', 'qemu-system-x86_64', 'nasm', 'unshare', 'nsenter', 'ip']

# Debian's OVMF (package ovmf): the 4 MiB builds, plain and Secure Boot (with Microsoft's keys enrolled)
OVMF = {'code': '/usr/share/OVMF/OVMF_CODE_4M.fd', 'vars': '/usr/share/OVMF/OVMF_VARS_4M.fd'}
OVMF_SECURE = {'code': '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', 'vars': '/usr/share/OVMF/OVMF_VARS_4M.ms.fd'}
# Debian's OVMF Secure Boot build with its test ("snakeoil") key in PK, KEK and db, and that key pair (password
# snakeoil): what the tests sign the chain with (tests/integration/test_secure_boot.py)
OVMF_SNAKEOIL = {'code': '/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd', 'vars': '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd'}
SNAKEOIL_KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key'
SNAKEOIL_CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem'
# gnu-efi (package gnu-efi): start-up code, linker script and libraries of a UEFI application
GNU_EFI = ['/usr/lib/crt0-efi-x86_64.o', '/usr/lib/elf_x86_64_efi.lds', '/usr/lib/libefi.a', '/usr/lib/libgnuefi.a',
           '/usr/include/efi/efi.h']
# the real chain also needs dnsmasq (package dnsmasq-base), nginx, mtools (FAT for the EFI system partition) and
# a C compiler for the UEFI probe
CHAIN_TOOLS = ['dnsmasq', 'nginx', 'mformat', 'mmd', 'mcopy', 'gcc', 'ld', 'objcopy']


def missing_tools(*extra):
    missing = [t for t in TOOLS + list(extra) if shutil.which(t) is None]
    if IPXE_LKRN is None:
        missing.append('ipxe.lkrn (Debian package ipxe)')
    return missing


def missing_chain_tools(*extra):
    """What the real chain (bridge, dnsmasq, nginx, SeaBIOS and OVMF, the UEFI probe) lacks on this machine."""
    missing = missing_tools(*(CHAIN_TOOLS + list(extra)))
    missing += [p for p in list(OVMF.values()) + list(OVMF_SECURE.values()) + GNU_EFI if not os.path.exists(p)]
    if not os.path.exists('/dev/net/tun'):
        missing.append('/dev/net/tun')
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


def ibft_ip(hexstr):
    """An iBFT address field (16 bytes, IPv4 mapped into IPv6) as text."""
    raw = bytes.fromhex(hexstr)
    if raw[:12] == b'\0' * 10 + b'\xff\xff':
        return str(ipaddress.IPv4Address(raw[12:]))
    return str(ipaddress.IPv6Address(raw))


def sam_lun(lun):
    """8-byte SAM LUN as iPXE fills the iBFT (peripheral addressing for LUNs below 256)."""
    return '%04x' % lun + '0' * 12


def expected_ibft(client, host, server, marker):
    """What the iBFT must say for an inventory client (its host variables), from the inventory alone."""
    chap = client.get('sanboot_chap') or {}
    return {
        'initiator.name': client.get('sanboot_initiator_iqn', 'iqn.1991-05.com.microsoft:' + host),
        'target.name': client.get('sanboot_target_iqn', 'iqn.2025-01.test.sanboot:' + host),
        'target.ip': server,
        'target.port': 3260,
        'target.lun': sam_lun(client.get('sanboot_lun', 1)),
        'nic.mac': client['sanboot_mac'].replace(':', '').lower(),
        'target.chap_type': '%02x' % (2 if chap.get('mutual_username') else 1 if chap.get('username') else 0),
        'target.chap_name': chap.get('username', ''),
        'target.reverse_chap_name': chap.get('mutual_username', ''),
        'lba1': marker,
    }


def observed(facts):
    """What a probe (BIOS or UEFI) printed, in the terms an inventory uses."""
    return {
        'initiator.name': facts.get('initiator.name'),
        'target.name': facts.get('target.name'),
        'target.ip': ibft_ip(facts['target.ip']) if 'target.ip' in facts else None,
        'target.port': int(facts['target.port'], 16) if 'target.port' in facts else None,
        'target.lun': facts.get('target.lun'),
        'nic.mac': facts.get('nic.mac'),
        'target.chap_type': facts.get('target.chap_type'),
        'target.chap_name': facts.get('target.chap_name'),
        'target.reverse_chap_name': facts.get('target.reverse_chap_name'),
        'lba1': facts.get('lba1'),
    }


def query_pci(devices, machine=None):
    """QEMU's own view of a machine's PCI devices (query-pci before the firmware runs): {(slot, fn): device}."""
    cmd = ['qemu-system-x86_64', '-accel', 'tcg', '-S', '-display', 'none', '-vga', 'none', '-nodefaults',
           '-qmp', 'stdio'] + (['-machine', machine] if machine else []) + list(devices)
    commands = ({'execute': 'qmp_capabilities'}, {'execute': 'query-pci'}, {'execute': 'quit'})
    qmp = '\n'.join(json.dumps(c) for c in commands) + '\n'
    out = subprocess.run(cmd, input=qmp, capture_output=True, text=True, timeout=30, check=True).stdout
    for line in out.splitlines():
        reply = json.loads(line)
        if isinstance(reply.get('return'), list):
            return {(d['slot'], d['function']): d for bus in reply['return'] for d in bus['devices']}
    raise AssertionError('no query-pci answer: %s' % out)


def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('latin-1')
    except FileNotFoundError:
        return ''


# The machines of the real chain (NamespacedServer.boot_firmware). Each one's NIC is in PCI slot 3.
FIRMWARE = {
    # SeaBIOS with the e1000's option ROM, which is iPXE (Debian's ipxe-qemu): a PXE client that is iPXE already
    'bios': {'nic': 'e1000'},
    # OVMF's own PXE client on a NIC OVMF drives itself (virtio-net without its iPXE ROM): DHCP client-arch 7,
    # then the role's UEFI binary (snponly.efi) over TFTP; IPv6 PXE off, so a failure falls through quickly
    'uefi-pxe': {'nic': 'virtio-net-pci', 'nic_opts': ',romfile=', 'machine': 'q35', 'ovmf': OVMF,
                 'extra': ['-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n']},
    # OVMF's UEFI HTTP boot (client-arch 16, vendor class HTTPClient): its PXE boot options switched off
    'uefi-http': {'nic': 'virtio-net-pci', 'nic_opts': ',romfile=', 'machine': 'q35', 'ovmf': OVMF,
                  'extra': ['-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=n',
                            '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n']},
    # OVMF with the e1000's iPXE ROM (its EFI driver): a UEFI client that is iPXE already
    'uefi-ipxe': {'nic': 'e1000', 'machine': 'q35', 'ovmf': OVMF,
                  'extra': ['-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n']},
    # OVMF's Secure Boot build with Microsoft's keys enrolled (SMM, secure pflash), PXE as uefi-pxe
    'uefi-secure': {'nic': 'virtio-net-pci', 'nic_opts': ',romfile=', 'machine': 'q35,smm=on', 'ovmf': OVMF_SECURE,
                    'extra': ['-global', 'driver=cfi.pflash01,property=secure,value=on',
                              '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n']},
    # the same with Debian's test key enrolled instead of Microsoft's: PXE as uefi-pxe, and HTTP boot as uefi-http
    'sb-pxe': {'nic': 'virtio-net-pci', 'nic_opts': ',romfile=', 'machine': 'q35,smm=on', 'ovmf': OVMF_SNAKEOIL,
               'extra': ['-global', 'driver=cfi.pflash01,property=secure,value=on',
                         '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n']},
    'sb-http': {'nic': 'virtio-net-pci', 'nic_opts': ',romfile=', 'machine': 'q35,smm=on', 'ovmf': OVMF_SNAKEOIL,
                'extra': ['-global', 'driver=cfi.pflash01,property=secure,value=on',
                          '-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=n',
                          '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n']},
}

# nginx's main configuration around the site file the ipxe role writes (the package's nginx.conf does the same
# with conf.d/*.conf): everything in the test's folder, the site included unchanged
NGINX_MAIN = """user root;
daemon off;
worker_processes 1;
pid %(base)s/nginx.pid;
error_log %(base)s/error.log;
events { worker_connections 64; }
http {
    access_log %(base)s/access.log;
    client_body_temp_path %(base)s/tmp;
    proxy_temp_path %(base)s/tmp;
    fastcgi_temp_path %(base)s/tmp;
    uwsgi_temp_path %(base)s/tmp;
    scgi_temp_path %(base)s/tmp;
    include %(site)s;
}
"""


def build_probes(out_dir):
    """Assemble the BIOS probe and build the UEFI probe; returns (boot sector + stage 2 bytes, BOOTX64.EFI path)."""
    os.makedirs(out_dir, exist_ok=True)
    bios = os.path.join(out_dir, 'probe-disk.bin')
    subprocess.run(['nasm', '-f', 'bin', '-o', bios, PROBE_ASM], check=True)
    obj, shared, efi = (os.path.join(out_dir, n) for n in ('probe-efi.o', 'probe-efi.so', 'BOOTX64.EFI'))
    # gnu-efi's usual recipe: position-independent ELF, relocated by its crt0, turned into a PE32+ application
    subprocess.run(['gcc', '-c', '-O2', '-ffreestanding', '-fno-stack-protector', '-fpic', '-fshort-wchar',
                    '-mno-red-zone', '-maccumulate-outgoing-args', '-DGNU_EFI_USE_MS_ABI', '-Wall', '-Werror',
                    '-I/usr/include/efi', '-I/usr/include/efi/x86_64', '-o', obj, PROBE_EFI_C], check=True)
    subprocess.run(['ld', '-shared', '-Bsymbolic', '-nostdlib', '-znocombreloc', '-T', '/usr/lib/elf_x86_64_efi.lds',
                    '/usr/lib/crt0-efi-x86_64.o', obj, '-L/usr/lib', '-lefi', '-lgnuefi', '-o', shared], check=True)
    subprocess.run(['objcopy'] + [a for sec in ('.text', '.sdata', '.data', '.rodata', '.dynamic', '.dynsym', '.rel',
                                                '.rela', '.rel.*', '.rela.*', '.reloc') for a in ('-j', sec)]
                   + ['--target', 'efi-app-x86_64', '--subsystem=10', shared, efi], check=True)
    with open(bios, 'rb') as f:
        return f.read(), efi


ESP_START = 2048             # first sector of the EFI system partition (1 MiB)


def make_probe_image(path, marker, probes, size=8 << 20):
    """A disk image that boots the probe on BIOS and on UEFI: the BIOS probe's boot sector with an MBR partition
    table whose one partition (type 0xEF) is a FAT EFI system partition holding \\EFI\\BOOT\\BOOTX64.EFI; `marker`
    at LBA 1, where both probes read it; the BIOS probe's stage 2 at LBA 2-4. The folder must exist (the iscsi_target
    role creates it, with the file, for LUNs with a size)."""
    code, efi = probes
    sectors = size // 512 - ESP_START
    esp = path + '.esp'
    subprocess.run(['mformat', '-i', esp, '-C', '-T', str(sectors), '-h', '64', '-s', '32', '-v', 'PROBE', '::'],
                   check=True)
    subprocess.run(['mmd', '-i', esp, '::/EFI', '::/EFI/BOOT'], check=True)
    subprocess.run(['mcopy', '-i', esp, efi, '::/EFI/BOOT/BOOTX64.EFI'], check=True)
    with open(path, 'r+b' if os.path.exists(path) else 'w+b') as f, open(esp, 'rb') as part:
        f.truncate(size)
        f.write(code)
        f.seek(446)          # partition 1: not active, CHS unused (LBA only), type 0xEF, LBA start and length
        f.write(struct.pack('<B3sB3sII', 0, b'\xfe\xff\xff', 0xEF, b'\xfe\xff\xff', ESP_START, sectors))
        f.seek(512)
        f.write(marker.encode() + b'\0')
        f.seek(ESP_START * 512)
        shutil.copyfileobj(part, f)
    os.unlink(esp)


class NamespacedServer:
    """A network namespace with only lo, held open by a sleeping process, and inside it on 127.0.0.1: tgtd on a
    control port nobody else uses, and Python's HTTP server. stop() removes the targets and ends everything."""

    def __init__(self, logs):
        self.logs = logs
        self.procs = []
        self.netns = None
        self.mntns = None
        self.tgt_port = None
        self.tgtd = None
        self.taps = 0
        self.timelines = {}

    def start_namespace(self, srv=None):
        """The namespace, held open by a sleeping process. With `srv`, also a mount namespace in which that folder
        is /srv (the throwaway root's /srv: dnsmasq and nginx then find the files where the role's
        configuration says, /srv/sanboot/ipxe)."""
        holder = subprocess.Popen(['unshare', '--net'] + (['--mount', '--propagation', 'private'] if srv else [])
                                  + ['sleep', 'infinity'])
        self.procs.append(holder)
        self.netns = '/proc/%d/ns/net' % holder.pid
        for _attempt in range(50):
            if os.path.exists(self.netns) and os.readlink(self.netns) != os.readlink('/proc/self/ns/net'):
                break
            time.sleep(0.02)
        if srv:
            self.mntns = '/proc/%d/ns/mnt' % holder.pid
            self.wait(lambda: os.readlink(self.mntns) != os.readlink('/proc/self/ns/mnt'), 'mount namespace')
            os.makedirs(srv, exist_ok=True)
            self.ns(['mount', '--bind', srv, '/srv'], check=True)
        self.ns(['ip', 'link', 'set', 'lo', 'up'], check=True)

    def start_tgtd(self):
        # tgtd's control socket (/var/run/tgtd/socket.N) is a file: pick a number nobody else uses
        used = set(os.listdir('/var/run/tgtd')) if os.path.isdir('/var/run/tgtd') else set()
        self.tgt_port = random.choice([n for n in range(300, 1000) if 'socket.%d' % n not in used])
        with open(os.path.join(self.logs, 'tgtd.log'), 'w') as log:
            self.tgtd = subprocess.Popen(
                self.ns_cmd(['tgtd', '-f', '-C', str(self.tgt_port), '--iscsi', 'portal=127.0.0.1:3260']),
                stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(self.tgtd)
        self.wait(lambda: self.tgtadm('--mode', 'sys', '--op', 'show').returncode == 0, 'tgtd')

    def start_servers(self, serve, http_port, access_log=None):
        """qemu user networking: tgtd and Python's HTTP server (serving `serve`) on 127.0.0.1."""
        self.start_namespace()
        self.start_tgtd()
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

    # -- the real chain: bridge and taps, dnsmasq, nginx, firmware ----------------------------------------------
    def add_bridge(self, name, cidr):
        """A bridge with the boot server's address (e.g. 192.0.2.10/24); machines join it through tap devices."""
        self.ns(['ip', 'link', 'add', name, 'type', 'bridge', 'forward_delay', '0'], check=True)
        self.ns(['ip', 'addr', 'add', cidr, 'dev', name], check=True)
        self.ns(['ip', 'link', 'set', name, 'up'], check=True)

    def add_tap(self, bridge):
        self.taps += 1
        tap = 'sbtap%d' % self.taps
        self.ns(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap'], check=True)
        self.ns(['ip', 'link', 'set', tap, 'master', bridge, 'up'], check=True)
        return tap

    def start_dnsmasq(self, conf, name='dnsmasq', netns=None):
        """dnsmasq in the foreground with `conf` as its only configuration file (as the service reads
        /etc/dnsmasq.d/), its log (log-dhcp, TFTP) in logs/<name>.log; `netns` runs it in another namespace.
        Returns the process (stop_process ends it)."""
        test = subprocess.run(['dnsmasq', '--test', '--conf-file=' + conf], capture_output=True, text=True,
                              check=False)
        if test.returncode != 0:
            raise RuntimeError('dnsmasq --test %s: %s' % (conf, test.stderr))
        log = os.path.join(self.logs, name + '.log')
        starts = read_text(log).count('started, version')     # a restart appends to the same log
        cmd = ['dnsmasq', '--keep-in-foreground', '--log-facility=-', '--conf-file=' + conf,
               '--dhcp-leasefile=' + os.path.join(self.logs, name + '.leases'),
               '--pid-file=' + os.path.join(self.logs, name + '.pid')]
        cmd = (['nsenter', '--net=' + netns, '--'] + cmd) if netns else self.ns_cmd(cmd)
        with open(log, 'a') as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.wait(lambda: read_text(log).count('started, version') > starts or proc.poll() is not None, 'dnsmasq ' + name)
        if proc.poll() is not None:
            raise RuntimeError('dnsmasq %s exited: %s' % (name, read_text(log)[-2000:]))
        return proc

    def stop_process(self, proc):
        proc.terminate()
        proc.wait(timeout=10)
        self.procs.remove(proc)

    def add_peer(self, bridge, addresses):
        """Another machine on the bridge: a namespace of its own whose eth0 (`addresses`, e.g. ['192.0.2.1/24']) is
        a veth into the bridge. Returns the namespace's path (start_dnsmasq(..., netns=...) runs a server there)."""
        holder = subprocess.Popen(['unshare', '--net', 'sleep', 'infinity'])
        self.procs.append(holder)
        netns = '/proc/%d/ns/net' % holder.pid
        self.wait(lambda: os.path.exists(netns) and os.readlink(netns) != os.readlink('/proc/self/ns/net'),
                  'namespace of the peer')
        self.taps += 1
        veth = 'sbpeer%d' % self.taps
        self.ns(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', str(holder.pid)],
                check=True)
        self.ns(['ip', 'link', 'set', veth, 'master', bridge, 'up'], check=True)
        for cmd in ([['ip', 'link', 'set', 'lo', 'up']] + [['ip', 'addr', 'add', a, 'dev', 'eth0'] for a in addresses]
                    + [['ip', 'link', 'set', 'eth0', 'up']]):
            subprocess.run(['nsenter', '--net=' + netns, '--'] + cmd, check=True)
        return netns

    def start_nginx(self, site, port=80):
        """nginx with the site file the ipxe role wrote, included unchanged from a minimal main configuration."""
        base = os.path.join(self.logs, 'nginx')
        os.makedirs(os.path.join(base, 'tmp'), exist_ok=True)
        main = os.path.join(base, 'nginx.conf')
        with open(main, 'w') as f:
            f.write(NGINX_MAIN % {'base': base, 'site': site})
        check = subprocess.run(self.ns_cmd(['nginx', '-t', '-c', main, '-p', base]), capture_output=True, text=True,
                               check=False)
        if check.returncode != 0:
            raise RuntimeError('nginx -t: ' + check.stderr)
        with open(os.path.join(base, 'stderr.log'), 'w') as err:
            self.procs.append(subprocess.Popen(self.ns_cmd(['nginx', '-c', main, '-p', base]), stderr=err))
        probe = "import socket; socket.create_connection(('127.0.0.1', %d), 1)" % port
        self.wait(lambda: self.ns([sys.executable, '-c', probe]).returncode == 0, 'nginx')
        return base

    def boot_firmware(self, name, kind, mac, bridge, local_disk=None, until=None, timeout=300):
        """Power on a machine with firmware `kind` (FIRMWARE) and one NIC (MAC `mac`, PCI slot 3) on a new tap of
        `bridge`; `local_disk` is its next boot device. qemu runs until the machine exits it (isa-debug-exit, or a
        reboot, -no-reboot), until `until` (a regular expression) shows up on the serial port, or `timeout`.
        Returns (qemu exit status, or 'until' / 'timeout'; serial log; seconds)."""
        fw = FIRMWARE[kind]
        log = os.path.join(self.logs, 'serial-%s.log' % name)
        tap = self.add_tap(bridge)
        cmd = ['qemu-system-x86_64', '-accel', 'tcg', '-m', '256', '-display', 'none', '-vga', 'none', '-nodefaults',
               '-no-reboot', '-serial', 'file:' + log, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
               '-netdev', 'tap,id=n0,ifname=%s,script=no,downscript=no' % tap,
               '-device', '%s,netdev=n0,mac=%s,addr=0x3,bootindex=1%s' % (fw['nic'], mac, fw.get('nic_opts', ''))]
        if 'ovmf' in fw:
            variables = os.path.join(self.logs, 'ovmf-vars-%s.fd' % name)
            shutil.copyfile(fw['ovmf']['vars'], variables)
            cmd += ['-machine', fw['machine'],
                    '-drive', 'if=pflash,format=raw,readonly=on,file=' + fw['ovmf']['code'],
                    '-drive', 'if=pflash,format=raw,file=' + variables]
        else:
            sercon = os.path.join(self.logs, 'sercon-port.bin')
            with open(sercon, 'wb') as f:
                f.write(bytes([0xf8, 0x03, 0, 0, 0, 0, 0, 0]))   # SeaBIOS: mirror the console to COM1
            cmd += ['-boot', 'strict=on,reboot-timeout=0', '-fw_cfg', 'name=etc/sercon-port,file=' + sercon]
        cmd += fw.get('extra', [])
        if local_disk:
            cmd += ['-drive', 'file=%s,format=raw,if=none,id=local,snapshot=on' % local_disk,
                    '-device', 'virtio-blk-pci,drive=local,addr=0x5,bootindex=2']
        t0 = time.time()
        with open(os.path.join(self.logs, 'qemu-%s.log' % name), 'w') as out:
            proc = subprocess.Popen(self.ns_cmd(cmd), stdout=out, stderr=subprocess.STDOUT)
        status, seen, timeline = None, 0, []
        while status is None:
            try:
                status = proc.wait(timeout=0.25)
            except subprocess.TimeoutExpired:
                text = read_text(log).replace('\r', '')
                if until and re.search(until, text):
                    status = 'until'
                elif time.time() - t0 > timeout:
                    status = 'timeout'
                if status is not None:
                    proc.kill()
                    proc.wait()
            lines = read_text(log).replace('\r', '').split('\n')[:-1]
            timeline += [(round(time.time() - t0, 2), line) for line in lines[seen:]]
            seen = len(lines)
        elapsed = time.time() - t0
        self.timelines[name] = timeline      # (seconds after power-on, serial line), to within 0.25 s
        with open(os.path.join(self.logs, 'timeline-%s.txt' % name), 'w') as f:
            f.writelines('%7.2f %s\n' % (t, re.sub(r'\x1b\[[0-9;=?]*[A-Za-z]', '', line)) for t, line in timeline)
        self.ns(['ip', 'link', 'del', tap])
        return status, read_text(log).replace('\r', ''), elapsed

    @staticmethod
    def wait(predicate, what, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise RuntimeError('%s did not come up' % what)

    def ns_cmd(self, cmd):
        return ['nsenter', '--net=' + self.netns] + (['--mount=' + self.mntns] if self.mntns else []) + ['--'] + list(cmd)

    def ns(self, cmd, **kwargs):
        kwargs.setdefault('capture_output', True)
        kwargs.setdefault('text', True)
        return subprocess.run(self.ns_cmd(cmd), check=kwargs.pop('check', False), **kwargs)

    def tgtadm(self, *args):
        return subprocess.run(['tgtadm', '-C', str(self.tgt_port)] + list(args), capture_output=True, text=True,
                              check=False)
