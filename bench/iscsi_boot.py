"""Issue 4 benchmark: iscsi_boot on each real fixture hive.

Engine alone (iscsi_boot.run_iscsi_boot in this process: open, plan, record originals, apply, atomic commit, the
doctor's verdict) vs the whole module run (ansible-playbook with the one task, from process start to exit).
Fresh hive copies for every run, made before the clock starts. Median of several runs.

Windows 8+ (issue 14): the NIC's package is in the DRIVERS test hive (copied into SYSTEM) or staged from a built
netkvm package (records in DRIVERS and SYSTEM); both hives are read and written.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    FIXTURES, make_driver_package, unpacked_hive,
)

E1000 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
VIRTIO = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
NETKVM = 'netkvm package'
# (SYSTEM, DRIVERS or None, SOFTWARE or None, nic, extra parameters, what it does)
CASES = [
    ('win7-sp1-x86.SYSTEM', None, 'phony-win7-32.SOFTWARE', {'id': E1000, 'service': 'E1G60'}, {}, 'CDDB'),
    ('win81-x64-dirty.SYSTEM', 'win81-x64.DRIVERS', None, 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02', {},
     'copy from DRIVERS'),
    ('win10-1903-x64-dirty.SYSTEM', 'win10-1903-x64.DRIVERS', 'phony-win10.SOFTWARE',
     'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00', {}, 'copy from DRIVERS'),
    ('win10-1903-x64-dirty.SYSTEM', 'win10-1903-x64.DRIVERS', 'phony-win10.SOFTWARE', VIRTIO,
     {'drivers': [NETKVM]}, 'stage netkvm'),
]
RUNS = 5


def main():
    work = tempfile.mkdtemp(prefix='sanboot-bench-')
    rows = []
    try:
        package = os.path.dirname(make_driver_package(os.path.join(work, 'netkvm'), os.path.join(
            FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'), {'$ARCH$': 'amd64'}, name='netkvm.inf'))
        for system, drivers, software, nic, extra, what in CASES:
            params = dict(software_hive=unpacked_hive(software) if software else None, nics=[nic], drivers=[],
                          allow_dirty=True, backup=False)
            params.update(extra)
            params['drivers'] = [package if d == NETKVM else d for d in params['drivers']]
            engine, module = [], []
            for i in range(RUNS):
                path = os.path.join(work, 'engine-%d' % i)
                shutil.copyfile(unpacked_hive(system), path)
                if drivers:
                    params['drivers_hive'] = os.path.join(work, 'drivers-%d' % i)
                    shutil.copyfile(unpacked_hive(drivers), params['drivers_hive'])
                t0 = time.perf_counter()
                result = iscsi_boot.run_iscsi_boot(dict(params, hive=path), check_mode=False)
                engine.append(time.perf_counter() - t0)
                assert result['changed'] and result['ready']
                changes = len(result['changes'])
                path = os.path.join(work, 'module-%d' % i)
                shutil.copyfile(unpacked_hive(system), path)
                if drivers:
                    params['drivers_hive'] = os.path.join(work, 'module-drivers-%d' % i)
                    shutil.copyfile(unpacked_hive(drivers), params['drivers_hive'])
                task = dict(params, hive=path)
                playbook = os.path.join(work, 'play.yml')
                with open(playbook, 'w') as f:
                    json.dump([{'hosts': 'localhost', 'gather_facts': False,
                                'tasks': [{'sanboot.windows.iscsi_boot': task}]}], f)
                env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'))
                t0 = time.perf_counter()
                subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                                '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable, playbook],
                               check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                module.append(time.perf_counter() - t0)
            size = os.path.getsize(unpacked_hive(system)) / 1e6
            rows.append((system, what, size, changes, statistics.median(engine), statistics.median(module)))
    finally:
        shutil.rmtree(work)
    print('iscsi_boot on each fixture hive; median of %d runs' % RUNS)
    print()
    print('| SYSTEM hive | NIC package | size (MB) | changes | engine alone (s) | whole module run, ansible-playbook (s) |')
    print('|---|---|---:|---:|---:|---:|')
    for system, what, size, changes, engine, module in rows:
        print('| %s | %s | %.1f | %d | %.3f | %.3f |' % (system, what, size, changes, engine, module))


if __name__ == '__main__':
    main()
