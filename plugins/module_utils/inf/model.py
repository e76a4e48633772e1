# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The INF model: one file (InfFile: sections and its one Strings section) and what a driver package holds for one
target (Device, Install, Service, FileEntry, RegEntry), as the install stage fills them in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.inf.text import (
    InfError, decode_inf, parse_int, resolve_templates, tokenize,
)

MAX_INF_SIZE = 32 * 1024 * 1024
DEFAULT_LANGUAGE = 0x0409
DEFAULT_FEATURE_SCORE = 0xFF
SPSVCINST_ASSOCSERVICE = 0x2

# AddReg flags (install/inf-addreg-directive.md).
FLG_ADDREG_BINVALUETYPE = 0x00000001
FLG_ADDREG_NOCLOBBER = 0x00000002
FLG_ADDREG_DELVAL = 0x00000004
FLG_ADDREG_APPEND = 0x00000008
FLG_ADDREG_KEYONLY = 0x00000010
FLG_ADDREG_OVERWRITEONLY = 0x00000020
FLG_ADDREG_KEYONLY_COMMON = 0x00002000
FLG_ADDREG_DELREG_BIT = 0x00008000

_SUBST_RE = re.compile(r'%([^%]*)%')
_DIRID_TOKEN_RE = re.compile(r'^[+-]?[0-9]+$')
_DRIVERVER_DATE_RE = re.compile(r'^\s*([0-9]{1,2})\s*[/-]\s*([0-9]{1,2})\s*[/-]\s*([0-9]{4})\s*$')
_STRINGS_SECTION_RE = re.compile(r'^strings(?:\.([0-9a-f]{1,4}))?$', re.I)


# ---------------------------------------------------------------------------------------------------------
# Parsed file

def _language_of(section_name):
    m = _STRINGS_SECTION_RE.match(section_name)
    if not m:
        return None
    return int(m.group(1), 16) if m.group(1) else -1


class InfFile(object):
    """One INF file, tokenized, with its Strings section chosen; nothing target-specific."""

    def __init__(self, data, name='<inf>', path=None, templates=None, arch=None, language=DEFAULT_LANGUAGE):
        self.name = name
        self.path = path
        self.warnings = []
        self.undefined = set()
        if len(data) > MAX_INF_SIZE:
            raise InfError('%s is larger than %d MB; not an INF file' % (name, MAX_INF_SIZE // (1024 * 1024)))
        text, self.encoding = decode_inf(data)
        text, self.template = resolve_templates(text, templates, arch, name, self.warnings)
        self.sections = tokenize(text, name, self.warnings)
        self.strings, self.strings_section = self._pick_strings(language)

    # sections ----------------------------------------------------------------------------------------
    def section(self, name):
        return self.sections.get(name.lower())

    def has_section(self, name):
        return name.lower() in self.sections

    def section_lines(self, name):
        sec = self.sections.get(name.lower())
        return sec.lines if sec is not None else []

    def first(self, section, key):
        """Fields of the first line of ``section`` whose key is ``key`` (case-insensitive), or None."""
        sec = self.sections.get(section.lower())
        return sec.first(key.lower()) if sec is not None else None

    def first_value(self, section, key):
        fields = self.first(section, key)
        if fields is None:
            return None
        return self.subst(fields[0]) if fields else ''

    # strings -----------------------------------------------------------------------------------------
    def _pick_strings(self, language):
        """Windows uses ONE Strings section (install/inf-strings-section.md): exact LANGID, the language-neutral
        one of the same primary language, any of the same primary language, else the undecorated [Strings]."""
        by_lang = {}
        for key, sec in self.sections.items():
            if not key.startswith('strings'):
                continue
            lang = _language_of(sec.name)
            if lang is not None and lang not in by_lang:
                by_lang[lang] = sec
        chosen = None
        if language is not None:
            primary = language & 0x3FF
            chosen = by_lang.get(language) or by_lang.get(primary)
            if chosen is None:
                same = sorted(lang for lang in by_lang if lang >= 0 and lang & 0x3FF == primary)
                if same:
                    chosen = by_lang[same[0]]
        if chosen is None:
            chosen = by_lang.get(-1)
        strings = {}
        if chosen is not None:
            for key, fields, _lineno, lkey in chosen.lines:
                if lkey is not None and lkey not in strings:
                    strings[lkey] = fields[0] if fields else ''
        return strings, (chosen.name if chosen is not None else None)

    def subst(self, text):
        """``%strkey%`` from the chosen Strings section, ``%%`` -> ``%``, ``%N%`` DIRIDs and unknown tokens kept."""
        if '%' not in text:
            return text
        strings = self.strings

        def repl(m):
            token = m.group(1)
            if not token:
                return '%'
            value = strings.get(token.lower())
            if value is not None:
                return value
            if not _DIRID_TOKEN_RE.match(token):
                self.undefined.add(token)
            return m.group(0)
        return _SUBST_RE.sub(repl, text)


# ---------------------------------------------------------------------------------------------------------
# What a driver package holds for one target

class RegEntry(object):
    """One AddReg/DelReg line: ``op`` is set, keyonly or delete; ``value`` a registry.Value for set."""

    __slots__ = ('root', 'subkey', 'op', 'value', 'name', 'flags', 'section', 'line', 'origin')

    def __init__(self, root, subkey, op, value, name, flags, section, line, origin):
        self.root = root
        self.subkey = subkey
        self.op = op
        self.value = value
        self.name = name
        self.flags = flags
        self.section = section
        self.line = line
        self.origin = origin

    @property
    def noclobber(self):
        return bool(self.flags & FLG_ADDREG_NOCLOBBER)

    @property
    def append(self):
        return bool(self.flags & FLG_ADDREG_APPEND)

    def as_dict(self):
        out = {'root': self.root, 'key': '\\'.join(self.subkey), 'op': self.op, 'name': self.name,
               'flags': '0x%08x' % (self.flags & 0xFFFFFFFF), 'section': self.section, 'line': self.line}
        if self.value is not None:
            shown = self.value.display()
            out['type'] = shown['type']
            out['data'] = shown['data']
        if self.origin:
            out['origin'] = self.origin
        return out


class Device(object):
    """One Models line that applies to the target."""

    __slots__ = ('description', 'hardware_id', 'compatible_ids', 'install', 'manufacturer', 'models_section',
                 'line', 'driver', 'raw_description', 'raw_manufacturer')

    def __init__(self, description, hardware_id, compatible_ids, install, manufacturer, models_section, line, driver,
                 raw_description=None, raw_manufacturer=None):
        self.description = description
        # As written, before %strkey% substitution (the DriverDatabase records the token).
        self.raw_description = raw_description
        self.raw_manufacturer = raw_manufacturer
        self.hardware_id = hardware_id
        self.compatible_ids = compatible_ids
        self.install = install
        self.manufacturer = manufacturer
        self.models_section = models_section
        self.line = line
        self.driver = driver

    @property
    def install_info(self):
        return self.driver.installs.get(self.install.lower())

    @property
    def ids(self):
        return ([self.hardware_id] if self.hardware_id else []) + list(self.compatible_ids)

    def as_dict(self):
        inst = self.install_info
        return {'description': self.description, 'hardware_id': self.hardware_id or None,
                'compatible_ids': list(self.compatible_ids), 'install_section': self.install,
                'install_section_resolved': inst.actual if inst is not None else None,
                'service': inst.assoc_service if inst is not None else None,
                'manufacturer': self.manufacturer, 'models_section': self.models_section, 'line': self.line}


class FileEntry(object):
    """One file a CopyFiles directive copies."""

    __slots__ = ('name', 'source', 'copy_list', 'dirid', 'subdir', 'flags', 'source_parts', 'source_path',
                 'present', 'found_at', 'origin', 'role', 'target')

    def __init__(self, name, source, copy_list, dirid, subdir, flags, origin, role):
        self.name = name
        self.source = source
        self.copy_list = copy_list
        self.dirid = dirid
        self.subdir = subdir
        self.flags = flags
        self.origin = origin
        self.role = role
        self.source_parts = None
        self.source_path = None
        self.present = None
        self.found_at = None
        self.target = None

    def as_dict(self):
        return {'name': self.name, 'source': '/'.join(self.source_parts) if self.source_parts else self.source,
                'source_path': self.source_path, 'present': self.present, 'found_at': self.found_at,
                'dirid': self.dirid, 'subdir': self.subdir, 'target': self.target, 'copy_list': self.copy_list,
                'flags': self.flags, 'origin': self.origin, 'role': self.role}


class Service(object):
    """One AddService line with what its service-install section says."""

    def __init__(self, name, flags_raw, flags, install, event_log, event_log_type, event_name, origin, line):
        self.name = name
        self.flags_raw = flags_raw
        self.flags = flags
        self.install = install
        self.event_log = event_log
        self.event_log_type = event_log_type
        self.event_name = event_name
        self.origin = origin
        self.line = line
        self.fields = {}        # canonical name -> substituted text (first line wins, like SetupFindFirstLine)
        self.raw_fields = {}    # the same, as written (Windows records DisplayName's %strkey%)
        self.dependencies = []
        self.addreg = []        # RegEntry, HKR = Services\<name>
        self.event_log_refs = []    # (InfFile, section) of the event-log AddReg, read when asked for
        self._event_log_addreg = None
        self._addreg = None     # the AddReg reader that reads them when asked for
        self.missing = []
        self.image_path = None
        self.binary_dirid = None
        self.binary_file = None
        self.kmdf_library_version = None

    @property
    def assoc(self):
        return bool(self.flags & SPSVCINST_ASSOCSERVICE)

    @property
    def event_log_addreg(self):
        """RegEntry list of the event-log install section (HKR = Services\\EventLog\\<type>\\<name>)."""
        if self._event_log_addreg is None:
            entries = []
            for ctx, name in self.event_log_refs:
                entries.extend(self._addreg.section(ctx, name, False, self.origin))
            self._event_log_addreg = entries
        return self._event_log_addreg

    def number(self, field):
        return parse_int(self.fields.get(field))

    def as_dict(self):
        out = {
            'name': self.name, 'flags': self.flags, 'flags_raw': self.flags_raw, 'assoc': self.assoc,
            'install_section': self.install, 'service_type': self.number('ServiceType'),
            'start_type': self.number('StartType'), 'error_control': self.number('ErrorControl'),
            'load_order_group': self.fields.get('LoadOrderGroup'), 'display_name': self.fields.get('DisplayName'),
            'description': self.fields.get('Description'), 'service_binary': self.fields.get('ServiceBinary'),
            'image_path': self.image_path, 'binary_dirid': self.binary_dirid, 'binary_file': self.binary_file,
            'dependencies': list(self.dependencies), 'fields': dict(self.fields), 'missing': list(self.missing),
            'registry': [e.as_dict() for e in self.addreg],
            'event_log': ({'section': self.event_log, 'log': self.event_log_type, 'name': self.event_name,
                           'registry': [e.as_dict() for e in self.event_log_addreg]} if self.event_log else None),
            'kmdf_library_version': self.kmdf_library_version, 'origin': self.origin, 'line': self.line,
        }
        return out


class Install(object):
    """A DDInstall section as named by Models lines, resolved for the platform, with what it installs."""

    def __init__(self, named):
        self.named = named
        self.actual = None
        self.suffix = None
        self.services = []
        self.files = []
        self.reg_refs = {'driver': [], 'hw': [], 'coinstallers': []}   # (InfFile, section, delete, origin)
        self._regs = {}
        self._addreg = None     # the AddReg reader that reads them when asked for
        self.directives = {}
        self.feature_score = DEFAULT_FEATURE_SCORE
        self.driver_ver = None
        self.driver_ver_key = None
        self.unresolved = []
        self.kmdf = []
        self.sections = []

    @property
    def recorded(self):
        """The configuration name Windows records for this install section (DriverInfFiles ``Configurations``, each
        Descriptor's ``Configuration``, the key under the package's ``Configurations``): the Models line's spelling of
        the name, plus the decoration the platform chose as the section header spells it (``vsmraid`` for Models
        ``vsmraid`` and header ``[VSMRAID]``; ``X.NT`` for Models ``X`` and header ``[X.NT]``). Evidence, and the case
        no record shows (a decoration spelled other than ``.NT``/``.NTamd64``): docs/driver-packages.md."""
        if self.actual is None:
            return None
        return self.named + (self.suffix or '')

    def registry(self, where):
        """RegEntry list of the AddReg/DelReg sections of a role, built the first time it is asked for."""
        entries = self._regs.get(where)
        if entries is None:
            entries = []
            for ctx, name, delete, origin in self.reg_refs[where]:
                entries.extend(self._addreg.section(ctx, name, delete, origin))
            self._regs[where] = entries
        return entries

    @property
    def driver_addreg(self):
        """HKR = the device's driver (software) key."""
        return self.registry('driver')

    @property
    def hw_addreg(self):
        """HKR = the device's hardware key (Device Parameters)."""
        return self.registry('hw')

    @property
    def coinstaller_addreg(self):
        return self.registry('coinstallers')

    @property
    def assoc_services(self):
        return [s for s in self.services if s.assoc]

    @property
    def assoc_service(self):
        found = self.assoc_services
        return found[0].name if found else None

    def as_dict(self):
        return {'named': self.named, 'resolved': self.actual, 'suffix': self.suffix, 'sections': list(self.sections),
                'services': [s.name for s in self.services], 'service': self.assoc_service,
                'feature_score': self.feature_score, 'driver_ver': self.driver_ver,
                'files': [f.as_dict() for f in self.files],
                'driver_registry': self.registry_names('driver'),
                'hardware_registry': self.registry_names('hw'),
                'coinstaller_registry': self.registry_names('coinstallers'),
                'directives': dict(self.directives), 'unresolved': list(self.unresolved)}

    def registry_names(self, where):
        """Names of the AddReg/DelReg sections of a role, as keys of the driver's ``registry_sections``."""
        return [registry_key(ctx, name, delete, origin) for ctx, name, delete, origin in self.reg_refs[where]]


def registry_key(ctx, name, delete, origin):
    """How a driver's report names an AddReg/DelReg section: ``origin:`` for a system INF's, `` (DelReg)``."""
    section = ctx.section(name)
    key = section.name if section is not None else name
    if origin:
        key = '%s:%s' % (origin, key)
    return key + (' (DelReg)' if delete else '')


def parse_driver_ver(fields):
    """{'date': 'YYYY-MM-DD' or None, 'version': 'a.b.c.d' or None} and a sort key (date, version)."""
    date = version = None
    date_key, version_key = (0, 0, 0), (0, 0, 0, 0)
    if fields:
        m = _DRIVERVER_DATE_RE.match(fields[0])
        if m:
            month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if 1 <= month <= 12 and 1 <= day <= 31:
                date = '%04d-%02d-%02d' % (year, month, day)
                date_key = (year, month, day)
        if len(fields) > 1 and fields[1].strip():
            parts = [p.strip() for p in fields[1].strip().split('.')]
            if 1 <= len(parts) <= 4 and all(p.isdigit() and p.isascii() for p in parts):
                version = fields[1].strip()
                numbers = [int(p) for p in parts] + [0] * (4 - len(parts))
                version_key = tuple(numbers)
    return {'date': date, 'version': version}, (date_key, version_key)
