# -*- coding: utf-8 -*-
# Twenty `ansible -m sanboot.windows.iscsi_boot` runs at the same moment on one SYSTEM hive, each adding its own NIC:
# the hive's lock makes each run plan against the one before it, so every NIC is there afterwards, every run reports
# only what it changed, and there is one backup.
import hashlib
import json
import os
import shutil
import subprocess
import sys

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
from ansible_collections.sanboot.windows.tests.helpers import COLLECTIONS, unpacked_hive
from ansible_collections.sanboot.windows.tests.regreaders import dump_libregf

RUNS = 20


def nic(number):
    return {'id': 'PCI\\VEN_8086&DEV_1%03X' % number, 'service': 'E1G60'}


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_twenty_runs_on_one_hive_each_keep_their_nic(tmp_path):
    hive = str(tmp_path / 'SYSTEM')
    shutil.copyfile(unpacked_hive('win7-sp1-x86.SYSTEM'), hive)
    os.chmod(hive, 0o644)
    original = sha(hive)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_STDOUT_CALLBACK='minimal', ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'), ANSIBLE_NOCOLOR='1')
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    procs = [subprocess.Popen([ansible, 'localhost', '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable,
                               '-m', 'sanboot.windows.iscsi_boot', '-a', json.dumps({'hive': hive, 'nics': [nic(i)]})],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(RUNS)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, out[-3000:] + err[-2000:]
        # minimal callback: 'localhost | CHANGED => {...}'
        results.append(json.loads(out[out.index('{'):]))

    claimed = {}
    for number, result in enumerate(results):
        own = 'ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_1%03x' % number
        assert result['changed'] and result['ready'] is True, result.get('msg')
        assert {'op': 'create_key', 'key': own} in result['changes']
        # Truthful: no change is reported by two runs (a run that planned on a stale hive would repeat the other's).
        for change in result['changes']:
            what = (change['op'], change['key'].upper(), (change.get('name') or '').upper())
            assert what not in claimed, '%s reported by run %d and run %d' % (what, claimed.get(what), number)
            claimed[what] = number
    # Every NIC is there, as libregf reads the hive, and the doctor says the hive is ready for all twenty.
    cddb = dict((k[-1].upper(), v) for k, v in dump_libregf(hive).items()
                if len(k) == 4 and k[:3] == ('ControlSet001', 'Control', 'CriticalDeviceDatabase'))
    lost = [n for n in range(RUNS) if 'PCI#VEN_8086&DEV_1%03X' % n not in cddb]
    assert not lost, 'the NICs of runs %s were lost' % lost
    assert set(cddb['PCI#VEN_8086&DEV_1%03X' % n]['Service'][2] for n in range(RUNS)) == {'E1G60'}
    report = iscsi_boot.run_iscsi_boot_info(dict(hive=hive, nics=[nic(i) for i in range(RUNS)], drivers=[]))
    assert report['ready'] is True, [f['id'] for f in report['findings']]

    # One backup for the twenty runs: the hive before the first of them.
    backups = set(r['backup_file'] for r in results)
    assert len(backups) == 1 and sha(backups.pop()) == original
    assert len([f for f in os.listdir(str(tmp_path)) if f.endswith('~')]) == 1
