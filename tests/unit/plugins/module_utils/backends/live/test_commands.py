# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command lines the live back-end runs (backends/live/commands.py), without a host: what a security team reads
on the host, and their output cut back into steps (issue 15's footprint)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.backends import live as wb
from ansible_collections.sanboot.windows.plugins.module_utils.registry import Read


def _commands():
    reads = [Read('SYSTEM', (wb.CURRENT, 'Services', 'Tcpip'), False, None),
             Read('SYSTEM', (wb.CURRENT, 'Enum', 'PCI'), True, ('ClassGUID', 'HardwareID')),
             Read('SOFTWARE', ('Microsoft', 'Windows NT', 'CurrentVersion'), False, ('CurrentVersion',))]
    jobs = [(arguments, r) for r in reads for arguments, _n in wb.queries(r)]
    jobs.append((wb.lookup_query('SYSTEM', (wb.CURRENT, 'Services'), 'Psched'), None))
    work = 'sanboot-0123abcd'
    copies = [('netkvm.sys', 'System32\\drivers\\netkvm.sys')]
    return ([c for c, _t in wb.read_commands(work, jobs)] +
            [wb.apply_command(work), wb.apply_command(work, True, first=12), wb.cleanup_command(work, ['89abcdef']),
             wb.stage_command(work, 'netkvm.inf', copies, True)])


def test_what_a_security_team_sees_on_the_host():
    # Sigma: "Dumping of Sensitive Hives Via Reg.EXE" (reg save/export + HKLM + \system|\sam|\security), "Suspicious
    # Certutil Command", "Potential Configuration And Service Reconnaissance Via Reg.EXE" (reg query of
    # currentcontrolset\services), PowerShell -EncodedCommand: none of them matches a line the plugins run.
    for executable, arguments in _commands():
        line = (executable + ' ' + arguments).lower()
        assert executable == 'cmd.exe' and len(line) < 8191
        for reg in re.findall(r'reg (\w+) ([^&]*)', line):
            assert reg[0] in ('query', 'import'), reg
        assert 'certutil' not in line and 'currentcontrolset' not in line and '-enc' not in line
        assert 'hidden' not in line and 'bypass' not in line and 'makecab' not in line
        # cmd expands %...% pairs before running: a loop's %x must be the last % of its line
        loop = re.search(r'%[a-z] in', line)
        if loop:
            assert '%' not in line[loop.end():].replace(line[loop.start():loop.start() + 2], '')\
                .replace('%~nx' + line[loop.start() + 1], '')
    # schtasks refuses a /tr longer than 261 characters
    assert wb.task_action_length('sanboot-0123abcd') <= 261


def test_output_cut_back_into_steps_and_leftovers_by_name():
    sections, order = wb.parse_sections('x\r\n## cs 0\r\nERROR: no\r\n## one 1\r\n'
                                        '## two 0\r\n')
    assert order == ['cs', 'one', 'two'] and sections['one'] == ('ERROR: no', 1) and sections['two'] == ('', 0)
    listing = 'sanboot-0123abcd.out\r\nsanboot-89abcdef.reg\r\nsanboot-89abcdef.pkg\r\nsanboot-zz.reg\r\nother.txt\r\n'
    found = wb.leftover_tokens(listing, 'sanboot-0123abcd')
    assert found == {'89abcdef': ['sanboot-89abcdef.reg', 'sanboot-89abcdef.pkg']}
