# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The driver store offline (windows/driverstore.py): staging a package's files and records (their content is
checked against Windows' in test_ddb.py), the signature warnings of a staged boot driver, the first-boot step, and
state=absent keeping a package Windows has installed since."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner, Value
from ansible_collections.sanboot.windows.plugins.module_utils.windows import ddb, driverstore

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    FIXTURES, dump_hive, make_driver_package, regedit_plan, run_plan, unpacked_hive,
)

WIN10 = 'win10-1903-x64-dirty.SYSTEM'
VIRTIO_WIN = os.path.join(FIXTURES, 'inf', 'virtio-win')


# ---------------------------------------------------------------------------------------------------------
# signatures of a staged boot driver

def test_boot_start_driver_without_embedded_signature_is_warned(tmp_path):
    inf_path = make_driver_package(str(tmp_path / 'pkg'), os.path.join(VIRTIO_WIN, 'netkvm_w10_template.inf'),
                                   {'$ARCH$': 'amd64'}, signed=False, name='netkvm.inf')
    driver = inf.read_inf(inf_path, inf.parse_target('win10', 'amd64'))
    staging = driverstore.collect_files(driver)
    amd64 = type('OsInfo', (), {'arch': 'amd64'})()
    warnings = driverstore.signature_warnings(driver, staging.store_files, amd64, 'netkvm.sys')
    assert len(warnings) == 1 and 'netkvm.sys has no embedded signature' in warnings[0]
    assert driverstore.signature_warnings(driver, staging.store_files, type('OsInfo', (), {'arch': 'x86'})()) == []


# ---------------------------------------------------------------------------------------------------------
# the first-boot step

def test_first_boot_step_is_setup_cmdline_and_refuses_a_pending_setup(hive_copy):
    path = hive_copy(WIN10)
    hive = Hive(path, allow_dirty=True)
    planner = Planner(hive)
    driverstore.plan_first_boot(planner, hive)
    assert planner.get_value(('Setup',), 'CmdLine') == Value.sz('CmdLine', driverstore.first_boot_command())
    assert planner.get_value(('Setup',), 'SetupType').decoded() == 2
    assert driverstore.first_boot_pending(planner)
    busy = Planner(hive)
    busy.ensure_value(('Setup',), Value.sz('CmdLine', 'oobe\\windeploy.exe'))
    busy.ensure_value(('Setup',), Value.dword('SetupType', 2))
    with pytest.raises(driverstore.StagingError, match='setup step of its own pending'):
        driverstore.plan_first_boot(Planner(busy), busy)


def test_first_boot_script_uses_the_pnputil_of_the_build():
    staging = driverstore.Staging(type('D', (), {'path': '/x/netkvm.inf', 'name': 'netkvm.inf'})(), 'amd64')
    staging.label, staging.oem_inf = 'netkvm.inf_amd64_0123456789abcdef', 'oem12.inf'
    new = driverstore.first_boot_script([staging], 19045).decode('ascii')
    old = driverstore.first_boot_script([staging], 9600).decode('ascii')
    store = '%SystemRoot%\\System32\\DriverStore\\FileRepository\\netkvm.inf_amd64_0123456789abcdef\\netkvm.inf'
    assert 'pnputil /add-driver "%s" /install' % store in new and 'pnputil -i -a' not in new
    assert 'pnputil -i -a "%s"' % store in old and '/add-driver' not in old
    assert '\r\n' in new and new.index('SetupType') < new.index('pnputil')      # run once, whatever happens
    assert new.rstrip().endswith('(goto) 2>nul & del "%~f0"')
    assert 'sanboot\\firstboot.log' in new


# ---------------------------------------------------------------------------------------------------------
# undo: what Windows has made its own stays

def test_absent_keeps_a_package_windows_has_installed_since_and_takes_back_the_rest(hive_copy, tmp_path):
    system, drivers = hive_copy(WIN10), hive_copy('win10-1903-x64.DRIVERS')
    package = os.path.dirname(make_driver_package(str(tmp_path / 'pkg'), os.path.join(
        VIRTIO_WIN, 'netkvm_w10_template.inf'), {'$ARCH$': 'amd64'}, name='netkvm.inf'))
    p = dict(hive=system, drivers_hive=drivers, software_hive=unpacked_hive('phony-win10.SOFTWARE'),
             nics=['PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'], drivers=[package], allow_dirty=True,
             backup=False)
    before = dump_hive(system)
    staged = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    label = staged['nics'][0]['driver_database']['package']
    assert staged['files_to_copy'] and staged['nics'][0]['driver_database']['published_inf'] == 'oem12.inf'
    # Windows installs the package on the adapter at the first boot: its class key names the published INF.
    run_plan(system, regedit_plan('CurrentControlSet\\Control\\Class\\{4d36e972-e325-11ce-bfc1-'
                                  '08002be10318}\\0042', name='InfPath', data='oem12.inf'),
             allow_dirty=True, backup=False)
    undone = iscsi_boot.run_iscsi_boot(dict(p, state='absent'), check_mode=False)
    assert undone['packages_kept'] == ['oem12.inf'] and not undone['packages_removed']
    assert any('oem12.inf' in w and 'stays' in w for w in undone['warnings'])
    after = Hive(system, allow_dirty=True)
    assert after.key_exists(ddb.PACKAGES + (label,)) and after.key_exists(('ControlSet001', 'Services', 'netkvm'))
    assert Hive(drivers).key_exists(ddb.PACKAGES + (label,))
    assert after.dword(('ControlSet001', 'Services', 'iScsiPrt'), 'Start') == \
        Hive(unpacked_hive(WIN10), allow_dirty=True).dword(('ControlSet001', 'Services', 'iScsiPrt'), 'Start')
    assert not after.key_exists(('sanboot.windows',)) and not undone.get('files_to_remove')
    # Everything that is not the package is as it was.
    now = dump_hive(system)
    ours = [k for k in now if label in k or 'netkvm' in [p.lower() for p in k] or 'oem12.inf' in k or
            'oem12.inf' in [n.lower() for n in now[k]]]
    assert set(now) - set(before) == set(k for k in ours if k not in before) | \
        {('ControlSet001', 'Control', 'Class', '{4d36e972-e325-11ce-bfc1-08002be10318}', '0042')}
