# Shared pytest set-up: import the collection as ansible_collections.sanboot.windows, fixture hives.
import os
import shutil
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_COLLECTIONS = os.path.join(_ROOT, 'build', 'collections')
if os.path.isdir(_COLLECTIONS) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402  pylint: disable=wrong-import-position
    dump_hive, merge_with_hivexregedit, unpacked_hive,
)


@pytest.fixture
def hive_copy(tmp_path):
    """Factory: a writable copy of a fixture hive in tmp_path."""
    def make(name, dest_name=None):
        dest = tmp_path / (dest_name or name)
        shutil.copyfile(unpacked_hive(name), str(dest))
        os.chmod(str(dest), 0o644)
        return str(dest)
    return make


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
