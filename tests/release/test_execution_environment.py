# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment definition. meta/execution-environment.yml is the form ansible-builder reads from a
collection (schema version 3, files relative to the collection root); its bindep file names, for Debian, exactly
the packages this project runs on. The user guide's section on AWX is run as written: `ansible-builder introspect` on
the installed tarball (what the image build runs inside the container to collect the collections' requirements)
lists ours, and `ansible-builder create` on the guide's execution-environment.yml makes the build context. Building
the image needs a container engine, which these machines lack."""

from __future__ import absolute_import, division, print_function

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.sanboot.windows.tests.release import release_helpers as rh

# The release stage runs two groups side by side (pytest-xdist --dist loadgroup), about even in time:
# a = walk-through 3, docs, execution environment; b = walk-throughs 1 and 2, the oldest ansible-core, the artefact.
pytestmark = pytest.mark.xdist_group('release-a')

ROOT = rh.ROOT
META = os.path.join(ROOT, 'meta')


def _bindep_rules():
    rules = []
    with open(os.path.join(META, 'ee-bindep.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                name, profiles = re.match(r'^(\S+)\s*\[([^\]]*)\]$', line).groups()
                rules.append((name, set(profiles.split())))
    return rules


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
    rules = _bindep_rules()
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


def test_guide_execution_environment(tmp_path):
    user = rh.guide_user()
    work = tmp_path / 'work'
    work.mkdir()
    shutil.copy(rh.dist_tarball(), str(work))
    rc, out = rh.run_walk('ee', str(work), user, str(tmp_path / 'walk.log'))
    assert rc == 0, out[-6000:]
    # introspect: what the image build will add for the installed collection
    introspected = out[out.index('ansible-builder introspect'):]
    assert "- 'pywinrm>=0.4.3  # from collection sanboot.windows'" in introspected, introspected[-3000:]
    for name, profiles in _bindep_rules():
        line = "- '%s [%s]  # from collection sanboot.windows'" % (name, ' '.join(sorted(profiles)))
        assert line in introspected, line
    # create: the build context, with the collection's tarball and the guide's base image
    context = work / 'ee-context'
    # Containerfile for podman, Dockerfile when docker is the runtime ansible-builder finds
    name = 'Containerfile' if (context / 'Containerfile').exists() else 'Dockerfile'
    with open(str(context / name)) as f:
        containerfile = f.read()
    assert 'registry.fedoraproject.org/fedora:42' in containerfile
    assert 'ansible-galaxy collection install' in containerfile
    assert (context / '_build' / 'collections' / rh.tarball_name()).is_file()
    with open(str(context / '_build' / 'requirements.yml')) as f:
        assert yaml.safe_load(f)['collections'][0]['name'] == 'collections/' + rh.tarball_name()
