# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the release tests: the release tarball, the venv with the oldest supported ansible-core, and the
user guide's marked blocks run as a user would (its own home, the installed tarball, the guide's venv).

Work shared between the pytest workers of one run (the tarball, the guide's install section) is done once, under a
file lock, and reused."""

from __future__ import absolute_import, division, print_function

import contextlib
import fcntl
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
WORK = os.path.join(ROOT, 'build', 'release')
DIST = os.path.join(WORK, 'dist')
GUIDE_HOME = os.path.join(WORK, 'home')          # the guide's user: ~/.venvs/sanboot, ~/.ansible/collections
GUIDE = os.path.join(ROOT, 'docs', 'user-guide.md')
VENV_BIN = os.path.dirname(sys.executable)       # the project's .venv (pytest runs from it)


def galaxy():
    with open(os.path.join(ROOT, 'galaxy.yml')) as f:
        return yaml.safe_load(f)


def tarball_name():
    meta = galaxy()
    return '%s-%s-%s.tar.gz' % (meta['namespace'], meta['name'], meta['version'])


@contextlib.contextmanager
def locked(name):
    os.makedirs(WORK, exist_ok=True)
    with open(os.path.join(WORK, name + '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run_id():
    """Same for every pytest-xdist worker of one run."""
    return os.environ.get('PYTEST_XDIST_TESTRUNUID') or str(os.getppid())


def dist_tarball():
    """The collection artefact, built by `ansible-galaxy collection build` from the checkout once per run."""
    path = os.path.join(DIST, tarball_name())
    stamp = os.path.join(DIST, '.run')
    with locked('dist'):
        done = open(stamp).read() if os.path.exists(stamp) else None
        if done != run_id() or not os.path.exists(path):
            shutil.rmtree(DIST, ignore_errors=True)
            os.makedirs(DIST)
            proc = subprocess.run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path',
                                   DIST, ROOT], capture_output=True, text=True, check=False)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            with open(stamp, 'w') as f:
                f.write(run_id())
    return path


def ee_bindep_rules():
    """meta/ee-bindep.txt as [(package, {profiles})]."""
    rules = []
    with open(os.path.join(ROOT, 'meta', 'ee-bindep.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                name, profiles = re.match(r'^(\S+)\s*\[([^\]]*)\]$', line).groups()
                rules.append((name, set(profiles.split())))
    return rules


def core_venv():
    """build/venv-core-oldest (tests/release/core-venv.sh builds it once and keeps it)."""
    proc = subprocess.run([os.path.join(ROOT, 'tests', 'release', 'core-venv.sh')], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


# -- the user guide ---------------------------------------------------------------------------------------------------

_MARKER = re.compile(r'^<!-- test: (\w+)(?: (.*?))? -->$')


def guide_steps(path=GUIDE):
    """The guide's marked steps in order: dicts with kind (run, file, settings, action, example), walk, arg, text,
    line. Every fenced block must carry a marker, so nothing in the guide escapes the tests unnoticed."""
    steps, pending, block, fence = [], None, None, None
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    for number, line in enumerate(lines, 1):
        if block is not None:
            if line.strip() == fence:
                block['text'] = '\n'.join(block['lines']) + '\n'
                del block['lines']
                steps.append(block)
                block = None
            else:
                block['lines'].append(line)
            continue
        match = _MARKER.match(line.strip())
        if match:
            kind, rest = match.group(1), (match.group(2) or '').split()
            if kind == 'action':
                steps.append({'kind': kind, 'walk': rest[0], 'arg': rest[1], 'line': number})
            else:
                pending = {'kind': kind, 'walk': rest[0] if rest else None, 'arg': rest[1] if len(rest) > 1 else None,
                           'line': number}
            continue
        if line.startswith('```'):
            if pending is None:
                raise AssertionError('%s:%d: a code block without a <!-- test: ... --> marker' % (path, number))
            fence = re.match('`+', line).group(0)
            block = dict(pending, lines=[], lang=line[len(fence):].strip())
            pending = None
            continue
        if pending is not None and line.strip():
            raise AssertionError('%s:%d: a test marker must come right before its code block' % (path, pending['line']))
    return steps


def walk_script(walk, settings=None, action=None, steps=None):
    """A bash script doing the steps of one walk-through: run blocks as they are, file blocks written, the settings
    block replaced by ``settings`` (the same variable names), actions as a call of ``action <name>``."""
    out = ['set -euo pipefail']
    for step in steps if steps is not None else guide_steps():
        if step['walk'] != walk:
            continue
        where = 'docs/user-guide.md:%d' % step['line']
        if step['kind'] == 'run':
            out.append('echo %s' % shlex.quote('### %s: %s' % (where, step['text'].strip().replace('\n', ' ; '))))
            out.append(step['text'])
        elif step['kind'] == 'file':
            out.append('echo %s' % shlex.quote('### %s: writes %s' % (where, step['arg'])))
            out.append('mkdir -p "$(dirname %s)"' % shlex.quote(step['arg']))
            out.append("cat > %s <<'SANBOOT_GUIDE_EOF'\n%sSANBOOT_GUIDE_EOF" % (shlex.quote(step['arg']), step['text']))
        elif step['kind'] == 'settings':
            names = re.findall(r'(?m)^([A-Z_][A-Z0-9_]*)=', step['text'])
            assert settings is not None and sorted(names) == sorted(settings), \
                '%s: the guide sets %s, the test provides %s' % (where, names, sorted(settings or {}))
            out.append('echo %s' % shlex.quote('### %s: settings (the test\'s values)' % where))
            out.extend('%s=%s' % (name, shlex.quote(value)) for name, value in sorted(settings.items()))
        elif step['kind'] == 'action':
            assert action, '%s: the guide asks for action %s' % (where, step['arg'])
            out.append('echo %s' % shlex.quote('### %s: action %s (done by the test)' % (where, step['arg'])))
            out.append('%s %s' % (shlex.quote(action), shlex.quote(step['arg'])))
    return '\n'.join(out) + '\n'


def shims(directory, tgt_control_port=None):
    """Stand-ins for what the test machine lacks: sudo (the tests run as root, Debian's image has no sudo) and a
    tgtadm that talks to the test's own tgtd. Returns the folder to put first on PATH."""
    os.makedirs(directory, exist_ok=True)
    scripts = {}
    if shutil.which('sudo') is None and os.geteuid() == 0:
        scripts['sudo'] = '#!/bin/sh\n# the test runs as root: run the command as it is\nexec "$@"\n'
    if tgt_control_port is not None:
        scripts['tgtadm'] = '#!/bin/sh\nexec %s -C %d "$@"\n' % (shutil.which('tgtadm'), tgt_control_port)
    for name, text in scripts.items():
        path = os.path.join(directory, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory


def guide_env(shim_dir, **extra):
    """The environment of a user of the guide: its own home, no trace of the project's .venv or of the checkout's
    collection tree, pip held to the project's constraints."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(('ANSIBLE_', 'VIRTUAL_ENV', 'PYTEST_', 'SANBOOT_')) or name in ('PYTHONPATH', 'PS1'):
            del env[name]
    # A plain Debian PATH: python3 is the distribution's (the one python3-hivex is built for), not a pyenv or the
    # project's .venv that the machine running the tests may have first on its PATH.
    env['PATH'] = os.pathsep.join([shim_dir, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin',
                                   '/bin'])
    env.update(HOME=GUIDE_HOME, PIP_CONSTRAINT=os.path.join(ROOT, 'constraints.txt'),
               PIP_DISABLE_PIP_VERSION_CHECK='1', ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_RETRY_FILES_ENABLED='0', DEBIAN_FRONTEND='noninteractive',
               LIBGUESTFS_BACKEND_SETTINGS=os.environ.get('LIBGUESTFS_BACKEND_SETTINGS', 'force_tcg'))
    env.update(extra)
    return env


def run_walk(walk, cwd, env, log, settings=None, action=None, prefix=(), timeout=600):
    """Run one walk-through's script; its whole output goes to ``log``. Returns (returncode, output)."""
    script = os.path.join(cwd, '.walk-%s.sh' % walk)
    with open(script, 'w') as f:
        f.write(walk_script(walk, settings=settings, action=action))
    proc = subprocess.run(list(prefix) + ['bash', script], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    with open(log, 'w') as f:
        f.write(proc.stdout)
    return proc.returncode, proc.stdout


def guide_user():
    """The guide's Install section, run once per test run as written (in the folder holding the tarball): the venv
    ~/.venvs/sanboot with ansible-core and pywinrm, and the release tarball installed into ~/.ansible/collections.
    Returns the environment for the walk-throughs."""
    tarball = dist_tarball()
    shim_dir = shims(os.path.join(WORK, 'shims'))
    env = guide_env(shim_dir)
    with locked('guide-user'):
        stamp = os.path.join(GUIDE_HOME, '.installed')
        if not os.path.exists(stamp) or open(stamp).read() != run_id():
            os.makedirs(GUIDE_HOME, exist_ok=True)
            rc, out = run_walk('install', os.path.dirname(tarball), env, os.path.join(WORK, 'install.log'))
            assert rc == 0, out[-6000:]
            with open(stamp, 'w') as f:
                f.write(run_id())
    return env
