# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/user-guide.md walk-through 3 (stand up the boot server, discover a new machine), run as written.

The guide's blocks run with bash, in order, as the guide's user (its venv, the release tarball installed), inside a
network namespace the test creates (only 127.0.0.1): tgtd on 127.0.0.1:3260 and an HTTP server on port 80 serving
the ipxe role's folder (its access log is the discovery log) run there too, and qemu's user network makes them
10.0.2.2 for the machines. The test's group_vars / host_vars beside the guide's inventory files point the roles at a
scratch root, the test's tgtd and those addresses (listed in the guide's "How this guide is tested"). The guide's
two "power the machine on" steps are qemu boots of Debian's iPXE (ipxe.lkrn with the embed.ipxe the role wrote):
pc1 sanboots its image, whose boot sector is the boot-server probe (tests/integration/boot_server/probe.asm, it
prints the iBFT iPXE hands to Windows), and pc2, unknown, runs the discovery and reports its e1000.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

pytest.importorskip('hivex')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot  # noqa: E402
from ansible_collections.sanboot.windows.tests.bootnet import (  # noqa: E402
    IPXE_LKRN, NamespacedServer, missing_tools, parse_probe,
)
from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    make_windows_image, read_from_image, unpacked_hive,
)
from ansible_collections.sanboot.windows.tests.release import release_helpers as rh  # noqa: E402

PROBE = os.path.join(rh.ROOT, 'tests', 'integration', 'boot_server', 'probe.asm')
E1000 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
PC1_MAC, PC2_MAC = '52:54:00:12:34:56', '52:54:00:12:34:57'
MARKER = 'SANBOOT-GUIDE-PC1-MARKER'

# The guide's "power it on" steps, done in the namespace: qemu boots iPXE with the role's embed.ipxe (dhcp, then
# chain boot.ipxe from the server), the machine's MAC, its e1000 in slot 3. Success of pc1's boot: the probe exits
# qemu with 33 after printing the iBFT.
ACTION = r'''#!%(python)s
import json, subprocess, sys, time
name = sys.argv[1]
mac = {'boot-pc1': '%(pc1)s', 'discover-pc2': '%(pc2)s'}[name]
serial = '%(logs)s/serial-%%s.log' %% name
t0 = time.time()
proc = subprocess.run(['qemu-system-x86_64', '-accel', 'tcg', '-m', '256', '-display', 'none', '-vga', 'none',
                       '-no-reboot', '-kernel', '%(lkrn)s', '-initrd', '%(serve)s/embed.ipxe',
                       '-netdev', 'user,id=n0', '-device', 'e1000,netdev=n0,mac=%%s,romfile=,addr=0x3' %% mac,
                       '-boot', 'strict=on,reboot-timeout=0', '-serial', 'file:' + serial,
                       '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
                       '-fw_cfg', 'name=etc/sercon-port,file=%(sercon)s'], timeout=120)
with open('%(logs)s/action-%%s.json' %% name, 'w') as f:
    json.dump({'rc': proc.returncode, 'seconds': time.time() - t0}, f)
print('%%s: qemu exited with %%d after %%.1f s' %% (name, proc.returncode, time.time() - t0))
'''


IMAGE_TOOLS = ('qemu-img', 'mkntfs', 'ntfs-3g', 'ntfscat', 'sfdisk')

# The release stage runs two groups side by side (pytest-xdist --dist loadgroup), about even in time:
# a = walk-through 3, docs, execution environment; b = walk-throughs 1 and 2, the oldest ansible-core, the artefact.
pytestmark = [
    pytest.mark.xdist_group('release-a'),
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root: network namespace, tgtd, ntfs-3g over FUSE'),
    pytest.mark.skipif(bool(missing_tools(*IMAGE_TOOLS)), reason='missing: %s' % ', '.join(missing_tools(*IMAGE_TOOLS))),
]


def prepared_windows7_image(path, base):
    """pc1's image: Windows 7 prepared for the e1000 (offline engine, no libguestfs), the probe as boot code."""
    cache = os.path.dirname(unpacked_hive('win7-sp1-x86.SYSTEM'))
    name = 'release-guide-prepared-win7.SYSTEM'
    hive = os.path.join(cache, name)
    if not os.path.exists(hive):
        tmp = hive + '.%d.tmp' % os.getpid()
        shutil.copyfile(unpacked_hive('win7-sp1-x86.SYSTEM'), tmp)
        os.chmod(tmp, 0o644)
        iscsi_boot.run_iscsi_boot(dict(hive=tmp, software_hive=unpacked_hive('phony-win7-32.SOFTWARE'),
                                       nics=[{'id': E1000, 'service': 'E1G60'}], auto_reboot=False, backup=False),
                                  check_mode=False)
        os.replace(tmp, hive)
    make_windows_image(path, system=name)          # unpacked_hive() hands out the cached, prepared copy
    probe = os.path.join(base, 'probe.bin')
    subprocess.run(['nasm', '-f', 'bin', '-o', probe, PROBE], check=True)
    with open(probe, 'rb') as f:
        code = f.read()
    assert not code[446:510].strip(b'\0'), 'the probe must leave the partition table alone'
    with open(path, 'r+b') as f:
        f.write(code[:446])                         # boot code; the image's partition table stays
        f.seek(512)
        f.write(MARKER.encode() + b'\0')            # LBA 1: the marker the probe prints
        f.seek(1024)
        f.write(code[1024:])                        # LBA 2..: the probe's stage 2 (the NTFS partition starts at 1 MiB)


@pytest.fixture(scope='module')
def walked(tmp_path_factory):
    pytest.importorskip('guestfs')
    user = rh.guide_user()
    base = str(tmp_path_factory.mktemp('guide-server'))
    root = os.path.join(base, 'root')                      # the boot server's files (sanboot_*_root)
    serve = os.path.join(root, 'srv', 'sanboot', 'ipxe')
    images = os.path.join(base, 'images')                  # LUN paths are not prefixed by the root
    logs = os.path.join(base, 'logs')
    work = os.path.join(base, 'work')                      # where the user runs the guide's commands
    for d in (images, logs, work):
        os.makedirs(d)
    pc1_image, pc2_image = os.path.join(images, 'win7.img'), os.path.join(images, 'pc2.img')
    prepared_windows7_image(pc1_image, base)
    make_windows_image(pc2_image)                          # pc2: an unprepared Windows 7, as walk-through 1 starts
    http_log = os.path.join(logs, 'http-access.log')
    sercon = os.path.join(base, 'sercon-port.bin')
    with open(sercon, 'wb') as f:
        f.write(bytes([0xf8, 0x03, 0, 0, 0, 0, 0, 0]))     # SeaBIOS: mirror the console to COM1
    action = os.path.join(base, 'power-on')
    with open(action, 'w') as f:
        f.write(ACTION % {'python': sys.executable, 'pc1': PC1_MAC, 'pc2': PC2_MAC, 'logs': logs, 'lkrn': IPXE_LKRN,
                          'serve': serve, 'sercon': sercon})
    os.chmod(action, 0o755)
    ns = NamespacedServer(logs)
    try:
        ns.start_servers(serve, 80, http_log)
        inv = os.path.join(work, 'inventory')
        overlays = {
            'group_vars/sanboot_boot_servers/zz-test.yml': {
                'sanboot_server_address': '10.0.2.2',
                'sanboot_iscsi_target_portals': [{'address': '127.0.0.1', 'port': 3260}],
                'sanboot_iscsi_target_root': root, 'sanboot_ipxe_root': root,
                'sanboot_iscsi_target_manage_packages': False, 'sanboot_iscsi_target_manage_services': False,
                'sanboot_ipxe_manage_packages': False, 'sanboot_ipxe_manage_services': False,
                'sanboot_iscsi_target_tgt_control_port': ns.tgt_port,
                'sanboot_ipxe_http_allow': ['10.0.2.0/24'], 'sanboot_ipxe_dnsmasq_range': '10.0.2.0',
                'sanboot_discovery_log': http_log,
            },
            'host_vars/bootsrv/zz-test.yml': {'ansible_connection': 'local', 'ansible_become': False},
            'host_vars/pc1/zz-test.yml': {'sanboot_image': pc1_image},
            'host_vars/pc2/zz-test.yml': {'sanboot_image': pc2_image},
        }
        for rel, data in overlays.items():
            path = os.path.join(inv, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                yaml.safe_dump(data, f)
        env = dict(user, PATH=rh.shims(os.path.join(base, 'shims'), ns.tgt_port) + os.pathsep + user['PATH'])
        t0 = time.time()
        rc, out = rh.run_walk('server', work, env, os.path.join(logs, 'walk.log'), action=action, prefix=ns.ns_cmd([]))
        elapsed = time.time() - t0
        actions = {}
        for name in ('boot-pc1', 'discover-pc2'):
            result = os.path.join(logs, 'action-%s.json' % name)
            if os.path.exists(result):
                with open(result) as f:
                    actions[name] = json.load(f)
                with open(os.path.join(logs, 'serial-%s.log' % name), 'rb') as f:
                    actions[name]['serial'] = f.read().decode('latin-1').replace('\r', '')
        live = ns.tgtadm('--lld', 'iscsi', '--mode', 'target', '--op', 'show').stdout
        if rc != 0:          # for the failure message: was the test's tgtd still there?
            out += '\n### test: tgtd %s; /var/run/tgtd: %s\n' % (
                'running' if ns.tgtd.poll() is None else 'exited with %s' % ns.tgtd.poll(),
                sorted(os.listdir('/var/run/tgtd')) if os.path.isdir('/var/run/tgtd') else None)
        yield {'rc': rc, 'out': out, 'seconds': elapsed, 'actions': actions, 'live': live, 'inv': inv,
               'pc1_image': pc1_image, 'pc2_image': pc2_image, 'serve': serve, 'base': base}
    finally:
        ns.stop()


def test_guide_commands_succeed(walked):
    assert walked['rc'] == 0, walked['out'][-10000:]
    print('walk-through 3: %.1f s' % walked['seconds'])
    out = walked['out']
    # the guide's ad-hoc tgtadm shows pc1's target and image
    assert 'Target 1: iqn.2025-01.org.example.boot:pc1' in out and walked['pc1_image'] in out
    for secret in ('pc1-secret-1234', 'bootsrv-secret12'):
        assert secret not in out                                   # CHAP secrets stay out of the output


def test_pc1_boots_its_image_over_iscsi_with_the_guides_settings(walked):
    """What iPXE hands to Windows (the iBFT, printed by the probe in pc1's boot sector) is what the guide says."""
    run = walked['actions']['boot-pc1']
    serial = run['serial']
    assert run['rc'] == 33, serial[-3000:]
    # (the probe's first line can run into iPXE's last one on the serial port)
    assert 'Registered SAN device 0x80' in serial and 'Booting from SAN device 0x8' in serial
    facts = parse_probe(serial)
    assert facts.get('lba1') == MARKER
    assert facts.get('initiator.name') == 'iqn.1991-05.com.microsoft:pc1'
    assert facts.get('target.name') == 'iqn.2025-01.org.example.boot:pc1'
    assert facts.get('target.chap_type') == '02'                   # mutual CHAP
    assert facts.get('target.chap_name') == 'pc1' and facts.get('target.reverse_chap_name') == 'bootsrv'
    assert facts.get('nic.mac') == PC1_MAC.replace(':', '')


def test_pc2_discovered_prepared_and_served(walked):
    run = walked['actions']['discover-pc2']
    assert 'sanboot.windows: no host script for %s' % PC2_MAC in run['serial'], run['serial'][-3000:]
    with open(os.path.join(walked['inv'], 'host_vars', 'pc2', 'sanboot_discovery.yml')) as f:
        found = yaml.safe_load(f)
    # as the guide says: QEMU's e1000 in slot 3
    assert found['sanboot_iscsi_boot_nics'] == [{'id': E1000, 'location': 'PCIROOT(0)#PCI(0300)'}]
    assert re.search(r'pc2: %s \(.*\): ready' % re.escape(walked['pc2_image']), walked['out']), walked['out'][-5000:]
    hive = read_from_image(walked['pc2_image'], '/Windows/System32/config/SYSTEM',
                           os.path.join(walked['base'], 'pc2-SYSTEM'))
    report = iscsi_boot.run_iscsi_boot_info(dict(hive=hive, nics=[{'id': E1000, 'service': 'E1G60'}], drivers=[]))
    assert report['ready'] is True and report['converted'] is True, report['findings']
    assert 'iqn.2025-01.org.example.boot:pc2' in walked['live'] and walked['pc2_image'] in walked['live']
    with open(os.path.join(walked['serve'], 'hosts', PC2_MAC.replace(':', '-') + '.ipxe')) as f:
        assert 'sanboot --keep iscsi:10.0.2.2:::1:iqn.2025-01.org.example.boot:pc2' in f.read()
