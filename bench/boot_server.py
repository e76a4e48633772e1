"""Boot server benchmark: from starting playbooks/boot_server.yml to the probe printing the iBFT, BIOS and UEFI.

The real chain of tests/integration/test_boot_chain.py (whose set-up it reuses): each run starts from nothing, a new
throwaway root, network namespace, bridge and tgtd, and times
  1. the playbook's share: ansible-playbook playbooks/boot_server.yml, first deployment of five clients in DHCP mode
     (images created, targets applied to tgtd, iPXE scripts, firmware, dnsmasq and nginx files), then dnsmasq and
     nginx started from the files the role wrote (what the role's service tasks do on a real server);
  2. the firmware's share, one machine at a time (qemu, TCG), from power-on to the probe printing the iBFT:
     BIOS: SeaBIOS, the e1000's iPXE ROM, DHCP, boot.ipxe and the host script over HTTP, iSCSI sanboot, the boot
     sector probe; UEFI: OVMF's own PXE (DHCP, snponly.efi over TFTP), iPXE (DHCP, scripts), iSCSI sanboot,
     \\EFI\\BOOT\\BOOTX64.EFI finding the iBFT through ACPI. The UEFI boot is also split at the moment iPXE starts.
Prints a markdown table (median, min, max over BENCH_RUNS runs, default 3). Needs root and what the test needs.
"""
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

from ansible_collections.sanboot.windows.tests.bootnet import (  # noqa: E402
    SUCCESS, missing_chain_tools, parse_probe,
)
from test_boot_chain import BRIDGE, ChainServer  # noqa: E402


def boot(srv, name, kind, host):
    t0 = time.monotonic()
    status, serial, _seconds = srv.boot_firmware(name, kind, srv.clients[host]['sanboot_mac'], BRIDGE,
                                                 local_disk=srv.local_disk, timeout=400)
    seconds = time.monotonic() - t0
    if status != SUCCESS or 'target.name' not in parse_probe(serial):
        raise RuntimeError('%s boot failed (%s):\n%s' % (name, status, serial[-3000:]))
    ipxe = next((t for t, line in srv.timelines[name] if 'iPXE initialising devices' in line), None)
    return seconds, ipxe


def one_run(base):
    srv = ChainServer(base)
    try:
        srv.start()
        t0 = time.monotonic()
        play = srv.playbook('dhcp', name='bench-play')
        if play.returncode != 0:
            raise RuntimeError('playbook failed:\n' + play.stdout[-3000:])
        t1 = time.monotonic()
        srv.write_probe_disks()                 # the stand-in for the Windows images: not timed
        t2 = time.monotonic()
        srv.start_services('dhcp')
        served = time.monotonic() - t2 + (t1 - t0)
        bios = boot(srv, 'bench-bios', 'bios', 'bios')[0]
        uefi, ipxe_at = boot(srv, 'bench-uefi', 'uefi-pxe', 'uefi-chap')   # OVMF's PXE, one-way CHAP, no discovery
        return {'playbook': served, 'bios': bios, 'uefi': uefi, 'uefi_firmware': ipxe_at,
                'uefi_ipxe': uefi - ipxe_at if ipxe_at is not None else None,
                'bios_total': served + bios, 'uefi_total': served + uefi}
    finally:
        srv.stop()


def main():
    missing = missing_chain_tools('ansible-playbook')
    if os.geteuid() != 0 or missing:
        print('boot_server bench skipped: %s' % ('needs root' if os.geteuid() != 0 else 'missing ' + ', '.join(missing)))
        return 0
    runs = int(os.environ.get('BENCH_RUNS', '3'))
    results = []
    for _run in range(runs):
        with tempfile.TemporaryDirectory(prefix='sanboot-bench-') as base:
            results.append(one_run(base))
    print('### Boot server: playbook start to iBFT printed by the probe, real chain (%d runs, seconds)' % runs)
    print()
    print('| phase | median | min | max | share of the total (median) |')
    print('|---|---:|---:|---:|---:|')
    rows = (
        ('playbook', 'playbook share: ansible-playbook boot_server.yml (5 clients, DHCP mode), dnsmasq and nginx start',
         None),
        ('bios', 'firmware share, BIOS: SeaBIOS + iPXE ROM, DHCP, HTTP scripts, iSCSI sanboot, probe', 'bios_total'),
        ('bios_total', '**BIOS: playbook start to iBFT printed**', None),
        ('uefi', 'firmware share, UEFI: OVMF PXE, snponly.efi, iPXE, iSCSI sanboot, BOOTX64.EFI probe', 'uefi_total'),
        ('uefi_firmware', '  of which OVMF until iPXE starts (DHCP, TFTP snponly.efi)', 'uefi_total'),
        ('uefi_ipxe', '  of which iPXE until the probe prints the iBFT', 'uefi_total'),
        ('uefi_total', '**UEFI: playbook start to iBFT printed**', None),
    )
    med = {key: statistics.median([r[key] for r in results if r[key] is not None]) for key, _l, _t in rows}
    for key, label, total in rows:
        values = [r[key] for r in results if r[key] is not None]
        share = ''
        if total:
            share = '%.0f %%' % (100 * med[key] / med[total])
        elif key == 'playbook':
            share = '%.0f %% (BIOS), %.0f %% (UEFI)' % (
                100 * med[key] / med['bios_total'], 100 * med[key] / med['uefi_total'])
        print('| %s | %.1f | %.1f | %.1f | %s |' % (label, med[key], min(values), max(values), share))
    return 0


if __name__ == '__main__':
    sys.exit(main())
