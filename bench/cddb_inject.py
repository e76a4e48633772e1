"""Issue 2 benchmark: inject N Critical Device Database entries into the real Windows 7 SYSTEM hive.

Engine (open, plan, apply, atomic commit; no backup) vs `hivexregedit --merge` of the same .reg text on a
copy. Copies are made before the clock starts. Median of several runs, same machine, same run.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import run_plan, unpacked_hive  # noqa: E402

RUNS = {1: 7, 100: 7, 2000: 5}


def plan_for(ids):
    guid = cddb.class_guid(class_name='Net')

    def plan(hive, planner):
        return cddb.plan_critical_device(hive, planner, ids, service='E1G60', guid=guid)
    return plan


def main():
    source = unpacked_hive('win7-sp1-x86.SYSTEM')
    work = tempfile.mkdtemp(prefix='sanboot-bench-')
    rows = []
    try:
        for n, runs in RUNS.items():
            ids = ['PCI\\VEN_%04X&DEV_%04X' % (0x1000 + i // 16, i) for i in range(n)]
            plan = plan_for(ids)
            reg = run_plan(source, plan, check_mode=True)['reg']
            reg_file = os.path.join(work, 'plan.reg')
            with open(reg_file, 'w', encoding='utf-8', newline='\n') as f:
                f.write(reg)
            ours, theirs = [], []
            for i in range(runs):
                target = os.path.join(work, 'ours-%d' % i)
                shutil.copyfile(source, target)
                t0 = time.perf_counter()
                result = run_plan(target, plan, backup=False)
                ours.append(time.perf_counter() - t0)
                assert result['changed']
                target = os.path.join(work, 'theirs-%d' % i)
                shutil.copyfile(source, target)
                t0 = time.perf_counter()
                subprocess.run(['hivexregedit', '--merge', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', target, reg_file],
                               check=True)
                theirs.append(time.perf_counter() - t0)
            a, b = statistics.median(ours), statistics.median(theirs)
            rows.append((n, runs, a, b, a / b))
    finally:
        shutil.rmtree(work)
    print('Inject N CDDB entries (2 values each) into win7-sp1-x86.SYSTEM (11.8 MB); median wall time')
    print()
    print('| entries | runs | engine (s) | hivexregedit --merge (s) | ratio engine/hivexregedit |')
    print('|---:|---:|---:|---:|---:|')
    for n, runs, a, b, r in rows:
        print('| %d | %d | %.3f | %.3f | %.2fx |' % (n, runs, a, b, r))
    print()
    print('Goal: ratio <= 0.50 at 2000 entries.')


if __name__ == '__main__':
    main()
