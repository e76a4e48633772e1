# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files of a driver package: CopyFiles with DestinationDirs and SourceDisksNames/SourceDisksFiles, the DIRIDs that
say where files go under the Windows folder, the file names that may be used, and the case-insensitive lookup of
files in the package (install/inf-copyfiles-directive.md, install/using-dirids.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.sanboot.windows.plugins.module_utils.inf.model import FileEntry
from ansible_collections.sanboot.windows.plugins.module_utils.inf.text import InfError, parse_int

# DIRID -> folder relative to the Windows directory (install/using-dirids.md). 13 is the DriverStore folder of the
# package, whose name carries a hash Windows computes while staging; it is handled apart.
DIRID_PATHS = {
    10: '',
    11: 'System32',
    12: 'System32\\drivers',
    17: 'INF',
    18: 'Help',
    20: 'Fonts',
    50: 'System',
    16425: 'SysWOW64',
}
DIRID_DRIVER_STORE = 13
DIRID_ABSOLUTE = (-1, 65535)

# Names Windows reserves for devices in every directory (with or without an extension).
_DEVICE_NAMES = frozenset(
    ['CON', 'PRN', 'AUX', 'NUL', 'CONIN$', 'CONOUT$', 'CLOCK$'] +
    ['COM%d' % i for i in range(0, 10)] + ['LPT%d' % i for i in range(0, 10)] +
    ['COM\u00b9', 'COM\u00b2', 'COM\u00b3', 'LPT\u00b9', 'LPT\u00b2', 'LPT\u00b3']
)
_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f<>|"?*]')
_SIMPLE_NAME_RE = re.compile(r'[A-Za-z0-9_$][A-Za-z0-9_.$\-]*\Z')   # a plain file name: nothing to check but devices


def check_file_name(name, what, allow_subdirs=True, allow_root=False):
    """Reject a file or folder name that would leave the package or the destination folder.

    Refused: ``..`` components, absolute paths (``\\x``, ``/x``), drive letters and streams (``:``), UNC paths,
    device names (CON, NUL, COM1...), wildcard and control characters. Returns the relative parts.
    """
    if _SIMPLE_NAME_RE.match(name) and name.split('.', 1)[0].rstrip(' ').upper() not in _DEVICE_NAMES:
        return [name]
    text = name.replace('/', '\\')
    why = None
    if text.startswith('\\\\'):
        why = 'is a UNC path'
    elif ':' in text:
        why = 'has a drive letter or stream name (":")'
    elif _BAD_NAME_CHARS.search(text):
        why = 'contains characters Windows does not allow in file names'
    elif text.startswith('\\') and not allow_root:
        why = 'is an absolute path'
    else:
        parts = [p for p in text.split('\\') if p not in ('', '.')]
        if not allow_subdirs and len(parts) > 1:
            why = 'names a sub-folder'
        for part in parts:
            if part.strip(' .') == '' and part:
                why = 'has a ".." component' if '..' in part else 'has a component made of dots and blanks'
                break
            base = part.split('.')[0].rstrip(' ').upper()
            if base in _DEVICE_NAMES:
                why = 'is the Windows device name %s' % base
                break
        if why is None:
            return parts
    raise InfError('%s %r %s; refusing a path that leaves the package or the target folder' % (what, name, why))


class DirCache(object):
    """Case-insensitive file lookup (Windows file names are case-insensitive, the package may sit on ext4)."""

    def __init__(self):
        self._listing = {}

    def _names(self, folder):
        """{lower-case name: (name, is a folder, is a file)} of a folder, read once."""
        table = self._listing.get(folder)
        if table is None:
            table = {}
            try:
                for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                    try:
                        kind = (entry.is_dir(), entry.is_file())
                    except OSError:
                        kind = (False, False)
                    table.setdefault(entry.name.lower(), (entry.name,) + kind)
            except (OSError, ValueError, UnicodeError):
                pass
            self._listing[folder] = table
        return table

    def find(self, base, parts):
        """Actual path of the file base/parts... matched case-insensitively, or None."""
        if not parts:
            return None
        exact = os.path.join(base, *parts)
        if os.path.isfile(exact):       # the common case costs one stat, no folder listing
            return exact
        here = base
        last = len(parts) - 1
        for idx, part in enumerate(parts):
            found = self._names(here).get(part.lower())
            if found is None or not found[2 if idx == last else 1]:
                return None
            here = os.path.join(here, found[0])
        return here if parts else None


def dirid_path(dirid, subdir, name, inf_name, arch):
    """Path under the Windows folder of a file that goes to a DIRID, or None when the DIRID has no fixed place."""
    if isinstance(dirid, int) and dirid in DIRID_PATHS:
        base = DIRID_PATHS[dirid]
    elif dirid == DIRID_DRIVER_STORE:
        base = 'System32\\DriverStore\\FileRepository\\%s_%s_<hash>' % (inf_name.lower(), arch)
    else:
        return None
    return '\\'.join(p for p in (base, subdir, name) if p)


class CopyFiles(object):
    """The CopyFiles directives of one driver's install sections: FileEntry lists, checked and located."""

    def __init__(self, driver):
        self.driver = driver
        self.warn = driver.warn
        self.where = driver.where
        self._cache = {}

    def add(self, ctx, field, inst, origin, role, section, lineno):
        """The files of one CopyFiles value, added to the install section ``inst`` once each."""
        value = ctx.subst(field).strip()
        if not value:
            return
        key = (id(ctx), value.lower(), origin, role)
        files = self._cache.get(key)
        if files is None:
            files = self._cache[key] = self._copy_list(ctx, value, origin, role, section, lineno)
        for entry in files:
            dup = [f for f in inst.files if (f.name.lower(), f.dirid, f.subdir.lower(), f.origin) ==
                   (entry.name.lower(), entry.dirid, entry.subdir.lower(), origin)]
            if not dup:
                inst.files.append(entry)

    def _copy_list(self, ctx, value, origin, role, section, lineno):
        """FileEntry list of one CopyFiles value (``@file`` or a file-list section), checked and located."""
        entries = []
        if value.startswith('@'):
            name = value[1:].strip()
            if not name:
                return []
            entries.append((name, name, 0, section, lineno))
            dirid, subdir, _how = self._destination(ctx, None)
            copy_list = None
        else:
            copy_list = value
            listed = ctx.section(value)
            if listed is None:
                self.warn('%s: CopyFiles section [%s] does not exist' % (self.where(section, lineno), value))
                return []
            for key, fields, line, _lkey in listed.lines:
                values = [ctx.subst(f).strip() for f in fields]
                if key is not None and not values[0]:
                    values[0] = ctx.subst(key).strip()
                dest = values[0] if values else ''
                if not dest:
                    continue
                source = values[1] if len(values) > 1 and values[1] else dest
                flags = parse_int(values[3]) if len(values) > 3 and values[3] else 0
                entries.append((dest, source, flags or 0, listed.name, line))
            dirid, subdir, _how = self._destination(ctx, copy_list)
        out = []
        for dest, source, flags, where, line in entries:
            what = '%s: CopyFiles' % self.where(where, line)
            check_file_name(dest, what + ' file name')
            check_file_name(source, what + ' source file name')
            entry = FileEntry(dest, source, copy_list, dirid, subdir, flags, origin, role)
            entry.target = dirid_path(dirid, subdir, dest, self.driver.name, self.driver.target.arch)
            if origin is None:
                self._locate_source(ctx, entry)
            out.append(entry)
        return out

    def _destination(self, ctx, copy_list):
        """(dirid, subdir, from) for a file list (install/inf-destinationdirs-section.md)."""
        fields = ctx.first('DestinationDirs', copy_list) if copy_list else None
        how = copy_list
        if fields is None:
            fields = ctx.first('DestinationDirs', 'DefaultDestDir')
            how = 'DefaultDestDir'
        if fields is None:
            self.warn('%s: no DestinationDirs entry for %s and no DefaultDestDir; Wine uses DIRID 11 (System32)'
                      % (ctx.name, copy_list or '@file'))
            return 11, '', 'default'
        raw = ctx.subst(fields[0]).strip() if fields else ''
        dirid = parse_int(raw)
        if dirid is None:
            dirid = raw
            self.warn('%s: DestinationDirs %s = %r is not a DIRID number (a build-time placeholder?); pass templates, '
                      'for example {"%s": "12"}' % (ctx.name, how, raw, raw or 'DIRID'))
        elif dirid in DIRID_ABSOLUTE:
            raise InfError('%s: DestinationDirs %s uses DIRID %d (an absolute path); refusing a destination outside '
                           'the target Windows folders' % (ctx.name, how, dirid))
        subdir = ctx.subst(fields[1]).strip() if len(fields) > 1 else ''
        if subdir:
            subdir = '\\'.join(check_file_name(subdir, '%s: DestinationDirs %s sub-folder' % (ctx.name, how)))
        return dirid, subdir, how

    def _locate_source(self, ctx, entry):
        """Where the file is in the package (SourceDisksFiles / SourceDisksNames) and whether it is there."""
        arch = self.driver.target.arch
        disk = subdir = None
        for sec in ('SourceDisksFiles.' + arch, 'SourceDisksFiles'):
            fields = ctx.first(sec, entry.source)
            if fields is not None:
                disk = ctx.subst(fields[0]).strip() if fields else ''
                subdir = ctx.subst(fields[1]).strip() if len(fields) > 1 else ''
                break
        parts = []
        if disk is not None:
            path = None
            for sec in ('SourceDisksNames.' + arch, 'SourceDisksNames'):
                dfields = ctx.first(sec, disk)
                if dfields is None and parse_int(disk) is not None:
                    # disk IDs are numbers (Wine compares them with SetupGetIntField): "01" is disk 1
                    for key, line_fields, _line, _lkey in ctx.section_lines(sec):
                        if key is not None and parse_int(ctx.subst(key)) == parse_int(disk):
                            dfields = line_fields
                            break
                if dfields is not None:
                    path = ctx.subst(dfields[3]).strip() if len(dfields) > 3 else ''
                    break
            if path is None:
                self.warn('%s: source disk %r of %s is not listed in SourceDisksNames' % (ctx.name, disk, entry.source))
            if path:
                parts += check_file_name(path, '%s: SourceDisksNames path' % ctx.name, allow_root=True)
            if subdir:
                parts += check_file_name(subdir, '%s: SourceDisksFiles sub-folder' % ctx.name)
        elif not ctx.first_value('Version', 'LayoutFile'):
            self.warn('%s: %s is not listed in SourceDisksFiles' % (ctx.name, entry.source))
        parts += check_file_name(entry.source, '%s: source file name' % ctx.name)
        entry.source_parts = parts
        package_dir = self.driver.package_dir
        if package_dir is None:
            return
        found = self.driver.dir_cache.find(package_dir, parts)
        entry.present = found is not None
        entry.source_path = found or os.path.join(package_dir, *parts)
        if found is not None:
            return
        beside = self.driver.dir_cache.find(package_dir, parts[-1:]) if len(parts) > 1 else None
        if beside is not None:
            entry.found_at = beside
            self.warn('%s: %s is not where SourceDisksNames/SourceDisksFiles put it (%s) but next to the INF'
                      % (ctx.name, entry.source, '/'.join(parts)))
        else:
            self.warn('%s: %s is not in the package (%s)' % (ctx.name, entry.source, '/'.join(parts)))
