# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clients of playbooks/boot_server.yml: each client's host variables -> one iSCSI target and one iPXE host,
for the whole group at once (filter sanboot.windows.boot_clients)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.bootserver.targets import to_int

# the host variables a client may set (docs/boot-server.md)
KEYS = ('sanboot_mac', 'sanboot_image', 'sanboot_image_size', 'sanboot_mode', 'sanboot_target_iqn',
        'sanboot_initiator_iqn', 'sanboot_lun', 'sanboot_chap', 'sanboot_ip', 'sanboot_ipxe')


def describe(clients, server, iqn_prefix='iqn.2025-01.local.sanboot', backend='tgt'):
    """`clients`: [(inventory name, {host variable: value} with the KEYS it sets)] -> {'targets': for
    sanboot_iscsi_target_targets, 'ipxe_hosts': for sanboot_ipxe_hosts, 'errors': a message per client that
    lacks what it needs}."""
    targets, hosts, errors = [], [], []
    for name, c in clients:
        if 'sanboot_mac' not in c or 'sanboot_image' not in c:
            errors.append('Client %s: set sanboot_mac and sanboot_image.' % name)
            continue
        target_iqn = c.get('sanboot_target_iqn', '%s:%s' % (iqn_prefix, name.lower()))
        initiator_iqn = c.get('sanboot_initiator_iqn', 'iqn.1991-05.com.microsoft:' + name.lower())
        lun = to_int(c.get('sanboot_lun', 1 if backend == 'tgt' else 0))
        chap = c.get('sanboot_chap', {})
        targets.append({
            'iqn': target_iqn,
            'name': name,
            'luns': [{'path': c['sanboot_image'], 'lun': lun, 'size': c.get('sanboot_image_size', '')}],
            'initiators': [initiator_iqn],
            'chap': chap,
        })
        host = {
            'name': name,
            'mac': c['sanboot_mac'],
            'mode': c.get('sanboot_mode', 'boot'),
            'ip': c.get('sanboot_ip', ''),
            'initiator_iqn': initiator_iqn,
            'target': {'iqn': target_iqn, 'lun': lun, 'server': server},
            'chap': chap,
        }
        host.update(c.get('sanboot_ipxe') or {})
        hosts.append(host)
    return {'targets': targets, 'ipxe_hosts': hosts, 'errors': errors}
