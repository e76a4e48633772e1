# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: the controller side shared by the win_* action plugins.

The action plugins never call Ansible's connection: they validate their arguments like a module would,
take the host's WinRM connection variables, and hand over to module_utils.jobs.live, which talks to
the host with pywinrm in one shell (stock cmd.exe commands only, so stock Windows 7 SP1 works).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.sanboot.windows.plugins.module_utils.backends import live
from ansible_collections.sanboot.windows.plugins.module_utils.jobs.live import run_live
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError

# Ansible's winrm connection options and their variables, in the order that plugin gives them precedence (later
# wins); every other ansible_winrm_<name> is an argument for pywinrm (live.transport.PROTOCOL_ARGS types them).
CONNECTION_VARS = {
    'remote_addr': ('inventory_hostname', 'ansible_host', 'ansible_winrm_host'),
    'port': ('ansible_port', 'ansible_winrm_port'),
    'remote_user': ('ansible_user', 'ansible_winrm_user'),
    'remote_password': ('ansible_password', 'ansible_winrm_pass', 'ansible_winrm_password'),
    'scheme': ('ansible_winrm_scheme',),
    'path': ('ansible_winrm_path',),
    'transport': ('ansible_winrm_transport',),
    'connection_timeout': ('ansible_winrm_connection_timeout',),
    'kerberos_command': ('ansible_winrm_kinit_cmd',),
    'kinit_args': ('ansible_winrm_kinit_args',),
    'kinit_env_vars': ('ansible_winrm_kinit_env_vars',),
    'kerberos_mode': ('ansible_winrm_kinit_mode',),
}
OPTION_VARS = set(v for names in CONNECTION_VARS.values() for v in names)


class LiveRegistryAction(ActionBase):
    """Base class: set JOB and SPEC (jobs/live.py LIVE_MODULES[JOB]: argument_spec, its constraints, path_options)
    in the subclass."""

    JOB = None
    SPEC = {}
    TRANSFERS_FILES = False
    _requires_connection = False

    def _template(self, value):
        if isinstance(value, str):
            return self._templar.template(value)
        return value

    def _var(self, task_vars, names):
        found = None
        for name in names:
            if name in task_vars and task_vars[name] is not None:
                found = self._template(task_vars[name])
        return found

    def _connection_option(self, name):
        if getattr(self._connection, 'transport', None) != 'winrm' and \
                getattr(self._connection, '_load_name', '').split('.')[-1] != 'winrm':
            return None
        try:
            return self._connection.get_option(name)
        except (KeyError, AttributeError):
            return None

    def settings(self, task_vars):
        """live.Settings from the connection plugin's options (winrm) or the host's variables."""
        values = {}
        for option, names in CONNECTION_VARS.items():
            value = self._connection_option(option)
            values[option] = value if value is not None else self._var(task_vars, names)
        extras = self._connection_option('_extras') or {}
        extras = dict((name, self._template(value)) for name, value in extras.items())
        for name in task_vars:
            if name.startswith('ansible_winrm_') and name not in OPTION_VARS and name not in extras:
                extras[name] = self._var(task_vars, (name,))
        extra = dict((name[len('ansible_winrm_'):], value) for name, value in extras.items() if value is not None)
        return live.Settings(
            host=values['remote_addr'], port=values['port'], user=values['remote_user'],
            password=values['remote_password'], scheme=values['scheme'], path=values['path'],
            transport=values['transport'], extra=extra, connection_timeout=values['connection_timeout'],
            kinit_cmd=values['kerberos_command'], kinit_args=values['kinit_args'],
            kinit_env_vars=values['kinit_env_vars'], kinit_mode=values['kerberos_mode'])

    def _resolve_paths(self, params):
        for option in self.SPEC.get('path_options', ()):
            items = params.get(option)
            if not items:
                continue
            resolved = []
            for item in items:
                if os.path.isabs(item):
                    resolved.append(item)
                else:
                    resolved.append(self._find_needle('files', item))
            params[option] = resolved
        return params

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super(LiveRegistryAction, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        validator = ArgumentSpecValidator(self.SPEC['argument_spec'],
                                          mutually_exclusive=self.SPEC.get('mutually_exclusive') or None,
                                          required_if=self.SPEC.get('required_if') or None)
        validated = validator.validate(self._task.args)
        if validated.error_messages:
            result.update(failed=True, msg='; '.join(validated.error_messages))
            return result
        params = validated.validated_parameters
        secrets, user = [], None
        try:
            params = self._resolve_paths(params)
            settings = self.settings(task_vars)
            secrets, user = settings.secrets(), settings.user
            out = run_live(self.JOB, params, settings, check_mode=bool(self._task.check_mode))
        except RegistryError as exc:
            result.update(failed=True, msg=live.redact(to_text(exc), secrets, user))
            return result
        except Exception as exc:  # pylint: disable=broad-except
            result.update(failed=True, msg=live.redact('%s: %s' % (exc.__class__.__name__, to_text(exc)),
                                                       secrets, user))
            return result
        warnings = out.pop('warnings', None) or []
        result.update(scrub(out, secrets, user))
        if warnings:
            result['warnings'] = [live.redact(w, secrets, user) for w in warnings]
        return result


def scrub(value, secrets, user=None):
    """Every string in a result with the secrets replaced where they stand as whole tokens (belt and braces:
    results are built without them)."""
    if not secrets:
        return value
    if isinstance(value, dict):
        return dict((k, scrub(v, secrets, user)) for k, v in value.items())
    if isinstance(value, list):
        return [scrub(v, secrets, user) for v in value]
    if isinstance(value, str):
        return live.redact(value, secrets, user)
    return value
