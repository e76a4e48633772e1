"""Issue 5 benchmark: the same registry change inside disk images, our module vs virt-win-reg --merge.

The change: QEMU's e1000 made boot-critical (critical_device: two CDDB entries + the service's Start), as .reg
text for virt-win-reg (rendered by our plan in check mode on the same hive). One image: our module (one
appliance) vs one virt-win-reg call. Ten images: one task with images: (one appliance) vs ten virt-win-reg calls.
Images are raw, built fresh for every run (before the clock starts). libguestfs runs with TCG here
(LIBGUESTFS_BACKEND_SETTINGS=force_tcg), which makes every appliance launch slow: that is what is shared.
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

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import critical_device  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import make_windows_image, unpacked_hive  # noqa: E402

IDS = ['PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03']
# Ten virt-win-reg calls take minutes under TCG: one run of those (ten samples), three of the single image.
RUNS = {1: int(os.environ.get('SANBOOT_BENCH_IMAGE_RUNS', '3')), 10: 1}


PARAMS = {'hardware_ids': IDS, 'service': 'E1G60', 'class': 'Net', 'start': 0}


def ours(paths):
    params = dict(PARAMS, images=[dict(path=p, format='raw', root=None) for p in paths], backup=False)
    result = critical_device.run(params, False)
    assert all(r['changed'] for r in result['results'])


def theirs(paths, reg_file):
    for p in paths:
        subprocess.run(['virt-win-reg', '--merge', '--format=raw', p, reg_file], check=True, capture_output=True)


def main():
    work = tempfile.mkdtemp(prefix='sanboot-bench-img-')
    try:
        master = make_windows_image(os.path.join(work, 'master.raw'))
        reg_file = os.path.join(work, 'change.reg')
        with open(reg_file, 'w', encoding='utf-8', newline='\n') as f:
            f.write(critical_device.plan_on_file(critical_device.Request(PARAMS), unpacked_hive('win7-sp1-x86.SYSTEM'),
                                                 True, False, False)['reg'])
        rows = []
        for count in (1, 10):
            a, b = [], []
            for run in range(RUNS[count]):
                for who, times in (('ours', a), ('theirs', b)):
                    paths = []
                    for i in range(count):
                        paths.append(os.path.join(work, '%s-%d-%d.raw' % (who, run, i)))
                        shutil.copyfile(master, paths[-1])
                    t0 = time.perf_counter()
                    ours(paths) if who == 'ours' else theirs(paths, reg_file)
                    times.append(time.perf_counter() - t0)
                    for p in paths:
                        os.unlink(p)
            rows.append((count, statistics.median(a), statistics.median(b)))
    finally:
        shutil.rmtree(work)
    print('Same change (2 CDDB entries + Start) in raw Windows 7 images; median of %s runs; libguestfs on TCG'
          % ' and '.join('%d (%d image%s)' % (n, c, 's' if c > 1 else '') for c, n in RUNS.items()))
    print()
    print('| images | sanboot.windows (s) | virt-win-reg --merge (s) | ratio | goal |')
    print('|---:|---:|---:|---:|---:|')
    for count, a, b in rows:
        print('| %d | %.1f | %.1f | %.2fx | %s |' % (count, a, b, a / b, '<= 0.80x' if count == 1 else '<= 0.25x'))


if __name__ == '__main__':
    main()
