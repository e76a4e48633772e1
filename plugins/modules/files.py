#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: files
short_description: Write many small files in one task, atomically, and report which changed
version_added: 0.1.0
description:
  - Writes every file of O(files) whose content or mode differs from what is on disk, each atomically (a
    temporary file in the same folder, renamed over the old one), and leaves the others untouched. A file that
    exists keeps its owner and group; its mode becomes O(files[].mode).
  - Removes the files listed in O(remove), and with O(clean) the files of a folder that match a pattern but are not
    in O(files).
  - Made for a boot server's per-client files (one tgt configuration and one iPXE script per client), in one task for
    hundreds of files instead of one template task per file. The roles C(sanboot.windows.iscsi_target) and
    C(sanboot.windows.ipxe) render the contents with their templates and write them with this module.
  - The folders must exist. Every file is checked before any is written.
author:
  - sanboot.windows contributors (@sanboot)
options:
  files:
    description:
      - The files to write.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description:
          - The whole content of the file (text, written as UTF-8).
          - Use C(no_log) on the task when contents hold secrets; the diff shows contents.
        type: str
        required: true
      mode:
        description: The file's permissions, in octal (V('0600')).
        type: raw
        default: '0644'
  remove:
    description:
      - Files to remove when they exist (a path also in O(files) is kept).
    type: list
    elements: path
    default: []
  clean:
    description:
      - A folder whose files matching O(clean.patterns) are removed unless they are in O(files).
    type: dict
    suboptions:
      path:
        description: The folder. Nothing is removed when it does not exist.
        type: path
        required: true
      patterns:
        description: Shell patterns of file names (C(fnmatch)).
        type: list
        elements: str
        default: ['*']
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: full
    description: One diff per changed, created or removed file (a mode change is shown as two mode lines).
  platform:
    support: full
    platforms: posix
    description: Any POSIX host (rename over an existing file is atomic on one file system).
notes:
  - Files are compared by content and mode, so a second run with the same input reports no change.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
'''

EXAMPLES = r'''
- name: Write one iPXE script per client and remove those of clients no longer listed
  sanboot.windows.files:
    files: "{{ scripts }}"        # [{path, content, mode: '0644'}], rendered before
    clean:
      path: /srv/sanboot/ipxe/hosts
      patterns: ['*.ipxe']
  no_log: true                    # the scripts hold CHAP secrets

- name: Two small files and one removed
  sanboot.windows.files:
    files:
      - path: /etc/example/a.conf
        content: "a = 1\n"
        mode: "0600"
      - path: /etc/example/b.conf
        content: "b = 2\n"
    remove:
      - /etc/example/old.conf
'''

RETURN = r'''
changed_files:
  description: The files written (created, changed content or mode), in the order of O(files).
  returned: always
  type: list
  elements: str
  sample: [/etc/tgt/conf.d/sanboot-pc1.conf]
created:
  description: The files that did not exist.
  returned: always
  type: list
  elements: str
removed:
  description: The files removed (O(remove) and O(clean)).
  returned: always
  type: list
  elements: str
checksums:
  description: The SHA-1 of every file's wanted content, by path (also in check mode).
  returned: always
  type: dict
  sample: {/etc/tgt/conf.d/sanboot-pc1.conf: 8b1d6a0f3e0f1d3c5b0c9d2e1f3a4b5c6d7e8f90}
count:
  description: The number of files in O(files).
  returned: always
  type: int
  sample: 500
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import files


def main():
    module = AnsibleModule(argument_spec=files.argument_spec(), supports_check_mode=True)
    failed, result = files.run_files(module.params, check_mode=module.check_mode, want_diff=module._diff)
    if failed:
        module.fail_json(msg=failed, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
