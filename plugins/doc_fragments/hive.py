# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options and attributes shared by the modules that edit an offline hive file.
    DOCUMENTATION = r'''
options:
  hive:
    description:
      - Path of the offline hive file to edit, on the host the task runs on (usually the controller, delegated
        to localhost), for example C(/images/win7/Windows/System32/config/SYSTEM).
      - The file is replaced atomically (written beside it, then renamed), so an interrupted run leaves the old
        hive or the new one, never a broken file. Owner and mode are kept.
    type: path
    required: true
  backup:
    description:
      - Keep the previous hive as C(<hive>.<pid>.<timestamp>~) when something changes; its path is returned
        as RV(backup_file). The backup is a hard link to the old file where possible, so it costs no copy.
    type: bool
    default: true
  allow_dirty:
    description:
      - Edit a hive whose header says it was not written cleanly (the two sequence numbers differ); Windows
        then still holds changes for it in C(SYSTEM.LOG1)/C(SYSTEM.LOG2), which libhivex cannot replay.
      - By default such a hive is refused with an explanation and left untouched. Shutting Windows down
        cleanly (Fast Startup off) is the safe fix; set this only for hives whose logs you know to be empty
        or unwanted. The written hive has a clean header.
    type: bool
    default: false
requirements:
  - libhivex Python bindings from the distribution (Debian/Ubuntu C(python3-hivex), Fedora/RHEL C(python3-hivex)),
    importable by the Python that runs the module. The PyPI package named C(hivex) is unrelated.
attributes:
  check_mode:
    support: full
    description: Plans and reports the change, with diff, without writing the hive.
  diff_mode:
    support: full
    description: Shows the registry change as C(.reg) text (the touched keys and values before and after).
  platform:
    support: full
    platforms: posix
    description: Runs wherever the hive file is, usually on the controller (delegated to localhost).
'''
