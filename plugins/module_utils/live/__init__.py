# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live Windows hosts over WinRM, for stock Windows 7 SP1 / 2008 R2 (WinRM 2.0, PowerShell 2.0) to Server 2025.

The host only runs stock console commands (cmd built-ins, reg.exe, certutil, expand, pnputil, schtasks);
everything else happens on the controller with the offline engine, unchanged:

1. read: ``reg save HKLM\\SYSTEM`` to a work file, ``certutil -encode`` it and ``type`` it back (plus
   ``reg query`` of ``HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion`` for the version, and of the
   volatile ``Enum\\PCI\\...\\Control`` keys for the adapters present now). One command.
2. plan: the saved hive is opened with ``hive.Hive`` and the offline job runs on it in check mode (the same
   Planner, the same .reg text): live and offline give the same plan by construction.
3. stage (only when a NIC driver comes from ``drivers:`` and is not installed): one CAB of the package sent
   on stdin, ``expand``, ``pnputil``, the service binaries copied to their INF targets. One command.
4. apply: the plan's .reg text (UTF-16LE with BOM, CRLF, as regedit writes it) sent on stdin, decoded with
   ``certutil -decode`` and imported with ``reg import``; through a one-shot ``schtasks /ru SYSTEM`` task
   when it touches ``DriverDatabase`` (writable only by SYSTEM on Windows 8 and later). One command.

Everything is sent in one WinRM shell; the number of commands does not depend on the number of values.
Plain Python: no Ansible import. One module per layer, each using only the ones above it:

* transport.py   Settings, Session (one WinRM shell, requests counted), WinRMError, redact;
* commands.py    the cmd.exe command lines of each step, and their output cut back into steps;
* formats.py     certutil armour, .reg files, reg query output, a tiny SOFTWARE hive, cabinets;
* job.py         LiveHost (steps 1, 3, 4 on one host) and run_live (the three jobs).

This file re-exports the public names, so callers import them from ``module_utils.live``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.live.transport import (  # noqa: F401
    HAS_WINRM, Session, Settings, Stats, WinRMError, redact,
)
from ansible_collections.sanboot.windows.plugins.module_utils.live.commands import (  # noqa: F401
    chain, import_command, parse_sections, read_command, stage_command, work_prefix,
)
from ansible_collections.sanboot.windows.plugins.module_utils.live.formats import (  # noqa: F401
    blank_hive_bytes, cab_bytes, cab_extract, certutil_armor, certutil_unarmor, package_files, parse_reg_query,
    parse_value_line, present_instances, record_first, reg_file_bytes, split_reg_sections, touches,
    write_software_hive,
)
from ansible_collections.sanboot.windows.plugins.module_utils.live.job import (  # noqa: F401
    LIVE_OPTIONS, LiveHost, plan_state, run_live,
)
