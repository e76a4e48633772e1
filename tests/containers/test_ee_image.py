# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment, built and run. The user guide's section on AWX is run as written (walk `ee`):
`ansible-builder introspect` on the installed release tarball, then `ansible-builder build` of the guide's
execution-environment.yml with podman. Its base image, docker.io/library/debian:bookworm, is the local stand-in made
by tests/containers/base-image.sh (debootstrap --variant=minbase, as Debian's image is made) and tagged with that
name in the test's own podman store: no registry is reached. Then, inside the image as its default user (uid 1000,
as AWX runs it) and without a network: ansible-doc renders every module, the hivex and guestfs bindings import, and
the doctor (iscsi_boot_info) and iscsi_boot convert a real Windows 7 SYSTEM hive, which is read back on the host with
hivexget (libhivex's own tool). And iscsi_boot converts a disk image there: libguestfs builds its appliance from the
kernel that meta/ee-bindep.txt puts in the image and boots it under TCG (no /dev/kvm in the container)."""

from __future__ import absolute_import, division, print_function

import glob
import json
import os
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.sanboot.windows.tests.helpers import make_windows_image, read_from_image, unpacked_hive
from ansible_collections.sanboot.windows.tests.release import release_helpers as rh

ROOT = rh.ROOT
IMAGE = 'localhost/sanboot-ee:0.1.0'            # `-t sanboot-ee:0.1.0` in the guide
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py'))
                 if not p.endswith('__init__.py'))
E1000 = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}


def podman(*args, **kwargs):
    """podman with the repository's settings (tests/containers/env.sh, which scripts/run-tests.sh sources)."""
    assert os.environ.get('CONTAINERS_CONF', '').endswith('tests/containers/containers.conf'), \
        'run through `make test-containers` (or source tests/containers/env.sh first)'
    return subprocess.run(['podman'] + list(args), capture_output=True, text=True, check=False, **kwargs)


def run_in_image(*command, volume=None, env=None):
    args = ['run', '--rm', '--network', 'none']
    if volume:
        args += ['--volume', volume]
    for name, value in (env or {}).items():
        args += ['--env', '%s=%s' % (name, value)]
    return podman(*(args + [IMAGE] + list(command)))


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """The guide's walk `ee`, run as written in a folder holding the release tarball. Returns (output, folder)."""
    proc = subprocess.run([os.path.join(ROOT, 'tests', 'containers', 'setup.sh')], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    user = rh.guide_user()
    work = tmp_path_factory.mktemp('ee')
    shutil.copy(rh.dist_tarball(), str(work))
    rc, out = rh.run_walk('ee', str(work), user, str(work / 'walk.log'), timeout=2400)
    assert rc == 0, out[-8000:]
    return out, work


def test_guide_builds_the_image(built):
    out, work = built
    # introspect: what the build adds for the installed collection (meta/execution-environment.yml)
    introspected = out[out.index('ansible-builder introspect'):out.index('ansible-builder build')]
    assert "- 'pywinrm>=0.4.3  # from collection sanboot.windows'" in introspected, introspected[-3000:]
    for name, profiles in rh.ee_bindep_rules():
        line = "- '%s [%s]  # from collection sanboot.windows'" % (name, ' '.join(sorted(profiles)))
        assert line in introspected, line
    # the build context: the guide's base image, the collection's tarball installed by ansible-galaxy, and the
    # Debian packages that bindep chose from meta/ee-bindep.txt installed with apt-get
    with open(str(work / 'context' / 'Containerfile')) as f:
        containerfile = f.read()
    assert 'ARG EE_BASE_IMAGE="docker.io/library/debian:bookworm"' in containerfile
    assert 'ansible-galaxy collection install' in containerfile
    assert (work / 'context' / '_build' / 'collections' / rh.tarball_name()).is_file()
    with open(str(work / 'context' / '_build' / 'requirements.yml')) as f:
        assert yaml.safe_load(f)['collections'][0]['name'] == 'collections/' + rh.tarball_name()
    assert 'Complete! The build context can be found at: ' in out, out[-3000:]
    assert podman('image', 'exists', IMAGE).returncode == 0
    # the image holds the collection and the Debian packages of ee-bindep.txt
    proc = run_in_image('ansible-galaxy', 'collection', 'list', 'sanboot.windows', '--format', 'json')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    versions = [c['sanboot.windows']['version'] for c in json.loads(proc.stdout).values() if 'sanboot.windows' in c]
    assert versions == [rh.galaxy()['version']], proc.stdout
    proc = run_in_image('dpkg-query', '-W', '-f', '${Package} ${Status}\\n')
    assert proc.returncode == 0, proc.stderr
    installed = set(l.split()[0] for l in proc.stdout.splitlines() if l.endswith(' install ok installed'))
    dpkg = set(n for n, p in rh.ee_bindep_rules() if 'platform:dpkg' in p)
    assert dpkg <= installed, dpkg - installed


def test_every_module_renders(built):
    proc = run_in_image('ansible-doc', '--json', '-t', 'module', *['sanboot.windows.' + m for m in MODULES])
    assert proc.returncode == 0, proc.stderr[-3000:]
    docs = json.loads(proc.stdout)
    assert sorted(docs) == ['sanboot.windows.' + m for m in MODULES]
    for name, doc in docs.items():
        assert doc['doc']['short_description'] and doc['doc']['options'] is not None, name
        assert doc['examples'].strip() and doc['return'], name


def test_bindings_import_with_the_images_python(built):
    proc = run_in_image('python3', '-c', 'import sys, hivex, guestfs, winrm; '
                        'print(sys.executable, hivex.__file__, guestfs.__file__)')
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Debian's bindings, for Debian's Python, which ansible-core runs with
    assert proc.stdout.split() == ['/usr/bin/python3', '/usr/lib/python3/dist-packages/hivex/__init__.py',
                                   '/usr/lib/python3/dist-packages/guestfs.py'], proc.stdout


PLAY = '''
- name: The doctor, the conversion and the doctor again, in the execution environment
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Doctor before
      sanboot.windows.iscsi_boot_info: &doctor
        hive: /work/SYSTEM
        nics: %(nics)s
      register: before

    - name: Convert
      sanboot.windows.iscsi_boot:
        hive: /work/SYSTEM
        nics: %(nics)s
      register: converted

    - name: Doctor after
      sanboot.windows.iscsi_boot_info: *doctor
      register: after

    - name: Report
      ansible.builtin.copy:
        dest: /work/report.json
        content: "{{ {'before': before, 'converted': converted, 'after': after} | to_json }}"
        mode: "0644"
'''


def test_doctor_and_iscsi_boot_on_a_hive(built, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    os.chmod(str(work), 0o777)          # the image's user (uid 1000) writes the hive, its backup and the report
    hive = str(work / 'SYSTEM')
    shutil.copyfile(unpacked_hive('win7-sp1-x86.SYSTEM'), hive)
    # the image's user (uid 1000, group 0 as in ansible-builder's images) owns the hive it converts, as a user running
    # the EE on their own files would: another owner or group is refused, since the new file could not keep it
    os.chown(hive, 1000, 0)
    with open(str(work / 'play.yml'), 'w') as f:
        f.write(PLAY % {'nics': json.dumps([E1000])})
    proc = run_in_image('ansible-playbook', '/work/play.yml', volume='%s:/work' % work)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    with open(str(work / 'report.json')) as f:
        report = json.load(f)
    assert report['before']['ready'] is False
    assert report['before']['os']['family'] == 'CriticalDeviceDatabase'
    assert report['converted']['changed'] is True and report['converted']['ready'] is True
    assert os.path.basename(report['converted']['backup_file']).startswith('SYSTEM.')
    assert report['after']['ready'] is True and report['after']['converted'] is True
    # read back on the host, with libhivex's own tool
    for key, value, want in (('ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_100e', 'Service',
                              'E1G60'),
                             ('ControlSet001\\Services\\iScsiPrt', 'Start', '0')):
        got = subprocess.run(['hivexget', hive, key, value], capture_output=True, text=True, check=True).stdout
        assert got.strip() == want, (key, value, got)


IMAGE_PLAY = '''
- name: iscsi_boot on a disk image, in the execution environment (libguestfs)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Convert
      sanboot.windows.iscsi_boot:
        image: /work/win7.qcow2
        nics: %(nics)s
      register: converted

    - name: Report
      ansible.builtin.copy:
        dest: /work/report.json
        content: "{{ converted | to_json }}"
        mode: "0644"
'''


def test_iscsi_boot_on_an_image(built, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    os.chmod(str(work), 0o777)
    image = make_windows_image(str(work / 'win7.qcow2'), fmt='qcow2')
    os.chmod(image, 0o666)
    with open(str(work / 'play.yml'), 'w') as f:
        f.write(IMAGE_PLAY % {'nics': json.dumps([E1000])})
    proc = run_in_image('ansible-playbook', '/work/play.yml', volume='%s:/work' % work,
                        env={'LIBGUESTFS_BACKEND_SETTINGS': 'force_tcg'})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    with open(str(work / 'report.json')) as f:
        report = json.load(f)
    assert report['changed'] is True and report['ready'] is True, report
    # the SYSTEM hive inside the image, read on the host without libguestfs (ntfscat)
    hive = read_from_image(image, '/Windows/System32/config/SYSTEM', str(tmp_path / 'SYSTEM'), fmt='qcow2')
    got = subprocess.run(['hivexget', hive, 'ControlSet001\\Services\\iScsiPrt', 'Start'], capture_output=True,
                         text=True, check=True).stdout
    assert got.strip() == '0'
