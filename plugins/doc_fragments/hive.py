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
        hive or the new one, never a broken file. Owner, group and mode are kept; a run that could not keep them
        (an unprivileged user, a file that is not theirs) changes nothing and says so.
      - A run that changes the hive locks it from before it reads the hive until the new one is in place; other runs
        on the same hive wait for it (up to 15 minutes), so tasks with C(forks) or several playbooks at once never
        lose each other's changes. Check mode does not wait. The lock files are kept in O(lock_dir), never beside the
        hive.
      - When the hive's folder is read-only for the user but the hive itself is writable, the hive is written in
        place through a journal kept in O(lock_dir) (an interrupted run is finished by the next one); no backup can
        be made there, so such a run needs O(backup=false).
      - Exactly one of O(hive), O(image) and O(images) is required.
    type: path
  lock_dir:
    description:
      - The folder of the lock files (and of the journal of a hive written in place), on the host the task runs on.
        Files there are named after the target's folder (device and inode) and file name; nothing is created beside
        the target.
      - Defaults to the environment variable C(SANBOOT_LOCK_DIR), else C(/run/lock/sanboot) (created, like
        C(/run/lock), writable for every user). Runs on one target wait for each other only when they use the same
        folder.
    type: path
  image:
    description:
      - A disk image holding the Windows installation (raw, qcow2, vmdk, vhd, vhdx, whatever libguestfs opens),
        instead of a hive file. The module finds the installation (an NTFS file system with
        C(Windows\System32\config\SYSTEM), names matched case-insensitively), edits its hives with the same engine
        and puts them back.
      - The appliance writes to a temporary qcow2 overlay; the image changes only in the final C(qemu-img commit) of
        the few changed clusters, so any failure before that (a full file system, a missing driver file, a killed
        run) leaves the image as it was.
      - An image another process has open for writing (a running VM) is refused. Runs of this collection on the
        same image wait for each other (a lock file in O(lock_dir)); a run in check mode waits only for one that writes.
      - Needs libguestfs (Debian C(python3-guestfs) and C(libguestfs-tools)). Where KVM misbehaves, set
        C(LIBGUESTFS_BACKEND_SETTINGS=force_tcg) in the environment; the collection does not force it.
    type: path
  format:
    description:
      - Format of O(image); detected by qemu-img when not given.
    type: str
    choices: [raw, qcow2, vmdk, vhdx, vpc, vdi, qed]
  root:
    description:
      - Which Windows installation of O(image) to edit when it holds several, as C(/dev/sda2) or C(/dev/sda2:/Windows).
    type: str
  images:
    description:
      - Several images in one task, sharing one libguestfs appliance (its start is most of the cost). Each with
        C(path) and optionally C(format) and C(root). The result then has one entry per image in C(results).
    type: list
    elements: dict
    suboptions:
      path:
        description: The image.
        type: path
        required: true
      format:
        description: Its format.
        type: str
        choices: [raw, qcow2, vmdk, vhdx, vpc, vdi, qed]
      root:
        description: Which installation, when it holds several.
        type: str
  backup:
    description:
      - Keep the previous hive as C(<hive>.<pid>.<timestamp>~) when something changes; its path is returned
        as RV(backup_file). The backup is a hard link to the old file where possible, so it costs no copy.
      - One backup per series of writes, not per task. While the hive is still exactly what the previous write
        of this collection left (no other program changed it) and that write was less than an hour ago, the
        backup made then, the hive as it was before the series, is returned again instead of a new one.
      - With an image, the previous hive is kept on the host beside the image, as C(<image>.SYSTEM.<timestamp>~).
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
