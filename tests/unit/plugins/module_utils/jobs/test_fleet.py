# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jobs/fleet.py without an appliance (a golden image with identity: false): real qemu-img and qemu-storage-daemon
exports; converge, each client's writes its own, status and its report, capacity, promote, retire refused naming
the clients, reset, a new client on the newest version. Identity through libguestfs: tests/integration/
test_fleet_job.py; everything through the boot chain: tests/integration/test_fleet_boot.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import fleet
from ansible_collections.sanboot.windows.tests.helpers import fleet_params, sha256

needs = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('qemu-storage-daemon') or not shutil.which('qemu-img')
                           or not os.path.exists('/dev/fuse'), reason='needs root, /dev/fuse, qemu-storage-daemon')
MARK = 512


def read_at(disk, offset, size):
    with open(disk, 'rb') as f:
        f.seek(offset)
        return f.read(size)


def write_at(disk, offset, data):
    with open(disk, 'r+b') as f:
        f.seek(offset)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@pytest.mark.parametrize('text, size', [('4096', 4096), ('20G', 20 << 30), ('1.5K', 1536), ('512MiB', 512 << 20),
                                        ('', None), (None, None)])
def test_sizes(text, size):
    assert fleet.to_bytes(text, 'x') == size


def test_bad_size_names_the_setting():
    with pytest.raises(fleet.FleetError, match='sanboot_overlay_max_size .*not a size'):
        fleet.to_bytes('lots', 'sanboot_overlay_max_size')


@pytest.fixture
def lab(tmp_path):
    golden = str(tmp_path / 'lab.img')
    with open(golden, 'wb') as f:
        f.truncate(8 << 20)
        f.seek(MARK)
        f.write(b'GOLDEN-V1'.ljust(16))
    store = str(tmp_path / 'store')
    env = {'golden': golden, 'sum': sha256(golden), 'store': store, 'base': str(tmp_path),
           'goldens': [{'name': 'lab', 'image': golden, 'identity': False}],
           'clients': [{'name': n, 'golden': 'lab'} for n in ('pc1', 'pc2', 'pc3')]}
    yield env
    for client in ('pc1', 'pc2', 'pc3', 'pc4'):
        fleet.Fleet(fleet_params(store), False).export(client).stop()


@needs
def test_lifecycle(lab):
    store = lab['store']
    p = {'goldens': lab['goldens'], 'clients': lab['clients']}
    # check mode creates nothing
    check = fleet.run(fleet_params(store, **p), True)
    assert check['changed'] and not os.path.exists(store)
    first = fleet.run(fleet_params(store, **p), False)
    disks = first['disks']
    assert first['changed'] and sorted(disks) == ['pc1', 'pc2', 'pc3'] and first['versions'] == {'lab': [1]}
    assert not fleet.run(fleet_params(store, **p), False)['changed']
    # each client writes its own marker through its export; the others keep the golden's
    write_at(disks['pc1'], MARK, b'MARK-pc1'.ljust(16))
    write_at(disks['pc2'], MARK, b'MARK-pc2'.ljust(16))
    assert read_at(disks['pc1'], MARK, 8) == b'MARK-pc1' and read_at(disks['pc2'], MARK, 8) == b'MARK-pc2'
    assert read_at(disks['pc3'], MARK, 9) == b'GOLDEN-V1'
    # status: the report as JSON, and the same in the result
    report = os.path.join(lab['base'], 'report.json')
    status = fleet.run(fleet_params(store, action='status', report=report, **p), False)
    with open(report) as f:
        data = json.load(f)
    assert data == status['report'] and not status['changed']
    assert data['clients']['pc1']['golden'] == 'lab' and data['clients']['pc1']['version'] == 1
    assert data['clients']['pc1']['allocated_bytes'] > 0 and data['clients']['pc1']['logged_in'] is None
    assert data['versions'] == {'lab': [1]} and data['store_free_bytes'] > 0
    # capacity: over max_size names the clients, below the reserve fails, nothing created below it
    with pytest.raises(fleet.FleetError, match=r'max_size \(1\.0 KiB\): pc1 .*pc2 .*pc3') as err:
        fleet.run(fleet_params(store, action='status', max_size='1K', **p), False)
    assert set(err.value.data['report']['clients']) == {'pc1', 'pc2', 'pc3'}
    with pytest.raises(fleet.FleetError, match='less than sanboot_overlay_reserve'):
        fleet.run(fleet_params(store, action='status', reserve='1000T', **p), False)
    more = {'goldens': lab['goldens'], 'clients': lab['clients'] + [{'name': 'pc4', 'golden': 'lab'}]}
    with pytest.raises(fleet.FleetError, match='less than the reserve .*creating the overlay of client pc4'):
        fleet.run(fleet_params(store, reserve='1000T', **more), False)
    assert not os.path.exists(os.path.join(store, 'overlays', 'pc4.qcow2'))
    # promote: exactly one client; pc2's disk is version 2; pc2 still served
    with pytest.raises(fleet.FleetError, match='exactly one client'):
        fleet.run(fleet_params(store, action='promote', only=['pc1', 'pc2'], **p), False)
    assert fleet.run(fleet_params(store, action='promote', only=['pc2'], **p), False)['version'] == 2
    assert read_at(disks['pc2'], MARK, 8) == b'MARK-pc2'
    assert os.stat(os.path.join(store, 'golden', 'lab', 'v2.qcow2')).st_mode & 0o222 == 0
    # retire: refused while used, naming the clients
    with pytest.raises(fleet.FleetError, match='version 1 is in use by: pc1, pc2, pc3;') as err:
        fleet.run(fleet_params(store, action='retire', golden='lab', version=1, **p), False)
    assert err.value.data['users'] == ['pc1', 'pc2', 'pc3']
    # reset pc1 and pc3: onto version 2 (pc2's disk), pc1's own marker gone
    with pytest.raises(fleet.FleetError, match='unknown client'):
        fleet.run(fleet_params(store, action='reset', only=['nobody'], **p), False)
    reset = fleet.run(fleet_params(store, action='reset', only=['pc1', 'pc3'], **p), False)
    assert reset['reset'] == {'pc1': {'golden': 'lab', 'version': 2}, 'pc3': {'golden': 'lab', 'version': 2}}
    assert read_at(disks['pc1'], MARK, 8) == b'MARK-pc2'
    # a new client gets the newest version
    added = fleet.run(fleet_params(store, **more), False)
    assert read_at(added['disks']['pc4'], MARK, 8) == b'MARK-pc2'
    with open(os.path.join(store, 'overlays', 'pc4.json')) as f:
        assert json.load(f)['version'] == 2
    with pytest.raises(fleet.FleetError, match='in use by: pc2;'):
        fleet.run(fleet_params(store, action='retire', golden='lab', version=1, **more), False)
    # a changed golden source is a new version; clients stay where they are
    with open(lab['golden'], 'r+b') as f:
        f.seek(MARK)
        f.write(b'GOLDEN-V3'.ljust(16))
    lab['sum'] = sha256(lab['golden'])
    assert fleet.run(fleet_params(store, **more), False)['versions'] == {'lab': [1, 2, 3]}
    assert read_at(added['disks']['pc4'], MARK, 8) == b'MARK-pc2'
    assert sha256(lab['golden']) == lab['sum']
