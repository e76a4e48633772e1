# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' own checks of their settings, with real ansible-playbook runs into a throwaway root.

Ansible's role argument validation cannot reject variables it does not know, so a misspelt setting used to be
ignored silently (docs/boot-server.md says `sanboot_*_manage_services: false` leaves services alone; the
iscsi_target variable was singular, so a user following the doc had tgt started and enabled). Both roles now refuse
unknown `sanboot_<role>_*` variables by name; the old singular name still counts, with a deprecation message; and
the ipxe role refuses proxy mode without the server address BIOS iPXE needs as next server.
"""

from __future__ import absolute_import, division, print_function

import os
import subprocess

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(subprocess.run(['sh', '-c', 'command -v ansible-playbook'], capture_output=True,
                                               check=False).returncode != 0, reason='missing: ansible-playbook')

IPXE = {'sanboot_ipxe_manage_packages': False, 'sanboot_ipxe_manage_services': False,
        'sanboot_ipxe_firmware': {}, 'sanboot_ipxe_dnsmasq': True, 'sanboot_ipxe_dnsmasq_range': '192.0.2.0'}
TARGET = {'sanboot_iscsi_target_manage_packages': False, 'sanboot_iscsi_target_apply': False,
          'sanboot_iscsi_target_targets': [{'iqn': 'iqn.2025-01.test.sanboot:pc1', 'allow_any_initiator': True,
                                            'luns': [{'path': '/dev/fake-sanboot0'}]}]}


def play(tmp_path, role, settings):
    root = tmp_path / 'root'
    root.mkdir(exist_ok=True)
    prefix = 'sanboot_ipxe_root' if role == 'ipxe' else 'sanboot_iscsi_target_root'
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([{
        'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
        'vars': dict(settings, ansible_python_interpreter='{{ ansible_playbook_python }}', **{prefix: str(root)}),
        'roles': ['sanboot.windows.' + role]}]))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'))
    env['PATH'] = os.path.join(ROOT, '.venv', 'bin') + os.pathsep + env.get('PATH', '')
    res = subprocess.run(['ansible-playbook', '-i', 'localhost,', str(playbook)], env=env, capture_output=True,
                         text=True, cwd=ROOT, check=False)
    res.root = root
    return res


@pytest.mark.parametrize('role,settings,typo', [
    ('iscsi_target', TARGET, 'sanboot_iscsi_target_manage_servics'),
    ('ipxe', IPXE, 'sanboot_ipxe_dnsmasq_intreface'),
])
def test_misspelt_variable_stops_the_role_before_anything_is_written(tmp_path, role, settings, typo):
    res = play(tmp_path, role, dict(settings, **{typo: False}))
    assert res.returncode != 0
    assert 'Unknown variable(s) %s: the role sanboot.windows.%s has no such setting' % (typo, role) in res.stdout
    assert not os.listdir(str(res.root))


def test_old_singular_service_variable_still_counts(tmp_path):
    """sanboot_iscsi_target_manage_service: false (old name) keeps the service alone, and says it is deprecated."""
    res = play(tmp_path, 'iscsi_target', dict(TARGET, sanboot_iscsi_target_manage_service=False))
    assert res.returncode == 0, res.stdout[-3000:]
    assert 'DEPRECATED: sanboot_iscsi_target_manage_service is now sanboot_iscsi_target_manage_services' in res.stdout
    task = res.stdout.index('TASK [sanboot.windows.iscsi_target : Start and enable tgt]')
    assert res.stdout[task:].split('\n')[1].startswith('skipping: [localhost]')


def test_proxy_mode_needs_the_server_address(tmp_path):
    res = play(tmp_path, 'ipxe', dict(IPXE, sanboot_ipxe_dnsmasq_mode='proxy'))
    assert res.returncode != 0
    assert 'in proxy\nmode sanboot_ipxe_server_address' in res.stdout or \
        'in proxy mode sanboot_ipxe_server_address' in res.stdout, res.stdout[-3000:]
    ok = play(tmp_path, 'ipxe', dict(IPXE, sanboot_ipxe_dnsmasq_mode='proxy', sanboot_ipxe_server_address='192.0.2.10'))
    assert ok.returncode == 0, ok.stdout[-3000:]
    with open(str(ok.root / 'etc' / 'dnsmasq.d' / 'sanboot-ipxe.conf')) as f:
        assert 'dhcp-boot=tag:ipxe,tftp://192.0.2.10/boot.ipxe,,192.0.2.10\n' in f.read()
