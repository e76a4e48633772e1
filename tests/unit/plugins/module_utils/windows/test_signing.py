# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signatures (windows/signing.py): a PE image's certificate table, and what a catalog says of its signer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils.windows import signing

pytest.importorskip('cryptography')

from ansible_collections.sanboot.windows.tests.helpers import make_catalog, pe_stub64  # noqa: E402


def test_pe_certificate_table_and_catalog_reading():
    assert signing.pe_signature(pe_stub64(signed=True)) == {'machine': 'amd64', 'signed': True}
    assert signing.pe_signature(pe_stub64(signed=False)) == {'machine': 'amd64', 'signed': False}
    assert signing.pe_signature(b'MZ' + bytes(100)) is None and signing.pe_signature(b'not a PE') is None
    info = signing.catalog_info(make_catalog('Contoso Drivers', '123_456_789'))
    assert info['signer'] == 'Contoso Drivers' and info['submission_id'] == '123_456_789'
    assert not info['microsoft'] and signing.signer_score(info) == signing.SIGNERSCORE_AUTHENTICODE
    assert signing.catalog_info(b'\x30\x03\x02\x01\x00') is None and signing.catalog_info(b'') is None
