# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the engine's tests of several layers (tests/conftest.py has those of every test)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.sanboot.windows.tests.helpers import FIXTURES, make_driver_package


@pytest.fixture
def host(tmp_path):
    """Factory: (machine, endpoint) of an emulated Windows host (tests/winrm_endpoint/hosts.py: WIN7, WIN81, WIN10),
    ``host(fixture, prepare=None, endpoint_args=None, **machine_args)``; the endpoints stop at teardown."""
    pytest.importorskip('hivex')
    pytest.importorskip('winrm')
    from ansible_collections.sanboot.windows.tests.winrm_endpoint import hosts
    started = []

    def make(fixture, prepare=None, endpoint_args=None, **machine_args):
        root = tmp_path / ('host%d' % len(started))
        root.mkdir()
        machine, endpoint = hosts.start(root, fixture, prepare, endpoint_args, **machine_args)
        started.append(endpoint)
        return machine, endpoint

    yield make
    for endpoint in started:
        endpoint.stop()


@pytest.fixture(scope='module')
def netkvm(tmp_path_factory):
    """netkvm as virtio-win ships it for Windows 10 x64: the fixture INF built for amd64, a signed stand-in .sys and a
    catalog (a real package must have both to be staged); the package's folder."""
    pytest.importorskip('cryptography')
    return os.path.dirname(make_driver_package(str(tmp_path_factory.mktemp('netkvm')),
                                               os.path.join(FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'),
                                               {'$ARCH$': 'amd64'}, name='netkvm.inf'))
