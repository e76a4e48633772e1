# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image back-end (backends/image.py) without an appliance: the byte ranges it writes back with pwrite instead of
uploading a whole hive. Images themselves, through libguestfs, are tested in tests/integration/test_image.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.backends.image import BLOCK, changed_ranges


def apply(old, ranges, size):
    out = bytearray(old[:size]) + bytearray(max(0, size - len(old)))
    for offset, data in ranges:
        out[offset:offset + len(data)] = data
    return bytes(out[:size])


@pytest.mark.parametrize('seed', range(40))
def test_ranges_rebuild_the_new_file(seed):
    rng = random.Random(seed)
    old = os.urandom(rng.randint(0, 20) * BLOCK + rng.randint(0, BLOCK))
    new = bytearray(old)
    for _change in range(rng.randint(0, 6)):
        if new:
            pos = rng.randrange(len(new))
            new[pos:pos + rng.randint(1, 3 * BLOCK)] = os.urandom(rng.randint(1, 3 * BLOCK))
    new = bytes(new[:rng.randint(0, len(new))]) if rng.random() < 0.2 else bytes(new) + os.urandom(rng.randint(0, 3) * 1000)
    ranges = changed_ranges(old, new)
    assert apply(old, ranges, len(new)) == new
    assert sum(len(d) for _o, d in ranges) <= len(new)


def test_identical_files_need_no_write_and_one_block_change_writes_one_block():
    old = os.urandom(10 * BLOCK)
    assert changed_ranges(old, old) == []
    new = old[:3 * BLOCK] + bytes([old[3 * BLOCK] ^ 0xFF]) + old[3 * BLOCK + 1:]     # a byte that differs
    assert changed_ranges(old, new) == [(3 * BLOCK, new[3 * BLOCK:4 * BLOCK])]
    grown = old + b'tail'
    assert changed_ranges(old, grown) == [(10 * BLOCK, b'tail')]
