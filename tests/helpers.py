# Test helpers shared by unit and integration tests (imported as ansible_collections.sanboot.windows.tests.helpers).
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Directory holding ansible_collections/: the checkout's symlink tree, or the tree ansible-test copied us into.
if os.path.basename(os.path.dirname(os.path.dirname(ROOT))) == 'ansible_collections':
    COLLECTIONS = os.path.dirname(os.path.dirname(os.path.dirname(ROOT)))
else:
    COLLECTIONS = os.path.join(ROOT, 'build', 'collections')
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures')
HIVES = os.path.join(FIXTURES, 'hives')
_CACHE = os.path.join(ROOT, 'build', 'fixture-cache')


def unpacked_hive(name):
    """Path of a decompressed, read-only cached copy of tests/fixtures/hives/<name>.xz."""
    os.makedirs(_CACHE, exist_ok=True)
    out = os.path.join(_CACHE, name)
    if not os.path.exists(out):
        tmp = out + '.%d.tmp' % os.getpid()
        with lzma.open(os.path.join(HIVES, name + '.xz')) as src, open(tmp, 'wb') as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(tmp, 0o444)
        os.replace(tmp, out)
    return out


def dump_hive(path):
    """Every key of a hive -> {value name: (type, data)}, read with plain libhivex (an independent reader)."""
    import hivex
    h = hivex.Hivex(path)
    out = {}
    stack = [(h.root(), ())]
    while stack:
        node, key = stack.pop()
        out[key] = dict((h.value_key(v), h.value_value(v)) for v in h.node_values(node))
        stack.extend((c, key + (h.node_name(c),)) for c in h.node_children(node))
    return out


def reg_for_hive(reg_text, name):
    """The blocks of a .reg text that belong to HKEY_LOCAL_MACHINE\\<name> (a result may cover SYSTEM and DRIVERS)."""
    prefix = '[HKEY_LOCAL_MACHINE\\%s\\' % name.upper()
    blocks = reg_text.split('\n\n')
    head = blocks[0].split('\n', 1)[0]
    kept = [b for b in blocks if b.lstrip('\n').upper().startswith((prefix, '[-' + prefix[1:]))]
    first = blocks[0].split('\n', 1)
    if len(first) > 1 and first[1].upper().startswith((prefix, '[-' + prefix[1:])):
        kept.insert(0, first[1])
    return head + '\n\n' + '\n\n'.join(b.strip('\n') for b in kept) + '\n'


def merge_with_hivexregedit(original, reg_text, dest, prefix='HKEY_LOCAL_MACHINE\\SYSTEM'):
    """Apply .reg text to a copy of ``original`` with hivexregedit (libguestfs' Perl implementation)."""
    shutil.copyfile(original, dest)
    os.chmod(dest, 0o644)
    reg_file = dest + '.reg'
    with open(reg_file, 'w', encoding='utf-8', newline='\n') as f:
        f.write(reg_text)
    # -CSD: read the .reg file as UTF-8 (hivexregedit alone takes its bytes as Latin-1).
    subprocess.run(['perl', '-CSD', '/usr/bin/hivexregedit', '--merge', '--prefix', prefix, dest, reg_file],
                   check=True, capture_output=True)
    return dest


def _pe_stub(machine=0x14c):
    """A minimal PE32 header, enough for `file` (libguestfs inspection reads cmd.exe's architecture)."""
    import struct
    dos = bytearray(0x80)
    dos[0:2] = b'MZ'
    struct.pack_into('<I', dos, 0x3c, 0x80)
    coff = b'PE\0\0' + struct.pack('<HHIIIHH', machine, 1, 0, 0, 0, 0xE0, 0x0102)
    opt = bytearray(0xE0)
    struct.pack_into('<H', opt, 0, 0x10b)
    struct.pack_into('<H', opt, 68, 3)
    struct.pack_into('<I', opt, 92, 16)
    section = b'.text\0\0\0' + struct.pack('<IIIIIIHHI', 0x1000, 0x1000, 0x200, 0x200, 0, 0, 0, 0, 0x60000020)
    data = bytes(dos) + coff + bytes(opt) + section
    return data + b'\0' * (0x400 - len(data))


def pe_stub64(signed=True, size=0x600):
    """A PE32+ (x64) image whose optional header has a certificate table (data directory 4) when ``signed``."""
    import struct
    dos = bytearray(0x80)
    dos[0:2] = b'MZ'
    struct.pack_into('<I', dos, 0x3c, 0x80)
    coff = b'PE\0\0' + struct.pack('<HHIIIHH', 0x8664, 1, 0, 0, 0, 0xF0, 0x0022)
    opt = bytearray(0xF0)
    struct.pack_into('<H', opt, 0, 0x20b)
    struct.pack_into('<H', opt, 68, 1)                  # subsystem: native
    struct.pack_into('<I', opt, 108, 16)                # NumberOfRvaAndSizes
    body = bytes(dos) + coff + bytes(opt)
    body += b'.text\0\0\0' + struct.pack('<IIIIIIHHI', 0x1000, 0x1000, 0x200, 0x400, 0, 0, 0, 0, 0x60000020)
    body += b'\0' * (size - len(body))
    if signed:
        cert = struct.pack('<IHH', 16, 0x0200, 0x0002) + b'\x30\x82\x00\x04test'   # WIN_CERTIFICATE (PKCS #7)
        opt_at = 0x80 + 24
        body = bytearray(body)
        struct.pack_into('<II', body, opt_at + 112 + 8 * 4, len(body), len(cert))
        body = bytes(body) + cert
    return body


def make_catalog(signer='Test Driver Publisher', submission_id=None):
    """A PKCS #7 SignedData signed by a self-signed certificate (CN ``signer``) whose content carries a catalog
    name/value attribute "Submission ID" when given: what the engine reads from a real catalog."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509.oid import NameOID

    def der(tag, body):
        n = len(body)
        head = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
            (n.bit_length() + 7) // 8, 'big')
        return bytes([tag]) + head + body

    oid = der(0x06, bytes([0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x0c, 2, 1]))        # 1.3.6.1.4.1.311.12.2.1
    attrs = b''
    if submission_id:
        value = der(0x30, der(0x1e, 'Submission ID'.encode('utf-16-be')) + der(0x02, b'\x10\x01\x00\x01') +
                    der(0x04, (submission_id + '\0').encode('utf-16-le')))
        attrs = der(0x30, oid + der(0x04, value))
    content = der(0x30, der(0x30, b'') + der(0xa0, der(0x30, attrs)))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, signer)])
    now = datetime.datetime(2024, 1, 1)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()) \
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650)) \
        .sign(key, hashes.SHA256())
    return pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(cert, key, hashes.SHA256()) \
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])


def make_driver_package(dest, inf_source, substitutions=None, signed=True, catalog=True, submission_id=None,
                        signer='Test Driver Publisher', name=None):
    """A driver package folder: the INF (``substitutions`` applied as a vendor build would), a PE stand-in for each
    .sys and bytes for each other file its install sections copy, and its catalog. Returns the INF's path."""
    from ansible_collections.sanboot.windows.plugins.module_utils import inf as inf_reader
    os.makedirs(dest, exist_ok=True)
    with open(inf_source, 'rb') as f:
        data = f.read()
    for key, value in (substitutions or {}).items():
        data = data.replace(key.encode('ascii'), value.encode('ascii'))
    inf_path = os.path.join(dest, name or os.path.basename(inf_source).replace('.inx', '.inf'))
    with open(inf_path, 'wb') as f:
        f.write(data)
    driver = inf_reader.read_inf(inf_path, inf_reader.parse_target('win10', 'amd64'))
    for entry in driver.files:
        target = os.path.join(dest, *(entry.source_parts or [entry.source]))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'wb') as f:
            f.write(pe_stub64(signed) if entry.name.lower().endswith('.sys') else os.urandom(1024))
    if catalog and driver.catalog_file:
        with open(os.path.join(dest, driver.catalog_file), 'wb') as f:
            f.write(make_catalog(signer, submission_id))
    return inf_path


def make_windows_image(dest, fmt='raw', system='win7-sp1-x86.SYSTEM', software='phony-win7-32.SOFTWARE',
                       size_mb=64, windows=True, extra=None, fill=False, drivers=None):
    """Build a disk image with an MBR partition table and one NTFS partition holding a Windows folder tree with
    real fixture hives (userspace tools only: mkntfs, ntfs-3g over FUSE, sfdisk, qemu-img; needs root for FUSE).
    ``extra``: {guest path: bytes} of more files; ``fill``: fill the file system up; ``drivers``: a DRIVERS test
    hive. Returns ``dest``."""
    import tempfile
    work = tempfile.mkdtemp(prefix='sanboot-mkimg-')
    try:
        part = os.path.join(work, 'part.img')
        mnt = os.path.join(work, 'mnt')
        os.mkdir(mnt)
        with open(part, 'wb') as f:
            f.truncate(size_mb << 20)
        subprocess.run(['mkntfs', '-F', '-Q', '-q', '-L', 'WIN', '-p', '2048', '-H', '16', '-S', '63', part],
                       check=True, capture_output=True)
        subprocess.run(['ntfs-3g', part, mnt], check=True, capture_output=True)
        try:
            files = dict(extra or {})
            if windows:
                config = os.path.join(mnt, 'Windows', 'System32', 'config')
                os.makedirs(config)
                os.makedirs(os.path.join(mnt, 'Windows', 'System32', 'drivers'))
                os.makedirs(os.path.join(mnt, 'Windows', 'INF'))
                shutil.copyfile(unpacked_hive(system), os.path.join(config, 'SYSTEM'))
                if software:
                    shutil.copyfile(unpacked_hive(software), os.path.join(config, 'SOFTWARE'))
                if drivers:
                    shutil.copyfile(unpacked_hive(drivers), os.path.join(config, 'DRIVERS'))
                files.setdefault('Windows/System32/cmd.exe', _pe_stub())
            for guest, data in files.items():
                path = os.path.join(mnt, guest)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, 'wb') as f:
                    f.write(data)
            if fill:
                for size in (1 << 20, 64 << 10, 4 << 10, 512):
                    try:
                        with open(os.path.join(mnt, 'filler-%d' % size), 'wb') as f:
                            while True:
                                f.write(b'\xff' * size)
                                f.flush()
                                os.fsync(f.fileno())
                    except OSError:
                        pass
        finally:
            subprocess.run(['umount', mnt], check=True, capture_output=True)
        disk = os.path.join(work, 'disk.img')
        with open(disk, 'wb') as f:
            f.truncate((size_mb + 1) << 20)
        subprocess.run(['sfdisk', '-q', disk], input='label: dos\nstart=2048, size=%d, type=7, bootable\n'
                       % (size_mb << 11), text=True, check=True, capture_output=True)
        with open(part, 'rb') as src, open(disk, 'r+b') as dst:
            dst.seek(1 << 20)
            shutil.copyfileobj(src, dst, 1 << 20)
        if fmt == 'raw':
            shutil.move(disk, dest)
        else:
            subprocess.run(['qemu-img', 'convert', '-q', '-f', 'raw', '-O', fmt, disk, dest], check=True,
                           capture_output=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def read_from_image(image, guest_path, dest, fmt=None):
    """Copy a file out of an image built by make_windows_image, without libguestfs (ntfscat on the partition)."""
    return read_many_from_image(image, {guest_path: dest}, fmt)[guest_path]


def read_many_from_image(image, files, fmt=None):
    """{guest path: local path or None} of several files copied out of an image with one conversion of it."""
    import tempfile
    work = tempfile.mkdtemp(prefix='sanboot-rdimg-')
    out = {}
    try:
        raw = os.path.join(work, 'raw.img')
        subprocess.run(['qemu-img', 'convert', '-q'] + (['-f', fmt] if fmt else []) + ['-O', 'raw', image, raw],
                       check=True, capture_output=True)
        part = os.path.join(work, 'part.img')
        with open(raw, 'rb') as src, open(part, 'wb') as dst:
            src.seek(1 << 20)
            shutil.copyfileobj(src, dst, 1 << 20)
        for guest_path, dest in files.items():
            with open(dest, 'wb') as handle:
                proc = subprocess.run(['ntfscat', part, guest_path], stdout=handle, stderr=subprocess.PIPE,
                                      check=False)
            out[guest_path] = dest if proc.returncode == 0 else None
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


# The hives tests/integration/targets read from fixture_hives (unpacked before the run).
TARGET_HIVES = ['win7-sp1-x86.SYSTEM', 'win81-x64-dirty.SYSTEM', 'win10-1903-x64-dirty.SYSTEM', 'phony-win10.SOFTWARE',
                'win10-1903-x64.DRIVERS']


def run_integration_target(target, tmp_path, python=sys.executable):
    """Run tests/integration/targets/<target> as a role with the real ansible-playbook beside ``python`` (the
    project's .venv, or the oldest ansible-core's venv) against localhost. Returns the CompletedProcess."""
    for name in TARGET_HIVES:
        unpacked_hive(name)
    playbook = tmp_path / 'play.yml'
    playbook.write_text('- hosts: localhost\n  gather_facts: false\n  roles: [%s]\n' % target)
    out = tmp_path / 'out'
    out.mkdir()
    extra = {'output_dir': str(out), 'fixture_hives': os.path.dirname(unpacked_hive(TARGET_HIVES[0])),
             'fixture_infs': os.path.join(FIXTURES, 'inf')}
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_ROLES_PATH=os.path.join(ROOT, 'tests', 'integration', 'targets'),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_STDOUT_CALLBACK='default', ANSIBLE_RETRY_FILES_ENABLED='0')
    cmd = [os.path.join(os.path.dirname(python), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=' + python, '-e', json.dumps(extra), str(playbook)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(tmp_path), check=False)


def run_plan(hive_path, plan_fn, check_mode=False, backup=True, allow_dirty=False, hive_name=None, lock_timeout=None):
    """One read-plan-write cycle on a hive file with a planning function ``plan_fn(hive, planner)`` that returns the
    result's fields: the engine's HiveSet and offline result, composed as the offline jobs compose them (tests and
    benchmarks drive the write path with small plans of their own)."""
    from ansible_collections.sanboot.windows.plugins.module_utils.backends import lock
    from ansible_collections.sanboot.windows.plugins.module_utils.backends.hiveset import HiveSet
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import offline
    from ansible_collections.sanboot.windows.plugins.module_utils.windows.hives import hive_prefix
    with HiveSet([('hive', hive_path)], check_mode, allow_dirty=allow_dirty,
                 lock_timeout=lock.LOCK_TIMEOUT if lock_timeout is None else lock_timeout) as hives:
        hive = hives.hives['hive']
        fields = plan_fn(hive, hives.planners['hive']) or {}
        write = hives.write(backup=backup)[0]
    result = offline.hive_result(write, hive, hive_prefix(hive, hive_name), check_mode, backup)
    result.update(fields)
    return result


def iscsi_boot_params(system, software, nic, extra=None, **more):
    """iscsi_boot's parameters on the SYSTEM hive file ``system`` with one ``nic``, ``software`` the name of a fixture
    SOFTWARE hive or None; no backup, dirty hives allowed (the fixtures of Windows 8 and later are dirty)."""
    out = dict(hive=system, software_hive=unpacked_hive(software) if software else None, nics=[nic], drivers=[],
               allow_dirty=True, backup=False)
    out.update(extra or {})
    out.update(more)
    return out


def fleet_params(store, **kw):
    """jobs/fleet.py's parameters as the module passes them (daemon exports: no systemd in the tests)."""
    base = dict(store=store, action='converge', exports='daemon', unattend_template=None, force=False, only=None,
                golden=None, version=None, max_size=None, reserve='0', tgt_control_port=None, report=None,
                goldens=[], clients=[])
    base.update(kw)
    return base


def error_ids(findings):
    """The sorted ids of the doctor's error findings in a result."""
    return sorted(f['id'] for f in findings if f['severity'] == 'error')


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def regedit_plan(path, name=None, data=None, type_name='string', state='present', delete_key=True):
    """A planning function for run_plan with hive_regedit's semantics (win_regedit's)."""
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import regedit
    edit = regedit.Edit(path, name=name, data=data, type_name=type_name, state=state, delete_key=delete_key)
    return lambda hive, planner: regedit.plan_edit(edit, hive, planner)


def cddb_plan(ids=('PCI\\VEN_8086&DEV_100E', 'PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03'), **kw):
    """A planning function for run_plan: Critical Device Database entries for E1G60 (the QEMU e1000's by default),
    the usual change of the write path's tests."""
    from ansible_collections.sanboot.windows.plugins.module_utils.windows import cddb

    def plan(hive, planner):
        return cddb.plan_critical_device(hive, planner, list(ids), service='E1G60',
                                         guid=cddb.class_guid(class_name='Net'), **kw)
    return plan


def critical_device_plan(params):
    """A planning function for run_plan with critical_device's semantics."""
    from ansible_collections.sanboot.windows.plugins.module_utils.jobs import critical_device
    request = critical_device.Request(params)
    return lambda hive, planner: critical_device.plan(request, hive, planner)
