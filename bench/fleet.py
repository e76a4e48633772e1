"""Fleet benchmark (issue 22): overlays of one golden image against full per-client copies.

1. Cost of creation: 20 overlays (qemu-img create with the golden version as backing file, what fleet_overlay does
   before it writes the identity) against 20 copies of the golden version (cp --sparse=always, what a disk of one's
   own per client costs), seconds and bytes allocated. Goal: overlays under 5 % of the time and space of copies.
   The golden image holds BENCH_FLEET_MB (default 512) MiB of data.
2. Boot storm through the real chain of tests/integration/test_fleet_boot.py (the roles' dnsmasq and tgtd in a
   network namespace, boot_server.yml, BIOS machines in qemu, TCG): 1, 4 and 8 clients powered on at the same time,
   from their overlays (qemu-storage-daemon FUSE exports) and, in the same run, from full copies; seconds from
   power-on to the probe's end (it prints the iBFT, then exits qemu). Goal: a storm of 8 from overlays takes at most
   1.2x the time of the same storm from copies. BENCH_STORM=1,4 runs smaller storms; BENCH_STORM=0 skips part 2,
   BENCH_FLEET_CREATE=0 part 1.
Needs root and what the test needs. Prints markdown tables.
"""
import concurrent.futures
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

from ansible_collections.sanboot.windows.plugins.module_utils.backends.store import Store, allocated_bytes  # noqa: E402
from ansible_collections.sanboot.windows.tests.bootnet import SUCCESS, parse_probe  # noqa: E402

N = 20


def creation(base):
    golden = os.path.join(base, 'golden.img')
    size_mb = int(os.environ.get('BENCH_FLEET_MB', '512'))
    with open(golden, 'wb') as f:
        for _mib in range(size_mb):
            f.write(os.urandom(1 << 20))
    store = Store(os.path.join(base, 'store'))
    store.ensure()
    store.add_version('lab', golden, {'source': golden})
    version = store.version_path('lab', 1)
    t0 = time.monotonic()
    for i in range(N):
        store.create_overlay('lab', 1, store.overlay_path('pc%02d' % i))
    subprocess.run(['sync'], check=True)
    t_overlay = time.monotonic() - t0
    b_overlay = sum(allocated_bytes(store.overlay_path('pc%02d' % i)) for i in range(N))
    copies = os.path.join(base, 'copies')
    os.mkdir(copies)
    t0 = time.monotonic()
    for i in range(N):
        subprocess.run(['cp', '--sparse=always', version, os.path.join(copies, 'pc%02d.qcow2' % i)], check=True)
    subprocess.run(['sync'], check=True)
    t_copy = time.monotonic() - t0
    b_copy = sum(allocated_bytes(os.path.join(copies, n)) for n in os.listdir(copies))
    print('## %d overlays against %d copies of a %d MiB golden image\n' % (N, N, size_mb))
    print('| | seconds | bytes allocated |')
    print('|---|---|---|')
    print('| %d overlays | %.2f | %d |' % (N, t_overlay, b_overlay))
    print('| %d copies | %.2f | %d |' % (N, t_copy, b_copy))
    print('| ratio | %.2f %% | %.3f %% |\n' % (100.0 * t_overlay / t_copy, 100.0 * b_overlay / b_copy))


def with_ips(write_inventory, srv):
    """FleetServer.write_inventory, then sanboot_ip for the overlay clients."""
    def write():
        write_inventory()
        with open(srv.inventory) as f:
            inv = yaml.safe_load(f)
        hosts = inv['all']['children']['sanboot_clients']['hosts']
        for name, host in hosts.items():
            if name.startswith('ov'):
                host['sanboot_ip'] = '192.0.2.%d' % (60 + int(name[2:]))
        with open(srv.inventory, 'w') as f:
            yaml.safe_dump(inv, f)
    return write


def storm(base, sizes):
    from test_fleet_boot import BRIDGE, FleetServer  # the real chain's set-up
    srv = FleetServer(base)
    most = max(sizes)
    srv.clients = dict(('ov%d' % i, ('bios', '52:54:00:c5:01:%02x' % i)) for i in range(1, most + 1))
    copies = os.path.join(srv.root, 'srv', 'sanboot', 'copies')
    try:
        srv.start()
        os.makedirs(copies)
        for i in range(1, most + 1):
            path = os.path.join(copies, 'cp%d.img' % i)
            shutil.copyfile(srv.golden, path)
            srv.extra['cp%d' % i] = {'sanboot_mac': '52:54:00:c5:02:%02x' % i, 'sanboot_image': path,
                                     'sanboot_ip': '192.0.2.%d' % (80 + i)}
        # fixed addresses: machines asking dnsmasq at the same time may be offered one address (test_boot_chain.py)
        srv.write_inventory = with_ips(srv.write_inventory, srv)
        res = srv.playbook('boot_server.yml', log='bench-play')
        if res.returncode != 0:
            raise RuntimeError(res.stdout[-4000:])
        srv.start_services()
        macs = dict((n, h['sanboot_mac']) for n, h in srv.extra.items())
        macs.update((n, m) for n, (_k, m) in srv.clients.items())
        rows = []
        for size in sizes:
            row = [size]
            for prefix in ('ov', 'cp'):
                names = ['%s%d' % (prefix, i) for i in range(1, size + 1)]
                t0 = time.monotonic()
                with concurrent.futures.ThreadPoolExecutor(max_workers=size) as pool:
                    futures = [pool.submit(srv.boot_firmware, '%s-storm%d-%s' % (prefix, size, n), 'bios', macs[n],
                                           BRIDGE, None, None, 600) for n in names]
                    results = [f.result() for f in futures]
                wall = time.monotonic() - t0
                for status, serial, _s in results:
                    if status != SUCCESS or 'target.name' not in parse_probe(serial):
                        raise RuntimeError('boot failed (%s):\n%s' % (status, serial[-2000:]))
                row.append((wall, statistics.median(r[2] for r in results)))
                print('storm of %d from %s: %.1f s (median %.1f s)' % (size, 'overlays' if prefix == 'ov' else 'copies',
                                                                       wall, row[-1][1]), file=sys.stderr, flush=True)
            rows.append(row)
    finally:
        for client in srv.clients:
            pidfile = os.path.join(srv.store, 'run', client + '.pid')
            if os.path.exists(pidfile):
                with open(pidfile) as f:
                    try:
                        os.kill(int(f.read().strip()), 15)
                    except OSError:
                        pass
        srv.stop()
    print('## Boot storm, BIOS, power-on to the probe\'s end (seconds; TCG on shared cores: compare within a row)\n')
    print('| clients | overlays: all done | median | copies: all done | median | overlays / copies |')
    print('|---|---|---|---|---|---|')
    for size, (ov_wall, ov_med), (cp_wall, cp_med) in rows:
        print('| %d | %.1f | %.1f | %.1f | %.1f | %.2f |' % (size, ov_wall, ov_med, cp_wall, cp_med, ov_wall / cp_wall))


def main():
    base = tempfile.mkdtemp(prefix='sanboot-bench-fleet-')
    try:
        if os.environ.get('BENCH_FLEET_CREATE', '1') != '0':
            os.makedirs(os.path.join(base, 'creation'))
            creation(os.path.join(base, 'creation'))
        sizes = [int(s) for s in os.environ.get('BENCH_STORM', '1,4,8').split(',') if int(s) > 0]
        if sizes:
            os.makedirs(os.path.join(base, 'storm'))
            storm(os.path.join(base, 'storm'), sizes)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == '__main__':
    main()
