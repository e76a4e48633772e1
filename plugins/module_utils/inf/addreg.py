# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AddReg/DelReg sections as RegEntry lists: roots, flags, value types and data as Windows reads them
(install/inf-addreg-directive.md, install/inf-delreg-directive.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.inf.model import (
    FLG_ADDREG_BINVALUETYPE, FLG_ADDREG_DELREG_BIT, FLG_ADDREG_DELVAL, FLG_ADDREG_KEYONLY, FLG_ADDREG_KEYONLY_COMMON,
    RegEntry,
)
from ansible_collections.sanboot.windows.plugins.module_utils.inf.text import parse_int
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_SZ, Value,
)

_ADDREG_TYPE_MASK = 0xFFFF0001
_ADDREG_TYPES = {
    0x00000000: REG_SZ,
    0x00000001: REG_BINARY,
    0x00010000: REG_MULTI_SZ,
    0x00020000: REG_EXPAND_SZ,
    0x00010001: REG_DWORD,
    0x00020001: REG_NONE,
}
_REG_ROOTS = frozenset(['HKR', 'HKLM', 'HKCU', 'HKCR', 'HKU'])


def _hex_bytes(fields):
    """Bytes of binary AddReg data: hex fields (``0x`` allowed); an empty inner field is 0 (Wine's strtoul), trailing
    empty fields are absent."""
    fields = list(fields)
    while fields and not fields[-1].strip():
        fields.pop()
    out = bytearray()
    for field in fields:
        text = field.strip() or '0'
        if text[:2] in ('0x', '0X'):
            text = text[2:]
        if not text or len(text) > 8 or not all(c in '0123456789abcdefABCDEF' for c in text):
            return None
        number = int(text, 16)
        if number > 0xFF:
            return None
        out.append(number)
    return bytes(out)


class AddReg(object):
    """The AddReg/DelReg sections one driver names, each read once (by file, section, DelReg or not, origin)."""

    def __init__(self, driver):
        self.driver = driver
        self.warn = driver.warn
        self.where = driver.where
        self._cache = {}

    def section(self, ctx, name, delete, origin):
        """RegEntry list of section ``name`` of ``ctx`` (an InfFile); ``origin`` names a system INF, else None."""
        key = (id(ctx), name.lower(), delete, origin)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._read_section(ctx, name, delete, origin)
        return cached

    def _read_section(self, ctx, name, delete, origin):
        section = ctx.section(name)
        if section is None:
            self.warn('%s: registry section [%s] does not exist' % (ctx.name, name))
            return []
        out = []
        for key, fields, lineno, _lkey in section.lines:
            if key is not None:
                self.warn('%s: not an AddReg/DelReg line (it has "=")' % self.where(section.name, lineno))
                continue
            entry = self._line(ctx, fields, delete, section.name, lineno, origin)
            if entry is not None:
                out.append(entry)
        return out

    def _line(self, ctx, fields, delete, section, lineno, origin):
        subst = ctx.subst
        values = [subst(f) if '%' in f else f for f in fields]
        count = len(values)
        root = values[0].strip().upper()
        if root not in _REG_ROOTS:
            self.warn('%s: unknown registry root %r; line ignored' % (self.where(section, lineno), values[0]))
            return None
        subkey_text = values[1].strip() if count > 1 else ''
        subkey = tuple(p for p in subkey_text.split('\\') if p.strip()) if subkey_text else ()
        name = values[2].strip() if count > 2 else ''
        flags_text = values[3].strip() if count > 3 else ''
        flags = parse_int(flags_text) if flags_text else 0
        if flags is None:
            self.warn('%s: flags %r are not a number; line ignored' % (self.where(section, lineno), flags_text))
            return None
        flags &= 0xFFFFFFFF
        if delete:
            return RegEntry(root, subkey, 'delete', None, name if count > 2 else None, flags, section, lineno, origin)
        if flags & (FLG_ADDREG_DELREG_BIT | FLG_ADDREG_KEYONLY | FLG_ADDREG_KEYONLY_COMMON | FLG_ADDREG_DELVAL):
            if flags & FLG_ADDREG_DELREG_BIT:
                return None
            if flags & (FLG_ADDREG_KEYONLY | FLG_ADDREG_KEYONLY_COMMON):
                return RegEntry(root, subkey, 'keyonly', None, None, flags, section, lineno, origin)
            return RegEntry(root, subkey, 'delete', None, name, flags, section, lineno, origin)
        data = values[4:]
        kind = flags & _ADDREG_TYPE_MASK
        try:
            if kind == 0:
                value = Value.sz(name, data[0] if data else '')
            else:
                value = self._value(name, kind, data, section, lineno)
                if value is None:
                    return None
        except (UnicodeError, ValueError, TypeError, OverflowError) as exc:
            self.warn('%s: cannot build the value (%s); line ignored' % (self.where(section, lineno), exc))
            return None
        return RegEntry(root, subkey, 'set', value, name, flags, section, lineno, origin)

    def _value(self, name, kind, data, section, lineno):
        reg_type = _ADDREG_TYPES.get(kind)
        if reg_type in (REG_SZ, REG_EXPAND_SZ) or (reg_type is None and not kind & FLG_ADDREG_BINVALUETYPE):
            text = data[0] if data else ''
            if reg_type is None:
                return Value(name, kind >> 16, text.encode('utf-16-le') + b'\x00\x00')
            return Value.sz(name, text) if reg_type == REG_SZ else Value.expand_sz(name, text)
        if reg_type == REG_MULTI_SZ:
            items = []
            for item in data:
                if item == '':
                    break
                items.append(item)
            return Value.multi_sz(name, items)
        if reg_type == REG_DWORD and len(data) <= 1:
            number = parse_int(data[0]) if data and data[0].strip() else 0
            if number is None or not -0x80000000 <= number <= 0xFFFFFFFF:
                self.warn('%s: DWORD %r is not a 32-bit number; line ignored' % (self.where(section, lineno), data[0]))
                return None
            return Value.dword(name, number)
        raw = _hex_bytes(data)
        if raw is None:
            self.warn('%s: binary data is not a list of hex bytes; line ignored' % self.where(section, lineno))
            return None
        return Value(name, REG_DWORD if reg_type == REG_DWORD else (reg_type if reg_type is not None else kind >> 16),
                     raw)
