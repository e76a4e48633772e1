# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The INF texts, targets and package folders the INF reader's stage tests (test_<stage>.py beside this file)
build their cases from."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.sanboot.windows.plugins.module_utils import inf

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'fixtures', 'inf')
SRV2022 = inf.parse_target('server2022', 'amd64')
WIN10 = inf.parse_target('win10', 'amd64')
WIN7 = inf.parse_target('win7', 'amd64')
WIN7_X86 = inf.parse_target('win7', 'x86')

HEAD = '[Version]\nSignature="$Windows NT$"\nClass=Net\nClassGUID={4d36e972-e325-11ce-bfc1-08002be10318}\n' \
       'Provider=%Mfg%\nDriverVer=01/02/2020,1.2.3.4\n'


def read(text, target=SRV2022, **kwargs):
    data = text.encode('utf-8') if isinstance(text, str) else text
    return inf.read_inf_data(data, target, name='t.inf', **kwargs)


def lines(text, section):
    return [(k, f) for k, f, _n, _l in inf.tokenize(text)[section.lower()].lines]


def simple_driver(models='[Mfg.NTamd64]\n%Dev% = Inst, PCI\\VEN_1234&DEV_0001\n', manufacturer='%Mfg% = Mfg, NTamd64',
                  install='[Inst]\nCopyFiles = Files\n[Inst.Services]\nAddService = svc, 2, Svc\n',
                  extra='', strings='[Strings]\nMfg = "Vendor"\nDev = "Device"\n'):
    return (HEAD + '[Manufacturer]\n' + manufacturer + '\n' + models + install +
            '[Svc]\nServiceType = 1\nStartType = 0\nErrorControl = 1\nServiceBinary = %12%\\svc.sys\n'
            'LoadOrderGroup = NDIS\n[Files]\nsvc.sys\n[DestinationDirs]\nDefaultDestDir = 12\n'
            '[SourceDisksNames]\n1 = "Disk",,,\n[SourceDisksFiles]\nsvc.sys = 1\n' + extra + strings)


def package(tmp_path, text, name='drv.inf', files=('svc.sys',), folder='pkg'):
    folder = tmp_path / folder
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text.encode('utf-8') if isinstance(text, str) else text)
    for f in files:
        (folder / f).write_bytes(b'MZ')
    return str(folder)
