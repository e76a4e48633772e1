# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release artefact: `ansible-galaxy collection build` makes a small tarball without the development
environment, and the tarball installed into a clean collections path runs the demo (playbooks/prepare_hive.yml on the
Windows 7 fixture hive, as scripts/demo.sh does) from there, not from the checkout."""

from __future__ import absolute_import, division, print_function

import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

pytest.importorskip('hivex')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.tests.helpers import HIVES  # noqa: E402
from ansible_collections.sanboot.windows.tests.release import release_helpers as rh  # noqa: E402

# The release stage runs two groups side by side (pytest-xdist --dist loadgroup), about even in time:
# a = walk-through 3, docs, execution environment; b = walk-throughs 1 and 2, the oldest ansible-core, the artefact.
pytestmark = pytest.mark.xdist_group('release-b')

BIN = os.path.dirname(sys.executable)
MAX_SIZE = 1 << 20          # 0.4 MB today; the hives of tests/fixtures alone would be 4 MB
KEY = 'ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_100e&subsys_11001af4&rev_03'


@pytest.fixture(scope='module')
def tarball():
    return rh.dist_tarball()


def test_tarball_is_small_and_holds_the_collection_only(tarball):
    size = os.path.getsize(tarball)
    print('%s: %d bytes' % (os.path.basename(tarball), size))
    assert size < MAX_SIZE
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile('MANIFEST.json'))
    assert manifest['collection_info']['version'] == rh.galaxy()['version']
    for unwanted in ('.venv/', 'build/', '.git/', '.pytest_cache', '.hypothesis', 'tests/output', '__pycache__',
                     '.ci/', 'tests/fixtures/hives/', '.tar.gz', 'bench/'):
        assert not [n for n in names if unwanted in n or n.startswith(unwanted)], unwanted
    for wanted in ('meta/runtime.yml', 'meta/execution-environment.yml', 'meta/ee-requirements.txt',
                   'meta/ee-bindep.txt', 'plugins/modules/iscsi_boot.py', 'roles/ipxe/meta/argument_specs.yml',
                   'playbooks/prepare_hive.yml', 'docs/user-guide.md', 'docs/troubleshooting.md',
                   'docs/modules/iscsi_boot.md', 'CHANGELOG.rst', 'changelogs/changelog.yaml', 'LICENSE',
                   'requirements.txt', 'bindep.txt', 'tests/sanity/ignore-2.16.txt'):
        assert wanted in names, wanted


def test_installed_tarball_runs_the_demo(tarball, tmp_path):
    collections = tmp_path / 'collections'
    env = dict(os.environ)
    for name in list(env):
        if name.startswith('ANSIBLE_'):
            del env[name]
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), HOME=str(tmp_path / 'home'),
               PATH=BIN + os.pathsep + env.get('PATH', ''))
    proc = subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '-p', str(collections),
                           tarball], env=env, capture_output=True, text=True, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = collections / 'ansible_collections' / 'sanboot' / 'windows'
    assert (installed / 'MANIFEST.json').is_file() and not os.path.islink(str(installed))
    # ansible-doc finds the module in the clean path, not in the checkout
    doc = subprocess.run([os.path.join(BIN, 'ansible-doc'), '--json', 'sanboot.windows.iscsi_boot'], env=env,
                         capture_output=True, text=True, cwd=str(tmp_path), check=True)
    filename = json.loads(doc.stdout)['sanboot.windows.iscsi_boot']['doc']['filename']
    assert filename.startswith(str(installed)), filename
    # the demo's job, as scripts/demo.sh runs it (its hives come from the checkout: the artefact has no test data)
    for name in ('win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE'):
        with lzma.open(os.path.join(HIVES, name + '.xz')) as src, open(str(tmp_path / name.rsplit('.', maxsplit=1)[-1]), 'wb') as dst:
            shutil.copyfileobj(src, dst)
    cmd = [os.path.join(BIN, 'ansible-playbook'), '--diff', '-i', 'localhost,', 'sanboot.windows.prepare_hive',
           '-e', 'system_hive=%s' % (tmp_path / 'SYSTEM'), '-e', 'software_hive=%s' % (tmp_path / 'SOFTWARE')]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(tmp_path), check=False)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    assert "ready: False" in first.stdout and "ready: True" in first.stdout
    assert 'localhost                  : ok=5    changed=1 ' in first.stdout, first.stdout[-2000:]
    assert str(installed) in first.stdout or 'sanboot.windows' in first.stdout
    got = subprocess.run(['hivexget', str(tmp_path / 'SYSTEM'), KEY, 'Service'], capture_output=True, text=True,
                         check=True)
    assert got.stdout.strip() == 'E1G60'
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(tmp_path), check=False)
    assert again.returncode == 0 and 'changed=0' in again.stdout, again.stdout[-3000:]
