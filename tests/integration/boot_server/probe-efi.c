/* sanboot.windows boot-server probe, UEFI build: \EFI\BOOT\BOOTX64.EFI on the probe disk's EFI system partition.
 *
 * iPXE's `sanboot` on UEFI attaches the iSCSI disk as a block device, installs the iBFT as an ACPI table and
 * starts \EFI\BOOT\BOOTX64.EFI from the disk's file system, as it would start Windows' boot manager. This probe
 * then does what Windows does on UEFI and prints the same facts as the BIOS probe (probe.asm):
 *   1. reads LBA 1 of the disk it was loaded from (the parent of its partition) through the firmware's Block I/O
 *      protocol, so the data really travels over iSCSI, and prints the marker the test wrote there;
 *   2. finds the iBFT through the ACPI tables (EFI configuration table -> RSDP -> XSDT/RSDT -> "iBFT"), checks its
 *      checksum and prints the initiator, NIC and target sections;
 *   3. prints the firmware's SecureBoot and SetupMode variables (EFI global variables, 01 = on), so a test can
 *      tell that Secure Boot really was enforced when the probe ran (tests/integration/test_secure_boot.py);
 *   4. exits qemu through isa-debug-exit (port 0xf4): status 33 on success, 3 when the read failed, 37 without
 *      a valid iBFT.
 * Output goes straight to COM1 (polled 16550, as OVMF left it set up), one "PROBE key=value" line per fact.
 * Built by the tests with Debian's gnu-efi (tests/bootnet.py: build_efi_probe).
 */
#include <efi.h>
#include <efilib.h>

#define COM1 0x3F8
#define EXIT_PORT 0xF4

static inline void outb(UINT16 port, UINT8 value) { __asm__ __volatile__("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline UINT8 inb(UINT16 port) { UINT8 v; __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void putc(char c) {
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (UINT8)c);
}

static void puts(const char *s) {
    while (*s)
        putc(*s++);
}

static void crlf(void) { puts("\r\n"); }

static void puthex8(UINT8 v) {
    static const char digits[] = "0123456789abcdef";
    putc(digits[v >> 4]);
    putc(digits[v & 15]);
}

static void puthex16(UINT16 v) { puthex8((UINT8)(v >> 8)); puthex8((UINT8)v); }

static void puthex64(UINT64 v) {
    for (int shift = 56; shift >= 0; shift -= 8)
        puthex8((UINT8)(v >> shift));
}

static void put_hex_bytes(const UINT8 *p, UINTN n) {
    while (n--)
        puthex8(*p++);
}

/* text of n bytes (stops at NUL); nothing when n or offset is 0, as in probe.asm */
static void put_raw(const UINT8 *table, UINT16 len, UINT16 offset) {
    if (!len || !offset)
        return;
    for (const UINT8 *p = table + offset; len-- && *p; p++)
        putc((char)*p);
}

static UINT16 u16(const UINT8 *p) { return (UINT16)(p[0] | (p[1] << 8)); }
static UINT32 u32(const UINT8 *p) { return (UINT32)u16(p) | ((UINT32)u16(p + 2) << 16); }
static UINT64 u64(const UINT8 *p) { return (UINT64)u32(p) | ((UINT64)u32(p + 4) << 32); }

static void exit_qemu(UINT8 value) {
    outb(EXIT_PORT, value);
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

static int sums_to_zero(const UINT8 *p, UINT32 len) {
    UINT8 sum = 0;
    while (len--)
        sum += *p++;
    return sum == 0;
}

/* LBA 1 of the disk the probe was loaded from: the handle whose device path is the loaded image's device path
 * without its hard-drive (partition) node. */
static void print_marker(EFI_HANDLE image) {
    EFI_LOADED_IMAGE *li = NULL;
    EFI_DEVICE_PATH *path = NULL, *copy, *node, *rest;
    EFI_HANDLE disk = NULL;
    EFI_BLOCK_IO *bio = NULL;
    UINT8 *buf = NULL;
    EFI_STATUS st;

    st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
    if (!EFI_ERROR(st))
        st = uefi_call_wrapper(BS->HandleProtocol, 3, li->DeviceHandle, &DevicePathProtocol, (void **)&path);
    if (EFI_ERROR(st)) {
        puts("PROBE read=failed step=device-path");
        crlf();
        exit_qemu(0x01);
    }
    copy = DuplicateDevicePath(path);
    for (node = copy; !IsDevicePathEnd(node); node = NextDevicePathNode(node)) {
        if (DevicePathType(node) == MEDIA_DEVICE_PATH && DevicePathSubType(node) == MEDIA_HARDDRIVE_DP) {
            SetDevicePathEndNode(node);
            break;
        }
    }
    rest = copy;
    st = uefi_call_wrapper(BS->LocateDevicePath, 3, &BlockIoProtocol, &rest, &disk);
    if (!EFI_ERROR(st))
        st = uefi_call_wrapper(BS->HandleProtocol, 3, disk, &BlockIoProtocol, (void **)&bio);
    if (!EFI_ERROR(st))
        st = uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, bio->Media->BlockSize, (void **)&buf);
    if (!EFI_ERROR(st))
        st = uefi_call_wrapper(bio->ReadBlocks, 5, bio, bio->Media->MediaId, 1, bio->Media->BlockSize, buf);
    if (EFI_ERROR(st)) {
        puts("PROBE read=failed status=");
        puthex64(st);
        crlf();
        exit_qemu(0x01);
    }
    puts("PROBE start firmware=uefi block_size=");
    puthex16((UINT16)bio->Media->BlockSize);
    puts(" logical_partition=");
    puthex8(bio->Media->LogicalPartition);
    crlf();
    puts("PROBE lba1=");
    for (UINTN i = 0; i < 96 && buf[i] >= 0x20 && buf[i] <= 0x7E; i++)
        putc((char)buf[i]);
    crlf();
}

/* a one-byte EFI global variable as two hex digits, "none" when it does not exist */
static void put_global_u8(CHAR16 *name) {
    EFI_GUID global = EFI_GLOBAL_VARIABLE;
    UINT8 value = 0;
    UINTN size = sizeof(value);
    UINT32 attributes = 0;
    EFI_STATUS st = uefi_call_wrapper(RT->GetVariable, 5, name, &global, &attributes, &size, &value);
    if (EFI_ERROR(st) || size != 1)
        puts("none");
    else
        puthex8(value);
}

static void print_secure_boot(void) {
    puts("PROBE secureboot=");
    put_global_u8(L"SecureBoot");
    puts(" setupmode=");
    put_global_u8(L"SetupMode");
    crlf();
}

static const UINT8 *find_ibft(void) {
    EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
    const UINT8 *rsdp = NULL;
    for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
        EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
        if (!CompareGuid(&t->VendorGuid, &acpi20) || (!rsdp && !CompareGuid(&t->VendorGuid, &acpi10)))
            rsdp = t->VendorTable;
    }
    if (!rsdp || CompareMem((void *)rsdp, "RSD PTR ", 8) != 0)
        return NULL;
    int xsdt = rsdp[15] >= 2 && u64(rsdp + 24) != 0;
    const UINT8 *sdt = xsdt ? (const UINT8 *)(UINTN)u64(rsdp + 24) : (const UINT8 *)(UINTN)u32(rsdp + 16);
    UINT32 entries = (u32(sdt + 4) - 36) / (xsdt ? 8 : 4);
    puts("PROBE acpi.root=");
    puts(xsdt ? "XSDT" : "RSDT");
    puts(" acpi.tables=");
    puthex16((UINT16)entries);
    crlf();
    for (UINT32 i = 0; i < entries; i++) {
        const UINT8 *e = sdt + 36 + i * (xsdt ? 8 : 4);
        const UINT8 *table = xsdt ? (const UINT8 *)(UINTN)u64(e) : (const UINT8 *)(UINTN)u32(e);
        if (table && CompareMem((void *)table, "iBFT", 4) == 0 && u32(table + 4) >= 48 &&
            sums_to_zero(table, u32(table + 4)))
            return table;
    }
    return NULL;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab) {
    InitializeLib(image, systab);
    print_marker(image);
    print_secure_boot();

    const UINT8 *t = find_ibft();
    if (!t) {
        puts("PROBE ibft=none");
        crlf();
        exit_qemu(0x12);
    }
    puts("PROBE ibft.address=");
    puthex64((UINT64)(UINTN)t);
    puts(" ibft.length=");
    puthex16((UINT16)u32(t + 4));
    puts(" ibft.revision=");
    puthex8(t[8]);
    puts(" ibft.oem=");
    put_raw(t, 14, 10);          /* OEM ID (6) + OEM table ID (8) */
    crlf();

    /* control structure at +48: initiator, nic0, target0 offsets at +56, +58, +60 (layout as in probe.asm) */
    UINT16 ini = u16(t + 56), nic = u16(t + 58), tgt = u16(t + 60);
    if (ini) {
        puts("PROBE initiator.name=");
        put_raw(t, u16(t + ini + 70), u16(t + ini + 72));
        crlf();
    }
    if (nic) {
        const UINT8 *n = t + nic;
        puts("PROBE nic.mac=");
        put_hex_bytes(n + 90, 6);
        puts(" nic.ip=");
        put_hex_bytes(n + 6, 16);
        puts(" nic.prefix=");
        puthex8(n[22]);
        puts(" nic.origin=");
        puthex8(n[23]);
        puts(" nic.gateway=");
        put_hex_bytes(n + 24, 16);
        puts(" nic.dhcp=");
        put_hex_bytes(n + 72, 16);
        crlf();
    }
    if (tgt) {
        const UINT8 *g = t + tgt;
        puts("PROBE target.name=");
        put_raw(t, u16(g + 34), u16(g + 36));
        puts(" target.ip=");
        put_hex_bytes(g + 6, 16);
        puts(" target.port=");
        puthex16(u16(g + 22));
        puts(" target.lun=");
        put_hex_bytes(g + 24, 8);
        puts(" target.chap_type=");
        puthex8(g[32]);
        puts(" target.nic=");
        puthex8(g[33]);
        puts(" target.chap_name=");
        put_raw(t, u16(g + 38), u16(g + 40));
        puts(" target.reverse_chap_name=");
        put_raw(t, u16(g + 46), u16(g + 48));
        crlf();
    }
    puts("PROBE done");
    crlf();
    exit_qemu(0x10);
    return EFI_SUCCESS;
}
