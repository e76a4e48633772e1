# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iPXE hosts as records: sanboot_ipxe_hosts normalized once for the whole list and checked as a whole. Used by
the role ipxe through the filter plugin sanboot.windows.ipxe_hosts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import numbers
import re

from ansible_collections.sanboot.windows.plugins.module_utils.bootserver.targets import NAME_RE, to_int
from ansible_collections.sanboot.windows.plugins.module_utils.bootserver.values import or_default, text, to_bool

MAC_RE = re.compile(r'^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$')
MODES = ('boot', 'install', 'hook', 'discover')
ACTIONS = ('exit', 'shell', 'reboot')
INSTALL_FILES = [
    {'path': 'bootmgr', 'name': 'bootmgr'},
    {'path': 'boot/bcd', 'name': 'BCD'},
    {'path': 'boot/boot.sdi', 'name': 'boot.sdi'},
    {'path': 'sources/boot.wim', 'name': 'boot.wim'},
]


def normalize_host(h, target_server='', on_failure='exit', template='host.ipxe.j2'):
    """One host of sanboot_ipxe_hosts with every default filled in (CHAP secrets included)."""
    mac = text(or_default(h, 'mac', '')).lower().replace('-', ':')
    t = or_default(h, 'target', {})
    server = text(or_default(t, 'server', target_server))
    lun = to_int(t['lun']) if 'lun' in t else 1
    port = to_int(t['port']) if 'port' in t else 3260
    # iPXE reads the LUN in SAM notation (hexadecimal groups), so LUN 10 is "a"
    uri = or_default(h, 'san_uri', 'iscsi:%s::%s:%x:%s' % (
        ('[' + server + ']') if ':' in server else server, '' if port == 3260 else port, lun,
        text(or_default(t, 'iqn', ''))))
    drive = or_default(h, 'drive', '')
    chap = or_default(h, 'chap', {})
    install = or_default(h, 'install', {})
    mode = text(or_default(h, 'mode', 'boot'))
    return {
        'name': text(or_default(h, 'name', mac)),
        'mac': mac,
        'mac_file': mac.replace(':', '-'),
        'ip': text(or_default(h, 'ip', '')),
        'mode': mode,
        'discover': to_bool(h.get('discover', False)) or text(or_default(h, 'mode', '')) == 'discover',
        'initiator_iqn': text(or_default(h, 'initiator_iqn', '')),
        'target': {'server': server, 'port': port, 'lun': lun, 'iqn': text(or_default(t, 'iqn', ''))},
        'san_uri': uri,
        'drive': ('0x%02x' % int(drive)) if isinstance(drive, numbers.Number) else text(drive),
        'keep_san': to_bool(h['keep_san']) if 'keep_san' in h else True,
        'describe': to_bool(h['describe']) if 'describe' in h else True,
        'install': {
            'wimboot': text(or_default(install, 'wimboot', 'wimboot')),
            'args': text(or_default(install, 'args', '')),
            'path': text(or_default(install, 'path', 'winpe')),
            'files': or_default(install, 'files', INSTALL_FILES),
        },
        'chain': text(or_default(h, 'chain', '')),
        'extra_commands': list(or_default(h, 'extra_commands', [])),
        'on_failure': text(or_default(h, 'on_failure', on_failure)),
        'template': text(or_default(h, 'template', template)),
        'chap': dict((key, text(or_default(chap, key, '')))
                     for key in ('username', 'password', 'mutual_username', 'mutual_password')),
    }


def public(host):
    """The same record without secrets."""
    chap = host['chap']
    out = dict(host)
    out['chap'] = {
        'username': chap['username'],
        'mutual_username': chap['mutual_username'],
        'password_set': chap['password'] != '',
        'mutual_password_set': chap['mutual_password'] != '',
    }
    return out


def check_host(h):
    """The message for one host (public record), or None."""
    chap = h['chap']
    other = h['mode'] != 'discover'
    ok = (MAC_RE.match(h['mac'])
          and h['mode'] in MODES
          and (not other or NAME_RE.match(h['initiator_iqn']))
          and (not other or NAME_RE.match(h['target']['iqn']))
          and (not other or h['target']['server'] != '' or h['san_uri'] != '')
          and 0 <= h['target']['lun'] < 65536
          and (h['mode'] != 'hook' or h['chain'] != '')
          and h['on_failure'] in ACTIONS
          and (h['drive'] == '' or re.match(r'^0x[0-9a-fA-F]{2}$', h['drive']))
          and (chap['username'] != '') == chap['password_set']
          and (chap['mutual_username'] != '') == chap['mutual_password_set']
          and (chap['mutual_username'] == '' or chap['username'] != ''))
    if ok:
        return None
    return ('Host %s: needs a MAC address (aa:bb:cc:dd:ee:ff), mode boot, install, hook or discover, an '
            'initiator_iqn and target.iqn that are valid iSCSI names and a target server (target.server or '
            'sanboot_ipxe_target_server) unless the mode is discover, a LUN between 0 and 65535, a chain URL in hook '
            'mode, on_failure exit/shell/reboot, a drive like 0x80, and CHAP user names with their secrets (mutual '
            'CHAP only together with one-way CHAP).' % h['name'])


def normalize(hosts, target_server='', on_failure='exit', template='host.ipxe.j2'):
    """sanboot_ipxe_hosts -> {'hosts': records with secrets, 'public': without, 'errors': every host's message}."""
    records = [normalize_host(h if isinstance(h, dict) else {}, target_server, on_failure, template)
               for h in hosts or []]
    views = [public(h) for h in records]
    errors = [e for e in (check_host(h) for h in views) if e]
    return {'hosts': records, 'public': views, 'errors': errors}
