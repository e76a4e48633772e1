# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bootserver/ipxe_hosts.py: the records the role ipxe works on (what templates/internal/hosts.json.j2 made
before) and every host's check."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.bootserver import ipxe_hosts


def host(**kw):
    h = {'name': 'pc1', 'mac': '52-54-00-AA-00-01', 'initiator_iqn': 'iqn.1991-05.com.microsoft:pc1',
         'target': {'iqn': 'iqn.2025-01.test:pc1'}}
    h.update(kw)
    return h


def test_defaults():
    out = ipxe_hosts.normalize([host(chap={'username': 'u', 'password': 'secret-secret'})], '192.0.2.10')
    h = out['hosts'][0]
    assert h['mac'] == '52:54:00:aa:00:01' and h['mac_file'] == '52-54-00-aa-00-01'
    assert h['san_uri'] == 'iscsi:192.0.2.10:::1:iqn.2025-01.test:pc1'
    assert h['mode'] == 'boot' and h['keep_san'] and h['describe'] and not h['discover']
    assert h['template'] == 'host.ipxe.j2' and h['on_failure'] == 'exit'
    assert [f['name'] for f in h['install']['files']] == ['bootmgr', 'BCD', 'boot.sdi', 'boot.wim']
    assert out['errors'] == [] and 'secret-secret' not in repr(out['public'])


def test_lun_port_ipv6_and_drive():
    h = ipxe_hosts.normalize([host(target={'iqn': 'iqn.2025-01.test:pc1', 'server': 'fd00::1', 'port': 3261,
                                           'lun': 12}, drive=128)])['hosts'][0]
    assert h['san_uri'] == 'iscsi:[fd00::1]::3261:c:iqn.2025-01.test:pc1'   # LUN 12 is "c" for iPXE
    assert h['drive'] == '0x80'


def test_every_bad_host_is_reported():
    out = ipxe_hosts.normalize([host(), host(name='bad', mac='nope'), host(name='hook', mode='hook'),
                                host(name='disc', mode='discover', initiator_iqn='', target={})])
    assert len(out['errors']) == 2
    assert out['errors'][0].startswith('Host bad: needs a MAC address')
    assert out['errors'][1].startswith('Host hook: ')
    assert out['hosts'][3]['discover']
