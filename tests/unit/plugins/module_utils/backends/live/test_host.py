# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One task's commands on one host (backends/live/host.py), against the emulated host (tests/winrm_endpoint): reads
into partial hives with the host's bytes and spelling, reg query output kept when it ends with exit code 1, the
SYSTEM task's result file awaited whole, and what a dropped run leaves removed by the next one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

pytest.importorskip('hivex')
pytest.importorskip('winrm')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils.backends import live as wb  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.host import LiveHost  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import live as live_job  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.registry import HOLES, Follow, Read  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import dump_hive, unpacked_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.hosts import (  # noqa: E402
    WIN7, WIN81, WIN10, offline, settings, temp_files,
)

WIN7_NIC = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}
WIN81_NIC = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'}
WIN7_PRESENT = {'PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\\4&b70f118&0&0888': 'E1G60'}
CURRENT_VERSION = ('Microsoft', 'Windows NT', 'CurrentVersion')


# ---------------------------------------------------------------------------------------------------------
# reading

def test_reads_become_partial_hives_with_the_hosts_bytes_and_spelling(host):
    _machine, endpoint = host(WIN7)
    full = Hive(unpacked_hive(WIN7[0]))
    tcpip = ('ControlSet001', 'Services', 'Tcpip')
    reads = [Read('SYSTEM', (wb.CURRENT, 'Services', 'tcpip'), False, None), Read('SYSTEM', ('Select',), False, None),
             Read('SOFTWARE', CURRENT_VERSION, False, ('CurrentVersion', 'ProductName'))]
    with LiveHost(settings(endpoint)) as live:
        assert live.read(reads) and live.session.stats.commands == 1
        assert live.current == 'ControlSet001' and live.label == '(Default)'
        system = live.reader('SYSTEM')
        # the stored spelling ("services" in this hive), every value with its type and bytes, the subkeys' names
        assert system.real_path(('controlset001', 'SERVICES', 'TCPIP')) == full.real_path(tcpip) == \
            ('ControlSet001', 'services', 'Tcpip')
        for key in (tcpip, ('Select',)):
            assert sorted((v.name, v.type, v.data) for v in system.values(key)) == \
                sorted((v.name, v.type, v.data) for v in full.values(key)) != []
        assert system.subkeys(tcpip) == full.subkeys(tcpip)
        # and nothing that was not read
        assert system.subkeys(()) == ['ControlSet001', 'Select']
        assert not system.key_exists(('ControlSet001', 'Services', 'NDIS'))
        software = live.reader('SOFTWARE')
        assert [(v.name, v.decoded()) for v in software.values(CURRENT_VERSION)] == [
            ('CurrentVersion', '6.1'), ('ProductName', 'Microsoft Windows 7 Phony Edition')]
        # what was read is not read again: no command
        assert not live.read(reads) and live.session.stats.commands == 1
        assert live.reader('DRIVERS') is None


def _two_words(path):
    import hivex
    h = hivex.Hivex(path, write=True)
    node = h.node_get_child(h.root(), 'Select')
    h.node_set_value(node, {'key': 'Two Words', 't': 1, 'value': 'Tcpip\x00'.encode('utf-16-le')})
    h.node_set_value(node, {'key': 'Next', 't': 1, 'value': 'NDIS other\x00'.encode('utf-16-le')})
    h.commit(path)


def test_a_chain_followed_on_the_host_is_marked_as_the_host_followed_it(host):
    # Issue 25: a Follow's queries run on the host (for /f over reg query); the controller marks as read what the host
    # read, from what the same round read of the Follow's key. for /f takes the first word of a line: a name with a
    # space is not what the host asked for, so it is left for a next round (and read right then).
    machine, endpoint = host(WIN7, prepare=_two_words)
    select = Read('SYSTEM', ('Select',), False, None)
    names = Follow('SYSTEM', ('Select',), False, None, (Read('SYSTEM', (HOLES[0],), False, None),))
    data = Follow('SYSTEM', ('Select',), False, 'Next',
                  (Read('SYSTEM', (wb.CURRENT, 'Services', HOLES[0]), False, None),))
    with LiveHost(settings(endpoint)) as live:
        assert live.read([select], follows=[names, data]) and live.session.stats.commands == 1
        system = live.reader('SYSTEM')
        # the host followed the data's first word: Services\NDIS was read, in the host's spelling
        assert system.real_path(('controlset001', 'SERVICES', 'ndis')) == \
            Hive(unpacked_hive(WIN7[0])).real_path(('ControlSet001', 'Services', 'NDIS'))
        assert system.values(('ControlSet001', 'services', 'NDIS'))
        assert not live.read([Read('SYSTEM', (wb.CURRENT, 'Services', 'NDIS'), False, None),
                              Read('SYSTEM', ('Current',), False, None),
                              Read('SYSTEM', ('LastKnownGood',), False, None)])
        assert live.session.stats.commands == 1
        # "Two Words": the host asked for "Two"; the key named by the whole name is read by the next round
        assert live.read([Read('SYSTEM', ('Two Words',), False, None)]) and live.session.stats.commands == 2
    assert any('for /f "tokens=3"' in line and '/v "Next"' in line for line in machine.commands)


@pytest.mark.parametrize('loaded', [True, False], ids=['loaded-by-the-kernel', 'not-loaded'])
def test_drivers_is_read_whether_the_kernel_has_loaded_it_or_not(host, loaded):
    # Issue 25: Windows 10's kernel loads HKLM\DRIVERS on demand. When it is absent, the line loads the file under the
    # task's own name, reads it there (keys read back as HKLM\DRIVERS) and unloads it; when the kernel holds the file,
    # reg load of it is refused (a sharing violation), so the line must not depend on that load.
    machine, endpoint = host(WIN10, drivers_loaded=loaded)
    full = Hive(unpacked_hive('win10-1903-x64.DRIVERS'))
    reads = [Read('DRIVERS', ('DriverDatabase',), False, None),
             Read('DRIVERS', ('DriverDatabase', 'DriverInfFiles', 'net1ic64.inf'), False, None)]
    with LiveHost(settings(endpoint)) as live:
        assert live.read(reads) and live.session.stats.commands == 1
        drivers = live.reader('DRIVERS')
        key = ('DriverDatabase', 'DriverInfFiles', 'net1ic64.inf')
        assert sorted((v.name, v.type, v.data) for v in drivers.values(key)) == \
            sorted((v.name, v.type, v.data) for v in full.values(key)) != []
        assert drivers.subkeys(('DriverDatabase',)) == full.subkeys(('DriverDatabase',))
        assert live.drivers_loaded_here is not loaded and live.drivers_missing is None
    assert machine.hive_loads == ([] if loaded else [live.work.upper()]) and machine.loaded == {}
    assert machine.drivers_loaded is loaded
    # the emulator refuses what Windows refuses: a file the kernel holds, and a key name in use
    machine.drivers_loaded = True
    refused = machine.execute('cmd.exe /c reg load HKLM\\x C:\\Windows\\System32\\config\\DRIVERS')
    assert refused.rc == 1 and b'used by another process' in refused.err and machine.loaded == {}


def test_reg_query_of_system_only_keys_ends_with_exit_code_1_after_the_rest(host):
    # Enum\...\Properties: readable only by SYSTEM. The queries of Enum\PCI end with exit code 1; what they
    # printed before still counts (it used to be thrown away: no adapters present).
    _m, endpoint = host(WIN7, present=WIN7_PRESENT)
    info = live_job.run_live('iscsi_boot_info', {'nics': [WIN7_NIC]}, settings(endpoint))
    assert [a['instance'] for a in info['present_adapters']] == list(WIN7_PRESENT)
    assert info['present_adapters'][0]['active_service'] == 'E1G60' and len(info['adapters']) == 2
    assert info['winrm']['partial_reads'] and not info['changed'] and info['ready'] is False
    offline_info = iscsi_boot.run_iscsi_boot_info({'hive': unpacked_hive(WIN7[0]), 'software_hive': unpacked_hive(WIN7[1]),
                                                   'nics': [WIN7_NIC]})
    assert info['findings'] == offline_info['findings'] and info['os'] == offline_info['os']


# ---------------------------------------------------------------------------------------------------------
# applying as SYSTEM, and cleaning up

def test_schtasks_run_returns_first_and_the_result_file_appears_whole(host, tmp_path):
    # The SYSTEM task runs a while after schtasks /run returned, and its echo creates the result file before it
    # writes to it: the wait loop must not take the empty file for the result (it is written, then renamed).
    machine, endpoint = host(WIN81, task_delay=20, redirect_delay=30)
    nic = WIN81_NIC     # Windows' package of it is copied from DRIVERS into SYSTEM\DriverDatabase: only SYSTEM may
    result = live_job.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    assert result['changed'] and not result.get('failed') and result['applied_as'] == 'SYSTEM (schtasks)', \
        result.get('msg')
    assert dump_hive(machine.system) == offline(tmp_path, WIN81, {'nics': [nic]})[0]
    assert not machine.tasks and not temp_files(machine)


def test_a_dropped_run_leaves_work_that_the_next_run_removes(host, tmp_path):
    # The connection drops while the SYSTEM task imports; WinRM ends the shell after IdleTimeout and with it the
    # wait loop, so the task and the work files stay. The next run finds them by name and removes them.
    machine, endpoint = host(WIN81, task_delay=100000)

    def drop(action, n):
        # everything after the change was sent is lost (the reads have no stdin: the first Send is the change's);
        # the shell's IdleTimeout is short (half a second) from then on
        if action != 'Send' and endpoint.counts.get('Send', 0) >= 1:
            endpoint.idle_timeout = 0.5
            return True
        return False
    endpoint.drop = drop
    nic = WIN81_NIC
    with pytest.raises(wb.WinRMError, match='dropped while applying the change.*Running the task again is safe'):
        live_job.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    for _i in range(100):
        if endpoint.expired:
            break
        time.sleep(0.05)
    assert endpoint.expired and endpoint.killed
    left = temp_files(machine)          # the task has not run yet (Task Scheduler is slow today)
    assert machine.tasks and left and all(name.startswith('sanboot-') for name in left)
    endpoint.drop = None
    endpoint.idle_timeout, machine.task_delay = 180, 2
    check = live_job.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint), check_mode=True)
    assert check['leftovers'] and temp_files(machine) == left         # check mode only reports them
    rerun = live_job.run_live('iscsi_boot', {'nics': [nic]}, settings(endpoint))
    token = left[0][len('sanboot-'):len('sanboot-') + 8]
    assert rerun['cleaned_up'] == [{'token': token, 'files': left, 'scheduled_task': True}]
    assert [w for w in rerun['warnings'] if 'removed what an earlier, interrupted run left' in w]
    assert not machine.tasks and not temp_files(machine)
    assert dump_hive(machine.system) == offline(tmp_path, WIN81, {'nics': [nic]})[0]
