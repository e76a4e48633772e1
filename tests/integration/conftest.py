# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the integration tests share two xdist workers (scripts/run-tests.sh: --dist loadgroup --no-loadscope-reorder).

A test file stays on one worker (its module-scoped servers, namespaces and appliances are built once) unless its
tests name xdist groups of their own: test_image.py splits its libguestfs runs into three groups, because as one
file it alone outlasted everything else. Groups are handed out longest first, so the two workers end together."""

from __future__ import absolute_import, division, print_function

import pytest

# Worker seconds per group on these machines (pytest --durations, two workers busy); unknown groups count as short.
SECONDS = {
    'test_fleet_boot': 240, 'test_secure_boot': 210, 'test_boot_chain': 200, 'image-convert': 170,
    'fleet-job': 150, 'test_boot_server': 130, 'image-check': 110, 'image-kill': 95, 'image-concurrent': 90,
    'test_offline_targets': 70, 'test_ipxe_discovery': 60, 'test_concurrency': 35, 'test_win_live': 25,
    'test_boot_server_lio': 15,
}


def _group(item):
    for mark in item.iter_markers('xdist_group'):
        return mark.args[0] if mark.args else mark.kwargs.get('name', 'default')
    return None


def pytest_collection_modifyitems(items):
    for item in items:
        if _group(item) is None:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__.rsplit('.', 1)[-1]))
    items.sort(key=lambda item: -SECONDS.get(_group(item), 0))
