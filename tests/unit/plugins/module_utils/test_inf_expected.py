# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The INF reader against the hand-checked answer key tests/fixtures/inf/expected.json.

One test per file, target and mode listed in the key. The key's conventions, applied here:
* hardware_ids / compatible_ids: upper-cased, sorted, without duplicates -> compared as such;
* install_sections: "as named -> as resolved", the resolved name written with a lower-case platform suffix
  ("disk" -> "disk.nt" where the INF says [disk.NT]); section names are case-insensitive, so compared lower-cased;
* models: one entry per [Manufacturer] line, null when no Models section applies; compared case-insensitively;
* services: sorted by name; field values are the INF text after %strkey% substitution, DIRIDs unexpanded;
* copyfiles: sorted unique [file, dirid];
* template: the build-time substitutions the key assumed; "DRIVER_DIRID placeholder" means read as is (the
  placeholder stays, with warnings), which is what the key shows.
No entry of the key is believed wrong; see the report in docs/driver-packages.md ("Answer key").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.sanboot.windows.plugins.module_utils import inf

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fixtures', 'inf')
with open(os.path.join(FIXTURES, 'expected.json')) as _handle:
    EXPECTED = json.load(_handle)

TARGETS = {
    'srv2022': inf.parse_target('server2022', 'amd64'),   # 10.0.20348, ProductType 3
    'win10': inf.parse_target('win10', 'amd64'),          # 10.0.19045, ProductType 1
}

# The substitutions the key's "template" notes describe.
INX = {'$ARCH$': 'amd64', '_INX_SUBSYS_VENDOR_ID': '1AF4', 'INX_PLATFORM_DRIVERS_DIR': '12',
       'INX_COMPANY': 'Red Hat, Inc.', 'INX_PREFIX_VENDOR': 'Red Hat '}


def templates_for(note):
    if note is None or note.startswith('DRIVER_DIRID'):
        return None
    if 'INX' in note:
        return dict(INX)
    # "$ARCH$", "$ARCH$ (stampinf -a amd64)", "$ARCH$ + DRIVER_DIRID", "$ARCH$ + C-preprocessor #include lines"
    return {'$ARCH$': 'amd64'}


CASES = sorted((name, key) for name, entries in EXPECTED.items() for key in entries if key != 'template')


def summary(driver):
    """The reader's result in the key's shape."""
    devices = driver.devices
    services = []
    for svc in driver.device_services:
        services.append({
            'name': svc.name, 'flags': svc.flags_raw, 'install': svc.install,
            'ServiceType': svc.fields.get('ServiceType'), 'StartType': svc.fields.get('StartType'),
            'ErrorControl': svc.fields.get('ErrorControl'), 'ServiceBinary': svc.fields.get('ServiceBinary'),
            'LoadOrderGroup': svc.fields.get('LoadOrderGroup'), 'DisplayName': svc.fields.get('DisplayName'),
        })
    return {
        'Class': driver.class_name,
        'ClassGUID': driver.class_guid,
        'encoding': driver.inf.encoding,
        'models': [(m['chosen'] or '').lower() or None for m in driver.manufacturers],
        'model_lines': sum(m['lines'] for m in driver.manufacturers if m['chosen']),
        'hardware_ids': sorted(set(d.hardware_id.upper() for d in devices if d.hardware_id)),
        'compatible_ids': sorted(set(c.upper() for d in devices for c in d.compatible_ids)),
        'install_sections': dict((d.install, (d.install_info.actual or '').lower() or None) for d in devices),
        'services': sorted(services, key=lambda s: (s['name'].lower(), s['install'].lower())),
        'copyfiles': sorted(set((f.name, str(f.dirid)) for f in driver.files)),
    }


def expected_summary(entry):
    out = dict(entry)
    out['models'] = [m.lower() if m else None for m in entry['models']]
    out['hardware_ids'] = sorted(set(i.upper() for i in entry['hardware_ids']))
    out['compatible_ids'] = sorted(set(i.upper() for i in entry['compatible_ids']))
    out['install_sections'] = dict((k, v.lower()) for k, v in entry['install_sections'].items())
    out['services'] = sorted(entry['services'], key=lambda s: (s['name'].lower(), s['install'].lower()))
    out['copyfiles'] = sorted(tuple(c) for c in entry['copyfiles'])
    return out


@pytest.mark.parametrize('name,key', CASES, ids=['%s:%s' % case for case in CASES])
def test_matches_answer_key(name, key):
    target_name, mode = key.split('/')
    driver = inf.read_inf(os.path.join(FIXTURES, name), TARGETS[target_name], lenient=(mode == 'lenient'),
                          templates=templates_for(EXPECTED[name]['template']))
    got = summary(driver)
    want = expected_summary(EXPECTED[name][key])
    for field in sorted(want):
        assert got[field] == want[field], '%s %s: %s differs' % (name, key, field)
    # ClassGUID is compared as written; Windows compares GUIDs case-insensitively.
    assert got['ClassGUID'].lower() == want['ClassGUID'].lower()


def test_every_file_of_the_key_is_vendored():
    for name in EXPECTED:
        assert os.path.isfile(os.path.join(FIXTURES, name)), name


def test_strict_only_entries_equal_lenient():
    """The key lists lenient only where it differs; where it does not, lenient must give the strict answer."""
    for name, entries in EXPECTED.items():
        if any(k.endswith('/lenient') for k in entries):
            continue
        for target_name in TARGETS:
            if '%s/strict' % target_name not in entries:
                continue
            tpl = templates_for(entries['template'])
            strict = summary(inf.read_inf(os.path.join(FIXTURES, name), TARGETS[target_name], False, tpl))
            lenient = summary(inf.read_inf(os.path.join(FIXTURES, name), TARGETS[target_name], True, tpl))
            assert strict == lenient, name


def test_templates_are_refused_without_substitutions():
    for name, entries in EXPECTED.items():
        note = entries['template']
        if note is None or note.startswith('DRIVER_DIRID'):
            continue
        with pytest.raises(inf.InfError, match='template'):
            inf.read_inf(os.path.join(FIXTURES, name), TARGETS['srv2022'])
