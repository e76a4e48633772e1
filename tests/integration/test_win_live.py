# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_iscsi_boot, win_iscsi_boot_info and win_critical_device run by real ansible-playbook against the test
WS-Management endpoint on 127.0.0.1 (a Windows 7 host through ansible_connection=winrm and Basic, a Windows 10
host through plain variables and NTLM), results asserted from JSON, hives compared with the offline engine's."""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip('hivex')
pytest.importorskip('winrm')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import FIXTURES, ROOT, dump_hive, unpacked_hive  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Machine  # noqa: E402
from ansible_collections.sanboot.windows.tests.winrm_endpoint.server import Endpoint  # noqa: E402

PASSWORD = 'Inventory-Secret-42'
WIN7_NIC = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}
WIN10_NIC = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
WIN7_PRESENT = {'PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\\4&b70f118&0&0888': 'E1G60'}

PLAYBOOK = r'''
- name: Convert live hosts
  hosts: windows
  gather_facts: false
  tasks:
    - name: Adapters and doctor before
      sanboot.windows.win_iscsi_boot_info:
        nics: "{{ boot_nics }}"
        drivers: "{{ boot_drivers }}"
        templates: {}
      register: before

    - name: Convert in check mode
      sanboot.windows.win_iscsi_boot: &convert
        nics: "{{ boot_nics }}"
        drivers: "{{ boot_drivers }}"
        templates: {}
      check_mode: true
      diff: true
      register: check

    - name: Convert
      sanboot.windows.win_iscsi_boot: *convert
      register: converted

    - name: Convert again
      sanboot.windows.win_iscsi_boot: *convert
      register: again

    - name: Doctor after
      sanboot.windows.win_iscsi_boot_info:
        nics: "{{ boot_nics }}"
        drivers: "{{ boot_drivers }}"
        templates: {}
      register: after

    - name: Results
      ansible.builtin.assert:
        that:
          - before is not changed
          - before.ready is false
          - check is changed
          - check.winrm.commands == 1
          - converted is changed
          - converted.changes == check.changes
          - converted.winrm.commands <= 5
          - converted.ready
          - again is not changed
          - after.ready
          - after.converted

    - name: Save the results
      ansible.builtin.copy:
        content: "{{ {'before': before, 'check': check, 'converted': converted, 'again': again,
                      'after': after} | to_json }}"
        dest: "{{ output_dir }}/{{ inventory_hostname }}.json"
        mode: "0644"
      delegate_to: localhost

- name: Critical Device Database entries on the Windows 7 host
  hosts: win7
  gather_facts: false
  tasks:
    - name: Add an entry
      sanboot.windows.win_critical_device: &entry
        hardware_ids: [PCI\VEN_1AF4&DEV_1000]
        service: E1G60
        class: Net
        start: boot
      diff: true
      register: cd_added

    - name: Add it again
      sanboot.windows.win_critical_device: *entry
      register: cd_again

    - name: Remove it
      sanboot.windows.win_critical_device:
        hardware_ids: [PCI\VEN_1AF4&DEV_1000]
        service: E1G60
        state: absent
      register: cd_removed

    - name: Save the results
      ansible.builtin.copy:
        content: "{{ {'added': cd_added, 'again': cd_again, 'removed': cd_removed} | to_json }}"
        dest: "{{ output_dir }}/critical_device.json"
        mode: "0644"
      delegate_to: localhost

- name: A wrong password
  hosts: badpass
  gather_facts: false
  tasks:
    - name: Read
      sanboot.windows.win_iscsi_boot_info:
      register: denied
      ignore_errors: true

    - name: Save the result
      ansible.builtin.copy:
        content: "{{ denied | to_json }}"
        dest: "{{ output_dir }}/badpass.json"
        mode: "0644"
      delegate_to: localhost
'''


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('win_live')
    package = tmp / 'netkvm'
    package.mkdir()
    shutil.copy(os.path.join(FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'), str(package))
    (package / 'netkvm.sys').write_bytes(b'MZ' + b'\x90' * 30000)
    (package / 'netkvm.cat').write_bytes(b'catalog')     # the INF names it: Windows 8+ stages nothing without it
    (tmp / 'win7').mkdir()
    (tmp / 'win10').mkdir()
    win7 = Machine(str(tmp / 'win7'), unpacked_hive('win7-sp1-x86.SYSTEM'), unpacked_hive('phony-win7-32.SOFTWARE'),
                   present=WIN7_PRESENT)
    # HKLM\DRIVERS of the Windows 10 host (tests/fixtures/README.md): its pnputil stages the package there
    win10 = Machine(str(tmp / 'win10'), unpacked_hive('win10-1903-x64-dirty.SYSTEM'),
                    unpacked_hive('phony-win10.SOFTWARE'), version='10.0', build=17763,
                    drivers_hive=unpacked_hive('win10-1903-x64.DRIVERS'))
    with Endpoint(win7, password=PASSWORD) as ep7, Endpoint(win10, password=PASSWORD) as ep10:
        common = {'ansible_host': '127.0.0.1', 'ansible_user': 'Administrator', 'ansible_password': PASSWORD,
                  'ansible_winrm_transport': 'basic', 'ansible_winrm_scheme': 'http'}
        inventory = {'all': {'children': {
            'windows': {'hosts': {
                # Ansible's own winrm connection plugin is configured but never used by these action plugins.
                'win7': dict(common, ansible_port=ep7.port, ansible_connection='winrm', boot_nics=[WIN7_NIC],
                             boot_drivers=[]),
                # Any connection works: the plugins read the same variables.
                'win10': dict(common, ansible_port=ep10.port, ansible_connection='local', boot_nics=[WIN10_NIC],
                              ansible_winrm_transport='ntlm', ansible_winrm_message_encryption='never',
                              boot_drivers=[str(package)],
                              ansible_python_interpreter=sys.executable)}},
            'badpass': {'hosts': {'win7-badpass': dict(common, ansible_port=ep7.port, ansible_connection='winrm',
                                                       ansible_password='Wrong-' + PASSWORD)}}}}}
        (tmp / 'inventory.json').write_text(json.dumps(inventory))
        (tmp / 'play.yml').write_text(PLAYBOOK)
        out = tmp / 'out'
        out.mkdir()
        env = dict(os.environ)
        # ImportDate of a staged package is the run's time unless SOURCE_DATE_EPOCH fixes it: the offline
        # comparison below must write the same bytes (issue 14).
        os.environ['SOURCE_DATE_EPOCH'] = env['SOURCE_DATE_EPOCH'] = '1700000000'
        env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCAL_TEMP=str(tmp / 'ansible-tmp'), ANSIBLE_RETRY_FILES_ENABLED='0',
                   ANSIBLE_HOST_KEY_CHECKING='0', ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
        proc = subprocess.run([ansible_playbook, '-i', str(tmp / 'inventory.json'), '--diff', '-e',
                               json.dumps({'output_dir': str(out)}), str(tmp / 'play.yml')],
                              env=env, cwd=str(tmp), capture_output=True, text=True, check=False)
        failures = [line[:3000] for line in proc.stdout.split('\n') if line.startswith(('fatal:', 'failed:'))]
        assert proc.returncode == 0, '\n'.join(failures) + proc.stdout[-4000:] + proc.stderr[-3000:]
        results = dict((name[:-5], json.loads((out / name).read_text())) for name in os.listdir(str(out)))
        yield {'proc': proc, 'results': results, 'win7': win7, 'win10': win10, 'package': str(package), 'tmp': tmp}
        os.environ.pop('SOURCE_DATE_EPOCH', None)


def _offline(tmp, name, params, software, drivers=None):
    """The offline engine's SYSTEM on a copy of the fixture; Windows 8+ with a copy of the host's DRIVERS hive as
    its pnputil left it (the engine then copies Windows' records, as the live path does)."""
    copy = str(tmp / ('offline-' + name))
    shutil.copyfile(unpacked_hive(name), copy)
    os.chmod(copy, 0o644)
    if drivers:
        shutil.copyfile(drivers, copy + '.DRIVERS')
        os.chmod(copy + '.DRIVERS', 0o644)
    iscsi_boot.run_iscsi_boot(dict(params, hive=copy, software_hive=unpacked_hive(software), backup=False,
                                   allow_dirty=True, drivers_hive=copy + '.DRIVERS' if drivers else None),
                              check_mode=False)
    return dump_hive(copy)


def test_live_hives_equal_the_offline_engine_result(run):
    tmp = run['tmp']
    assert dump_hive(run['win7'].system) == _offline(tmp, 'win7-sp1-x86.SYSTEM', {'nics': [WIN7_NIC]},
                                                     'phony-win7-32.SOFTWARE')
    assert dump_hive(run['win10'].system) == _offline(tmp, 'win10-1903-x64-dirty.SYSTEM',
                                                      {'nics': [WIN10_NIC], 'drivers': [run['package']],
                                                       'templates': {}}, 'phony-win10.SOFTWARE',
                                                      run['win10'].drivers)


def test_conversion_results(run):
    win7, win10 = run['results']['win7'], run['results']['win10']
    assert win7['converted']['os']['name'] == 'Windows 7 Professional' or win7['converted']['os']['version'] == '6.1'
    assert win7['converted']['winrm']['commands'] == 2 and win7['converted']['applied_as'] == 'Administrator'
    # Windows 10: read, stage with pnputil and read the records pnputil wrote in the same command (issue 25: the
    # DeviceIds chain followed on the host), apply as SYSTEM
    assert win10['converted']['winrm']['commands'] == 3 and win10['converted']['applied_as'] == 'SYSTEM (schtasks)'
    database = win10['converted']['nics'][0]['driver_database']
    assert database['state'] == 'copied from DRIVERS'
    # the fixture's OemInfMap has oem0 to oem11 in use
    assert win10['converted']['staged_drivers'][0]['published_name'] == database['inf'] == 'oem12.inf'
    assert win10['converted']['nics'][0]['service'] == 'netkvm'
    assert '[HKEY_LOCAL_MACHINE\\SYSTEM\\DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00]' \
        in win10['check']['diff']['after']
    assert win10['check']['diff']['after_header'] == '127.0.0.1:HKLM\\SYSTEM'
    assert run['win10'].driver_store and os.path.isfile(os.path.join(
        run['win10'].fs, 'c', 'windows', 'system32', 'drivers', 'netkvm.sys'))
    # the diff is printed by ansible-playbook --diff
    assert '+"DisablePagingExecutive"=dword:00000001' in run['proc'].stdout


def test_info_lists_present_adapters(run):
    before = run['results']['win7']['before']
    assert [a['instance'] for a in before['present_adapters']] == list(WIN7_PRESENT)
    assert before['present_adapters'][0]['hardware_ids'][0] == 'PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01'
    # the adapters' own values and services are a second read (named by what the first found); within 10 requests
    assert before['winrm']['commands'] == 2 and before['winrm']['requests'] <= 10
    assert 'nic-not-boot-critical' in [f['id'] for f in before['findings']]


def test_critical_device(run):
    cd = run['results']['critical_device']
    assert cd['added']['changed'] and cd['added']['entries'] == [
        'ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1000']
    assert not cd['again']['changed'] and cd['removed']['changed']


def test_wrong_password_and_no_secret_anywhere(run):
    denied = run['results']['badpass']
    assert denied['failed'] and 'authentication failed' in denied['msg'] and 'HTTP 401' in denied['msg']
    for text in (run['proc'].stdout, run['proc'].stderr, json.dumps(run['results'])):
        assert PASSWORD not in text


def test_ansible_never_used_its_own_connection_and_left_nothing(run):
    for machine in (run['win7'], run['win10']):
        assert machine.commands and all(c.startswith('cmd.exe /v:on /c cd /d') for c in machine.commands)
        assert not machine.tasks and not os.listdir(os.path.join(machine.fs, 'c', 'windows', 'temp'))
        assert 'certutil' not in machine.programs and 'makecab' not in machine.programs
