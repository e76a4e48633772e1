# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Ansible's `bool`, `string` and `to_uuid` filters and `default(x, true)` do, for the records of this
package (the records must stay byte for byte what the roles' Jinja templates produced before)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid

# Ansible's to_uuid namespace (ansible.plugins.filter.core.UUID_NAMESPACE_ANSIBLE)
UUID_NAMESPACE_ANSIBLE = uuid.UUID('361E6D51-FAEC-444A-9079-341386DA8E2E')
TRUE = ('yes', 'on', '1', 'true', 'y', 't')


def to_bool(value):
    """Ansible's `bool`: True, 1 and the strings yes/on/1/true/y/t (any case) are true."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in TRUE
    return False


def or_default(mapping, key, default):
    """`mapping.key | default(default, true)`: the default also for '', 0, None, [] and {}."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if value else default


def text(value):
    """Ansible's `string` filter."""
    if value is None:
        return 'None'
    if isinstance(value, bool):
        return 'True' if value else 'False'
    return value if isinstance(value, str) else str(value)


def to_uuid(value):
    """Ansible's `to_uuid`."""
    return str(uuid.uuid5(UUID_NAMESPACE_ANSIBLE, value))
