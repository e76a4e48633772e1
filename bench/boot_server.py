"""Boot server benchmark: wall time from starting playbooks/boot_server.yml to the probe printing its iBFT.

Each run starts from nothing: a new throwaway root, a new tgtd in a new network namespace. It then times
  1. ansible-playbook playbooks/boot_server.yml (first deployment of four clients: targets applied to tgtd,
     iPXE scripts, firmware, dnsmasq and nginx files), and
  2. qemu (TCG) booting Debian's iPXE for the client pc-boot: DHCP, embed.ipxe -> boot.ipxe -> hosts/<mac>.ipxe over
     HTTP, sanboot over iSCSI, the probe reading LBA 1 through INT 13h and printing the iBFT (qemu exits right after).
Prints a markdown table (median, min, max over BENCH_RUNS runs, default 3). Needs root, like the end-to-end test
whose set-up it reuses (tests/integration/test_boot_server.py).
"""
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

from ansible_collections.sanboot.windows.tests.bootnet import SUCCESS, missing_tools, parse_probe  # noqa: E402
from test_boot_server import BootServer  # noqa: E402


def one_run(base):
    srv = BootServer(base)
    srv.prepare()
    srv.start()
    try:
        t0 = time.monotonic()
        play = srv.playbook(name='bench-play')
        t1 = time.monotonic()
        if play.returncode != 0:
            raise RuntimeError('playbook failed:\n' + play.stdout[-3000:])
        rc, serial, _elapsed = srv.boot(srv.clients['pc-boot']['sanboot_mac'], 'bench-pc-boot')
        t2 = time.monotonic()
        facts = parse_probe(serial)
        if rc != SUCCESS or 'target.name' not in facts:
            raise RuntimeError('boot failed (qemu status %s):\n%s' % (rc, serial[-3000:]))
        return {'playbook': t1 - t0, 'boot': t2 - t1, 'total': t2 - t0}
    finally:
        srv.stop()


def main():
    missing = missing_tools('ansible-playbook')
    if os.geteuid() != 0 or missing:
        print('boot_server bench skipped: %s' % ('needs root' if os.geteuid() != 0 else 'missing ' + ', '.join(missing)))
        return 0
    runs = int(os.environ.get('BENCH_RUNS', '3'))
    results = []
    for _run in range(runs):
        with tempfile.TemporaryDirectory(prefix='sanboot-bench-') as base:
            results.append(one_run(base))
    print('### Boot server: playbook start to iBFT printed by the probe (%d runs, seconds)' % runs)
    print()
    print('| phase | median | min | max |')
    print('|---|---:|---:|---:|')
    for key, label in (('playbook', 'ansible-playbook boot_server.yml (first deployment, 4 clients)'),
                       ('boot', 'qemu TCG: iPXE DHCP, HTTP chain, iSCSI sanboot, probe prints iBFT'),
                       ('total', '**playbook start to iBFT printed**')):
        values = [r[key] for r in results]
        print('| %s | %.1f | %.1f | %.1f |' % (label, statistics.median(values), min(values), max(values)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
