# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services on the boot path (windows/services.py): a driver's DependOnService closure, on the Windows 7
fixture's services."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Planner, Value
from ansible_collections.sanboot.windows.plugins.module_utils.windows import services

pytest.importorskip('hivex')

from ansible_collections.sanboot.windows.tests.helpers import unpacked_hive  # noqa: E402

CS = 'ControlSet001'


def test_the_closure_follows_depend_on_service_with_the_stored_names():
    hive = Hive(unpacked_hive('win7-sp1-x86.SYSTEM'))
    # NetBT depends on "Tdx" and "tcpip"; the hive stores them as tdx and Tcpip: the names Windows would use
    assert services.dependency_closure(hive, CS, ['netbt']) == (['NetBT', 'tdx', 'Tcpip'], [])
    assert services.dependency_closure(hive, CS, ['tcpip', 'NDIS', 'NoSuchService']) == \
        (['Tcpip', 'NDIS'], ['NoSuchService'])
    assert all(hive.key_exists((CS, 'Services', name)) for name in services.NETWORK_STACK)


def test_cycles_end_and_missing_dependencies_are_named_once():
    # depth first: B's dependencies (sanboota, ghost) come before A's Ghost, which is then the same service
    planner = Planner(Hive(unpacked_hive('win7-sp1-x86.SYSTEM')))
    planner.ensure_value((CS, 'Services', 'SanbootA'), Value.multi_sz('DependOnService', ['SanbootB', 'Ghost']))
    planner.ensure_value((CS, 'Services', 'SanbootB'), Value.multi_sz('DependOnService', ['sanboota', 'ghost', 'NDIS']))
    assert services.dependency_closure(planner, CS, ['SanbootA']) == (['SanbootA', 'SanbootB', 'NDIS'], ['ghost'])
