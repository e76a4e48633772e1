# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils is in layers, each importing only downward (docs/architecture.md):

    bootserver/  <-  registry.py  <-  backends/  <-  inf/  <-  windows/  <-  jobs/

registry and the back-ends know nothing of Windows' boot rules or of the jobs; the INF reader knows nothing of the
Windows layer that uses it (windows/nicdriver.py, cddb.py, driverstore.py read packages with it); the Windows layer
knows no job. bootserver/ (the boot server's per-client data and the files module's writer) imports no other
layer: it knows nothing of Windows. Imports are at the top of a file (none inside a function, to dodge a cycle),
by the collection's full path, and the engine imports nothing of Ansible (plain Python, as the modules ship it to
the host).

The checks read the source files (ast); the last test shows that each of them can fail."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

MODULE_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'plugins',
                            'module_utils')
PACKAGE = 'ansible_collections.sanboot.windows.plugins.module_utils'
LAYERS = ('bootserver', 'registry', 'backends', 'inf', 'windows', 'jobs')


def layer_of(parts):
    """The layer of a module, from its path below module_utils ('registry.py' or a folder's name)."""
    head = parts[0]
    return head[:-3] if head.endswith('.py') else head


def engine_files(root):
    """(path below module_utils as a tuple, source) of every Python file of the engine."""
    for folder, _dirs, files in os.walk(root):
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                with open(path) as handle:
                    yield tuple(os.path.relpath(path, root).split(os.sep)), handle.read()


def imports(source):
    """(line, imported module's path below module_utils or None, at the top of the file, what it says) of every
    import; None for an import of anything else."""
    tree = ast.parse(source)
    top = set(id(node) for node in tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module + '.').startswith(PACKAGE + '.'):
            names = [node.module + '.' + alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ['.' * node.level + (node.module or '')]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            inside = name[len(PACKAGE) + 1:].split('.') if name.startswith(PACKAGE + '.') else None
            yield node.lineno, inside, id(node) in top, name


def violations(root):
    """Every import that breaks a rule of this file's docstring, as 'file:line: what'."""
    out = []
    for parts, source in engine_files(root):
        where = '/'.join(parts)
        layer = layer_of(parts)
        if layer not in LAYERS:
            out.append('%s: in no layer (%s)' % (where, ', '.join(LAYERS)))
            continue
        for line, inside, at_top, name in imports(source):
            if name.startswith('.'):
                out.append('%s:%d: relative import %s (import by the full path)' % (where, line, name))
            elif name == 'ansible' or name.startswith('ansible.'):
                out.append('%s:%d: imports %s (the engine imports nothing of Ansible)' % (where, line, name))
            if inside is None:
                continue
            if not at_top:
                out.append('%s:%d: imports %s inside a function' % (where, line, name))
            target = layer_of(inside)
            if target in LAYERS and LAYERS.index(target) > LAYERS.index(layer):
                out.append('%s:%d: the %s layer imports %s, of the %s layer above it'
                           % (where, line, layer, name[len(PACKAGE) + 1:], target))
    return sorted(out)


def test_the_engine_is_in_layers_that_import_only_downward():
    files = [parts for parts, _source in engine_files(MODULE_UTILS)]
    assert set(layer_of(parts) for parts in files) == set(LAYERS), files
    found = violations(MODULE_UTILS)
    assert not found, '\n'.join(['%d imports break the layers:' % len(found)] + found)


def test_each_rule_can_fail(tmp_path):
    sources = {
        'registry.py': 'from ansible_collections.sanboot.windows.plugins.module_utils.backends import lock\n',
        'backends/hive.py': 'from ansible_collections.sanboot.windows.plugins.module_utils.windows.nic import Nic\n',
        'inf/select.py': 'from ansible_collections.sanboot.windows.plugins.module_utils import windows\n',
        'windows/nic.py': ('import os\n\n\ndef parse():\n'
                           '    from ansible_collections.sanboot.windows.plugins.module_utils.registry import fold\n'),
        'windows/doctor.py': 'from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline\n',
        'jobs/live.py': ('from ansible.module_utils.basic import AnsibleModule\nfrom . import offline\n'
                         'from ansible_collections.sanboot.windows.plugins.module_utils.windows import doctor\n'),
        'live/job.py': '',
    }
    for name, source in sources.items():
        path = tmp_path.joinpath(*name.split('/'))
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
    assert violations(str(tmp_path)) == [
        'backends/hive.py:1: the backends layer imports windows.nic.Nic, of the windows layer above it',
        'inf/select.py:1: the inf layer imports windows, of the windows layer above it',
        'jobs/live.py:1: imports ansible.module_utils.basic (the engine imports nothing of Ansible)',
        'jobs/live.py:2: relative import . (import by the full path)',
        'live/job.py: in no layer (bootserver, registry, backends, inf, windows, jobs)',
        'registry.py:1: the registry layer imports backends.lock, of the backends layer above it',
        'windows/doctor.py:1: the windows layer imports jobs.offline, of the jobs layer above it',
        'windows/nic.py:5: imports ansible_collections.sanboot.windows.plugins.module_utils.registry.fold inside '
        'a function',
    ]
