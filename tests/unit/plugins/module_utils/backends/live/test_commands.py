# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command lines the live back-end runs (backends/live/commands.py), without a host: what a security team reads
on the host, and their output cut back into steps (issue 15's footprint)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.sanboot.windows.plugins.module_utils.backends import live as wb
from ansible_collections.sanboot.windows.plugins.module_utils.registry import HOLES, Follow, Read


def _commands():
    reads = [Read('SYSTEM', (wb.CURRENT, 'Services', 'Tcpip'), False, None),
             Read('SYSTEM', (wb.CURRENT, 'Enum', 'PCI'), True, ('ClassGUID', 'HardwareID')),
             Read('SOFTWARE', ('Microsoft', 'Windows NT', 'CurrentVersion'), False, ('CurrentVersion',))]
    jobs = [(arguments, r) for r in reads for arguments, _n in wb.queries(r)]
    jobs.append((wb.lookup_query('SYSTEM', (wb.CURRENT, 'Services'), 'Psched'), None))
    # issue 25: HKLM\DRIVERS (loaded by the line when the kernel has not), and the DriverDatabase chain followed
    jobs.append((wb.queries(Read('DRIVERS', ('DriverDatabase',), False, None))[0][0], None))
    inf, package, service = HOLES[1:4]
    chain = Follow('DRIVERS', None, False, ('PCI\\VEN_8086&DEV_10D3', 'PCI\\VEN_8086&DEV_10D3&REV_00'), (
        Follow('DRIVERS', ('DriverDatabase', 'DeviceIds', HOLES[0]), False, None, (
            Read('DRIVERS', ('DriverDatabase', 'DriverInfFiles', inf), False, None),
            Follow('DRIVERS', ('DriverDatabase', 'DriverInfFiles', inf), False, 'Active', (
                Read('DRIVERS', ('DriverDatabase', 'DriverPackages', package), True, None),
                Follow('DRIVERS', ('DriverDatabase', 'DriverPackages', package), True, 'Service', (
                    Read('SYSTEM', (wb.CURRENT, 'Services', service), False, None),)))))),))
    follow_tags = []
    follows = [(wb.follow_step(chain, follow_tags), follow_tags)]
    work = 'sanboot-0123abcd'
    copies = [('netkvm.sys', 'System32\\drivers\\netkvm.sys')]
    return ([c for c, _t in wb.read_commands(work, jobs, follows=follows)] +
            [wb.apply_command(work), wb.apply_command(work, True, first=12), wb.cleanup_command(work, ['89abcdef']),
             wb.stage_command(work, 'netkvm.inf', copies, True),
             wb.stage_command(work, 'netkvm.inf', copies, True, reads=[('F0', follows[0][0])])])


def test_what_a_security_team_sees_on_the_host():
    # Sigma: "Dumping of Sensitive Hives Via Reg.EXE" (reg save/export + HKLM + \system|\sam|\security), "Suspicious
    # Certutil Command", "Potential Configuration And Service Reconnaissance Via Reg.EXE" (reg query of
    # currentcontrolset\services), PowerShell -EncodedCommand: none of them matches a line the plugins run.
    for executable, arguments in _commands():
        line = (executable + ' ' + arguments).lower()
        assert executable == 'cmd.exe' and len(line) < 8191
        for reg in re.findall(r'reg (\w+) ([^&]*)', line):
            assert reg[0] in ('query', 'import', 'load', 'unload'), reg
            # the one hive loaded: the DRIVERS file, under the task's own name (issue 25), and only that unloaded
            if reg[0] == 'load':
                assert reg[1] == '"hklm\\sanboot-0123abcd" "!systemroot!\\system32\\config\\drivers" >nul 2>'
            if reg[0] == 'unload':
                assert reg[1] == '"hklm\\sanboot-0123abcd" >nul 2>'
        assert 'certutil' not in line and 'currentcontrolset' not in line and '-enc' not in line
        assert 'hidden' not in line and 'bypass' not in line and 'makecab' not in line
        # cmd pairs %...% before running and replaces a defined name: %SystemRoot% comes before every loop variable,
        # and each pair cmd can form after it holds a space or a quote, which no environment variable's name has
        loop = re.search(r'%~?[a-z] in|%[a-z] in', line)
        if loop:
            assert '%systemroot%' not in line[loop.start():]
            for name in re.findall(r'%([^%]*)%', line[loop.start():]):
                assert ' ' in name or '"' in name, name
    # schtasks refuses a /tr longer than 261 characters
    assert wb.task_action_length('sanboot-0123abcd') <= 261


def test_output_cut_back_into_steps_and_leftovers_by_name():
    sections, order = wb.parse_sections('x\r\n## cs 0\r\nERROR: no\r\n## one 1\r\n'
                                        '## two 0\r\nagain\r\n## one 0\r\n')
    assert order == ['cs', 'one', 'two'] and sections['two'] == ('', 0)
    assert sections['one'] == ('ERROR: no\n\nagain', 0)        # a step in a loop: every pass, the last code
    listing = 'sanboot-0123abcd.out\r\nsanboot-89abcdef.reg\r\nsanboot-89abcdef.pkg\r\nsanboot-zz.reg\r\nother.txt\r\n'
    found = wb.leftover_tokens(listing, 'sanboot-0123abcd')
    assert found == {'89abcdef': ['sanboot-89abcdef.reg', 'sanboot-89abcdef.pkg']}
