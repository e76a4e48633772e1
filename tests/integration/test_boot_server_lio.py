"""LIO backend of sanboot.windows.iscsi_target: the saveconfig.json it renders, read back by rtslib-fb itself.

LIO cannot run on the development and CI machines (no configfs, no target modules), so the role runs with
sanboot_iscsi_target_apply=false into a throwaway root (real ansible-playbook, tests/integration/boot_server/lio.yml)
and the file it writes goes through rtslib-fb's own RTSRoot.restore() into a stand-in configfs tree
(boot_server/fake_configfs.py), then through RTSRoot.dump(). Everything the role wrote must come back unchanged,
and restore() must report no error.
"""
import copy
import json
import os
import re
import subprocess
import sys

import pytest

rtslib_fb = pytest.importorskip('rtslib_fb')
# rtslib asks pyudev whether a fileio path is a block device; pyudev warns about its own API
pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, 'tests', 'integration', 'boot_server')
sys.path.insert(0, HERE)
from fake_configfs import restore_and_dump  # noqa: E402  pylint: disable=wrong-import-position

SECRETS = ['S3cret-pc1-in', 'S3cret-pc1-out', 'S3cret-pc2-in']


def run_playbook(root):
    env = dict(os.environ)
    env.update({'SANBOOT_TEST_ROOT': root, 'ANSIBLE_NOCOLOR': '1',
                'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, 'build', 'collections'),
                'ANSIBLE_LOCAL_TEMP': os.path.join(root, '..', 'ansible-tmp')})
    env['PATH'] = os.path.join(ROOT, '.venv', 'bin') + os.pathsep + env.get('PATH', '')
    return subprocess.run(['ansible-playbook', '-i', 'localhost,', os.path.join(HERE, 'lio.yml')],
                          env=env, capture_output=True, text=True, cwd=ROOT, check=False)


@pytest.fixture(scope='module')
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp('lio')
    root = str(base / 'root')
    images = os.path.join(root, 'srv', 'images')
    os.makedirs(images)
    for name, size in (('pc1-data.img', 4 << 20), ('pc2.img', 8 << 20)):
        with open(os.path.join(images, name), 'wb') as f:
            f.truncate(size)
    first = run_playbook(root)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    second = run_playbook(root)
    path = os.path.join(root, 'etc', 'rtslib-fb-target', 'saveconfig.json')
    with open(path) as f:
        config = json.load(f)
    return {'base': str(base), 'root': root, 'path': path, 'config': config, 'runs': (first, second)}


def contained(want, got, path='$'):
    """Differences where `got` (rtslib's dump) lacks or changes something of `want` (the rendered file)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return ['%s: %r is not an object' % (path, got)]
        problems = []
        for key, value in want.items():
            if key not in got:
                problems.append('%s.%s: missing from the dump' % (path, key))
            else:
                problems += contained(value, got[key], '%s.%s' % (path, key))
        return problems
    if isinstance(want, list):
        if not isinstance(got, list):
            return ['%s: %r is not a list' % (path, got)]

        def ident(item):
            if not isinstance(item, dict):
                return item
            for key in ('name', 'wwn', 'node_wwn', 'index'):
                if key in item:
                    return (key, item[key])
            return (item.get('ip_address'), item.get('port'))

        got_by_id = {ident(g): g for g in got}
        problems = []
        for item in want:
            if ident(item) not in got_by_id:
                problems.append('%s: %r missing from the dump' % (path, ident(item)))
            else:
                problems += contained(item, got_by_id[ident(item)], '%s[%r]' % (path, ident(item)))
        return problems
    return [] if want == got else ['%s: rendered %r, rtslib has %r' % (path, want, got)]


def test_rendered_privately_and_idempotently(rendered):
    first, second = rendered['runs']
    assert oct(os.stat(rendered['path']).st_mode & 0o777) == '0o600'
    assert re.search(r'localhost\s+:.*changed=0\b', second.stdout), second.stdout[-3000:]
    for secret in SECRETS:
        assert secret not in first.stdout + first.stderr + second.stdout + second.stderr
    # the role created the image that had only a size
    assert os.path.getsize(os.path.join(rendered['root'], 'srv', 'images', 'pc1.img')) == 16 << 20


def test_rtslib_restores_and_dumps_it_back(rendered, tmp_path):
    errors, dump = restore_and_dump(copy.deepcopy(rendered['config']), str(tmp_path))
    assert errors == []
    assert contained(rendered['config'], dump) == []


def test_lio_semantics(rendered):
    cfg = rendered['config']
    root = rendered['root']
    sos = {so['name']: so for so in cfg['storage_objects']}
    assert set(sos) == {'pc1_lun0', 'pc1_lun1', 'second_lun0', 'second_lun5'}
    assert sos['pc1_lun0'] == {'plugin': 'fileio', 'name': 'pc1_lun0', 'dev': root + '/srv/images/pc1.img',
                               'size': 16 << 20, 'write_back': True, 'aio': False, 'wwn': sos['pc1_lun0']['wwn']}
    assert sos['pc1_lun1']['write_back'] is False and sos['pc1_lun1']['size'] == 4 << 20
    assert sos['second_lun0']['plugin'] == 'block' and sos['second_lun0']['readonly'] is True
    assert sos['second_lun5']['wwn'] == '6f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f'
    # stable serials: derived from IQN and LUN, so a recreated target keeps its disk identity
    assert re.fullmatch(r'[0-9a-f-]{36}', sos['pc1_lun0']['wwn'])
    targets = {t['wwn']: t for t in cfg['targets']}
    assert set(targets) == {'iqn.2025-01.test.sanboot:pc1', 'iqn.2025-01.test.sanboot:pc2'}   # retired: absent
    tpg1 = targets['iqn.2025-01.test.sanboot:pc1']['tpgs'][0]
    assert tpg1['attributes']['generate_node_acls'] == 0 and tpg1['attributes']['authentication'] == 1
    assert tpg1['parameters'] == {'AuthMethod': 'CHAP'}
    assert [lun['index'] for lun in tpg1['luns']] == [0, 1]          # LIO: the first disk is LUN 0
    acls = {a['node_wwn']: a for a in tpg1['node_acls']}
    assert set(acls) == {'iqn.1991-05.com.microsoft:pc1', 'iqn.2025-01.test.sanboot:initiator:pc1-spare'}
    for acl in acls.values():
        assert acl['chap_userid'] == 'pc1' and acl['chap_mutual_userid'] == 'target-pc1'
        assert acl['mapped_luns'] == [{'index': 0, 'tpg_lun': 0, 'write_protect': False},
                                      {'index': 1, 'tpg_lun': 1, 'write_protect': True}]
    assert {(p['ip_address'], p['port']) for p in tpg1['portals']} == {('127.0.0.1', 3260), ('[::1]', 3261)}
    tpg2 = targets['iqn.2025-01.test.sanboot:pc2']['tpgs'][0]
    assert tpg2['attributes']['generate_node_acls'] == 1 and tpg2['node_acls'] == []
    assert tpg2['chap_userid'] == 'pc2' and 'chap_mutual_userid' not in tpg2
    assert [lun['index'] for lun in tpg2['luns']] == [0, 5]


@pytest.mark.parametrize('mistake', ['misspelt-attribute', 'misspelt-chap-key', 'unknown-backstore'])
def test_the_check_catches_mistakes(rendered, tmp_path, mistake):
    """Negative control: a broken saveconfig.json does not survive restore() + dump()."""
    cfg = copy.deepcopy(rendered['config'])
    tpg = cfg['targets'][0]['tpgs'][0]
    if mistake == 'misspelt-attribute':
        tpg['attributes']['generate_node_acl'] = tpg['attributes'].pop('generate_node_acls')
    elif mistake == 'misspelt-chap-key':
        acl = tpg['node_acls'][0]
        acl['chap_user'] = acl.pop('chap_userid')
    else:
        cfg['storage_objects'][0]['plugin'] = 'filio'
    errors, dump = restore_and_dump(copy.deepcopy(cfg), str(tmp_path))
    assert errors or contained(rendered['config'], dump)
