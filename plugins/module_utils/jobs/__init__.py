# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One file per module's job: each ties a back-end (backends/) to the Windows knowledge (windows/, inf/) for one
module, holds that module's argument spec, and returns the module's result.

* offline.py          what the offline jobs share: the target (a hive file or images), result shaping, images;
* regedit.py          hive_regedit;
* critical_device.py  critical_device;
* iscsi_boot.py       iscsi_boot and iscsi_boot_info;
* live.py             win_critical_device, win_iscsi_boot, win_iscsi_boot_info: the offline jobs on what was read
                      from a running host, then the import; readset.py says what they read;
* discovery.py        ipxe_discovery (what iPXE reported -> Windows IDs and inventory host_vars);
* fleet.py            fleet_overlay: golden versions, a client's overlay with its identity and export, the lifecycle.
* files.py            files (bootserver/files.py: many files written atomically).
"""
