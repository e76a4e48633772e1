# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live back-end: Windows hosts over WinRM, for stock Windows 7 SP1 / 2008 R2 (WinRM 2.0, PowerShell 2.0) to Server 2025.

The host only runs stock console commands (cmd built-ins, reg.exe, schtasks, pnputil, fc; PowerShell 2.0 only to
write a driver package's files); everything else happens on the controller with the offline engine, unchanged:

1. read: ``reg query`` of exactly the keys the engine declares it reads (jobs/readset.py), in one command
   per round; a round follows only when the keys read name more keys (an adapter's service, the DriverDatabase
   chain). A partial working hive is built from them with the exact types and bytes reg.exe prints. Nothing is
   saved or copied off the host (no ``reg save``, no certutil).
2. plan: the offline job runs on the partial hive in check mode (the same Planner, the same .reg text).
3. stage (only when a NIC driver comes from ``drivers:`` and is not installed): the package's files written by a
   PowerShell 2.0 script sent on stdin, ``pnputil``, the service binaries copied and compared. One command.
4. apply: the plan's .reg text as ASCII on stdin (``findstr`` writes it to a file), ``reg import`` (through a
   one-shot ``schtasks /ru SYSTEM`` task when it touches ``DriverDatabase``). One command.

One module per layer, each using only the ones above it:

* transport.py   Settings (Ansible's winrm variables), KerberosTicket, Session (one WinRM shell), WinRMError, redact;
* commands.py    the cmd.exe command lines of each step, and their output cut back into steps;
* formats.py     reg query output, partial hives, ASCII .reg text, driver package files.

The job that drives these steps (what to read, the plan, staging, the import) is ``jobs/live.py``. This file
re-exports the public names of the back-end, so callers import them from ``module_utils.backends.live``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.transport import (  # noqa: F401
    HAS_WINRM, KerberosTicket, Session, Settings, Stats, WinRMError, redact,
)
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.commands import (  # noqa: F401
    CURRENT, apply_command, cleanup_command, follow_step, group_queries, leftover_tokens, lookup_query, parse_sections,
    queries, read_commands, stage_command, stage_script, task_action_length, work_prefix,
)
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.formats import (  # noqa: F401
    PartialHive, ascii_reg, blank_hive_bytes, default_label, package_files, parse_reg_query, parse_value_line,
    present_instances, record_first, split_reg_sections, touches,
)
