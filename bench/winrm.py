"""Issue 7 benchmark: the live WinRM path, per task, for 1, 10 and 100 changed values.

The real pywinrm client against the test WS-Management endpoint on 127.0.0.1 (tests/winrm_endpoint), which
runs the commands on real fixture hives. Each row is one task: read (reg save, makecab, certutil, type), plan
with the offline engine, apply (one reg import of the whole plan). Requests and bytes are counted at pywinrm's
send_message; wall time is the median of RUNS runs on a fresh host. A playbook of ansible.windows.win_regedit
tasks needs one module execution per value for the same change.

Also: whole win_iscsi_boot / win_critical_device jobs, and the read without makecab (raw hive) for scale.
"""
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# This file is called winrm.py: keep its folder off the path so that "import winrm" finds pywinrm.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils import live as wb, offline  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import unpacked_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint import machine as emulator  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Machine  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.server import Endpoint  # noqa: E402

RUNS = 3
HOSTS = [
    ('Windows 7 SP1 x86', 'win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE', '6.1', 7601),
    ('Windows 10 1903 x64', 'win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE', '10.0', 18362),
]
E1000 = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}


def values_task(settings, count):
    """One task setting ``count`` REG_DWORD values (one new key): read, plan, one reg import."""
    def plan(_hive, planner):
        for index in range(count):
            planner.ensure_value(('ControlSet001', 'Services', 'sanboot-bench'), Value.dword('Value%03d' % index, index))
        return {}

    with wb.LiveHost(settings) as host:
        host.read(software=False)
        result = offline.run(host.system_path, plan, check_mode=True, backup=False, allow_dirty=True)
        code, text = host.apply(result['reg'], as_system=False)
        assert code == 0, text
        values = len([c for c in result['changes'] if c['op'] == 'set_value'])
        return values, host.session.stats.as_dict()


def job_task(settings, job, params):
    result = wb.run_live(job, params, settings)
    assert result['changed'] and not result.get('failed'), result.get('msg')
    return len([c for c in result['changes'] if c['op'] in ('set_value', 'delete_value')]), result['winrm']


def measure(system, software, version, build, task):
    samples = []
    for _run in range(RUNS):
        root = tempfile.mkdtemp(prefix='sanboot-bench-winrm-')
        try:
            machine = Machine(root, unpacked_hive(system), unpacked_hive(software), version=version, build=build)
            with Endpoint(machine) as endpoint:
                settings = wb.Settings('127.0.0.1', endpoint.port, endpoint.user, endpoint.password, scheme='http',
                                       transport='basic')
                started = time.time()
                values, stats = task(settings)
                samples.append((time.time() - started, values, stats))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    wall = statistics.median(s[0] for s in samples)
    return wall, samples[0][1], samples[0][2]


def row(label, what, wall, values, stats):
    return '| %s | %s | %d | %d | %d | %.1f | %.1f | %.2f | %d |' % (
        label, what, values, stats['commands'], stats['requests'], stats['bytes_sent'] / 1024.0,
        stats['bytes_received'] / 1048576.0, wall, values)


def main():
    print('WinRM live path, one task each, against the test endpoint on 127.0.0.1 (real pywinrm %s, median of %d '
          'runs; emulated host, so times are the controller\'s and the emulator\'s, not a real Windows\'s).'
          % (getattr(__import__('winrm'), '__version__', '0.5.0'), RUNS))
    print()
    print('| host | task | changed values | WinRM commands | WinRM requests | KiB sent | MiB received | wall s '
          '| win_regedit module executions for the same change |')
    print('|---|---|---:|---:|---:|---:|---:|---:|---:|')
    for label, system, software, version, build in HOSTS:
        for count in (1, 10, 100):
            wall, values, stats = measure(system, software, version, build,
                                          lambda s, n=count: values_task(s, n))
            print(row(label, '%d value%s, one reg import' % (count, '' if count == 1 else 's'), wall, values, stats))
    wall, values, stats = measure(*HOSTS[0][1:], task=lambda s: job_task(s, 'iscsi_boot', {'nics': [E1000]}))
    print(row(HOSTS[0][0], 'win_iscsi_boot (e1000, E1G60)', wall, values, stats))
    ids = ['PCI\\VEN_1AF4&DEV_%04X' % (0x1000 + i) for i in range(50)]
    wall, values, stats = measure(*HOSTS[0][1:], task=lambda s: job_task(
        s, 'critical_device', {'hardware_ids': ids, 'service': 'E1G60', 'class': 'Net', 'state': 'present'}))
    print(row(HOSTS[0][0], 'win_critical_device, 50 hardware IDs', wall, values, stats))
    # Without makecab the raw hive travels: what compression saves.
    saved = emulator.Context.p_makecab
    del emulator.Context.p_makecab
    try:
        wall, values, stats = measure(*HOSTS[0][1:], task=lambda s: values_task(s, 10))
        print(row(HOSTS[0][0], '10 values, host without makecab (raw hive)', wall, values, stats))
    finally:
        emulator.Context.p_makecab = saved
    print()
    print('Commands per task: 1 to read (reg query + reg save + makecab + certutil -encode + type, one cmd.exe line), '
          '1 to apply (certutil -decode + reg import, or through schtasks as SYSTEM), 1 more only to stage a driver '
          'package or, after a failed import, to read back what is in effect. Requests grow with the hive size '
          '(the read), not with the number of values; the apply is 4 requests (Command, Send, Receive, Signal) up '
          'to 96 KiB of .reg per Send. A win_regedit playbook needs one module execution per value, each at least '
          'a Command, a Send of the PowerShell module payload, a Receive and a Signal over WinRM (a protocol '
          'minimum, not measured here), and cannot run on stock Windows 7 (PowerShell 2.0).')


if __name__ == '__main__':
    main()
