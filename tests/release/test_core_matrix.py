# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The supported ansible-core range (meta/runtime.yml: '>=2.16.0,<2.20.0'; 2.16 to 2.19 run on Debian 12's Python 3.11) at
both ends. The newest, 2.19.14, is the project's .venv: the integration stage runs every integration target with
it (tests/integration/test_offline_targets.py). The oldest, the last 2.16 release, gets its own venv built the same
way (tests/release/core-venv.sh, kept in build/venv-core-oldest) and runs the core integration targets the way
test_offline_targets.py does: real ansible-playbook runs of tests/integration/targets/<name>."""

from __future__ import absolute_import, division, print_function

import os
import re
import subprocess
import time

import pytest
import yaml

pytest.importorskip('hivex')

# pylint: disable=wrong-import-position
from ansible_collections.sanboot.windows.tests.helpers import run_integration_target  # noqa: E402
from ansible_collections.sanboot.windows.tests.release import release_helpers as rh  # noqa: E402

# The release stage runs two groups side by side (pytest-xdist --dist loadgroup), about even in time:
# a = walk-through 3, docs, execution environment; b = walk-throughs 1 and 2, the oldest ansible-core, the artefact.
pytestmark = pytest.mark.xdist_group('release-b')

ROOT = rh.ROOT
NEWEST = '2.19.14'
# The three core targets take about 50 s on 2.16 (iscsi_boot alone 30 to 40 s), more than the release stage's
# budget allows: by default the two quick ones (module argument specs, check and diff modes, doc fragments, a
# driver package, images refused); SANBOOT_RELEASE_ALL_TARGETS=1 runs iscsi_boot too.
OLDEST_TARGETS = ['critical_device', 'hive_regedit'] + (
    ['iscsi_boot'] if os.environ.get('SANBOOT_RELEASE_ALL_TARGETS') == '1' else [])


def _pin(path, package):
    with open(path) as f:
        return re.search(r'(?m)^%s==(\S+)' % re.escape(package), f.read()).group(1)


def test_range_ends():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as f:
        assert yaml.safe_load(f)['requires_ansible'] == '>=2.16.0,<2.20.0'
    oldest = _pin(os.path.join(ROOT, 'tests', 'release', 'requirements-core-oldest.txt'), 'ansible-core')
    assert oldest.startswith('2.16.')
    assert _pin(os.path.join(ROOT, 'constraints.txt'), 'ansible-core') == NEWEST
    from ansible.release import __version__
    assert __version__ == NEWEST            # the .venv that runs the integration stage
    # the integration stage runs every offline target on the newest core (the oldest is tested below)
    with open(os.path.join(ROOT, 'tests', 'integration', 'test_offline_targets.py')) as f:
        recap = re.search(r'(?ms)^RECAP = \{(.*?)^\}', f.read()).group(1)
    targets = os.listdir(os.path.join(ROOT, 'tests', 'integration', 'targets'))
    assert sorted(re.findall(r"^    '(\w+)': \{", recap, re.M)) == sorted(targets)


@pytest.fixture(scope='module')
def oldest():
    venv = rh.core_venv()
    version = subprocess.run([os.path.join(venv, 'bin', 'python'), '-c',
                              'from ansible.release import __version__; print(__version__)'],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == _pin(os.path.join(ROOT, 'tests', 'release', 'requirements-core-oldest.txt'), 'ansible-core')
    return venv


@pytest.mark.parametrize('target', OLDEST_TARGETS)
def test_target_on_oldest_core(oldest, target, tmp_path):
    t0 = time.time()
    proc = run_integration_target(target, tmp_path, os.path.join(oldest, 'bin', 'python'))
    print('%s on the oldest ansible-core: %.1f s' % (target, time.time() - t0))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert 'failed=0' in proc.stdout
