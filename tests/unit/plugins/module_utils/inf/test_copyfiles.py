# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files of a driver package (inf/copyfiles.py): CopyFiles, DestinationDirs, SourceDisksNames/Files, DIRIDs, and
the file names a package may use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.tests.unit.plugins.module_utils.inf.infs import SRV2022, package, read, simple_driver


def test_copy_files_destinations_and_presence(tmp_path):
    install = ('[Inst]\nCopyFiles = Files, Other\nCopyFiles = @direct.dll\n'
               '[Inst.Services]\nAddService = svc, 2, Svc\n'
               '[Other]\ntarget.dll, source.dll,,0x2\n')
    extra = ('[DestinationDirs]\nOther = 11, sub\\dir\n'
             '[SourceDisksNames.amd64]\n2 = "Disk",,,\\amd64\n'
             '[SourceDisksFiles.amd64]\nsource.dll = 2, lib\n')
    text = simple_driver(install=install, extra=extra).replace('[DestinationDirs]\nDefaultDestDir = 12\n', '') \
        .replace('[DestinationDirs]\n', '[DestinationDirs]\nDefaultDestDir = 12\n')
    folder = package(tmp_path, text, files=('SVC.SYS', 'direct.dll'))
    os.makedirs(os.path.join(folder, 'AMD64', 'Lib'))
    open(os.path.join(folder, 'AMD64', 'Lib', 'Source.DLL'), 'wb').close()
    driver = inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022)
    files = dict((f.name, f) for f in driver.files)
    assert sorted(files) == ['direct.dll', 'svc.sys', 'target.dll']
    assert (files['svc.sys'].dirid, files['svc.sys'].target, files['svc.sys'].present) == \
        (12, 'System32\\drivers\\svc.sys', True)
    assert files['svc.sys'].source_path == os.path.join(folder, 'SVC.SYS')
    assert (files['target.dll'].dirid, files['target.dll'].subdir, files['target.dll'].target) == \
        (11, 'sub\\dir', 'System32\\sub\\dir\\target.dll')
    assert files['target.dll'].source_parts == ['amd64', 'lib', 'source.dll'] and files['target.dll'].present
    assert files['target.dll'].flags == 2
    assert files['direct.dll'].copy_list is None and files['direct.dll'].present


def test_missing_file_and_file_found_next_to_the_inf(tmp_path):
    extra = '[SourceDisksNames.amd64]\n1 = "Disk",,,\\amd64\n'
    text = simple_driver(extra=extra).replace('[SourceDisksNames]\n1 = "Disk",,,\n', '')
    folder = package(tmp_path, text, files=('svc.sys',))
    driver = inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022)
    entry = driver.files[0]
    assert entry.present is False and entry.found_at == os.path.join(folder, 'svc.sys')
    assert any('next to the INF' in w for w in driver.warnings)
    os.remove(os.path.join(folder, 'svc.sys'))
    driver = inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022)
    assert driver.files[0].present is False
    assert any('not in the package' in w for w in driver.warnings)


def test_default_destination_and_placeholders():
    text = simple_driver().replace('DefaultDestDir = 12', 'Files = DRIVER_DIRID')
    driver = read(text)
    assert driver.files[0].dirid == 'DRIVER_DIRID'
    assert any('DRIVER_DIRID' in w for w in driver.warnings)
    driver = read(simple_driver().replace('[DestinationDirs]\nDefaultDestDir = 12\n', ''))
    assert driver.files[0].dirid == 11


def test_numeric_source_disk_ids(tmp_path):
    text = simple_driver().replace('svc.sys = 1', 'svc.sys = 01').replace('1 = "Disk",,,', '1 = "Disk",,,sub')
    folder = package(tmp_path, text, files=())
    os.makedirs(os.path.join(folder, 'Sub'))
    open(os.path.join(folder, 'Sub', 'svc.sys'), 'wb').close()
    entry = inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022).files[0]
    assert entry.source_parts == ['sub', 'svc.sys'] and entry.present is True


def test_a_folder_with_the_file_name_is_not_the_file(tmp_path):
    folder = package(tmp_path, simple_driver(), files=())
    os.makedirs(os.path.join(folder, 'svc.sys'))
    assert inf.read_inf(os.path.join(folder, 'drv.inf'), SRV2022).files[0].present is False


# ---------------------------------------------------------------------------------------------------------
# file names that leave the package or the target folder

@pytest.mark.parametrize('name', [
    '..\\evil.sys', 'a\\..\\..\\evil.sys', '..', '...', '\\Windows\\evil.sys', '/etc/passwd', 'C:evil.sys',
    'c:\\windows\\evil.sys', 'file.sys:stream', '\\\\server\\share\\evil.sys', '//server/share/evil.sys',
    'a/../../evil.sys', 'CON', 'con.sys', 'NUL', 'nul.txt', 'COM1', 'LPT9.dll', 'AUX ', 'sub\\PRN\\x.sys',
    'wild*.sys', 'what?.sys', 'pipe|.sys', 'a<b.sys', 'CONIN$',
])
def test_unsafe_copy_file_names_are_refused(name):
    text = simple_driver().replace('[Files]\nsvc.sys\n', '[Files]\n"%s"\n' % name)
    with pytest.raises(inf.InfError, match='leaves the package or the target folder'):
        read(text)


@pytest.mark.parametrize('where,text', [
    ('source', '[Files]\nsvc.sys, ..\\..\\outside.sys\n'),
    ('direct', '[Files]\nsvc.sys\n[Inst2]\n'),
])
def test_unsafe_source_and_direct_names(where, text):
    base = simple_driver()
    if where == 'source':
        base = base.replace('[Files]\nsvc.sys\n', text)
    else:
        base = base.replace('CopyFiles = Files', 'CopyFiles = @..\\x.sys')
    with pytest.raises(inf.InfError, match='leaves the package'):
        read(base)


@pytest.mark.parametrize('replace,match', [
    (('DefaultDestDir = 12', 'DefaultDestDir = 12, ..\\..\\x'), 'sub-folder'),
    (('DefaultDestDir = 12', 'DefaultDestDir = -1, C:\\x'), 'absolute'),
    (('DefaultDestDir = 12', 'DefaultDestDir = 65535'), 'absolute'),
    (('1 = "Disk",,,', '1 = "Disk",,,..\\..\\up'), 'SourceDisksNames'),
    (('svc.sys = 1', 'svc.sys = 1, ..\\x'), 'SourceDisksFiles'),
    (('%12%\\svc.sys', '%12%\\..\\..\\evil.sys'), 'ServiceBinary'),
])
def test_unsafe_destinations_and_sources(replace, match):
    with pytest.raises(inf.InfError, match=match):
        read(simple_driver().replace(*replace))


def test_check_file_name_keeps_plain_relative_paths():
    assert inf.check_file_name('sub\\dir/file.sys', 'x') == ['sub', 'dir', 'file.sys']
    assert inf.check_file_name('.\\file.sys', 'x') == ['file.sys']
    assert inf.check_file_name('\\amd64', 'x', allow_root=True) == ['amd64']
    assert inf.check_file_name('console.sys', 'x') == ['console.sys']
    with pytest.raises(inf.InfError):
        inf.check_file_name('a\\b', 'x', allow_subdirs=False)
