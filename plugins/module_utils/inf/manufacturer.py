# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""[Manufacturer] and Models sections: per Manufacturer line, the Models section whose TargetOSVersion decoration
applies to the target and is closest to it, and the devices its lines install (install/inf-manufacturer-section.md,
install/inf-models-section.md). Undecorated Models sections are x86-only unless ``lenient``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.inf.model import Device
from ansible_collections.sanboot.windows.plugins.module_utils.inf.target import PRODUCT_TYPES
from ansible_collections.sanboot.windows.plugins.module_utils.inf.text import parse_int

_DECORATION_RE = re.compile(r'^nt(amd64|arm64|arm|ia64|x86)?(?:\.(.*))?$', re.I | re.S)


class Decoration(object):
    """A parsed TargetOSVersion decoration."""

    __slots__ = ('text', 'arch', 'major', 'minor', 'product_type', 'suite', 'build')

    def __init__(self, text, arch, major, minor, product_type, suite, build):
        self.text = text
        self.arch = arch
        self.major = major
        self.minor = minor
        self.product_type = product_type
        self.suite = suite
        self.build = build

    def sort_key(self, target):
        version = (self.major or 0, self.minor or 0)
        build = self.build or 0 if version == (target.major, target.minor) else 0
        specific = (1 if self.product_type else 0) + (1 if self.suite else 0)
        return (version, build, specific, 1 if self.arch else 0)

    def applies(self, target, lenient):
        """(applies, reason) of the decoration for the target (install/inf-manufacturer-section.md)."""
        if self.arch is not None:
            if self.arch != target.arch:
                return False, 'for %s' % self.arch
        elif target.arch != 'x86' and not lenient:
            return False, 'no architecture, so x86 only since Server 2003 SP1'
        if self.major is not None:
            version = (self.major, self.minor or 0)
            mine = (target.major, target.minor)
            if version > mine:
                return False, 'for Windows %d.%d and later' % version
            if version == mine and self.build is not None:
                if target.build is None:
                    return False, 'needs build %d and the target build is unknown' % self.build
                if target.build < self.build:
                    return False, 'for build %d and later' % self.build
        if self.product_type is not None:
            if target.product_type is None:
                return False, 'for product type %d and the target product type is unknown' % self.product_type
            if self.product_type != target.product_type:
                return False, 'for product type %s' % PRODUCT_TYPES.get(self.product_type, self.product_type)
        if self.suite is not None:
            return False, 'for suite mask 0x%x (suites are not modelled: taken as not matching)' % self.suite
        return True, 'applies'


def parse_decoration(text):
    """TargetOSVersion ``NT[arch][.major[.minor[.ProductType[.SuiteMask[.Build]]]]]`` or None if malformed."""
    m = _DECORATION_RE.match(text.strip())
    if not m:
        return None
    arch = m.group(1).lower() if m.group(1) else None
    numbers = [None] * 5
    if m.group(2) is not None:
        parts = m.group(2).split('.')
        if len(parts) > 5:
            return None
        for idx, part in enumerate(parts):
            if part.strip() == '':
                continue
            value = parse_int(part)
            if value is None or value < 0:
                return None
            numbers[idx] = value
    major, minor, ptype, suite, build = numbers
    return Decoration(text.strip(), arch, major, minor, ptype or None, suite or None, build)


def read_models(driver):
    """Fill ``driver.manufacturers`` (one report per [Manufacturer] line) and ``driver.devices`` (the lines of the
    Models sections chosen for the driver's target)."""
    inf = driver.inf
    lines = inf.section_lines('Manufacturer')
    if not inf.has_section('Manufacturer'):
        driver.warn('%s: no [Manufacturer] section; not a device INF (no hardware IDs)' % driver.name)
    for key, fields, lineno, _lkey in lines:
        values = [inf.subst(f).strip() for f in fields]
        base = values[0] if values else ''
        manufacturer = inf.subst(key).strip() if key is not None else base
        entry = {'manufacturer': manufacturer, 'models_section': base, 'decorations': [d for d in values[1:] if d],
                 'chosen': None, 'reason': None, 'line': lineno, 'lines': 0}
        driver.manufacturers.append(entry)
        if not base:
            entry['reason'] = 'no Models section name'
            driver.warn('%s: [Manufacturer] line %d names no Models section' % (driver.name, lineno))
            continue
        chosen = _models_section(driver, entry, base, lineno)
        if chosen is None:
            continue
        section = inf.section(chosen)
        entry['chosen'] = section.name if section is not None else chosen
        if section is None:
            entry['reason'] += '; but section [%s] does not exist' % chosen
            driver.warn('%s: Models section [%s] does not exist' % (driver.name, chosen))
            continue
        entry['lines'] = len(section.lines)
        if not section.lines:
            entry['reason'] += '; the section is empty, which blocks this OS'
            continue
        for line in section.lines:
            _model_line(driver, line, manufacturer, section.name, key if key is not None else base)


def _models_section(driver, entry, base, lineno):
    """Name of the Models section one Manufacturer line names for the target, or None; says why in ``entry``."""
    target = driver.target
    best = None
    rejected = []
    for text in entry['decorations']:
        dec = parse_decoration(text)
        if dec is None:
            rejected.append('%s: not a TargetOSVersion' % text)
            driver.warn('%s: [Manufacturer] line %d: %r is not a valid TargetOSVersion decoration'
                        % (driver.name, lineno, text))
            continue
        ok, why = dec.applies(target, driver.lenient)
        if not ok:
            rejected.append('%s: %s' % (text, why))
            if 'unknown' in why:
                driver.warn('%s: Models decoration %s skipped: %s; give the full build / product type'
                            % (driver.name, text, why))
            continue
        if best is None or dec.sort_key(target) > best.sort_key(target):
            best = dec
    if best is not None:
        chosen = base + '.' + best.text
        entry['reason'] = 'decoration %s is the closest that applies' % best.text
    elif target.arch == 'x86' or driver.lenient:
        chosen = base
        entry['reason'] = ('no decoration applies; the undecorated section is used'
                           + (' (lenient)' if target.arch != 'x86' else ''))
    else:
        chosen = None
        entry['reason'] = ('no decoration applies to %s%s; undecorated Models sections are x86-only '
                           '(set lenient to accept them)'
                           % (target.describe(), (' (' + '; '.join(rejected) + ')') if rejected else ''))
    if rejected:
        entry['rejected'] = rejected
    return chosen


def _model_line(driver, line, manufacturer, section, raw_manufacturer=None):
    key, fields, lineno, _lkey = line
    inf = driver.inf
    description = inf.subst(key).strip() if key is not None else ''
    values = [inf.subst(f).strip() for f in fields]
    install = values[0] if values else ''
    hardware_id = values[1] if len(values) > 1 else ''
    compatible = [v for v in values[2:] if v]
    if not hardware_id and not compatible:
        driver.warn('%s: no hardware or compatible ID' % driver.where(section, lineno))
        return
    if not install:
        driver.warn('%s: no install section' % driver.where(section, lineno))
        return
    driver.devices.append(Device(description, hardware_id, compatible, install, manufacturer, section, lineno,
                                 driver, key, raw_manufacturer))
