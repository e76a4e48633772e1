# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read Windows driver packages (INF files) the way Windows does, for offline injection of boot drivers.

Plain Python, no Ansible imports. The rules, with their Microsoft and Wine sources, are in docs/driver-packages.md.
One module per stage, each using only the ones above it:

* hwid.py        hardware IDs: the grammar users and iPXE give them in (Windows form, vendor:device, lspci lines);
* target.py      the Windows a driver is chosen for (parse_target);
* text.py        bytes -> sections: decode, build-time templates, tokenize (Wine's parser);
* model.py       InfFile (sections, the one Strings section, %strkey% substitution) and what a package holds for a
                 target: Device, Install, Service, FileEntry, RegEntry;
* install.py     InfDriver, the interpreter: [Version], Models (manufacturer.py), install sections with
                 Include/Needs, whose directives go to copyfiles.py (CopyFiles, DIRIDs, file names), addreg.py
                 (AddReg/DelReg) and addservice.py (AddService, ImagePath); read_inf / read_package;
* select.py      which driver Windows picks for a device (match_device) and the boot driver of a package, ready to
                 inject (boot_driver).

The only exception that leaves this package is InfError (a registry.RegistryError). This file re-exports the public
names, so callers import them from ``module_utils.inf`` without knowing the stage.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.inf.text import (  # noqa: F401
    InfError, Section, apply_templates, decode_inf, parse_int, tokenize,
)
from ansible_collections.sanboot.windows.plugins.module_utils.inf.target import Target, parse_target  # noqa: F401
from ansible_collections.sanboot.windows.plugins.module_utils.inf.model import (  # noqa: F401
    Device, FileEntry, InfFile, Install, RegEntry, Service, parse_driver_ver,
)
from ansible_collections.sanboot.windows.plugins.module_utils.inf.copyfiles import check_file_name  # noqa: F401
from ansible_collections.sanboot.windows.plugins.module_utils.inf.manufacturer import parse_decoration  # noqa: F401
from ansible_collections.sanboot.windows.plugins.module_utils.inf.install import (  # noqa: F401
    InfDriver, find_infs, read_inf, read_inf_data, read_package,
)
from ansible_collections.sanboot.windows.plugins.module_utils.inf.select import (  # noqa: F401
    boot_driver, expand_pci_id, identifier_score, match_device, normalize_device, rank_candidates,
    select_boot_driver,
)
