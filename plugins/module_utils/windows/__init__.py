# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Windows needs, as plain functions over the registry model (registry.py) and any reader (a Hive, a Planner, a
partial hive read from a running host). Nothing here opens a file or talks to a host.

* hives.py       which hive a file is, and the key Windows loads it under;
* nic.py         a boot NIC (its Windows hardware IDs) and the Driver that drives it;
* osinfo.py      which Windows an installation is (version, build, architecture, boot-device family);
* adapters.py    the network adapters an installation has seen;
* services.py    the services on the boot path: the network stack and a driver's dependencies;
* cddb.py        Windows XP to 7: the Critical Device Database and a service from a driver package;
* ddb.py         Windows 8+: DriverDatabase records (read, find, copy DRIVERS -> SYSTEM, compose from an INF);
* driverstore.py Windows 8+: a package staged as offline servicing does, the first-boot step, what undo takes back;
* signing.py     PE certificate tables (drivers; EFI binaries' Authenticode signatures for Secure Boot) and catalog
                 signers;
* nicpackage.py  Windows 8+: the boot NIC's package (in place, copied from DRIVERS, staged);
* nicdriver.py   which driver drives a boot NIC (given, from a package, named by the installation, in-box);
* record.py      the restorable record of what a conversion changed;
* conversion.py  the conversion (state=present) and its undo (state=absent);
* doctor.py      the doctor's findings;
* identity.py    a fleet client's computer name, ImageState (sysprep), its answer file.
"""
