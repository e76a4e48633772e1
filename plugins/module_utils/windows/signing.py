# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a driver package's signatures say, read without Windows: the embedded signature of a PE file (.sys) and the
signer and attributes of a catalog (.cat). Nothing here verifies a signature; it reads what Windows records.

* ``pe_signature``: the PE optional header's certificate table (data directory 4, IMAGE_DIRECTORY_ENTRY_SECURITY,
  Microsoft PE/COFF specification). 64-bit Windows Vista and later load a boot-start driver only when the file itself
  carries a signature (Microsoft, "Kernel-Mode Code Signing Requirements"): a catalog is not read that early.
* ``pe_authenticode``: the same certificate table read entry by entry (WIN_CERTIFICATE: length, revision, type;
  type 0x0002 is a PKCS #7 SignedData, an Authenticode signature) with each signature's signer and issuer, and the
  PE header facts a UEFI Secure Boot chain cares about: the subsystem (10 = EFI application) and whether the image
  has an ``.sbat`` section (shim refuses images without one). UEFI firmware checks the same table (UEFI
  specification, section 32.5 "Code Definitions", and the PE/COFF Authenticode format); the ipxe role reads it to
  refuse an unsigned first stage (plugins/modules/efi_signature_info.py).
* ``catalog_info``: a catalog is a PKCS #7 SignedData whose content is a certificate trust list (szOID_CTL,
  1.3.6.1.4.1.311.10.1). Windows records the signer certificate's common name as ``SignerName``, and the CTL's
  "Submission ID" name/value attribute (1.3.6.1.4.1.311.12.2.1) as the driver package property
  ``{4da162c1-5eb1-4140-a444-5064c9814e76} 9`` (docs/how-it-works.md, section 4).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

IMAGE_DIRECTORY_ENTRY_SECURITY = 4
MACHINES = {0x14c: 'x86', 0x8664: 'amd64', 0xaa64: 'arm64', 0x1c4: 'arm', 0x200: 'ia64'}

OID_SIGNED_DATA = '1.2.840.113549.1.7.2'
OID_COMMON_NAME = '2.5.4.3'
OID_ORGANIZATION = '2.5.4.10'
OID_EXT_KEY_USAGE = '2.5.29.37'
OID_CAT_NAMEVALUE = '1.3.6.1.4.1.311.12.2.1'
OID_WHQL_CRYPTO = '1.3.6.1.4.1.311.10.3.5'
MICROSOFT_ISSUERS = ('Microsoft Windows Third Party Component CA', 'Microsoft Windows Hardware Compatibility PCA',
                     'Microsoft Windows Production PCA', 'Microsoft Windows PCA')

# setupapi.h (SIGNERSCORE_*), as the Windows SDK metadata publishes them.
SIGNERSCORE_WHQL = 0x0D000005
SIGNERSCORE_AUTHENTICODE = 0x0F000000


# ---------------------------------------------------------------------------------------------------------
# PE files

def pe_signature(data):
    """{'machine': 'amd64'|..., 'signed': bool} of a PE file, or None when ``data`` is not a PE image."""
    layout = _pe_layout(data)
    if layout is None:
        return None
    machine, opt, opt_size, magic, _sections = layout
    count_at, dirs_at = (opt + 92, opt + 96) if magic == 0x10b else (opt + 108, opt + 112)
    signed = False
    if count_at + 4 <= len(data) and dirs_at <= opt + opt_size:
        count = struct.unpack_from('<I', data, count_at)[0]
        entry = dirs_at + 8 * IMAGE_DIRECTORY_ENTRY_SECURITY
        if count > IMAGE_DIRECTORY_ENTRY_SECURITY and entry + 8 <= min(len(data), opt + opt_size):
            # For this directory the address is a file offset (the table is not mapped).
            address, size = struct.unpack_from('<II', data, entry)
            signed = size > 8 and address + size <= len(data)
    return {'machine': MACHINES.get(machine, '0x%04x' % machine), 'signed': signed}


WIN_CERT_REVISION_2_0 = 0x0200
WIN_CERT_TYPES = {0x0001: 'X509', 0x0002: 'PKCS_SIGNED_DATA', 0x0003: 'RESERVED_1', 0x0004: 'TS_STACK_SIGNED',
                  0x0EF1: 'EFI_PKCS115', 0x0EF0: 'EFI_GUID'}
WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
SUBSYSTEMS = {10: 'efi_application', 11: 'efi_boot_service_driver', 12: 'efi_runtime_driver', 13: 'efi_rom',
              1: 'native', 2: 'windows_gui', 3: 'windows_cui'}


def _pe_layout(data):
    """(machine, optional header offset, its size, magic, number of sections) or None when not a PE image."""
    if len(data) < 0x40 or data[:2] != b'MZ':
        return None
    offset = struct.unpack_from('<I', data, 0x3c)[0]
    if offset + 24 > len(data) or data[offset:offset + 4] != b'PE\0\0':
        return None
    machine, sections, _stamp, _symbols, _count, opt_size = struct.unpack_from('<HHIIIH', data, offset + 4)
    opt = offset + 24
    if opt + 2 > len(data):
        return None
    magic = struct.unpack_from('<H', data, opt)[0]
    if magic not in (0x10b, 0x20b):
        return None
    return machine, opt, opt_size, magic, sections


def pe_authenticode(data):
    """What a PE image's certificate table holds, or None when ``data`` is not a PE image::

        {'machine': 'amd64'|..., 'subsystem': 'efi_application'|...|'0x..', 'sections': ['.text', ...],
         'sbat': bool, 'signed': bool,
         'certificates': [{'revision': 0x200, 'type': 'PKCS_SIGNED_DATA', 'length': n,
                           'signer': common name (else organisation) or None, 'issuer': the same of the CA}],
         'problems': ['...']}

    ``signed`` is true when the table holds at least one well-formed Authenticode signature (WIN_CERTIFICATE
    revision 2.0, type PKCS_SIGNED_DATA, a PKCS #7 SignedData). Nothing is verified: whether the firmware trusts the
    signer is the firmware's db, not the file. ``problems`` says why a table that is there does not count (out of
    the file, an entry that overruns it, another type).
    """
    layout = _pe_layout(data)
    if layout is None:
        return None
    machine, opt, opt_size, magic, nsections = layout
    out = {'machine': MACHINES.get(machine, '0x%04x' % machine), 'subsystem': None, 'sections': [], 'sbat': False,
           'signed': False, 'certificates': [], 'problems': []}
    if opt + 70 <= len(data):
        subsystem = struct.unpack_from('<H', data, opt + 68)[0]
        out['subsystem'] = SUBSYSTEMS.get(subsystem, '0x%04x' % subsystem)
    table = opt + opt_size
    for i in range(nsections):
        at = table + 40 * i
        if at + 40 > len(data):
            break
        out['sections'].append(data[at:at + 8].rstrip(b'\0').decode('latin-1'))
    out['sbat'] = '.sbat' in out['sections']
    count_at, dirs_at = (opt + 92, opt + 96) if magic == 0x10b else (opt + 108, opt + 112)
    entry = dirs_at + 8 * IMAGE_DIRECTORY_ENTRY_SECURITY
    if count_at + 4 > len(data) or entry + 8 > min(len(data), opt + opt_size) or \
            struct.unpack_from('<I', data, count_at)[0] <= IMAGE_DIRECTORY_ENTRY_SECURITY:
        return out
    # For this directory the address is a file offset (the table is not mapped).
    address, size = struct.unpack_from('<II', data, entry)
    if not address and not size:
        return out
    if address + size > len(data) or size < 8:
        out['problems'].append('the certificate table (offset %d, %d bytes) lies outside the file (%d bytes)'
                               % (address, size, len(data)))
        return out
    pos, end = address, address + size
    while pos + 8 <= end:
        length, revision, ctype = struct.unpack_from('<IHH', data, pos)
        if length < 8 or pos + length > end:
            out['problems'].append('a certificate entry at offset %d claims %d bytes, beyond the table' % (pos, length))
            break
        cert = {'revision': revision, 'type': WIN_CERT_TYPES.get(ctype, '0x%04x' % ctype), 'length': length,
                'signer': None, 'issuer': None}
        if ctype == WIN_CERT_TYPE_PKCS_SIGNED_DATA and revision == WIN_CERT_REVISION_2_0:
            info = catalog_info(bytes(data[pos + 8:pos + length]))
            if info is None:
                out['problems'].append('the signature at offset %d is not a PKCS #7 SignedData' % pos)
            else:
                cert['signer'] = info['signer'] or info['signer_o']
                cert['issuer'] = info['issuer'] or info['issuer_o']
                out['signed'] = True
        else:
            out['problems'].append('certificate entry at offset %d is revision 0x%04x type %s, not an Authenticode '
                                   'signature (revision 0x0200, PKCS_SIGNED_DATA)' % (pos, revision, cert['type']))
        out['certificates'].append(cert)
        pos += (length + 7) & ~7          # entries are 8-byte aligned
    return out


# ---------------------------------------------------------------------------------------------------------
# A small DER reader: just what a catalog's SignedData needs

class DerError(ValueError):
    pass


def _read(data, pos):
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise DerError('truncated')
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7f
        if count == 0 or count > 4 or pos + count > len(data):
            raise DerError('bad length')
        length = int.from_bytes(data[pos:pos + count], 'big')
        pos += count
    if pos + length > len(data):
        raise DerError('truncated')
    return tag, pos, pos + length


def _children(data, start, end):
    out = []
    pos = start
    while pos < end:
        tag, cstart, cend = _read(data, pos)
        out.append((tag, cstart, cend))
        pos = cend
    return out


def _oid(data, start, end):
    raw = data[start:end]
    if not raw:
        return ''
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7f)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return '.'.join(str(p) for p in parts)


def _text(data, tag, start, end):
    raw = data[start:end]
    if tag == 0x1e:     # BMPString
        return raw.decode('utf-16-be', 'replace')
    return raw.decode('utf-8', 'replace')


def _name_cn(data, start, end, oid=OID_COMMON_NAME):
    """Common name (or the attribute ``oid``) of an X.501 Name (SEQUENCE OF SET OF AttributeTypeAndValue)."""
    for _tag, rs, re_ in _children(data, start, end):
        for _t, as_, ae in _children(data, rs, re_):
            parts = _children(data, as_, ae)
            if len(parts) == 2 and parts[0][0] == 0x06 and _oid(data, parts[0][1], parts[0][2]) == oid:
                return _text(data, *parts[1])
    return None


def _certificate(data, start, end):
    """{'issuer', 'serial', 'subject', 'issuer_cn', 'ekus'} of an X.509 certificate."""
    tbs = _children(data, start, end)[0]
    fields = _children(data, tbs[1], tbs[2])
    if fields and fields[0][0] == 0xa0:      # [0] version
        fields = fields[1:]
    serial, issuer, subject = fields[0], fields[2], fields[4]
    ekus = []
    for tag, fs, fe in fields[6:]:
        if tag != 0xa3:
            continue
        for _t, es, ee in _children(data, *_children(data, fs, fe)[0][1:]):
            ext = _children(data, es, ee)
            if ext[0][0] == 0x06 and _oid(data, ext[0][1], ext[0][2]) == OID_EXT_KEY_USAGE:
                inner = _children(data, ext[-1][1], ext[-1][2])[0]
                ekus = [_oid(data, s, e) for t, s, e in _children(data, inner[1], inner[2]) if t == 0x06]
    return {'issuer': data[issuer[1]:issuer[2]], 'serial': data[serial[1]:serial[2]],
            'subject': _name_cn(data, subject[1], subject[2]), 'issuer_cn': _name_cn(data, issuer[1], issuer[2]),
            # a certificate without a common name (Debian's OVMF test key) is told by its organisation
            'subject_o': _name_cn(data, subject[1], subject[2], OID_ORGANIZATION),
            'issuer_o': _name_cn(data, issuer[1], issuer[2], OID_ORGANIZATION), 'ekus': ekus}


def _name_values(data, start, end, out):
    """Catalog name/value attributes (CAT_NAMEVALUE: BMPString name, INTEGER flags, OCTET STRING UTF-16 value)."""
    for tag, s, e in _children(data, start, end):
        if tag == 0x04 and e - s > 2 and data[s] == 0x30:
            # CMS wraps the content in an OCTET STRING (PKCS #7 v1.5 catalogs do not): look inside when it is DER.
            try:
                inner = data[s:e]
                if _read(inner, 0)[2] == len(inner):
                    _name_values(inner, 0, len(inner), out)
            except DerError:
                pass
            continue
        if not tag & 0x20:      # primitive
            continue
        kids = _children(data, s, e)
        if len(kids) == 2 and kids[0][0] == 0x06 and _oid(data, kids[0][1], kids[0][2]) == OID_CAT_NAMEVALUE:
            holder = kids[1]
            body = data[holder[1]:holder[2]]
            if holder[0] == 0x04:           # wrapped in an OCTET STRING
                seq = _read(body, 0)
                values = _children(body, seq[1], seq[2])
                src = body
            else:
                inner = _children(data, holder[1], holder[2])
                if not inner:
                    continue
                values = _children(data, inner[0][1], inner[0][2])
                src = data
            if len(values) == 3 and values[0][0] == 0x1e and values[2][0] == 0x04:
                name = _text(src, *values[0])
                value = src[values[2][1]:values[2][2]].decode('utf-16-le', 'replace').rstrip('\x00')
                out.setdefault(name, value)
        else:
            _name_values(data, s, e, out)


def catalog_info(data):
    """{'signer': common name, 'issuer': CA common name, 'ekus': [...], 'microsoft': bool, 'attributes': {name: value},
    'submission_id': str or None} of a catalog file, or None when it is not a PKCS #7 SignedData."""
    try:
        tag, start, end = _read(data, 0)
        top = _children(data, start, end)
        if tag != 0x30 or len(top) < 2 or _oid(data, top[0][1], top[0][2]) != OID_SIGNED_DATA:
            return None
        signed = _children(data, *_children(data, top[1][1], top[1][2])[0][1:])
        content = signed[2]
        certs, signer_infos = [], None
        for tag, s, e in signed[3:]:
            if tag == 0xa0:
                certs = [_certificate(data, cs, ce) for _t, cs, ce in _children(data, s, e)]
            elif tag == 0x31:
                signer_infos = (s, e)
        attributes = {}
        _name_values(data, content[1], content[2], attributes)
        signer = None
        if signer_infos:
            info = _children(data, *_children(data, *signer_infos)[0][1:])
            sid = info[1]
            if sid[0] == 0x30:          # IssuerAndSerialNumber
                parts = _children(data, sid[1], sid[2])
                issuer, serial = data[parts[0][1]:parts[0][2]], data[parts[1][1]:parts[1][2]]
                for cert in certs:
                    if cert['issuer'] == issuer and cert['serial'] == serial:
                        signer = cert
    except (DerError, IndexError, ValueError):
        return None
    out = {'signer': signer['subject'] if signer else None, 'issuer': signer['issuer_cn'] if signer else None,
           'signer_o': signer['subject_o'] if signer else None, 'issuer_o': signer['issuer_o'] if signer else None,
           'ekus': signer['ekus'] if signer else [], 'attributes': attributes,
           'submission_id': attributes.get('Submission ID')}
    issuer = out['issuer'] or ''
    out['microsoft'] = any(issuer.startswith(name) for name in MICROSOFT_ISSUERS)
    return out


def signer_score(info):
    """SignerScore Windows records, when a catalog tells it plainly; None otherwise.

    A signer outside Microsoft's driver-signing CAs is an Authenticode signature (SIGNERSCORE_AUTHENTICODE, seen on
    VirtualBox's package in the Windows 8.1 fixture). Microsoft's hardware publisher with the WHQL usage is
    SIGNERSCORE_WHQL, seen on the VMware packages of the Windows 10 fixture; Windows also wrote 0x0D000004
    (unclassified) for some Microsoft-signed virtio packages (distrobuilder's records) for a reason a catalog does
    not show, so this is a best reading, not Windows' rule (docs/how-it-works.md).
    """
    if not info or not info.get('signer'):
        return None
    if not info['microsoft']:
        return SIGNERSCORE_AUTHENTICODE
    if OID_WHQL_CRYPTO in info['ekus']:
        return SIGNERSCORE_WHQL
    return None
