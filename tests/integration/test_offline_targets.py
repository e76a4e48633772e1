# Runs the offline modules' integration targets (tests/integration/targets/<name>) with real ansible-playbook.
import pytest

from ansible_collections.sanboot.windows.tests.helpers import run_integration_target

TARGETS = ['critical_device', 'hive_regedit', 'iscsi_boot']


@pytest.mark.parametrize('target', TARGETS)
def test_target(target, tmp_path):
    proc = run_integration_target(target, tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert 'failed=0' in proc.stdout
