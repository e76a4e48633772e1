# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every offline job shares: the target a task names (one hive file, or disk images whose installations'
hives are downloaded through libguestfs), the result of a read-plan-write cycle on hive files as the modules return
it (changed, changes, reg, diff, backups), and what goes back into an image afterwards.

A job drives it downward: ``with Target(params, check_mode, ...) as target``, then for each of ``target.places``
the job plans and writes the place's hive files (backends.hiveset), returns an Outcome, and ``target.finish`` puts
each image's changed hives and files back and commits the images. Check mode, diff, backups and atomic writes thus
behave the same in every module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.backends import image as image_backend
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

# Argument spec shared by the offline modules (plain data, so this file needs no Ansible import).
IMAGE_FORMATS = ['raw', 'qcow2', 'vmdk', 'vhdx', 'vpc', 'vdi', 'qed']
HIVE_ARGS = dict(
    hive=dict(type='path'),
    image=dict(type='path'),
    format=dict(type='str', choices=IMAGE_FORMATS),
    root=dict(type='str'),
    images=dict(type='list', elements='dict', options=dict(
        path=dict(type='path', required=True),
        format=dict(type='str', choices=IMAGE_FORMATS),
        root=dict(type='str'),
    )),
    backup=dict(type='bool', default=True),
    allow_dirty=dict(type='bool', default=False),
    lock_dir=dict(type='path'),
)
# The reports (nothing written): no backup, and a dirty hive is read as it is; their locks (shared ones, on images)
# are kept where SANBOOT_LOCK_DIR says.
REPORT_HIVE_ARGS = dict((k, v) for k, v in HIVE_ARGS.items() if k not in ('backup', 'allow_dirty', 'lock_dir'))
TARGET_CHOICE = dict(mutually_exclusive=[('hive', 'image', 'images')],
                     required_one_of=[('hive', 'image', 'images')])


class Place(object):
    """Where a job runs: a hive file, or one Windows installation inside an image. ``hives`` maps a hive name to the
    local file the job reads and writes (None when the installation has none); ``view`` reads the installation's
    files (images only); ``backup`` says whether the job keeps a backup of the hive files itself (inside an image the
    image back-end keeps one beside the image instead)."""

    def __init__(self, hives, view=None, editor=None, guest=None, backup=True):
        self.hives = hives
        self.view = view
        self.editor = editor
        self.guest = guest or {}        # hive name -> path in the guest
        self.backup = backup


class Outcome(object):
    """A job's result on one place: ``result`` (the module result's fields, warnings included), and what an image
    must still receive: staged packages' files, the files of services created from a package, files to remove, the
    names of the hives other than the main one that changed; and for jobs that carry on from it (jobs/live.py),
    iscsi_boot's plan per NIC and the Windows it found."""

    def __init__(self, result, files=(), driver_files=(), removals=(), changed_hives=(), nics=(), os_info=None):
        self.result = result
        self.files = list(files)                # [(local path or bytes, path under the Windows folder)]
        self.driver_files = list(driver_files)  # [[file entries of one package]]
        self.removals = list(removals)          # [path under the Windows folder]
        self.changed_hives = set(changed_hives)
        self.nics = list(nics)                  # iscsi_boot: [conversion.NicConversion]
        self.os_info = os_info                  # iscsi_boot: osinfo.OsInfo


class Target(object):
    """The hive file or the images a task names, open for one cycle (params as the offline modules take them)."""

    def __init__(self, params, check_mode, hive_name='SYSTEM', extra_hives=()):
        self.params = params
        self.check_mode = check_mode
        self.hive_name = hive_name
        self.extra_hives = extra_hives
        self.images = None
        self.places = []

    def __enter__(self):
        params = self.params
        if params.get('hive'):
            self.places = [Place({self.hive_name: params['hive']}, backup=params.get('backup', True))]
            return self
        if params.get('image'):
            images = [dict(path=params['image'], format=params.get('format'), root=params.get('root'))]
        else:
            images = [dict(path=i['path'], format=i.get('format'), root=i.get('root')) for i in params['images']]
        self.images = image_backend.ImageSet(images, check_mode=self.check_mode, backup=params.get('backup', True),
                                             lock_dir=params.get('lock_dir'))
        self.images.__enter__()
        try:
            for editor in self.images.editors:
                guest, local = editor.hive(self.hive_name)
                hives, guests = {self.hive_name: local}, {self.hive_name: guest}
                for name in self.extra_hives:
                    guests[name], hives[name] = editor.hive(name, required=False)
                self.places.append(Place(hives, image_backend.GuestView(editor), editor, guests, backup=False))
        except BaseException as exc:
            self.__exit__(type(exc), exc, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.images is not None:
            images, self.images = self.images, None
            return images.__exit__(exc_type, exc, tb)
        return False

    def finish(self, outcomes):
        """Put each image's changes back, commit the images; the module result (one per image with ``images``)."""
        if self.images is None:
            return outcomes[0].result
        results = []
        for place, outcome in zip(self.places, outcomes):
            results.append(self._put_back(place, outcome))
        self.images.finish([r.get('changed') for r in results])
        if self.params.get('image'):
            return results[0]
        warnings = [w for r in results for w in r.pop('warnings', [])]
        return {'changed': any(r.get('changed') for r in results), 'results': results, 'warnings': warnings}

    def _put_back(self, place, outcome):
        result, editor = outcome.result, place.editor
        result['files_written'] = []
        if result.get('changed') and not self.check_mode:
            if outcome.files:
                result['files_written'] = image_backend.put_staged_files(editor, outcome.files)
            else:
                for files in outcome.driver_files:
                    result['files_written'].extend(image_backend.copy_driver_files(editor, files))
            if outcome.removals:
                result['files_removed'] = image_backend.remove_files(editor, outcome.removals)
            for name in self.extra_hives:
                if place.guest.get(name) and name in outcome.changed_hives:
                    editor.write_hive(place.guest[name], place.hives[name], editor.backup_dir)
            main = self.hive_name
            result['backup_file'] = editor.write_hive(place.guest[main], place.hives[main], editor.backup_dir)
        result['image'] = self.params['image'] if self.params.get('image') else \
            self.images.images[self.places.index(place)]['path']
        result['root'] = editor.install.describe()
        return result


# ---------------------------------------------------------------------------------------------------------
# The module result of a cycle on hive files

def hive_result(write, hive, prefix, check_mode, backup):
    """The result of a cycle on one hive (backends.hiveset.HiveWrite): changed, changes, reg, the diff as .reg text
    under ``prefix``, backup_file, dirty."""
    plan = write.plan
    before, after = plan.diff(prefix)
    header = '%s (%s)' % (write.path, prefix)
    return dict(
        changed=bool(plan),
        changes=plan.as_list(),
        reg=plan.to_reg(prefix) if plan else '',
        diff=dict(before=before, after=after, before_header=header, after_header=header),
        backup_file=write.backup_file if plan and not check_mode and backup else None,
        dirty=hive.header.dirty,
    )


def hives_result(writes, hives, check_mode):
    """The result of a cycle on several hives of one installation, the first being the main one: its result, with
    the others' changes added to changes (with ``hive``), reg and diff, and ``backup_files`` by hive name."""
    first = writes[0].name
    result = dict(changed=False, changes=[], reg='', diff=dict(before='', after=''), backup_file=None,
                  backup_files={}, dirty=hives[first].header.dirty)
    for write in writes:
        plan = write.plan
        prefix = 'HKEY_LOCAL_MACHINE\\%s' % write.name
        before, after = plan.diff(prefix)
        changes = plan.as_list()
        if write.name != first:
            for change in changes:
                change['hive'] = write.name
        result['changes'].extend(changes)
        if plan:
            result['changed'] = True
            result['reg'] += plan.to_reg(prefix) if not result['reg'] else plan.to_reg(prefix).split('\n', 1)[1]
            result['diff']['before'] += before
            result['diff']['after'] += after
    header = ', '.join('%s (%s)' % (w.path, 'HKEY_LOCAL_MACHINE\\%s' % w.name) for w in writes
                       if w.plan or w.name == first)
    result['diff']['before_header'] = result['diff']['after_header'] = header
    if not check_mode:
        for write in writes:
            if write.plan:
                result['backup_files'][write.name] = write.backup_file
        result['backup_file'] = result['backup_files'].get(first)
    return result


def run_module(module, job):
    """What an offline module does once AnsibleModule has checked its arguments: ``job(params, check_mode)``, its
    error as the task's message, its warnings as the task's warnings."""
    try:
        result = job(module.params, module.check_mode)
    except RegistryError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop('warnings', []):
        module.warn(warning)
    module.exit_json(**result)
