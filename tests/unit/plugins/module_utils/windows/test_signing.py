# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signatures (windows/signing.py): a PE image's certificate table (driver signatures, and the Authenticode
signatures of EFI binaries for Secure Boot), and what a catalog says of its signer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

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


def with_certificates(image, entries):
    """``image`` (pe_stub64, unsigned) with a certificate table of WIN_CERTIFICATE ``entries`` (revision, type,
    content), each padded to 8 bytes as the PE/COFF specification says."""
    import struct
    table = b''
    for revision, ctype, content in entries:
        entry = struct.pack('<IHH', 8 + len(content), revision, ctype) + content
        table += entry + b'\0' * (-len(entry) % 8)
    body = bytearray(image)
    struct.pack_into('<II', body, 0x80 + 24 + 112 + 8 * 4, len(body), len(table))
    return bytes(body) + table


def test_pe_authenticode_reads_each_certificate_entry():
    unsigned = pe_stub64(signed=False)
    info = signing.pe_authenticode(unsigned)
    assert info == {'machine': 'amd64', 'subsystem': 'native', 'sections': ['.text'], 'sbat': False,
                    'signed': False, 'certificates': [], 'problems': []}
    two = with_certificates(unsigned, [(0x0200, 0x0002, make_catalog('Contoso Boot')),
                                       (0x0200, 0x0002, make_catalog('Fabrikam Boot'))])
    info = signing.pe_authenticode(two)
    assert info['signed'] and info['problems'] == []
    assert [(c['type'], c['signer'], c['issuer']) for c in info['certificates']] == [
        ('PKCS_SIGNED_DATA', 'Contoso Boot', 'Contoso Boot'), ('PKCS_SIGNED_DATA', 'Fabrikam Boot', 'Fabrikam Boot')]


@pytest.mark.parametrize('entries, problem', [
    ([(0x0200, 0x0001, b'x509 bytes')], 'type X509, not an Authenticode signature'),
    ([(0x0100, 0x0002, b'old')], 'revision 0x0100'),
    ([(0x0200, 0x0002, b'\x30\x03\x02\x01\x00')], 'not a PKCS #7 SignedData'),
])
def test_pe_authenticode_other_entries_do_not_count(entries, problem):
    info = signing.pe_authenticode(with_certificates(pe_stub64(signed=False), entries))
    assert not info['signed'] and len(info['certificates']) == 1
    assert problem in info['problems'][0]


def test_pe_authenticode_table_outside_the_file():
    import struct
    body = bytearray(pe_stub64(signed=False))
    struct.pack_into('<II', body, 0x80 + 24 + 112 + 8 * 4, len(body) - 8, 64)
    info = signing.pe_authenticode(bytes(body))
    assert not info['signed'] and 'lies outside the file' in info['problems'][0]
    # an entry that claims more than the table holds
    body = bytearray(with_certificates(pe_stub64(signed=False), [(0x0200, 0x0002, b'12345678')]))
    struct.pack_into('<I', body, len(body) - 16, 4096)
    info = signing.pe_authenticode(bytes(body))
    assert not info['signed'] and 'beyond the table' in info['problems'][0]
    assert signing.pe_authenticode(b'not a PE') is None and signing.pe_authenticode(b'MZ' + bytes(100)) is None


DEBIAN_IPXE = '/usr/lib/ipxe/snponly.efi'
DEBIAN_SHIM = '/usr/lib/shim/shimx64.efi'
SNAKEOIL = ('/usr/share/ovmf/PkKek-1-snakeoil.key', '/usr/share/ovmf/PkKek-1-snakeoil.pem')


@pytest.mark.skipif(not all(os.path.exists(p) for p in (DEBIAN_IPXE, DEBIAN_SHIM) + SNAKEOIL)
                    or not shutil.which('sbsign'), reason='needs ipxe, shim-unsigned, ovmf and sbsigntool')
def test_pe_authenticode_of_real_efi_binaries_signed_by_sbsign_and_sign_ipxe(tmp_path):
    """Debian's iPXE and shim as shipped (unsigned; shim has SBAT), then signed with OVMF's test key by sbsign
    alone and by scripts/sign-ipxe.sh (which adds .sbat): what sbverify --list shows, read by the engine."""
    with open(DEBIAN_IPXE, 'rb') as f:
        ipxe = signing.pe_authenticode(f.read())
    assert ipxe['subsystem'] == 'efi_application' and ipxe['machine'] == 'amd64'
    assert not ipxe['signed'] and not ipxe['sbat'] and ipxe['certificates'] == []
    with open(DEBIAN_SHIM, 'rb') as f:
        shim = signing.pe_authenticode(f.read())
    assert not shim['signed'] and shim['sbat']
    key = str(tmp_path / 'key.pem')
    subprocess.run(['openssl', 'rsa', '-in', SNAKEOIL[0], '-passin', 'pass:snakeoil', '-out', key], check=True,
                   capture_output=True)
    plain = str(tmp_path / 'plain.efi')
    subprocess.run(['sbsign', '--key', key, '--cert', SNAKEOIL[1], '--output', plain, DEBIAN_IPXE], check=True,
                   capture_output=True)
    with open(plain, 'rb') as f:
        info = signing.pe_authenticode(f.read())
    # Debian's test certificate has no common name: its organisation tells it
    assert info['signed'] and not info['sbat'] and info['problems'] == []
    assert [(c['revision'], c['type'], c['signer'], c['issuer']) for c in info['certificates']] == [
        (0x0200, 'PKCS_SIGNED_DATA', 'SnakeOil', 'SnakeOil')]
    out = str(tmp_path / 'ipxe.efi')
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', '..', 'scripts',
                          'sign-ipxe.sh')
    res = subprocess.run([script, '--key', SNAKEOIL[0], '--passin', 'pass:snakeoil', '--cert', SNAKEOIL[1],
                          DEBIAN_IPXE, out], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    with open(out, 'rb') as f:
        info = signing.pe_authenticode(f.read())
    assert info['signed'] and info['sbat'] and info['sections'][-1] == '.sbat'
    # a wrong password and a missing file fail
    res = subprocess.run([script, '--key', SNAKEOIL[0], '--passin', 'pass:wrong', '--cert', SNAKEOIL[1],
                          DEBIAN_IPXE, out + '2'], capture_output=True, text=True, check=False)
    assert res.returncode != 0 and 'cannot decrypt' in res.stderr and not os.path.exists(out + '2')
