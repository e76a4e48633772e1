# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AddService directives and their service-install sections as Service objects, with the ImagePath Windows writes
(install/inf-addservice-directive.md, install/inf-ddinstall-services-section.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.inf.copyfiles import (
    DIRID_DRIVER_STORE, check_file_name, dirid_path,
)
from ansible_collections.sanboot.windows.plugins.module_utils.inf.model import Service
from ansible_collections.sanboot.windows.plugins.module_utils.inf.text import parse_int

# Service-install section entries (install/inf-ddinstall-services-section.md); canonical spelling by lower case.
SERVICE_FIELDS = dict((k.lower(), k) for k in (
    'DisplayName', 'Description', 'ServiceType', 'StartType', 'ErrorControl', 'ServiceBinary', 'LoadOrderGroup',
    'Dependencies', 'StartName', 'Security', 'ServiceSidType', 'DelayedAutoStart', 'RequiredPrivileges',
    'BootFlags', 'AddTrigger', 'FailureActions', 'AddReg', 'DelReg', 'BitReg',
))
_SERVICE_REQUIRED = ('ServiceType', 'StartType', 'ErrorControl', 'ServiceBinary')
_DIRID_PREFIX_RE = re.compile(r'^%([+-]?[0-9]+)%(.*)$', re.S)


class AddService(object):
    """The services one driver's install sections add, each read once (by file, name, install section, flags)."""

    def __init__(self, driver, addreg):
        self.driver = driver
        self.warn = driver.warn
        self.where = driver.where
        self._addreg = addreg
        self._cache = {}

    def add(self, ctx, fields, inst, origin, section, lineno):
        """One AddService line: its Service (read once per driver), added to the install section ``inst``."""
        values = [ctx.subst(f).strip() for f in fields]
        name = values[0] if values else ''
        flags_raw = values[1] if len(values) > 1 else ''
        flags = parse_int(flags_raw) if flags_raw else 0
        if flags is None:
            self.warn('%s: AddService flags %r are not a number' % (self.where(section, lineno), flags_raw))
            flags = 0
        install = values[2] if len(values) > 2 else ''
        cache_key = (ctx.name.lower(), name.lower(), install.lower(), flags)
        svc = self._cache.get(cache_key)
        if svc is None:
            event_log = values[3] if len(values) > 3 else ''
            event_type = values[4] if len(values) > 4 and values[4] else 'System'
            event_name = values[5] if len(values) > 5 and values[5] else name
            svc = Service(name, flags_raw, flags, install, event_log or None, event_type, event_name, origin, lineno)
            self._cache[cache_key] = svc
            self._read(ctx, svc, section, lineno)
            self.driver.services.append(svc)
        if svc not in inst.services:
            inst.services.append(svc)

    def _read(self, ctx, svc, section, lineno):
        if not svc.name:
            return  # NULL driver: AddService = ,2
        if not svc.install:
            svc.missing.append('service-install section')
            self.warn('%s: AddService %s names no service-install section' % (self.where(section, lineno), svc.name))
            return
        sec = ctx.section(svc.install)
        if sec is None:
            svc.missing.append('service-install section')
            self.warn('%s: service-install section [%s] of %s does not exist' % (ctx.name, svc.install, svc.name))
            return
        for key, fields, line, lkey in sec.lines:
            canonical = SERVICE_FIELDS.get(lkey) if lkey is not None else None
            if canonical is None:
                continue
            if canonical in ('AddReg', 'DelReg'):
                for field in fields:
                    name = ctx.subst(field).strip()
                    if name:
                        svc.addreg.extend(self._addreg.section(ctx, name, canonical == 'DelReg', svc.origin))
            elif canonical == 'Dependencies':
                svc.dependencies.extend(v for v in (ctx.subst(f).strip() for f in fields) if v)
            elif canonical not in svc.fields:
                svc.fields[canonical] = ctx.subst(fields[0]).strip() if fields else ''
                svc.raw_fields[canonical] = fields[0].strip() if fields else ''
        for field in _SERVICE_REQUIRED:
            if field not in svc.fields:
                svc.missing.append(field)
            elif field != 'ServiceBinary' and svc.number(field) is None:
                self.warn('%s: %s %s = %r is not a number' % (ctx.name, svc.install, field, svc.fields[field]))
        if svc.missing:
            self.warn('%s: service-install section [%s] lacks %s; Windows would not install service %s'
                      % (ctx.name, svc.install, ', '.join(svc.missing), svc.name))
        if 'ServiceBinary' in svc.fields:
            self._image_path(ctx, svc)
        if svc.event_log:
            evsec = ctx.section(svc.event_log)
            if evsec is None:
                self.warn('%s: event-log section [%s] does not exist' % (ctx.name, svc.event_log))
            else:
                svc._addreg = self._addreg
                for key, fields, line, lkey in evsec.lines:
                    if lkey == 'addreg':
                        for field in fields:
                            name = ctx.subst(field).strip()
                            if name:
                                svc.event_log_refs.append((ctx, name))

    def _image_path(self, ctx, svc):
        """ImagePath (REG_EXPAND_SZ) as Windows writes it for an INF-installed service (see docs)."""
        binary = svc.fields['ServiceBinary']
        m = _DIRID_PREFIX_RE.match(binary)
        if not m:
            token = re.match(r'^%([^%]+)%', binary)
            if token:
                self.warn('%s: ServiceBinary "%s" of %s starts with %%%s%%, which is not a DIRID (a build-time '
                          'placeholder?); pass templates, for example {"%s": "12"}'
                          % (ctx.name, binary, svc.name, token.group(1), token.group(1)))
            else:
                self.warn('%s: ServiceBinary "%s" of %s does not start with a %%DIRID%%' % (ctx.name, binary, svc.name))
            return
        dirid = int(m.group(1))
        rest = m.group(2)
        parts = check_file_name(rest.lstrip('\\/'), '%s: ServiceBinary of %s' % (ctx.name, svc.name))
        if not parts:
            self.warn('%s: ServiceBinary %r of %s names no file' % (ctx.name, binary, svc.name))
            return
        svc.binary_dirid = dirid
        svc.binary_file = '\\'.join(parts)
        path = dirid_path(dirid, '', svc.binary_file, self.driver.name, self.driver.target.arch)
        if path is None:
            self.warn('%s: ServiceBinary %r of %s uses DIRID %d, which has no fixed place under the Windows folder'
                      % (ctx.name, binary, svc.name, dirid))
            return
        svc.image_path = '\\SystemRoot\\' + path
        if dirid == DIRID_DRIVER_STORE:
            self.warn('%s: service %s runs from the DriverStore (DIRID 13); its folder name carries a hash that '
                      'Windows computes while staging the package' % (ctx.name, svc.name))
