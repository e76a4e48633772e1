# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the plugins' unit tests (the engine's own are in module_utils/conftest.py). Nothing here imports
ansible.plugins: ansible-test runs the module_utils tests below without it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest.mock import MagicMock

import pytest


@pytest.fixture
def make_action():
    """Factory: ``make_action(ActionModule class, args, connection=None, check_mode=False)``, an action plugin object
    for a task with ``args`` (the ansible.windows unit-test pattern: a mocked task, a templar that returns what it is
    given)."""
    def make(plugin, args, connection=None, check_mode=False):
        task = MagicMock()
        task.args = args
        task.async_val = 0
        task.check_mode = check_mode
        templar = MagicMock()
        templar.template = lambda value: value
        return plugin(task, connection or MagicMock(), MagicMock(), loader=None, templar=templar,
                      shared_loader_obj=None)
    return make
