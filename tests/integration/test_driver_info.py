# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sanboot.windows.driver_info run by real ansible-playbook against localhost, results asserted from JSON."""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'inf')

PLAYBOOK = r'''
- hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Virtio storage and network drivers for a Windows 7 x64 guest
      sanboot.windows.driver_info:
        path:
          - "{{ package }}/viostor/w7/amd64"
          - "{{ package }}/NetKVM/wxp/amd64"
        os: win7
        arch: amd64
        devices:
          - PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00
          - PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00
          - hardware_ids: [PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02]
            compatible_ids: [PCI\VEN_8086&DEV_100E]
      register: win7

    - name: The same in check mode
      sanboot.windows.driver_info:
        path: "{{ package }}/viostor/w7/amd64/viostor.inf"
        os: 6.1.7601
        arch: amd64
      check_mode: true
      register: checked

    - name: Undecorated legacy Models sections need lenient on x64
      sanboot.windows.driver_info:
        path: "{{ package }}/NetKVM/wxp/amd64"
        os: server2022
        arch: amd64
        lenient: true
      register: lenient

    - name: A source template is refused without templates
      sanboot.windows.driver_info:
        path: "{{ package }}/src/viostor.inx"
        os: 10.0.17763
        product_type: server
        arch: amd64
      register: refused
      ignore_errors: true

    - name: ... and read with them
      sanboot.windows.driver_info:
        path: "{{ package }}/src/viostor.inx"
        os: 10.0.17763
        product_type: server
        arch: amd64
        templates:
          INX_PLATFORM_DRIVERS_DIR: 12
          _INX_SUBSYS_VENDOR_ID: 1AF4
          INX_COMPANY: Red Hat, Inc.
          INX_PREFIX_VENDOR: 'Red Hat '
      register: template

    - name: Bad target
      sanboot.windows.driver_info:
        path: "{{ package }}"
        os: win12
        arch: amd64
      register: bad_target
      ignore_errors: true

    - name: Save the results for the test
      ansible.builtin.copy:
        content: "{{ {'win7': win7, 'checked': checked, 'lenient': lenient, 'refused': refused,
                      'template': template, 'bad_target': bad_target} | to_json }}"
        dest: "{{ output }}"
        mode: '0644'
'''


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('driver_info')
    package = tmp / 'virtio-win'
    storage = package / 'viostor' / 'w7' / 'amd64'
    network = package / 'NetKVM' / 'wxp' / 'amd64'
    source = package / 'src'
    for folder in (storage, network, source):
        folder.mkdir(parents=True)
    shutil.copy(os.path.join(FIXTURES, 'virtio-win', 'viostor_wlh.inf'), str(storage / 'viostor.inf'))
    (storage / 'viostor.sys').write_bytes(b'MZ')
    shutil.copy(os.path.join(FIXTURES, 'virtio-win', 'netkvm2k.inf'), str(network / 'netkvm.inf'))
    (network / 'netkvm.sys').write_bytes(b'MZ')
    (network / 'broken.inf').write_text('[Version\n')
    shutil.copy(os.path.join(FIXTURES, 'virtio-win', 'viostor.inx'), str(source / 'viostor.inx'))
    playbook = tmp / 'play.yml'
    playbook.write_text(PLAYBOOK)
    output = tmp / 'results.json'
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp / 'ansible-tmp'), ANSIBLE_RETRY_FILES_ENABLED='0')
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(ansible_playbook):
        ansible_playbook = 'ansible-playbook'
    cmd = [ansible_playbook, '-i', 'localhost,', '-c', 'local',
           '-e', json.dumps({'package': str(package), 'output': str(output)}), str(playbook)]
    proc = subprocess.run(cmd, env=env, cwd=str(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    with open(str(output)) as handle:
        return json.load(handle)


def test_matches_the_devices_the_way_windows_ranks(results):
    win7 = results['win7']
    assert win7['changed'] is False and not win7.get('failed')
    assert win7['target']['version'] == '6.1.7601' and win7['target']['product_type'] == 'workstation'
    storage, network, intel = win7['matches']
    assert storage['selected']['inf_name'] == 'viostor.inf'
    assert storage['selected']['service'] == 'viostor'
    assert storage['selected']['match'] == 'hardware ID match'
    assert storage['selected']['device_id'] == 'PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4'
    assert 'rank 0x00FF0001' in storage['reason']
    # netkvm2k.inf only has an undecorated Models section: x86-only, so nothing for the NIC on x64
    assert network['selected'] is None and intel['selected'] is None


def test_reports_services_files_and_errors(results):
    win7 = results['win7']
    drivers = dict((d['inf_name'], d) for d in win7['drivers'])
    assert sorted(drivers) == ['netkvm.inf', 'viostor.inf']
    viostor = drivers['viostor.inf']
    assert viostor['class'] == 'SCSIAdapter' and viostor['encoding'] == 'utf-8-bom'
    assert viostor['driver_ver'] == {'date': '2009-10-10', 'version': '5.3.0.17241'}
    service = viostor['services'][0]
    assert service['image_path'] == '\\SystemRoot\\System32\\drivers\\viostor.sys'
    assert (service['service_type'], service['start_type'], service['error_control']) == (1, 0, 1)
    assert service['load_order_group'] == 'SCSI miniport'
    assert [(r['key'], r['name'], r['type'], r['data']) for r in service['registry']] == [
        ('Parameters\\PnpInterface', '5', 'REG_DWORD', 1), ('Parameters', 'BusType', 'REG_DWORD', 1)]
    assert viostor['files'][0]['present'] is True
    assert viostor['files'][0]['target'] == 'System32\\drivers\\viostor.sys'
    assert drivers['netkvm.inf']['devices'] == []
    assert 'x86-only' in drivers['netkvm.inf']['manufacturers'][0]['reason']
    assert [os.path.basename(e['path']) for e in win7['errors']] == ['broken.inf']


def test_check_mode(results):
    checked = results['checked']
    assert checked['changed'] is False and not checked.get('failed')
    assert checked['drivers'][0]['devices'][0]['service'] == 'viostor'
    assert 'matches' not in checked


def test_lenient(results):
    netkvm = results['lenient']['drivers'][0]
    assert [d['hardware_id'] for d in netkvm['devices']] == ['PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00']
    assert netkvm['services'][0]['name'] == 'netkvm'


def test_templates(results):
    assert results['refused']['failed'] is True
    assert 'driver source template' in results['refused']['msg']
    viostor = results['template']['drivers'][0]
    assert set(['$ARCH$', 'INX_COMPANY', 'INX_PLATFORM_DRIVERS_DIR', 'INX_SUBSYS_VENDOR_ID']) <= \
        set(viostor['template_tokens'])
    assert [d['hardware_id'] for d in viostor['devices']] == [
        'PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00', 'PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01']
    assert viostor['provider'] == 'Red Hat, Inc.'


def test_bad_target(results):
    assert results['bad_target']['failed'] is True
    assert 'unknown target OS' in results['bad_target']['msg']
