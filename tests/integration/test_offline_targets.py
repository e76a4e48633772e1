# Runs the offline modules' integration targets (tests/integration/targets/<name>) with real ansible-playbook.
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.sanboot.windows.tests.helpers import FIXTURES, ROOT, unpacked_hive

TARGETS = ['critical_device', 'hive_regedit', 'iscsi_boot']
HIVES = ['win7-sp1-x86.SYSTEM', 'win81-x64-dirty.SYSTEM', 'win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE']


def run_playbook(playbook, extra_vars, tmp_path, check=False):
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_ROLES_PATH=os.path.join(ROOT, 'tests', 'integration', 'targets'),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_STDOUT_CALLBACK='default', ANSIBLE_RETRY_FILES_ENABLED='0')
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=' + sys.executable, '-e', json.dumps(extra_vars), playbook]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(tmp_path), check=False)


@pytest.mark.parametrize('target', TARGETS)
def test_target(target, tmp_path):
    for name in HIVES:
        unpacked_hive(name)
    playbook = tmp_path / 'play.yml'
    playbook.write_text('- hosts: localhost\n  gather_facts: false\n  roles: [%s]\n' % target)
    out = tmp_path / 'out'
    out.mkdir()
    proc = run_playbook(str(playbook), {'output_dir': str(out),
                                        'fixture_hives': os.path.dirname(unpacked_hive(HIVES[0])),
                                        'fixture_infs': os.path.join(FIXTURES, 'inf')}, tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert 'failed=0' in proc.stdout
