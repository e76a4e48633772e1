# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disk image back-end on libguestfs: find the Windows installation, edit its hives with the same engine.

Every image gets a qcow2 overlay (backing file: the image) in a temporary folder, and the libguestfs appliance
writes only to the overlays. The image itself changes only at the very end, when the overlay's few changed
clusters are committed with `qemu-img commit`. Anything that fails before that - a full file system, a driver
file missing from the package, a killed process - leaves the image untouched. Several images share one
appliance (its launch is most of the cost).

libguestfs' Python bindings ship with the distribution (Debian python3-guestfs, Fedora python3-libguestfs).
On hosts where KVM misbehaves, set LIBGUESTFS_BACKEND_SETTINGS=force_tcg (the collection never forces it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from ansible_collections.sanboot.windows.plugins.module_utils.backends import lock
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

try:
    import guestfs
    HAS_GUESTFS = True
    GUESTFS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the host
    HAS_GUESTFS = False
    GUESTFS_IMPORT_ERROR = str(exc)

FORMATS = ('raw', 'qcow2', 'vmdk', 'vhdx', 'vpc', 'vdi', 'qed')


class ImageError(RegistryError):
    pass


# ---------------------------------------------------------------------------------------------------------
# Checks before anything is opened

def writers_of(path):
    """PIDs of other processes that have ``path`` open for writing (Linux /proc)."""
    target = os.path.realpath(path)
    pids = []
    for pid in os.listdir('/proc') if os.path.isdir('/proc') else []:
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        fd_dir = '/proc/%s/fd' % pid
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(os.path.join(fd_dir, fd)) != target:
                    continue
                with open('/proc/%s/fdinfo/%s' % (pid, fd)) as f:
                    flags = [line.split()[1] for line in f if line.startswith('flags:')]
            except OSError:
                continue
            if flags and int(flags[0], 8) & 0o3:      # O_WRONLY or O_RDWR
                pids.append(int(pid))
                break
    return pids


def check_exists(path):
    if not os.path.exists(path):
        raise ImageError('disk image %s does not exist' % path)
    if os.path.isdir(path):
        raise ImageError('%s is a directory, not a disk image' % path)


def inspect_file(path, fmt=None):
    """qemu-img's view of an image: {'format', 'virtual-size', ...}; ImageError for anything unusable."""
    check_exists(path)
    busy = writers_of(path)
    if busy:
        raise ImageError('disk image %s is open for writing by another process (PID %s); stop it (a running VM?) '
                         'before editing the image. Nothing was changed.' % (path, ', '.join(map(str, busy))))
    cmd = ['qemu-img', 'info', '--output=json'] + (['-f', fmt] if fmt else []) + [path]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'qemu-img failed'
        if 'lock' in message:
            raise ImageError('disk image %s is locked by another process (%s). Nothing was changed.' % (path, message))
        raise ImageError('%s is not a disk image qemu-img can open (%s). Nothing was changed.' % (path, message))
    info = json.loads(proc.stdout)
    if fmt is None and info.get('format') not in FORMATS:
        raise ImageError('%s: unexpected image format %r; give format explicitly' % (path, info.get('format')))
    if info.get('backing-filename'):
        # An overlay of ours on top of another overlay is fine for qemu, but committing would write into the
        # parent chain's top only; say so rather than surprise.
        pass
    return info


# ---------------------------------------------------------------------------------------------------------
# Overlays

class Overlay(object):
    """A qcow2 file whose backing file is the image: the appliance writes here, the image stays as it is."""

    def __init__(self, image, fmt, workdir, index):
        self.image = os.path.abspath(image)
        self.fmt = fmt
        self.path = os.path.join(workdir, 'overlay-%d.qcow2' % index)
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', fmt, '-b', self.image, self.path],
                       check=True, capture_output=True)

    def commit(self):
        """Write the changed clusters into the image (the only step that touches it)."""
        proc = subprocess.run(['qemu-img', 'commit', '-q', self.path], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ImageError('qemu-img commit into %s failed: %s' % (self.image, proc.stderr.strip()))


# ---------------------------------------------------------------------------------------------------------
# The appliance

class WindowsInstall(object):
    """A Windows installation found on one of the session's drives."""

    def __init__(self, session, device, systemroot):
        self.session = session
        self.device = device
        self.systemroot = systemroot        # guest path, e.g. /Windows

    def describe(self):
        return '%s:%s' % (self.device, self.systemroot)


class GuestSession(object):
    """One libguestfs appliance for one or more images (through their overlays, or read-only)."""

    def __init__(self, drives, readonly):
        if not HAS_GUESTFS:
            raise ImageError('the libguestfs Python bindings are not installed on this host (Debian/Ubuntu: apt install '
                             'python3-guestfs; Fedora/RHEL: dnf install python3-libguestfs): %s'
                             % GUESTFS_IMPORT_ERROR)
        self.g = guestfs.GuestFS(python_return_dict=True)
        self.mounted = None
        # Two vCPUs: the appliance boots noticeably faster, most of all under TCG (multi-threaded TCG).
        if (os.cpu_count() or 1) >= 2:
            self.g.set_smp(2)
        try:
            for path, fmt in drives:
                self.g.add_drive_opts(path, format=fmt, readonly=readonly)
            self.g.launch()
        except RuntimeError as exc:
            self.close()
            raise ImageError('libguestfs could not start its appliance on %s: %s (on hosts where KVM misbehaves, set '
                             'LIBGUESTFS_BACKEND_SETTINGS=force_tcg)' % (', '.join(p for p, _f in drives), exc))
        self.devices = self.g.list_devices()
        self._ntfs = None

    def close(self):
        g, self.g = self.g, None
        if g is None:
            return
        try:
            if self.mounted:
                g.umount_all()
            g.shutdown()
        except RuntimeError:
            pass
        g.close()

    def finish(self):
        """Unmount, flush and stop the appliance; errors here mean the writes may be incomplete."""
        try:
            if self.mounted:
                self.g.umount_all()
                self.mounted = None
            self.g.sync()
            self.g.shutdown()
        except RuntimeError as exc:
            raise ImageError('libguestfs failed to flush its writes: %s; the image was not changed' % exc)
        finally:
            self.g.close()
            self.g = None

    def drive_of(self, device):
        """Index of the drive (as added) that holds a partition or file system device."""
        for index, dev in enumerate(self.devices):
            if device == dev or device.startswith(dev) and device[len(dev):].isdigit():
                return index
        raise ImageError('device %s belongs to no drive' % device)

    def find_windows(self, drive_index=None):
        """Every Windows installation: an NTFS file system with <systemroot>/System32/config/SYSTEM.

        A direct look rather than inspect_os(): it needs only the hives (inspection also wants executables to
        tell the architecture) and is much faster under TCG.
        """
        found = []
        for device in self.ntfs_filesystems():
            if drive_index is not None and self.drive_of(device) != drive_index:
                continue
            try:
                self.g.mount_ro(device, '/')
            except RuntimeError:
                continue
            try:
                for top in self.g.ls('/'):
                    root = '/' + top
                    if top.lower() in ('windows', 'winnt') and self.g.is_dir(root):
                        hive = self.resolve(root + '/system32/config/system')
                        if hive and self.g.is_file(hive):
                            found.append(WindowsInstall(self, device, root))
            finally:
                self.g.umount_all()
        return found

    def ntfs_filesystems(self):
        """NTFS file systems of all drives, looked up once per appliance.

        list_partitions + vfs_type, not list_filesystems: the latter also scans for LVM, MD and more, which takes
        seconds under TCG. Whole disks count too (unpartitioned images).
        """
        if self._ntfs is None:
            try:
                partitions = self.g.list_partitions()
            except RuntimeError as exc:
                raise ImageError('libguestfs cannot read the partitions: %s' % exc)
            candidates = partitions + [d for d in self.devices if not any(p.startswith(d) for p in partitions)]
            self._ntfs = []
            for device in candidates:
                try:
                    if self.g.vfs_type(device) == 'ntfs':
                        self._ntfs.append(device)
                except RuntimeError:
                    continue
        return self._ntfs

    def resolve(self, path):
        """Case-insensitive path (Windows names) -> the path as stored, or None when it does not exist."""
        try:
            real = self.g.case_sensitive_path(path)
        except RuntimeError:
            return None
        return real if self.g.exists(real) else None

    def mount(self, install, writable):
        if self.mounted == (install.device, writable):
            return
        if self.mounted:
            self.g.umount_all()
        try:
            if writable:
                self.g.mount(install.device, '/')
            else:
                self.g.mount_ro(install.device, '/')
        except RuntimeError as exc:
            raise ImageError('cannot mount %s%s: %s (a Windows that was hibernated or shut down with Fast Startup '
                             'cannot be mounted for writing; boot it and shut it down fully)'
                             % (install.device, ' for writing' if writable else '', exc))
        self.mounted = (install.device, writable)


# ---------------------------------------------------------------------------------------------------------
# Jobs

def _guest_join(*parts):
    return '/'.join(p.strip('/') for p in parts if p)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


class InstallEditor(object):
    """Download the hives of one installation, run an offline job on them, put the results back."""

    def __init__(self, session, install, workdir, check_mode, backup, image_name='image'):
        self.session = session
        self.g = session.g
        self.install = install
        self.workdir = workdir
        self.check_mode = check_mode
        self.backup = backup
        self.image_name = image_name
        self.lock = None            # the image's lock.Held (a writer's)
        self.reusable = {}          # hive name -> backup made earlier in this series of writes (lock.valid_backups)
        self.backups = {}           # hive name -> backup made by this run (None: none made)
        self.mount()
        self.config = session.resolve('/' + _guest_join(install.systemroot, 'system32', 'config'))

    def mount(self):
        """Mount this installation (the appliance mounts one at a time; a no-op when it is mounted already).
        Read-write unless in check mode: the appliance writes to the overlay."""
        self.session.mount(self.install, writable=not self.check_mode)

    def hive(self, name, required=True):
        """(guest path, local copy) of config/<name> (found case-insensitively)."""
        self.mount()
        guest = self.session.resolve(self.config + '/' + name)
        if guest is None or not self.g.is_file(guest):
            if required:
                raise ImageError('%s has no %s hive in %s' % (self.install.describe(), name, self.config))
            return None, None
        local = os.path.join(self.workdir, name)
        self.g.download(guest, local)
        # The engine replaces the file by rename, so this link keeps the original: the base for write_hive's
        # diff and the backup.
        os.link(local, local + '.orig')
        return guest, local

    def put_file(self, local, guest_dir, name):
        """Copy a file into the installation unless an identical one is there. Returns True when written."""
        self.mount()
        directory = self._mkdir(guest_dir)
        existing = self.session.resolve(_guest_join(directory, name))
        if existing and self.g.is_file(existing) and self.g.checksum('sha256', existing) == _sha256(local):
            return False
        self.g.upload(local, existing or '/' + _guest_join(directory, name))
        return True

    def _mkdir(self, guest_dir):
        self.mount()
        parts = [p for p in guest_dir.strip('/').split('/') if p]
        here = ''
        for part in parts:
            candidate = self.session.resolve(here + '/' + part)
            if candidate is None:
                candidate = here + '/' + part
                self.g.mkdir(candidate)
            here = candidate
        return here

    def write_hive(self, guest, local, backup_dir):
        """Put a hive written by the engine back, writing only the byte ranges that differ (pwrite), since
        uploading a whole hive through ntfs-3g is the slowest step of the appliance. The previous hive is kept
        on the host, beside the image, unless backup is off. Returns the backup path."""
        self.mount()
        with open(local + '.orig', 'rb') as f:
            old = f.read()
        with open(local, 'rb') as f:
            new = f.read()
        name = os.path.basename(guest).upper()
        previous = self.reusable.get(name)
        made = None
        if self.backup and not previous:
            made = self._keep_backup(local + '.orig', backup_dir, os.path.basename(guest))
        self.backups[name] = made
        backup = (made or previous) if self.backup else None
        for offset, data in changed_ranges(old, new):
            for start in range(0, len(data), PWRITE_MAX):
                chunk = data[start:start + PWRITE_MAX]
                written = self.g.pwrite(guest, chunk, offset + start)
                if written != len(chunk):
                    raise ImageError('short write to %s in the image' % guest)
        if len(new) < len(old):
            self.g.truncate_size(guest, len(new))
        return backup

    def _keep_backup(self, source, backup_dir, name):
        """Copy the hive as it was to <image>.<hive>.<timestamp>~ beside the image, with the image's owner and mode
        (minus execute bits): it holds the same data."""
        stamp = datetime.datetime.now().strftime('%Y-%m-%d@%H:%M:%S')
        backup = os.path.join(backup_dir, '%s.%s.%s~' % (self.image_name, name, stamp))
        counter = 1
        while os.path.lexists(backup):
            counter += 1
            backup = os.path.join(backup_dir, '%s.%s.%s.%d~' % (self.image_name, name, stamp, counter))
        image = os.path.join(backup_dir, self.image_name)
        try:
            shutil.copyfile(source, backup)
            st = os.stat(image)
            if os.geteuid() == 0:
                os.chown(backup, st.st_uid, st.st_gid)
            os.chmod(backup, st.st_mode & 0o666)
        except OSError as exc:
            if os.path.exists(backup):
                os.unlink(backup)
            raise lock.space_error(image, exc, what='the backup of its %s hive' % name,
                                   need=os.path.getsize(source))
        return backup


PWRITE_MAX = 1 << 20
BLOCK = 4096


def changed_ranges(old, new):
    """[(offset, bytes of new)] covering every block where new differs from old (and any growth)."""
    ranges = []
    limit = min(len(old), len(new))
    pos = 0
    while pos < limit:
        if old[pos:pos + BLOCK] == new[pos:pos + BLOCK]:
            pos += BLOCK
            continue
        start = pos
        while pos < limit and old[pos:pos + BLOCK] != new[pos:pos + BLOCK]:
            pos += BLOCK
        ranges.append((start, new[start:min(pos, len(new))]))
    if len(new) > limit:
        if ranges and ranges[-1][0] + len(ranges[-1][1]) >= limit:
            start = ranges.pop()[0]
        else:
            start = limit
        ranges.append((start, new[start:]))
    return ranges


def copy_driver_files(editor, files, label=None):
    """Place a driver package's files where Windows puts them. Returns the guest paths written."""
    written = []
    for item in files:
        if not item.get('present'):
            raise ImageError('%s is not in the driver package (looked for %s); the installation would have a '
                             'service without its driver' % (item['name'], item.get('source_path')))
        target = (item.get('target') or '').replace('\\', '/')
        if not target:
            raise ImageError('no place under the Windows folder is known for %s (DIRID %s)'
                             % (item['name'], item.get('dirid')))
        guest_dir = _guest_join(editor.install.systemroot, os.path.dirname(target))
        if editor.put_file(item['found_at'] or item['source_path'], guest_dir, os.path.basename(target)):
            written.append('/' + _guest_join(guest_dir, os.path.basename(target)))
    return written


class ImageSet(object):
    """The Windows installations of one or more images, open in one appliance for one read-plan-write cycle.

    ``images``: [{'path', 'format' (or None), 'root' (or None)}]. ``with ImageSet(images, check_mode) as opened:``
    checks every image and finds its installation before anything is written (ImageError otherwise), then the caller
    works on ``opened.editors`` (one InstallEditor per image, in order) and calls ``opened.finish(changed)`` with one
    flag per image: the appliance flushes, and only the changed images get their overlay committed. A writer holds
    each image's lock (lock.py) from before it reads the image until its changes are committed; a reader (check mode,
    the doctor) holds a shared lock while its appliance runs, since a writer changes the image in place.
    """

    def __init__(self, images, check_mode=False, backup=True, lock_timeout=lock.LOCK_TIMEOUT, lock_dir=None):
        self.images = images
        self.check_mode = check_mode
        self.backup = backup
        self.lock_timeout = lock_timeout
        self.lock_dir = lock_dir
        self.held = {}
        self.workdir = None
        self.session = None
        self.overlays = []
        self.editors = []

    def __enter__(self):
        try:
            self._open()
        except BaseException as exc:
            self.__exit__(type(exc), exc, None)
            raise
        return self

    def _open(self):
        images, check_mode = self.images, self.check_mode
        if not images:
            raise ImageError('no image given')
        for image in images:
            check_exists(image['path'])
        reals = [os.path.realpath(i['path']) for i in images]
        if not check_mode:
            for index, real in enumerate(reals):
                if real in reals[:index]:
                    raise ImageError('disk image %s is listed twice in images: each image may be changed once per '
                                     'task (merge the two entries). Nothing was changed.' % images[index]['path'])
        # Sorted, so two runs on overlapping lists of images cannot each hold one lock the other waits for.
        for real in sorted(set(reals)):
            self.held[real] = lock.acquire(real, shared=check_mode, timeout=self.lock_timeout, lock_dir=self.lock_dir)
        if not check_mode:
            for image, real in zip(images, reals):
                lock.refuse_unwritable(image['path'], what='disk image', in_place=True, held=self.held[real])
        locks = [self.held[r] for r in reals]
        infos = [inspect_file(i['path'], i.get('format')) for i in images]
        self.workdir = tempfile.mkdtemp(prefix='sanboot-image-')
        drives = []
        for index, (image, info) in enumerate(zip(images, infos)):
            fmt = image.get('format') or info['format']
            if check_mode:
                drives.append((os.path.abspath(image['path']), fmt))
            else:
                overlay = Overlay(image['path'], fmt, self.workdir, index)
                self.overlays.append(overlay)
                drives.append((overlay.path, 'qcow2'))
        self.session = GuestSession(drives, readonly=check_mode)
        for index, image in enumerate(images):
            installs = self.session.find_windows(drive_index=index)
            if image.get('root'):
                installs = [i for i in installs if image['root'] in (i.device, i.describe())]
            if not installs:
                raise ImageError('%s: no Windows installation found (no NTFS file system with '
                                 'Windows\\System32\\config\\SYSTEM)%s. Nothing was changed.'
                                 % (image['path'], ' matching root %r' % image['root'] if image.get('root') else ''))
            if len(installs) > 1:
                raise ImageError('%s holds several Windows installations (%s): choose one with root'
                                 % (image['path'], ', '.join(i.describe() for i in installs)))
            local = os.path.join(self.workdir, 'image-%d' % index)
            os.mkdir(local)
            editor = InstallEditor(self.session, installs[0], local, check_mode, self.backup,
                                   os.path.basename(image['path']))
            editor.backup_dir = os.path.dirname(os.path.abspath(image['path']))
            if not check_mode:
                editor.lock = locks[index]
                editor.reusable = locks[index].valid_backups()
            self.editors.append(editor)

    def finish(self, changed):
        """Flush the appliance, then commit the overlay of each image whose flag in ``changed`` is true."""
        self.session.finish()
        self.session = None
        for overlay, was_changed, editor in zip(self.overlays, changed, self.editors):
            if was_changed:
                overlay.commit()
                # The series of writes goes on for every backup that was still valid; record this run's own.
                for name, previous in editor.reusable.items():
                    editor.lock.remember_write(name, previous)
                for name, made in editor.backups.items():
                    editor.lock.remember_write(name, made or editor.reusable.get(name))

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.session is not None:
                self.session.close()
                self.session = None
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None
        finally:
            for held in self.held.values():
                held.release()
            self.held = {}
        if exc_type is not None and issubclass(exc_type, RuntimeError):
            raise ImageError('libguestfs failed: %s; the image was not changed' % exc)
        return False


class GuestView(object):
    """Read-only look at an installation's files, paths relative to its Windows folder (backslashes, any case): what
    the engine reads besides the hives (published INFs, driver binaries)."""

    def __init__(self, editor):
        self.editor = editor
        self.session = editor.session
        self.g = editor.g

    def _path(self, rel):
        self.editor.mount()
        return self.session.resolve('/' + _guest_join(self.editor.install.systemroot, rel.replace('\\', '/')))

    def exists(self, rel):
        return self._path(rel) is not None

    def listdir(self, rel):
        path = self._path(rel)
        return self.g.ls(path) if path and self.g.is_dir(path) else []

    def read(self, rel):
        path = self._path(rel)
        if path is None or not self.g.is_file(path):
            return None
        local = os.path.join(self.editor.workdir, 'view.tmp')
        self.g.download(path, local)
        try:
            with open(local, 'rb') as f:
                return f.read()
        finally:
            os.unlink(local)


def put_staged_files(editor, files):
    """Write the files of staged driver packages ([(local path or bytes, path under the Windows folder)]). A different
    file already at a destination is refused: state=absent could not put it back."""
    view = GuestView(editor)
    written = []
    for source, rel in files:
        data = source if isinstance(source, bytes) else None
        if data is None:
            with open(source, 'rb') as f:
                data = f.read()
        current = view.read(rel)
        if current == data:
            continue
        if current is not None:
            raise ImageError('%s already exists in %s and differs from the driver package\'s file (another version of '
                             'the driver?); it is left alone and nothing was changed. Remove that version first, or '
                             'install the package on the running Windows (pnputil)' % (rel, editor.install.describe()))
        parts = rel.split('\\')
        local = os.path.join(editor.workdir, 'put.tmp')
        with open(local, 'wb') as f:
            f.write(data)
        try:
            directory = editor._mkdir(_guest_join(editor.install.systemroot, *parts[:-1]))
            editor.g.upload(local, '/' + _guest_join(directory, parts[-1]))
        finally:
            os.unlink(local)
        written.append('/' + _guest_join(editor.install.systemroot, *parts))
    return written


def remove_files(editor, files):
    """Delete files staging wrote (paths under the Windows folder), then the folders that are left empty."""
    view = GuestView(editor)
    removed = []
    folders = set()
    for rel in files:
        path = view._path(rel)
        if path is not None and editor.g.is_file(path):
            editor.g.rm(path)
            removed.append(path)
            folders.add(os.path.dirname(path))
    for folder in sorted(folders, key=len, reverse=True):
        while folder and folder != '/' and editor.g.is_dir(folder) and not editor.g.ls(folder):
            if folder.rstrip('/').lower().endswith(('/windows/inf', '/system32/drivers')):
                break
            editor.g.rmdir(folder)
            folder = os.path.dirname(folder)
    return removed
