# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The install stage: what one INF installs on one target (InfDriver), read the way Windows interprets it.

[Version], then the Models lines that apply (manufacturer.py), then each device's install section resolved for the
platform (``X.NT<arch>`` -> ``X.NT`` -> ``X``, the suffix reused for .Services/.HW/.CoInstallers/.Wdf) and walked with
its Include/Needs. The directives are handed to collaborators: CopyFiles (copyfiles.py), AddReg/DelReg (addreg.py),
AddService (addservice.py). Also reading INF files and folders (read_inf, read_package).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.sanboot.windows.plugins.module_utils.inf.addreg import AddReg
from ansible_collections.sanboot.windows.plugins.module_utils.inf.addservice import AddService
from ansible_collections.sanboot.windows.plugins.module_utils.inf.copyfiles import CopyFiles, DirCache, check_file_name
from ansible_collections.sanboot.windows.plugins.module_utils.inf.manufacturer import read_models
from ansible_collections.sanboot.windows.plugins.module_utils.inf.model import (
    DEFAULT_LANGUAGE, MAX_INF_SIZE, InfFile, Install, parse_driver_ver, registry_key,
)
from ansible_collections.sanboot.windows.plugins.module_utils.inf.target import coerce_target
from ansible_collections.sanboot.windows.plugins.module_utils.inf.text import InfError, parse_int, warn_once

MAX_INCLUDE_DEPTH = 4

# DDInstall entries that network INFs write into the driver key (network/ddinstall-section-in-a-network-inf-file.md).
NETWORK_DIRECTIVES = dict((k.lower(), k) for k in (
    'Characteristics', 'BusType', '*IfType', '*MediaType', '*PhysicalMediaType', '*IfConnectorPresent',
    '*ConnectionType', '*DirectionType', '*AccessType', '*HardwareLoopback', 'NumberOfNetworkInterfaces',
    'NetCfgInstanceId',
))
_REG_ROLES = {'ddinstall': 'driver', 'hw': 'hw', 'coinstallers': 'coinstallers'}


class InfDriver(object):
    """What one INF installs on one target: chosen Models sections, devices, install sections, services, files."""

    def __init__(self, inf, target, lenient=False, package_dir=None, system_inf_dir=None, dir_cache=None):
        self.inf = inf
        self.target = target
        self.lenient = bool(lenient)
        self.path = inf.path
        self.name = inf.name
        self.package_dir = package_dir
        self.system_inf_dir = system_inf_dir
        self.dir_cache = dir_cache or DirCache()
        self.warnings = list(inf.warnings)
        self.valid = True
        self.manufacturers = []
        self.devices = []
        self.installs = {}
        self.services = []
        self._included = {}
        self.unresolved = []
        self.addreg = AddReg(self)
        self.copyfiles = CopyFiles(self)
        self.addservice = AddService(self, self.addreg)
        self._read()

    # helpers ------------------------------------------------------------------------------------------
    def warn(self, message):
        warn_once(self.warnings, message)

    def where(self, section, line):
        """``file [section] line N``, the place a warning names."""
        return '%s [%s] line %d' % (self.name, section, line)

    # [Version] ----------------------------------------------------------------------------------------
    def _read_version(self):
        inf = self.inf
        if not inf.has_section('Version'):
            self.valid = False
            self.warn('%s: no [Version] section; Windows does not accept this INF' % self.name)
        signature = inf.first_value('Version', 'Signature')
        self.signature = signature
        if signature is None or signature.strip().lower() not in ('$windows nt$', '$chicago$', '$windows 95$'):
            self.valid = False
            self.warn('%s: Signature %r is not "$Windows NT$" or "$Chicago$"; Windows does not accept this INF'
                      % (self.name, signature))
        self.class_name = inf.first_value('Version', 'Class')
        self.class_guid = inf.first_value('Version', 'ClassGUID')
        self.provider = inf.first_value('Version', 'Provider')
        arch = self.target.arch
        catalog = None
        for key in ('CatalogFile.NT' + arch, 'CatalogFile.NT', 'CatalogFile'):
            catalog = inf.first_value('Version', key)
            if catalog is not None:
                break
        self.catalog_file = catalog
        fields = inf.first('Version', 'DriverVer')
        self.driver_ver, self.driver_ver_key = parse_driver_ver([inf.subst(f) for f in fields] if fields else None)
        if fields is not None and self.driver_ver['date'] is None:
            self.warn('%s: DriverVer %r has no valid mm/dd/yyyy date' % (self.name, ','.join(fields)))
        self.extension = (self.class_name or '').lower() == 'extension'

    # install sections -----------------------------------------------------------------------------------
    def _resolve_install(self, ctx, named):
        for suffix in ('.nt' + self.target.arch, '.nt', ''):
            section = ctx.section(named + suffix)
            if section is not None:
                return section.name, section.name[len(named):]
        return None, None

    def _install(self, named):
        key = named.lower()
        if key in self.installs:
            return self.installs[key]
        inst = Install(named)
        inst._addreg = self.addreg
        self.installs[key] = inst
        actual, suffix = self._resolve_install(self.inf, named)
        if actual is None:
            self.warn('%s: install section [%s] (or .NT%s / .NT) does not exist' % (self.name, named, self.target.arch))
            return inst
        inst.actual, inst.suffix = actual, suffix
        self._walk(self.inf, actual, 'ddinstall', inst, None, 0)
        for ext, role in (('.Services', 'services'), ('.HW', 'hw'), ('.CoInstallers', 'coinstallers'),
                          ('.Wdf', 'wdf')):
            if self.inf.has_section(actual + ext):
                self._walk(self.inf, actual + ext, role, inst, None, 0)
        for svc in inst.services:
            for kmdf_service, version in inst.kmdf:
                if svc.name.lower() == kmdf_service.lower():
                    svc.kmdf_library_version = version
        if len(inst.assoc_services) > 1:
            self.warn('%s: install section [%s] flags several services as the function driver (0x2): %s'
                      % (self.name, actual, ', '.join(s.name for s in inst.assoc_services)))
        return inst

    def _walk(self, ctx, section_name, role, inst, origin, depth):
        section = ctx.section(section_name)
        if section is None:
            return
        inst.sections.append(section.name if origin is None else '%s:%s' % (origin, section.name))
        includes, needs = [], []
        for key, fields, lineno, lkey in section.lines:
            if lkey is None:
                continue
            if lkey == 'copyfiles' and role in ('ddinstall', 'coinstallers'):
                for field in fields:
                    self.copyfiles.add(ctx, field, inst, origin, role, section.name, lineno)
            elif lkey in ('addreg', 'delreg'):
                where = _REG_ROLES.get(role)
                if where is None:
                    continue
                for field in fields:
                    name = ctx.subst(field).strip()
                    if name:
                        inst.reg_refs[where].append((ctx, name, lkey == 'delreg', origin))
            elif lkey == 'addservice' and role == 'services':
                self.addservice.add(ctx, fields, inst, origin, section.name, lineno)
            elif lkey == 'include':
                includes.extend(v for v in (ctx.subst(f).strip() for f in fields) if v)
            elif lkey == 'needs':
                needs.extend(v for v in (ctx.subst(f).strip() for f in fields) if v)
            elif lkey == 'featurescore' and role == 'ddinstall' and origin is None:
                score = parse_int(ctx.subst(fields[0])) if fields else None
                if score is None or not 0 <= score <= 0xFF:
                    self.warn('%s: FeatureScore is not a byte' % self.where(section.name, lineno))
                else:
                    inst.feature_score = score
            elif lkey == 'driverver' and role == 'ddinstall' and origin is None:
                inst.driver_ver, inst.driver_ver_key = parse_driver_ver([ctx.subst(f) for f in fields])
            elif lkey == 'kmdfservice' and role == 'wdf':
                values = [ctx.subst(f).strip() for f in fields]
                if len(values) >= 2 and values[0]:
                    inst.kmdf.append((values[0], ctx.first_value(values[1], 'KmdfLibraryVersion')))
            elif role == 'ddinstall' and origin is None and lkey in NETWORK_DIRECTIVES:
                inst.directives[NETWORK_DIRECTIVES[lkey]] = ctx.subst(fields[0]).strip() if fields else ''
        if includes or needs:
            self._needs(ctx, includes, needs, role, inst, depth, section.name)

    def _included_inf(self, name):
        key = name.lower()
        if key in self._included:
            return self._included[key]
        found = None
        try:
            parts = check_file_name(name, 'Include file', allow_subdirs=False)
        except InfError as exc:
            self.warn(str(exc))
            parts = None
        if parts and self.system_inf_dir:
            path = self.dir_cache.find(self.system_inf_dir, parts)
            if path is not None:
                try:
                    with open(path, 'rb') as handle:
                        data = handle.read(MAX_INF_SIZE + 1)
                    found = InfFile(data, os.path.basename(path), path)
                except (IOError, OSError) as exc:
                    self.warn('cannot read included INF %s: %s' % (path, exc))
                except InfError as exc:
                    self.warn('included INF %s: %s' % (name, exc))
        self._included[key] = found
        return found

    def _needs(self, ctx, includes, needs, role, inst, depth, section_name):
        loaded = [inc for inc in (self._included_inf(n) for n in includes) if inc is not None]
        missing_incs = [n for n in includes if self._included.get(n.lower()) is None]
        unresolved = []
        for need in needs:
            done = False
            for inc in loaded + [ctx]:
                if inc.has_section(need):
                    if depth >= MAX_INCLUDE_DEPTH:
                        self.warn('%s: Include/Needs nested deeper than %d; [%s] skipped'
                                  % (self.name, MAX_INCLUDE_DEPTH, need))
                    elif not (inc is ctx and need.lower() == section_name.lower()):
                        self._walk(inc, need, role, inst, inc.name if inc is not self.inf else None, depth + 1)
                    done = True
                    break
            if not done:
                unresolved.append(need)
        if unresolved or missing_incs:
            record = {'section': section_name, 'include': list(includes), 'needs': unresolved,
                      'reason': ('the target\'s INF folder was not given' if not self.system_inf_dir
                                 else 'not found in %s' % self.system_inf_dir)}
            inst.unresolved.append(record)
            if record not in self.unresolved:
                self.unresolved.append(record)

    # everything -------------------------------------------------------------------------------------------
    def _read(self):
        self._read_version()
        read_models(self)
        for device in self.devices:
            self._install(device.install)
        for token in sorted(self.inf.undefined):
            self.warn('%s: %%%s%% is not defined in [%s]; left as it is'
                      % (self.name, token, self.inf.strings_section or 'Strings'))

    # results ------------------------------------------------------------------------------------------------
    @property
    def files(self):
        out = []
        seen = set()
        for device in self.devices:
            inst = device.install_info
            if inst is None:
                continue
            for entry in inst.files:
                key = (entry.name.lower(), entry.dirid, entry.subdir.lower(), entry.origin)
                if key not in seen:
                    seen.add(key)
                    out.append(entry)
        return out

    @property
    def device_services(self):
        """Services of the install sections of this target's devices, in order, without duplicates."""
        out = []
        for device in self.devices:
            inst = device.install_info
            for svc in (inst.services if inst is not None else []):
                if svc not in out:
                    out.append(svc)
        return out

    def registry_sections(self):
        """{section key: [RegEntry as dict]} of every AddReg/DelReg section the install sections name."""
        out = {}
        for inst in self.installs.values():
            for where in ('driver', 'hw', 'coinstallers'):
                for ctx, name, delete, origin in inst.reg_refs[where]:
                    key = registry_key(ctx, name, delete, origin)
                    if key not in out:
                        out[key] = [e.as_dict() for e in self.addreg.section(ctx, name, delete, origin)]
        return out

    def as_dict(self):
        installs = dict((i.named, i.as_dict()) for i in self.installs.values())
        services = [s.as_dict() for s in self.device_services]
        registry = self.registry_sections()
        return {
            'inf_path': self.path, 'inf_name': self.name, 'encoding': self.inf.encoding, 'valid': self.valid,
            'signature': self.signature, 'class': self.class_name, 'class_guid': self.class_guid,
            'extension': self.extension,
            'provider': self.provider, 'driver_ver': dict(self.driver_ver), 'catalog_file': self.catalog_file,
            'strings_section': self.inf.strings_section, 'template_tokens': self.inf.template,
            'manufacturers': [dict(m) for m in self.manufacturers],
            'devices': [d.as_dict() for d in self.devices],
            'install_sections': installs,
            'registry_sections': registry,
            'services': services,
            'files': [f.as_dict() for f in self.files],
            'unresolved': [dict(u) for u in self.unresolved],
            'warnings': list(self.warnings),
        }


# ---------------------------------------------------------------------------------------------------------
# Reading files and folders

def read_inf_data(data, target, name='<inf>', path=None, lenient=False, templates=None, system_inf_dir=None,
                  language=DEFAULT_LANGUAGE, dir_cache=None):
    """InfDriver from INF bytes; files are looked up next to ``path`` when it is given."""
    target = coerce_target(target)
    inf = InfFile(data, name, path, templates, target.arch, language)
    package_dir = os.path.dirname(os.path.abspath(path)) if path else None
    return InfDriver(inf, target, lenient, package_dir, system_inf_dir, dir_cache)


def read_inf(path, target, lenient=False, templates=None, system_inf_dir=None, language=DEFAULT_LANGUAGE,
             dir_cache=None):
    """InfDriver for one INF file on disk."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read(MAX_INF_SIZE + 1)
    except (IOError, OSError, ValueError, TypeError) as exc:
        raise InfError('cannot read %s: %s' % (path, getattr(exc, 'strerror', None) or exc))
    return read_inf_data(data, target, os.path.basename(path), path, lenient, templates, system_inf_dir, language,
                         dir_cache)


def find_infs(path):
    """INF files of a file or folder tree, sorted (``.inf`` only; ``.inx`` templates must be named directly)."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise InfError('%s does not exist or is not a file or folder' % path)
    found = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith('.inf'):
                found.append(os.path.join(folder, name))
    return found


def read_package(paths, target, lenient=False, templates=None, system_inf_dir=None, language=DEFAULT_LANGUAGE):
    """([InfDriver], [{'path', 'msg'}]) for INF files and folder trees.

    A file given by name that cannot be read raises InfError; INF files found in folders that cannot be read are
    reported in the error list and skipped.
    """
    target = coerce_target(target)
    if isinstance(paths, str):
        paths = [paths]
    drivers, errors = [], []
    cache = DirCache()
    for path in paths:
        if not isinstance(path, str) or not path:
            raise InfError('package paths must be non-empty strings')
        explicit = os.path.isfile(path)
        for inf_path in find_infs(path):
            try:
                drivers.append(read_inf(inf_path, target, lenient, templates, system_inf_dir, language, cache))
            except InfError as exc:
                if explicit:
                    raise
                errors.append({'path': inf_path, 'msg': str(exc)})
    return drivers, errors
