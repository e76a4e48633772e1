# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one grammar for device IDs that every module accepts (nics, devices, hardware_ids).

A PCI device in any of the forms an administrator has at hand:
  PCI\\VEN_8086&DEV_100E[&SUBSYS_11001AF4][&REV_03][&CC_0200[00]]   as Windows writes it (Device Manager, INF)
  8086:100e  or  [8086:100e]                                      as lspci -n / lspci -nn print it
  00:03.0 Ethernet controller [0200]: Intel ... [8086:100e] (rev 03) a whole lspci -nn line (class, revision)
  8086:100e 1af4:1100                                             vendor:device, then subsystem vendor:device
A `Subsystem: ... [1af4:1100]` line (lspci -nnv) after an lspci line adds the subsystem.

Any other hardware ID (ACPI\\PNP0A08, *PNP0F13, GenDisk, USB\\VID_...) is taken as Windows writes it, after the
checks Windows' own rules imply: 1 to 200 printable ASCII characters without space, comma or quotes (the
HardwareID schema of device metadata packages, MAX_DEVICE_ID_LEN), and no empty, "." or ".." part between
backslashes (such a name is a path, not a device)."""

from __future__ import absolute_import, division, print_function

import re

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

MAX_DEVICE_ID_LEN = 200

_WINDOWS_PCI = re.compile(r'^PCI\\VEN_([0-9A-F]{4})&DEV_([0-9A-F]{4})(?:&SUBSYS_([0-9A-F]{8}))?(?:&REV_([0-9A-F]{2}))?'
                          r'(?:&CC_([0-9A-F]{4}(?:[0-9A-F]{2})?))?$', re.I)
_PAIR = r'\[?([0-9A-F]{4}):([0-9A-F]{4})\]?'
_SHORT_PCI = re.compile(r'^%s(?:\s+%s)?$' % (_PAIR, _PAIR), re.I)
# 00:03.0 Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e] (rev 03)
_LSPCI_LINE = re.compile(r'^(?:[0-9A-F]{4}:)?[0-9A-F]{2}:[0-9A-F]{2}\.[0-7]\s+[^\n]*?\[([0-9A-F]{4})\]:\s[^\n]*'
                         r'\[([0-9A-F]{4}):([0-9A-F]{4})\](?:\s+\(rev ([0-9A-F]{2})\))?[^\n]*$', re.I)
_LSPCI_SUBSYSTEM = re.compile(r'^\s*Subsystem:[^\n]*\[([0-9A-F]{4}):([0-9A-F]{4})\]\s*$', re.I)
_HEX_PAIR_TYPO = re.compile(r'^\[?[0-9A-F]{1,8}:[0-9A-F]{1,8}\b', re.I)
_ALLOWED = re.compile(r'^[A-Za-z0-9!#$%&()*+\-./:;<=>?@\[\\\]^_`{|}~]+$')

FORMS = ('a Windows hardware ID (PCI\\VEN_8086&DEV_100E[&SUBSYS_11001AF4][&REV_03], ACPI\\PNP0A08, *PNP0F13) or '
         'a PCI ID as lspci prints it (8086:100e, [8086:100e], a whole `lspci -nn` line, or 8086:100e followed by '
         'the subsystem 1af4:1100)')


class PciId(object):
    """A PCI function's IDs, upper-case hex as Windows writes them; subsys is SUBSYS_<device><vendor>."""

    def __init__(self, ven, dev, subsys=None, rev=None, cc=None):
        self.ven, self.dev = ven.upper(), dev.upper()
        self.subsys = subsys.upper() if subsys else None
        self.rev = rev.upper() if rev else None
        self.cc = cc.upper() if cc else None

    @property
    def windows(self):
        text = 'PCI\\VEN_%s&DEV_%s' % (self.ven, self.dev)
        for part, value in (('SUBSYS', self.subsys), ('REV', self.rev), ('CC', self.cc)):
            if value:
                text += '&%s_%s' % (part, value)
        return text


def id_error(text, why=None):
    return RegistryError('%r is not a device ID%s: give %s' % (text, ' (%s)' % why if why else '', FORMS))


def parse_pci(text):
    """PciId for any PCI form of the grammar, None for anything that is not written as a PCI ID."""
    if not isinstance(text, str):
        return None
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    first = lines[0].strip()
    if len(lines) == 1:
        m = _WINDOWS_PCI.match(first)
        if m:
            return PciId(*m.groups())
        m = _SHORT_PCI.match(first)
        if m:
            ven, dev, sub_ven, sub_dev = m.groups()
            return PciId(ven, dev, subsys=(sub_dev + sub_ven) if sub_ven else None)
    m = _LSPCI_LINE.match(first)
    if not m:
        return None
    cc, ven, dev, rev = m.groups()
    subsys = None
    for line in lines[1:]:
        sub = _LSPCI_SUBSYSTEM.match(line)
        if sub:
            subsys = sub.group(2) + sub.group(1)
    return PciId(ven, dev, subsys=subsys, rev=rev, cc=cc)


def hardware_id(text):
    """One hardware ID, checked: the Windows form of a PCI ID given in any form, any other ID as written."""
    if not isinstance(text, str) or not text.strip():
        raise id_error(text, 'empty')
    pci = parse_pci(text)
    if pci is not None:
        return pci.windows
    text = text.strip()
    if _HEX_PAIR_TYPO.match(text):
        raise id_error(text, 'lspci prints vendor:device as four hex digits each')
    if len(text) > MAX_DEVICE_ID_LEN:
        raise id_error(text, 'longer than %d characters' % MAX_DEVICE_ID_LEN)
    if '#' in text:
        raise id_error(text, 'a CriticalDeviceDatabase key name? write it with backslashes where it has "#"')
    if not _ALLOWED.match(text):
        raise id_error(text, 'characters Windows does not allow in device IDs: spaces, commas, quotes, control or '
                             'non-ASCII characters')
    if any(part in ('', '.', '..') for part in text.split('\\')):
        raise id_error(text, 'an empty, "." or ".." part between backslashes')
    return text


def pci_id(text):
    """A PciId for a NIC: the grammar's PCI forms only (junk gets hardware_id's message)."""
    pci = parse_pci(text)
    if pci is None:
        hardware_id(text)
        raise RegistryError('%r is not a PCI ID (a boot NIC is a PCI device): give %s' % (text, FORMS))
    return pci
