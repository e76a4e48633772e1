# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The back-ends: where hives live and how they are read and written. They know the registry file format, disk
images and the commands of a running Windows, and nothing of Windows' boot rules (those are in ``windows/``).

* hive.py       a hive file on libhivex: open with checks, read through caches, apply a Plan, commit atomically;
* regf.py       the regf fast path for appending new keys (linear where libhivex is quadratic);
* lock.py       what every writer of a hive file or image does first: its lock (in /run/lock/sanboot or lock_dir),
                owner and permission checks, the backup record, the journal of a hive written in place;
* hiveset.py    one read-plan-write cycle on the hive files of one installation (HiveSet);
* image.py      disk images through libguestfs: the installations in them, their hives and files (ImageSet);
* store.py      the overlay store of a fleet: read-only numbered golden versions, a qcow2 overlay per client;
* export.py     a client's overlay as a raw file (qemu-storage-daemon's FUSE export), tgt's sessions;
* live/         a running Windows over WinRM: transport, commands, formats, and host.py (LiveHost: one task's
                reads, staging and import on one host).
"""
