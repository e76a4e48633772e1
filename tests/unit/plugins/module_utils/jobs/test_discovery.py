# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery job (jobs/discovery.py): iPXE reports -> Windows IDs and location paths -> host_vars, and hostile input.

Real reports (as iPXE 1.0.0+git-20190125 sent them in tests/integration/test_ipxe_discovery.py) in the log formats
the module reads; location paths through bridges; every rejection; the inventory writer's safety (names, symbolic
links, existing host_vars files, nothing written when one place is unsafe); and three properties with hypothesis:
generated machines survive the trip through a report exactly, no text whatever makes the parser do anything but
accept a valid report or reject it, and hostile names and reports never write outside the inventory folder.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import os
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import discovery
from ansible_collections.sanboot.windows.plugins.module_utils import inf
from ansible_collections.sanboot.windows.plugins.module_utils.windows import nic

IPXE = 'ipxe=1.0.0+git-20190125.36a4c85-5.1&plat=pcbios'
E1000 = 'nic0=52%3A54%3A00%3Ad1%3A5c%3A01,PCI,00000020,8086,100e,1af4,1100,03,020000,00,82540em'
VIRTIO = 'nic0=52%3A54%3A00%3Ad1%3A5c%3A02,PCI,00000030,1af4,1000,1af4,0001,00,020000,00,virtio-net'
TWO = ('nic0=52%3A54%3A00%3Ad1%3A5c%3A03,PCI,00000028,8086,100e,1af4,1100,03,020000,80,82540em'
       '&nic1=52%3A54%3A00%3Ad1%3A5c%3A04,PCI,00000248,1af4,1000,1af4,0001,00,020000,00,virtio-net'
       '&br=003801.011002.')
Q_E1000 = 'v=1&boot=52%3A54%3A00%3Ad1%3A5c%3A01&' + IPXE + '&' + E1000
Q_VIRTIO = 'v=1&boot=52%3A54%3A00%3Ad1%3A5c%3A02&' + IPXE + '&' + VIRTIO
Q_TWO = 'v=1&boot=52%3A54%3A00%3Ad1%3A5c%3A04&' + IPXE + '&' + TWO

E1000_ID = 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'
VIRTIO_ID = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'


def pyhttp(query, path='/discovery.txt'):
    return '127.0.0.1 - - [25/Nov/2025 13:53:19] "GET %s?%s HTTP/1.1" 200 -' % (path, query)


def nginx(query, path='/discovery.txt', client='192.0.2.51'):
    return ('%s - - [25/Nov/2025:13:53:19 +0100] "GET %s?%s HTTP/1.1" 200 71 "-" '
            '"iPXE/1.0.0+git-20190125.36a4c85-5.1"' % (client, path, query))


def parse(*lines, **kwargs):
    return discovery.parse_lines(list(lines), **kwargs)


# ---------------------------------------------------------------------------------------------------------
# Real reports

def test_e1000_report_gives_windows_ids_and_location():
    result = parse(pyhttp(Q_E1000))
    assert result['rejected'] == [] and result['reports'] == 1
    facts = result['machines']['52:54:00:d1:5c:01']
    nic = facts['nics'][0]
    assert nic['id'] == E1000_ID
    assert nic['hardware_ids'] == [E1000_ID, 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4',
                                   'PCI\\VEN_8086&DEV_100E&CC_020000', 'PCI\\VEN_8086&DEV_100E&CC_0200']
    assert nic['compatible_ids'] == ['PCI\\VEN_8086&DEV_100E&REV_03', 'PCI\\VEN_8086&DEV_100E',
                                     'PCI\\VEN_8086&CC_020000', 'PCI\\VEN_8086&CC_0200', 'PCI\\VEN_8086',
                                     'PCI\\CC_020000', 'PCI\\CC_0200']
    assert nic['location'] == 'PCIROOT(0)#PCI(0400)' and nic['pci_address'] == '0000:00:04.0'
    assert (nic['chip'], nic['boot'], nic['multifunction'], nic['note']) == ('82540em', True, False, None)
    assert facts['iscsi_boot_nics'] == [{'id': E1000_ID, 'location': 'PCIROOT(0)#PCI(0400)'}]
    assert facts['ipxe'] == {'version': '1.0.0+git-20190125.36a4c85-5.1', 'platform': 'pcbios'}   # '+' kept
    assert facts['bridges_scanned'] is False and facts['warnings'] == []
    assert (facts['client'], facts['reported_at']) == ('127.0.0.1', '2025-11-25T13:53:19')


def test_ids_agree_with_iscsi_boot_and_the_inf_reader():
    facts = parse(pyhttp(Q_VIRTIO))['machines']['52:54:00:d1:5c:02']
    reported = facts['nics'][0]
    parsed = nic.parse_nic(facts['iscsi_boot_nics'][0])
    assert parsed.most_specific == reported['id'] == VIRTIO_ID
    assert parsed.location == 'PCIROOT(0)#PCI(0600)'
    # every ID iscsi_boot derives is among Windows' IDs, in the same order
    windows = reported['hardware_ids'] + reported['compatible_ids']
    assert [i for i in windows if i in parsed.hardware_ids] == parsed.hardware_ids
    assert (reported['hardware_ids'], reported['compatible_ids']) == inf.expand_pci_id(VIRTIO_ID + '&CC_020000')


def test_two_nics_behind_bridges():
    facts = parse(nginx(Q_TWO))['machines']['52:54:00:d1:5c:04']
    assert facts['boot_nic'] == 'net1' and facts['bridges_scanned'] is True
    e1000, virtio = facts['nics']
    assert (e1000['location'], e1000['multifunction'], e1000['boot']) == ('PCIROOT(0)#PCI(0500)', True, False)
    assert virtio['location'] == 'PCIROOT(0)#PCI(0700)#PCI(0200)#PCI(0900)'
    assert virtio['pci_address'] == '0000:02:09.0'
    assert facts['iscsi_boot_nics'] == [{'id': VIRTIO_ID, 'location': virtio['location']}]
    assert (facts['client'], facts['reported_at']) == ('192.0.2.51', '2025-11-25T13:53:19+01:00')


@pytest.mark.parametrize('line', [
    pyhttp(Q_E1000),
    nginx(Q_E1000),
    '192.0.2.51 - - [25/Nov/2025:13:53:19 +0000] "GET /discovery.txt?%s HTTP/1.0" 200 153' % Q_E1000,  # Apache
    '/discovery.txt?' + Q_E1000,                                                              # bare target
    'http://192.0.2.10:8080/discovery.txt?' + Q_E1000,                                       # URL
    pyhttp(Q_E1000.replace('%3A', ':')),                                                      # unescaped colons
])
def test_log_formats(line):
    result = parse(line)
    assert list(result['machines']) == ['52:54:00:d1:5c:01'] and result['rejected'] == []


def test_other_requests_are_ignored_and_url_path_selects():
    result = parse(pyhttp('', path='/boot.ipxe').replace('?', ''), 'garbage line', '',
                   pyhttp(Q_E1000, path='/other.txt'), pyhttp(Q_E1000))
    assert result['ignored'] == 4 and result['reports'] == 1
    assert parse(pyhttp(Q_E1000, path='/r/x'), url_path='/r/x')['reports'] == 1
    assert parse(pyhttp(Q_E1000), url_path='/r/x')['reports'] == 0


def test_later_report_wins_with_a_warning_when_hardware_changed():
    changed = Q_E1000.replace('00000020', '00000018')
    result = parse(pyhttp(Q_E1000), pyhttp(Q_E1000), pyhttp(changed))
    facts = result['machines']['52:54:00:d1:5c:01']
    assert facts['reports'] == 3 and facts['line'] == 3
    assert facts['nics'][0]['location'] == 'PCIROOT(0)#PCI(0300)'
    assert any('reported different NICs' in w for w in facts['warnings'])
    same = parse(pyhttp(Q_E1000), pyhttp(Q_E1000))['machines']['52:54:00:d1:5c:01']
    assert same['warnings'] == []


def test_macs_filter():
    result = parse(pyhttp(Q_E1000), pyhttp(Q_VIRTIO), macs=['52-54-00-D1-5C-02'])
    assert list(result['machines']) == ['52:54:00:d1:5c:02'] and result['skipped'] == 1


def test_files_in_order_and_gzip(tmp_path):
    old = tmp_path / 'discovery.log.1.gz'
    with gzip.open(str(old), 'wt') as f:
        f.write(pyhttp(Q_E1000.replace('00000020', '00000018')) + '\n')
    new = tmp_path / 'discovery.log'
    new.write_text(pyhttp(Q_E1000) + '\n')
    result = discovery.parse_files([str(old), str(new)])
    facts = result['machines']['52:54:00:d1:5c:01']
    assert facts['source'] == str(new) and facts['nics'][0]['location'] == 'PCIROOT(0)#PCI(0400)'
    assert facts['reports'] == 2


# ---------------------------------------------------------------------------------------------------------
# What cannot be known

@pytest.mark.parametrize('busloc, bridges, expected, reason', [
    (0x0010, None, 'PCIROOT(0)#PCI(0200)', None),
    (0x0011, None, 'PCIROOT(0)#PCI(0201)', None),                  # function 1 of a multi-function device
    (0x00ff, None, 'PCIROOT(0)#PCI(1F07)', None),
    (0x0100, [(0, 0xe0, 1)], 'PCIROOT(0)#PCI(1C00)#PCI(0000)', None),  # root port 1c.0, then the NIC
    (0x0300, [(0, 0x08, 1), (1, 0x00, 2), (2, 0x10, 3), (0, 0x10, 0)], 'PCIROOT(0)#PCI(0100)#PCI(0000)#PCI(0200)'
                                                                       '#PCI(0000)', None),
    (0x0100, None, None, 'no bridge list'),
    (0x0100, [], None, 'not below bus 0'),
    (0x0500, [(0, 0x08, 1)], None, 'not below bus 0'),             # a second host bridge
    (0x0200, [(1, 0, 2), (2, 0, 1)], None, 'loop'),
    (0x0100, [(0, 0x08, 1), (0, 0x10, 1)], None, 'two bridges claim bus 1'),
    (0x10010, None, None, 'segment 1'),
])
def test_location_paths(busloc, bridges, expected, reason):
    location, why = discovery.location_path(busloc, bridges)
    assert location == expected
    if reason:
        assert reason in why
    else:
        assert why is None


@pytest.mark.parametrize('nic0, note', [
    ('52%3A54%3A00%3Ad1%3A5c%3A01,PCI,00000020,,,,,,,,82540em', 'could not read the PCI configuration space'),
    ('52%3A54%3A00%3Ad1%3A5c%3A01,PCI,00000020,ffff,ffff,ffff,ffff,ff,ffffff,ff,', 'reads as all ones'),
    ('52%3A54%3A00%3Ad1%3A5c%3A01,EFI,00000000,,,,,,,,snp', 'not a PCI device'),
])
def test_boot_nic_without_ids(nic0, note):
    result = parse(pyhttp('v=1&boot=52%3A54%3A00%3Ad1%3A5c%3A01&nic0=' + nic0))
    facts = result['machines']['52:54:00:d1:5c:01']
    assert facts['iscsi_boot_nics'] == [] and note in facts['nics'][0]['note']
    assert facts['nics'][0]['id'] is None and facts['warnings']


def test_not_a_network_class_and_bridge_header_are_noted():
    q = 'v=1&boot=52:54:00:d1:5c:01&nic0=52:54:00:d1:5c:01,PCI,00000020,8086,100e,1af4,1100,03,010000,01,x'
    nic = parse(pyhttp(q))['machines']['52:54:00:d1:5c:01']['nics'][0]
    assert 'not a network controller' in nic['note'] and 'not an endpoint' in nic['note']
    assert nic['id'] == 'PCI\\VEN_8086&DEV_100E&REV_03'


def test_nic_behind_a_bridge_without_scan_has_no_location_and_a_warning():
    q = Q_E1000.replace('00000020', '00000100')
    facts = parse(pyhttp(q))['machines']['52:54:00:d1:5c:01']
    assert facts['iscsi_boot_nics'] == [{'id': E1000_ID}]
    assert 'no location path' in facts['warnings'][0]


# ---------------------------------------------------------------------------------------------------------
# Rejected

BAD = [
    ('', 'no report'),
    ('v=2&boot=52:54:00:d1:5c:01&' + E1000, 'unsupported report version'),
    ('boot=52:54:00:d1:5c:01&' + E1000, 'no report version'),
    (Q_E1000 + '&cmd=reboot', 'unknown key'),
    (Q_E1000 + '&v=1', 'given twice'),
    (Q_E1000 + '&nic2=' + VIRTIO[5:], 'without gaps'),
    (Q_E1000 + '&' + VIRTIO.replace('nic0', 'nic1').replace('%3A02', '%3A01'), 'same MAC'),
    ('v=1&boot=52:54:00:d1:5c:09&' + E1000, 'not among the reported NICs'),
    ('v=1&' + E1000, 'no boot NIC'),
    ('v=1&boot=53:54:00:d1:5c:01&' + E1000.replace('52%3A', '53%3A'), 'not a unicast'),
    (Q_E1000.replace('82540em', '82540em,x'), 'fields'),
    (Q_E1000.replace('8086,', '8O86,'), 'bad PCI configuration fields'),
    (Q_E1000.replace('82540em', '%7B%7Blookup(%27pipe%27)%7D%7D'), 'bad chip name'),
    (Q_E1000.replace('82540em', 'a%0Ab'), 'non-printable'),
    (Q_E1000.replace('82540em', 'caf%C3%A9'), 'non-printable or non-ASCII'),
    (Q_E1000.replace('82540em', '%zz'), 'bad percent escape'),
    (Q_E1000.replace('00000020', '../../x'), 'bad bus location'),
    (Q_E1000.replace('PCI,', 'P%20C%20I,'), 'bad bus type'),
    (Q_E1000 + '&br=0018', 'bad bridge list'),
    (Q_E1000.replace('pcbios', 'pc%22bios'), 'bad iPXE version or platform'),
    (Q_E1000.replace('52%3A54%3A00%3Ad1%3A5c%3A01,', 'x,'), 'not a MAC address'),
    (Q_E1000.replace('52%3A54%3A00%3Ad1%3A5c%3A01,', '52-54-00-d1-5c-01,'), 'not as iPXE writes it'),
    (Q_E1000 + '&noequals', 'without a value'),
    (Q_E1000 + '&nic99=' + VIRTIO[5:], 'more than 16 NICs'),
    ('v=1&boot=52:54:00:d1:5c:01&nic0=52:54:00:d1:5c:01,EFI,00000000,8086,100e,1af4,1100,03,020000,00,x',
     'PCI fields for a EFI device'),
]


@pytest.mark.parametrize('query, reason', BAD, ids=[r for _q, r in BAD])
def test_rejected_reports(query, reason):
    result = parse(pyhttp(query) if query else '/discovery.txt')
    assert result['machines'] == {} and result['reports'] == 0
    assert len(result['rejected']) == 1 and reason in result['rejected'][0]['reason'], result['rejected']
    assert result['rejected'][0]['line'] == 1


def test_a_rejected_report_does_not_replace_an_accepted_one():
    result = parse(pyhttp(Q_E1000), pyhttp(Q_E1000 + '&evil=1'))
    assert result['machines']['52:54:00:d1:5c:01']['line'] == 1 and len(result['rejected']) == 1


@pytest.mark.parametrize('status, counted', [(200, True), (304, True), (403, False), (404, False), (400, False)])
def test_only_answered_requests_count(status, counted):
    """nginx writes requests its allow/deny rules refused to the access log as well (seen with nginx 1.22)."""
    result = parse(nginx(Q_E1000).replace('" 200 71 ', '" %d 71 ' % status))
    assert bool(result['machines']) is counted
    if not counted:
        assert 'answered %d' % status in result['rejected'][0]['reason']


def test_nginx_escaped_quotes_are_not_a_report():
    line = nginx(Q_E1000).replace('82540em', '82540em\\x22')
    result = parse(line)
    assert result['machines'] == {} and len(result['rejected']) == 1


# ---------------------------------------------------------------------------------------------------------
# Inventory

def test_host_vars_round_trip_and_idempotence(tmp_path):
    result = parse(pyhttp(Q_E1000), pyhttp(Q_TWO))
    inv = tmp_path / 'inv'
    inv.mkdir()
    names = {'52-54-00-D1-5C-04': 'pc-two'}
    checked = discovery.sync_inventory(result, str(inv), names=names, check_mode=True)
    assert [h['changed'] for h in checked] == [True, True] and not (inv / 'host_vars').exists()
    written = discovery.sync_inventory(result, str(inv), names=names)
    assert sorted(h['name'] for h in written) == ['pc-two', 'sanboot-52-54-00-d1-5c-01']
    data = yaml.safe_load((inv / 'host_vars' / 'pc-two' / 'sanboot_discovery.yml').read_text())
    facts = result['machines']['52:54:00:d1:5c:04']
    assert data['sanboot_discovery']['mac'] == '52:54:00:d1:5c:04' and 'sanboot_mac' not in data
    assert data['sanboot_iscsi_boot_nics'] == facts['iscsi_boot_nics']
    assert data['sanboot_discovery']['nics'] == [dict((k, n[k]) for k in discovery.HOST_VARS_KEYS)
                                                 for n in facts['nics']]
    assert oct(os.stat(str(inv / 'host_vars' / 'pc-two' / 'sanboot_discovery.yml')).st_mode & 0o777) == '0o644'
    assert facts['host_vars_file'].endswith('host_vars/pc-two/sanboot_discovery.yml')
    again = discovery.sync_inventory(parse(pyhttp(Q_E1000), pyhttp(Q_TWO)), str(inv), names=names)
    assert [h['changed'] for h in again] == [False, False]
    # the user's own files in the host folder are left alone; no temporary file is left behind
    (inv / 'host_vars' / 'pc-two' / 'main.yml').write_text('sanboot_image: /srv/x.img\n')
    discovery.sync_inventory(parse(pyhttp(Q_TWO.replace('00000248', '00000250'))), str(inv), names=names)
    assert sorted(os.listdir(str(inv / 'host_vars' / 'pc-two'))) == ['main.yml', 'sanboot_discovery.yml']
    assert 'PCI(0A00)' in (inv / 'host_vars' / 'pc-two' / 'sanboot_discovery.yml').read_text()


def test_existing_single_file_host_vars_is_not_hidden(tmp_path):
    (tmp_path / 'host_vars').mkdir()
    (tmp_path / 'host_vars' / 'pc1.yml').write_text('sanboot_image: /srv/pc1.img\n')
    result = parse(pyhttp(Q_E1000), pyhttp(Q_VIRTIO))
    names = {'52:54:00:d1:5c:01': 'pc1', '52:54:00:d1:5c:02': 'pc2'}
    with pytest.raises(discovery.DiscoveryError, match='Move the file to .*pc1/main.yml'):
        discovery.sync_inventory(result, str(tmp_path), names=names)
    # every place is checked before anything is written: pc2's folder was not created either
    assert sorted(os.listdir(str(tmp_path / 'host_vars'))) == ['pc1.yml']


@pytest.mark.parametrize('name', ['../x', '/etc/passwd', '.hidden', '-x', 'a/b', '..', '.', '', 'a b', 'x' * 200,
                                  'pc1\n', '{{ x }}', 'C:\\x'])
def test_hostile_names_are_refused(tmp_path, name):
    result = parse(pyhttp(Q_E1000))
    with pytest.raises(discovery.DiscoveryError):
        discovery.sync_inventory(result, str(tmp_path), names={'52:54:00:d1:5c:01': name})
    assert os.listdir(str(tmp_path)) == []


def test_symbolic_links_are_refused(tmp_path):
    outside = tmp_path / 'outside'
    outside.mkdir()
    inv = tmp_path / 'inv'
    inv.mkdir()
    result = parse(pyhttp(Q_E1000))
    names = {'52:54:00:d1:5c:01': 'pc1'}
    (inv / 'host_vars').symlink_to(outside)
    with pytest.raises(discovery.DiscoveryError, match='symbolic link'):
        discovery.sync_inventory(result, str(inv), names=names)
    (inv / 'host_vars').unlink()
    (inv / 'host_vars').mkdir()
    (inv / 'host_vars' / 'pc1').symlink_to(outside)
    with pytest.raises(discovery.DiscoveryError, match='symbolic link'):
        discovery.sync_inventory(result, str(inv), names=names)
    (inv / 'host_vars' / 'pc1').unlink()
    (inv / 'host_vars' / 'pc1').mkdir()
    (inv / 'host_vars' / 'pc1' / 'sanboot_discovery.yml').symlink_to(outside / 'target.yml')
    with pytest.raises(discovery.DiscoveryError, match='not a regular file'):
        discovery.sync_inventory(result, str(inv), names=names)
    assert os.listdir(str(outside)) == []


def test_two_macs_one_name_and_missing_inventory(tmp_path):
    result = parse(pyhttp(Q_E1000), pyhttp(Q_VIRTIO))
    with pytest.raises(discovery.DiscoveryError, match='both be written as host pc'):
        discovery.sync_inventory(result, str(tmp_path), names={'52:54:00:d1:5c:01': 'pc', '52:54:00:d1:5c:02': 'pc'})
    with pytest.raises(discovery.DiscoveryError, match='not a directory'):
        discovery.sync_inventory(result, str(tmp_path / 'missing'))
    assert os.listdir(str(tmp_path)) == []


# ---------------------------------------------------------------------------------------------------------
# Properties

HEX = '0123456789abcdef'


def _hex(draw, digits):
    return ''.join(draw(st.lists(st.sampled_from(HEX), min_size=digits, max_size=digits)))


@st.composite
def machines(draw):
    """A machine: 1-4 NICs with random PCI IDs, each on bus 0 or behind a random chain of bridges, plus unrelated
    bridges; the query iPXE would send (colons escaped or not) and what must come out."""
    count = draw(st.integers(1, 4))
    macs = draw(st.lists(st.tuples(*[st.integers(0, 255)] * 5), min_size=count, max_size=count, unique=True))
    bridges, expected, fields = [], [], []
    next_bus = [1]
    for index, tail in enumerate(macs):
        mac = ':'.join('%02x' % b for b in (0x52,) + tail)
        depth = draw(st.integers(0, 3))
        bus, chain = 0, []
        for _level in range(depth):
            devfn = draw(st.integers(0, 255))
            secondary = next_bus[0]
            next_bus[0] += 1
            bridges.append((bus, devfn, secondary))
            chain.append(devfn)
            bus = secondary
        devfn = draw(st.integers(0, 255))
        chain.append(devfn)
        ven = draw(st.sampled_from(['8086', '1af4', '10ec', '14e4', '15b3']))
        dev, sv, sd, rev = _hex(draw, 4), _hex(draw, 4), _hex(draw, 4), _hex(draw, 2)
        header = draw(st.sampled_from(['00', '80']))
        chip = draw(st.text('abcdefghijklmnopqrstuvwxyz0123456789-_.', max_size=12))
        fields.append('nic%d=%s,PCI,%08x,%s,%s,%s,%s,%s,020000,%s,%s' % (
            index, mac, (bus << 8) | devfn, ven, dev, sv, sd, rev, header, chip))
        expected.append({
            'mac': mac, 'chip': chip or None, 'multifunction': header == '80',
            'id': 'PCI\\VEN_%s&DEV_%s&SUBSYS_%s%s&REV_%s' % (ven, dev, sd, sv, rev),
            'location': 'PCIROOT(0)' + ''.join('#PCI(%02X%02X)' % (d >> 3, d & 7) for d in chain),
        })
    for _other in range(draw(st.integers(0, 3))):       # bridges with nothing of ours behind them
        bridges.append((draw(st.integers(0, 200)), draw(st.integers(0, 255)), 200 + len(bridges)))
    bridges = draw(st.permutations(bridges))
    boot = draw(st.integers(0, count - 1))
    query = ['v=1', 'boot=' + expected[boot]['mac'], IPXE] + fields
    if bridges or draw(st.booleans()):
        query.append('br=' + ''.join('%02x%02x%02x.' % b for b in bridges))
    query = draw(st.permutations(query))
    text = '&'.join(query)
    if draw(st.booleans()):
        text = text.replace(':', '%3A')
    return text, boot, expected


@settings(max_examples=300, deadline=None)
@given(machines())
def test_property_generated_machines_come_back_exactly(machine):
    query, boot, expected = machine
    result = parse(pyhttp(query))
    assert result['rejected'] == [], result['rejected']
    facts = result['machines'][expected[boot]['mac']]
    got = [dict((k, n[k]) for k in ('mac', 'chip', 'multifunction')) for n in facts['nics']]
    assert got == [dict((k, e[k]) for k in ('mac', 'chip', 'multifunction')) for e in expected]
    assert [n['id'] for n in facts['nics']] == [_upper_hex(e['id']) for e in expected]
    assert [n['location'] for n in facts['nics']] == [e['location'] for e in expected]
    entry = facts['iscsi_boot_nics'][0]
    assert nic.parse_nic(entry).most_specific == _upper_hex(expected[boot]['id'])


def _upper_hex(ident):
    return re.sub(r'_([0-9a-f]+)', lambda m: '_' + m.group(1).upper(), ident)


SAFE_VALUE = re.compile(r'^[A-Za-z0-9_.:\\&()#+~ ,-]*$')


def _strings(value):
    """Every string of reported data (our own messages, notes and warnings, aside)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ('note', 'warnings'):
                continue
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


HOSTILE = st.sampled_from([
    '&', '=', '%', '%3A', '%0A', '%00', '%22', '%7B%7B', '{{', '}}', '{%', '../', '/', '\\', '"', "'", ',', '.',
    ' ', '\n', '\x00', '\xe9', 'v=1', 'v=2', 'boot=', 'nic0=', 'nic1=', 'br=', 'ipxe=', 'plat=', '52:54:00:d1:5c:01',
    '52%3A54%3A00%3Ad1%3A5c%3A01', 'PCI', 'EFI', '00000020', '8086', '100e', '03', '020000', '00', '80', 'ffff',
    '003801.', '82540em', '!unsafe', '*', '#', '?', '`id`', '$(id)', 'x' * 70,
])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.lists(HOSTILE, max_size=40).map(''.join),
    st.text(max_size=300),
    machines().map(lambda m: m[0]).flatmap(lambda q: st.tuples(st.just(q), st.integers(0, len(q)), HOSTILE).map(
        lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:]))))
def test_property_any_text_is_accepted_strictly_or_rejected(query):
    for line in (pyhttp(query), nginx(query), '/discovery.txt?' + query, query):
        result = parse(line)
        assert result['reports'] + len(result['rejected']) + result['ignored'] == 1
        for facts in result['machines'].values():
            for text in _strings(facts):
                assert SAFE_VALUE.match(text), text
            for entry in facts['iscsi_boot_nics']:
                nic.parse_nic(entry)
            yaml_text = discovery.host_vars(facts)
            assert '{{' not in yaml_text and '{%' not in yaml_text
            assert yaml.safe_load(yaml_text)['sanboot_discovery']['mac'] == facts['mac']


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.text(max_size=40), st.lists(HOSTILE, max_size=8).map(''.join)),
       prefix=st.one_of(st.text(max_size=10), HOSTILE))
def test_property_hostile_names_never_write_outside(tmp_path_factory, name, prefix):
    base = tmp_path_factory.mktemp('inv')
    inv = base / 'inventory'
    inv.mkdir()
    result = parse(pyhttp(Q_E1000), pyhttp(Q_VIRTIO))
    try:
        written = discovery.sync_inventory(result, str(inv), names={'52:54:00:d1:5c:01': name}, prefix=prefix)
    except discovery.DiscoveryError:
        written = []
    files = []
    for folder, _dirs, names in os.walk(str(base)):
        files.extend(os.path.relpath(os.path.join(folder, n), str(base)) for n in names)
    expected = sorted(os.path.join('inventory', 'host_vars', h['name'], 'sanboot_discovery.yml') for h in written)
    assert sorted(files) == expected
    for h in written:
        assert re.match(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*$', h['name']) and h['name'] not in ('.', '..')
