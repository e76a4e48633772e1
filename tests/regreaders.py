# Independent hive readers for the tests: libregf (Debian python3-libregf, C) and dissect.regf (PyPI, Python), neither
# of which shares code with libhivex, plus a model of what a plan's .reg text does to a hive.
#
# A dump is {key path (tuple of stored names): {value name: (type, raw data)}}, as helpers.dump_hive (libhivex) makes
# it. dissect.regf shows every byte (it only calls the unnamed value '(Default)'). Debian's libregf (20201007) does
# not, so its view is compared for what it can show: it cuts names at a NUL (the special-names fixture has
# 'zero\0key'); it gives string values as text, and reads past the end of one that lacks its terminating NUL; and it
# returns zeros for data of 1 to 3 bytes kept inside the value cell.
import re

from ansible_collections.sanboot.windows.plugins.module_utils.registry import Value, fold


def _name(text):
    return text.split('\x00', 1)[0]


def _terminated(data):
    return any(data[at:at + 2] == b'\x00\x00' for at in range(0, len(data) - 1, 2))


def dump_libregf(path):
    """{key: {value name: (type, data, text of a string value)}}."""
    import pyregf
    f = pyregf.file()
    f.open(path)
    try:
        out = {}
        stack = [(f.get_root_key(), ())]
        while stack:
            key, here = stack.pop()
            out[here] = dict((_name(v.name or ''), (v.type, v.data or b'', v.get_data_as_string() or ''
                                                    if v.type in (1, 2) else None)) for v in key.values)
            stack.extend((sub, here + (_name(sub.name),)) for sub in key.sub_keys)
        return out
    finally:
        f.close()


def _libregf_sees(expected, seen):
    kind, data = expected
    if seen is None or seen[0] != kind:
        return False
    if kind in (1, 2):
        return not _terminated(data) or Value('', kind, data).decoded() == seen[2]
    if 0 < len(data) < 4 and kind not in (4, 5):
        return len(seen[1]) == len(data)
    return seen[1] == data


def _libregf_compare(expected, seen):
    expected = dict((tuple(_name(p) for p in key), dict((_name(n), v) for n, v in values.items()))
                    for key, values in expected.items())
    return differences(expected, seen, _libregf_sees)


def dump_dissect(path):
    from dissect.regf import RegistryHive
    with open(path, 'rb') as f:
        hive = RegistryHive(f)
        out = {}
        stack = [(hive.root(), ())]
        while stack:
            key, here = stack.pop()
            out[here] = dict(('' if v.cell.NameLength == 0 else v.name, (v.type, bytes(v.data))) for v in key.values())
            stack.extend((sub, here + (sub.name,)) for sub in key.subkeys())
        return out


# --- what a .reg file (as Plan.to_reg renders it) does to a dump ------------------------------------------------

def _folded(path):
    return tuple(fold(p) for p in path)


def _unescape(text):
    return re.sub(r'\\(.)', r'\1', text)


def _value(spec):
    if spec.startswith('"'):
        return 1, (_unescape(spec[1:-1]) + '\x00').encode('utf-16-le')
    if spec.startswith('dword:'):
        return 4, int(spec[6:], 16).to_bytes(4, 'little')
    match = re.match(r'hex(?:\(([0-9a-fA-F]+)\))?:(.*)$', spec)
    data = bytes(int(b, 16) for b in match.group(2).split(',') if b)
    return (int(match.group(1), 16) if match.group(1) else 3), data


def apply_reg(dump, reg_text, prefix):
    """A copy of ``dump`` with ``reg_text`` merged the way regedit merges it (names matched case-insensitively)."""
    out = dict((k, dict(v)) for k, v in dump.items())
    stored = dict((_folded(k), k) for k in out)
    current = None
    for line in reg_text.splitlines()[1:]:
        if not line.strip():
            continue
        if line.startswith('['):
            delete = line.startswith('[-')
            full = line[2 if delete else 1:-1]
            assert full.upper() == prefix.upper() or full.upper().startswith(prefix.upper() + '\\'), line
            path = tuple(full[len(prefix) + 1:].split('\\')) if len(full) > len(prefix) else ()
            if delete:
                gone = _folded(path)
                for key in [k for k in stored if k[:len(gone)] == gone]:
                    del out[stored.pop(key)]
                current = None
                continue
            here = ()
            for part in path:
                here = stored.get(_folded(here + (part,))) or here + (part,)
                if here not in out:
                    out[here] = {}
                    stored[_folded(here)] = here
            current = here
            continue
        match = re.match(r'^(@|"((?:[^"\\]|\\.)*)")=(.*)$', line)
        assert match and current is not None, line
        name = '' if match.group(1) == '@' else _unescape(match.group(2))
        values = out[current]
        spelled = [n for n in values if fold(n) == fold(name)]
        for n in spelled:
            del values[n]
        if match.group(3) != '-':
            values[spelled[0] if spelled else name] = _value(match.group(3))
    return out


def differences(expected, seen, same=lambda e, s: e == s, limit=5):
    """Readable differences between two dumps (empty when equal)."""
    out = []
    for key in sorted(set(expected) | set(seen)):
        want, got = expected.get(key), seen.get(key)
        equal = want is not None and got is not None and set(want) == set(got) and all(
            same(want[n], got[n]) for n in want)
        if not equal:
            out.append('%s: expected %r, read %r' % ('\\'.join(key) or '(root)', want, got))
            if len(out) >= limit:
                break
    return out


# name: (reader, differences between a full dump and what the reader shows)
READERS = {'libregf': (dump_libregf, _libregf_compare), 'dissect.regf': (dump_dissect, differences)}


def assert_readers_see(path, expected):
    """Each independent reader sees exactly ``expected`` (a dump with every byte) in the hive file ``path``."""
    for name, (reader, compare) in READERS.items():
        diffs = compare(expected, reader(path))
        assert not diffs, '%s reads %s differently:\n%s' % (name, path, '\n'.join(diffs))
