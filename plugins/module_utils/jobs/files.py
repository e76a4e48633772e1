# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files module's job: its argument spec, and bootserver/files.py on its parameters."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sanboot.windows.plugins.module_utils.bootserver import files as writer


def argument_spec():
    return dict(
        files=dict(type='list', elements='dict', default=[], options=dict(
            path=dict(type='path', required=True),
            content=dict(type='str', required=True),
            mode=dict(type='raw', default='0644'),
        )),
        remove=dict(type='list', elements='path', default=[]),
        clean=dict(type='dict', options=dict(
            path=dict(type='path', required=True),
            patterns=dict(type='list', elements='str', default=['*']),
        )),
    )


def run_files(params, check_mode=False, want_diff=False):
    """(failed message or None, result)."""
    try:
        return None, writer.apply(params['files'], params['remove'], params['clean'], check_mode, want_diff)
    except (writer.FilesError, OSError) as exc:
        return str(exc), {'changed': False}
