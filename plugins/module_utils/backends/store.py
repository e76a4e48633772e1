# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The overlay store of a fleet: read-only numbered versions of golden images, one qcow2 overlay per client.

Layout under the store folder (created 0700)::

    golden/<golden>/v<N>.qcow2     a version: 0444, never opened for writing (qemu-img reads it as a backing file)
    golden/<golden>/v<N>.json      where it came from: {"source", "size", "mtime_ns"} or {"promoted_from": client}
    overlays/<client>.qcow2        the client's disk: a qcow2 overlay whose backing file is one version
    overlays/<client>.json         {"golden", "version", "computer_name", "identity"}

Version 1 of a golden image is a qcow2 copy of the image the inventory names (``qemu-img convert``, which opens the
source read-only); when that source changes (size or modification time), the next run adds a version instead of
touching the one clients run on. ``promote`` flattens one client's overlay into the next version. Every file is
written under a temporary name and renamed into place, so a killed run leaves no half version or overlay.

Knows nothing of Windows (identity is windows/identity.py) or of iSCSI (the roles serve the exports, export.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

VERSION_RE = re.compile(r'^v(\d+)\.qcow2$')
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')


class StoreError(RegistryError):
    pass


def check_name(kind, name):
    """Golden and client names become file names: refuse anything else."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise StoreError('%s name %r: use letters, digits, ".", "_" and "-" (at most 64, not starting with a '
                         'punctuation mark)' % (kind, name))
    return name


def _run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise StoreError('%s failed: %s' % (what, (proc.stderr or proc.stdout).strip()))
    return proc.stdout


def write_json(path, data):
    """Atomically: a temporary file beside it, then rename."""
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    os.rename(tmp, path)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def image_info(path):
    """qemu-img info (with -U: a running export holds the image's lock)."""
    return json.loads(_run(['qemu-img', 'info', '-U', '--output=json', path], 'qemu-img info %s' % path))


def allocated_bytes(path):
    """Bytes the file takes on disk (its blocks), what the store pays for it."""
    try:
        return os.stat(path).st_blocks * 512
    except OSError:
        return 0


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class Store(object):
    """One overlay store folder."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.golden_dir = os.path.join(self.root, 'golden')
        self.overlay_dir = os.path.join(self.root, 'overlays')

    # folders ----------------------------------------------------------------------------------------
    def ensure(self, check_mode=False):
        """Create the store's folders (0700); True when one was created."""
        made = False
        for folder in (self.root, self.golden_dir, self.overlay_dir):
            if not os.path.isdir(folder):
                made = True
                if not check_mode:
                    os.makedirs(folder, 0o700)
                    os.chmod(folder, 0o700)
        return made

    # golden versions --------------------------------------------------------------------------------
    def version_path(self, golden, version):
        return os.path.join(self.golden_dir, check_name('golden image', golden), 'v%d.qcow2' % int(version))

    def versions(self, golden):
        """The versions of a golden image, oldest first."""
        folder = os.path.join(self.golden_dir, golden)
        if not os.path.isdir(folder):
            return []
        found = [int(m.group(1)) for m in (VERSION_RE.match(n) for n in os.listdir(folder)) if m]
        return sorted(found)

    def goldens(self):
        if not os.path.isdir(self.golden_dir):
            return []
        return sorted(n for n in os.listdir(self.golden_dir) if os.path.isdir(os.path.join(self.golden_dir, n)))

    def latest(self, golden):
        versions = self.versions(golden)
        return versions[-1] if versions else None

    def version_meta(self, golden, version):
        return read_json(self.version_path(golden, version)[:-len('.qcow2')] + '.json') or {}

    def source_changed(self, golden, source):
        """Whether ``source`` differs from what the newest version was made of (or there is no version yet)."""
        latest = self.latest(golden)
        if latest is None:
            return True
        meta = self.version_meta(golden, latest)
        if 'source' not in meta:            # the newest came from promote: a source that has not changed since
            meta = next((self.version_meta(golden, v) for v in reversed(self.versions(golden))
                         if 'source' in self.version_meta(golden, v)), {})
        st = os.stat(source)
        return (meta.get('source'), meta.get('size'), meta.get('mtime_ns')) != \
            (os.path.abspath(source), st.st_size, st.st_mtime_ns)

    def add_version(self, golden, source, meta, check_mode=False):
        """A new read-only version made of ``source`` (an image file, or a client's overlay: flattened); its
        number (the next one). The source is only read."""
        if not os.path.exists(source):
            raise StoreError('golden image %s: %s does not exist' % (golden, source))
        version = (self.latest(golden) or 0) + 1
        if check_mode:
            return version
        folder = os.path.dirname(self.version_path(golden, version))
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o700)
        path = self.version_path(golden, version)
        tmp = path + '.tmp'
        try:
            _run(['qemu-img', 'convert', '-U', '-q', '-O', 'qcow2', source, tmp],
                 'copying %s into golden image %s version %d' % (source, golden, version))
            os.chmod(tmp, 0o444)
            write_json(path[:-len('.qcow2')] + '.json', meta)
            os.rename(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return version

    def remove_version(self, golden, version):
        path = self.version_path(golden, version)
        for name in (path, path[:-len('.qcow2')] + '.json'):
            if os.path.exists(name):
                os.unlink(name)

    # overlays ---------------------------------------------------------------------------------------
    def overlay_path(self, client):
        return os.path.join(self.overlay_dir, check_name('client', client) + '.qcow2')

    def overlay_meta(self, client):
        return read_json(self.overlay_path(client)[:-len('.qcow2')] + '.json')

    def set_overlay_meta(self, client, meta):
        write_json(self.overlay_path(client)[:-len('.qcow2')] + '.json', meta)

    def clients(self):
        if not os.path.isdir(self.overlay_dir):
            return []
        return sorted(n[:-len('.qcow2')] for n in os.listdir(self.overlay_dir) if n.endswith('.qcow2'))

    def users_of(self, golden, version):
        """The clients whose overlay is on this version."""
        return [c for c in self.clients() if (self.overlay_meta(c) or {}).get('golden') == golden
                and (self.overlay_meta(c) or {}).get('version') == int(version)]

    def create_overlay(self, golden, version, path):
        """A qcow2 file at ``path`` whose backing file is the version (which qemu-img only reads)."""
        backing = self.version_path(golden, version)
        if not os.path.exists(backing):
            raise StoreError('golden image %s has no version %s' % (golden, version))
        _run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', backing, path],
             'creating the overlay %s' % path)
        os.chmod(path, 0o600)
        return path

    def backing_of(self, client):
        info = image_info(self.overlay_path(client))
        return info.get('full-backing-filename') or info.get('backing-filename')

    def remove_overlay(self, client):
        base = self.overlay_path(client)[:-len('.qcow2')]
        for name in (base + '.qcow2', base + '.json'):
            if os.path.exists(name):
                os.unlink(name)
