# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot NIC discovery: the reports iPXE sends (roles/ipxe discover.ipxe) turned into Windows' view of the NICs.

iPXE reads each NIC's PCI configuration space through its ``pci/`` settings and sends one HTTP GET per boot to a
static URL (default ``/discovery.txt``); any web server's access log then holds the report in the request line.
This engine parses such logs (or bare request targets, one per line), validates every field against a strict
format, and returns per MAC address what Windows will see: hardware and compatible IDs, the PCI location path and
an entry ready for ``sanboot.windows.iscsi_boot``'s ``nics:``. ``host_vars`` writes it into an inventory folder.

Report format, version 1 (query of ``GET <url_path>?...``; values percent-decoded, never executed):

* ``v=1``; ``boot=<MAC of the NIC that booted (iPXE netX)>``; ``ipxe=<version>``; ``plat=<pcbios|efi>``;
* ``nic<N>=<mac>,<bustype>,<busloc>,<ven>,<dev>,<subven>,<subdev>,<rev>,<class>,<hdrtype>,<chip>`` for net0,
  net1, ... (contiguous from 0): ``busloc`` as 8 hex digits (iPXE ``${netN/busloc:hexraw}``, segment << 16 |
  bus << 8 | dev << 3 | fn), the PCI fields in hex (offsets 0x00, 0x02, 0x2c, 0x2e, 0x08, 0x09..0x0b, 0x0e), all
  empty when the NIC is not on PCI or its configuration space could not be read;
* ``br=<BBDDSS>.<BBDDSS>....`` (optional): every PCI-to-PCI bridge iPXE found below bus 0, as bus, devfn and
  secondary bus (2 hex digits each), so that NICs behind bridges get a location path.

No Ansible import: usable from the module, from tests and from other tools.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import gzip
import json
import os
import re
import stat
import tempfile

from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.windows.errors import BootError
from ansible_collections.sanboot.windows.plugins.module_utils.windows.nic import parse_nic

REPORT_VERSION = '1'
DEFAULT_URL_PATH = '/discovery.txt'
HOST_VARS_FILE = 'sanboot_discovery.yml'
MAX_NICS = 16
MAX_BRIDGES = 256
MAX_TARGET = 8192

_MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z')
_MAC_INPUT_RE = re.compile(r'^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}\Z')
_HEX_RE = {n: re.compile(r'^[0-9a-f]{%d}\Z' % n) for n in (2, 4, 6, 8)}
_BUSTYPE_RE = re.compile(r'^[A-Za-z]{1,16}\Z')
_CHIP_RE = re.compile(r'^[A-Za-z0-9_.+-]{0,32}\Z')
_VERSION_RE = re.compile(r'^[A-Za-z0-9_.+~-]{0,64}\Z')
_PLATFORM_RE = re.compile(r'^[A-Za-z0-9_-]{0,16}\Z')
_BRIDGES_RE = re.compile(r'^([0-9a-f]{6}\.)*\Z')
_NIC_KEY_RE = re.compile(r'^nic(0|[1-9][0-9]?)\Z')
_KEY_RE = re.compile(r'^[a-z][a-z0-9]{0,7}\Z')
_ESCAPE_RE = re.compile(r'%([0-9A-Fa-f]{2})')
_TARGET_CHARS_RE = re.compile(r'^[\x21-\x7e]+\Z')
_NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z')
# nginx/Apache "combined" and Python http.server access-log lines: client, [time], "METHOD target HTTP/x.y"
_REQUEST_RE = re.compile(r'"(?:GET|HEAD) (\S{1,%d}) HTTP/[0-9.]{1,4}"(?: ([0-9]{3})\b)?' % MAX_TARGET)
_CLIENT_RE = re.compile(r'^([0-9A-Fa-f:.]{2,45})\s')
_TIME_RE = re.compile(r'\[(\d{2})/([A-Z][a-z]{2})/(\d{4})[: ](\d{2}):(\d{2}):(\d{2})(?: ([+-]\d{4}))?\]')
_MONTHS = dict((m, i) for i, m in enumerate(
    ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'), 1))

NIC_FIELDS = ('mac', 'bus_type', 'busloc', 'vendor', 'device', 'subsystem_vendor', 'subsystem', 'revision',
              'class_code', 'header_type', 'chip')
_PCI_FIELDS = (('vendor', 4), ('device', 4), ('subsystem_vendor', 4), ('subsystem', 4), ('revision', 2),
               ('class_code', 6), ('header_type', 2))


class ReportError(ValueError):
    """A report that is malformed or unknown: rejected, with the reason."""


class DiscoveryError(Exception):
    """A request the caller must fix (bad names, unsafe inventory paths): nothing is written."""


# ---------------------------------------------------------------------------------------------------------
# Values

def normalize_mac(text):
    """'52-54-00-AA-00-01' / '52:54:00:aa:00:01' -> '52:54:00:aa:00:01'; ReportError otherwise."""
    if not isinstance(text, str) or not _MAC_INPUT_RE.match(text.strip()):
        raise ReportError('%s is not a MAC address' % _show(text))
    return text.strip().lower().replace('-', ':')


def _show(value, limit=48):
    """A hostile value, shown safely in a message (repr, shortened)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def _decode(text):
    """Strict percent-decoding (no '+' for space: iPXE leaves '+' as it is); printable ASCII only."""
    if '%' in text:
        if re.search(r'%(?![0-9A-Fa-f]{2})', text):
            raise ReportError('bad percent escape in %s' % _show(text))
        text = _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if re.search(r'[^\x20-\x7e]', text):
        raise ReportError('non-printable or non-ASCII characters in %s' % _show(text))
    return text


def parse_query(query):
    """'a=1&b=2' -> {'a': '1', 'b': '2'}, strictly: known key syntax, no duplicates, decoded values."""
    if not query:
        raise ReportError('no report in the query string')
    out = {}
    for part in query.split('&'):
        if '=' not in part:
            raise ReportError('query item without a value: %s' % _show(part))
        key, value = part.split('=', 1)
        key = _decode(key)
        if not _KEY_RE.match(key):
            raise ReportError('bad query key %s' % _show(key))
        if key in out:
            raise ReportError('query key %s given twice' % key)
        out[key] = _decode(value)
    return out


# ---------------------------------------------------------------------------------------------------------
# One report

def _nic(index, text):
    fields = text.split(',')
    if len(fields) != len(NIC_FIELDS):
        raise ReportError('nic%d has %d fields, expected %d' % (index, len(fields), len(NIC_FIELDS)))
    raw = dict(zip(NIC_FIELDS, fields))
    nic = {'name': 'net%d' % index}
    nic['mac'] = normalize_mac(raw['mac'])
    if not _MAC_RE.match(raw['mac']):
        raise ReportError('nic%d: MAC address %s is not as iPXE writes it' % (index, _show(raw['mac'])))
    if nic['mac'] in ('00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff') or int(nic['mac'][1], 16) & 1:
        raise ReportError('nic%d: %s is not a unicast MAC address' % (index, nic['mac']))
    if not _BUSTYPE_RE.match(raw['bus_type']):
        raise ReportError('nic%d: bad bus type %s' % (index, _show(raw['bus_type'])))
    nic['bus_type'] = raw['bus_type'].upper()
    if not _HEX_RE[8].match(raw['busloc']):
        raise ReportError('nic%d: bad bus location %s' % (index, _show(raw['busloc'])))
    if not _CHIP_RE.match(raw['chip']):
        raise ReportError('nic%d: bad chip name %s' % (index, _show(raw['chip'])))
    nic['chip'] = raw['chip'] or None
    pci = [raw[name] for name, _width in _PCI_FIELDS]
    if any(pci) and not all(_HEX_RE[width].match(raw[name]) for name, width in _PCI_FIELDS):
        raise ReportError('nic%d: bad PCI configuration fields %s' % (index, _show(','.join(pci))))
    if any(pci) and nic['bus_type'] != 'PCI':
        raise ReportError('nic%d: PCI fields for a %s device' % (index, nic['bus_type']))
    busloc = int(raw['busloc'], 16)
    nic['busloc'] = busloc
    nic['pci_address'] = None
    nic['config'] = dict((name, raw[name]) for name, _width in _PCI_FIELDS) if all(pci) else None
    if nic['bus_type'] == 'PCI':
        nic['pci_address'] = '%04x:%02x:%02x.%d' % (busloc >> 16, (busloc >> 8) & 0xff, (busloc >> 3) & 0x1f,
                                                    busloc & 7)
    return nic


def _bridges(text):
    if len(text) > MAX_BRIDGES * 7 or not _BRIDGES_RE.match(text):
        raise ReportError('bad bridge list %s' % _show(text))
    return [(int(item[0:2], 16), int(item[2:4], 16), int(item[4:6], 16)) for item in text.split('.') if item]


def parse_report(query):
    """The query string of one report -> {'boot', 'ipxe', 'platform', 'nics': [raw NIC dicts], 'bridges'}."""
    items = parse_query(query)
    version = items.pop('v', None)
    if version is None:
        raise ReportError('no report version (v=)')
    if version != REPORT_VERSION:
        raise ReportError('unsupported report version %s' % _show(version))
    if 'boot' not in items:
        raise ReportError('no boot NIC (boot=)')
    report = {'boot': normalize_mac(items.pop('boot')), 'nics': [], 'bridges': None}
    ipxe, platform = items.pop('ipxe', ''), items.pop('plat', '')
    if not _VERSION_RE.match(ipxe) or not _PLATFORM_RE.match(platform):
        raise ReportError('bad iPXE version or platform %s %s' % (_show(ipxe), _show(platform)))
    report['ipxe'], report['platform'] = ipxe or None, platform or None
    if 'br' in items:
        report['bridges'] = _bridges(items.pop('br'))
    nics = {}
    for key in list(items):
        match = _NIC_KEY_RE.match(key)
        if not match:
            raise ReportError('unknown key %s' % _show(key))
        index = int(match.group(1))
        if index >= MAX_NICS:
            raise ReportError('more than %d NICs' % MAX_NICS)
        nics[index] = _nic(index, items.pop(key))
    if not nics:
        raise ReportError('no NIC in the report')
    if sorted(nics) != list(range(len(nics))):
        raise ReportError('NICs are not numbered net0, net1, ... without gaps: %s' % sorted(nics))
    report['nics'] = [nics[i] for i in range(len(nics))]
    macs = [n['mac'] for n in report['nics']]
    if len(set(macs)) != len(macs):
        raise ReportError('two NICs report the same MAC address')
    if report['boot'] not in macs:
        raise ReportError('the boot NIC %s is not among the reported NICs' % report['boot'])
    return report


# ---------------------------------------------------------------------------------------------------------
# Windows' view of a NIC

def _parents(bridges):
    """{secondary bus: (bus, devfn)}, secondary buses claimed twice -> None (ambiguous)."""
    parents = {}
    for bus, devfn, secondary in bridges or []:
        if secondary == 0 or secondary == bus:
            continue            # unconfigured bridge (no bus behind it yet), or nonsense
        parents[secondary] = None if secondary in parents else (bus, devfn)
    return parents


def location_path(busloc, bridges):
    """(PCIROOT(0)#PCI(DDFF)#... or None, reason when None) for a PCI bus location and the reported bridges."""
    segment, bus, devfn = busloc >> 16, (busloc >> 8) & 0xff, busloc & 0xff
    if segment:
        return None, ('PCI segment %d: which PCIROOT() Windows numbers it as (the host bridge\'s ACPI _UID) '
                      'is not visible to iPXE' % segment)
    chain = [devfn]
    if bus:
        if bridges is None:
            return None, ('on bus %d, behind a bridge, and the report has no bridge list '
                          '(sanboot_ipxe_discover_bridges is off, or an older script)' % bus)
        parents = _parents(bridges)
        seen = set()
        while bus:
            if bus in seen or len(chain) > 32:
                return None, 'the reported bridges form a loop at bus %d' % bus
            seen.add(bus)
            if bus not in parents:
                return None, ('bus %d is not below bus 0 through any bridge iPXE found: a second host bridge '
                              '(another PCIROOT), or a bridge iPXE could not see' % bus)
            if parents[bus] is None:
                return None, 'two bridges claim bus %d' % bus
            bus, parent_devfn = parents[bus]
            chain.insert(0, parent_devfn)
    return 'PCIROOT(0)' + ''.join('#PCI(%02X%02X)' % (d >> 3, d & 7) for d in chain), None


def windows_nic(nic, bridges, boot_mac):
    """A reported NIC -> what Windows sees (IDs, location) plus the raw facts."""
    out = dict((k, nic[k]) for k in ('name', 'mac', 'bus_type', 'chip', 'pci_address'))
    out['boot'] = nic['mac'] == boot_mac
    out.update(id=None, hardware_ids=[], compatible_ids=[], location=None, note=None, vendor_id=None,
               device_id=None, subsystem_vendor_id=None, subsystem_id=None, revision=None, class_code=None,
               multifunction=None)
    config = nic['config']
    if nic['bus_type'] != 'PCI':
        out['note'] = 'not a PCI device (bus type %s): Windows IDs are not derived for it' % nic['bus_type']
        return out
    if config is None:
        out['note'] = ('iPXE could not read the PCI configuration space (an iPXE build without PCI settings, or '
                       'firmware that does not give access to it)')
        return out
    if config['vendor'] == 'ffff':
        out['note'] = 'the PCI configuration space reads as all ones: the device is hidden or gone'
        return out
    header = int(config['header_type'], 16)
    out['multifunction'] = bool(header & 0x80)
    out.update(vendor_id=config['vendor'].upper(), device_id=config['device'].upper(),
               revision=config['revision'].upper(), class_code=config['class_code'].upper())
    notes = []
    ident = 'PCI\\VEN_%s&DEV_%s' % (out['vendor_id'], out['device_id'])
    if header & 0x7f == 0:
        out.update(subsystem_vendor_id=config['subsystem_vendor'].upper(), subsystem_id=config['subsystem'].upper())
        ident += '&SUBSYS_%s%s' % (out['subsystem_id'], out['subsystem_vendor_id'])
    else:
        notes.append('PCI header type %02x is not an endpoint: no subsystem IDs' % (header & 0x7f))
    ident += '&REV_%s' % out['revision']
    out['id'] = ident
    out['hardware_ids'], out['compatible_ids'] = inf.expand_pci_id(ident + '&CC_' + out['class_code'])
    if not out['class_code'].startswith('02'):
        notes.append('class code %s is not a network controller (02xxxx)' % out['class_code'])
    out['location'], reason = location_path(nic['busloc'], bridges)
    if reason:
        notes.append('no location path: ' + reason)
    out['note'] = '; '.join(notes) or None
    return out


def iscsi_boot_entry(nic):
    """The NIC as an entry of sanboot.windows.iscsi_boot's nics: ({id, location}), checked by its own parser."""
    if not nic.get('id'):
        return None
    entry = {'id': nic['id']}
    if nic.get('location'):
        entry['location'] = nic['location']
    parse_nic(entry)     # raises if iscsi_boot would not take it
    return entry


def machine(report):
    """One parsed report -> the machine's facts."""
    nics = [windows_nic(n, report['bridges'], report['boot']) for n in report['nics']]
    boot = [n for n in nics if n['boot']][0]
    entry = iscsi_boot_entry(boot)
    warnings = []
    if entry is None:
        warnings.append('%s: the boot NIC %s has no Windows IDs: %s' % (report['boot'], boot['name'], boot['note']))
    elif 'location' not in entry:
        warnings.append('%s: the boot NIC %s has no location path: %s'
                        % (report['boot'], boot['name'], boot['note']))
    return {
        'mac': report['boot'],
        'boot_nic': boot['name'],
        'ipxe': {'version': report['ipxe'], 'platform': report['platform']},
        'nics': nics,
        'iscsi_boot_nics': [entry] if entry else [],
        'bridges_scanned': report['bridges'] is not None,
        'warnings': warnings,
    }


# ---------------------------------------------------------------------------------------------------------
# Logs

def _split_target(target, url_path):
    """(is a report request, query) of a request target or absolute URL."""
    if not _TARGET_CHARS_RE.match(target) or len(target) > MAX_TARGET:
        return False, None
    if target.startswith(('http://', 'https://')):
        rest = target.split('://', 1)[1]
        target = '/' + rest.split('/', 1)[1] if '/' in rest else '/'
    path, sep, query = target.partition('?')
    if path != url_path:
        return False, None
    return True, query if sep else ''


def _when(line):
    match = _TIME_RE.search(line)
    if not match or match.group(2) not in _MONTHS:
        return None
    day, month, year, hour, minute, second, zone = match.groups()
    text = '%s-%02d-%sT%s:%s:%s' % (year, _MONTHS[month], day, hour, minute, second)
    if zone:
        text += '%s:%s' % (zone[:3], zone[3:])
    return text


def _request(line):
    """(target, client, time, HTTP status or None) of an access-log line, or of a bare request target / URL."""
    match = _REQUEST_RE.search(line)
    if match:
        client = _CLIENT_RE.match(line)
        status = int(match.group(2)) if match.group(2) else None
        return match.group(1), client.group(1) if client else None, _when(line), status
    text = line.strip()
    if text and ' ' not in text and text.startswith(('/', 'http://', 'https://')):
        return text, None, None, None
    return None


def _digest(facts):
    return json.dumps([{k: n[k] for k in ('mac', 'id', 'location', 'chip')} for n in facts['nics']], sort_keys=True)


def parse_lines(lines, url_path=DEFAULT_URL_PATH, macs=None, source=None, result=None):
    """Reports in access-log lines (or bare request targets); later reports of a MAC replace earlier ones.

    Requests the web server did not answer with 2xx or 3xx (nginx logs those its allow rules refused) are rejected.
    Returns (and updates ``result``) {'machines': {mac: facts}, 'rejected': [{source, line, reason}],
    'reports': accepted count, 'ignored': lines that are no report request, 'skipped': reports of other MACs}.
    """
    if result is None:
        result = {'machines': {}, 'rejected': [], 'reports': 0, 'ignored': 0, 'skipped': 0}
    wanted = set(normalize_mac(m) for m in macs) if macs else None
    for number, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            line = line.decode('latin-1')
        found = _request(line)
        is_report, query = _split_target(found[0], url_path) if found else (False, None)
        if not is_report:
            result['ignored'] += 1
            continue
        status = found[3]
        if status is not None and not 200 <= status < 400:
            # nginx logs requests its allow/deny rules refused too: only what the server answered counts
            result['rejected'].append({'source': source, 'line': number, 'reason': (
                'the web server answered %d (a client it refused, or a missing file): not counted' % status)})
            continue
        try:
            facts = machine(parse_report(query))
        except (ReportError, BootError) as exc:
            result['rejected'].append({'source': source, 'line': number, 'reason': str(exc)})
            continue
        if wanted is not None and facts['mac'] not in wanted:
            result['skipped'] += 1
            continue
        facts.update(client=found[1], reported_at=found[2], source=source, line=number)
        previous = result['machines'].get(facts['mac'])
        facts['reports'] = previous['reports'] + 1 if previous else 1
        if previous and _digest(previous) != _digest(facts):
            facts['warnings'].append('%s reported different NICs in an earlier report (%s line %s); the last '
                                     'report is used' % (facts['mac'], previous['source'], previous['line']))
        result['machines'][facts['mac']] = facts
        result['reports'] += 1
    return result


def parse_files(paths, url_path=DEFAULT_URL_PATH, macs=None):
    """parse_lines over files in the order given (give rotated logs oldest first; .gz files are decompressed)."""
    result = None
    for path in paths:
        opener = gzip.open if path.endswith('.gz') else open
        with opener(path, 'rb') as f:
            result = parse_lines(f, url_path=url_path, macs=macs, source=path, result=result)
    return result if result is not None else parse_lines([], url_path=url_path, macs=macs)


# ---------------------------------------------------------------------------------------------------------
# Inventory

def host_name(mac, names=None, prefix='sanboot-'):
    """Inventory name of a MAC: names[mac] (any MAC spelling as key) or <prefix><mac with hyphens>."""
    for key, value in (names or {}).items():
        if normalize_mac(key) == mac:
            name = value
            break
    else:
        name = (prefix or '') + mac.replace(':', '-')
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise DiscoveryError('%s is not usable as an inventory host name (letters, digits, _ . -; not starting '
                             'with . or -)' % _show(name))
    return name


def _yaml_scalar(value):
    if value is None:
        return 'null'
    if value is True or value is False:
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    # JSON strings (ASCII, escaped) are YAML double-quoted scalars
    return json.dumps(str(value), ensure_ascii=True)


def _yaml(value, indent):
    pad = ' ' * indent
    lines = []
    if isinstance(value, dict):
        for key in value:
            item = value[key]
            if isinstance(item, (dict, list)) and item:
                lines.append('%s%s:' % (pad, key))
                lines.extend(_yaml(item, indent + 2))
            else:
                lines.append('%s%s: %s' % (pad, key, _yaml_scalar(item) if not isinstance(item, (dict, list))
                                           else ('{}' if isinstance(item, dict) else '[]')))
    else:
        for item in value:
            if isinstance(item, dict) and item:
                sub = _yaml(item, indent + 2)
                lines.append('%s- %s' % (pad, sub[0][indent + 2:]))
                lines.extend(sub[1:])
            elif isinstance(item, list) and item:
                lines.append('%s-' % pad)
                lines.extend(_yaml(item, indent + 2))
            else:
                lines.append('%s- %s' % (pad, _yaml_scalar(item) if not isinstance(item, (dict, list))
                                         else ('{}' if isinstance(item, dict) else '[]')))
    return lines


HOST_VARS_KEYS = ('name', 'mac', 'boot', 'chip', 'bus_type', 'pci_address', 'id', 'location', 'hardware_ids',
                  'compatible_ids', 'vendor_id', 'device_id', 'subsystem_vendor_id', 'subsystem_id', 'revision',
                  'class_code', 'multifunction', 'note')


def host_vars(facts):
    """YAML text of the host_vars file for one machine: hardware facts only (no times), so an unchanged machine
    gives an unchanged file. No sanboot_mac: the inventory's own sanboot_mac names the machine, and a host_vars
    file (which takes precedence over the inventory file) must not keep an old MAC alive after a NIC change."""
    data = {
        'sanboot_iscsi_boot_nics': facts['iscsi_boot_nics'],
        'sanboot_discovery': {
            'mac': facts['mac'],
            'boot_nic': facts['boot_nic'],
            'ipxe': facts['ipxe'],
            'bridges_scanned': facts['bridges_scanned'],
            'nics': [dict((k, n[k]) for k in HOST_VARS_KEYS) for n in facts['nics']],
        },
    }
    head = [
        '# Written by sanboot.windows.ipxe_discovery from what iPXE reported for %s.' % facts['mac'],
        '# Rewritten on every discovery run: keep your own variables in another file of this folder.',
        '# sanboot_iscsi_boot_nics is ready for sanboot.windows.iscsi_boot nics: (add service: or drivers:).',
    ]
    return '\n'.join(head + ['---'] + _yaml(data, 0)) + '\n'


def _inside(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def plan_host_vars(inventory_dir, name):
    """Where the host_vars of ``name`` go, checked: (directory, file, directory exists). DiscoveryError when the
    place is unsafe or would hide the user's own host_vars file."""
    if not _NAME_RE.match(name or ''):
        raise DiscoveryError('%s is not usable as an inventory host name' % _show(name))
    if not os.path.isdir(inventory_dir):
        raise DiscoveryError('inventory_dir %s is not a directory' % inventory_dir)
    root = os.path.realpath(inventory_dir)
    base = os.path.join(root, 'host_vars')
    if os.path.lexists(base) and (os.path.islink(base) or not os.path.isdir(base)):
        raise DiscoveryError('%s is a symbolic link or not a directory: refusing to write there' % base)
    host_dir = os.path.join(base, name)
    target = os.path.join(host_dir, HOST_VARS_FILE)
    if not _inside(os.path.realpath(os.path.dirname(host_dir)), root) or \
            os.path.dirname(host_dir) != base or os.path.basename(host_dir) != name:
        raise DiscoveryError('%s is outside %s' % (host_dir, root))
    for ext in ('.yml', '.yaml', '.json'):
        if os.path.lexists(host_dir + ext):
            raise DiscoveryError(
                '%s exists: Ansible reads host_vars/%s/ instead of it once that folder exists, so discovery will '
                'not create the folder. Move the file to %s/main%s (discovery then writes %s beside it)'
                % (host_dir + ext, name, host_dir, ext, HOST_VARS_FILE))
    if os.path.lexists(host_dir):
        if os.path.islink(host_dir) or not os.path.isdir(host_dir):
            raise DiscoveryError('%s is a symbolic link or a file: refusing to write there' % host_dir)
        if os.path.lexists(target) and (os.path.islink(target) or not os.path.isfile(target)):
            raise DiscoveryError('%s is not a regular file: refusing to replace it' % target)
        return host_dir, target, True
    return host_dir, target, False


def read_text(path):
    try:
        with open(path, 'r') as f:
            return f.read()
    except IOError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def write_atomic(directory, target, text):
    """Write ``text`` to ``target`` (in ``directory``, created 0755) through a hidden temporary file and a rename."""
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    st = os.lstat(directory)
    if not stat.S_ISDIR(st.st_mode):
        raise DiscoveryError('%s is not a directory' % directory)
    fd, tmp = tempfile.mkstemp(prefix='.' + HOST_VARS_FILE + '.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sync_inventory(result, inventory_dir, names=None, prefix='sanboot-', check_mode=False):
    """Write host_vars/<name>/sanboot_discovery.yml for every machine of a parse result.

    Every place is checked before anything is written; returns [{'name', 'mac', 'path', 'changed', 'before',
    'after'}] and sets facts['name'] / facts['host_vars_file'].
    """
    plans, used = [], {}
    for mac in sorted(result['machines']):
        facts = result['machines'][mac]
        name = host_name(mac, names, prefix)
        if name in used:
            raise DiscoveryError('%s and %s would both be written as host %s' % (used[name], mac, name))
        used[name] = mac
        host_dir, target, _exists = plan_host_vars(inventory_dir, name)
        plans.append((facts, name, host_dir, target))
    out = []
    for facts, name, host_dir, target in plans:
        after = host_vars(facts)
        before = read_text(target)
        changed = before != after
        if changed and not check_mode:
            write_atomic(host_dir, target, after)
        facts['name'], facts['host_vars_file'] = name, target
        out.append({'name': name, 'mac': facts['mac'], 'path': target, 'changed': changed,
                    'before': before or '', 'after': after})
    return out
