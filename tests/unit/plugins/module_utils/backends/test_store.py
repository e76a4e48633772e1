# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backends/store.py with the real qemu-img: versions read-only and numbered, a changed source is a new version,
overlays backed by a version, promote's flattening, the golden's bytes unchanged."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.store import Store, StoreError, check_name
from ansible_collections.sanboot.windows.tests.helpers import sha256

pytestmark = pytest.mark.skipif(not shutil.which('qemu-img'), reason='needs qemu-img')


def raw(path, size=4 << 20, fill=b'G'):
    with open(path, 'wb') as f:
        f.truncate(size)
        f.write(fill * 4096)
    return path


def qemu_io(path, *cmds):
    args = ['qemu-io', '-f', 'qcow2']
    for cmd in cmds:
        args += ['-c', cmd]
    res = subprocess.run(args + [path], capture_output=True, text=True, check=False)
    return res.stdout + res.stderr


def test_versions_overlays_and_promote(tmp_path):
    source = raw(str(tmp_path / 'lab.img'))
    store = Store(str(tmp_path / 'store'))
    assert store.ensure() and not store.ensure()
    assert stat.S_IMODE(os.stat(store.root).st_mode) == 0o700
    assert store.source_changed('lab', source)
    before = sha256(source)
    assert store.add_version('lab', source, {'source': source}) == 1
    v1 = store.version_path('lab', 1)
    assert stat.S_IMODE(os.stat(v1).st_mode) == 0o444 and store.versions('lab') == [1]
    ov = store.overlay_path('pc1')
    store.create_overlay('lab', 1, ov)
    store.set_overlay_meta('pc1', {'golden': 'lab', 'version': 1})
    assert store.backing_of('pc1') == v1
    v1_sum = sha256(v1)
    qemu_io(ov, 'write -P 0x41 0 64k')
    assert sha256(v1) == v1_sum and sha256(source) == before
    assert 'Pattern verification failed' not in qemu_io(ov, 'read -P 0x41 0 64k')
    assert 'Pattern verification failed' in qemu_io(ov, 'read -P 0x41 64k 4k')     # the check can fail
    assert store.users_of('lab', 1) == ['pc1']
    # promote: flattened into version 2, which no longer needs version 1
    assert store.add_version('lab', ov, {'promoted_from': 'pc1'}) == 2
    v2 = store.version_path('lab', 2)
    info = subprocess.run(['qemu-img', 'info', v2], capture_output=True, text=True, check=True).stdout
    assert 'backing file' not in info
    subprocess.run(['qemu-io', '-r', '-f', 'qcow2', '-c', 'read -P 0x41 0 64k', v2], check=True, capture_output=True)
    assert sha256(v1) == v1_sum
    # the newest version came from promote: the source has not changed since version 1 (no meta: changed)
    assert store.source_changed('lab', source)
    store.remove_version('lab', 1)
    assert store.versions('lab') == [2]


def test_source_change_is_a_new_version(tmp_path):
    source = raw(str(tmp_path / 'lab.img'))
    store = Store(str(tmp_path / 'store'))
    store.ensure()
    st = os.stat(source)
    meta = {'source': os.path.abspath(source), 'size': st.st_size, 'mtime_ns': st.st_mtime_ns}
    store.add_version('lab', source, meta)
    assert not store.source_changed('lab', source)
    raw(source, fill=b'H')
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    assert store.source_changed('lab', source)


@pytest.mark.parametrize('name', ['../x', '', 'a/b', '.hidden', 'x' * 65])
def test_names_that_are_no_file_names(name):
    with pytest.raises(StoreError):
        check_name('client', name)


def test_missing_version_is_refused(tmp_path):
    store = Store(str(tmp_path / 'store'))
    store.ensure()
    with pytest.raises(StoreError, match='no version 3'):
        store.create_overlay('lab', 3, str(tmp_path / 'x.qcow2'))
