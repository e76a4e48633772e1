# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bootserver/clients.py: boot_server.yml's clients -> targets and iPXE hosts (what its set_fact loop made)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.bootserver import clients


def test_clients_become_targets_and_hosts():
    out = clients.describe([
        ('PC1', {'sanboot_mac': '52:54:00:00:00:01', 'sanboot_image': '/srv/pc1.img', 'sanboot_image_size': '8G'}),
        ('pc2', {'sanboot_mac': '52:54:00:00:00:02', 'sanboot_image': '/srv/pc2.img', 'sanboot_lun': '3',
                 'sanboot_chap': {'username': 'u'}, 'sanboot_ipxe': {'drive': '0x80', 'mode': 'hook'}}),
    ], '192.0.2.10', 'iqn.2025-01.test')
    assert out['errors'] == []
    assert out['targets'][0] == {'iqn': 'iqn.2025-01.test:pc1', 'name': 'PC1', 'chap': {},
                                 'luns': [{'path': '/srv/pc1.img', 'lun': 1, 'size': '8G'}],
                                 'initiators': ['iqn.1991-05.com.microsoft:pc1']}
    assert out['ipxe_hosts'][1] == {'name': 'pc2', 'mac': '52:54:00:00:00:02', 'mode': 'hook', 'ip': '',
                                    'initiator_iqn': 'iqn.1991-05.com.microsoft:pc2', 'drive': '0x80',
                                    'target': {'iqn': 'iqn.2025-01.test:pc2', 'lun': 3, 'server': '192.0.2.10'},
                                    'chap': {'username': 'u'}}


def test_lio_lun_zero_and_missing_variables():
    out = clients.describe([('a', {'sanboot_mac': 'x', 'sanboot_image': '/a'}), ('b', {'sanboot_mac': 'y'}),
                            ('c', {})], 's', backend='lio')
    assert out['targets'][0]['luns'][0]['lun'] == 0
    assert out['errors'] == ['Client b: set sanboot_mac and sanboot_image.',
                             'Client c: set sanboot_mac and sanboot_image.']
