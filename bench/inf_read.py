# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""INF reading throughput over the fixture INFs, and the time to read a folder of 200 INFs.

Prints a markdown table. Throughput is MB/s of INF file bytes (10^6 bytes), median of several runs; each run reads
every fixture INF from disk for Windows Server 2022 x64. Goal: at least 10 MB/s for reading.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

from ansible_collections.sanboot.windows.plugins.module_utils import inf  # noqa: E402

FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'inf')
RUNS = 7
REPEAT = 5          # passes over the fixtures per run
FOLDER_SIZE = 200
GOAL_MB_S = 10.0
TARGET = inf.parse_target('server2022', 'amd64')
INX = {'$ARCH$': 'amd64', '_INX_SUBSYS_VENDOR_ID': '1AF4', 'INX_PLATFORM_DRIVERS_DIR': '12',
       'INX_COMPANY': 'Red Hat, Inc.', 'INX_PREFIX_VENDOR': 'Red Hat '}


def fixtures():
    """[(path, templates)] with the substitutions the answer key assumes for source templates."""
    with open(os.path.join(FIXTURES, 'expected.json')) as handle:
        notes = dict((name, entry['template']) for name, entry in json.load(handle).items())
    out = []
    for name in sorted(notes):
        note = notes[name]
        if note is None or note.startswith('DRIVER_DIRID'):
            templates = None
        elif 'INX' in note:
            templates = INX
        else:
            templates = {'$ARCH$': 'amd64'}
        out.append((os.path.join(FIXTURES, name), templates))
    return out


def median_time(func, runs=RUNS):
    """(median wall-clock seconds, best wall-clock seconds, median CPU seconds of this process)."""
    times, cpu = [], []
    for dummy in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), min(times), statistics.median(cpu)


def main():
    files = fixtures()
    size = sum(os.path.getsize(path) for path, _t in files)

    def tokenize_all():
        for dummy in range(REPEAT):
            for path, templates in files:
                with open(path, 'rb') as handle:
                    parsed = inf.InfFile(handle.read(), os.path.basename(path), path, templates, 'amd64')
                for section in parsed.sections.values():
                    section.lines  # noqa: B018 - force every section to be split

    def read_all():
        for dummy in range(REPEAT):
            for path, templates in files:
                inf.read_inf(path, TARGET, templates=templates)

    def report_all():
        for dummy in range(REPEAT):
            for path, templates in files:
                json.dumps(inf.read_inf(path, TARGET, lenient=True, templates=templates).as_dict())

    rows = []
    for label, func in (('decode + split every section (more than a read needs)', tokenize_all),
                        ('read for a target (Models, installs, services, files)', read_all),
                        ('read + full JSON report (driver_info output)', report_all)):
        med, best, cpu = median_time(func)
        rows.append((label, REPEAT * size / med / 1e6, REPEAT * size / best / 1e6, REPEAT * size / cpu / 1e6))

    folder = tempfile.mkdtemp(prefix='sanboot-inf-bench-')
    try:
        copied = 0
        folder_bytes = 0
        while copied < FOLDER_SIZE:
            for path, _templates in files:
                if copied >= FOLDER_SIZE:
                    break
                sub = os.path.join(folder, 'pkg%02d' % (copied // 20))
                if not os.path.isdir(sub):
                    os.makedirs(sub)
                dest = os.path.join(sub, '%03d_%s.inf' % (copied, os.path.splitext(os.path.basename(path))[0]))
                shutil.copyfile(path, dest)
                folder_bytes += os.path.getsize(dest)
                copied += 1
        all_templates = dict(INX)

        def read_folder():
            drivers, errors = inf.read_package(folder, TARGET, templates=all_templates)
            assert len(drivers) + len(errors) == FOLDER_SIZE and not errors, errors[:1]

        def report_folder():
            drivers, _errors = inf.read_package(folder, TARGET, lenient=True, templates=all_templates)
            json.dumps([d.as_dict() for d in drivers])

        folder_read = median_time(read_folder, 5)
        folder_report = median_time(report_folder, 5)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print('INF reading, %d fixture INFs (%d bytes), target %s, median of %d runs of %d passes; '
          'load average %.2f on %d CPUs (wall-clock figures suffer when the machine is busy, CPU time less)'
          % (len(files), size, TARGET.describe(), RUNS, REPEAT, load, os.cpu_count() or 0))
    print('')
    print('| measurement | wall median | wall best | CPU-time median | goal (>= %.0f MB/s, wall median) |' % GOAL_MB_S)
    print('|---|---|---|---|---|')
    for label, med, best, cpu in rows:
        goal = ('met' if med >= GOAL_MB_S else 'NOT met') if label.startswith('read for') else ''
        print('| %s | %.1f MB/s | %.1f MB/s | %.1f MB/s | %s |' % (label, med, best, cpu, goal))
    for label, (med, best, cpu) in (('read_package', folder_read), ('read_package + JSON report', folder_report)):
        print('| folder of %d INFs (%d bytes): %s | %.0f ms | %.0f ms | %.0f ms (%.1f MB/s) | |'
              % (FOLDER_SIZE, folder_bytes, label, med * 1000, best * 1000, cpu * 1000, folder_bytes / cpu / 1e6))


if __name__ == '__main__':
    main()
