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
