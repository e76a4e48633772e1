# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jobs/fleet.py's identity on real parts: Windows images built with the fixture hives (one of them generalized),
qemu-img, libguestfs (one appliance writes the names of all new overlays) and qemu-storage-daemon's FUSE exports;
each name read back through the client's export without libguestfs. The lifecycle without an appliance is in
tests/unit/plugins/module_utils/jobs/test_fleet.py; through the whole boot chain in test_fleet_boot.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import fleet
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value
from ansible_collections.sanboot.windows.plugins.module_utils.windows import identity
from ansible_collections.sanboot.windows.tests.helpers import fleet_params, make_windows_image, sha256, unpacked_hive

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('qemu-storage-daemon'),
                       reason='needs root (FUSE), qemu-storage-daemon, libguestfs'),
]


@pytest.fixture(scope='module')
def fleet_env(tmp_path_factory):
    base = tmp_path_factory.mktemp('fleet')
    lab = make_windows_image(str(base / 'lab.img'))
    # a generalized image: sysprep's ImageState in SOFTWARE
    software = str(base / 'SOFTWARE')
    shutil.copyfile(unpacked_hive('phony-win10.SOFTWARE'), software)
    os.chmod(software, 0o644)
    with HiveSet([('SOFTWARE', software)]) as hives:
        hives.planners['SOFTWARE'].ensure_value(identity.STATE_KEY,
                                                Value.sz('ImageState', 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'))
        hives.write(backup=False)
    sysprep = make_windows_image(str(base / 'sysprep.img'), software=software)
    env = {
        'base': str(base), 'store': str(base / 'store'), 'sums': {'lab': sha256(lab), 'sysprep': sha256(sysprep)},
        'goldens': [{'name': 'lab', 'image': lab}, {'name': 'sysprep', 'image': sysprep}],
        'clients': [{'name': 'pc1', 'golden': 'lab'}, {'name': 'pc2', 'golden': 'lab', 'computer_name': 'LAB-TWO'},
                    {'name': 'kiosk-1', 'golden': 'sysprep'}],
    }
    env['first'] = fleet.run(fleet_params(env['store'], goldens=env['goldens'], clients=env['clients']), False)
    yield env
    for client in ('pc1', 'pc2', 'kiosk-1', 'pc3'):
        fleet.Fleet(fleet_params(env['store']), False).export(client).stop()


def read_file(disk, guest_path, tmp):
    """A file of the NTFS partition (at 1 MiB) of a raw disk - a client's export, what its target serves - read
    without libguestfs (ntfscat); None when it is not there."""
    part = os.path.join(tmp, 'part.img')
    with open(disk, 'rb') as src, open(part, 'wb') as dst:
        src.seek(1 << 20)
        shutil.copyfileobj(src, dst, 1 << 20)
    proc = subprocess.run(['ntfscat', part, guest_path], capture_output=True, check=False)
    os.unlink(part)
    return proc.stdout if proc.returncode == 0 else None


def names_in(disks, clients, tmp):
    """The computer name in each client's SYSTEM hive, read through its export."""
    out = {}
    for client in clients:
        dest = os.path.join(tmp, client + '.SYSTEM')
        with open(dest, 'wb') as f:
            f.write(read_file(disks[client], 'Windows/System32/config/SYSTEM', tmp))
        out[client] = identity.read_computer_name(Hive(dest))
    return out


@pytest.mark.xdist_group('fleet-job')
def test_converge_serves_each_client_its_own_name(fleet_env):
    first = fleet_env['first']
    store = fleet_env['store']
    assert first['changed'] and sorted(first['disks']) == ['kiosk-1', 'pc1', 'pc2']
    assert first['versions'] == {'lab': [1], 'sysprep': [1]}
    # the exports are raw files of the image's size
    for client, disk in first['disks'].items():
        assert os.path.getsize(disk) == os.path.getsize(fleet_env['goldens'][0]['image']), client
    disks, tmp = first['disks'], fleet_env['base']
    assert names_in(disks, ['pc1', 'pc2', 'kiosk-1'], tmp) == {'pc1': 'PC1', 'pc2': 'LAB-TWO', 'kiosk-1': 'KIOSK-1'}
    # the generalized image got its answer file, the other none
    assert b'<ComputerName>KIOSK-1</ComputerName>' in read_file(disks['kiosk-1'], 'Windows/Panther/unattend.xml', tmp)
    assert read_file(disks['pc1'], 'Windows/Panther/unattend.xml', tmp) is None
    assert json.load(open(os.path.join(store, 'overlays', 'kiosk-1.json')))['identity'] == 'unattend'
    # the golden images and their versions: unchanged, read-only
    for golden in fleet_env['goldens']:
        assert sha256(golden['image']) == fleet_env['sums'][golden['name']]
        assert os.stat(os.path.join(store, 'golden', golden['name'], 'v1.qcow2')).st_mode & 0o222 == 0


@pytest.mark.xdist_group('fleet-job')
def test_second_run_and_check_mode_change_nothing(fleet_env):
    again = fleet.run(fleet_params(fleet_env['store'], goldens=fleet_env['goldens'], clients=fleet_env['clients']), False)
    assert not again['changed'] and again['disks'] == fleet_env['first']['disks']
    more = fleet_env['clients'] + [{'name': 'pc3', 'golden': 'lab'}]
    check = fleet.run(fleet_params(fleet_env['store'], goldens=fleet_env['goldens'], clients=more), True)
    assert check['changed'] and not os.path.exists(os.path.join(fleet_env['store'], 'overlays', 'pc3.qcow2'))


@pytest.mark.xdist_group('fleet-job')
def test_bad_names_and_unknown_golden_are_refused_naming_the_client(fleet_env):
    bad = fleet_env['clients'] + [{'name': 'pc4', 'golden': 'lab', 'computer_name': 'THIS-NAME-IS-TOO-LONG'}]
    with pytest.raises(fleet.FleetError, match='client pc4: computer name'):
        fleet.run(fleet_params(fleet_env['store'], goldens=fleet_env['goldens'], clients=bad), False)
    with pytest.raises(fleet.FleetError, match="client pc5: sanboot_golden 'win11'"):
        fleet.run(fleet_params(fleet_env['store'], goldens=fleet_env['goldens'],
                               clients=[{'name': 'pc5', 'golden': 'win11'}]), False)
    with pytest.raises(fleet.FleetError, match='less than the reserve'):
        fleet.run(fleet_params(fleet_env['store'], goldens=fleet_env['goldens'],
                               clients=fleet_env['clients'] + [{'name': 'pc6', 'golden': 'lab'}], reserve='1000T'), False)
    assert not os.path.exists(os.path.join(fleet_env['store'], 'overlays', 'pc6.qcow2'))


@pytest.mark.xdist_group('fleet-job')
def test_fleet_report_gives_the_doctors_verdict_per_client(tmp_path):
    """playbooks/fleet_report.yml on the newest golden version: the fixture's Windows 7 is not converted, so a client
    with an e1000 is NOT READY with the doctor's finding ids; a client without NICs is not checked; JSON and a
    failure naming the client."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lab = make_windows_image(str(tmp_path / 'lab.img'))
    store = str(tmp_path / 'store')
    fleet.run(fleet_params(store, exports='none', goldens=[{'name': 'lab', 'image': lab, 'identity': False}],
                           clients=[{'name': 'pc1', 'golden': 'lab'}]), False)
    inv = {'all': {'children': {
        'sanboot_boot_servers': {'hosts': {'localhost': {
            'ansible_connection': 'local', 'ansible_become': False,
            'ansible_python_interpreter': os.path.join(root, '.venv', 'bin', 'python'),
            'sanboot_fleet_store': store, 'sanboot_golden_images': [{'name': 'lab', 'image': lab}]}}},
        'sanboot_clients': {'hosts': {
            'pc1': {'sanboot_mac': '52:54:00:00:00:01', 'sanboot_golden': 'lab',
                    'sanboot_nics': [{'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}]},
            'pc2': {'sanboot_mac': '52:54:00:00:00:02', 'sanboot_golden': 'lab'}}}}}}
    with open(str(tmp_path / 'inv.yml'), 'w') as f:
        yaml.safe_dump(inv, f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(root, 'build', 'collections'), ANSIBLE_NOCOLOR='1')
    env['PATH'] = os.path.join(root, '.venv', 'bin') + os.pathsep + env.get('PATH', '')
    out = str(tmp_path / 'report.json')
    res = subprocess.run(['ansible-playbook', '-i', str(tmp_path / 'inv.yml'), '-e', 'sanboot_fleet_report_file=' + out,
                          os.path.join(root, 'playbooks', 'fleet_report.yml')], env=env, capture_output=True, text=True,
                         check=False)
    assert res.returncode != 0 and 'The golden image is not ready for: pc1' in res.stdout, res.stdout[-3000:]
    with open(out) as f:
        report = json.load(f)
    assert report['pc1']['checked'] and report['pc1']['ready'] is False and report['pc1']['golden'] == 'lab'
    assert 'nic-not-boot-critical' in report['pc1']['errors']
    assert report['pc2'] == {'checked': False, 'errors': [], 'golden': 'lab', 'ready': None}
