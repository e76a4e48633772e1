# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A client's identity in a copy of a golden image: its computer name, and for a generalized (sysprepped) image the
answer file that makes it specialize with that name and a machine SID of its own.

* ``check_computer_name``: the names Windows accepts (System Properties and setup refuse the others): 1 to 15
  characters (the NetBIOS limit), letters, digits and hyphens only (no dots, spaces or any of \\/:*?"<>|,~!@#$%^&'
  (){}_), not only digits, not starting or ending with a hyphen. The error names the client.
* ``plan_identity``: the name into every ControlSet00N of SYSTEM: Control\\ComputerName\\ComputerName
  ``ComputerName`` (upper case, as Windows stores it) and Services\\Tcpip\\Parameters ``Hostname`` and
  ``NV Hostname`` (the DNS host name, as given).
* ``image_state``/``is_generalized``: SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State ``ImageState``;
  IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE (or _TO_AUDIT) is an image sysprep /generalize left, which runs the
  specialize pass at its next boot and reads Windows\\Panther\\unattend.xml there.
* ``render_unattend``: that answer file from a template (``$computer_name``, ``$processor_architecture``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import string

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, Value, text_value

NAME_MAX = 15
NAME_RE = re.compile(r'^[A-Za-z0-9-]+$')
STATE_KEY = ('Microsoft', 'Windows', 'CurrentVersion', 'Setup', 'State')
GENERALIZED = ('IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE', 'IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT')
UNATTEND_PATH = 'Panther\\unattend.xml'          # under the Windows folder

DEFAULT_UNATTEND = """<?xml version="1.0" encoding="utf-8"?>
<!-- Written by sanboot.windows for one client of a generalized golden image: specialize with this name. -->
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="specialize">
    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="$processor_architecture"
               publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS"
               xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State"
               xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <ComputerName>$computer_name</ComputerName>
    </component>
  </settings>
</unattend>
"""


class IdentityError(RegistryError):
    pass


def check_computer_name(name, client):
    """``name`` if Windows accepts it as a computer name; IdentityError naming ``client`` otherwise."""
    why = None
    if not isinstance(name, str) or not name:
        why = 'it is empty'
    elif len(name) > NAME_MAX:
        why = 'it has %d characters; Windows allows at most %d (the NetBIOS limit)' % (len(name), NAME_MAX)
    elif not NAME_RE.match(name):
        bad = sorted(set(c for c in name if not re.match(r'[A-Za-z0-9-]', c)))
        why = 'it contains %s; Windows allows letters, digits and hyphens only' % ', '.join(repr(c) for c in bad)
    elif name.isdigit():
        why = 'it is only digits, which Windows refuses'
    elif name.startswith('-') or name.endswith('-'):
        why = 'it starts or ends with a hyphen, which DNS refuses'
    if why:
        raise IdentityError('client %s: computer name %r is not one Windows accepts: %s. Set sanboot_computer_name '
                            'for this client.' % (client, name, why))
    return name


def default_computer_name(inventory_name):
    """The name derived from an inventory name: its first DNS label, upper case, other characters as hyphens."""
    label = inventory_name.split('.', 1)[0] if not re.match(r'^\d+(\.\d+){3}$', inventory_name) else inventory_name
    name = re.sub(r'[^A-Za-z0-9-]', '-', label).upper()[:NAME_MAX].strip('-')
    return name


def control_sets(reader):
    return sorted(n for n in reader.subkeys(()) if re.match(r'^ControlSet\d{3}$', n, re.I))


def plan_identity(planner, name):
    """Plan the computer name on a SYSTEM hive's Planner (every ControlSet00N). Returns the control sets named."""
    sets = control_sets(planner)
    if not sets:
        raise IdentityError('the SYSTEM hive has no ControlSet00N key')
    for cs in sets:
        planner.ensure_value((cs, 'Control', 'ComputerName', 'ComputerName'), Value.sz('ComputerName', name.upper()))
        params = (cs, 'Services', 'Tcpip', 'Parameters')
        planner.ensure_value(params, Value.sz('Hostname', name))
        planner.ensure_value(params, Value.sz('NV Hostname', name))
    return sets


def read_computer_name(reader):
    """The computer name of the current control set (Select\\Current), or of the first one."""
    sets = control_sets(reader)
    from_select = None
    if reader.key_exists(('Select',)):
        current = reader.get_value(('Select',), 'Current')
        if current is not None and len(current.data) == 4:
            from_select = 'ControlSet%03d' % current.decoded()
    cs = from_select if from_select in sets else (sets[0] if sets else None)
    if cs is None:
        return None
    return text_value(reader, (cs, 'Control', 'ComputerName', 'ComputerName'), 'ComputerName')


def image_state(software):
    """ImageState from a SOFTWARE hive reader (None when absent: an image never sysprepped, or Windows XP)."""
    if software is None or not software.key_exists(STATE_KEY):
        return None
    return text_value(software, STATE_KEY, 'ImageState')


def is_generalized(state):
    return state in GENERALIZED


def render_unattend(template, computer_name, processor_architecture='amd64'):
    """The answer file for one client: ``template`` with $computer_name and $processor_architecture."""
    try:
        return string.Template(template).substitute(computer_name=computer_name,
                                                    processor_architecture=processor_architecture)
    except (KeyError, ValueError) as exc:
        raise IdentityError('the unattend.xml template names %s; it may use $computer_name and '
                            '$processor_architecture (write $$ for a dollar sign)' % exc)
