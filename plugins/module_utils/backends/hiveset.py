# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One read-plan-write cycle on the hive files of one installation: lock, open, plan (the caller, on the Planners),
then check every plan, and unless in check mode apply and commit each hive atomically with its backup.

A writer holds every hive's lock (in the order given) from before it reads them until the new files are in place,
so concurrent runs each see the one before them. The other hives are written before the first, each atomically: a
crash in between leaves, say, DRIVERS records without their SYSTEM counterpart, which a second run completes
(docs/how-it-works.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.sanboot.windows.plugins.module_utils.backends import lock
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner

# The backup record's key for a hive file (images keep one per hive name: SYSTEM, SOFTWARE...).
HIVE_FILE = 'hive'


class HiveWrite(object):
    """What one hive's cycle did: its plan, and the backup kept (None without one or in check mode)."""

    def __init__(self, name, path, plan, backup_file=None):
        self.name, self.path, self.plan, self.backup_file = name, path, plan, backup_file


class HiveSet(object):
    """``with HiveSet([(name, path), ...], check_mode) as hives:`` plan on ``hives.planners[name]`` (reads through
    ``hives.hives[name]``), then ``hives.write(backup)``. The first hive is the main one (SYSTEM)."""

    def __init__(self, paths, check_mode=False, allow_dirty=False, lock_timeout=lock.LOCK_TIMEOUT, lock_dir=None):
        self.paths = list(paths)
        self.check_mode = check_mode
        self.allow_dirty = allow_dirty
        self.lock_timeout = lock_timeout
        self.lock_dir = lock_dir
        self.held = {}
        self.hives = {}
        self.planners = {}

    def __enter__(self):
        try:
            for name, path in self.paths:
                if not self.check_mode and os.path.isfile(path):
                    self.held[name] = lock.acquire(path, timeout=self.lock_timeout, lock_dir=self.lock_dir)
                elif self.check_mode and os.path.isfile(path):
                    lock.refuse_unfinished(path, self.lock_dir)
            for name, path in self.paths:
                self.hives[name] = Hive(path, write=not self.check_mode, allow_dirty=self.allow_dirty)
                self.planners[name] = Planner(self.hives[name])
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc_info):
        self._release()

    def _release(self):
        for name, _path in reversed(self.paths):
            held = self.held.pop(name, None)
            if held is not None:
                held.release()

    @property
    def first(self):
        return self.paths[0][0]

    def write(self, backup=True):
        """Check every plan (in check mode too), then write the changed hives. Returns [HiveWrite], in the order
        given. Nothing is written when a check fails."""
        for name, _path in self.paths:
            self.hives[name].check_plan(self.planners[name].plan)
        writes = dict((name, HiveWrite(name, path, self.planners[name].plan)) for name, path in self.paths)
        if not self.check_mode:
            order = list(reversed(self.paths[1:])) + [self.paths[0]]
            for name, path in order:
                if self.planners[name].plan:
                    lock.refuse_unwritable(path, held=self.held.get(name), backup=backup)
            for name, path in order:
                plan = self.planners[name].plan
                if not plan:
                    continue
                held = self.held.get(name)
                self.hives[name].apply(plan)
                # One backup per series of writes (a play's tasks on this hive): reuse the one made before the series.
                previous = held.reusable_backup(HIVE_FILE) if held else None
                journal = held.journal if held is not None and lock.writes_in_place(path) else None
                made = self.hives[name].commit(backup=backup and not previous, journal=journal)
                if held:
                    held.remember_write(HIVE_FILE, made or previous)
                writes[name].backup_file = (made or previous) if backup else None
        return [writes[name] for name, _path in self.paths]
