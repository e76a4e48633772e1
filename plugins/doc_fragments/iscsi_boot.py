# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options shared by iscsi_boot and iscsi_boot_info (offline and image front-ends); lenient is in
    # sanboot.windows.options.
    DOCUMENTATION = r'''
options:
  software_hive:
    description:
      - The installation's SOFTWARE hive (C(Windows\System32\config\SOFTWARE)), read only, to learn the exact Windows
        version and build (C(CurrentMajorVersionNumber) or C(CurrentVersion), C(CurrentBuildNumber); build 22000 and
        later is Windows 11).
      - Without it the SYSTEM hive alone decides between the two methods, as virt-v2v does - a C(DriverDatabase) key
        at its root means Windows 8 / Server 2012 or later - and driver packages are matched against the lowest
        version of that family (6.1 or 6.2).
    type: path
  drivers_hive:
    description:
      - The installation's DRIVERS hive (C(Windows\System32\config\DRIVERS), Windows 8 / Server 2012 and later),
        which holds Windows' whole driver database; C(SYSTEM\DriverDatabase) holds only its boot-critical part.
      - When the NIC's driver package is installed there, its records are copied into C(SYSTEM\DriverDatabase)
        unchanged; a package from O(drivers) is recorded in both hives as offline servicing does. Without it such a
        NIC is an error (no package is made up), and a new package is recorded in SYSTEM only, with a warning.
      - Inside images the DRIVERS hive is found by itself.
    type: path
  nics:
    description:
      - The boot network adapters, as the target hardware presents them. Each entry is a PCI ID as Windows writes it
        (C(PCI\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03), most specific is best), as lspci prints it
        (C(8086:100e), C([8086:100e]), a whole C(lspci -nn) line, or C(8086:100e 1af4:1100) with the subsystem
        vendor and device), or a dictionary with C(id), optionally C(service) (the in-box driver service that drives it,
        for example C(E1G60) for QEMU's e1000 on Windows 7) and C(location) (V(PCIROOT(0\)#PCI(0300\))). The same ID twice is allowed with two different
        C(location)s (the ports of a multi-port card), one entry per port.
      - A Windows ID may end in the device's class code, C(&CC_ccsspp) or C(&CC_ccss)
        (C(PCI\VEN_1106&DEV_3349&SUBSYS_00000000&REV_00&CC_010400)); an C(lspci -nn) line carries it. The NIC then
        also has the class-code IDs Windows forms from it (C(PCI\VEN_v&DEV_d&CC_ccsspp), C(&CC_ccss)), which driver
        packages that list only those need (VIA's vsmraid.inf lists C(PCI\VEN_1106&DEV_3349&CC_0104)).
      - M(sanboot.windows.iscsi_boot_info) lists the adapters an installation has seen, and the boot server's
        discovery mode reports the IDs of new machines.
    type: list
    elements: raw
  drivers:
    description:
      - Driver packages (INF files or folders such as an extracted virtio-win ISO) to take the NIC driver from when
        the installation does not have it. The driver Windows would choose for the NIC is used.
      - On Windows 8 and later the package is staged as C(DISM /Add-Driver) stages it into an offline image - its
        folder in the DriverStore, the INF published as C(oemN.inf), its catalog, the DriverDatabase records - unless
        Windows already has the same package. A package with a missing file is refused, as Windows refuses it.
    type: list
    elements: path
    default: []
  templates:
    description:
      - Substitutions for driver source templates (C($ARCH$), C(INX_*) tokens) met in O(drivers). An empty dictionary
        substitutes C($ARCH$) with the installation's architecture; without this option templates are refused.
    type: dict
'''

    # Attributes of the two doctors, iscsi_boot_info and its live twin win_iscsi_boot_info.
    INFO = r'''
attributes:
  check_mode:
    support: full
    description: The module never changes anything.
  diff_mode:
    support: none
    description: Nothing to show.
'''
