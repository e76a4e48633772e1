# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restorable record (windows/record.py): what a conversion changed, kept in the hive itself, so that
state=absent puts back exactly what was there; the first record wins."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
from ansible_collections.sanboot.windows.plugins.module_utils.registry import REG_DWORD, REG_NONE, REG_SZ, Value
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError
from ansible_collections.sanboot.windows.plugins.module_utils.windows.record import (
    STATE_KEY, STATE_VERSION, plan_restore, record_originals,
)

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    dump_hive, iscsi_boot_params as params, run_plan,
)

E1000 = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
ISCSIPRT = ('ControlSet001', 'Services', 'iScsiPrt')
CDDB_ENTRY = ('ControlSet001', 'Control', 'CriticalDeviceDatabase', 'pci#ven_8086&dev_7111')


def change(hive, planner):
    """One change of each kind, and its record."""
    planner.ensure_value(ISCSIPRT, Value.dword('Start', 0))                                      # changed
    planner.ensure_value(('ControlSet001', 'Services', 'Tcpip', 'Parameters'),
                         Value.dword('DisableDhcpMediaSense', 1))                                # new value
    planner.ensure_value(('ControlSet001', 'Services', 'SanbootNew', 'Sub'), Value.sz('x', 'y'))  # new keys
    planner.ensure_value_absent(('ControlSet001', 'Services', 'atapi'), 'Tag')                   # deleted value
    planner.ensure_key_absent(CDDB_ENTRY)                                                        # deleted key
    record_originals(planner, list(planner.plan.ops))


def restore(keep=None):
    return lambda hive, planner: {'restored': plan_restore(hive, planner, keep)}


def recorded(path, sub):
    return [(v.name, v.type, v.data) for v in Hive(path).values(STATE_KEY + (sub,))]


def test_the_record_holds_what_was_there_and_restores_it_exactly(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    original = dump_hive(path)
    run_plan(path, change, backup=False)
    assert Hive(path).dword(STATE_KEY, 'Version') == STATE_VERSION
    # each changed or deleted value with its exact type and bytes (as the hive spells the keys), the values that
    # did not exist, the topmost key created, the keys deleted
    assert recorded(path, 'originals') == [
        ('ControlSet001\\services\\iScsiPrt\\Start', REG_DWORD, b'\x03\x00\x00\x00'),
        ('ControlSet001\\services\\atapi\\Tag', REG_DWORD, b'\x21\x00\x00\x00'),
        ('ControlSet001\\Control\\CriticalDeviceDatabase\\PCI#VEN_8086&DEV_7111\\Service', REG_SZ,
         'intelide\0'.encode('utf-16-le')),
        ('ControlSet001\\Control\\CriticalDeviceDatabase\\PCI#VEN_8086&DEV_7111\\ClassGUID', REG_SZ,
         '{4D36E96A-E325-11CE-BFC1-08002BE10318}\0'.encode('utf-16-le'))]
    assert recorded(path, 'absent') == [
        ('ControlSet001\\services\\Tcpip\\Parameters\\DisableDhcpMediaSense', REG_NONE, b'')]
    assert recorded(path, 'created') == [('ControlSet001\\services\\SanbootNew', REG_NONE, b'')]
    assert recorded(path, 'deleted') == [
        ('ControlSet001\\Control\\CriticalDeviceDatabase\\PCI#VEN_8086&DEV_7111', REG_NONE, b'')]
    result = run_plan(path, restore(), backup=False)
    assert result['restored'] == 6 and dump_hive(path) == original      # the record itself is gone too
    again = run_plan(path, restore(), backup=False)
    assert not again['changed'] and again['restored'] == 0


def test_the_first_record_wins_and_what_is_kept_stays(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    run_plan(path, change, backup=False)

    def again(hive, planner):
        # a later run changes our own change again: its "original" is ours, not Windows'
        planner.ensure_value(ISCSIPRT, Value.dword('Start', 1))
        record_originals(planner, list(planner.plan.ops))
    run_plan(path, again, backup=False)
    assert recorded(path, 'originals')[0] == ('ControlSet001\\services\\iScsiPrt\\Start', REG_DWORD,
                                              b'\x03\x00\x00\x00')
    # keep(path, name): a change Windows has made its own since stays (driverstore.adopted decides which)
    result = run_plan(path, restore(lambda key, name: name == 'Start'), backup=False)
    assert result['restored'] == 5 and Hive(path).dword(ISCSIPRT, 'Start') == 1
    assert not Hive(path).key_exists(STATE_KEY[:1])


def test_a_record_of_another_version_is_refused(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    run_plan(path, change, backup=False)

    def version_2(hive, planner):
        planner.ensure_value(STATE_KEY, Value.dword('Version', 2))
    run_plan(path, version_2, backup=False)
    with pytest.raises(BootError, match='holds sanboot.windows state of version 2; this version reads 1'):
        run_plan(path, restore(), backup=False)


# ---------------------------------------------------------------------------------------------------------
# through iscsi_boot

def test_later_runs_keep_the_first_originals(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    original = dump_hive(path)
    p = params(path, None, {'id': E1000, 'service': 'E1G60'}, {})
    iscsi_boot.run_iscsi_boot(p, check_mode=False)
    # A second run with more: another control set and AutoReboot.
    more = iscsi_boot.run_iscsi_boot(dict(p, control_sets='all', auto_reboot=False), check_mode=False)
    assert more['changed'] and more['control_sets'] == ['ControlSet001', 'ControlSet002']
    assert Hive(path).dword(('ControlSet002', 'Services', 'iScsiPrt'), 'Start') == 0
    iscsi_boot.run_iscsi_boot(dict(p, state='absent'), check_mode=False)
    assert dump_hive(path) == original
