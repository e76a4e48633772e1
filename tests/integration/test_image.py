# Disk images through libguestfs: real appliance (TCG), images built by the tests (raw and qcow2, MBR, NTFS,
# a Windows folder tree with real fixture hives). Each run_on_images call starts one appliance, so the checks are
# grouped to keep the number of launches small.
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip('guestfs')

from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot, regedit  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.backends import image  # noqa: E402
from ansible_collections.sanboot.windows.plugins.module_utils.registry import RegistryError  # noqa: E402
from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402
    COLLECTIONS, FIXTURES, dump_hive, make_windows_image, pe_stub64, read_from_image, read_many_from_image,
)
from ansible_collections.sanboot.windows.tests.regreaders import apply_reg, assert_readers_see  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='building NTFS test images needs FUSE (root)')

E1000 = {'id': 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03', 'service': 'E1G60'}
VIRTIO = 'PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00'
SYSTEM = '/Windows/System32/config/SYSTEM'


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def hive_in(img, tmp_path, name='SYSTEM'):
    out = read_from_image(img, '/Windows/System32/config/' + name, str(tmp_path / ('out-' + name)))
    assert out, 'cannot read %s back from %s' % (name, img)
    return dump_hive(out)


def files_in(img, tmp_path, paths, fmt=None):
    """{guest path: bytes or None}, read with one conversion of the image."""
    got = read_many_from_image(img, dict((p, str(tmp_path / ('file%d' % i))) for i, p in enumerate(paths)), fmt)
    out = {}
    for path, local in got.items():
        if local is None:
            out[path] = None
            continue
        with open(local, 'rb') as f:
            out[path] = f.read()
    return out


def hives_in(img, tmp_path, names, fmt=None):
    got = files_in(img, tmp_path, ['/Windows/System32/config/' + n for n in names], fmt)
    return tuple(dump_hive_bytes(got['/Windows/System32/config/' + n], tmp_path) for n in names)


def dump_hive_bytes(data, tmp_path):
    path = tmp_path / 'hive.tmp'
    path.write_bytes(data)
    return dump_hive(str(path))


def key(dump, *path):
    """A key of a dump_hive() result, names compared case-insensitively as Windows does."""
    wanted = tuple(p.upper() for p in path)
    return [v for k, v in dump.items() if tuple(p.upper() for p in k) == wanted][0]


@pytest.fixture(scope='module')
def virtio_package(tmp_path_factory):
    """The virtio-win netkvm INF with stand-ins for netkvm.sys (a PE without an embedded signature, 4 MiB) and its
    catalog, so that file copying can be checked."""
    pkg = tmp_path_factory.mktemp('netkvm')
    shutil.copyfile(os.path.join(FIXTURES, 'inf', 'virtio-win', 'netkvm_w10_template.inf'), str(pkg / 'netkvm.inf'))
    (pkg / 'netkvm.sys').write_bytes(pe_stub64(signed=False) + os.urandom(4 << 20))
    (pkg / 'netkvm.cat').write_bytes(b'not a signed catalog')
    return str(pkg)


@pytest.mark.xdist_group('image-convert')
def test_convert_two_images_in_one_appliance_then_nothing_changes_then_undo(tmp_path, virtio_package):
    seven = make_windows_image(str(tmp_path / 'win7.raw'))
    ten = make_windows_image(str(tmp_path / 'win10.qcow2'), fmt='qcow2', system='win10-1903-x64-dirty.SYSTEM',
                             software='phony-win10.SOFTWARE', size_mb=96, drivers='win10-1903-x64.DRIVERS')
    originals = (hive_in(seven, tmp_path),) + hives_in(ten, tmp_path, ['SYSTEM', 'DRIVERS'], 'qcow2')
    images = [dict(path=seven, format=None, root=None), dict(path=ten, format='qcow2', root=None)]
    p = dict(images=images, nics=[VIRTIO], drivers=[virtio_package], templates={}, allow_dirty=True, backup=True)

    result = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert result['changed'] and [r['ready'] for r in result['results']] == [True, True]
    for r in result['results']:
        assert r['root'] == '/dev/sda1:/Windows' if r['image'] == seven else '/dev/sdb1:/Windows'
        assert os.path.basename(r['backup_file']).startswith(os.path.basename(r['image']) + '.SYSTEM.')
        assert os.path.exists(r['backup_file'])
    assert [r['os']['family'] for r in result['results']] == ['CriticalDeviceDatabase', 'DriverDatabase']
    # Windows 7: the CDDB path, unchanged.
    assert result['results'][0]['files_written'] == ['/Windows/System32/drivers/netkvm.sys']
    copied = read_from_image(seven, '/Windows/System32/drivers/netkvm.sys', str(tmp_path / 'netkvm.sys'))
    assert sha(copied) == sha(os.path.join(virtio_package, 'netkvm.sys'))
    assert key(hive_in(seven, tmp_path), 'ControlSet001', 'Control', 'CriticalDeviceDatabase', 'pci#ven_1af4&dev_1000') \
        == {'ClassGUID': (1, '{4D36E972-E325-11CE-BFC1-08002BE10318}\x00'.encode('utf-16-le')),
            'Service': (1, 'netkvm\x00'.encode('utf-16-le'))}
    # Windows 10: the package staged as offline servicing does, and a first-boot step.
    staged = result['results'][1]['nics'][0]['driver_database']
    folder = '/Windows/System32/DriverStore/FileRepository/' + staged['package']
    assert staged['state'] == 'staged' and staged['published_inf'] == 'oem12.inf'
    assert sorted(result['results'][1]['files_written']) == sorted([
        folder + '/netkvm.inf', folder + '/netkvm.cat', folder + '/netkvm.sys', '/Windows/INF/oem12.inf',
        '/Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/oem12.cat',
        '/Windows/System32/drivers/netkvm.sys', '/Windows/sanboot/firstboot.cmd'])
    assert any('netkvm.sys has no embedded signature' in w for w in result['warnings'])
    written = files_in(ten, tmp_path, [folder + '/netkvm.sys', '/Windows/INF/oem12.inf',
                                       '/Windows/System32/config/SYSTEM', '/Windows/System32/config/DRIVERS'], 'qcow2')
    for guest, local in ((folder + '/netkvm.sys', 'netkvm.sys'), ('/Windows/INF/oem12.inf', 'netkvm.inf')):
        with open(os.path.join(virtio_package, local), 'rb') as f:
            assert written[guest] == f.read(), guest
    system, drivers = (dump_hive_bytes(written['/Windows/System32/config/' + n], tmp_path) for n in ('SYSTEM', 'DRIVERS'))
    assert key(system, 'ControlSet001', 'Services', 'netkvm')['Start'] == (4, b'\x00\x00\x00\x00')
    assert key(system, 'ControlSet001', 'Services', 'netkvm')['Owners'] == \
        (7, 'oem12.inf\x00\x00'.encode('utf-16-le'))
    assert key(system, 'Setup')['SetupType'] == (4, b'\x02\x00\x00\x00')
    for hive in (system, drivers):
        assert key(hive, 'DriverDatabase', 'DriverInfFiles', 'oem12.inf')['Active'] == \
            (1, (staged['package'] + '\x00').encode('utf-16-le'))
        assert key(hive, 'DriverDatabase', 'DeviceIds', 'PCI', VIRTIO[4:])['oem12.inf'] == (3, b'\x01\xff\x00\x00')

    # Again, in one appliance: nothing to change, identical files are not rewritten, no image file is written.
    before = sha(seven), sha(ten)
    again = iscsi_boot.run_iscsi_boot(p, check_mode=False)
    assert not again['changed'] and [r['files_written'] for r in again['results']] == [[], []]
    assert (sha(seven), sha(ten)) == before

    # Undo: the hives read back exactly as they were, the staged files and the first-boot step are gone.
    undone = iscsi_boot.run_iscsi_boot(dict(images=images, state='absent', allow_dirty=True, backup=False),
                                       check_mode=False)
    assert [r['changed'] for r in undone['results']] == [True, True]
    assert len(undone['results'][1]['files_removed']) == 7
    after = files_in(ten, tmp_path, ['/Windows/System32/config/SYSTEM', '/Windows/System32/config/DRIVERS',
                                     '/Windows/INF/oem12.inf', folder + '/netkvm.sys'], 'qcow2')
    ten_after = tuple(dump_hive_bytes(after['/Windows/System32/config/' + n], tmp_path) for n in ('SYSTEM', 'DRIVERS'))
    assert (hive_in(seven, tmp_path),) + ten_after == originals
    assert after['/Windows/INF/oem12.inf'] is None and after[folder + '/netkvm.sys'] is None


@pytest.mark.xdist_group('image-check')
def test_check_mode_and_doctor_leave_the_image_byte_identical(tmp_path):
    img = make_windows_image(str(tmp_path / 'win7.qcow2'), fmt='qcow2')
    before = sha(img)
    result = iscsi_boot.run_iscsi_boot(dict(images=[dict(path=img), dict(path=img)], nics=[E1000], drivers=[]),
                                       check_mode=True)
    assert [r['changed'] for r in result['results']] == [True, True]
    report = iscsi_boot.run_iscsi_boot_info(dict(image=img, nics=[E1000], drivers=[]))
    assert report['ready'] is False and report['os']['version'] == '6.1'
    assert 'nic-not-boot-critical' in [f['id'] for f in report['findings']]
    assert sha(img) == before


@pytest.mark.xdist_group('image-convert')
def test_hive_regedit_and_critical_device_on_an_image(tmp_path):
    img = make_windows_image(str(tmp_path / 'win7.raw'))
    result = regedit.run(dict(image=img, backup=False, path='HKLM:\\SOFTWARE\\Sanboot\\Test', name='x', data=1,
                              type='dword'), False)
    assert result['changed']
    assert hive_in(img, tmp_path, 'SOFTWARE')[('Sanboot', 'Test')] == {'x': (4, b'\x01\x00\x00\x00')}


@pytest.mark.xdist_group('image-check')
def test_bad_images_fail_clearly_and_stay_unchanged(tmp_path):
    plain = make_windows_image(str(tmp_path / 'data.raw'), windows=False, extra={'data/readme.txt': b'hello'})
    truncated = make_windows_image(str(tmp_path / 'short.raw'))
    with open(truncated, 'r+b') as f:
        f.truncate(8 << 20)
    states = dict((p, sha(p)) for p in (plain, truncated))
    for img in (plain, truncated):
        with pytest.raises(RegistryError, match='no Windows installation found|cannot|not'):
            iscsi_boot.run_iscsi_boot(dict(image=img, nics=[E1000], drivers=[]), check_mode=False)
    assert dict((p, sha(p)) for p in states) == states
    with pytest.raises(RegistryError, match='does not exist'):
        iscsi_boot.run_iscsi_boot(dict(image=str(tmp_path / 'nope.img'), nics=[E1000], drivers=[]), check_mode=False)
    with pytest.raises(RegistryError, match='is a directory'):
        iscsi_boot.run_iscsi_boot(dict(image=str(tmp_path), nics=[E1000], drivers=[]), check_mode=False)


@pytest.mark.xdist_group('image-convert')
def test_image_open_for_writing_elsewhere_is_refused(tmp_path):
    img = make_windows_image(str(tmp_path / 'busy.raw'))
    holder = subprocess.Popen(['sh', '-c', 'exec 3<>"$0"; sleep 60', img])
    try:
        for _attempt in range(50):
            if image.writers_of(img):
                break
            time.sleep(0.05)
        with pytest.raises(RegistryError, match='open for writing by another process \\(PID %d' % holder.pid):
            iscsi_boot.run_iscsi_boot(dict(image=img, nics=[E1000], drivers=[]), check_mode=False)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.xdist_group('image-kill')
def test_full_file_system_fails_and_leaves_the_image_unchanged(tmp_path, virtio_package):
    # A full NTFS: the driver file the conversion must copy in cannot be written.
    img = make_windows_image(str(tmp_path / 'full.raw'), size_mb=32, software=None, fill=True)
    before = sha(img)
    with pytest.raises(RegistryError, match='[Nn]o space|ENOSPC|not changed'):
        iscsi_boot.run_iscsi_boot(dict(image=img, nics=[VIRTIO], drivers=[virtio_package], templates={}, backup=False),
                                  check_mode=False)
    assert sha(img) == before


KILL_SCRIPT = r'''
import sys
sys.path.insert(0, %(collections)r)
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
iscsi_boot.run_iscsi_boot(dict(image=sys.argv[1], nics=[{'id': 'PCI\\VEN_8086&DEV_100E', 'service': 'E1G60'}],
                            drivers=[], backup=False), check_mode=False)
print('done', flush=True)
'''


@pytest.mark.xdist_group('image-kill')
def test_killed_run_leaves_the_image_unchanged_or_complete(tmp_path):
    script = tmp_path / 'run.py'
    script.write_text(KILL_SCRIPT % {'collections': COLLECTIONS})
    master = make_windows_image(str(tmp_path / 'master.raw'))
    original = hive_in(master, tmp_path)
    # What a finished run leaves, computed by the same job on a hive file (no appliance needed).
    local = read_from_image(master, SYSTEM, str(tmp_path / 'SYSTEM'))
    software = read_from_image(master, '/Windows/System32/config/SOFTWARE', str(tmp_path / 'SOFTWARE'))
    iscsi_boot.run_iscsi_boot(dict(hive=local, software_hive=software, backup=False, drivers=[],
                                   nics=[{'id': 'PCI\\VEN_8086&DEV_100E', 'service': 'E1G60'}]), check_mode=False)
    complete = dump_hive(local)
    assert complete != original
    rng = random.Random(11)
    outcomes = []
    full = 40.0     # about one appliance start and the job on these machines
    # Kill near the end, where the writes happen, and once at random.
    for delay in (full * 0.9, rng.uniform(0.3, 1.0) * full):
        img = str(tmp_path / 'victim.raw')
        shutil.copyfile(master, img)
        proc = subprocess.Popen([sys.executable, str(script), img], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(1)   # the appliance's qemu dies with its recovery process
        state = hive_in(img, tmp_path)
        assert state in (original, complete)
        outcomes.append('unchanged' if state == original else 'complete')
    print('kill outcomes: %s' % outcomes)


CONCURRENT_SCRIPT = r'''
import json, sys, time
sys.path.insert(0, %(collections)r)
from ansible_collections.sanboot.windows.plugins.module_utils.jobs import iscsi_boot
result = iscsi_boot.run_iscsi_boot(dict(image=sys.argv[1], nics=[{'id': sys.argv[2], 'service': 'E1G60'}], drivers=[],
                                     backup=True), check_mode=False)
result['finished'] = time.time()
print(json.dumps(result))
'''


@pytest.mark.xdist_group('image-concurrent')
def test_two_runs_on_one_image_each_keep_their_nic(tmp_path):
    """The issue's lost update, on an image: two runs at once, one per NIC. The image's lock makes the second wait
    for the first and plan on its result; both NICs are there, read back with libregf and dissect.regf."""
    script = tmp_path / 'run.py'
    script.write_text(CONCURRENT_SCRIPT % {'collections': COLLECTIONS})
    img = make_windows_image(str(tmp_path / 'win7.raw'))
    original = read_from_image(img, SYSTEM, str(tmp_path / 'SYSTEM-before'))
    nics = ['PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_8086&DEV_10D3']
    procs = [subprocess.Popen([sys.executable, str(script), img, nic], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for nic in nics]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [(r['changed'], r['ready']) for r in results] == [(True, True), (True, True)]
    # One backup for both runs, beside the image: the SYSTEM hive before the first run.
    assert results[0]['backup_file'] == results[1]['backup_file']
    assert sha(results[0]['backup_file']) == sha(original)
    assert len([f for f in os.listdir(str(tmp_path)) if f.endswith('~')]) == 1
    # The image holds exactly what the two plans made, in the order the lock gave them.
    expected = dump_hive(original)
    for result in sorted(results, key=lambda r: r['finished']):
        expected = apply_reg(expected, result['reg'], 'HKEY_LOCAL_MACHINE\\SYSTEM')
    after = read_from_image(img, SYSTEM, str(tmp_path / 'SYSTEM-after'))
    assert_readers_see(after, expected)
    assert [k for k in expected if k and k[-1].upper() in ('PCI#VEN_8086&DEV_100E', 'PCI#VEN_8086&DEV_10D3')]
