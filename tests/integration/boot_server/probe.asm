; sanboot.windows boot-server probe: a disk image whose boot code proves an iSCSI SAN boot end to end.
;
; Layout (assembled with `nasm -f bin`):
;   LBA 0      boot sector: loads LBA 1..STAGE2_END through INT 13h AH=42h (extended read, so the data really
;              travels over iSCSI from the SAN drive iPXE registered) and jumps to stage 2
;   LBA 1      marker sector: zero here; the test writes a per-image marker string into it
;   LBA 2..    stage 2: prints the marker, finds the iBFT iPXE left in base memory, validates its checksum and
;              prints the initiator, NIC and target sections, then exits qemu through isa-debug-exit
;
; All output goes to COM1 (polled 16550), one "PROBE key=value" line per fact. Exit codes seen by the host
; (qemu -device isa-debug-exit,iobase=0xf4: status = (value << 1) | 1):
;   0x10 -> 33  success, iBFT printed
;   0x01 ->  3  INT 13h read failed
;   0x12 -> 37  no valid iBFT found
;
; Assembled with -DNBP the same code is a PXE NBP (iPXE `kernel probe-nbp.bin` + `boot`, the stand-in for
; wimboot in the install-mode test): iPXE loads the whole file at 0000:7C00 and jumps to it; DL is then not a
; BIOS disk, so the probe falls back to drive 0x80, the drive `sanhook` registered. The NBP build has no boot
; signature, which iPXE would otherwise take for an old-style Linux zImage.

        bits 16
        cpu 386
        org 0x7C00

COM1            equ 0x3F8
EXIT_PORT       equ 0xF4
STAGE2_SECTORS  equ 3
MARKER_ADDR     equ 0x7E00
STAGE2_ADDR     equ 0x8000

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        cld
        cmp dl, 0x80
        jae .drive_ok
        mov dl, 0x80
.drive_ok:
        mov [boot_drive], dl
        ; SeaBIOS's serial console mirror holds back the last character iPXE printed and sends it from the next
        ; timer tick (src/sercon.c sercon_lazy_putchar, clock.c clock_update -> sercon_check_event): wait two
        ; ticks, or that character lands inside our first line ("...SAN device 0x8PROBE start drive=800")
        mov bx, [0x46C]
        add bx, 2
.settle:
        mov ax, [0x46C]
        sub ax, bx
        js .settle
        mov si, msg_start
        call puts
        mov al, [boot_drive]
        call puthex8
        call crlf
        ; LBA 1 (marker) and LBA 2.. (stage 2) in one extended read
        mov si, dap
        mov dl, [boot_drive]
        mov ah, 0x42
        int 0x13
        jc read_failed
        jmp 0:STAGE2_ADDR

read_failed:
        push ax
        mov si, msg_readfail
        call puts
        pop ax
        mov al, ah
        call puthex8
        call crlf
        mov al, 0x01
        jmp exit_qemu

; --- shared helpers (stage 2 calls them too) ---------------------------------------------------------
; putc: AL -> COM1
putc:
        push dx
        push ax
        mov dx, COM1 + 5
.wait:  in al, dx
        test al, 0x20
        jz .wait
        pop ax
        mov dx, COM1
        out dx, al
        pop dx
        ret

; puts: DS:SI NUL-terminated string
puts:
        lodsb
        test al, al
        jz .done
        call putc
        jmp puts
.done:  ret

crlf:
        mov al, 13
        call putc
        mov al, 10
        jmp putc

; puthex8: AL as two lowercase hex digits
puthex8:
        push ax
        shr al, 4
        call .nib
        pop ax
.nib:   and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .out
        add al, 'a' - '9' - 1
.out:   jmp putc

; exit_qemu: AL = isa-debug-exit value; halts if the device is absent
exit_qemu:
        mov dx, EXIT_PORT
        out dx, al
.halt:  cli
        hlt
        jmp .halt

boot_drive:     db 0x80
msg_start:      db 'PROBE start drive=', 0
msg_readfail:   db 'PROBE read=failed ah=', 0

        align 4
dap:    db 0x10, 0
        dw 1 + STAGE2_SECTORS           ; sectors
        dw MARKER_ADDR, 0               ; buffer offset, segment
        dq 1                            ; first LBA

        times 510 - ($ - $$) db 0
%ifdef NBP
        dw 0                    ; iPXE would take a file with a boot signature for an old Linux zImage
%else
        dw 0xAA55
%endif

; --- LBA 1: marker placeholder -------------------------------------------------------------------------
        times 512 db 0

; --- LBA 2..: stage 2 ------------------------------------------------------------------------------------
stage2:
        mov si, msg_marker
        call puts
        mov si, MARKER_ADDR
        mov cx, 96
.mk:    lodsb
        cmp al, 0x20
        jb .mk_done
        cmp al, 0x7E
        ja .mk_done
        call putc
        loop .mk
.mk_done:
        call crlf

        ; scan 0x80000-0xFFFFF for "iBFT" on 16-byte boundaries (iPXE for BIOS puts it in base memory)
        mov bx, 0x8000
.scan:  mov es, bx
        cmp dword [es:0], 'iBFT'
        jne .next
        call checksum_ok
        je found
.next:  inc bx
        jnz .scan
        mov si, msg_noibft
        call puts
        mov al, 0x12
        jmp exit_qemu

; checksum_ok: ZF=1 if the bytes of the table at ES:0 (length at ES:4) sum to 0 mod 256
checksum_ok:
        mov cx, [es:4]
        cmp cx, 48
        jb .bad
        xor si, si
        xor ah, ah
.sum:   add ah, [es:si]
        inc si
        loop .sum
        test ah, ah
        ret
.bad:   test sp, sp             ; SP is never 0 here: ZF=0
        ret

found:
        ; ES = table segment from here on
        mov si, msg_found
        call puts
        mov ax, es
        call puthex16
        mov si, msg_len
        call puts
        mov ax, [es:4]
        call puthex16
        mov si, msg_rev
        call puts
        mov al, [es:8]
        call puthex8
        mov si, msg_oem
        call puts
        mov di, 10
        mov cx, 14              ; OEM ID (6) + OEM table ID (8)
        call put_es_raw
        call crlf

        ; control structure at +48: initiator, nic0, target0 offsets at +56, +58, +60
        mov bx, [es:56]
        test bx, bx
        jz .no_ini
        mov si, msg_ini_name
        call puts
        mov cx, [es:bx + 70]
        mov di, [es:bx + 72]
        call put_es_raw
        call crlf
.no_ini:
        mov bx, [es:58]
        test bx, bx
        jz .no_nic
        mov si, msg_nic_mac
        call puts
        lea di, [bx + 90]
        mov cx, 6
        call put_es_hex
        mov si, msg_nic_ip
        call puts
        lea di, [bx + 6]
        mov cx, 16
        call put_es_hex
        mov si, msg_nic_prefix
        call puts
        mov al, [es:bx + 22]
        call puthex8
        mov si, msg_nic_origin
        call puts
        mov al, [es:bx + 23]
        call puthex8
        mov si, msg_nic_gw
        call puts
        lea di, [bx + 24]
        mov cx, 16
        call put_es_hex
        mov si, msg_nic_dhcp
        call puts
        lea di, [bx + 72]
        mov cx, 16
        call put_es_hex
        call crlf
.no_nic:
        mov bx, [es:60]
        test bx, bx
        jz .no_tgt
        mov si, msg_tgt_name
        call puts
        mov cx, [es:bx + 34]
        mov di, [es:bx + 36]
        call put_es_raw
        mov si, msg_tgt_ip
        call puts
        lea di, [bx + 6]
        mov cx, 16
        call put_es_hex
        mov si, msg_tgt_port
        call puts
        mov ax, [es:bx + 22]
        call puthex16
        mov si, msg_tgt_lun
        call puts
        lea di, [bx + 24]
        mov cx, 8
        call put_es_hex
        mov si, msg_tgt_chap
        call puts
        mov al, [es:bx + 32]
        call puthex8
        mov si, msg_tgt_nic
        call puts
        mov al, [es:bx + 33]
        call puthex8
        mov si, msg_tgt_chapname
        call puts
        mov cx, [es:bx + 38]
        mov di, [es:bx + 40]
        call put_es_raw
        mov si, msg_tgt_rchapname
        call puts
        mov cx, [es:bx + 46]
        mov di, [es:bx + 48]
        call put_es_raw
        call crlf
.no_tgt:
        mov si, msg_done
        call puts
        mov al, 0x10
        jmp exit_qemu

; puthex16: AX as four hex digits
puthex16:
        push ax
        mov al, ah
        call puthex8
        pop ax
        jmp puthex8

; put_es_raw: CX bytes at ES:DI as text (stops early at NUL; CX=0 or DI=0 prints nothing)
put_es_raw:
        jcxz .done
        test di, di
        jz .done
.l:     mov al, [es:di]
        test al, al
        jz .done
        call putc
        inc di
        loop .l
.done:  ret

; put_es_hex: CX bytes at ES:DI as hex
put_es_hex:
.l:     mov al, [es:di]
        call puthex8
        inc di
        loop .l
        ret

msg_marker:     db 'PROBE lba1=', 0
msg_noibft:     db 'PROBE ibft=none', 13, 10, 0
msg_found:      db 'PROBE ibft.segment=', 0
msg_len:        db ' ibft.length=', 0
msg_rev:        db ' ibft.revision=', 0
msg_oem:        db ' ibft.oem=', 0
msg_ini_name:   db 'PROBE initiator.name=', 0
msg_nic_mac:    db 'PROBE nic.mac=', 0
msg_nic_ip:     db ' nic.ip=', 0
msg_nic_prefix: db ' nic.prefix=', 0
msg_nic_origin: db ' nic.origin=', 0
msg_nic_gw:     db ' nic.gateway=', 0
msg_nic_dhcp:   db ' nic.dhcp=', 0
msg_tgt_name:   db 'PROBE target.name=', 0
msg_tgt_ip:     db ' target.ip=', 0
msg_tgt_port:   db ' target.port=', 0
msg_tgt_lun:    db ' target.lun=', 0
msg_tgt_chap:   db ' target.chap_type=', 0
msg_tgt_nic:    db ' target.nic=', 0
msg_tgt_chapname:  db ' target.chap_name=', 0
msg_tgt_rchapname: db ' target.reverse_chap_name=', 0
msg_done:       db 'PROBE done', 13, 10, 0

        times (2 + STAGE2_SECTORS) * 512 - ($ - $$) db 0
