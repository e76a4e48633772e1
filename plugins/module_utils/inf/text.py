# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""INF text: bytes -> decoded text -> build-time templates resolved -> sections of lines (Wine's parser).

* decode (BOM, BOM-less UTF-16, UTF-8, else cp1252 with replacement), Ctrl-Z ends the file;
* templates: stampinf / INX tokens substituted when the caller gives ``templates``, refused otherwise;
* tokenize like Wine's setupapi parser (quotes, ``""``, ``;`` comments, ``\\`` continuation, case-insensitive and
  merged sections, a key only when ``=`` comes before the first comma outside quotes); each section's lines are
  split the first time they are used.

Also the package's error type and integer rule, which every later stage uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError


class InfError(RegistryError):
    """The reader's one error type; the message is meant for the user as it is (file and line when known)."""


MAX_SECTION_NAME = 255

# Build-time tokens of driver source templates (stampinf, virtio-win's INX macros) and C preprocessor lines.
_STAMPINF_RE = re.compile(
    r'\$(?:ARCH|KMDFVERSION|KMDFCOINSTALLERVERSION|UMDFVERSION|UMDFCOINSTALLERVERSION|WDFCOINSTALLERVERSION)\$')
_INX_RE = re.compile(r'INX_[A-Za-z0-9_]*')   # a match preceded by a letter (LINX_...) is not one
_PREPROC_RE = re.compile(
    r'^[^\S\n]*#[^\S\n]*(?:include|define|undef|ifdef|ifndef|if|elif|else|endif|pragma|error|line)\b[^\n]*', re.M)
_INT_RE = re.compile(r'^\s*([+-]?)\s*(0[xX][0-9a-fA-F]+|[0-9]+)\s*$')


def warn_once(warnings, message):
    """Append ``message`` to ``warnings`` unless it is there already."""
    if message not in warnings:
        warnings.append(message)


def parse_int(text):
    """Integer as INF readers take it after substitution: ``0x`` hex, else decimal (leading zeros stay decimal)."""
    if text is None:
        return None
    if text.isdigit() and text.isascii():
        return int(text)
    m = _INT_RE.match(text)
    if not m:
        return None
    digits = m.group(2)
    value = int(digits, 16) if digits[:2] in ('0x', '0X') else int(digits, 10)
    return -value if m.group(1) == '-' else value


# ---------------------------------------------------------------------------------------------------------
# Decoding

def _sniff_utf16(data):
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    odd = sample[1:pairs * 2:2].count(0)
    even = sample[0:pairs * 2:2].count(0)
    if odd * 10 >= pairs * 4 and even * 20 < pairs:
        return 'utf-16-le'
    if even * 10 >= pairs * 4 and odd * 20 < pairs:
        return 'utf-16-be'
    return None


def decode_inf(data):
    """(text, encoding label) of INF bytes: BOM, BOM-less UTF-16, strict UTF-8, else cp1252 with replacement.

    Text after a Ctrl-Z is dropped and NUL characters become blanks, as in Wine's parser.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise InfError('INF data must be bytes')
    data = bytes(data)
    if data[:2] == b'\xff\xfe':
        text, encoding = data[2:].decode('utf-16-le', 'replace'), 'utf-16le-bom'
    elif data[:2] == b'\xfe\xff':
        text, encoding = data[2:].decode('utf-16-be', 'replace'), 'utf-16be-bom'
    elif data[:3] == b'\xef\xbb\xbf':
        text, encoding = data[3:].decode('utf-8', 'replace'), 'utf-8-bom'
    else:
        codec = _sniff_utf16(data)
        if codec:
            text, encoding = data.decode(codec, 'replace'), codec.replace('utf-16-', 'utf-16')
        else:
            try:
                text, encoding = data.decode('utf-8'), 'utf-8/ascii'
            except UnicodeDecodeError:
                text, encoding = data.decode('cp1252', 'replace'), 'ansi-cp1252'
    cut = text.find('\x1a')
    if cut >= 0:
        text = text[:cut]
    if '\x00' in text:
        text = text.replace('\x00', ' ')
    if text.startswith('\ufeff'):
        text = text[1:]
    return text, encoding


# ---------------------------------------------------------------------------------------------------------
# Templates

def _comment_start(line):
    """Index of the ``;`` that starts a comment on a physical line (outside quotes), or -1."""
    i = 0
    while True:
        semi = line.find(';', i)
        if semi < 0:
            return -1
        quote = line.find('"', i)
        if quote < 0 or semi < quote:
            return semi
        end = line.find('"', quote + 1)
        if end < 0:
            return -1
        i = end + 1


_TEMPLATE_HINTS = ('$ARCH$', '$KMDF', '$UMDF', '$WDF', 'INX_')


def _has_preprocessor_line(text):
    """True when a line starts (after blanks) with "#" followed by a letter: a candidate C preprocessor line."""
    at = text.find('#')
    while at >= 0:
        start = text.rfind('\n', 0, at) + 1
        if not text[start:at].strip() and text[at + 1:at + 40].lstrip(' \t')[:1].isalpha():
            return True
        at = text.find('#', at + 1)
    return False


def _template_markers(text):
    """[(token, line number)] of template tokens outside comments and of C preprocessor lines."""
    found = []
    matches = []
    if '$' in text and any(hint in text for hint in _TEMPLATE_HINTS[:4]):
        matches.extend(_STAMPINF_RE.finditer(text))
    if 'INX_' in text:
        matches.extend(m for m in _INX_RE.finditer(text) if not text[m.start() - 1:m.start()].isalpha())
    for m in matches:
        start = text.rfind('\n', 0, m.start()) + 1
        end = text.find('\n', m.start())
        line = text[start:end if end >= 0 else len(text)]
        semi = _comment_start(line)
        if semi < 0 or m.start() - start < semi:
            found.append((m.group(0), text.count('\n', 0, m.start()) + 1))
    if '#' in text and _has_preprocessor_line(text):
        for m in _PREPROC_RE.finditer(text):
            found.append((m.group(0).strip(), text.count('\n', 0, m.start()) + 1))
    return found


def _describe_markers(markers, limit=6):
    seen = []
    for token, line in markers:
        item = '%s (line %d)' % (token, line)
        if not any(s.startswith(token + ' ') for s in seen):
            seen.append(item)
    more = len(seen) - limit
    return ', '.join(seen[:limit]) + (', and %d more' % more if more > 0 else '')


def apply_templates(text, templates, arch, name, warnings):
    """Substitute build-time template tokens (literal text) and drop C preprocessor lines; refuse what remains."""
    mapping = {}
    for key, value in templates.items():
        if not isinstance(key, str) or not key:
            raise InfError('templates: keys must be non-empty strings, got %r' % (key,))
        if value is None or isinstance(value, (dict, list, tuple)):
            raise InfError('templates: the value for %s must be a string' % key)
        mapping[key] = str(value)
    if '$ARCH$' not in mapping and arch:
        mapping['$ARCH$'] = arch
    present = [k for k in sorted(mapping, key=len, reverse=True) if k in text]
    if len(present) == 1:
        text = text.replace(present[0], mapping[present[0]])
    elif present:
        # one left-to-right pass, longest token first at each place (a replacement is never scanned again)
        pattern = re.compile('|'.join(re.escape(k) for k in present))
        text = pattern.sub(lambda m: mapping[m.group(0)], text)

    def drop(m):
        warn_once(warnings, '%s: template line %r dropped (line %d); whatever it would add is missing'
                  % (name, m.group(0).strip(), text.count('\n', 0, m.start()) + 1))
        return ''
    if '#' in text and _has_preprocessor_line(text):
        text = _PREPROC_RE.sub(drop, text)
    left = _template_markers(text)
    if left:
        raise InfError('%s: template tokens left after substitution: %s; add them to templates'
                       % (name, _describe_markers(left)))
    return text


def resolve_templates(text, templates, arch, name, warnings):
    """(text, sorted template tokens met or None): a driver source template is substituted with ``templates``
    (apply_templates), and refused without them: it is not a built INF."""
    if templates is None:
        markers = _template_markers(text)
        if markers:
            raise InfError(
                '%s is a driver source template, not a built INF: it uses %s. Build it (stampinf / the vendor '
                'build) or pass templates to substitute the tokens, for example {"$ARCH$": "amd64"}'
                % (name, _describe_markers(markers)))
        return text, None
    if not isinstance(templates, dict):
        raise InfError('templates must be a mapping of template token to replacement text')
    markers = _template_markers(text)
    tokens = sorted(set(t for t, _line in markers)) if markers else None
    return apply_templates(text, templates, arch, name, warnings), tokens


# ---------------------------------------------------------------------------------------------------------
# Tokenizer

class Section(object):
    """One section, duplicates merged: ``lines`` are (key or None, [raw fields], line number, lower-case key).

    The lines of a section are split into fields the first time they are asked for: a reader touches a fraction of
    the sections of an INF (one Strings section of many, one platform's Models and install sections).
    """

    __slots__ = ('name', 'chunks', '_lines', '_first')

    def __init__(self, name):
        self.name = name
        self.chunks = []    # (body text, line number of its first line)
        self._lines = None
        self._first = None

    def first(self, key):
        """Fields of the first line whose lower-case key is ``key`` (what SetupFindFirstLine finds), or None."""
        if self._first is None:
            table = {}
            for line in self.lines:
                if line[3] is not None and line[3] not in table:
                    table[line[3]] = line[1]
            self._first = table
        return self._first.get(key)

    @property
    def lines(self):
        if self._lines is None:
            lines = []
            for body, first_line in self.chunks:
                lines.extend(_parse_body(body, first_line))
            self._lines = lines
            self.chunks = []
        return self._lines


def _strip_continuation(text):
    end = len(text)
    while end and (text[end - 1] == '\\' or text[end - 1].isspace()):
        end -= 1
    return text[:end]


# Quoted parts cannot span lines: an unterminated quote ends at the end of its line (Wine's QUOTES state).
_QUOTE_SPLIT_RE = re.compile(r'"([^"\n]*(?:""[^"\n]*)*)"?')
_CONTINUED_HEADER_RE = re.compile(r'\\[^\S\n]*(?:;[^\n]*)?\n[^\S\n]*\[')
_CONTENT_RE = re.compile(r'^[^\S\n]*[^;\s]', re.M)
_PLACEHOLDERS = ['\x00%d\x00' % n for n in range(4096)]


def _placeholder(number):
    return _PLACEHOLDERS[number] if number < 4096 else '\x00%d\x00' % number


def _restore(text, quotes):
    """Put the quoted parts back where _hide_quotes left ``NUL index NUL`` placeholders."""
    if text[0] == '\x00' and text[-1] == '\x00' and text.count('\x00') == 2:
        return quotes[int(text[1:-1])]
    parts = text.split('\x00')
    out = [parts[0]]
    for idx in range(1, len(parts) - 1, 2):
        out.append(quotes[int(parts[idx])])
        out.append(parts[idx + 1])
    return ''.join(out)


def _hide_quotes(body, first=0):
    """(body with each quoted part replaced by a placeholder numbered from ``first``, [quoted texts, "" made "])."""
    parts = _QUOTE_SPLIT_RE.split(body)
    quotes = parts[1::2]
    if '""' in body:
        quotes = [q.replace('""', '"') if '""' in q else q for q in quotes]
    count = len(quotes)
    if first == 0 and count <= len(_PLACEHOLDERS):
        parts[1::2] = _PLACEHOLDERS[:count]
    else:
        parts[1::2] = [_placeholder(first + n) for n in range(count)]
    return ''.join(parts), quotes


def _entry(content, lineno, quotes):
    """(key, fields, line, lower key) of one logical line without comment (Wine: a key only when "=" comes
    before the first comma; leading and trailing blanks of every field dropped)."""
    eq = content.find('=')
    comma = content.find(',')
    if eq >= 0 and (comma < 0 or eq < comma):
        key = content[:eq].strip()
        rest = content[eq + 1:]
    else:
        key = None
        rest = content
    fields = list(map(str.strip, rest.split(','))) if comma >= 0 else [rest.strip()]
    if quotes is not None:
        if key is not None and '\x00' in key:
            key = _restore(key, quotes)
        fields = [_restore(f, quotes) if '\x00' in f else f for f in fields]
    return (key, fields, lineno, key.lower() if key is not None else None)


def _parse_body(body, first_line):
    """Lines of one section body (the text between two section headers)."""
    quotes = None
    if '"' in body:
        body, quotes = _hide_quotes(body)
    out = []
    append = out.append
    strip = str.strip
    restore = _restore
    line = first_line - 1
    physical = iter(body.split('\n'))
    for raw in physical:
        line += 1
        s = raw.lstrip()
        if not s:
            continue
        semi = s.find(';')
        if semi == 0:
            continue
        # s starts with a non-blank that is not ";", so content is never empty here
        content = (s[:semi] if semi > 0 else s).rstrip()
        lineno = line
        if content[-1] == '\\':
            while content[-1:] == '\\':
                content = _strip_continuation(content)
                nxt = next(physical, None)
                if nxt is None:
                    break
                line += 1
                nxt = nxt.lstrip()
                semi = nxt.find(';')
                content += (nxt[:semi] if semi >= 0 else nxt).rstrip()
            if not content:
                continue
        eq = content.find('=')
        if eq >= 0 and content.find(',', 0, eq) < 0:
            key = content[:eq].strip()
            rest = content[eq + 1:]
        else:
            key = None
            rest = content
        fields = list(map(strip, rest.split(','))) if ',' in rest else [rest.strip()]
        if quotes is not None and '\x00' in content:
            if key is not None and '\x00' in key:
                key = restore(key, quotes)
            fields = [restore(f, quotes) if '\x00' in f else f for f in fields]
        append((key, fields, lineno, key.lower() if key is not None else None))
    return out


def _tokenize_exact(text, name, warnings):
    """Line-by-line tokenizer for the rare file where a continued line is followed by a "[" line, which is then
    a value and not a section header."""
    sections = {}
    current = None
    lines = text.replace('\x00', ' ').split('\n')
    count = len(lines)
    i = 0
    while i < count:
        s = lines[i].lstrip()
        i += 1
        if not s or s[0] == ';':
            continue
        lineno = i
        if s[0] == '[':
            end = s.find(']')
            if end < 0:
                raise InfError('%s line %d: section name has no closing "]"' % (name, lineno))
            sname = s[1:end].strip()
            if len(sname) > MAX_SECTION_NAME:
                raise InfError('%s line %d: section name longer than %d characters' % (name, lineno, MAX_SECTION_NAME))
            current = sections.get(sname.lower())
            if current is None:
                current = sections[sname.lower()] = Section(sname)
                current._lines = []
            continue
        quotes = []
        if '"' in s:
            s, quotes = _hide_quotes(s)
        semi = s.find(';')
        if semi >= 0:
            s = s[:semi]
        s = s.rstrip()
        while s.endswith('\\'):
            s = _strip_continuation(s)
            if i >= count:
                break
            nxt = lines[i].lstrip()
            i += 1
            if '"' in nxt:
                nxt, more = _hide_quotes(nxt, len(quotes))
                quotes = quotes + more
            semi = nxt.find(';')
            if semi >= 0:
                nxt = nxt[:semi]
            s += nxt.rstrip()
        if not s:
            continue
        if current is None:
            warn_once(warnings, '%s: text before the first section header ignored (line %d)' % (name, lineno))
            continue
        current._lines.append(_entry(s, lineno, quotes or None))
    return sections


def tokenize(text, name='<inf>', warnings=None):
    """Sections of decoded INF text, by lower-case name, in file order (Wine's rules; see the module docstring).

    Section headers are found with one regular expression; each section's lines are split when first used.
    Quoted parts are swapped for ``NUL index NUL`` placeholders (decode_inf turned every NUL into a blank), so
    comments, commas, ``=`` and trailing backslashes are then found with plain string methods.
    """
    if warnings is None:
        warnings = []
    if '\x00' in text:
        text = text.replace('\x00', ' ')
    if '\\' in text and _CONTINUED_HEADER_RE.search(text):
        return _tokenize_exact(text, name, warnings)
    sections = {}
    current = None
    pos = 0
    line = 1
    find = text.find
    length = len(text)
    at = find('[')
    while at >= 0:
        # a "[" that is the first non-blank character of its line starts a section header
        start = text.rfind('\n', 0, at) + 1
        if start != at and not text[start:at].isspace():
            at = find('[', at + 1)
            continue
        eol = find('\n', at)
        if eol < 0:
            eol = length
        header_line = line + text.count('\n', pos, start)
        if current is not None:
            current.chunks.append((text[pos:start], line))
        elif _CONTENT_RE.search(text, 0, start):
            warn_once(warnings, '%s: text before the first section header ignored' % name)
        rest = text[at + 1:eol]
        end = rest.find(']')
        if end < 0:
            raise InfError('%s line %d: section name has no closing "]"' % (name, header_line))
        sname = rest[:end].strip()
        if len(sname) > MAX_SECTION_NAME:
            raise InfError('%s line %d: section name longer than %d characters'
                           % (name, header_line, MAX_SECTION_NAME))
        current = sections.get(sname.lower())
        if current is None:
            current = sections[sname.lower()] = Section(sname)
        pos = eol + 1
        line = header_line + 1
        at = find('[', pos)
    if current is not None:
        if pos < len(text):
            current.chunks.append((text[pos:], line))
    elif _CONTENT_RE.search(text):
        warn_once(warnings, '%s: text before the first section header ignored' % name)
    return sections
