"""Issues 7 and 15 benchmark: the live WinRM path, per task: WinRM requests, bytes moved both ways and wall time.

The real pywinrm client against the test WS-Management endpoint on 127.0.0.1 (tests/winrm_endpoint), which runs
the commands on real fixture hives. Rows:

* N changed values: one task that reads what a win_iscsi_boot task reads (the keys readset.read_set declares, with
  reg query) and applies a plan of N new REG_DWORD values with one reg import (N = 1 and 100), on the Windows 7
  and Windows 10 fixtures. Before issue 15 the same task sent the whole SYSTEM hive (reg save, makecab, certutil):
  2 commands, 33 (Windows 7) / 46 (Windows 10) requests, 3.7 / 5.5 MB received (issue 15's figures for this bench).
* the real jobs on Windows 7, 8.1 and 10: win_iscsi_boot (Windows 7 e1000 with its in-box service; Windows 8.1 and
  10 an adapter Windows drives, its package's records copied from HKLM\\DRIVERS, also with HKLM\\DRIVERS not loaded;
  virtio-net with its driver package staged by pnputil), in check mode, with control_sets: all, state: absent
  (after a conversion, which is not counted), win_iscsi_boot_info, win_critical_device with 1 and 50 hardware IDs.

Requests are counted at pywinrm's send_message (authentication round trips are not counted); bytes are the SOAP
envelopes both ways; wall time is the median of RUNS runs on a fresh host (the emulator's and controller's time,
not a real Windows's). Goal (issues 15 and 25): at most 3 commands, 10 requests and 1 MB per task; a task that
stages a driver package at most 4 commands and 14 requests. The last column says whether the row meets it.
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
from ansible_collections.sanboot.windows.plugins.module_utils.backends import live as wb
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.host import LiveHost  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import live as live_job  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import FIXTURES, unpacked_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Machine  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.server import Endpoint  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import run_plan  # noqa: E402

RUNS = 3
# (label, SYSTEM, SOFTWARE, version, build, DRIVERS: HKLM\\DRIVERS of Windows 8+, tests/fixtures/README.md)
WIN7 = ('Windows 7 SP1 x86', 'win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE', '6.1', 7601, None)
WIN81 = ('Windows 8.1 x64', 'win81-x64-dirty.SYSTEM', None, '6.3', 9600, 'win81-x64.DRIVERS')
WIN10 = ('Windows 10 1903 x64', 'win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE', '10.0', 18362,
         'win10-1903-x64.DRIVERS')
E1000 = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}
# the adapter each Windows drives (Windows 8 and later: its package's records are in HKLM\\DRIVERS), its service
NICS = {WIN7: (E1000, 'E1G60'), WIN81: ({'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'}, 'E1G60'),
        WIN10: ({'id': 'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00'}, 'e1i65x64')}
# Windows 10's kernel loads HKLM\\DRIVERS on demand (issue 25): not loaded, and unloaded after every command
UNLOADED = {'drivers_loaded': False, 'drivers_unload_after': True}
VIRTIO = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'


def values_task(settings, count, nic):
    """Read what win_iscsi_boot reads, then one reg import of ``count`` new values (one new key)."""
    def plan(_hive, planner):
        for index in range(count):
            planner.ensure_value(('ControlSet001', 'Services', 'sanboot-bench'), Value.dword('Value%03d' % index, index))
        return {}

    host = LiveHost(settings)
    with host:
        live_job.read_all(host, 'iscsi_boot', {'nics': [nic]})
        result = run_plan(host.hive_path('SYSTEM'), plan, check_mode=True, backup=False, allow_dirty=True)
        code, text = host.apply(result['reg'], as_system=False)
        assert code == 0, text
    return len([c for c in result['changes'] if c['op'] == 'set_value']), host.session.stats.as_dict()


def job_task(settings, job, params, check_mode=False):
    result = live_job.run_live(job, params, settings, check_mode=check_mode)
    assert not result.get('failed'), result.get('msg')
    return len([c for c in result.get('changes', []) if c['op'] in ('set_value', 'delete_value')]), result['winrm']


def measure(host, task, setup=None, machine_args=None):
    _label, system, software, version, build, drivers = host
    samples = []
    for _run in range(RUNS):
        root = tempfile.mkdtemp(prefix='sanboot-bench-winrm-')
        try:
            machine = Machine(root, unpacked_hive(system), unpacked_hive(software) if software else None,
                              version=version, build=build, drivers_hive=unpacked_hive(drivers) if drivers else None,
                              **(machine_args or {}))
            with Endpoint(machine) as endpoint:
                settings = wb.Settings('127.0.0.1', endpoint.port, endpoint.user, endpoint.password, scheme='http',
                                       transport='basic')
                if setup:
                    setup(settings)
                started = time.time()
                values, stats = task(settings)
                samples.append((time.time() - started, values, stats))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return statistics.median(s[0] for s in samples), samples[0][1], samples[0][2]


def row(label, what, wall, values, stats, staging=False):
    moved = stats['bytes_sent'] + stats['bytes_received']
    commands, requests = (4, 14) if staging else (3, 10)
    goal = 'yes' if stats['commands'] <= commands and stats['requests'] <= requests and moved <= 1024 * 1024 else 'no'
    return '| %s | %s | %d | %d | %d | %.1f | %.1f | %.1f | %.2f | %s |' % (
        label, what, values, stats['commands'], stats['requests'], stats['bytes_sent'] / 1024.0,
        stats['bytes_received'] / 1024.0, moved / 1024.0, wall, goal)


def main():
    package = tempfile.mkdtemp(prefix='sanboot-bench-netkvm-')
    shutil.copy(os.path.join(FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'), package)
    with open(os.path.join(package, 'netkvm.sys'), 'wb') as handle:
        handle.write(b'MZ' + os.urandom(60000))
    with open(os.path.join(package, 'netkvm.cat'), 'wb') as handle:     # the INF names it: no package without it
        handle.write(b'catalog')
    print('WinRM live path, one task each, against the test endpoint on 127.0.0.1 (real pywinrm %s, median wall '
          'time of %d runs; emulated host, so times are the controller\'s and the emulator\'s, not a real '
          'Windows\'s).' % (getattr(__import__('winrm'), '__version__', '0.5.0'), RUNS))
    print()
    print('| host | task | changed values | WinRM commands | WinRM requests | KiB sent | KiB received | KiB moved | '
          'wall s | goal met (<= 3 commands, 10 requests, 1 MB; staging <= 4, 14) |')
    print('|---|---|---:|---:|---:|---:|---:|---:|---:|---|')
    for host, nic in ((WIN7, E1000), (WIN10, {'id': VIRTIO, 'service': 'E1G60'})):
        for count in (1, 100):
            wall, values, stats = measure(host, lambda s, n=count, nic=nic: values_task(s, n, nic))
            print(row(host[0], '%d value%s, one reg import' % (count, '' if count == 1 else 's'), wall, values, stats))
    jobs = []
    for host in (WIN7, WIN81, WIN10):
        nic, service = NICS[host]
        name = 'e1000' if host is WIN7 else 'copied from DRIVERS'
        jobs += [
            (host, 'win_iscsi_boot (%s)' % name, 'iscsi_boot', {'nics': [nic]}, {}),
            (host, 'win_iscsi_boot, check mode', 'iscsi_boot', {'nics': [nic]}, {'check_mode': True}),
            (host, 'win_iscsi_boot, control_sets: all', 'iscsi_boot', {'nics': [nic], 'control_sets': 'all'}, {}),
            (host, 'win_iscsi_boot, state: absent', 'iscsi_boot', {'state': 'absent'}, {'setup': {'nics': [nic]}}),
        ]
        if host is not WIN7:
            jobs += [
                (host, 'win_iscsi_boot (%s), HKLM\\DRIVERS not loaded' % name, 'iscsi_boot', {'nics': [nic]},
                 {'machine_args': UNLOADED}),
                (host, 'win_iscsi_boot (virtio-net, driver package staged)', 'iscsi_boot',
                 {'nics': [VIRTIO], 'drivers': [package], 'templates': {}}, {'staging': True}),
            ]
        jobs += [
            (host, 'win_iscsi_boot_info (one NIC)', 'iscsi_boot_info', {'nics': [nic]}, {}),
            (host, 'win_critical_device, 1 hardware ID', 'critical_device',
             {'hardware_ids': ['PCI\\VEN_1AF4&DEV_1000'], 'service': service, 'class': 'Net', 'state': 'present'}, {}),
            (host, 'win_critical_device, 50 hardware IDs', 'critical_device',
             {'hardware_ids': ['PCI\\VEN_1AF4&DEV_%04X' % (0x1000 + i) for i in range(50)], 'service': service,
              'class': 'Net', 'state': 'present'}, {}),
        ]
    for host, what, job, params, how in jobs:
        setup = None
        if how.get('setup'):
            def setup(settings, p=how['setup']):
                job_task(settings, 'iscsi_boot', p)
        check = how.get('check_mode', False)
        wall, values, stats = measure(host, lambda s, j=job, p=params, c=check: job_task(s, j, p, c),
                                      setup, how.get('machine_args'))
        print(row(host[0], what, wall, values, stats, how.get('staging', False)))
    shutil.rmtree(package, ignore_errors=True)
    print()
    print('Per task: 1 command per read round (the first round follows the DriverDatabase chain on the host itself; '
          'and the keys a record of originals names; a round follows only when what was read names more keys: a '
          'second control set), 1 to stage a driver package (which also reads the records pnputil wrote), 1 to apply. '
          'Each '
          'command is a Command, its Sends (stdin, 96 KiB each), its Receives (one when its output fits an envelope) '
          'and the Signal MS-WSMV requires; plus the shell\'s Create and Delete. Before issue 15 the same values tasks '
          'took 2 commands and 33 (Windows 7) / 46 (Windows 10) requests and moved the whole SYSTEM hive (3.7 / '
          '5.5 MB). A win_regedit playbook needs one module execution per value, and cannot run on stock Windows 7 '
          '(PowerShell 2.0).')


if __name__ == '__main__':
    main()
