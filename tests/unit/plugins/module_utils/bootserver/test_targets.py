# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bootserver/targets.py: the records the role iscsi_target works on (what templates/internal/targets.json.j2
made before, field for field), the checks of the whole list, the tgt plan and the record of what was applied."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.sanboot.windows.plugins.module_utils.bootserver import targets

LIVE = '''Target 1: iqn.2025-01.test:pc1
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Backing store path: None
        LUN: 1
            Backing store path: /srv/pc1.img
    Account information:
        pc1-user
    ACL information:
        255.255.255.255
        iqn.1991-05.com.microsoft:pc1
Target 2: iqn.2025-01.test:busy
    System information:
        Driver: iscsi
    I_T nexus information:
        I_T nexus: 3
            Initiator: iqn.1991-05.com.microsoft:busy alias: none
            Connection: 0
    LUN information:
        LUN: 1
            Backing store path: /srv/busy.img
    Account information:
    ACL information:
        ALL
Target 3: iqn.2025-01.test:gone
    System information:
    Account information:
    ACL information:
'''


def present(iqn, **kw):
    t = {'iqn': iqn, 'luns': [{'path': '/srv/%s.img' % iqn.split(':')[-1]}], 'initiators': ['iqn.1991-05.com.microsoft:x']}
    t.update(kw)
    return t


def test_defaults_are_those_of_the_template():
    luns = [{'path': '/srv/a.img', 'size': '8G'}, {'path': '/dev/sdb', 'readonly': 'yes'}]
    out = targets.normalize([{'iqn': ' iqn.2025-01.test:PC 1 ', 'luns': luns,
                              'initiators': ['iqn.1991-05.com.microsoft:pc1'],
                              'chap': {'username': 'u', 'password': 'abcdefghijkl'}}])
    t = out['targets'][0]
    assert t['iqn'] == 'iqn.2025-01.test:PC 1' and t['name'] == 'PC_1' and t['state'] == 'present'
    first, second = t['luns']
    assert (first['lun'], second['lun']) == (1, 2)               # tgt: LUN 0 is the controller
    assert first['serial'] == hashlib.sha1(b'iqn.2025-01.test:PC 1/1').hexdigest()
    assert first['lio_wwn'] == '%s' % targets.to_uuid('iqn.2025-01.test:PC 1/1')
    assert first['size'] == '8G' and not first['block'] and first['write_cache'] and not first['readonly']
    assert second['block'] and second['readonly'] and second['lio_plugin'] == 'block' and second['lio_name'] == 'PC_1_lun2'
    assert second['backing_store'] == 'block' and first['backing_store'] == 'file'
    assert t['chap'] == {'username': 'u', 'password': 'abcdefghijkl', 'mutual_username': '', 'mutual_password': ''}
    # the public record has no secret
    pub = out['public'][0]['chap']
    assert 'abcdefghijkl' not in repr(out['public']) and pub['password_set'] and pub['password_len'] == 12
    assert out['present'] == out['public'] and out['absent'] == []
    assert out['errors'] == ['Target iqn.2025-01.test:PC 1: not a valid iSCSI name (iqn.YYYY-MM.reversed.domain'
                             '[:identifier], eui.* or naa.*), or state present is not present/absent.']


def test_lio_numbers_from_zero_and_lun_zero_given():
    t = targets.normalize([present('iqn.2025-01.test:a', luns=[{'path': '/a', 'lun': 0}, {'path': '/b', 'lun': 5}])],
                          'lio')['targets'][0]
    assert [l['lun'] for l in t['luns']] == [0, 5]


def test_every_problem_of_the_list_is_reported_at_once():
    out = targets.normalize([
        present('iqn.bad name'),
        present('iqn.2025-01.test:noluns', luns=[]),
        present('iqn.2025-01.test:open', initiators=[]),
        present('iqn.2025-01.test:chap', chap={'username': 'u', 'password': 'short'}),
        present('iqn.2025-01.test:dup', luns=[{'path': '/srv/same.img'}]),
        present('iqn.2025-01.test:dup2', luns=[{'path': '/srv/same.img'}]),
        {'iqn': 'iqn.2025-01.test:old', 'state': 'absent'},
    ], 'tgt', [{'address': '', 'port': 3260}])
    text = '\n'.join(out['errors'])
    assert 'Target iqn.bad name: not a valid iSCSI name' in text
    assert 'Target iqn.2025-01.test:noluns: needs at least one LUN' in text
    assert 'Target iqn.2025-01.test:open: list the initiator IQNs' in text
    assert 'Target iqn.2025-01.test:chap: CHAP needs username and password together' in text
    assert 'Used more than once: /srv/same.img.' in text
    assert 'Portal' in text
    assert 'short' not in text
    assert [t['iqn'] for t in out['absent']] == ['iqn.2025-01.test:old']
    assert len(out['errors']) == 6


def test_lio_refuses_address_acls():
    out = targets.normalize([present('iqn.2025-01.test:a', initiator_addresses=['10.0.0.1'])], 'lio')
    assert 'initiator_addresses is a tgt-only setting' in out['errors'][0]


def test_tgt_plan_applies_new_and_changed_targets_and_leaves_busy_ones():
    norm = targets.normalize([
        present('iqn.2025-01.test:pc1', initiators=['iqn.1991-05.com.microsoft:pc1'],
                chap={'username': 'pc1-user', 'password': 'abcdefghijkl'}),
        present('iqn.2025-01.test:busy'),
        present('iqn.2025-01.test:new'),
        {'iqn': 'iqn.2025-01.test:gone', 'state': 'absent'},
    ])
    checksums = {'iqn.2025-01.test:pc1': 'a', 'iqn.2025-01.test:busy': 'b2', 'iqn.2025-01.test:new': 'c'}
    applied = {'iqn.2025-01.test:pc1': 'a', 'iqn.2025-01.test:busy': 'b1'}
    plan = targets.tgt_plan(LIVE, norm['present'], norm['absent'], applied, checksums)
    assert [i['iqn'] for i in plan['apply']] == ['iqn.2025-01.test:new']
    assert [i['iqn'] for i in plan['busy']] == ['iqn.2025-01.test:busy']
    assert [i['iqn'] for i in plan['delete']] == ['iqn.2025-01.test:gone']
    assert plan['missing']['iqn.2025-01.test:pc1'] == []
    assert plan['missing']['iqn.2025-01.test:new'] == ['target iqn.2025-01.test:new']
    assert plan['missing']['iqn.2025-01.test:busy'] == ['initiator ACL iqn.1991-05.com.microsoft:x']
    assert plan['live']['iqn.2025-01.test:pc1'] == {'tid': 1, 'connected': False, 'paths': ['/srv/pc1.img'],
                                                    'accounts': ['pc1-user'],
                                                    'acls': ['255.255.255.255', 'iqn.1991-05.com.microsoft:pc1']}
    small = targets.tgt_plan(LIVE, norm['present'], norm['absent'], applied, checksums, details=False)
    assert set(small) == {'apply', 'busy', 'delete', 'delete_busy'}

    # the record: applied and unchanged targets get their checksum, the busy one keeps its old one
    record = targets.record(norm['present'], plan, applied, checksums, ['iqn.2025-01.test:new'])
    assert record == {'iqn.2025-01.test:pc1': 'a', 'iqn.2025-01.test:busy': 'b1', 'iqn.2025-01.test:new': 'c'}
    # not applied (check mode): a new target stays out of the record, so the next run applies it
    assert 'iqn.2025-01.test:new' not in targets.record(norm['present'], plan, applied, checksums, [])
