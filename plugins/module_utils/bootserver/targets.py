# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iSCSI targets as records: normalized once for the whole list, checked as a whole, planned against the running
tgtd, and recorded once applied. Used by the role iscsi_target through the filter plugin
sanboot.windows.iscsi_targets (and tgt_plan, iscsi_target_record).

A LUN's backing store is one of BACKING_STORES, chosen by `backing_store`; a storage backend that adds a type (an
overlay, an RBD image) adds an entry there and a branch in `backing_store`, and the backends' files read its
fields."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.sanboot.windows.plugins.module_utils.bootserver.values import (
    or_default, text, to_bool, to_uuid,
)

# iSCSI names (RFC 3720 section 3.2.6): iqn.YYYY-MM.reversed.domain[:anything], eui.<16 hex>, naa.<16 or 32 hex>
NAME_RE = re.compile(r'^(iqn\.[0-9]{4}-[0-9]{2}\.[A-Za-z0-9][A-Za-z0-9.-]*(:[^\s]+)?|eui\.[0-9A-Fa-f]{16}'
                     r'|naa\.[0-9A-Fa-f]{16}([0-9A-Fa-f]{16})?)$')
# What a LUN can be backed by: {type: {'lio_plugin': LIO's backstore plugin}}
BACKING_STORES = {
    'file': {'lio_plugin': 'fileio'},
    'block': {'lio_plugin': 'block'},
}
TGT_LIVE_RE = re.compile(r'(?ms)^Target (\d+): (\S+)\n(.*?)(?=^Target \d+: |\Z)')


def to_int(value, default=0):
    """Ansible's `int` filter: a number, or `default` when it is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return default


def backing_store(path):
    """The type of backing store (a key of BACKING_STORES) a LUN path names."""
    return 'block' if path.startswith('/dev/') else 'file'


def target_name(iqn, name=None):
    short = iqn.split(':')[-1] if ':' in iqn else iqn
    return re.sub(r'[^A-Za-z0-9_.-]', '_', text(name or short))


def normalize_lun(lun, index, iqn, name, backend):
    num = to_int(or_default(lun, 'lun', index + (1 if backend == 'tgt' else 0)))
    path = text(lun.get('path', ''))
    kind = backing_store(path)
    return {
        'lun': num,
        'path': path,
        'block': kind == 'block',
        'backing_store': kind,
        'size': text(or_default(lun, 'size', '')),
        'readonly': to_bool(lun.get('readonly', False)),
        'write_cache': to_bool(lun.get('write_cache', True)),
        'serial': text(or_default(lun, 'serial', hashlib.sha1(('%s/%d' % (iqn, num)).encode('utf-8')).hexdigest())),
        'lio_wwn': text(or_default(lun, 'serial', to_uuid('%s/%d' % (iqn, num)))),
        'lio_plugin': BACKING_STORES[kind]['lio_plugin'],
        'lio_name': re.sub(r'[^A-Za-z0-9_-]', '_', '%s_lun%d' % (name, num)),
    }


def normalize_target(target, backend):
    """One target of sanboot_iscsi_target_targets with every default filled in (CHAP secrets included)."""
    iqn = text(target.get('iqn', '')).strip()
    name = target_name(iqn, target.get('name'))
    chap = or_default(target, 'chap', {})
    return {
        'iqn': iqn,
        'name': name,
        'state': or_default(target, 'state', 'present'),
        'luns': [normalize_lun(lun if isinstance(lun, dict) else {}, index, iqn, name, backend)
                 for index, lun in enumerate(or_default(target, 'luns', []))],
        'initiators': [text(i) for i in or_default(target, 'initiators', [])],
        'initiator_addresses': [text(a) for a in or_default(target, 'initiator_addresses', [])],
        'allow_any_initiator': to_bool(target.get('allow_any_initiator', False)),
        'chap': dict((key, text(or_default(chap, key, '')))
                     for key in ('username', 'password', 'mutual_username', 'mutual_password')),
    }


def public(target):
    """The same record without secrets, for checks, messages and loop labels."""
    chap = target['chap']
    out = dict(target)
    out['chap'] = {
        'username': chap['username'],
        'mutual_username': chap['mutual_username'],
        'password_set': chap['password'] != '',
        'password_len': len(chap['password']),
        'mutual_password_set': chap['mutual_password'] != '',
        'mutual_password_len': len(chap['mutual_password']),
        'secrets_differ': chap['password'] != chap['mutual_password'],
    }
    return out


def check_target(t, backend):
    """The messages for one target (public record), [] when it is fine."""
    errors = []
    if not NAME_RE.match(t['iqn']) or t['state'] not in ('present', 'absent'):
        errors.append('Target %s: not a valid iSCSI name (iqn.YYYY-MM.reversed.domain[:identifier], eui.* or naa.*), '
                      'or state %s is not present/absent.' % (t['iqn'], t['state']))
    if t['state'] != 'present':
        return errors
    luns = t['luns']
    numbers = [lun['lun'] for lun in luns]
    paths = [lun['path'] for lun in luns]
    first = 1 if backend == 'tgt' else 0
    if not luns or len(set(numbers)) != len(numbers) or min(numbers) < first or max(numbers) > 255 \
            or any(not p.startswith('/') for p in paths):
        errors.append('Target %s: needs at least one LUN, LUN numbers must be unique and between %s, and every LUN '
                      'path must be absolute. Got: %s %s.' % (
                          t['iqn'], '1 and 255 (with tgt, LUN 0 is the controller: the first disk is LUN 1)'
                          if backend == 'tgt' else '0 and 255', numbers, paths))
    if not (t['initiators'] or t['allow_any_initiator']) \
            or any(not NAME_RE.match(i) for i in t['initiators']) \
            or (backend != 'tgt' and t['initiator_addresses']) \
            or (backend != 'tgt' and not t['initiators'] and any(lun['readonly'] and not lun['block'] for lun in luns)):
        errors.append('Target %s: list the initiator IQNs allowed to log in (initiators: [...]), or set '
                      'allow_any_initiator: true to export it to every initiator that can reach the portal. '
                      'Initiator names must be valid iSCSI names%s.' % (
                          t['iqn'], '' if backend == 'tgt' else
                          '; initiator_addresses is a tgt-only setting (LIO has no address ACLs); and LIO can '
                          'write-protect a file-backed LUN only through initiator ACLs, so readonly file LUNs need '
                          'initiators'))
    chap = t['chap']
    if (chap['username'] != '') != chap['password_set'] \
            or (chap['mutual_username'] != '') != chap['mutual_password_set'] \
            or (chap['mutual_username'] != '' and chap['username'] == '') \
            or (chap['password_set'] and not 12 <= chap['password_len'] <= 16) \
            or (chap['mutual_password_set'] and not 12 <= chap['mutual_password_len'] <= 16) \
            or (chap['mutual_password_set'] and not chap['secrets_differ']) \
            or re.search(r'\s', chap['username']) or re.search(r'\s', chap['mutual_username']):
        errors.append('Target %s: CHAP needs username and password together; mutual CHAP (mutual_username, '
                      'mutual_password) needs one-way CHAP too. Secrets must be 12 to 16 characters (the Microsoft '
                      'iSCSI initiator that takes over from iPXE refuses others) and the mutual secret must differ '
                      "from the initiator's." % t['iqn'])
    return errors


def duplicates(values):
    seen, dup = set(), []
    for value in values:
        if value in seen and value not in dup:
            dup.append(value)
        seen.add(value)
    return dup


def check_list(public_targets, backend, portals):
    """The messages for the list as a whole and for the portals."""
    errors = []
    present = [t for t in public_targets if t['state'] == 'present']
    iqns = [t['iqn'] for t in public_targets]
    names = [t['name'] for t in public_targets]
    paths = [lun['path'] for t in present for lun in t['luns']]
    users = [u for t in present for u in (t['chap']['username'], t['chap']['mutual_username']) if u]
    dup = duplicates(iqns) + duplicates(names) + duplicates(paths) + (duplicates(users) if backend == 'tgt' else [])
    if dup:
        errors.append('Target IQNs and names must be unique, a backing file or device may back only one LUN '
                      '(tgt-admin silently skips one that is already open), and with tgt every CHAP user name must '
                      'be unique across targets (tgtd keeps accounts globally by name). Used more than once: %s.'
                      % ', '.join(dup))
    for portal in portals or []:
        port = to_int(portal.get('port', 3260)) if isinstance(portal, dict) else 0
        if not isinstance(portal, dict) or not text(portal.get('address') or '') or not 1 <= port <= 65535:
            errors.append('Portal %s: needs an address and a port between 1 and 65535.' % (portal,))
    return errors


def normalize(targets, backend='tgt', portals=None):
    """sanboot_iscsi_target_targets -> {'targets': records with secrets, 'public': without, 'present', 'absent'
    (public records by state), 'errors': every message for the whole list (no secret in them)}."""
    records = [normalize_target(t if isinstance(t, dict) else {}, backend) for t in targets or []]
    views = [public(t) for t in records]
    errors = []
    for t in views:
        errors.extend(check_target(t, backend))
    errors.extend(check_list(views, backend, portals))
    return {
        'targets': records,
        'public': views,
        'present': [t for t in views if t['state'] == 'present'],
        'absent': [t for t in views if t['state'] == 'absent'],
        'errors': errors,
    }


def parse_tgt_live(out):
    """{iqn: {'tid', 'connected', 'paths', 'acls', 'accounts'}} from `tgtadm --mode target --op show`."""
    live = {}
    for tid, iqn, body in TGT_LIVE_RE.findall(out or ''):
        acl_part = (body.split('ACL information:') + [''])[1]
        acct_part = (body.split('Account information:') + [''])[1].split('ACL information:')[0]
        live[iqn] = {
            'tid': int(tid),
            'connected': 'Connection:' in body,
            'paths': re.findall(r'Backing store path: (/\S*)', body),
            'acls': re.findall(r'(?m)^\s+(\S+)\s*$', acl_part),
            'accounts': re.findall(r'(?m)^\s+(\S+)(?: \(outgoing\))?\s*$', acct_part),
        }
    return live


def _users(t):
    return [u for u in (t['chap']['username'], t['chap']['mutual_username']) if u]


def tgt_plan(live_out, present, absent, applied, checksums, details=True):
    """What to do with the running tgtd: a target is (re)applied when its configuration file changed since it was
    last applied (`applied` and `checksums`: {iqn: checksum}), or when tgtd does not have it (tgtd keeps nothing
    across restarts); it is busy when an initiator is logged in. `missing` says, per present target, what tgtd
    lacks of it; `live` is what tgtd runs. Without `details`, only the lists (a small fact for hundreds of
    targets)."""
    live = parse_tgt_live(live_out)
    applied = applied or {}
    checksums = checksums or {}
    plan = {'live': live, 'apply': [], 'busy': [], 'delete': [], 'delete_busy': [], 'missing': {}}
    for t in present:
        state = live.get(t['iqn'])
        users = _users(t)
        if state is None or applied.get(t['iqn']) != checksums.get(t['iqn']):
            item = {'iqn': t['iqn'], 'name': t['name'], 'users': users}
            plan['busy' if state is not None and state['connected'] else 'apply'].append(item)
        if state is None:
            missing = ['target ' + t['iqn']]
        else:
            missing = (['LUN backing store ' + lun['path'] for lun in t['luns'] if lun['path'] not in state['paths']]
                       + ['initiator ACL ' + i for i in t['initiators'] if i not in state['acls']]
                       + ['address ACL ' + a for a in t['initiator_addresses'] if a not in state['acls']]
                       + ['CHAP account ' + u for u in users if u not in state['accounts']])
        plan['missing'][t['iqn']] = missing
    for t in absent:
        state = live.get(t['iqn'])
        if state is not None:
            item = {'iqn': t['iqn'], 'name': t['name'], 'users': _users(t)}
            plan['delete_busy' if state['connected'] else 'delete'].append(item)
    if not details:
        del plan['live'], plan['missing']
    return plan


def record(present, plan, applied, checksums, done):
    """The record of what was applied ({iqn: checksum}): targets applied now (`done`) or unchanged get their new
    checksum, targets skipped as busy keep their old one (so a later run retries them), absent targets still in
    use keep theirs."""
    applied = applied or {}
    pending = set(item['iqn'] for item in plan['apply'] + plan['busy'])
    done = set(done or [])
    out = {}
    for t in present:
        if t['iqn'] in done or t['iqn'] not in pending:
            out[t['iqn']] = checksums[t['iqn']]
        elif t['iqn'] in applied:
            out[t['iqn']] = applied[t['iqn']]
    for item in plan['delete_busy']:
        if item['iqn'] in applied:
            out[item['iqn']] = applied[item['iqn']]
    return out
