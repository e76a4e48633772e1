# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the boot server (roles iscsi_target and ipxe, playbooks/boot_server.yml): the per-client data of the
whole list at once, in plain Python (plugins/module_utils/bootserver), instead of a task or template loop per
client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.sanboot.windows.plugins.module_utils.bootserver import clients, ipxe_hosts, targets


def _plain(value):
    """Ansible's lazy containers as plain dicts and lists."""
    if isinstance(value, dict) or hasattr(value, 'items') and not isinstance(value, (str, bytes)):
        return dict((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def boot_clients(names, hostvars, server='', iqn_prefix='iqn.2025-01.local.sanboot', backend='tgt'):
    """Inventory names of the clients -> {'targets', 'ipxe_hosts', 'errors'} (module_utils/bootserver/clients.py)."""
    if names is None:
        raise AnsibleFilterError('boot_clients: no client list')
    found = []
    for name in names:
        host = hostvars[name]
        found.append((name, dict((key, _plain(host[key])) for key in clients.KEYS if key in host)))
    return clients.describe(found, server, iqn_prefix, backend)


def iscsi_targets(target_list, backend='tgt', portals=None):
    """sanboot_iscsi_target_targets -> {'targets', 'public', 'present', 'absent', 'errors'}."""
    return targets.normalize(_plain(target_list), backend, _plain(portals))


def tgt_plan(live_out, present, absent, applied=None, checksums=None, details=True):
    """The running tgtd against the wanted targets -> {'live', 'apply', 'busy', 'delete', 'delete_busy',
    'missing'}."""
    return targets.tgt_plan(live_out, _plain(present), _plain(absent), _plain(applied), _plain(checksums), details)


def iscsi_target_record(present, plan, applied, checksums, done):
    """The record of what was applied, {iqn: checksum}."""
    return targets.record(_plain(present), _plain(plan), _plain(applied), _plain(checksums), _plain(done))


def ipxe_host_list(host_list, target_server='', on_failure='exit', template='host.ipxe.j2'):
    """sanboot_ipxe_hosts -> {'hosts', 'public', 'errors'}."""
    return ipxe_hosts.normalize(_plain(host_list), target_server, on_failure, template)


class FilterModule(object):
    def filters(self):
        return {
            'boot_clients': boot_clients,
            'iscsi_targets': iscsi_targets,
            'tgt_plan': tgt_plan,
            'iscsi_target_record': iscsi_target_record,
            'ipxe_hosts': ipxe_host_list,
        }
