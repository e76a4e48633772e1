# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated hosts the unit tests of the live back-end and the live jobs start, and what they compare them with.

A host is a fixture Windows: (SYSTEM hive, SOFTWARE hive or None, version, build); Windows 8 and later also get
the DRIVERS hive of the same installation (tests/fixtures/README.md) as their HKLM\\DRIVERS."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from ansible_collections.sanboot.windows.plugins.module_utils.backends import live
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
from ansible_collections.sanboot.windows.tests.helpers import FIXTURES, dump_hive, unpacked_hive
from ansible_collections.sanboot.windows.tests.winrm_endpoint.machine import Machine
from ansible_collections.sanboot.windows.tests.winrm_endpoint.server import Endpoint

PASSWORD = 'S3cret-pa55!'
WIN7 = ('win7-sp1-x86.SYSTEM', 'phony-win7-32.SOFTWARE', '6.1', 7601)
WIN81 = ('win81-x64-dirty.SYSTEM', None, '6.3', 9600)
WIN10 = ('win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE', '10.0', 17763)
DRIVERS_OF = {'win81-x64-dirty.SYSTEM': 'win81-x64.DRIVERS', 'win10-1903-x64-dirty.SYSTEM': 'win10-1903-x64.DRIVERS'}


def start(root, fixture, prepare=None, endpoint_args=None, password=PASSWORD, **machine_args):
    """(machine, running endpoint) of ``fixture`` in the folder ``root``; ``prepare(system hive path)`` edits the
    host's SYSTEM hive first. The caller stops the endpoint."""
    system, software, version, build = fixture
    if system in DRIVERS_OF:
        machine_args.setdefault('drivers_hive', unpacked_hive(DRIVERS_OF[system]))
    machine = Machine(str(root), unpacked_hive(system), unpacked_hive(software) if software else None,
                      version=version, build=build, **machine_args)
    if prepare:
        prepare(machine.system)
    return machine, Endpoint(machine, password=password, **(endpoint_args or {})).start()


def settings(endpoint, password=PASSWORD, **kwargs):
    """The live back-end's Settings for an emulated host (plain HTTP, basic authentication)."""
    return live.Settings('127.0.0.1', endpoint.port, 'Administrator', password, scheme='http', transport='basic',
                         **kwargs)


_ORIGINALS = {}


def original(fixture):
    """The dump of an untouched fixture SYSTEM hive (computed once)."""
    if fixture[0] not in _ORIGINALS:
        _ORIGINALS[fixture[0]] = dump_hive(unpacked_hive(fixture[0]))
    return _ORIGINALS[fixture[0]]


def offline(tmp_path, fixture, params, prepare=None, drivers=None):
    """The same iscsi_boot task by the offline job on a copy of the whole fixture hive: (the hive's dump, the
    result). Windows 8+: with the fixture's DRIVERS hive, or ``drivers`` (the emulated host's, after its pnputil
    staged a package: the job then copies Windows' records, as the live path does)."""
    system, software = fixture[0], fixture[1]
    copy = str(tmp_path / ('offline-%s-%d' % (system, len(os.listdir(str(tmp_path))))))
    shutil.copyfile(unpacked_hive(system), copy)
    os.chmod(copy, 0o644)
    if prepare:
        prepare(copy)
    drivers_copy = None
    if drivers or system in DRIVERS_OF:
        drivers_copy = copy + '.DRIVERS'
        shutil.copyfile(drivers or unpacked_hive(DRIVERS_OF[system]), drivers_copy)
        os.chmod(drivers_copy, 0o644)
    args = dict(params, hive=copy, software_hive=unpacked_hive(software) if software else None, backup=False,
                allow_dirty=True, drivers_hive=drivers_copy)
    result = iscsi_boot.run_iscsi_boot(args, check_mode=False)
    return dump_hive(copy), result


def temp_files(machine):
    """The files in the host's %SystemRoot%\\Temp."""
    return sorted(os.listdir(os.path.join(machine.fs, 'c', 'windows', 'temp')))


def netkvm_package(tmp_path, binary=None):
    """A netkvm driver package folder (virtio-win's template INF, ``binary`` as netkvm.sys, a stand-in catalog)."""
    folder = tmp_path / 'netkvm'
    if not folder.exists():
        folder.mkdir()
        shutil.copy(os.path.join(FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'), str(folder))
    (folder / 'netkvm.sys').write_bytes(binary if binary is not None else b'MZ' + b'\x90' * 40000)
    (folder / 'netkvm.cat').write_bytes(b'catalog')     # the INF names it: no package is staged without it
    return str(folder)
