# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documentation check of the release stage: the module reference is what scripts/gen-module-docs.py makes of
the modules' documentation now, every relative link and anchor in the Markdown files resolves, the troubleshooting
page covers every finding id of the doctor, the user guide's blocks are all marked for the walk-through tests, and the
changelog is a valid antsibull-changelog release of the galaxy.yml version."""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.sanboot.windows.tests.release import release_helpers as rh

# The release stage runs two groups side by side (pytest-xdist --dist loadgroup), about even in time:
# a = walk-through 3, docs, execution environment; b = walk-throughs 1 and 2, the oldest ansible-core, the artefact.
pytestmark = pytest.mark.xdist_group('release-a')

ROOT = rh.ROOT
BIN = os.path.dirname(sys.executable)

# Markup that ansible-doc renders wrongly fails the test: classic C() ends at the first ")", so C(PCIROOT(0)#PCI(0300))
# shows as "PCIROOT(0" then plain text (write V(PCIROOT(0\)#PCI(0300\)) instead), and an unquoted comma in a flow
# mapping of a sample splits one value into two keys ({manufacturer: Red Hat, Inc.} -> "Inc.": null).


def _env():
    env = dict(os.environ)
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, 'build', 'collections'))
    return env


def test_module_reference_is_current():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'gen-module-docs.py'), '--check'],
                          capture_output=True, text=True, env=_env(), check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    pages = sorted(os.listdir(os.path.join(ROOT, 'docs', 'modules')))
    modules = sorted(n[:-3] + '.md' for n in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if n.endswith('.py'))
    assert pages == sorted(modules + ['README.md'])


def _strings(value, path):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, path + (str(key),))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, path + (str(i),))
    elif isinstance(value, str):
        yield path, value


def test_module_doc_markup():
    from antsibull_docs_parser import dom
    from antsibull_docs_parser.parser import Context, parse
    names = ['sanboot.windows.' + n[:-3] for n in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
             if n.endswith('.py')]
    proc = subprocess.run([os.path.join(BIN, 'ansible-doc'), '--json', '-t', 'module'] + names, capture_output=True,
                          text=True, env=_env(), check=True)
    found = set()
    for fqcn, data in json.loads(proc.stdout).items():
        for section in ('doc', 'return'):
            for path, text in _strings(data[section], (section,)):
                if not set(path) & {'description', 'notes', 'short_description', 'returned', 'details'}:
                    continue
                for paragraph in parse(text, Context(), errors='message'):
                    for part in paragraph:
                        if part.type == dom.PartType.ERROR:
                            found.add((fqcn.split('.')[-1], '/'.join(path), 'ERROR ' + part.message))
                        value = getattr(part, 'text', None) or getattr(part, 'value', None)
                        if part.type in (dom.PartType.CODE, dom.PartType.OPTION_VALUE) and \
                                value.count('(') != value.count(')'):
                            found.add((fqcn.split('.')[-1], '/'.join(path), value))
        for path, value in _samples(data.get('return') or {}, ('return',)):
            if value is None:
                found.add((fqcn.split('.')[-1], '/'.join(path), 'a null in a sample (a comma in a flow mapping?)'))
    assert found == set(), 'markup ansible-doc renders wrongly in the modules\' documentation'


def _samples(returns, path):
    """(path, value) of every mapping value inside the samples of RETURN, nested return values included."""
    for name, spec in returns.items():
        if 'sample' in spec:
            yield from _mapping_values(spec['sample'], path + (name, 'sample'))
        yield from _samples(spec.get('contains') or {}, path + (name,))


def _mapping_values(value, path):
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (str(key),), item
            yield from _mapping_values(item, path + (str(key),))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _mapping_values(item, path + (str(i),))


def _slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r'`|\*\*|\[([^\]]*)\]\([^)]*\)', r'\1', heading.strip()).lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def _anchors(path):
    anchors, seen = set(), {}
    fence = False
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('```'):
                fence = not fence
            if fence:
                continue
            match = re.match(r'^#{1,6} (.*)$', line.rstrip('\n'))
            if match:
                slug = _slug(match.group(1))
                n = seen.get(slug, 0)
                seen[slug] = n + 1
                anchors.add(slug if n == 0 else '%s-%d' % (slug, n))
            anchors.update(re.findall(r'<a id="([^"]+)"></a>', line))
    return anchors


def _markdown_files():
    files = [os.path.join(ROOT, 'README.md')]
    for folder in ('docs', os.path.join('docs', 'modules')):
        files += [os.path.join(ROOT, folder, n) for n in sorted(os.listdir(os.path.join(ROOT, folder)))
                  if n.endswith('.md')]
    files += [os.path.join(ROOT, 'roles', r, 'README.md') for r in sorted(os.listdir(os.path.join(ROOT, 'roles')))
              if os.path.exists(os.path.join(ROOT, 'roles', r, 'README.md'))]
    return files


@pytest.mark.parametrize('path', _markdown_files(), ids=lambda p: os.path.relpath(p, ROOT))
def test_relative_links_resolve(path):
    broken = []
    with open(path, encoding='utf-8') as f:
        text = re.sub(r'(?ms)^```.*?^```', '', f.read())
    text = re.sub(r'`[^`\n]*`', '', text)
    for target in re.findall(r'\]\(([^)\s]+)\)', text):
        if re.match(r'^[a-z]+:', target):
            continue
        file_part, _hash, anchor = target.partition('#')
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        if not os.path.exists(dest):
            broken.append('%s (no such file)' % target)
        elif anchor and dest.endswith('.md') and anchor not in _anchors(dest):
            broken.append('%s (no such anchor)' % target)
    assert not broken, broken


def test_troubleshooting_covers_every_finding():
    ids = set()
    with open(os.path.join(ROOT, 'plugins', 'module_utils', 'windows', 'doctor.py')) as f:
        ids |= set(re.findall(r"finding\(\s*'([a-z-]+)'", f.read()))
    assert len(ids) >= 16
    with open(os.path.join(ROOT, 'docs', 'troubleshooting.md')) as f:
        text = f.read()
    table = text[text.index('## The doctor\'s findings'):]
    assert ids == set(re.findall(r'^\| `([a-z-]+)` \|', table, re.M)), 'the findings table must list exactly the ids'
    for symptom in ('0x7B', 'Could not open SAN device', 'CHAP', 'Dirty hives', 'libguestfs', 'KVM'):
        assert symptom in text


def test_user_guide_is_marked_and_current():
    steps = rh.guide_steps()          # fails on an unmarked code block
    walks = set(s['walk'] for s in steps if s['kind'] != 'example')
    assert walks == {'install', 'image', 'winrm', 'server', 'ee'}
    with open(rh.GUIDE) as f:
        text = f.read()
    # the guide names the artefact of the galaxy.yml version, and links the pages it promises
    assert set(re.findall(r'sanboot-windows-[0-9][^ /\n`"]*\.tar\.gz', text)) == {rh.tarball_name()}
    for page in ('how-it-works.md', 'troubleshooting.md', 'modules/README.md'):
        assert '](%s' % page in text
    with open(os.path.join(ROOT, 'README.md')) as f:
        readme = f.read()
    docs = readme[readme.index('## Documentation'):readme.index('## Licence')]
    for page in ('docs/user-guide.md', 'docs/troubleshooting.md', 'docs/modules/README.md', 'docs/how-it-works.md'):
        assert '](%s)' % page in docs


def test_changelog_is_the_release_of_the_galaxy_version():
    version = rh.galaxy()['version']
    with open(os.path.join(ROOT, 'changelogs', 'changelog.yaml')) as f:
        changes = yaml.safe_load(f)
    assert version in changes['releases']
    release = changes['releases'][version]
    assert release['changes']['release_summary']
    modules = sorted(m['name'] for m in release.get('modules', []))
    assert modules == sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if n.endswith('.py'))
    with open(os.path.join(ROOT, 'CHANGELOG.rst')) as f:
        rst = f.read()
    assert 'v%s' % version in rst
    for cmd in ([os.path.join(BIN, 'antsibull-changelog'), 'lint'],
                [os.path.join(BIN, 'antsibull-changelog'), 'lint-changelog-yaml', 'changelogs/changelog.yaml'],
                [os.path.join(BIN, 'rstcheck'), '--report-level', 'warning', 'CHANGELOG.rst']):
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=_env(), check=False)
        assert proc.returncode == 0, ' '.join(cmd) + '\n' + proc.stdout + proc.stderr


def test_bindep_lists_what_bootstrap_installs():
    """bindep.txt (profile test) and scripts/bootstrap.sh name the same Debian packages: a user who installs from
    bindep.txt gets what the project's own set-up gets."""
    listed = subprocess.run(['bash', '-c', 'eval "$(sed -n "/^APT_PACKAGES=(/,/^)/p" scripts/bootstrap.sh)"; '
                             'printf "%s\\n" "${APT_PACKAGES[@]}"'], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    bindep = subprocess.run([os.path.join(BIN, 'bindep'), '-l', 'newline', 'test'], cwd=ROOT, capture_output=True,
                            text=True, check=False).stdout.split()
    assert len(listed) > 15 and sorted(listed) == sorted(set(listed))
    assert sorted(bindep) == sorted(listed)


# The offline modules and their live twins return the same fields, described the same way, except these: what only a
# hive file or an image has (backups, files to copy, images) and what only a running host has (the import, WinRM), and
# the fields whose meaning differs on a live host (the reason is the value).
TWINS = {
    ('iscsi_boot', 'win_iscsi_boot'): dict(
        offline={'backup_file', 'backup_files', 'files_removed', 'files_to_copy', 'files_to_remove', 'files_written',
                 'first_boot', 'results'},
        live={'applied', 'applied_as', 'cleaned_up', 'not_applied', 'staged_drivers', 'winrm'},
        differ={'dirty': 'a working hive built from what was read is never dirty',
                'reg': 'the live twin says what was imported (the record of originals moved first)'}),
    ('iscsi_boot_info', 'win_iscsi_boot_info'): dict(
        offline={'results'}, live={'present_adapters', 'winrm'},
        differ={'dirty': 'a working hive built from what was read is never dirty',
                'adapters': 'a running host also says which adapters are present now'}),
    ('critical_device', 'win_critical_device'): dict(
        offline={'backup_file', 'results'}, live={'applied', 'applied_as', 'not_applied', 'winrm'},
        differ={'dirty': 'a working hive built from what was read is never dirty'}),
}


def _return_doc(module):
    with open(os.path.join(ROOT, 'plugins', 'modules', module + '.py')) as f:
        text = f.read()
    return yaml.safe_load(re.search(r"^RETURN = r'''(.*?)^'''", text, re.S | re.M).group(1))


@pytest.mark.parametrize('pair', sorted(TWINS), ids=lambda p: '%s~%s' % p)
def test_twins_return_the_same_fields(pair):
    offline, live = (_return_doc(m) for m in pair)
    allowed = TWINS[pair]
    assert set(offline) - set(live) == allowed['offline'], 'fields only %s returns' % pair[0]
    assert set(live) - set(offline) == allowed['live'], 'fields only %s returns' % pair[1]
    shown = ('description', 'type', 'elements', 'returned')
    drift = [name for name in set(offline) & set(live) if name not in allowed['differ'] and
             [offline[name].get(k) for k in shown] != [live[name].get(k) for k in shown]]
    assert not drift, 'described differently in the twins (or list the reason in TWINS): %s' % sorted(drift)
