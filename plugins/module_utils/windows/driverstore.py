# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Staging a driver package into an offline Windows 8+ the way offline servicing (DISM /Add-Driver) does, the
first-boot step that lets Windows finish the installation, and what ``state: absent`` may take back.

The stage after inf/select.py (docs/architecture.md). What it writes, and on what each step rests, is in
docs/how-it-works.md, section 4: the package folder under System32\\DriverStore\\FileRepository, the INF published as
INF\\oemN.inf, the catalog (also as CatRoot\\{F750E6C3-...}\\oemN.cat), the DRIVERS and SYSTEM DriverDatabase records
(ddb.compose_package), and the files the install section copies to fixed folders (System32\\drivers...).

Paths here are relative to the Windows folder, with backslashes. ``view`` is an optional read-only look at the
installation's files (images): ``exists(path)``, ``read(path)`` (bytes or None) and ``listdir(path)``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import os
import re
import struct

from ansible_collections.sanboot.windows.plugins.module_utils.windows import ddb, signing
from ansible_collections.sanboot.windows.plugins.module_utils.inf.copyfiles import DIRID_DRIVER_STORE
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    REG_DWORD, RegistryError, Value, fold,
)

STORE = 'System32\\DriverStore\\FileRepository'
CATROOT = 'System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}'
FIRST_BOOT_DIR = 'sanboot'
FIRST_BOOT_SCRIPT = FIRST_BOOT_DIR + '\\firstboot.cmd'
FIRST_BOOT_LOG = FIRST_BOOT_DIR + '\\firstboot.log'
SETUP = ('Setup',)
# Windows 10 1607 (build 14393) has pnputil /add-driver; older Windows 8+ have pnputil -i -a.
PNPUTIL_ADD_DRIVER_BUILD = 14393
# The StatusFlags Windows wrote for freshly added third-party packages in distrobuilder's records (netkvm, viostor,
# vioscsi) and for two of the five in the Windows 10 fixture; no rule for the other values is known.
STATUS_FLAGS = 0x12
STATE_PACKAGES = 'packages'


class StagingError(RegistryError):
    pass


def import_time():
    """When the package is imported (ImportDate, UpdateDate): now, or SOURCE_DATE_EPOCH when set (the reproducible-
    builds convention: tests and image pipelines that must write the same bytes twice set it)."""
    epoch = os.environ.get('SOURCE_DATE_EPOCH')
    if epoch and epoch.strip().isdigit():
        return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=int(epoch))
    return datetime.datetime.utcnow()


def _read_file(path):
    with open(path, 'rb') as f:
        return f.read()


def win_path(*parts):
    return '\\'.join(p.strip('\\') for p in parts if p)


# ---------------------------------------------------------------------------------------------------------
# The package: its files, its name in the store

class Staging(object):
    """One package to stage: where its files go, under which names, with which records."""

    def __init__(self, driver, arch):
        self.driver = driver                 # inf.InfDriver for the target
        self.inf_path = driver.path
        self.package_dir = os.path.dirname(os.path.abspath(driver.path))
        self.arch = arch
        self.label = None                    # <inf>_<arch>_<16 hex>: the FileRepository folder and record name
        self.oem_inf = None                  # oemN.inf
        self.store_files = []                # [(local path, path under the package folder)]
        self.reflected = []                  # [(local path, path under the Windows folder)]: DIRID 10/11/12...
        self.catalog = None                  # catalog info (signing.catalog_info) or None
        self.catalog_path = None
        self.warnings = []
        self.header = {}

    @property
    def store_dir(self):
        return win_path(STORE, self.label)

    def file_ops(self):
        """[(local source, path under the Windows folder)] of every file staging writes."""
        ops = [(src, win_path(self.store_dir, rel)) for src, rel in self.store_files]
        ops.append((self.inf_path, win_path('INF', self.oem_inf)))
        if self.catalog_path:
            ops.append((self.catalog_path, win_path(CATROOT, self.oem_inf[:-4] + '.cat')))
        ops.extend(self.reflected)
        return ops

    def as_dict(self):
        return {'inf': self.driver.name, 'published_inf': self.oem_inf, 'package': self.label,
                'folder': self.store_dir, 'catalog': self.driver.catalog_file,
                'signer': (self.catalog or {}).get('signer'),
                'files': [rel for _src, rel in self.file_ops()]}


def collect_files(driver):
    """Staging's file lists: the INF, its catalog and each file the target's install sections copy, at the place
    SourceDisksNames/SourceDisksFiles give it in the package; and the copies Windows makes at installation to folders
    with a fixed place (DIRID 13, run from the DriverStore, has none: the store copy is the file)."""
    staging = Staging(driver, driver.target.arch)
    staging.store_files.append((driver.path, driver.name))
    missing = []
    if driver.catalog_file:
        found = driver.dir_cache.find(staging.package_dir, [driver.catalog_file])
        if found is None:
            missing.append(driver.catalog_file)
        else:
            staging.catalog_path = found
            staging.store_files.append((found, driver.catalog_file))
    seen = set([fold(driver.name)] + ([fold(driver.catalog_file)] if driver.catalog_file else []))
    for entry in driver.files:
        if entry.origin is not None:
            continue        # from an included system INF: already in Windows
        source = entry.found_at or entry.source_path
        if not entry.present and not entry.found_at:
            missing.append('/'.join(entry.source_parts or [entry.source]))
            continue
        rel = '\\'.join(entry.source_parts or [entry.source])
        if fold(rel) not in seen:
            seen.add(fold(rel))
            staging.store_files.append((source, rel))
        if entry.dirid != DIRID_DRIVER_STORE and entry.target:
            staging.reflected.append((source, entry.target))
    if missing:
        raise StagingError('%s cannot be staged: the package lacks %s, which the INF names (Windows refuses to stage a '
                           'package with a missing file). Nothing was changed.'
                           % (driver.name, ', '.join(sorted(set(missing)))))
    return staging


def package_label(staging, inf_bytes, catalog_bytes):
    """``<inf>_<arch>_<16 hex>``: Windows' own folder hash is not documented and could not be reproduced, so the
    digits are the first 16 of a SHA-256 over the INF and the catalog (docs/how-it-works.md says why this is safe)."""
    digest = hashlib.sha256(b'sanboot.windows package\0' + inf_bytes + b'\0' + (catalog_bytes or b'')).hexdigest()
    return '%s_%s_%s' % (staging.driver.name.lower(), staging.arch, digest[:16])


def label_of(driver):
    """The package name staging gives ``driver`` (reads the INF and its catalog)."""
    staging = collect_files(driver)
    return package_label(staging, _read_file(driver.path),
                         _read_file(staging.catalog_path) if staging.catalog_path else None)


def published_oem_infs(view):
    """{number: file name} of INF\\oem*.inf in the installation (needs a view)."""
    out = {}
    for name in (view.listdir('INF') if view is not None else []):
        number = ddb.oem_number(name)
        if number is not None:
            out[number] = name
    return out


def earlier_oem(label, planners):
    """The oemN.inf an earlier (maybe interrupted) staging of the same package used: staging again completes it."""
    for planner in planners:
        if planner is None:
            continue
        key = ddb.PACKAGES + (label,)
        value = planner.get_value(key, '') if planner.key_exists(key) else None
        if value is not None and ddb.oem_number(value.decoded() or '') is not None:
            return value.decoded()
        for inf in planner.subkeys(ddb.INF_FILES) if planner.key_exists(ddb.INF_FILES) else []:
            active = planner.get_value(ddb.INF_FILES + (inf,), 'Active') if ddb.oem_number(inf) is not None \
                else None
            if active is not None and fold(active.decoded() or '') == fold(label):
                return inf
    return None


def earlier_import(label, planners):
    for planner in planners:
        key = ddb.PACKAGES + (label,)
        value = planner.get_value(key, 'ImportDate') if planner is not None and planner.key_exists(key) else None
        if value is not None and len(value.data) == 8:
            return struct.unpack('<Q', value.data)[0]
    return None


def choose_oem(planners, view, inf_bytes):
    """The oemN.inf name: an identical INF already published keeps its name (Windows compares the INF too), else the
    first N that neither database's OemInfMap nor the INF folder uses."""
    published = published_oem_infs(view)
    for number in sorted(published):
        data = view.read(win_path('INF', published[number]))
        if data == inf_bytes:
            return 'oem%d.inf' % number, True
    used = set(published)
    for planner in planners:
        used |= ddb.oem_numbers(planner)
    number = 0
    while number in used:
        number += 1
    return 'oem%d.inf' % number, False


# ---------------------------------------------------------------------------------------------------------
# Signatures

def signature_warnings(driver, staging_files, os_info, service_binary=None):
    """Warnings for boot-start drivers without an embedded signature on 64-bit Windows 8+ (the loader checks the file
    itself at boot; a catalog is read only later)."""
    warnings = []
    if (os_info.arch or 'amd64') in ('x86', 'arm'):
        return warnings
    for src, rel in staging_files:
        if not rel.lower().endswith('.sys'):
            continue
        if service_binary and os.path.basename(rel).lower() != service_binary.lower():
            continue
        info = signing.pe_signature(_read_file(src))
        if info is None:
            warnings.append('%s is not a PE file' % rel)
        elif not info['signed']:
            warnings.append('%s has no embedded signature: 64-bit Windows 8 and later load a boot-start driver only '
                            'with one (Kernel-Mode Code Signing), so Windows will not start it at boot' % rel)
    return warnings


# ---------------------------------------------------------------------------------------------------------
# Staging

def plan_stage(driver, system_planner, drivers_planner, os_info, view=None, now=None, system_root='C:\\Windows'):
    """Plan the DRIVERS and SYSTEM records of a new package and return its Staging (files still to be written).

    ``driver``: the INF reader's InfDriver of the package, for the target; ``now``: the import time (UTC).
    """
    staging = collect_files(driver)
    inf_bytes = _read_file(driver.path)
    catalog_bytes = _read_file(staging.catalog_path) if staging.catalog_path else None
    staging.label = package_label(staging, inf_bytes, catalog_bytes)
    staging.oem_inf = earlier_oem(staging.label, [system_planner, drivers_planner]) or \
        choose_oem([system_planner, drivers_planner], view, inf_bytes)[0]
    if catalog_bytes is not None:
        staging.catalog = signing.catalog_info(catalog_bytes)
        if staging.catalog is None:
            staging.warnings.append('%s is not a signed catalog (PKCS #7); SignerName and SignerScore are not written'
                                    % driver.catalog_file)
    elif (os_info.arch or 'amd64') not in ('x86', 'arm'):
        staging.warnings.append('%s names no catalog: 64-bit Windows does not install an unsigned package'
                                % driver.name)
    now = now or import_time()
    stamp = ddb.filetime(now)
    version = os_info.version or ddb.database_version(system_planner) or (10, 0)
    windows10 = version >= (10, 0)
    header = {
        'OemPath': win_path(system_root, staging.store_dir),
        'StatusFlags': STATUS_FLAGS,
        'FileSize': sum(os.path.getsize(src) for src, _rel in staging.store_files),
    }
    if windows10:
        # An earlier, interrupted staging of the same package keeps its import time (a re-run only completes it).
        header['ImportDate'] = earlier_import(staging.label, [system_planner, drivers_planner]) or stamp
    if staging.catalog and staging.catalog.get('signer'):
        header['SignerName'] = staging.catalog['signer']
        score = signing.signer_score(staging.catalog)
        if score is not None:
            header['SignerScore'] = score
        if windows10 and staging.catalog.get('submission_id'):
            header['SubmissionId'] = staging.catalog['submission_id']
    staging.header = header
    number = ddb.oem_number(staging.oem_inf)
    for planner in (drivers_planner, system_planner):
        if planner is None:
            continue        # a hive file without its DRIVERS hive: SYSTEM only (jobs/iscsi_boot.py warns)
        records = ddb.compose_package(driver, staging.oem_inf, staging.label, ddb.arch_code(planner, os_info.arch),
                                      header, with_config_scope=windows10)
        ddb.plan_records(planner, records)
        ddb.mark_oem(planner, number, stamp)
    return staging


def service_values(staging, svc):
    """Values Windows writes on a service installed from this package besides the INF's own: ``Owners`` (the
    published INF) and ``DisplayName`` as an indirect string (``@oemN.inf,%strkey%;text``, as in the fixtures)."""
    out = [Value.multi_sz('Owners', [staging.oem_inf])]
    raw = (getattr(svc, 'raw_fields', {}) or {}).get('DisplayName') or ''
    match = re.match(r'^%([^%]+)%$', raw.strip().strip('"'))
    if match and svc.fields.get('DisplayName'):
        out.append(Value.sz('DisplayName', '@%s,%%%s%%;%s' % (staging.oem_inf, match.group(1),
                                                              svc.fields['DisplayName'])))
    if svc.binary_dirid == DIRID_DRIVER_STORE:
        out.append(Value.expand_sz('ImagePath', '\\SystemRoot\\' + win_path(staging.store_dir, svc.binary_file)))
    return out


# ---------------------------------------------------------------------------------------------------------
# The first-boot step: HKLM\SYSTEM\Setup CmdLine (Microsoft KB 939857) runs a command once, as SYSTEM, before logon

def first_boot_script(stagings, build):
    """The first-boot script (CRLF): reset the Setup values first (so it runs once whatever happens), let Windows
    install each staged package with pnputil, log everything, then delete itself."""
    lines = [
        '@echo off',
        'rem sanboot.windows first-boot step (see its docs/how-it-works.md): Windows installs the driver packages',
        'rem that were staged offline. Run once, as SYSTEM, from HKLM\\SYSTEM\\Setup\\CmdLine; then it removes itself.',
        'setlocal',
        'set "LOG=%SystemRoot%\\' + FIRST_BOOT_LOG + '"',
        '>>"%LOG%" echo %DATE% %TIME% sanboot.windows first boot: installing driver packages staged offline',
        'reg add "HKLM\\SYSTEM\\Setup" /v SetupType /t REG_DWORD /d 0 /f >>"%LOG%" 2>&1',
        'reg add "HKLM\\SYSTEM\\Setup" /v CmdLine /t REG_SZ /d "" /f >>"%LOG%" 2>&1',
    ]
    for staging in stagings:
        inf = '%SystemRoot%\\' + win_path(staging.store_dir, staging.driver.name)
        if build is not None and build >= PNPUTIL_ADD_DRIVER_BUILD:
            lines.append('pnputil /add-driver "%s" /install >>"%%LOG%%" 2>&1' % inf)
        elif build is not None:
            lines.append('pnputil -i -a "%s" >>"%%LOG%%" 2>&1' % inf)
        else:
            # Build unknown: /add-driver (Windows 10 1607 and later), else the older syntax.
            lines.append('pnputil /add-driver "%s" /install >>"%%LOG%%" 2>&1 || pnputil -i -a "%s" >>"%%LOG%%" 2>&1'
                         % (inf, inf))
        lines.append('>>"%%LOG%%" echo %s (%s): pnputil exit code %%ERRORLEVEL%%' % (staging.oem_inf, staging.label))
    lines += [
        '>>"%LOG%" echo %DATE% %TIME% done; this script removes itself',
        '(goto) 2>nul & del "%~f0"',
    ]
    return ('\r\n'.join(lines) + '\r\n').encode('ascii')


def first_boot_command():
    return 'cmd.exe /c "%SystemRoot%\\' + FIRST_BOOT_SCRIPT + '"'


def plan_first_boot(planner, reader):
    """Plan HKLM\\SYSTEM\\Setup CmdLine + SetupType 2. Refuses when Windows has its own setup step pending."""
    command = first_boot_command()
    setup_type = reader.get_value(SETUP, 'SetupType') if reader.key_exists(SETUP) else None
    cmdline = reader.get_value(SETUP, 'CmdLine') if reader.key_exists(SETUP) else None
    current = cmdline.decoded() if cmdline is not None else ''
    current = current if isinstance(current, str) else ''
    kind = setup_type.decoded() if setup_type is not None and setup_type.type == REG_DWORD else 0
    if current.strip() and current.strip().lower() != command.lower():
        raise StagingError('HKLM\\SYSTEM\\Setup\\CmdLine is %r (SetupType %r): Windows has a setup step of its own '
                           'pending (sysprep, OOBE, an upgrade); the first-boot step would replace it. Boot the '
                           'installation once, or set first_boot: false and install the package on the running host '
                           '(pnputil /add-driver ... /install)' % (current, kind))
    if kind not in (0, 2) or (kind == 2 and not current.strip()):
        raise StagingError('HKLM\\SYSTEM\\Setup\\SetupType is %r: Windows is in the middle of setup; set first_boot: '
                           'false' % kind)
    planner.ensure_value(SETUP, Value.sz('CmdLine', command))
    planner.ensure_value(SETUP, Value.dword('SetupType', 2))


def first_boot_pending(reader):
    cmdline = reader.get_value(SETUP, 'CmdLine') if reader.key_exists(SETUP) else None
    text = cmdline.decoded() if cmdline is not None else ''
    return isinstance(text, str) and text.strip().lower() == first_boot_command().lower() and \
        (reader.get_value(SETUP, 'SetupType') or Value.dword('SetupType', 0)).decoded() == 2


# ---------------------------------------------------------------------------------------------------------
# Remembering what was staged, and telling whether Windows has since adopted it

def state_records(state_key, staging, view=None):
    """Values under the state record that say what was staged (read back by ``state: absent``): the files it writes
    that were not there before (an identical file already in place is Windows', not ours)."""
    key = state_key + (STATE_PACKAGES, staging.oem_inf)
    files = [rel for _src, rel in staging.file_ops() if view is None or not view.exists(rel)]
    out = [(key, Value.sz('Package', staging.label)), (key, Value.multi_sz('Files', files))]
    if staging.header.get('ImportDate') is not None:
        out.append((key, Value.binary('ImportDate', struct.pack('<Q', staging.header['ImportDate']))))
    return out


def staged_packages(reader, state_key):
    """[{'inf', 'package', 'files', 'import_date'}] recorded in a hive's state."""
    base = state_key + (STATE_PACKAGES,)
    out = []
    for inf in reader.subkeys(base) if reader.key_exists(base) else []:
        key = base + (inf,)
        label = reader.get_value(key, 'Package')
        files = reader.get_value(key, 'Files')
        stamp = reader.get_value(key, 'ImportDate')
        out.append({'inf': inf, 'package': label.decoded() if label is not None else None,
                    'files': files.decoded() if files is not None else [],
                    'import_date': stamp.data if stamp is not None else None})
    return out


def adopted(package, system, drivers, control_set, view=None):
    """Why Windows has made a staged package its own since (a reason), or None.

    Windows changes the records when it installs a package for real: another package becomes Active for the
    published INF, it imports the package again (a new ImportDate), a device's class key names the INF (installed on
    a device), or it has compiled the INF (INF\\oemN.pnf, written when Windows reads an INF).
    """
    inf, label = package['inf'], package['package']
    for name, reader in (('SYSTEM', system), ('DRIVERS', drivers)):
        if reader is None:
            continue
        active = reader.get_value(ddb.INF_FILES + (inf,), 'Active') if reader.key_exists(ddb.INF_FILES + (inf,)) \
            else None
        if active is not None and fold(active.decoded() or '') != fold(label):
            return '%s: DriverInfFiles\\%s is now %s' % (name, inf, active.decoded())
        key = ddb.PACKAGES + (label,)
        stamp = reader.get_value(key, 'ImportDate') if reader.key_exists(key) else None
        if stamp is not None and package['import_date'] is not None and stamp.data != package['import_date']:
            return '%s: Windows imported %s again' % (name, label)
    classes = (control_set, 'Control', 'Class')
    for guid in system.subkeys(classes) if system.key_exists(classes) else []:
        for instance in system.subkeys(classes + (guid,)):
            value = system.get_value(classes + (guid, instance), 'InfPath')
            if value is not None and fold(value.decoded() or '') == fold(inf):
                return 'a device (%s\\%s) is installed from %s' % (guid, instance, inf)
    if view is not None and view.exists(win_path('INF', inf[:-4] + '.pnf')):
        return 'Windows has compiled INF\\%s (%s.pnf)' % (inf, inf[:-4])
    return None


def keep_predicate(packages):
    """A function(path, value name or None) -> True for the records of adopted packages: restore leaves them."""
    labels = [fold(p['package']) for p in packages]
    infs = [fold(p['inf']) for p in packages]

    def keep(path, name=None):
        folded = tuple(fold(p) for p in path)
        if folded[:1] != (fold(ddb.DDB[0]),):
            return False
        if folded[1:3] and folded[1] == fold('DriverPackages') and len(folded) > 2 and folded[2] in labels:
            return True
        if folded[1:3] and folded[1] == fold('DriverInfFiles') and len(folded) > 2 and folded[2] in infs:
            return True
        if len(folded) > 1 and folded[1] == fold('DeviceIds') and name is not None and fold(name) in infs:
            return True
        return len(folded) == 1 and name is not None and fold(name) in ('OEMINFMAP', 'UPDATEDATE')
    return keep
