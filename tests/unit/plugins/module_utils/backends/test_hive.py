# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hive file back-end (backends/hive.py) on real hives: refusal of bad input, control sets, case, value
preservation, atomic writes that agree with hivexregedit; the reader on 5,000 damaged copies of the fixtures; and
our writes read back by two parsers that share no code with libhivex."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends import regf
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive, HiveError
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ, RegistryError, Value,
)
from ansible_collections.sanboot.windows.plugins.module_utils.windows.hives import hive_kind

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    COLLECTIONS, cddb_plan, dump_hive, regedit_plan, run_plan, sha256 as sha, unpacked_hive,
)
from ansible_collections.sanboot.windows.tests.regreaders import apply_reg, assert_readers_see  # noqa: E402


# ---------------------------------------------------------------------------------------------------------
# bad input: one clear message, file byte-identical

def _truncated(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM', 'truncated')
    with open(path, 'r+b') as f:
        f.truncate(200 * 1024)
    return path


def _garbage(hive_copy, tmp_path):
    path = str(tmp_path / 'garbage')
    with open(path, 'wb') as f:
        f.write(os.urandom(64 * 1024))
    return path


def _bad_checksum(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM', 'badsum')
    with open(path, 'r+b') as f:
        f.seek(0x1FC)
        f.write(b'\x00\x00\x00\x00')
    return path


@pytest.mark.parametrize('make, message', [
    (lambda hc, tp: hc('corrupted.SYSTEM'), 'not a readable registry hive'),
    (lambda hc, tp: hc('win81-x64-dirty.SYSTEM'), r'not cleanly written: its header sequence numbers differ \(205 != 204\)'),
    (lambda hc, tp: hc('win10-1903-x64-dirty.SYSTEM'), 'allow_dirty: true'),
    (lambda hc, tp: hc('minimal.hive'), 'is not a SYSTEM hive: it has no Select key'),
    (lambda hc, tp: hc('phony-win10.SOFTWARE'), 'is not a SYSTEM hive'),
    (lambda hc, tp: _truncated(hc), 'truncated or corrupt|damaged'),
    (_garbage, 'no "regf" signature'),
    (lambda hc, tp: _bad_checksum(hc), 'checksum is wrong'),
])
def test_bad_hives_fail_clearly_and_stay_identical(hive_copy, tmp_path, make, message):
    path = make(hive_copy, tmp_path)
    before = sha(path)
    with pytest.raises(HiveError, match=message):
        run_plan(path, cddb_plan())
    assert sha(path) == before
    assert sorted(os.listdir(os.path.dirname(path))) == sorted(os.listdir(os.path.dirname(path)))
    assert not [f for f in os.listdir(os.path.dirname(path)) if f.endswith(('~', '.sanboot-tmp'))]


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(HiveError, match='does not exist'):
        run_plan(str(tmp_path / 'nope'), cddb_plan())
    with pytest.raises(HiveError, match='is a directory'):
        run_plan(str(tmp_path), cddb_plan())


def test_dirty_hive_with_allow_dirty_is_written_clean(hive_copy, reg_cross_check):
    path = hive_copy('win81-x64-dirty.SYSTEM')
    original = unpacked_hive('win81-x64-dirty.SYSTEM')
    result = run_plan(path, regedit_plan('HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters',
                                         name='DisableDhcpMediaSense', data=1, type_name='dword'),
                      allow_dirty=True)
    assert result['changed'] and result['dirty']
    hive = Hive(path)
    assert not hive.header.dirty
    assert hive.dword(('ControlSet001', 'Services', 'Tcpip', 'Parameters'), 'DisableDhcpMediaSense') == 1
    reg_cross_check(original, path, result['reg'])


# ---------------------------------------------------------------------------------------------------------
# control sets and paths

def test_control_sets_follow_select(hive_copy):
    hive = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    assert hive.select() == {'Current': 1, 'Default': 1, 'LastKnownGood': 2}
    assert hive.control_sets('current') == ['ControlSet001']
    assert hive.control_sets('all') == ['ControlSet001', 'ControlSet002']
    assert hive.resolve('CurrentControlSet\\Services') == ('ControlSet001', 'Services')
    assert Hive(unpacked_hive('phony-windows.SYSTEM')).control_sets('all') == ['ControlSet001']


def test_current_zero_falls_back_to_default(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    run_plan(path, regedit_plan('Select', name='Current', data=0, type_name='dword'), backup=False)
    run_plan(path, regedit_plan('Select', name='Default', data=2, type_name='dword'), backup=False)
    hive = Hive(path)
    assert hive.control_sets('current') == ['ControlSet002']
    result = run_plan(path, regedit_plan('HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip', name='Start',
                                         data=0, type_name='dword'))
    assert result['key'] == 'ControlSet002\\services\\Tcpip'  # stored spelling


def test_select_pointing_nowhere_is_an_error(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    run_plan(path, regedit_plan('Select', name='Current', data=7, type_name='dword'), backup=False)
    before = sha(path)
    with pytest.raises(HiveError, match='names ControlSet007 as the current control set'):
        run_plan(path, cddb_plan())
    assert sha(path) == before


def test_paths_are_case_insensitive_and_keep_stored_spelling():
    hive = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    assert hive.key_exists(('controlset001', 'CONTROL', 'criticaldevicedatabase', 'PCI#VEN_8086&DEV_7111'))
    assert hive.real_path(('controlset001', 'control', 'criticaldevicedatabase', 'pci#ven_8086&dev_7111')) == \
        ('ControlSet001', 'Control', 'CriticalDeviceDatabase', 'PCI#VEN_8086&DEV_7111')
    assert hive.get_value(('ControlSet001', 'services', 'ATAPI'), 'imagepath').decoded() == \
        'system32\\drivers\\atapi.sys'


def test_special_names_round_trip(hive_copy, reg_cross_check):
    path = hive_copy('special-names.hive')
    original = unpacked_hive('special-names.hive')
    hive = Hive(path)
    assert sorted(hive.subkeys(())) == sorted(['abcd_äöüß', 'weird™', 'zero\x00key'])
    result = run_plan(path, regedit_plan('ABCD_ÄÖÜß', name='neu_ü', data='wert™', type_name='string'))
    assert result['changed'] and result['key'] == 'abcd_äöüß'
    reg_cross_check(original, path, result['reg'], prefix='HKEY_LOCAL_MACHINE\\OFFLINE')
    assert not run_plan(path, regedit_plan('abcd_äöüß', name='NEU_Ü', data='wert™'))['changed']


# ---------------------------------------------------------------------------------------------------------
# values

def test_setting_one_value_keeps_the_others(hive_copy):
    path = hive_copy('win7-sp1-x86.SYSTEM')
    key = ('ControlSet001', 'Services', 'atapi')
    before = dict((v.name, v) for v in Hive(path).values(key))
    run_plan(path, regedit_plan('ControlSet001\\Services\\atapi', name='Start', data=3, type_name='dword'))
    after = dict((v.name, v) for v in Hive(path).values(key))
    assert after.pop('Start') == Value.dword('Start', 3)
    before.pop('Start')
    assert after == before and 'Tag' in after and 'ImagePath' in after


def test_unknown_types_are_read_and_preserved(hive_copy):
    path = hive_copy('win10-1903-x64-dirty.SYSTEM')
    hive = Hive(path, allow_dirty=True)
    # Find a key holding a value of type 0x40007 (REG_MULTI_SZ with high flag bits).
    found = None
    stack = [()]
    while stack and found is None:
        key = stack.pop()
        for v in hive.values(key):
            if v.type == 0x40007:
                found = (key, v)
                break
        stack.extend(key + (c,) for c in hive.subkeys(key))
    assert found, 'fixture should hold a 0x40007 value'
    key, odd = found
    others = [v for v in hive.values(key) if v.name != odd.name]
    run_plan(path, regedit_plan('\\'.join(key), name='SanbootProbe', data=1, type_name='dword'),
             allow_dirty=True, backup=False)
    assert Hive(path).get_value(key, odd.name) == odd
    # Deleting a value rewrites the key's value list: the odd value must survive that too.
    run_plan(path, regedit_plan('\\'.join(key), name='SanbootProbe', state='absent'), backup=False)
    reread = Hive(path)
    assert reread.get_value(key, odd.name) == odd
    assert sorted((v.name, v.type, v.data) for v in reread.values(key) if v.name != odd.name) == \
        sorted((v.name, v.type, v.data) for v in others)


# ---------------------------------------------------------------------------------------------------------
# writes: atomic, and the same hive as hivexregedit's merge of our .reg text

CRASH_SCRIPT = r'''
import sys
sys.path.insert(0, %(collections)r)
from ansible_collections.sanboot.windows.tests.helpers import cddb_plan, run_plan
run_plan(sys.argv[1], cddb_plan(['PCI\\VEN_%%04X&DEV_BEEF' %% i for i in range(400)]), backup=False)
'''


NOBODY = 65534


@pytest.fixture
def crash_site(hive_copy):
    """(fresh hive, command prefix, lock folder) for the kill test in each mode: a hive in a folder this process may
    write, run as itself; or, as root, a hive user nobody may write in a folder nobody may not (written in place
    through the journal), run as nobody."""
    sites = []

    def make(mode):
        if mode == 'folder':
            folder = tempfile.mkdtemp(prefix='sanboot-crash-')
            sites.append(folder)
            locks = os.path.join(folder, 'locks')
            os.mkdir(locks)
            return (lambda: hive_copy('win7-sp1-x86.SYSTEM'), [], locks)
        if os.geteuid() != 0:
            pytest.skip('needs root (a read-only folder for another user)')
        folder = tempfile.mkdtemp(prefix='sanboot-crash-')
        sites.append(folder)
        os.chmod(folder, 0o755)
        config, locks = os.path.join(folder, 'config'), os.path.join(folder, 'locks')
        os.mkdir(config, 0o755)
        os.mkdir(locks, 0o755)
        os.chown(locks, NOBODY, NOBODY)

        def fresh():
            path = os.path.join(config, 'SYSTEM')
            shutil.copyfile(unpacked_hive('win7-sp1-x86.SYSTEM'), path)
            os.chown(path, NOBODY, NOBODY)
            os.chmod(path, 0o644)
            for name in os.listdir(locks):
                os.unlink(os.path.join(locks, name))
            return path
        return fresh, ['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups'], locks
    yield make
    for folder in sites:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize('mode', ['folder', 'read-only folder'])
def test_killed_at_any_moment_leaves_old_or_new_hive_and_a_rerun_finishes(crash_site, mode):
    """SIGKILL the writer at 20 random moments: the hive is byte-identical to the old one, or a finished new one, or
    (written in place, in a read-only folder) its journal is complete and the next run finishes it; a rerun always
    ends with the new hive, and nothing of ours is left beside it.

    A finished hive carries the time it was written, so "finished" is checked on content (every key and value).
    """
    fresh, prefix, locks = crash_site(mode)
    script = os.path.join(locks, '..', 'writer.py')
    with open(script, 'w') as f:
        f.write(CRASH_SCRIPT % {'collections': COLLECTIONS})
    os.chmod(script, 0o644)
    env = dict(os.environ, SANBOOT_LOCK_DIR=locks)
    path = fresh()
    old = sha(path)
    t0 = time.time()
    subprocess.run(prefix + [sys.executable, script, path], check=True, env=env)
    full = time.time() - t0
    new = dump_hive(path)
    assert sha(path) != old
    rng = random.Random(7)
    states = {'old': 0, 'new': 0, 'journal': 0}
    killed = 0
    for attempt in range(20):
        path = fresh()
        proc = subprocess.Popen(prefix + [sys.executable, script, path], env=env)
        # every other kill late in the run, where the new hive is written (and, in place, copied from the journal)
        time.sleep(rng.uniform(0.05, full * 1.1) if attempt % 2 else rng.uniform(full * 0.75, full * 1.05))
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait() == -signal.SIGKILL
        journal = [n for n in os.listdir(locks) if n.endswith('.journal')]
        if sha(path) == old:
            states['old'] += 1
        elif journal:
            states['journal'] += 1      # checked below: the rerun finishes it
        else:
            assert dump_hive(path) == new
            states['new'] += 1
        subprocess.run(prefix + [sys.executable, script, path], check=True, env=env)
        assert dump_hive(path) == new
        assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]
        assert [n for n in os.listdir(locks) if not n.endswith('.lock')] == []
    print('%s: %d of 20 runs killed, left %r' % (mode, killed, states))
    assert killed > 0, 'no run was interrupted'
    assert states['old'] > 0, states


REGEDIT_PLANS = [
    ('CurrentControlSet\\Services\\Tcpip\\Parameters', 'DisableDhcpMediaSense', 1, 'dword', 'present'),
    ('ControlSet001\\Services\\SanbootNew', 'Q', 2 ** 40, 'qword', 'present'),
    ('ControlSet001\\Services\\SanbootNew\\Sub', 'M', ['a', 'b c', 'ü'], 'multistring', 'present'),
    ('ControlSet001\\Services\\atapi', 'ImagePath', '%SystemRoot%\\x.sys', 'expandstring', 'present'),
    ('ControlSet001\\Services\\atapi', 'Blob', 'hex:00,ff,10', 'binary', 'present'),
    ('ControlSet001\\Services\\atapi', 'Marker', None, 'none', 'present'),
    ('ControlSet001\\Services\\atapi', None, 'default text', 'string', 'present'),
    ('ControlSet001\\Services\\atapi', 'Tag', None, 'string', 'absent'),
    ('ControlSet001\\Services\\atapi', None, None, 'string', 'absent'),
    ('ControlSet001\\Control\\CriticalDeviceDatabase', None, None, 'string', 'absent'),
]


@pytest.mark.parametrize('path, name, data, type_name, state', REGEDIT_PLANS)
def test_every_regedit_plan_agrees_with_hivexregedit(hive_copy, reg_cross_check, path, name, data, type_name, state):
    """Our write and hivexregedit's merge of our .reg rendering give the same hive (two implementations agree)."""
    hive = hive_copy('win7-sp1-x86.SYSTEM')
    result = run_plan(hive, regedit_plan(path, name=name, data=data, type_name=type_name, state=state),
                      backup=False)
    assert result['changed']
    reg_cross_check(unpacked_hive('win7-sp1-x86.SYSTEM'), hive, result['reg'])
    assert not run_plan(hive, regedit_plan(path, name=name, data=data, type_name=type_name,
                                           state=state))['changed']


# ---------------------------------------------------------------------------------------------------------
# Damaged hives (fuzz): 5,000 damaged copies of the fixture hives (bit flips, truncation, bad cell offsets) each
# either read or refused with a RegistryError, the file left byte-identical; nothing else may escape

SMALL = ['minimal.hive', 'special-names.hive', 'phony-windows.SYSTEM', 'phony-winxp-32.SOFTWARE',
         'phony-win7-32.SOFTWARE', 'phony-win10.SOFTWARE', 'phony-win11.SOFTWARE', 'phony-win2k22.SOFTWARE',
         'phony-win2k25.SOFTWARE']
BIG = ['win7-sp1-x86.SYSTEM', 'win81-x64-dirty.SYSTEM', 'win10-1903-x64-dirty.SYSTEM']
CASES = 5000
BIG_CASES = 150         # of the 5,000: a big hive costs ~100 times a small one to write and open
WALK_LIMIT = 400        # keys read per big hive (all of a small one)
BAD_OFFSETS = (0xFFFFFFFF, 0x7FFFFFF8, 0x80000000, 0, 4, 0x20, 0xFFFFFFF8)


def cells(data):
    """File offsets of the allocated cells of a hive image (walking its bins)."""
    out = []
    pos = 0x1000
    while pos + 0x20 <= len(data) and data[pos:pos + 4] == b'hbin':
        size = struct.unpack_from('<I', data, pos + 8)[0]
        if size < 0x1000:
            break
        cell = pos + 0x20
        while cell + 4 <= min(pos + size, len(data)):
            length = struct.unpack_from('<i', data, cell)[0]
            if length == 0:
                break
            if length < 0:
                out.append(cell)
            cell += abs(length)
        pos += size
    return out


def mutate(rng, data, cell_offsets):
    """(description, damaged copy of ``data``)."""
    out = bytearray(data)
    kind = rng.choice(['flip', 'flip', 'truncate', 'offset', 'offset', 'header'])
    if kind == 'flip':
        # Bit flips where the structure lives: the base block, the cells' first bytes, anywhere.
        spots = []
        for _flip in range(rng.randint(1, 8)):
            where = rng.choice(['header', 'cell', 'any'])
            if where == 'header':
                pos = rng.randrange(0x200)
            elif where == 'cell' and cell_offsets:
                pos = rng.choice(cell_offsets) + rng.randrange(0x50)
            else:
                pos = rng.randrange(len(out))
            pos = min(pos, len(out) - 1)
            out[pos] ^= 1 << rng.randrange(8)
            spots.append('0x%x' % pos)
        return 'bit flips at %s' % ','.join(spots), bytes(out)
    if kind == 'truncate':
        cut = rng.choice([rng.randrange(0x1000), rng.randrange(0x1000, len(out)), len(out) - rng.randrange(1, 0x1000)])
        return 'truncated to %d bytes' % cut, bytes(out[:max(cut, 0)])
    if kind == 'header':
        # The base block's own offsets: root cell (0x24), size of the bins (0x28); checksum kept valid so the
        # damage gets past the header check.
        field = rng.choice([0x24, 0x28])
        value = rng.choice(BAD_OFFSETS + (rng.randrange(1 << 32), len(out)))
        struct.pack_into('<I', out, field, value)
        checksum = 0
        for (word,) in struct.iter_unpack('<I', bytes(out[:0x1FC])):
            checksum ^= word
        struct.pack_into('<I', out, 0x1FC, {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(checksum, checksum))
        return 'header field 0x%x = 0x%x' % (field, value), bytes(out)
    # A bad offset or count in a cell: subkey list, value list, parent, security, name length, data offset...
    cell = rng.choice(cell_offsets) if cell_offsets else 0x1020
    field = cell + 4 + 4 * rng.randrange(0x14)
    if field + 4 > len(out):
        field = len(out) - 4
    value = rng.choice(BAD_OFFSETS + (rng.randrange(1 << 32), len(out), cell - 0x1000, rng.choice(cell_offsets or [0])))
    struct.pack_into('<I', out, field, value & 0xFFFFFFFF)
    return 'cell 0x%x: field 0x%x = 0x%x' % (cell, field, value & 0xFFFFFFFF), bytes(out)


def read_everything(path, limit):
    """What the modules read: the header checks, the keys and values, the hive's kind, its control sets."""
    hive = Hive(path, allow_dirty=True)
    seen = 0
    stack = [()]
    while stack and seen < limit:
        key = stack.pop()
        seen += 1
        for value in hive.values(key):
            value.decoded()
            value.display()
        stack.extend(key + (name,) for name in hive.subkeys(key))
    hive_kind(hive)
    if hive.key_exists(('Select',)):
        hive.control_sets('all')
    return seen


def test_damaged_hives_are_read_or_refused_and_never_changed(tmp_path):
    rng = random.Random(16)
    sources = dict((name, open(unpacked_hive(name), 'rb').read()) for name in SMALL + BIG)
    offsets = dict((name, cells(data)) for name, data in sources.items())
    plan = [rng.choice(BIG) for _i in range(BIG_CASES)] + [rng.choice(SMALL) for _i in range(CASES - BIG_CASES)]
    rng.shuffle(plan)
    path = str(tmp_path / 'damaged')
    outcomes = {'read': 0, 'refused': 0}
    escaped = []
    started = time.time()
    for index, name in enumerate(plan):
        what, data = mutate(rng, sources[name], offsets[name])
        with open(path, 'wb') as f:
            f.write(data)
        try:
            read_everything(path, WALK_LIMIT if name in BIG else 10 ** 6)
            outcomes['read'] += 1
        except RegistryError:
            outcomes['refused'] += 1
        except Exception as exc:  # pylint: disable=broad-except
            escaped.append('case %d, %s, %s: %s: %s' % (index, name, what, type(exc).__name__, exc))
        with open(path, 'rb') as f:
            if f.read() != data:
                escaped.append('case %d, %s, %s: the file was changed' % (index, name, what))
    os.unlink(path)
    print('fuzz: %d cases in %.1f s: %r' % (len(plan), time.time() - started, outcomes))
    assert not escaped, '\n'.join(escaped[:20])
    # Both outcomes happen: the mutations are neither all harmless nor all fatal.
    assert outcomes['read'] > CASES // 10 and outcomes['refused'] > CASES // 10


# ---------------------------------------------------------------------------------------------------------
# Independent readers (libregf, dissect.regf): on every fixture hive, after the fast path (regf.py appends new
# keys) and after the libhivex path, each sees exactly the change the plan made and nothing else (the whole hive is
# compared)

def independent_readers():
    pytest.importorskip('pyregf')
    pytest.importorskip('dissect.regf')


READER_FIXTURES = ['win7-sp1-x86.SYSTEM', 'win81-x64-dirty.SYSTEM', 'win10-1903-x64-dirty.SYSTEM', 'phony-windows.SYSTEM',
                   'phony-winxp-32.SOFTWARE', 'phony-win7-32.SOFTWARE', 'phony-win10.SOFTWARE', 'phony-win11.SOFTWARE',
                   'phony-win2k22.SOFTWARE', 'phony-win2k25.SOFTWARE', 'minimal.hive', 'special-names.hive']

NEW_VALUES = [
    Value.sz('Text', 'iSCSI Boot ü™'), Value.expand_sz('Path', '%SystemRoot%\\System32\\drivers\\x.sys'),
    Value.multi_sz('List', ['NDIS', 'Boot Bus Extender']), Value.dword('Start', 0), Value.qword('Big', 2 ** 40 + 3),
    Value.binary('Blob', bytes(range(256)) * 3), Value('Nothing', 0, b''), Value.sz('', 'default value'),
]


def _changed(value):
    """Other data of the same type, well formed (libregf shows strings only up to their NUL)."""
    if value.type in (REG_SZ, REG_EXPAND_SZ):
        return Value(value.name, value.type, ('%s+' % value.decoded()).encode('utf-16-le') + b'\x00\x00')
    if value.type == REG_MULTI_SZ:
        return Value.multi_sz(value.name, value.decoded() + ['+'])
    return Value(value.name, value.type, bytes(b ^ 0xFF for b in value.data) or b'\x01')


def _prefix(result):
    return result['diff']['before_header'].rsplit(' (', 1)[1][:-1]


def _existing(dump):
    """A key with values to edit (deepest first, for a parent with siblings) and a leaf key to delete."""
    with_values = sorted((k for k in dump if k and dump[k] and max(len(d) for _t, d in dump[k].values()) <= 16344),
                         key=lambda k: (-len(k), k))
    edited = with_values[0] if with_values else ()
    parents = set(k[:-1] for k in dump if k)
    leaves = sorted(k for k in dump if k and k not in parents and k[:len(edited)] != edited and edited[:len(k)] != k)
    return edited, (leaves[0] if leaves else None)


@pytest.fixture
def appends(monkeypatch):
    """Records each use of the fast path (regf.append_keys_to_file)."""
    calls = []
    real = regf.append_keys_to_file

    def spy(path, keys):
        calls.append(len(keys))
        return real(path, keys)
    monkeypatch.setattr(regf, 'append_keys_to_file', spy)
    return calls


@pytest.mark.parametrize('name', READER_FIXTURES)
def test_independent_readers_see_exactly_the_planned_change(name, hive_copy, appends):
    independent_readers()
    path = hive_copy(name)
    before = dump_hive(path)      # the fixture as libhivex reads it; the change is read back without libhivex
    edited, leaf = _existing(before)

    def fast(hive, planner):
        # New keys (the fast path) beside edits of existing values (libhivex) in one write.
        for value in NEW_VALUES:
            planner.ensure_value(('SanbootNew', 'Sub'), value)
        planner.ensure_value(('SanbootNew',), Value.dword('Level', 1))
        planner.ensure_value(edited + ('SanbootChild',), Value.sz('Note', 'new key under an existing parent'))
        planner.ensure_value(edited, Value.dword('SanbootProbe', 7))
        values = planner.values(edited)
        if values:
            first = values[0]
            planner.ensure_value(edited, _changed(first))
        if len(values) > 1:
            planner.ensure_value_absent(edited, values[1].name)

    result = run_plan(path, fast, allow_dirty=True, backup=False)
    assert result['changed'] and appends, 'the fast path was not used'
    expected = apply_reg(before, result['reg'], _prefix(result))
    assert expected != before
    assert_readers_see(path, expected)

    del appends[:]

    def hivex_only(hive, planner):
        # A key deleted after keys are created makes the whole plan go through libhivex (Hive._split_new_keys).
        planner.ensure_value(('SanbootOther',), Value.binary('Blob', bytes(range(251)) * 60))
        planner.ensure_value(('SanbootNew',), Value.multi_sz('Level', ['changed type']))
        planner.ensure_key_absent(('SanbootNew', 'Sub'))
        if leaf:
            planner.ensure_key_absent(leaf)

    again = run_plan(path, hivex_only, allow_dirty=True, backup=False)
    assert again['changed'] and not appends, 'the plan should have gone through libhivex alone'
    expected = apply_reg(expected, again['reg'], _prefix(again))
    assert_readers_see(path, expected)


def test_values_libhivex_would_damage_are_refused(hive_copy):
    """Big values (over 16344 bytes): libhivex writes them as one cell, which the other readers (and Windows) take for
    big-data records; and it rewrites a key's big value when it changes another value of that key."""
    independent_readers()
    path = hive_copy('win81-x64-dirty.SYSTEM')
    with open(path, 'rb') as f:
        before = f.read()
    key = 'ControlSet001\\Control\\ProductOptions'     # ProductPolicy: 23,748 bytes
    for plan in (regedit_plan(key, name='SanbootProbe', data=1, type_name='dword'),
                 regedit_plan('ControlSet001\\Services\\atapi', name='Big', data=[1] * 16345, type_name='binary')):
        for check_mode in (True, False):
            with pytest.raises(HiveError, match='big-data records'):
                run_plan(path, plan, check_mode=check_mode, allow_dirty=True)
    with open(path, 'rb') as f:
        assert f.read() == before
    # A value of 16344 bytes is still a plain cell, which every reader takes as it is.
    result = run_plan(path, regedit_plan('ControlSet001\\Services\\atapi', name='Big', data=[1] * 16344,
                                         type_name='binary'), backup=False, allow_dirty=True)
    expected = apply_reg(dump_hive(hive_copy('win81-x64-dirty.SYSTEM', 'original')), result['reg'], _prefix(result))
    assert_readers_see(path, expected)


def _claim_bins(path, size):
    """Set the base block's hive bins size and fix its checksum, as a damaged but self-consistent header would."""
    with open(path, 'r+b') as f:
        block = bytearray(f.read(4096))
        struct.pack_into('<I', block, 0x28, size)
        checksum = 0
        for (word,) in struct.iter_unpack('<I', bytes(block[:0x1FC])):
            checksum ^= word
        struct.pack_into('<I', block, 0x1FC, checksum)
        f.seek(0)
        f.write(block)


@pytest.mark.parametrize('claimed', [0x80000000, 4096 * 3 + 1])
def test_a_header_that_claims_more_or_odd_hive_bins_is_refused_and_nothing_grows(hive_copy, tmp_path, claimed):
    # Found by the behaviour snapshot's fuzzed hives: such a header made a write leave a 2 GiB SYSTEM file.
    path = hive_copy('win7-sp1-x86.SYSTEM')
    _claim_bins(path, claimed)
    before = os.path.getsize(path)
    with pytest.raises(HiveError, match='hive bins take %d bytes, but the file holds' % claimed):
        run_plan(path, regedit_plan('ControlSet001\\Services\\Tcpip', name='Start', data=0, type_name='dword'))
    assert os.path.getsize(path) == before
