# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""reg.exe on the emulated host: ``reg query`` (one key, /s, /v, /ve; keys readable only by SYSTEM end a /s query
with exit code 1 after everything else is printed) and ``reg import`` (UTF-16 or ANSI .reg files, merged with
hivexregedit, libguestfs' implementation, independent of the collection's; a failing key either stops the import or
is skipped, Machine.import_on_error)."""

from __future__ import absolute_import, division, print_function

import binascii
import os
import struct
import subprocess

import hivex

REG_TYPES = {0: 'REG_NONE', 1: 'REG_SZ', 2: 'REG_EXPAND_SZ', 3: 'REG_BINARY', 4: 'REG_DWORD',
             5: 'REG_DWORD_BIG_ENDIAN', 6: 'REG_LINK', 7: 'REG_MULTI_SZ', 8: 'REG_RESOURCE_LIST',
             9: 'REG_FULL_RESOURCE_DESCRIPTOR', 10: 'REG_RESOURCE_REQUIREMENTS_LIST', 11: 'REG_QWORD'}


def reg_display(vtype, data):
    """Data as reg query prints it (strings up to their first NUL, multi-strings joined by \\0, numbers in hex)."""
    if vtype in (1, 2, 6):
        return data.decode('utf-16-le', 'replace').split('\x00', 1)[0]
    if vtype == 7:
        items = data.decode('utf-16-le', 'replace').split('\x00')
        while items and items[-1] == '':
            items.pop()
        return '\\0'.join(items)
    if vtype == 4 and len(data) == 4:
        return '0x%x' % struct.unpack('<I', data)[0]
    if vtype == 11 and len(data) == 8:
        return '0x%x' % struct.unpack('<Q', data)[0]
    return binascii.hexlify(data).decode('ascii').upper()


def type_name(vtype):
    # Types reg.exe has no name for (0x40007, 0xffff0012, ...): the emulator shows the number; the collection
    # leaves such values out of its working hive.
    return REG_TYPES.get(vtype, '0x%x' % vtype)


def current_control_set(system):
    h = hivex.Hivex(system)
    select = h.node_get_child(h.root(), 'Select')
    value = h.node_get_value(select, 'Current')
    return h.value_dword(value)


class Reg(object):
    """reg.exe run by one context (the WinRM user, or SYSTEM in a scheduled task)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.m = ctx.m
        self.text = ctx.text

    def run(self, args):
        if not args:
            return self.ctx.result(err=self.text('invalid_syntax') + '\r\nType "REG /?" for usage.\r\n', rc=1)
        handler = getattr(self, 'reg_' + args[0].lower(), None)
        if handler is None:
            return self.ctx.result(err=self.text('invalid_syntax') + '\r\nType "REG /?" for usage.\r\n', rc=1)
        return handler(args[1:])

    def _hive_of(self, key):
        parts = [p for p in key.split('\\') if p]
        if not parts or parts[0].upper() not in ('HKLM', 'HKEY_LOCAL_MACHINE') or len(parts) < 2:
            return None, None, None
        hive = parts[1].upper()
        path = {'SYSTEM': self.m.system, 'SOFTWARE': self.m.software,
                'DRIVERS': self.m.drivers if self.m.drivers_loaded else None}.get(hive)
        if path is None and hive in self.m.loaded:
            path = self.m.loaded[hive]
            hive = parts[1]
        rest = parts[2:]
        if hive == 'SYSTEM' and rest and rest[0].upper() == 'CURRENTCONTROLSET':
            rest = ['ControlSet%03d' % current_control_set(self.m.system)] + rest[1:]
        return hive, path, rest

    def _system_only(self, hive, parts):
        """Keys readable only by SYSTEM: a device instance's Properties (Enum\\<bus>\\<device>\\<instance>)."""
        if not self.m.system_only_keys or self.ctx.as_system or hive != 'SYSTEM':
            return False
        upper = [p.upper() for p in parts]
        return len(upper) >= 6 and upper[1] == 'ENUM' and upper[5] == 'PROPERTIES'

    def reg_query(self, args):
        low = [a.lower() for a in args]
        hive, path, rest = self._hive_of(args[0])
        if path is None:
            return self.ctx.result(err=self.text('not_found') + '\r\n', rc=1)
        recursive = '/s' in low
        if '/f' in low:
            return self._find(hive, path, rest, args[0], args[low.index('/f') + 1], recursive, '/e' in low)
        default_only = '/ve' in low
        wanted = args[low.index('/v') + 1] if '/v' in low else ('' if default_only else None)
        with self.m.hive_lock:
            h = self.m.open_hive(path)
            node = h.root()
            for part in rest:
                node = h.node_get_child(node, part) if node is not None else None
            volatile = node is None and self._volatile_key(hive, rest)
            if node is None and not volatile:
                return self.ctx.result(err=self.text('not_found') + '\r\n', rc=1)
            if self._system_only(hive, rest):
                return self.ctx.result(err=self.text('access') + '\r\n', rc=1)
            prefix = 'HKEY_LOCAL_MACHINE\\%s' % hive + ''.join('\\' + p for p in args[0].split('\\')[2:] if p)
            lines, matches, denied = [''], 0, False
            stack = [(node, prefix, list(rest))]
            while stack:
                self.ctx.check()
                here, name, parts = stack.pop(0)
                values = [] if here is None else [(h.value_key(v),) + h.value_value(v) for v in h.node_values(here)]
                values += self._volatile(hive, parts)
                if wanted is not None:
                    values = [v for v in values if v[0].lower() == wanted.lower()]
                    if default_only and not values and not recursive:
                        values = [(None, 1, None)]           # (Default) REG_SZ (value not set)
                children = [] if here is None else sorted(h.node_children(here), key=lambda c: h.node_name(c).upper())
                kids = [(c, name + '\\' + h.node_name(c), parts + [h.node_name(c)]) for c in children]
                kids += [(None, name + '\\' + v, parts + [v]) for v in self._volatile_children(hive, parts)]
                if hive == 'SYSTEM' and not parts:
                    kids.append((None, name + '\\CurrentControlSet', ['CurrentControlSet']))
                    kids.sort(key=lambda k: k[1].upper())
                if values or wanted is None:
                    lines.append(name)
                    for vname, vtype, data in values:
                        label = vname or self.text('default')
                        shown = self.text('not_set') if data is None else reg_display(vtype, data)
                        lines.append('    %s    %s    %s' % (label, type_name(vtype), shown))
                        matches += 1
                    lines.append('')
                if recursive:
                    readable = []
                    for kid in kids:
                        if kid[2] and kid[2][0] == 'CurrentControlSet':
                            continue
                        if self._system_only(hive, kid[2]):
                            denied = True
                            continue
                        readable.append(kid)
                    stack[0:0] = readable
                elif wanted is None:
                    for _c, kid_name, _p in kids:
                        lines.append(kid_name)
        err = ''
        if wanted is not None and recursive:
            lines.append(self.text('end_of_search') % matches)
            rc = 0 if matches else 1
        elif wanted is not None and not matches:
            return self.ctx.result(err=self.text('not_found') + '\r\n', rc=1)
        else:
            rc = 0
        if denied:
            # reg query /s goes on past keys it may not open and ends with this error and exit code 1
            err, rc = self.text('access') + '\r\n', 1
        return self.ctx.result('\r\n'.join(lines) + '\r\n', err, rc)

    def reg_load(self, args):
        """reg load HKLM\\NAME FILE: only an elevated administrator; a file the kernel holds (HKLM\\DRIVERS while
        it is loaded) cannot be opened (a sharing violation, as on Windows); a name in use is refused."""
        if len(args) != 2 or args[0].split('\\')[0].upper() not in ('HKLM', 'HKEY_LOCAL_MACHINE') or \
                len([p for p in args[0].split('\\') if p]) != 2:
            return self.ctx.result(err=self.text('invalid_syntax') + '\r\nType "REG LOAD /?" for usage.\r\n', rc=1)
        name = [p for p in args[0].split('\\') if p][1].upper()
        if not self.m.admin:
            return self.ctx.result(err=self.text('privilege') + '\r\n', rc=1)
        path = self.m.path(args[1], self.ctx.cwd)
        held = self.m.drivers and path == self.m.path('C:\\Windows\\System32\\config\\DRIVERS', 'C:\\') and \
            (self.m.drivers_loaded or any(p == self.m.drivers for p in self.m.loaded.values()))
        if held:
            return self.ctx.result(err=self.text('sharing') + '\r\n', rc=1)
        if name in ('SYSTEM', 'SOFTWARE', 'DRIVERS', 'SAM', 'SECURITY', 'HARDWARE', 'BCD00000000') or \
                name in self.m.loaded:
            return self.ctx.result(err=self.text('access') + '\r\n', rc=1)
        if path == self.m.path('C:\\Windows\\System32\\config\\DRIVERS', 'C:\\') and self.m.drivers:
            path = self.m.drivers
        elif not path or not os.path.isfile(path):
            return self.ctx.result(err=self.text('no_file') + '\r\n', rc=1)
        self.m.loaded[name] = path
        self.m.hive_loads.append(name)
        return self.ctx.result(self.text('ok') + '\r\n')

    def reg_unload(self, args):
        parts = [p for p in (args[0] if args else '').split('\\') if p]
        name = parts[1].upper() if len(parts) == 2 else None
        if name not in self.m.loaded:
            return self.ctx.result(err=self.text('unload_failed') + '\r\n', rc=1)
        del self.m.loaded[name]
        return self.ctx.result(self.text('ok') + '\r\n')

    def _find(self, hive, path, rest, typed, pattern, recursive, exact):
        """reg query KEY /f NAME /k [/e] [/s]: the subkeys whose name matches, as stored, and a count."""
        with self.m.hive_lock:
            h = self.m.open_hive(path)
            node = h.root()
            for part in rest:
                node = h.node_get_child(node, part) if node is not None else None
            if node is None:
                return self.ctx.result(err=self.text('not_found') + '\r\n', rc=1)
            prefix = 'HKEY_LOCAL_MACHINE\\%s' % hive + ''.join('\\' + p for p in typed.split('\\')[2:] if p)
            lines, stack = [''], [(node, prefix)]
            while stack:
                here, name = stack.pop(0)
                for child in sorted(h.node_children(here), key=lambda c: h.node_name(c).upper()):
                    child_name = h.node_name(child)
                    hit = child_name.lower() == pattern.lower() if exact else pattern.lower() in child_name.lower()
                    if hit:
                        lines.append(name + '\\' + child_name)
                    if recursive:
                        stack.append((child, name + '\\' + child_name))
        matches = len(lines) - 1
        lines += ['', self.text('end_of_search') % matches]
        return self.ctx.result('\r\n'.join(lines) + '\r\n', rc=0 if matches else 1)

    def _volatile_key(self, hive, parts):
        return hive == 'SYSTEM' and len(parts) >= 3 and parts[-1].upper() == 'CONTROL' and \
            any(p.upper() == '\\'.join(parts[2:-1]).upper() for p in self.m.present)

    def _volatile(self, hive, parts):
        """Values of the volatile Enum\\...\\<instance>\\Control keys of devices present now."""
        if hive != 'SYSTEM' or len(parts) < 3 or parts[-1].upper() != 'CONTROL':
            return []
        instance = '\\'.join(parts[2:-1]).upper()
        for path, service in self.m.present.items():
            if path.upper() == instance:
                return [('ActiveService', 1, (service + '\0').encode('utf-16-le'))]
        return []

    def _volatile_children(self, hive, parts):
        if hive != 'SYSTEM' or len(parts) < 2:
            return []
        here = '\\'.join(parts[2:]).upper()
        return ['Control' for path in self.m.present if path.upper() == here]

    def reg_import(self, args):
        path = self.m.path(args[0], self.ctx.cwd) if args else None
        if not path or not os.path.isfile(path):
            return self.ctx.result(err=self.text('open_failed') + '\r\n', rc=1)
        with open(path, 'rb') as handle:
            raw = handle.read()
        text = raw[2:].decode('utf-16-le') if raw.startswith(b'\xff\xfe') else raw.decode('cp1252')
        text = text.replace('\r\n', '\n')
        if not text.startswith('Windows Registry Editor Version 5.00') and not text.startswith('REGEDIT4'):
            return self.ctx.result(err=self.text('not_registry_script') + '\r\nYou can only import binary registry '
                                   'files from within the registry editor.\r\n', rc=1)
        self.m.imports.append(text)
        header, sections = sections_of(text)
        failing = set()
        for index, section in enumerate(sections):
            key = section.split('\n', 1)[0].lstrip('[-').rstrip(']').upper()
            if self.m.fail_import_key and self.m.fail_import_key.upper() in key and not failing:
                failing.add(index)          # a key this import may not write (its ACL, say), once
                self.m.fail_import_key = None
            if not self.ctx.as_system and not self.m.admin:
                failing.add(index)
            elif self.m.system_only_driver_database and not self.ctx.as_system and \
                    key.startswith('HKEY_LOCAL_MACHINE\\SYSTEM\\DRIVERDATABASE'):
                failing.add(index)
        if failing and self.m.import_on_error == 'stop':
            todo = sections[:min(failing)]
        else:
            todo = [s for i, s in enumerate(sections) if i not in failing]
        prefix = 'HKEY_LOCAL_MACHINE\\SYSTEM'
        mine = [s for s in todo if s.split('\n', 1)[0].lstrip('[-').upper().startswith(prefix)]
        mine = with_parents(mine, prefix)
        if mine:
            with self.m.hive_lock:
                merge(self.m.system, header + '\n\n' + '\n\n'.join(mine) + '\n', prefix)
        if failing:
            return self.ctx.result(err=self.text('import_failed') + '\r\n', rc=1)
        return self.ctx.result(err=self.text('ok') + '\r\n')


def sections_of(text):
    lines = text.split('\n')
    header, sections, current = lines[0], [], []
    for line in lines[1:]:
        if line.startswith('['):
            if current:
                sections.append('\n'.join(current))
            current = [line]
        elif line.strip() and current:
            current.append(line)
    if current:
        sections.append('\n'.join(current))
    return header, sections


def with_parents(sections, prefix):
    """Windows' reg import creates missing parent keys (RegCreateKeyEx); hivexregedit needs them spelled out."""
    out, seen = [], set()
    for section in sections:
        head = section.split('\n', 1)[0]
        if not head.startswith('[-'):
            parts = head[1:-1].split('\\')
            base = len(prefix.split('\\'))
            for depth in range(base + 1, len(parts)):
                parent = '\\'.join(parts[:depth])
                if parent.upper() not in seen:
                    seen.add(parent.upper())
                    out.append('[%s]' % parent)
            seen.add(head[1:-1].upper())
        out.append(section)
    return out


def merge(hive, reg_text, prefix):
    """hivexregedit --merge (libguestfs' Perl implementation), reading the text as UTF-8."""
    reg_file = hive + '.import.reg'
    with open(reg_file, 'w', encoding='utf-8', newline='\n') as handle:
        handle.write(reg_text)
    proc = subprocess.run(['perl', '-CSD', '/usr/bin/hivexregedit', '--merge', '--prefix', prefix, hive, reg_file],
                          check=False, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError('hivexregedit --merge failed: %s (the .reg file is kept at %s)' % (proc.stderr, reg_file))
    os.unlink(reg_file)
