# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cmd.exe's command line, the subset the collection and a user's typo can reach: ``&``, ``&&``, ``||``, parentheses
with redirections, ``for /l``, ``for /f`` over a command's output, ``for`` over files, ``if [not] exist``, %VAR%
expansion at parse time and delayed !VAR! / !VAR:~n,m! expansion at run time (cmd /v:on), redirections."""

from __future__ import absolute_import, division, print_function

import ntpath
import re

MAX_LINE = 8191         # cmd.exe reads at most this many characters of a command line


class ParseError(Exception):
    pass


class Simple(object):
    def __init__(self, text):
        self.text = text


class Group(object):
    def __init__(self, seq, redirs):
        self.seq = seq
        self.redirs = redirs


class For(object):
    """for /l %v in (start,step,end) | for /f "options" %v in ('command') | for %v in (file set)."""

    def __init__(self, kind, var, spec, body, options=''):
        self.kind, self.var, self.spec, self.body, self.options = kind, var, spec, body, options


class If(object):
    def __init__(self, negate, path, body):
        self.negate, self.path, self.body = negate, path, body


_FOR_L = re.compile(r'for\s+/l\s+%(\w)\s+in\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)\s*do\s+', re.I)
_FOR_F = re.compile(r'for\s+/f\s+"([^"]*)"\s+%(\w)\s+in\s*\(\s*\'([^\']*)\'\s*\)\s*do\s+', re.I)
_FOR_SET = re.compile(r'for\s+%(\w)\s+in\s*\(([^)]*)\)\s*do\s+', re.I)
_IF_RE = re.compile(r'if\s+(not\s+)?exist\s+("[^"]*"|[^\s"]+)\s+', re.I)


def _skip(s, i):
    while i < len(s) and s[i] in ' \t':
        i += 1
    return i


def parse_seq(s, i=0, in_group=False):
    items, op = [], None
    while True:
        i = _skip(s, i)
        if i >= len(s) or (in_group and s[i] == ')'):
            break
        node, i = parse_stmt(s, i, in_group)
        items.append((op, node))
        i = _skip(s, i)
        if i >= len(s) or (in_group and s[i] == ')'):
            break
        if s.startswith('&&', i):
            op, i = '&&', i + 2
        elif s.startswith('||', i):
            op, i = '||', i + 2
        elif s[i] == '&':
            op, i = '&', i + 1
        elif s[i] == '|':
            raise ParseError('pipes are not emulated')
        else:
            raise ParseError('unexpected %r at %d' % (s[i], i))
    return items, i


def _simple_end(s, i, in_group):
    quoted = False
    while i < len(s):
        c = s[i]
        if c == '"':
            quoted = not quoted
        elif not quoted:
            if c == '>' and s.startswith('>&', i):
                i += 2
                continue
            if c in '&|' or (in_group and c == ')'):
                break
        i += 1
    return i


def parse_stmt(s, i, in_group):
    i = _skip(s, i)
    if i < len(s) and s[i] == '@':
        i += 1
    if i < len(s) and s[i] == '(':
        seq, i = parse_seq(s, i + 1, True)
        if i >= len(s) or s[i] != ')':
            raise ParseError('unbalanced parenthesis')
        end = _simple_end(s, i + 1, in_group)
        return Group(seq, s[i + 1:end]), end
    for regex, kind in ((_FOR_L, 'l'), (_FOR_F, 'f'), (_FOR_SET, 'set')):
        match = regex.match(s, i)
        if match:
            body, i = parse_seq(s, match.end(), in_group) if kind != 'f' else _body(s, match.end(), in_group)
            if kind == 'l':
                return For('l', match.group(1), tuple(int(match.group(n)) for n in (2, 3, 4)), body), i
            if kind == 'f':
                return For('f', match.group(2), match.group(3), body, match.group(1)), i
            return For('set', match.group(1), match.group(2).strip(), body), i
    match = _IF_RE.match(s, i)
    if match:
        body, i = parse_seq(s, match.end(), in_group)
        return If(bool(match.group(1)), match.group(2).strip('"'), body), i
    end = _simple_end(s, i, in_group)
    return Simple(s[i:end]), end


def _body(s, i, in_group):
    return parse_seq(s, i, in_group)


def split_redirections(text):
    """(text without redirections, [(fd, mode, target)]) for one simple command."""
    out, redirs = [], []
    i, quoted = 0, False
    while i < len(text):
        c = text[i]
        if c == '"':
            quoted = not quoted
            out.append(c)
            i += 1
            continue
        if c == '>' and not quoted:
            fd = 1
            if out and out[-1] in '12' and (len(out) == 1 or out[-2] in ' \t'):
                fd = int(out.pop())
            mode = 'w'
            i += 1
            if i < len(text) and text[i] == '>':
                mode, i = 'a', i + 1
            i = _skip(text, i)
            if text.startswith('&', i):
                redirs.append((fd, 'dup', text[i + 1]))
                i += 2
                continue
            start = i
            if i < len(text) and text[i] == '"':
                end = text.index('"', i + 1)
                target, i = text[i + 1:end], end + 1
            else:
                while i < len(text) and text[i] not in ' \t>':
                    i += 1
                target = text[start:i]
            redirs.append((fd, mode, target))
            continue
        out.append(c)
        i += 1
    return ''.join(out), redirs


def split_args(text):
    args, cur, quoted, has = [], [], False, False
    for c in text:
        if c == '"':
            quoted = not quoted
            has = True
        elif c in ' \t' and not quoted:
            if cur or has:
                args.append(''.join(cur))
            cur, has = [], False
        else:
            cur.append(c)
    if cur or has:
        args.append(''.join(cur))
    return args


def expand_percent(s, env):
    """Command-line %VAR% expansion: defined names are replaced, others are kept (scan goes on after them)."""
    out, i = [], 0
    while i < len(s):
        if s[i] == '%':
            end = s.find('%', i + 1)
            if end > i + 1 and s[i + 1:end].upper() in env:
                out.append(env[s[i + 1:end].upper()])
                i = end + 1
                continue
        out.append(s[i])
        i += 1
    return ''.join(out)


_DELAYED = re.compile(r'!([^!:]+)(?::~(-?\d+)(?:,(-?\d+))?)?!')
_REPLACE = re.compile(r'!([^!:]+):([^=!~*][^=!]*)=([^!]*)!')


def expand_delayed(s, env):
    """Delayed expansion (cmd /v:on): !VAR!, !VAR:~start!, !VAR:~start,length! and !VAR:str=repl! (every str,
    ignoring case); undefined names expand to ''."""
    def replace(match):
        value = env.get(match.group(1).upper())
        if value is None:
            return ''
        return re.sub(re.escape(match.group(2)), lambda _m: match.group(3), value, flags=re.I)
    s = _REPLACE.sub(replace, s)

    def one(match):
        value = env.get(match.group(1).upper(), '')
        if match.group(2) is not None:
            start = int(match.group(2))
            value = value[start:] if start >= 0 else value[len(value) + start:] if -start <= len(value) else value
            if match.group(3) is not None:
                length = int(match.group(3))
                value = value[:length] if length >= 0 else value[:length]
        return value
    return _DELAYED.sub(one, s)


def substitute(seq, var, value):
    """The loop variable's references (%v and %~nxv, %~nv, %~xv) replaced in a parsed body."""
    name = ntpath.basename(value.strip('"'))
    stem, ext = ntpath.splitext(name)
    table = [('%~nx' + var, name), ('%~n' + var, stem), ('%~x' + var, ext), ('%~' + var, value.strip('"')),
             ('%' + var, value)]

    def text(t):
        for key, repl in table:
            t = t.replace(key, repl)
        return t
    out = []
    for op, node in seq:
        if isinstance(node, Simple):
            node = Simple(text(node.text))
        elif isinstance(node, If):
            node = If(node.negate, text(node.path), substitute(node.body, var, value))
        elif isinstance(node, Group):
            node = Group(substitute(node.seq, var, value), text(node.redirs))
        elif isinstance(node, For):
            node = For(node.kind, node.var, node.spec if node.kind == 'l' else text(node.spec),
                       substitute(node.body, var, value), node.options)
        out.append((op, node))
    return out
