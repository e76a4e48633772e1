# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live jobs (jobs/live.py: win_iscsi_boot, win_critical_device, win_iscsi_boot_info) with the real pywinrm
client against the test WS-Management endpoint on 127.0.0.1 (tests/winrm_endpoint), whose commands work on real
fixture hives and behave as Windows does, unfriendly parts included (each behaviour has a switch; these tests name
the ones they lean on).

Issue 15: live equals offline on Windows 7, 8.1 and 10 in English and German; two commands per task and nothing a
security team would flag; a reg import that fails part-way, then undo and a second run; pnputil refusing a package
(and 0x7B when the binary is unsigned); a user who may read but not write; a connection dropped while reading."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil

import pytest

hivex = pytest.importorskip('hivex')
pytest.importorskip('winrm')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils.backends import live as wb  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import critical_device, iscsi_boot  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline as offline_job  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import live as live_job  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import dump_hive, pe_stub64, unpacked_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.hosts import (  # noqa: E402
    WIN7, WIN81, WIN10, netkvm_package, offline, original, settings, temp_files,
)

WIN7_NIC = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}
WIN81_NIC = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02'}
WIN10_NIC = {'id': 'PCI\\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00'}         # e1i65x64, its package in DRIVERS
VIRTIO_NIC = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
# what the plugins may run on a host: stock Windows 7 SP1 (PowerShell only to write a driver package's files)
ALLOWED = {'cmd', 'cd', 'reg', 'dir', 'type', 'del', 'findstr', 'more', 'schtasks', 'ping', 'ren', 'pnputil', 'fc', 'copy',
           'rmdir', 'powershell'}


def set_value(path, key, name, kind, data):
    h = hivex.Hivex(path, write=True)
    node = h.root()
    for part in key:
        node = h.node_get_child(node, part)
    h.node_set_value(node, {'key': name, 't': kind, 'value': data})
    h.commit(path)


# ---------------------------------------------------------------------------------------------------------
# The modules' options: the offline jobs' own, but the target

def test_the_live_twins_take_the_offline_jobs_options_but_the_target():
    live = live_job.LIVE_MODULES
    spec = iscsi_boot.argument_spec()[0]
    twin = live['iscsi_boot']['argument_spec']
    assert set(spec) - set(twin) == set(offline_job.HIVE_ARGS) | {'software_hive', 'drivers_hive', 'first_boot'}
    assert set(twin) - set(spec) == {'system_import'}
    assert all(twin[name] == spec[name] for name in set(twin) & set(spec))
    assert live['iscsi_boot']['required_if'] == [['state', 'present', ['nics']]]
    info, info_twin = iscsi_boot.info_argument_spec()[0], live['iscsi_boot_info']['argument_spec']
    assert set(info) - set(info_twin) == set(offline_job.REPORT_HIVE_ARGS) | {'software_hive', 'drivers_hive'}
    assert all(info_twin[name] == info[name] for name in info_twin)
    assert set(live['critical_device']['argument_spec']) == set(critical_device.LIVE_ARGS) | {'system_import'}
    assert live['critical_device']['mutually_exclusive'] == critical_device.LIVE_CHOICES['mutually_exclusive']
    # paths the action plugin resolves on the controller (files/ of a role)
    assert live['iscsi_boot']['path_options'] == live['iscsi_boot_info']['path_options'] == ('drivers',)


# ---------------------------------------------------------------------------------------------------------
# Live equals offline, in English and German

def _umlaut(path):
    # a string whose bytes reg.exe prints in the shell's code page, recorded and restored exactly
    set_value(path, ('ControlSet001', 'Control', 'Session Manager', 'Memory Management'), 'DisablePagingExecutive',
              1, '\u00e4 \u00fc'.encode('utf-16-le') + b'\x00\x00')


# Issue 25: Windows 10's kernel loads HKLM\DRIVERS on demand; not loaded, and unloaded again after every command
UNLOADED = {'drivers_loaded': False, 'drivers_unload_after': True}


@pytest.mark.parametrize('fixture, locale, params, prepare, machine_args', [
    (WIN7, 'en', {'nics': [WIN7_NIC], 'auto_reboot': False}, None, {}),
    (WIN7, 'de', {'nics': [WIN7_NIC], 'control_sets': 'all'}, _umlaut, {}),
    (WIN81, 'en', {'nics': [WIN81_NIC]}, None, {}),
    (WIN81, 'de', {'nics': [WIN81_NIC]}, None, UNLOADED),
    (WIN10, 'en', {'nics': [VIRTIO_NIC], 'drivers': 'package'}, None, {}),
    (WIN10, 'de', {'nics': [VIRTIO_NIC], 'drivers': 'package'}, None, {}),
    (WIN10, 'en', {'nics': [WIN10_NIC]}, None, UNLOADED),
    (WIN10, 'en', {'nics': [VIRTIO_NIC], 'drivers': 'package'}, None, UNLOADED),
], ids=['win7-en', 'win7-de', 'win81-en', 'win81-de-drivers-not-loaded', 'win10-en', 'win10-de',
        'win10-copy-drivers-not-loaded', 'win10-stage-drivers-not-loaded'])
def test_live_equals_offline(host, tmp_path, fixture, locale, params, prepare, machine_args):
    if params.get('drivers') == 'package':
        params = dict(params, drivers=[netkvm_package(tmp_path)], templates={})
    machine, endpoint = host(fixture, prepare, locale=locale, **machine_args)
    before = dump_hive(machine.system) if prepare else original(fixture)
    result = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert result['changed'] and result['ready'] and not result.get('failed'), result.get('msg')
    # Windows 8+: pnputil has staged the package into the host's DRIVERS hive; offline, the engine copies those records
    expected, offline_result = offline(tmp_path, fixture, params, prepare, machine.drivers)
    assert result['changes'] == offline_result['changes'] and result['reg'] == offline_result['reg']
    assert dump_hive(machine.system) == expected
    assert not [w for w in result['warnings'] if 'pnputil' in w]            # 259 means "no device matches it"
    # issue 25: one read round (the DriverDatabase chain followed on the host), the staging command reads the records
    # pnputil wrote: 2 commands and 9 requests, 3 and 13 with a package (a second control set: one more round)
    staging = bool(params.get('drivers'))
    if params.get('control_sets') != 'all':
        assert (result['winrm']['commands'], result['winrm']['requests']) == ((3, 13) if staging else (2, 9))
    # DRIVERS not loaded: read under the task's own name, unloaded by the same command line
    assert result['winrm']['drivers_loaded_by_task'] is bool(machine_args) and not machine.loaded
    assert bool(machine.hive_loads) is bool(machine_args)
    if params.get('drivers'):
        assert result['staged_drivers'][0]['pnputil']['rc'] == 259 and result['applied_as'] == 'SYSTEM (schtasks)'
        database = result['nics'][0]['driver_database']
        assert database['state'] == 'copied from DRIVERS' and database['from'] == 'DRIVERS'
        assert result['staged_drivers'][0]['published_name'] == database['inf']
    again = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert not again['changed'] and all(p['phase'].startswith('reading') for p in again['winrm']['phases'])
    undo = live_job.run_live('iscsi_boot', {'state': 'absent'}, settings(endpoint))
    assert undo['changed'] and dump_hive(machine.system) == before
    # issue 25: the keys the record names are followed on the host: one read round, but for a key whose name has a
    # space (for /f takes words): ControlSet002's Session Manager\Memory Management, read with control_sets: all only
    assert undo['winrm']['commands'] == (3 if params.get('control_sets') == 'all' else 2)
    assert undo['winrm']['requests'] <= (12 if params.get('control_sets') == 'all' else 10)
    assert not machine.tasks and not temp_files(machine) and not endpoint.unsignaled


@pytest.mark.parametrize('ids, control_sets, commands', [
    (['PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_1AF4&DEV_1000'], 'all', 3),         # ControlSet002: a second read
    (['PCI\\VEN_1AF4&DEV_%04X' % (0x1000 + i) for i in range(50)], 'current', 2),  # issue 25: one line, one loop
], ids=['2-ids-all-control-sets', '50-ids'])
def test_critical_device_live_equals_offline(host, tmp_path, ids, control_sets, commands):
    machine, endpoint = host(WIN7)
    params = {'hardware_ids': ids, 'service': 'E1G60', 'class': 'Net', 'start': 'boot', 'state': 'present',
              'control_sets': control_sets}
    result = live_job.run_live('critical_device', params, settings(endpoint))
    assert result['changed'] and result['winrm']['commands'] == commands
    assert result['winrm']['requests'] == 3 * commands + 3
    copy = str(tmp_path / 'cd-offline')
    shutil.copyfile(unpacked_hive(WIN7[0]), copy)
    os.chmod(copy, 0o644)
    expected = critical_device.run(dict(params, hive=copy, backup=False), check_mode=False)
    assert result['entries'] == expected['entries'] and result['changes'] == expected['changes']
    assert dump_hive(machine.system) == dump_hive(copy)


def test_a_task_is_two_commands_within_ten_requests_and_nothing_a_security_team_would_flag(host):
    machine, endpoint = host(WIN7)
    check = live_job.run_live('iscsi_boot', {'nics': [WIN7_NIC]}, settings(endpoint), check_mode=True)
    assert check['changed'] and check['winrm']['commands'] == 1 and check['winrm']['requests'] == 5
    assert dump_hive(machine.system) == original(WIN7)
    result = live_job.run_live('iscsi_boot', {'nics': [WIN7_NIC]}, settings(endpoint))
    stats = result['winrm']
    assert stats['commands'] == 2 and stats['requests'] == 9 and endpoint.requests[-9:] == [
        'Create', 'Command', 'Receive', 'Signal', 'Command', 'Send', 'Receive', 'Signal', 'Delete']
    assert stats['bytes_sent'] + stats['bytes_received'] < 1024 * 1024 and stats['keys_read'] < 1000
    assert set(machine.programs) <= ALLOWED - {'powershell', 'pnputil'}
    for line in machine.commands:
        assert not re.search(r'reg(\.exe)? (save|export)', line, re.I) and 'certutil' not in line.lower()
        assert 'currentcontrolset' not in line.lower()


# ---------------------------------------------------------------------------------------------------------
# Failures: what is in effect, and nothing changed where nothing may

@pytest.mark.parametrize('on_error, failing', [('stop', 'Tcpip\\Parameters'), ('continue', 'Tcpip\\Parameters'),
                                               ('continue', 'iscsi_boot\\originals')],
                         ids=['stop', 'carry-on', 'carry-on-at-the-record'])
def test_reg_import_that_fails_at_a_key_then_undo_and_rerun(host, tmp_path, on_error, failing):
    # Whether reg.exe stops at the first key it cannot write or carries on is not documented by Microsoft (Wine's
    # reg.exe carries on: programs/reg/import.c); both are handled. The record is imported alone first, so no change
    # is made unless it is in place, and the host is read back either way.
    machine, endpoint = host(WIN81, fail_import_key=failing, import_on_error=on_error)
    params = {'nics': [WIN81_NIC]}
    result = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert result['failed'] and result['not_applied']
    assert len(result['applied']) + len(result['not_applied']) == len(result['changes'])
    phases = [p['phase'] for p in result['winrm']['phases']]
    assert phases[-2:] == ['applying the change', 'reading the registry after a failed import']
    changed = [c for c in result['applied'] if not c['key'].startswith('sanboot.windows')]
    assert bool(changed) == (failing != 'iscsi_boot\\originals')     # no change without its record
    undo = live_job.run_live('iscsi_boot', {'state': 'absent'}, settings(endpoint))
    assert undo['changed'] and dump_hive(machine.system) == original(WIN81)
    machine.fail_import_key = failing
    live_job.run_live('iscsi_boot', params, settings(endpoint))
    done = live_job.run_live('iscsi_boot', params, settings(endpoint))
    assert done['changed'] and not done.get('failed')
    assert dump_hive(machine.system) == offline(tmp_path, WIN81, params)[0]


@pytest.mark.parametrize('signed', [False, True])
def test_an_unregistered_catalog_and_no_embedded_signature(host, tmp_path, signed):
    # 64-bit Windows loads a boot-start driver only when it is signed: pnputil failing and no embedded signature
    # means the boot would stop with 0x7B, and the result says so.
    # Windows 8+ (issue 14): without the package in the driver store there are no records of it to copy into
    # SYSTEM\DriverDatabase, so nothing is imported; the message says why, and 0x7B when the binary is unsigned.
    machine, endpoint = host(WIN10, arch='amd64', pnputil_rc=0xE000022F - (1 << 32))
    params = {'nics': [VIRTIO_NIC], 'drivers': [netkvm_package(tmp_path, pe_stub64(signed))], 'templates': {}}
    with pytest.raises(wb.WinRMError) as err:
        live_job.run_live('iscsi_boot', params, settings(endpoint))
    message = str(err.value)
    assert 'pnputil did not add netkvm_w10_template.inf to the driver store (exit code -536870353' in message
    assert 'The registry was not changed' in message and ('0x7B' in message) != signed
    assert ('netkvm.sys carries no embedded signature' in message) != signed
    assert dump_hive(machine.system) == original(WIN10)


def test_a_user_who_may_read_but_not_write(host):
    machine, endpoint = host(WIN7, admin=False)
    result = live_job.run_live('iscsi_boot', {'nics': [WIN7_NIC]}, settings(endpoint))
    assert result['failed'] and not result['applied'] and 'elevated administrator' in result['msg']
    assert dump_hive(machine.system) == original(WIN7)


def test_drivers_neither_loaded_nor_loadable_names_no_offline_option(host):
    # Issue 25: the engine's own message would say "give it as drivers_hive", an option of the offline modules
    machine, endpoint = host(WIN10, drivers_loaded=False, admin=False)
    with pytest.raises(wb.WinRMError) as err:
        live_job.run_live('iscsi_boot', {'nics': [WIN10_NIC]}, settings(endpoint))
    message = str(err.value)
    assert 'could not read HKLM\\DRIVERS' in message and 'exit code 1' in message and 'elevated' in message
    assert 'drivers_hive' not in message and 'Nothing was changed' in message
    assert dump_hive(machine.system) == original(WIN10) and not machine.loaded


def test_dropped_connection_while_reading_changes_nothing(host):
    machine, endpoint = host(WIN81, endpoint_args={'drop': lambda action, n: action == 'Receive' and n == 1})
    with pytest.raises(wb.WinRMError) as err:
        live_job.run_live('iscsi_boot', {'nics': [WIN81_NIC]}, settings(endpoint))
    assert 'dropped while reading the registry' in str(err.value) and 'Nothing was changed' in str(err.value)
    assert dump_hive(machine.system) == original(WIN81)
