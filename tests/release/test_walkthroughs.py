# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/user-guide.md walk-throughs 1 (a disk image in a pipeline) and 2 (a running Windows over WinRM), run as
written: the guide's Install section (its own home and venv, the release tarball installed), then each
walk-through's marked blocks in order with bash. What stands in for the user's environment is listed in the guide's
"How this guide is tested" section. Walk-through 3 is in test_walkthrough_server.py."""

from __future__ import absolute_import, division, print_function

import os
import re
import shutil

import pytest
import yaml

pytest.importorskip('hivex')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    dump_hive, make_windows_image, read_from_image, unpacked_hive,
)
from ansible_collections.sanboot.windows.tests.release import release_helpers as rh  # noqa: E402

# The release stage runs two groups side by side (pytest-xdist --dist loadgroup), about even in time:
# a = walk-through 3, docs, execution environment; b = walk-throughs 1 and 2, the oldest ansible-core, the artefact.
pytestmark = pytest.mark.xdist_group('release-b')

E1000 = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}
VMWARE_E1000 = 'PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01'


def _missing(tools):
    return [t for t in tools if shutil.which(t) is None]


@pytest.fixture(scope='module')
def user():
    return rh.guide_user()


@pytest.mark.skipif(os.geteuid() != 0, reason='the fixture image is built with ntfs-3g over FUSE, as root')
def test_walkthrough_image_pipeline(user, tmp_path):
    pytest.importorskip('guestfs')
    missing = _missing(['mkntfs', 'ntfs-3g', 'ntfscat', 'sfdisk', 'qemu-img'])
    if missing:
        pytest.skip('missing: %s' % ', '.join(missing))
    image = str(tmp_path / 'build' / 'win7.qcow2')
    target = str(tmp_path / 'sanboot' / 'images')
    os.makedirs(os.path.dirname(image))
    make_windows_image(image, fmt='qcow2')
    work = tmp_path / 'work'
    work.mkdir()
    rc, out = rh.run_walk('image', str(work), user, str(tmp_path / 'walk.log'),
                          settings={'IMAGE': image, 'TARGET_DIR': target})
    assert rc == 0, out[-8000:]
    # the role's verdict, as the guide says the last task prints it
    assert re.search(r'win7\.qcow2 \(Microsoft Windows 7[^)]*\): ready', out), out[-5000:]
    assert re.search(r'localhost\s+: ok=\d+\s+changed=[1-9]\d*\s+unreachable=0\s+failed=0', out), out[-3000:]
    placed = os.path.join(target, 'win7.img')
    assert os.path.isfile(placed) and 'win7.img' in out
    # the placed raw image holds a SYSTEM hive that is ready for the e1000 (read back without libguestfs)
    hive = read_from_image(placed, '/Windows/System32/config/SYSTEM', str(tmp_path / 'SYSTEM'), fmt='raw')
    assert hive is not None
    report = iscsi_boot.run_iscsi_boot_info(dict(hive=hive, nics=[E1000], drivers=[]))
    assert report['ready'] is True and report['converted'] is True, report['findings']
    # the guide's promise: the previous hive is kept beside the image
    assert [n for n in os.listdir(os.path.dirname(image)) if n.startswith('win7.qcow2.SYSTEM.') and n.endswith('~')]


def test_walkthrough_winrm(user, tmp_path):
    pytest.importorskip('winrm')
    from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Machine
    from ansible_collections.sanboot.windows.tests.winrm_endpoint.server import Endpoint
    password = 'Guide-Secret-73'
    (tmp_path / 'host').mkdir()
    # the fixture's Windows 7 runs on VMware's e1000 now (an adapter its hive has set up, present as
    # `reg query ...\Enum\PCI` shows it) and is to boot from iSCSI on QEMU's e1000
    machine = Machine(str(tmp_path / 'host'), unpacked_hive('win7-sp1-x86.SYSTEM'),
                      unpacked_hive('phony-win7-32.SOFTWARE'), present={VMWARE_E1000 + '\\4&b70f118&0&0888': 'E1G60'})
    work = tmp_path / 'work'
    with Endpoint(machine, password=password) as endpoint:
        # the test's host_vars outrank the guide's inventory file: the endpoint instead of 192.0.2.21:5986
        overlay = work / 'host_vars' / 'win7-pc1'
        overlay.mkdir(parents=True)
        (overlay / 'zz-test.yml').write_text(yaml.safe_dump({
            'ansible_host': '127.0.0.1', 'ansible_port': endpoint.port, 'ansible_winrm_scheme': 'http',
            'ansible_winrm_message_encryption': 'never', 'ansible_password': password}))
        rc, out = rh.run_walk('winrm', str(work), user, str(tmp_path / 'walk.log'))
    assert rc == 0, out[-8000:]
    doctor_before = out[out.index('ansible-playbook -i windows.yml doctor.yml\n'):out.index('writes convert.yml')]
    assert '"ready: False"' in doctor_before and 'nic-not-boot-critical' in doctor_before, doctor_before[-4000:]
    # debug prints the list's repr inside JSON: each backslash of the ID shows as four
    assert '"present now: [\'%s\']"' % VMWARE_E1000.replace('\\', '\\' * 4) in doctor_before, doctor_before[-4000:]
    after = out[out.index('convert.yml --check --diff'):]
    assert '+"DisablePagingExecutive"=dword:00000001' in after          # the diff, as .reg text
    assert re.search(r'registry operations, ready: True', after), after[-4000:]
    assert after.rstrip().count('ready: True') >= 2                      # convert and the doctor after it
    assert password not in out
    # the host's hive is what the offline engine makes of the same hive
    copy = str(tmp_path / 'offline-SYSTEM')
    shutil.copyfile(unpacked_hive('win7-sp1-x86.SYSTEM'), copy)
    os.chmod(copy, 0o644)
    iscsi_boot.run_iscsi_boot(dict(hive=copy, software_hive=unpacked_hive('phony-win7-32.SOFTWARE'), nics=[E1000],
                                   auto_reboot=False, backup=False), check_mode=False)
    assert dump_hive(machine.system) == dump_hive(copy)
