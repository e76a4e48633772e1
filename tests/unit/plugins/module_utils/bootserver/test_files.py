# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bootserver/files.py (module sanboot.windows.files): only what differs is written, atomically, keeping owner and
group; check mode writes nothing; a second run changes nothing; the diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.bootserver import files
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import files as job


def test_write_then_nothing_to_do(tmp_path):
    wanted = [{'path': str(tmp_path / ('f%d' % n)), 'content': 'file %d\n' % n, 'mode': '0600'} for n in range(50)]
    first = files.apply(wanted)
    assert first['changed'] and len(first['created']) == 50
    assert (tmp_path / 'f7').read_text() == 'file 7\n' and oct(os.stat(str(tmp_path / 'f7')).st_mode & 0o777) == '0o600'
    again = files.apply(wanted, want_diff=True)
    assert not again['changed'] and again['changed_files'] == [] and again['diff'] == []
    assert again['checksums'] == first['checksums']
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith('.')]      # no temporary file left


def test_check_mode_and_diff(tmp_path):
    path = str(tmp_path / 'a')
    with open(path, 'w') as f:
        f.write('old\n')
    os.chmod(path, 0o644)
    res = files.apply([{'path': path, 'content': 'new\n', 'mode': '0644'},
                       {'path': str(tmp_path / 'b'), 'content': 'b\n'}], check_mode=True, want_diff=True)
    assert res['changed'] and res['changed_files'] == [path, str(tmp_path / 'b')]
    assert res['diff'][0] == {'before_header': path, 'after_header': path, 'before': 'old\n', 'after': 'new\n'}
    assert open(path).read() == 'old\n' and not os.path.exists(str(tmp_path / 'b'))


def test_update_keeps_owner_and_changes_mode(tmp_path):
    path = str(tmp_path / 'a')
    with open(path, 'w') as f:
        f.write('old\n')
    os.chmod(path, 0o644)
    if os.geteuid() == 0:
        os.chown(path, 1234, 1235)
    inode = os.stat(path).st_ino
    files.apply([{'path': path, 'content': 'new\n', 'mode': '0600'}])
    st = os.stat(path)
    assert open(path).read() == 'new\n' and st.st_mode & 0o777 == 0o600 and st.st_ino != inode   # renamed over
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (1234, 1235)
    res = files.apply([{'path': path, 'content': 'new\n', 'mode': '0640'}], want_diff=True)
    assert res['changed_files'] == [path] and res['diff'][0]['after'] == 'mode 0640\n'


def test_remove_and_clean(tmp_path):
    hosts = tmp_path / 'hosts'
    hosts.mkdir()
    for name in ('keep.ipxe', 'old.ipxe', 'note.txt'):
        (hosts / name).write_text('x')
    (tmp_path / 'gone.conf').write_text('x')
    res = files.apply([{'path': str(hosts / 'keep.ipxe'), 'content': 'x', 'mode': '0644'}],
                      remove=[str(tmp_path / 'gone.conf'), str(tmp_path / 'never.conf')],
                      clean={'path': str(hosts), 'patterns': ['*.ipxe']})
    assert sorted(res['removed']) == [str(tmp_path / 'gone.conf'), str(hosts / 'old.ipxe')]
    assert sorted(os.listdir(str(hosts))) == ['keep.ipxe', 'note.txt']
    assert not files.apply([], clean={'path': str(tmp_path / 'missing'), 'patterns': ['*']})['changed']


def test_refusals(tmp_path):
    with pytest.raises(files.FilesError):
        files.apply([{'path': 'relative', 'content': ''}])
    with pytest.raises(files.FilesError):
        files.apply([{'path': str(tmp_path), 'content': ''}])      # a folder
    failed, _result = job.run_files({'files': [{'path': str(tmp_path / 'a'), 'content': '', 'mode': 'rw'}],
                                     'remove': [], 'clean': None})
    assert 'octal' in failed
