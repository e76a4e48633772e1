# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One task's commands on one host: read keys into partial working hives (``reg query``), stage a driver package
(its files, pnputil, the service binaries), apply a .reg text (``reg import``, as SYSTEM through a one-shot
scheduled task when asked), and remove what an interrupted run left. What to read and what to apply is the job's
(jobs/live.py); this file only knows the host's commands and their output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import tempfile

from ansible_collections.sanboot.windows.plugins.module_utils.backends.hive import Hive
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.commands import (
    CURRENT, TASK_WAIT_SECONDS, apply_command, cleanup_command, follow_step, group_queries, leftover_tokens,
    lookup_query,
    parse_sections, published_name, queries, read_commands, stage_command, stage_script, work_prefix,
)
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.formats import (
    PartialHive, ascii_reg, default_label, package_files,
)
from ansible_collections.sanboot.windows.plugins.module_utils.backends.live.transport import Session, WinRMError
from ansible_collections.sanboot.windows.plugins.module_utils.registry import (
    HOLES, PARENTS, Follow, Read, fold, text_value,
)

# pnputil's exit codes that mean the package is in the driver store (Microsoft, "PnPUtil return values"):
# 0 success, 259 ERROR_NO_MORE_ITEMS (no device matches it now: the normal case here), 3010 and 1641 (restart).
PNPUTIL_OK = (0, 259, 3010, 1641)
NOTHING_CHANGED = 'Nothing was changed.'
ADMIN_HINT = ('the WinRM user must be an elevated administrator: local administrators other than the built-in '
              'Administrator get a filtered token over WinRM unless LocalAccountTokenFilterPolicy is 1')
# A key every Windows has whose default value is set (the network class's description): reading it tells reg.exe's
# name for a default value in the host's language. Relative to a control set.
LABEL_KEY = ('Control', 'Class', '{4D36E972-E325-11CE-BFC1-08002BE10318}')


class Staged(object):
    """A driver package staged on the host: its INF, the package's files [(name, local path)], the service binaries
    copied [(file name, target under the Windows folder)], pnputil's exit code and output, the published name
    (oemN.inf). ``unsigned_binaries`` and ``warnings`` are the job's verdict on it."""

    def __init__(self, inf, members, copies, pnputil_rc, pnputil_output, published):
        self.inf, self.members, self.copies = inf, members, copies
        self.pnputil_rc, self.pnputil_output, self.published_name = pnputil_rc, pnputil_output, published
        self.unsigned_binaries = []
        self.stop_warning = None        # why the boot would stop with 0x7B, when it would

    @property
    def in_driver_store(self):
        return self.pnputil_rc in PNPUTIL_OK

    def as_dict(self):
        return {'inf': self.inf, 'files': [n for n, _p in self.members], 'copied': [t for _n, t in self.copies],
                'pnputil': {'rc': self.pnputil_rc, 'output': self.pnputil_output,
                            'in_driver_store': self.in_driver_store},
                'published_name': self.published_name, 'unsigned_binaries': self.unsigned_binaries}


def _marker(read):
    return (read.hive, tuple(fold(p) for p in read.path), read.recursive, read.values)


class LiveHost(object):
    """One task against one host: the partial hives on the controller and the commands on the host."""

    def __init__(self, settings, session_factory=None):
        self.settings = settings
        self.session = (session_factory or Session)(settings)
        self.tmpdir = None
        self.work = work_prefix()
        self.hives = {}                 # hive name -> PartialHive
        self.attempted = set()
        self.current = None             # the literal control set the host resolved CURRENT to
        self.label = None               # reg.exe's name for a default value, in the host's language
        self.leftovers = None           # {token: [file names]} an earlier run left
        self.cleaned = []
        self.partial_reads = []
        self.warnings = []
        self.keys_read = 0
        self.looked_up = set()
        self.drivers_loaded_here = False    # HKLM\\DRIVERS was not loaded: a read loaded the file itself (issue 25)
        self.drivers_missing = None         # the exit code of the last attempt to make HKLM\\DRIVERS readable

    def __enter__(self):
        self.tmpdir = tempfile.mkdtemp(prefix='sanboot-winrm-')
        try:
            self.session.open()
        except BaseException:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc_info):
        self.session.close()
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    # reading -----------------------------------------------------------------------------------------
    def _literal(self, read):
        if read.path and read.path[0] == CURRENT and self.current:
            return read._replace(path=(self.current,) + tuple(read.path[1:]))
        return read

    def read(self, reads, phase='reading the registry', names=True, follows=()):
        """Read what is new among ``reads`` (one command, or a few when cmd.exe's line limit says so), and the names
        of the keys on their paths as the host stores them, and follow ``follows`` (registry.Follow) on the host in
        the same command; False when nothing was new."""
        planned = self._plan_read(reads, follows, names, phase)
        if planned is None:
            return False
        new, jobs, chains = planned
        try:
            commands = read_commands(self.work, jobs, leftovers=self.leftovers is None, follows=chains)
        except ValueError as exc:
            raise WinRMError('%s. %s' % (exc, NOTHING_CHANGED), phase=phase, applied=False, complete=True)
        for command, tags in commands:
            stdout, stderr, rc = self.session.run(phase, command)
            sections, _order = parse_sections(stdout)
            if not tags or tags[-1][0] not in sections:
                raise WinRMError('the host did not run the read command as expected (exit code %s); it printed: %s. %s'
                                 % (rc, clip(stdout + stderr), NOTHING_CHANGED), phase=phase, applied=False,
                                 complete=True)
            if 'leftovers' in sections:
                self.leftovers = leftover_tokens(sections['leftovers'][0], self.work)
            self._absorb(sections, tags)
        self._mark(new, follows)
        return True

    def _plan_read(self, reads, follows, names, phase):
        """(new reads, reg query jobs, follow steps) of what is new among ``reads``, or None."""
        new, seen = [], set(self.attempted)
        whole = [m[:2] for m in self.attempted if m[2] and m[3] is None]
        for read in (self._literal(r) for r in reads):
            marker = _marker(read)
            if any(marker[0] == hive and marker[1][:len(path)] == path for hive, path in whole):
                continue        # below a key read whole with its subkeys
            if marker not in seen:        # each key once (the first round's guesses repeat some)
                seen.add(marker)
                new.append(read)
        if not new:
            return None
        if self.label is None:
            # the default value's name in this language, from a key that has one (a class key's description)
            cs = self.current or CURRENT
            new.insert(0, Read('SYSTEM', (cs,) + LABEL_KEY, False, ('',)))
        try:
            jobs = [(arguments, (read, len(read.path))) for read in new for arguments, _n in queries(read)]
            # the keys a follow reads are spelt as stored up to the first name the host fills in (the rest: below)
            static = [Read(r.hive, r.path[:min([i for i, p in enumerate(r.path) if p in HOLES + PARENTS]
                                               or [len(r.path)])],
                           False, ()) for r in (self._literal(r) for r in _follow_reads(follows))]
            jobs += [(lookup_query(hive, parent, child), (Read(hive, parent, False, ()), len(parent)))
                     for hive, parent, child in (self._lookups(new + [r for r in static if r.path]) if names else [])]
            chains = []
            for follow in follows:
                chain_tags = []
                chains.append((follow_step(follow, chain_tags), chain_tags))
        except ValueError as exc:
            raise WinRMError('%s. %s' % (exc, NOTHING_CHANGED), phase=phase, applied=False, complete=True)
        return new, jobs, chains

    def _absorb(self, sections, tags):
        """What one command printed for the read steps ``tags`` [(tag, (Read, typed depth) or None)], into the
        partial hives."""
        if 'cs' in sections and sections['cs'][0].upper().startswith('HKLM\\SYSTEM\\CONTROLSET'):
            self.current = self.current or sections['cs'][0].strip().split('\\')[-1]
        if self.label is None:
            texts = [sections.get(tag, ('', 0))[0] for tag, payload in tags
                     if payload is not None and payload[0].values == ('',) and payload[0].path[1:] == LABEL_KEY]
            self.label = (default_label(texts[0]) if texts else None) or '(Default)'
        self._drivers_state(sections)
        for tag, payload in tags:
            if payload is None:
                continue        # a follow's or a loop's own mark
            read, typed = payload
            text, code = sections.get(tag, ('', None))
            if read.hive == 'DRIVERS':
                text = self.as_drivers(text)
            hive = self.hives.setdefault(read.hive, PartialHive(read.hive))
            count = hive.add_output(text, self.label, typed)
            self.keys_read += count
            where = '\\'.join(self._literal(read).path)
            if count and code not in (0, None) and read.recursive and where not in self.partial_reads:
                self.partial_reads.append(where)

    def _mark(self, new, follows):
        for read in new:
            self.attempted.add(_marker(self._literal(read)))
        for follow in follows:
            self._followed(follow, ())

    def _followed(self, follow, names):
        """Mark as read what the host read following ``follow``: the names it took are those the partial hive now
        holds at the Follow's key (which a Read of the same round read), so the next round asks none of it again."""
        found = []
        if isinstance(follow.take, tuple):
            found = list(follow.take)
        reader = self.reader(follow.hive) if not found else None
        path = _filled(self._literal(follow).path or (), names)
        if reader is not None and reader.key_exists(path):
            keys = [path]
            while keys:
                key = keys.pop(0)
                if follow.take is None:
                    found += [v.name for v in reader.values(key) if v.name]
                else:
                    data = text_value(reader, key, follow.take)
                    if data and data.split():
                        found.append(data.split()[0])
                if follow.recursive:
                    keys += [key + (child,) for child in reader.subkeys(key)]
        # as for /f took them: a name with a space was cut at it, one starting with ; skipped, and !, %, ^ or "
        # change on a command line: the host asked something else, so these are not marked (a next round reads them)
        found = [n for n in found if not re.search(r'[\s!%^"]', n) and not n.startswith(';')]
        for name in found:
            for item in follow.then:
                if isinstance(item, Follow):
                    self._followed(item, names + (name,))
                    continue
                if not _same_parent(item.path, names + (name,)):
                    continue        # the host's key differs (see _same_parent): a next round reads this one
                read = self._literal(item._replace(path=_filled(item.path, names + (name,))))
                self.attempted.add(_marker(read))
                for position, part in enumerate(item.path):
                    if part in HOLES:
                        self.looked_up.add((read.hive, tuple(fold(p) for p in read.path[:position + 1])))

    def _drivers_state(self, sections):
        if 'drivers' in sections:
            code = sections['drivers'][1]
            self.drivers_missing = None if code == 0 else code
            own = 'HKLM\\%s' % self.work
            if sections.get('drivers-name', ('', 0))[0].strip().lower() == own.lower():
                self.drivers_loaded_here = True

    def as_drivers(self, text):
        """reg query output of keys under this task's own name for the DRIVERS file, as keys of HKLM\\DRIVERS."""
        own = 'HKEY_LOCAL_MACHINE\\%s' % self.work
        lines = []
        for line in text.split('\n'):
            if line[:len(own)].lower() == own.lower() and line[len(own):len(own) + 1] in ('', '\\', '\r'):
                line = 'HKEY_LOCAL_MACHINE\\DRIVERS' + line[len(own):]
            lines.append(line)
        return '\n'.join(lines)

    def _lookups(self, reads):
        """(hive, parent, name) for each key on the reads' paths whose stored name no listing gives."""
        listed = set(m[:2] for m in self.attempted if not m[2] and m[3] is None)
        listed |= set((r.hive, tuple(fold(p) for p in r.path)) for r in reads if r.values is None)
        out = []
        for read in reads:
            if read.hive == 'SOFTWARE':
                continue        # not written back: its spelling does not matter
            for depth in range(len(read.path)):
                parent, child = tuple(read.path[:depth]), read.path[depth]
                marker = (read.hive, tuple(fold(p) for p in parent + (child,)))
                if child == CURRENT or (read.hive, tuple(fold(p) for p in parent)) in listed or \
                        marker in self.looked_up:
                    continue
                self.looked_up.add(marker)
                out.append((read.hive, parent, child))
        return out

    def reader(self, name):
        """A hive.Hive on what was read of hive ``name`` so far (written to a file), or None."""
        path = self.hive_path(name)
        return Hive(path, allow_dirty=True) if path else None

    def hive_path(self, name):
        hive = self.hives.get(name)
        if hive is None or len(hive.names) <= 1:
            return None
        return hive.write(os.path.join(self.tmpdir, name))

    def forget(self, hive):
        """Drop what was read of ``hive``, so that the next read_all reads it again (it has changed on the host)."""
        self.hives.pop(hive, None)
        self.attempted = set(m for m in self.attempted if m[0] != hive)
        self.looked_up = set(m for m in self.looked_up if m[0] != hive)

    def reread(self, changes, phase='reading the registry after a failed import'):
        """A fresh partial SYSTEM hive of the keys ``changes`` touch (plan_state reads them)."""
        self.hives.pop('SYSTEM', None)
        self.attempted = set(m for m in self.attempted if m[0] != 'SYSTEM')
        self.looked_up = set()
        keys = {}
        for change in changes:
            key = tuple(change['key'].split('\\'))
            read = Read('SYSTEM', key, change['op'] in ('delete_key', 'create_key'), None)
            keys[_marker(read)] = read
        # only whether each change is in effect matters here, not how the keys are spelt: no name lookups
        self.read(list(keys.values()), phase, names=False)
        return self.reader('SYSTEM')

    # cleaning up ----------------------------------------------------------------------------------
    def cleanup_tokens(self, check_mode):
        """Tokens of an earlier run's leftovers to remove with the next command (none in check mode)."""
        if not self.leftovers:
            return []
        if check_mode:
            self.warnings.append('an earlier, interrupted run left %s on the host; check mode leaves them, the next run '
                                 'removes them' % _leftover_text(self.leftovers))
            return []
        return sorted(self.leftovers)

    def cleaned_up(self, sections, tokens):
        for token in tokens:
            text, code = sections.get('untask-%s' % token, ('', None))
            self.cleaned.append({'token': token, 'files': self.leftovers.get(token, []),
                                 'scheduled_task': code == 0})
        if tokens:
            self.warnings.append('removed what an earlier, interrupted run left on the host: %s'
                                 % _leftover_text(dict((t, self.leftovers[t]) for t in tokens),
                                                  [c['token'] for c in self.cleaned if c['scheduled_task']]))
        self.leftovers = {}

    def clean(self, check_mode):
        """The cleanup command, for a task that runs no other command after its reads."""
        tokens = self.cleanup_tokens(check_mode)
        if tokens:
            stdout, _stderr, _rc = self.session.run('removing what an earlier run left', cleanup_command(self.work, tokens))
            self.cleaned_up(parse_sections(stdout)[0], tokens)

    # staging ------------------------------------------------------------------------------------------
    def stage(self, inf_path, files, targets, new_pnputil, cleanup=(), phase='staging the driver package',
              after=None):
        """Send the package, add it to the driver store, copy the service binaries. Raises before any import.
        ``after`` (hive name, reads, follows): what to read of that hive once pnputil has run, in the same command
        (Windows' records of the package: what was read of the hive before is forgotten).

        Returns a Staged record."""
        members = package_files(inf_path, files)
        names = dict((name.lower(), name) for name, _p in members)
        copies = []
        for name, target in targets:
            if name.lower() not in names:
                raise WinRMError('driver file %s is not in the package %s; nothing was changed' % (name, inf_path))
            copies.append((names[name.lower()], target))
        inf_name = os.path.basename(inf_path)
        planned, read_steps = None, []
        if after:
            self.forget(after[0])
            planned = self._plan_read(after[1], after[2], True, phase)
        if planned:
            read_steps = group_queries(planned[1]) + [
                ('F%d' % index, text, list(chain_tags) + [('F%d' % index, None)])
                for index, (text, chain_tags) in enumerate(planned[2])]
        try:
            command = stage_command(self.work, inf_name, copies, new_pnputil, cleanup,
                                    [(tag, text) for tag, text, _t in read_steps])
        except ValueError as exc:
            raise WinRMError('%s; the registry was not changed' % exc, phase=phase, applied=False, complete=True)
        script = stage_script(self.work, [(name, read_bytes(path)) for name, path in members])
        stdout, stderr, rc = self.session.run(phase, command, stdin=script)
        sections, _order = parse_sections(stdout)
        self.cleaned_up(sections, cleanup)
        if planned:
            self._absorb(sections, [tag for _s, _c, step_tags in read_steps for tag in step_tags])
            self._mark(planned[0], after[2])
        for tag in ['receive'] + ['copy%d' % i for i in range(len(copies))]:
            text, code = sections.get(tag, (None, None))
            # exit codes only: copy's own message ("1 file(s) copied.") is translated; fc /b compares the copy
            if code != 0:
                shown = clip(text if text is not None else stdout + stderr)
                raise WinRMError('staging driver package %s failed at step %s (exit code %s): %s. The registry was '
                                 'not changed; work files under %%SystemRoot%%\\Temp\\%s.* may remain and the next run '
                                 'removes them.' % (inf_name, tag, code, shown, self.work), phase=phase,
                                 complete=True)
        text, code = sections.get('pnputil', ('', None))
        return Staged(inf_name, members, copies, code, text, published_name(sections.get('published', ('', 0))[0]))

    # applying -------------------------------------------------------------------------------------
    def apply(self, reg_text, as_system, cleanup=(), first=None, phase='applying the change'):
        try:
            data = ascii_reg(reg_text) + b'\r\n'
        except WinRMError as exc:
            raise WinRMError('%s. %s' % (exc, NOTHING_CHANGED), phase=phase, applied=False, complete=True)
        stdout, stderr, rc = self.session.run(phase, apply_command(self.work, as_system, cleanup, first), stdin=data)
        sections, _order = parse_sections(stdout)
        self.cleaned_up(sections, cleanup)
        text, code = sections.get('receive', (None, None))
        if code != 0:
            raise WinRMError('sending the change to the host failed (exit code %s): %s. Nothing was imported.'
                             % (code, clip(text if text is not None else stdout + stderr)),
                             phase=phase, applied=False)
        if as_system:
            for tag in ('task', 'run'):
                text, code = sections.get(tag, (None, None))
                if code != 0:
                    raise WinRMError('running reg import as SYSTEM through schtasks failed at step %s (exit code %s): '
                                     '%s. Nothing was imported (%s).' % (tag, code, clip(text or stdout + stderr),
                                                                         ADMIN_HINT), phase=phase, applied=False)
            result = sections.get('result', ('', 1))[0].strip().lower()
            if result not in ('ok', 'failed'):
                raise WinRMError('the SYSTEM task importing the change did not finish within %d s; it may still '
                                 'run. Run the task again to check the state (it also removes the task and its work '
                                 'files).' % TASK_WAIT_SECONDS, phase=phase, applied=None)
            code = 0 if result == 'ok' else 1
            text = sections.get('import', ('', 0))[0]
        else:
            text, code = sections.get('import', (None, None))
            if code is None:
                raise WinRMError('the host did not run reg import (output: %s)' % clip(stdout + stderr),
                                 phase=phase, applied=None)
        return code, text


def _follow_reads(follows):
    """The Reads in registry.Follow trees (paths with holes), and the Follows' own keys."""
    out = []
    for follow in follows:
        if follow.path:
            out.append(Read(follow.hive, follow.path, False, None))
        for item in follow.then:
            out += _follow_reads([item]) if isinstance(item, Follow) else [item]
    return out


def _parent(name):
    return '\\'.join(name.split('\\')[:-1])


def _same_parent(path, names):
    """Whether the key the host names for registry.PARENTS in ``path`` is the name less its last part: cmd.exe takes
    the last part as a file name (%~nx: no trailing dot or space, no colon or slash) and removes every "\\<it>",
    ignoring case."""
    for level, name in enumerate(names):
        if PARENTS[level] not in path:
            continue
        last = name.split('\\')[-1]
        if not last or re.search(r'[:/]|[. ]$', last) or \
                re.sub(re.escape('\\' + last), '', name, flags=re.I) != _parent(name):
            return False
    return True


def _filled(path, names):
    """A path with registry.HOLES replaced by ``names`` (HOLES[0] by names[0], ...; a name may be a path), and
    registry.PARENTS by the name less its last part."""
    table = dict(zip(HOLES, names))
    table.update(zip(PARENTS, [_parent(n) for n in names]))
    out = []
    for part in path:
        out.extend(p for p in table[part].split('\\') if p) if part in table else out.append(part)
    return tuple(out)


def read_bytes(path):
    with open(path, 'rb') as handle:
        return handle.read()


def clip(text, limit=600):
    text = (text or '').strip().replace('\r\n', '\n')
    return text if len(text) <= limit else text[:limit] + '...'


def _leftover_text(leftovers, tasks=()):
    parts = []
    for token in sorted(leftovers):
        parts.append('%s (%s%s)' % ('sanboot-%s' % token, ', '.join(leftovers[token]) or 'no files',
                                    ', scheduled task' if token in tasks else ''))
    return '; '.join(parts) + ' in %SystemRoot%\\Temp'
