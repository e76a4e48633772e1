# Test helpers shared by unit and integration tests (imported as ansible_collections.sanboot.windows.tests.helpers).
import lzma
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Directory holding ansible_collections/: the checkout's symlink tree, or the tree ansible-test copied us into.
if os.path.basename(os.path.dirname(os.path.dirname(ROOT))) == 'ansible_collections':
    COLLECTIONS = os.path.dirname(os.path.dirname(os.path.dirname(ROOT)))
else:
    COLLECTIONS = os.path.join(ROOT, 'build', 'collections')
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
    shutil.copyfile(original, dest)
    os.chmod(dest, 0o644)
    reg_file = dest + '.reg'
    with open(reg_file, 'w', encoding='utf-8', newline='\n') as f:
        f.write(reg_text)
    # -CSD: read the .reg file as UTF-8 (hivexregedit alone takes its bytes as Latin-1).
    subprocess.run(['perl', '-CSD', '/usr/bin/hivexregedit', '--merge', '--prefix', prefix, dest, reg_file],
                   check=True, capture_output=True)
    return dest
