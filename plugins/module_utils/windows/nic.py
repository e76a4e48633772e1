# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A boot NIC as the hardware presents it (its Windows hardware IDs) and the driver that will drive it.

Nic and Driver are the two records the rest of the Windows layer passes around: parse_nic reads what a user or
iPXE discovery gives (hwid.py holds the ID grammar), nicdriver.py finds the Driver."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError, fold
from ansible_collections.sanboot.windows.plugins.module_utils.inf import hwid
from ansible_collections.sanboot.windows.plugins.module_utils.inf.select import expand_pci_id
from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError

NET_CLASS = '{4D36E972-E325-11CE-BFC1-08002BE10318}'
_LOCATION_RE = re.compile(r'^PCIROOT\([0-9A-F]+\)(#PCI\([0-9A-F]{4}\))+$', re.I)


class Nic(object):
    """A boot NIC as the hardware presents it: PCI IDs from most to least specific."""

    def __init__(self, ven, dev, subsys=None, rev=None, service=None, location=None, cc=None):
        self.ven, self.dev, self.subsys, self.rev = ven.upper(), dev.upper(), \
            subsys.upper() if subsys else None, rev.upper() if rev else None
        self.cc = cc.upper() if cc else None     # class code, ccss or ccsspp, when given
        self.service = service
        self.location = location

    @property
    def generic(self):
        return 'PCI\\VEN_%s&DEV_%s' % (self.ven, self.dev)

    @property
    def hardware_ids(self):
        """Windows' hardware IDs, then compatible IDs, for what we know of the device (Microsoft S20), those that
        name its vendor and device: with a class code, the class-code IDs PCI\\VEN_v&DEV_d&CC_ccsspp and &CC_ccss
        where Windows ranks them, after the SUBSYS ones (install/identifiers-for-pci-devices.md); Windows forms them
        from the device's class code, whatever else its ID says."""
        if self.cc:
            hw, compat = expand_pci_id(self.full_id)
            mine = fold(self.generic)
            return [i for i in hw + compat if fold(i) == mine or fold(i).startswith(mine + '&')]
        return self._without_class_code()

    def _without_class_code(self):
        base = self.generic
        ids = []
        if self.subsys and self.rev:
            ids.append('%s&SUBSYS_%s&REV_%s' % (base, self.subsys, self.rev))
        if self.subsys:
            ids.append('%s&SUBSYS_%s' % (base, self.subsys))
        if self.rev:
            ids.append('%s&REV_%s' % (base, self.rev))
        ids.append(base)
        return ids

    @property
    def full_id(self):
        """Everything known of the device in one ID: PCI\\VEN_v&DEV_d[&SUBSYS_s][&REV_r][&CC_c]. inf.expand_pci_id
        turns it into the hardware and compatible IDs Windows forms, the class-code ones included."""
        text = self.most_specific
        return text + '&CC_' + self.cc if self.cc else text

    @property
    def most_specific(self):
        """The NIC's name in results and keys: its most specific ID without the class code."""
        return self._without_class_code()[0]

    def matches(self, device_id):
        """True when a hardware/compatible ID from Windows or an INF names this NIC."""
        return fold(device_id) in [fold(i) for i in self.hardware_ids]

    def __str__(self):
        return self.most_specific


def parse_nic(spec):
    """A NIC from 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', '8086:100e' or a dict with id/service/location."""
    service = location = None
    if isinstance(spec, dict):
        unknown = set(spec) - set(['id', 'service', 'location'])
        if unknown:
            raise BootError('unknown keys in a nics entry: %s (use id, service, location)' % ', '.join(sorted(unknown)))
        service, location = spec.get('service'), spec.get('location')
        spec = spec.get('id')
    if not isinstance(spec, str) or not spec.strip():
        raise BootError('a nics entry needs a PCI ID such as PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03')
    try:
        pci = hwid.pci_id(spec)
    except RegistryError as exc:
        raise BootError(str(exc))
    nic = Nic(pci.ven, pci.dev, pci.subsys, pci.rev, cc=pci.cc)
    if service is not None:
        nic.service = cddb.validate_service_name(service)
    if location is not None:
        if not _LOCATION_RE.match(location.strip()):
            raise BootError('location %r is not a PCI location path like PCIROOT(0)#PCI(0300)' % location)
        nic.location = location.strip().upper()
    return nic


def parse_nics(specs):
    nics = [parse_nic(spec) for spec in specs or []]
    seen = set()
    for nic in nics:
        # a dual-port card: the same ID twice, one entry per port, told apart by location
        key = (nic.most_specific.upper(), nic.location)
        if key in seen:
            raise BootError(
                '%s is listed twice in nics%s' % (nic, ' with the same location' if nic.location else
                                                  ': for the ports of a multi-port card give each its location '
                                                  '(PCIROOT(0)#PCI(0300)#PCI(0000))'))
        seen.add(key)
    return nics


class Driver(object):
    """Which service drives a NIC, and where that knowledge came from."""

    def __init__(self, service, source, class_guid=NET_CLASS, values=None, subkey_values=None, inf=None,
                 section=None, driver_ver=None, ids=None, files=None, provider=None, package=None, ddb_state=None,
                 inf_driver=None, package_path=None):
        self.service = service
        self.source = source
        self.class_guid = class_guid
        self.values = values or []              # Services\<svc> values from a package
        self.subkey_values = subkey_values or []  # [(subkey tuple, Value)] relative to Services\<svc>
        self.inf = inf
        self.section = section
        self.driver_ver = driver_ver            # (date 'MM/DD/YYYY' or None, version 'a.b.c.d' or None)
        self.ids = ids or []                    # IDs from the package that match the NIC
        self.files = files or []
        self.provider = provider
        # Windows 8+ (nicpackage.py): Windows' record of the package, how it becomes boot-critical, the INF reader's
        # view of a package given in drivers:.
        self.package = package
        self.ddb_state = ddb_state
        self.inf_driver = inf_driver
        # The INF file the driver comes from, when it was given in drivers: (the live path stages that package).
        self.package_path = package_path

    def as_dict(self):
        out = {'service': self.service, 'source': self.source, 'class_guid': self.class_guid, 'inf': self.inf,
               'section': self.section, 'hardware_ids': self.ids, 'files': self.files}
        if self.ddb_state is not None:
            out['package_state'] = self.ddb_state
            out['package'] = self.package.as_dict() if self.package is not None else None
        return out
