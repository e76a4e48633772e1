# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offline modules' integration targets (tests/integration/targets/<name>) with the real ansible-playbook.

Each target asserts on its own results; this test also checks that the play did what the target means: every task
ran (the recap's counts: tasks ok, of them changed, and the failures the target expects and then asserts on, which it
ignores), every assert task passed, and the hives it leaves hold exactly its changes, read back with the engine's
hive reader and compared key by key with the fixture they were copied from (libhivex)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value
from ansible_collections.sanboot.windows.tests.helpers import (
    ROOT, dump_hive, run_integration_target, sha256, unpacked_hive,
)

NET = '{4D36E972-E325-11CE-BFC1-08002BE10318}'
CDDB = ('ControlSet001', 'Control', 'CriticalDeviceDatabase')
# The play recap of each target: tasks ok, of them changed, failures expected (and asserted on) and ignored.
RECAP = {
    'critical_device': {'ok': 20, 'changed': 5, 'ignored': 2},
    'hive_regedit': {'ok': 26, 'changed': 11, 'ignored': 4},
    'iscsi_boot': {'ok': 15, 'changed': 8, 'ignored': 0},
}


def recap(stdout):
    line = re.search(r'^localhost\s+:\s+(.*)$', stdout, re.M).group(1)
    return dict((name, int(count)) for name, count in re.findall(r'(\w+)=(\d+)', line))


def assert_tasks(target):
    with open(os.path.join(ROOT, 'tests', 'integration', 'targets', target, 'tasks', 'main.yml')) as handle:
        return [task['name'] for task in yaml.safe_load(handle) if 'ansible.builtin.assert' in task]


def changes(fixture, path):
    """What differs between a fixture hive and the hive a target left: '+key', '-key', '~key\\value'."""
    before, after = dump_hive(unpacked_hive(fixture)), dump_hive(path)
    out = ['+' + '\\'.join(k) for k in after if k not in before] + ['-' + '\\'.join(k) for k in before if k not in after]
    for key in set(before) & set(after):
        out += ['~%s\\%s' % ('\\'.join(key), name) for name in set(before[key]) | set(after[key])
                if before[key].get(name) != after[key].get(name)]
    return sorted(out)


def left_by_critical_device(out):
    # the specific e1000 entry stays (the generic one was removed), the netkvm entry and service come from the package
    system = os.path.join(out, 'SYSTEM')
    assert changes('win7-sp1-x86.SYSTEM', system) == [
        '+ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1000&subsys_00011af4&rev_00',
        '+ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_100e&subsys_11001af4&rev_03',
        '+ControlSet001\\services\\netkvm', '+ControlSet001\\services\\netkvm\\Parameters',
        '~ControlSet001\\services\\E1G60\\Start']
    hive = Hive(system)
    for entry, service in (('pci#ven_8086&dev_100e&subsys_11001af4&rev_03', 'E1G60'),
                           ('pci#ven_1af4&dev_1000&subsys_00011af4&rev_00', 'netkvm')):
        assert sorted(hive.values(CDDB + (entry,)), key=lambda v: v.name) == [
            Value.sz('ClassGUID', NET), Value.sz('Service', service)]
    assert hive.dword(('ControlSet001', 'Services', 'E1G60'), 'Start') == 0
    assert hive.dword(('ControlSet001', 'Services', 'E1G60'), 'BootFlags') == 1
    netkvm = dict((v.name, v.decoded()) for v in hive.values(('ControlSet001', 'Services', 'netkvm')))
    assert (netkvm['Start'], netkvm['Type'], netkvm['Group'], netkvm['ImagePath']) == (
        0, 1, 'NDIS', '\\SystemRoot\\System32\\drivers\\netkvm.sys')
    # one backup: of the hive as it was before the first write
    [backup] = [f for f in os.listdir(out) if f.startswith('SYSTEM.') and f.endswith('~')]
    assert sha256(os.path.join(out, backup)) == sha256(unpacked_hive('win7-sp1-x86.SYSTEM'))


def left_by_hive_regedit(out):
    # AutoReboot stays set; the test key was deleted again; the seven tasks' key; the SOFTWARE policy value
    assert changes('win7-sp1-x86.SYSTEM', os.path.join(out, 'SYSTEM')) == [
        '~ControlSet001\\Control\\CrashControl\\AutoReboot']
    assert Hive(os.path.join(out, 'SYSTEM')).dword(('ControlSet001', 'Control', 'CrashControl'), 'AutoReboot') == 0
    assert changes('win7-sp1-x86.SYSTEM', os.path.join(out, 'SYSTEM7')) == ['+ControlSet001\\services\\SanbootSeven']
    seven = Hive(os.path.join(out, 'SYSTEM7')).values(('ControlSet001', 'Services', 'SanbootSeven'))
    assert seven == [Value.dword('v%d' % n, n) for n in range(1, 8)]
    policies = 'Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions'
    assert changes('phony-win10.SOFTWARE', os.path.join(out, 'SOFTWARE')) == [
        '+' + '\\'.join(policies.split('\\')[:n]) for n in range(1, 6)]
    assert Hive(os.path.join(out, 'SOFTWARE')).values(tuple(policies.split('\\'))) == [
        Value.dword('DenyUnspecified', 1)]
    assert sorted(f.split('.')[0] for f in os.listdir(out) if f.endswith('~')) == ['SOFTWARE', 'SYSTEM', 'SYSTEM7']


def left_by_iscsi_boot(out):
    # converted, then undone: both hives exactly as they were, with one backup each of that state
    for name, fixture in (('SYSTEM', 'win10-1903-x64-dirty.SYSTEM'), ('DRIVERS', 'win10-1903-x64.DRIVERS')):
        assert changes(fixture, os.path.join(out, name)) == [], name
        [backup] = [f for f in os.listdir(out) if f.startswith(name + '.') and f.endswith('~')]
        assert sha256(os.path.join(out, backup)) == sha256(unpacked_hive(fixture)), name
    assert not Hive(os.path.join(out, 'SYSTEM'), allow_dirty=True).key_exists(('sanboot.windows',))


LEFT = {'critical_device': left_by_critical_device, 'hive_regedit': left_by_hive_regedit,
        'iscsi_boot': left_by_iscsi_boot}


@pytest.mark.parametrize('target', sorted(RECAP))
def test_target(target, tmp_path):
    proc = run_integration_target(target, tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert recap(proc.stdout) == dict(RECAP[target], unreachable=0, failed=0, skipped=0, rescued=0), \
        proc.stdout[-6000:]
    asserts = assert_tasks(target)
    assert asserts and proc.stdout.count('"msg": "All assertions passed"') == len(asserts), asserts
    LEFT[target](str(tmp_path / 'out'))
