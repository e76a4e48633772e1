# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment definition. meta/execution-environment.yml is the form ansible-builder reads from a
collection (schema version 3, files relative to the collection root); its bindep file names, for Debian, exactly
the packages this project runs on. The image itself is built from the user guide's definition and tested inside in
the container stage (tests/containers/test_execution_environment.py, `make test-containers`)."""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.sanboot.windows.tests.release import release_helpers as rh

# The release stage runs two groups side by side (pytest-xdist --dist loadgroup), about even in time:
# a = walk-through 3, docs, execution environment definition; b = walk-throughs 1 and 2, the oldest ansible-core,
# the artefact.
pytestmark = pytest.mark.xdist_group('release-a')

ROOT = rh.ROOT
META = os.path.join(ROOT, 'meta')


def test_collection_definition():
    from ansible_builder.ee_schema import validate_schema
    with open(os.path.join(META, 'execution-environment.yml')) as f:
        definition = yaml.safe_load(f)
    validate_schema(definition)
    assert definition['version'] == 3
    # ansible-builder resolves a collection's files from the collection root and refuses absolute paths
    assert definition['dependencies'] == {'python': 'meta/ee-requirements.txt', 'system': 'meta/ee-bindep.txt'}
    with open(os.path.join(META, 'ee-requirements.txt')) as f:
        requirements = [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]
    assert requirements == ['pywinrm>=0.4.3']       # no pins, no ansible-core (collection packaging rules)


def test_bindep_names_the_packages_this_project_runs_on():
    rules = rh.ee_bindep_rules()
    dpkg = [n for n, p in rules if 'platform:dpkg' in p]
    rpm = [n for n, p in rules if 'platform:rpm' in p]
    assert all(p in ({'platform:dpkg'}, {'platform:rpm'}) for _n, p in rules)
    assert {'python3-hivex', 'python3-guestfs', 'qemu-utils', 'ntfs-3g'} <= set(dpkg)
    assert {'python3-hivex', 'python3-libguestfs', 'qemu-img', 'ntfs-3g'} <= set(rpm)
    # every Debian name is a package installed here (scripts/bootstrap.sh) ...
    installed = subprocess.run(['dpkg-query', '-W', '-f', '${Package} ${Status}\\n'] + dpkg, capture_output=True,
                               text=True, check=False).stdout
    assert sorted(dpkg) == sorted(l.split()[0] for l in installed.splitlines() if 'install ok installed' in l)
    # ... and bindep, for this Debian, has nothing left to install
    bindep = os.path.join(os.path.dirname(sys.executable), 'bindep')
    proc = subprocess.run([bindep, '-b', '-f', os.path.join(META, 'ee-bindep.txt')], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == '', proc.stdout + proc.stderr
