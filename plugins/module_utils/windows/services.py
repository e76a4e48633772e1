# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services on the boot path: the network stack every version needs at boot, and a driver's DependOnService
closure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.registry import fold

# Services that carry the iSCSI boot path besides the NIC driver (sanbootconf's list, S9).
NETSERVICE_CLASS = '{4D36E974-E325-11CE-BFC1-08002BE10318}'
# The Windows Filtering Platform's lightweight filter, bound to every NIC (its FilterRunType decides whether it must be).
WFP_LWF = '{B70D6460-3635-4D42-B866-B8AB1A24454C}'

NETWORK_STACK = ('NDIS', 'Tcpip', 'iScsiPrt')
OPTIONAL_STACK = ('PSched',)
CM_SERVICE_NETWORK_BOOT_LOAD = 0x1


def _services(control_set):
    return (control_set, 'Services')


def dependency_closure(reader, control_set, services):
    """The services and, recursively, every service in their DependOnService lists (that exists)."""
    seen, order, missing = set(), [], []
    stack = list(reversed(services))
    while stack:
        name = stack.pop()
        if fold(name) in seen:
            continue
        seen.add(fold(name))
        key = _services(control_set) + (name,)
        if not reader.key_exists(key):
            missing.append(name)
            continue
        real = reader.real_path(key)[-1]
        order.append(real)
        deps = reader.get_value(key, 'DependOnService')
        deps = deps.decoded() if deps is not None else []
        if isinstance(deps, list):
            stack.extend(reversed([d for d in deps if d]))
    return order, missing
