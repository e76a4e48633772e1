# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conversion: every change a locally installed Windows needs in its SYSTEM (and DRIVERS) hive to boot from
iSCSI, planned on the Planner reader interface (key_exists, get_value, values, subkeys, real_path) plus
``control_sets()``, so that hive files, images and live hosts plan alike; and its undo (state=absent).
docs/how-it-works.md lists every change with its reason and source."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    RegistryError, Value, dword_value, fold, text_value,
)
from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb, driverstore, nicpackage
from ansible_collections.sanboot.windows.plugins.module_utils.windows.adapters import nic_class_keys
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nicdriver import binary_of, resolve_drivers
from ansible_collections.sanboot.windows.plugins.module_utils.windows.osinfo import detect_os
from ansible_collections.sanboot.windows.plugins.module_utils.windows.record import (
    STATE_KEY, plan_restore, record_originals,
)
from ansible_collections.sanboot.windows.plugins.module_utils.windows.services import (
    CM_SERVICE_NETWORK_BOOT_LOAD, NETSERVICE_CLASS, NETWORK_STACK, OPTIONAL_STACK, WFP_LWF, _services,
    dependency_closure,
)

PNP_CAPABILITIES_NO_POWER_OFF = 0x18     # KB 2740020: "Allow the computer to turn off this device" cleared


class Options(object):
    """Choices for the settings that the specification marks as uncertain or site-specific (iscsi_boot's options of
    the same names), plus two the job sets: ``first_boot`` (Windows 8+: a first-boot step lets Windows install the
    packages staged offline, driverstore.py) and ``stage_with`` ('pnputil' on a running host, where Windows stages new
    packages itself, jobs/live.py; else None)."""

    DEFAULTS = dict(control_sets='current', wfp_filter_optional=True, boot_driver_flags=True, auto_reboot=None,
                    nic_power_management=False, reset_device_policy=True, first_boot=False, stage_with=None)

    def __init__(self, **settings):
        unknown = sorted(set(settings) - set(self.DEFAULTS))
        if unknown:
            raise TypeError('unknown conversion options: %s' % ', '.join(unknown))
        for name, default in self.DEFAULTS.items():
            setattr(self, name, settings.get(name, default))


def current_hardware_config(reader):
    """HardwareConfig\\<LastConfig> (Windows 8+ keeps BootDriverFlags per hardware configuration)."""
    last = text_value(reader, ('HardwareConfig',), 'LastConfig')
    if last and reader.key_exists(('HardwareConfig', last)):
        return ('HardwareConfig', reader.real_path(('HardwareConfig', last))[-1])
    return None


def _set_start_boot(planner, key):
    planner.ensure_value(key, Value.dword('Start', 0))
    if planner.key_exists(key + ('StartOverride',)):
        # Windows 8+ demotes boot drivers it did not need at the last boot (KB 3024175).
        planner.ensure_key_absent(key + ('StartOverride',))


def _or_dword(planner, key, name, bits):
    current = dword_value(planner, key, name) if planner.key_exists(key) else None
    planner.ensure_value(key, Value.dword(name, (current or 0) | bits))


class NicConversion(object):
    """What the conversion does for one boot NIC: one entry of the result's ``nics``."""

    def __init__(self, nic, driver):
        self.nic = nic
        self.driver = driver
        self.package = None             # Windows 8+: nicpackage.PackagePlan
        self.service_created = False    # the NIC's service was created from its driver package

    @property
    def package_state(self):
        return self.package.state if self.package is not None else None

    def as_dict(self):
        out = {'id': self.nic.most_specific, 'hardware_ids': self.nic.hardware_ids, 'service': self.driver.service,
               'driver_source': self.driver.source}
        if self.package is not None:
            out['driver_database'] = self.package.as_dict()
        if self.service_created:
            out['service_created'] = True
            out['files'] = self.driver.files
        return out


class Conversion(object):
    """The planned conversion of one installation (state=present): its NICs, the services that start at boot, the
    packages staged and the files they need in the installation, the first-boot step, warnings."""

    def __init__(self, control_sets, nics, boot_start_services, warnings, stagings, files, first_boot=None):
        self.control_sets = control_sets
        self.nics = nics                        # [NicConversion]
        self.boot_start_services = boot_start_services
        self.warnings = warnings
        self.stagings = stagings                # [driverstore.Staging]
        self.files = files                      # [(local path or bytes, path under the Windows folder)]
        self.first_boot = first_boot            # {'command', 'script', 'log'} or None

    def as_dict(self):
        out = {'control_sets': self.control_sets, 'nics': [n.as_dict() for n in self.nics],
               'boot_start_services': self.boot_start_services}
        if self.first_boot:
            out['first_boot'] = self.first_boot
        return out


def plan_iscsi_boot(system, planner, os_info, nics, drivers, options, drivers_planner=None, view=None, now=None,
                    system_root='C:\\Windows'):
    """Plan every change; returns a Conversion. ``drivers`` maps NIC -> Driver.

    Windows 8+: ``drivers_planner`` plans the DRIVERS hive (staging writes there too), ``view`` reads the
    installation's files (images). The Conversion lists the files staged packages need; the caller writes them.
    """
    warnings = []
    sets = system.control_sets(options.control_sets)
    result_nics = []
    boot_services = []
    stagings = []
    for nic in nics:
        driver = drivers[nic.most_specific]
        entry = NicConversion(nic, driver)
        staging = None
        if os_info.family == 'ddb':
            try:
                entry.package = nicpackage.plan(planner, drivers_planner, os_info, nic, driver, view, now, system_root,
                                                options.stage_with)
            except RegistryError as exc:
                raise BootError(str(exc))
            staging = entry.package.staging
            if staging is not None:
                stagings.append(staging)
                warnings.extend(staging.warnings)
                warnings.extend(driverstore.signature_warnings(driver.inf_driver, staging.store_files, os_info,
                                                               binary_of(driver)))
        for cs in sets:
            svc_key = _services(cs) + (driver.service,)
            if not planner.key_exists(svc_key):
                if not driver.values:
                    raise BootError('service %s for %s does not exist in %s: the NIC driver is not installed. Give '
                                    'its driver package in drivers:' % (driver.service, nic, cs))
                # Install the service as the package would, already boot-start and network-boot flagged (so a
                # second run finds nothing to change).
                flags = [v for v in driver.values if v.name.lower() == 'bootflags']
                boot_flags = (flags[0].decoded() if flags and isinstance(flags[0].decoded(), int) else 0)
                values = [v for v in driver.values if v.name.lower() not in ('start', 'bootflags')]
                values += [Value.dword('Start', 0), Value.dword('BootFlags', boot_flags | CM_SERVICE_NETWORK_BOOT_LOAD)]
                extra = nicpackage.service_extra(staging, driver) if os_info.family == 'ddb' else []
                if extra:
                    names = [fold(v.name) for v in extra]
                    values = [v for v in values if fold(v.name) not in names] + extra
                cddb.plan_service(planner, cs, driver.service, values)
                for sub, value in driver.subkey_values:
                    planner.ensure_value(svc_key + tuple(sub), value)
                entry.service_created = True
            if os_info.family == 'cddb':
                for device_id in [nic.generic, nic.most_specific]:
                    path = (cs,) + cddb.CDDB + (cddb.cddb_key_name(device_id),)
                    planner.ensure_value(path, Value.sz('ClassGUID', driver.class_guid))
                    planner.ensure_value(path, Value.sz('Service', driver.service))
        boot_services.append(driver.service)
        result_nics.append(entry)

    services_started = []
    for cs in sets:
        closure, missing = dependency_closure(planner, cs, boot_services)
        for name in missing:
            warnings.append('%s\\Services\\%s is named in a DependOnService list but does not exist' % (cs, name))
        for name in closure:
            key = _services(cs) + (name,)
            kind = dword_value(planner, key, 'Type')
            if kind is not None and not kind & 0x3:
                warnings.append('%s is a Win32 service (Type 0x%x) in the NIC driver\'s dependencies; Windows cannot '
                                'start it at boot, so it was left alone' % (name, kind))
                continue
            _set_start_boot(planner, key)
            if name in boot_services or fold(name) in [fold(s) for s in boot_services]:
                _or_dword(planner, key, 'BootFlags', CM_SERVICE_NETWORK_BOOT_LOAD)
            if name not in services_started:
                services_started.append(name)
        for name in NETWORK_STACK:
            key = _services(cs) + (name,)
            if not planner.key_exists(key):
                if name == 'iScsiPrt':
                    raise BootError('%s\\Services\\iScsiPrt does not exist: this Windows has no Microsoft iSCSI '
                                    'initiator (Windows XP / Server 2003 need the Microsoft iSCSI Software Initiator '
                                    '2.08 installed first)' % cs)
                raise BootError('%s\\Services\\%s does not exist; this does not look like a complete Windows SYSTEM '
                                'hive' % (cs, name))
            _set_start_boot(planner, key)
            if name not in services_started:
                services_started.append(name)
        for name in OPTIONAL_STACK:
            key = _services(cs) + (name,)
            if planner.key_exists(key):
                _set_start_boot(planner, key)
        control = (cs, 'Control')
        planner.ensure_value(_services(cs) + ('Tcpip', 'Parameters'), Value.dword('DisableDhcpMediaSense', 1))
        planner.ensure_value(control + ('Session Manager', 'Memory Management'),
                             Value.dword('DisablePagingExecutive', 1))
        if options.boot_driver_flags:
            _or_dword(planner, control, 'BootDriverFlags', CM_SERVICE_NETWORK_BOOT_LOAD)
        ndi = control + ('Network', NETSERVICE_CLASS.lower(), WFP_LWF, 'Ndi')
        if options.wfp_filter_optional and planner.key_exists(ndi) and \
                dword_value(planner, ndi, 'FilterRunType') not in (None, 2):
            planner.ensure_value(ndi, Value.dword('FilterRunType', 2))
        pnp = control + ('PnP',)
        for name in ('DisableCDDB', 'DontStartRawDevices'):
            current = dword_value(planner, pnp, name) if planner.key_exists(pnp) else None
            if current:
                if options.reset_device_policy:
                    planner.ensure_value(pnp, Value.dword(name, 0))
                    warnings.append('%s\\Control\\PnP\\%s was %d (a device installation restriction Group Policy): '
                                    'reset to 0, or Windows ignores the boot NIC and stops with 0x7B. The policy will '
                                    'set it again at the next policy refresh unless it is changed too (KB 2773300)'
                                    % (cs, name, current))
                else:
                    warnings.append('%s\\Control\\PnP\\%s is %d: Windows will ignore the Critical Device Database'
                                    % (cs, name, current))
        if options.auto_reboot is not None:
            planner.ensure_value(control + ('CrashControl',), Value.dword('AutoReboot', 1 if options.auto_reboot else 0))
        if options.nic_power_management is False:
            for nic in nics:
                for class_key in nic_class_keys(planner, cs, nic):
                    planner.ensure_value(class_key, Value.dword('PnPCapabilities', PNP_CAPABILITIES_NO_POWER_OFF))
    if options.boot_driver_flags:
        hwconfig = current_hardware_config(planner)
        if hwconfig:
            _or_dword(planner, hwconfig, 'BootDriverFlags', CM_SERVICE_NETWORK_BOOT_LOAD)
    files = [(src, rel) for staging in stagings for src, rel in staging.file_ops()]
    first_boot = None
    if stagings and options.first_boot:
        try:
            driverstore.plan_first_boot(planner, system)
        except RegistryError as exc:
            raise BootError(str(exc))
        files.append((driverstore.first_boot_script(stagings, os_info.build), driverstore.FIRST_BOOT_SCRIPT))
        first_boot = {'command': driverstore.first_boot_command(), 'script': driverstore.FIRST_BOOT_SCRIPT,
                      'log': driverstore.FIRST_BOOT_LOG}
    return Conversion(sets, result_nics, services_started, warnings, stagings, files, first_boot)


def system_root(software):
    """The Windows folder as Windows names it (SOFTWARE ...\\CurrentVersion\\SystemRoot), for paths Windows records."""
    if software is not None:
        value = software.get_value(('Microsoft', 'Windows NT', 'CurrentVersion'), 'SystemRoot')
        text = value.decoded() if value is not None else None
        if isinstance(text, str) and re.match(r'^[A-Za-z]:\\', text):
            return text
    return 'C:\\Windows'


def convert(hive, planner, drivers_db, drivers_planner, software, nics, packages, options, lenient=False,
            templates=None, view=None):
    """state=present on SYSTEM (and DRIVERS): the drivers of ``nics``, every change planned, the record of
    originals, the record of staged packages and of the first-boot step. Returns (OsInfo, {nic id: Driver},
    Conversion).

    ``view`` reads the installation's files (images); without one, the caller copies the files (files_to_copy, or
    a running host's pnputil when ``options.stage_with`` says so).
    """
    control_set = hive.control_sets('current')[0]
    os_info = detect_os(hive, control_set, software)
    drivers, warnings = resolve_drivers(hive, control_set, os_info, nics, packages, lenient, templates,
                                        drivers_db=drivers_db)
    # SystemRoot: only for what staging records (a running host's pnputil stages by itself)
    root = system_root(software) if os_info.family == 'ddb' and options.stage_with is None else None
    conversion = plan_iscsi_boot(hive, planner, os_info, nics, drivers, options, drivers_planner, view,
                                 system_root=root or 'C:\\Windows')
    record_originals(planner, list(planner.plan.ops))
    if drivers_planner is not None and drivers_planner.plan.ops:
        record_originals(drivers_planner, list(drivers_planner.plan.ops))
    for staging in conversion.stagings:
        for path, value in driverstore.state_records(STATE_KEY, staging, view):
            planner.ensure_value(path, value)
    if conversion.first_boot:
        planner.ensure_value(STATE_KEY, Value.multi_sz('Files', [driverstore.FIRST_BOOT_SCRIPT]))
    conversion.warnings = warnings + conversion.warnings
    if conversion.stagings and drivers_planner is None:
        conversion.warnings.append(
            'the DRIVERS hive was not given: the package was recorded in SYSTEM only, and its DriverStore folder, '
            'published INF and catalog (files_to_copy) are not in the installation. Give drivers_hive, or use the '
            'image modules, to stage it completely')
    if view is None and options.stage_with is None:
        for entry in conversion.nics:
            if entry.service_created:
                conversion.warnings.append(
                    'service %s was created from its driver package: its files (%s) must be copied into the '
                    'installation too (the image modules do that)' % (entry.driver.service, ', '.join(
                        f['name'] for f in entry.driver.files or []) or 'see files'))
    return os_info, drivers, conversion


class Undo(object):
    """The planned undo of one installation (state=absent): how many changes are taken back, the staged packages
    removed and kept (Windows has made them its own since), and the files staging wrote that go too."""

    def __init__(self, restored, warnings, packages_kept, packages_removed, removals):
        self.restored = restored
        self.warnings = warnings
        self.packages_kept = packages_kept
        self.packages_removed = packages_removed
        self.removals = removals        # paths under the Windows folder

    def as_dict(self):
        return {'restored': self.restored, 'packages_kept': self.packages_kept,
                'packages_removed': self.packages_removed}


def undo(hive, planner, drivers_db, drivers_planner, control_set, view):
    """state=absent on SYSTEM (and DRIVERS): keep what Windows has made its own since, take back the rest."""
    staged = driverstore.staged_packages(hive, STATE_KEY)
    kept, removed, files = [], [], []
    for package in staged:
        why = driverstore.adopted(package, hive, drivers_db, control_set, view)
        if why:
            kept.append(dict(package, reason=why))
        else:
            removed.append(package)
            files.extend(package['files'])
    first = hive.get_value(STATE_KEY, 'Files') if hive.key_exists(STATE_KEY) else None
    files.extend(first.decoded() if first is not None else [])
    keep = driverstore.keep_predicate(kept) if kept else None
    if kept:
        services = _package_services(hive, control_set, kept)
        base = keep

        def keep(path, name=None):
            folded = tuple(fold(p) for p in path)
            return base(path, name) or any(folded[:len(s)] == s for s in services)
    restored = plan_restore(hive, planner, keep)
    if drivers_planner is not None:
        restored += plan_restore(drivers_db, drivers_planner, keep)
    return Undo(restored, ['driver package %s (%s) stays: %s' % (p['inf'], p['package'], p['reason']) for p in kept],
                [p['inf'] for p in kept], [p['inf'] for p in removed], files)


def _package_services(hive, control_set, packages):
    """Services\\<svc> keys whose Owners name one of ``packages``' INFs (the service came with the package)."""
    infs = set(fold(p['inf']) for p in packages)
    out = []
    base = (control_set, 'Services')
    for name in hive.subkeys(base) if hive.key_exists(base) else []:
        owners = hive.get_value(base + (name,), 'Owners')
        data = owners.decoded() if owners is not None else []
        if isinstance(data, list) and any(fold(o) in infs for o in data):
            out.append(tuple(fold(p) for p in base + (name,)))
    return out
