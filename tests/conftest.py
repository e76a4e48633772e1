# Shared pytest set-up: import the collection as ansible_collections.sanboot.windows, unpack fixture hives.
import lzma
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, 'build', 'collections')
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures')
HIVES = os.path.join(FIXTURES, 'hives')
_CACHE = os.path.join(ROOT, 'build', 'fixture-cache')


def unpacked_hive(name):
    """Path of a decompressed, read-only cached copy of tests/fixtures/hives/<name>.xz."""
    os.makedirs(_CACHE, exist_ok=True)
    out = os.path.join(_CACHE, name)
    if not os.path.exists(out):
        tmp = out + '.%d.tmp' % os.getpid()
        with lzma.open(os.path.join(HIVES, name + '.xz')) as src, open(tmp, 'wb') as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(tmp, 0o444)
        os.replace(tmp, out)
    return out


@pytest.fixture
def hive_copy(tmp_path):
    """Factory: a writable copy of a fixture hive in tmp_path."""
    def make(name, dest_name=None):
        dest = tmp_path / (dest_name or name)
        shutil.copyfile(unpacked_hive(name), str(dest))
        os.chmod(str(dest), 0o644)
        return str(dest)
    return make


def dump_hive(path):
    """Every key of a hive -> {value name: (type, data)}, read with plain libhivex (an independent reader)."""
    import hivex
    h = hivex.Hivex(path)
    out = {}
    stack = [(h.root(), ())]
    while stack:
        node, key = stack.pop()
        out[key] = dict((h.value_key(v), h.value_value(v)) for v in h.node_values(node))
        stack.extend((c, key + (h.node_name(c),)) for c in h.node_children(node))
    return out


def merge_with_hivexregedit(original, reg_text, dest, prefix='HKEY_LOCAL_MACHINE\\SYSTEM'):
    """Apply .reg text to a copy of ``original`` with hivexregedit (libguestfs' Perl implementation)."""
    import subprocess
    shutil.copyfile(original, dest)
    os.chmod(dest, 0o644)
    reg_file = dest + '.reg'
    with open(reg_file, 'w', encoding='utf-8', newline='\n') as f:
        f.write(reg_text)
    # -CSD: read the .reg file as UTF-8 (hivexregedit alone takes its bytes as Latin-1).
    subprocess.run(['perl', '-CSD', '/usr/bin/hivexregedit', '--merge', '--prefix', prefix, dest, reg_file], check=True,
                   capture_output=True)
    return dest


@pytest.fixture
def reg_cross_check(tmp_path):
    """Assert that our edit of ``original`` (now in ``edited``) equals hivexregedit merging our .reg text."""
    def check(original, edited, reg_text, prefix='HKEY_LOCAL_MACHINE\\SYSTEM'):
        merged = merge_with_hivexregedit(original, reg_text, str(tmp_path / 'hivexregedit-merged'), prefix)
        ours, theirs = dump_hive(edited), dump_hive(merged)
        assert set(ours) == set(theirs), 'keys differ: %r' % sorted(set(ours) ^ set(theirs))[:20]
        for key in ours:
            assert ours[key] == theirs[key], 'values of %s differ' % '\\'.join(key)
        return ours
    return check
