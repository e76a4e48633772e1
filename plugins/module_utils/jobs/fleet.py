# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_overlay job: golden image versions, one copy-on-write overlay per client with its identity, their
exports, and the lifecycle (status, reset, promote, retire) on one boot server.

``converge`` (the fleet role, from boot_server.yml): a version 1 of each golden image (a new version when its source
changed), an overlay on the newest version for each client that has none, the client's computer name written into
it offline (and for a generalized image its Panther\\unattend.xml), then its export started (daemon mode). Returns
``disks``: the raw file each client's target serves. Refuses to create overlays when the store's free space is
below the reserve.

``status`` reports per client, and fails naming the clients over ``max_size`` or when the free space is below the
reserve; ``reset`` puts a client back on the newest version (refused while it is logged in unless ``force``);
``promote`` makes one client's disk the next version of its golden image; ``retire`` removes a version nobody uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess

from ansible_collections.sanboot.windows.plugins.module_utils.backends import export as export_backend
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
from ansible_collections.sanboot.windows.plugins.module_utils.backends.store import (
    Store, StoreError, allocated_bytes, free_bytes, write_json)
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError
from ansible_collections.sanboot.windows.plugins.module_utils.windows import identity

ACTIONS = ('converge', 'status', 'reset', 'promote', 'retire')

ARGUMENT_SPEC = dict(
    store=dict(type='path', required=True),
    action=dict(type='str', default='converge', choices=list(ACTIONS)),
    goldens=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        image=dict(type='path', required=True),
        identity=dict(type='bool', default=True),
        processor_architecture=dict(type='str', default='amd64', choices=['amd64', 'x86', 'arm64']),
    )),
    clients=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        golden=dict(type='str', required=True),
        computer_name=dict(type='str'),
        target_iqn=dict(type='str'),
    )),
    only=dict(type='list', elements='str'),
    exports=dict(type='str', default='daemon', choices=['daemon', 'systemd', 'none']),
    unattend_template=dict(type='path'),
    force=dict(type='bool', default=False),
    golden=dict(type='str'),
    version=dict(type='int'),
    max_size=dict(type='str'),
    reserve=dict(type='str', default='0'),
    tgt_control_port=dict(type='int'),
    report=dict(type='path'),
)

UNIT = 'sanboot-overlay@%s.service'


class FleetError(RegistryError):
    def __init__(self, msg, **data):
        RegistryError.__init__(self, msg)
        self.data = data


def argument_spec():
    return ARGUMENT_SPEC


def to_bytes(text, what):
    """'10G', '512M', '1.5T', '4096' -> bytes (binary units, as qemu-img and the iscsi_target role read them)."""
    if text is None or str(text).strip() == '':
        return None
    m = re.match(r'^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?\s*$', str(text), re.I)
    if not m:
        raise FleetError('%s %r is not a size (examples: 20G, 512M, 1T)' % (what, text))
    return int(float(m.group(1)) * (1024 ** ' KMGTP'.index(m.group(2).upper() or ' ')))


def human(size):
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(size) < 1024 or unit == 'TiB':
            return ('%d %s' % (size, unit)) if unit == 'B' else ('%.1f %s' % (size, unit))
        size /= 1024.0
    return str(size)


# ---------------------------------------------------------------------------------------------------------
# Identity, written offline into an overlay that is not exported

def write_identity(items, template, check_mode):
    """Write each item's computer name into its overlay's SYSTEM hive (and, when the image is generalized, its answer
    file), all in one appliance. ``items``: [(overlay path, client, name, processor architecture)]. Returns one
    {'changed', 'generalized', 'image_state', 'control_sets'} per item."""
    if not items:
        return []
    params = {'images': [{'path': i[0], 'format': 'qcow2'} for i in items], 'backup': False}
    out = []
    with offline.Target(params, check_mode, hive_name='SYSTEM', extra_hives=('SOFTWARE',)) as target:
        outcomes = []
        for place, (_path, client, name, arch) in zip(target.places, items):
            software = Hive(place.hives['SOFTWARE']) if place.hives.get('SOFTWARE') else None
            state = identity.image_state(software)
            with HiveSet([('SYSTEM', place.hives['SYSTEM'])], check_mode) as hives:
                try:
                    sets = identity.plan_identity(hives.planners['SYSTEM'], name)
                except identity.IdentityError as exc:
                    raise FleetError('client %s: %s' % (client, exc))
                write = hives.write(backup=False)[0]
            changed = bool(write.plan)
            generalized = identity.is_generalized(state)
            if generalized:
                text = identity.render_unattend(template, name, arch).encode('utf-8')
                if place.view.read(identity.UNATTEND_PATH) != text:
                    changed = True
                    if not check_mode:
                        local = os.path.join(place.editor.workdir, 'unattend.xml')
                        with open(local, 'wb') as f:
                            f.write(text)
                        place.editor.put_file(local, '/' + place.editor.install.systemroot.strip('/') + '/Panther',
                                              'unattend.xml')
            outcomes.append(offline.Outcome({'changed': changed, 'changes': write.plan.as_list()}))
            out.append({'changed': changed, 'generalized': generalized, 'image_state': state, 'control_sets': sets})
        target.finish(outcomes)
    return out


# ---------------------------------------------------------------------------------------------------------
# The job

class Fleet(object):
    def __init__(self, params, check_mode):
        self.p = params
        self.check_mode = check_mode
        self.store = Store(params['store'])
        self.goldens = dict((g['name'], g) for g in params.get('goldens') or [])
        self.clients = dict((c['name'], c) for c in params.get('clients') or [])
        self.changed = False
        self.messages = []
        template = identity.DEFAULT_UNATTEND
        if params.get('unattend_template'):
            with open(params['unattend_template']) as f:
                template = f.read()
        self.template = template
        self._sessions = False

    # helpers ----------------------------------------------------------------------------------------
    def selected(self):
        names = self.p.get('only')
        if not names:
            return sorted(self.clients)
        unknown = [n for n in names if n not in self.clients and n not in self.store.clients()]
        if unknown:
            raise FleetError('unknown client(s): %s (not in the inventory group, no overlay)' % ', '.join(unknown))
        return list(names)

    def computer_name(self, client):
        c = self.clients.get(client) or {}
        name = c.get('computer_name') or identity.default_computer_name(client)
        return identity.check_computer_name(name, client)

    def export(self, client):
        return export_backend.Export(self.store.root, client, self.store.overlay_path(client))

    def sessions(self):
        if self._sessions is False:
            self._sessions = export_backend.tgt_sessions(self.p.get('tgt_control_port'))
        return self._sessions

    def logged_in(self, client):
        iqn = (self.clients.get(client) or {}).get('target_iqn')
        sessions = self.sessions()
        if not iqn or sessions is None:
            return None
        return bool(sessions.get(iqn))

    def check_reserve(self, what):
        reserve = to_bytes(self.p.get('reserve'), 'sanboot_overlay_reserve') or 0
        if not os.path.isdir(self.store.root):
            return
        free = free_bytes(self.store.root)
        if free < reserve:
            raise FleetError('the overlay store %s has %s free, less than the reserve of %s (sanboot_overlay_reserve): '
                             '%s refused. Free space there, or retire old golden versions.'
                             % (self.store.root, human(free), human(reserve), what))

    def start_export(self, client):
        if self.p['exports'] == 'daemon' and not self.check_mode:
            return self.export(client).start()
        return False

    def stop_export(self, client):
        if self.check_mode:
            return
        if self.p['exports'] == 'daemon':
            self.export(client).stop()
        elif self.p['exports'] == 'systemd':
            subprocess.run(['systemctl', 'stop', UNIT % client], capture_output=True, check=False)

    def restart_systemd(self, client):
        if self.p['exports'] == 'systemd' and not self.check_mode:
            subprocess.run(['systemctl', 'start', UNIT % client], capture_output=True, check=False)

    def relink_tgt(self, client, mountpoint):
        """tgtd keeps the export's file open: a LUN on a restarted export would read a dead FUSE connection.
        Returns a function that puts the LUN back after the export restarts (or None without tgt)."""
        port = self.p.get('tgt_control_port')
        iqn = (self.clients.get(client) or {}).get('target_iqn')
        if self.check_mode or not iqn:
            return None
        base = ['tgtadm'] + (['-C', str(port)] if port is not None else []) + ['--lld', 'iscsi']
        proc = subprocess.run(base + ['--op', 'show', '--mode', 'target'], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return None
        tid = lun = candidate = None
        current = None
        for line in proc.stdout.splitlines():
            head = re.match(r'^Target (\d+): (\S+)', line)
            if head:
                current = head.group(1) if head.group(2) == iqn else None
            m = re.match(r'^\s+LUN: (\d+)', line)
            if current and m:
                candidate = m.group(1)
            b = re.match(r'^\s+Backing store path: (\S+)', line)
            if current and b and b.group(1) == mountpoint:
                tid, lun = current, candidate
        if tid is None:
            return None
        subprocess.run(base + ['--op', 'delete', '--mode', 'logicalunit', '--tid', tid, '--lun', lun],
                       capture_output=True, check=False)

        def relink():
            subprocess.run(base + ['--op', 'new', '--mode', 'logicalunit', '--tid', tid, '--lun', lun,
                                   '--backing-store', mountpoint], capture_output=True, check=True)
        return relink

    def new_overlays(self, wanted):
        """Create overlays, each on its version with its identity (one appliance for all), then rename each into
        place atomically. ``wanted``: [(client, golden, version)]."""
        if self.check_mode or not wanted:
            return
        made = []
        try:
            for client, golden, version in wanted:
                final = self.store.overlay_path(client)
                tmp = final[:-len('.qcow2')] + '.new.qcow2'
                if os.path.exists(tmp):
                    os.unlink(tmp)
                self.store.create_overlay(golden, version, tmp)
                made.append((client, golden, version, tmp, final))
            items = [(tmp, client, self.computer_name(client),
                      (self.goldens.get(golden) or {}).get('processor_architecture') or 'amd64')
                     for client, golden, _v, tmp, _f in made if (self.goldens.get(golden) or {}).get('identity', True)]
            done = dict((item[1], d) for item, d in zip(items, write_identity(items, self.template, False)))
            for client, golden, version, tmp, final in made:
                meta = {'golden': golden, 'version': version, 'computer_name': self.computer_name(client),
                        'identity': None}
                if client in done:
                    meta['identity'] = 'unattend' if done[client]['generalized'] else 'registry'
                    meta['image_state'] = done[client]['image_state']
                os.rename(tmp, final)
                self.store.set_overlay_meta(client, meta)
        finally:
            for _c, _g, _v, tmp, _f in made:
                if os.path.exists(tmp):
                    os.unlink(tmp)

    # actions ----------------------------------------------------------------------------------------
    def converge(self):
        for client, c in sorted(self.clients.items()):
            if c['golden'] not in self.goldens:
                raise FleetError('client %s: sanboot_golden %r names no golden image of sanboot_golden_images (%s)'
                                 % (client, c['golden'], ', '.join(sorted(self.goldens)) or 'none declared'))
            self.computer_name(client)
        if self.store.ensure(self.check_mode):
            self.changed = True
        versions = {}
        for name, g in sorted(self.goldens.items()):
            if not os.path.exists(g['image']):
                raise FleetError('golden image %s: %s does not exist' % (name, g['image']))
            if self.store.source_changed(name, g['image']):
                self.check_reserve('adding a version of golden image %s' % name)
                st = os.stat(g['image'])
                version = self.store.add_version(name, g['image'], {
                    'source': os.path.abspath(g['image']), 'size': st.st_size, 'mtime_ns': st.st_mtime_ns},
                    self.check_mode)
                self.messages.append('golden image %s: version %d added from %s' % (name, version, g['image']))
                self.changed = True
                versions[name] = version
            else:
                versions[name] = self.store.latest(name)
        disks = {}
        create = []
        for client, c in sorted(self.clients.items()):
            meta = self.store.overlay_meta(client) if os.path.exists(self.store.overlay_path(client)) else None
            name = self.computer_name(client)
            if meta is None:
                self.check_reserve('creating the overlay of client %s' % client)
                create.append((client, c['golden'], versions[c['golden']]))
                self.messages.append('client %s: overlay created on %s version %d' % (
                    client, c['golden'], versions[c['golden']]))
                self.changed = True
            elif meta.get('computer_name') != name and (self.goldens[c['golden']].get('identity', True)):
                self.changed = True
                if not self.check_mode:
                    if self.logged_in(client):
                        raise FleetError('client %s is logged in: its computer name (%s -> %s) can change only '
                                         'while it is off' % (client, meta.get('computer_name'), name))
                    relink = self.relink_tgt(client, self.export(client).mountpoint)
                    self.stop_export(client)
                    g = self.goldens[c['golden']]
                    write_identity([(self.store.overlay_path(client), client, name,
                                     g.get('processor_architecture') or 'amd64')], self.template, False)
                    meta['computer_name'] = name
                    self.store.set_overlay_meta(client, meta)
                    self.start_export(client)
                    self.restart_systemd(client)
                    if relink:
                        relink()
                self.messages.append('client %s: computer name set to %s' % (client, name))
        self.new_overlays(create)
        for client in sorted(self.clients):
            if self.start_export(client):
                self.changed = True
            disks[client] = self.export(client).mountpoint
        return {'disks': disks, 'versions': dict((g, self.store.versions(g)) for g in self.goldens)}

    def status(self):
        max_size = to_bytes(self.p.get('max_size'), 'sanboot_overlay_max_size')
        reserve = to_bytes(self.p.get('reserve'), 'sanboot_overlay_reserve') or 0
        clients = {}
        over = []
        for client in self.selected():
            meta = self.store.overlay_meta(client) or {}
            path = self.store.overlay_path(client)
            size = allocated_bytes(path) if os.path.exists(path) else None
            clients[client] = {
                'golden': meta.get('golden') or (self.clients.get(client) or {}).get('golden'),
                'version': meta.get('version'),
                'allocated_bytes': size,
                'logged_in': self.logged_in(client),
                'computer_name': meta.get('computer_name'),
                'exported': self.export(client).running() if self.p['exports'] == 'daemon' else None,
            }
            if max_size is not None and size is not None and size > max_size:
                over.append(client)
        goldens = sorted(set(self.store.goldens()) | set(self.goldens))
        report = {
            'clients': clients,
            'versions': dict((g, self.store.versions(g)) for g in goldens),
            'store_free_bytes': free_bytes(self.store.root) if os.path.isdir(self.store.root) else None,
        }
        header = ('client', 'golden', 'version', 'allocated', 'logged in', 'computer name')
        lines = ['%-20s %-12s %7s %12s %-9s %s' % header]
        for client, c in sorted(clients.items()):
            lines.append('%-20s %-12s %7s %12s %-9s %s' % (
                client, c['golden'] or '-', c['version'] if c['version'] is not None else '-',
                human(c['allocated_bytes']) if c['allocated_bytes'] is not None else 'no overlay',
                {True: 'yes', False: 'no', None: '?'}[c['logged_in']], c['computer_name'] or '-'))
        if report['store_free_bytes'] is not None:
            lines.append('store %s: %s free' % (self.store.root, human(report['store_free_bytes'])))
        for g, vs in sorted(report['versions'].items()):
            lines.append('golden %s: versions %s' % (g, ', '.join(str(v) for v in vs) or 'none'))
        out = {'report': report, 'table': lines}
        if self.p.get('report') and not self.check_mode:
            write_json(self.p['report'], report)
        problems = []
        if over:
            problems.append('overlay larger than sanboot_overlay_max_size (%s): %s'
                            % (human(max_size), ', '.join('%s (%s)' % (c, human(clients[c]['allocated_bytes']))
                                                          for c in over)))
        if report['store_free_bytes'] is not None and report['store_free_bytes'] < reserve:
            problems.append('the overlay store has %s free, less than sanboot_overlay_reserve (%s)'
                            % (human(report['store_free_bytes']), human(reserve)))
        if problems:
            raise FleetError('; '.join(problems), **out)
        return out

    def reset(self):
        names = self.selected()
        busy = [c for c in names if self.logged_in(c)]
        if busy and not self.p.get('force'):
            raise FleetError('reset refused: logged in now: %s (a reset discards the disk under a running Windows). '
                             'Shut them down first, or set sanboot_overlay_force: true.' % ', '.join(busy))
        self.check_reserve('reset')
        done = {}
        relinks = []
        for client in names:
            meta = self.store.overlay_meta(client) or {}
            golden = meta.get('golden') or (self.clients.get(client) or {}).get('golden')
            if golden is None:
                raise FleetError('client %s has no overlay and no sanboot_golden' % client)
            version = self.store.latest(golden)
            if version is None:
                raise FleetError('client %s: golden image %s has no version' % (client, golden))
            self.changed = True
            if not self.check_mode:
                relinks.append(self.relink_tgt(client, self.export(client).mountpoint))
                self.stop_export(client)
            done[client] = {'golden': golden, 'version': version}
        # the old overlays stay until the new ones are in place (rename)
        self.new_overlays([(c, d['golden'], d['version']) for c, d in sorted(done.items())])
        if not self.check_mode:
            for client in names:
                self.start_export(client)
                self.restart_systemd(client)
            for relink in relinks:
                if relink:
                    relink()
        return {'reset': done}

    def promote(self):
        names = self.p.get('only') or []
        if len(names) != 1:
            raise FleetError('promote takes exactly one client (sanboot_overlay_clients), got %d' % len(names))
        client = names[0]
        meta = self.store.overlay_meta(client)
        if not meta:
            raise FleetError('client %s has no overlay to promote' % client)
        if self.logged_in(client) and not self.p.get('force'):
            raise FleetError('promote refused: client %s is logged in; shut it down first (its disk must be quiet), '
                             'or set sanboot_overlay_force: true' % client)
        self.check_reserve('promote')
        golden = meta['golden']
        self.changed = True
        if self.check_mode:
            return {'golden': golden, 'version': (self.store.latest(golden) or 0) + 1}
        relink = self.relink_tgt(client, self.export(client).mountpoint)
        self.stop_export(client)
        try:
            version = self.store.add_version(golden, self.store.overlay_path(client), {
                'promoted_from': client, 'base_version': meta.get('version')})
        finally:
            self.start_export(client)
            self.restart_systemd(client)
            if relink:
                relink()
        return {'golden': golden, 'version': version}

    def retire(self):
        golden, version = self.p.get('golden'), self.p.get('version')
        if not golden or version is None:
            raise FleetError('retire needs the golden image (sanboot_golden) and sanboot_golden_version')
        if version not in self.store.versions(golden):
            return {'golden': golden, 'version': version}
        users = self.store.users_of(golden, version)
        if users:
            raise FleetError('golden image %s version %d is in use by: %s; reset them onto another version first'
                             % (golden, version, ', '.join(users)), users=users)
        self.changed = True
        if not self.check_mode:
            self.store.remove_version(golden, version)
        return {'golden': golden, 'version': version}


def run(params, check_mode):
    fleet = Fleet(params, check_mode)
    action = params.get('action') or 'converge'
    try:
        out = getattr(fleet, action)()
    except (StoreError, export_backend.ExportError, identity.IdentityError) as exc:
        raise FleetError(str(exc))
    out['changed'] = fleet.changed
    out['messages'] = fleet.messages
    return out


def run_module(module):
    try:
        result = run(module.params, module.check_mode)
    except FleetError as exc:
        module.fail_json(msg=str(exc), **exc.data)
    except RegistryError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)
