#!/usr/bin/env bash
# Sign an iPXE EFI binary (or any EFI application: a shim, a probe) for UEFI Secure Boot with a site's own key and
# certificate, then check the signature. docs/boot-server.md, "Secure Boot", explains where it fits.
#
#   scripts/sign-ipxe.sh --key db.key --cert db.pem [--passin pass:...|file:...] [--sbat sbat.csv] IN.efi OUT.efi
#
# * An .sbat section is added when the binary has none: shim (15.3 and later) refuses to start an image without
#   SBAT metadata ("Verification failed: (0x1A) Security Violation"), firmware ignores it. The default metadata
#   names iPXE (`--sbat FILE` gives your own CSV, for another program or a distribution's generation numbers).
# * `sbsign` signs (Authenticode, PKCS #7 with SHA-256); it needs the private key without a password, so an
#   encrypted key is first decrypted with `openssl rsa --passin ARG` into a private temporary folder, removed on exit.
# * `sbverify --cert CERT` checks the result against the certificate; the script fails when it does not verify.
# Nothing is downloaded. Needs sbsigntool, binutils (objcopy, objdump) and openssl (for --passin).
set -euo pipefail

usage() {
  echo "usage: $0 --key KEY --cert CERT [--passin ARG] [--sbat CSV] INPUT.efi OUTPUT.efi" >&2
  exit 2
}

key="" cert="" passin="" sbat=""
while [ $# -gt 0 ]; do
  case "$1" in
    --key) key=${2:-}; shift 2 ;;
    --cert) cert=${2:-}; shift 2 ;;
    --passin) passin=${2:-}; shift 2 ;;
    --sbat) sbat=${2:-}; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "sign-ipxe: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
if [ $# -ne 2 ] || [ -z "$key" ] || [ -z "$cert" ]; then usage; fi
input=$1 output=$2
for f in "$key" "$cert" "$input"; do
  [ -r "$f" ] || { echo "sign-ipxe: cannot read $f" >&2; exit 1; }
done
for tool in sbsign sbverify objcopy objdump; do
  command -v "$tool" >/dev/null || { echo "sign-ipxe: $tool is missing (Debian: sbsigntool, binutils)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"

if [ -n "$passin" ]; then
  openssl rsa -in "$key" -passin "$passin" -out "$work/key.pem" 2>/dev/null \
    || { echo "sign-ipxe: cannot decrypt $key with the given --passin" >&2; exit 1; }
  key=$work/key.pem
fi

# objdump -h: "Idx Name Size VMA LMA File-off Algn" lines, one per section
sections=$(LC_ALL=C objdump -h "$input" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ {print $2, $3, $4}') \
  || { echo "sign-ipxe: $input is not a PE image objdump can read" >&2; exit 1; }
[ -n "$sections" ] || { echo "sign-ipxe: $input has no sections" >&2; exit 1; }

unsigned=$input
if ! grep -q '^\.sbat ' <<<"$sections"; then
  if [ -z "$sbat" ]; then
    sbat=$work/sbat.csv
    printf '%s\n' 'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md' \
      'ipxe,1,iPXE,ipxe,1,https://ipxe.org' > "$sbat"
  fi
  # the new section goes after the last one, page-aligned
  end=0
  while read -r _name size vma; do
    e=$(( 0x$vma + 0x$size ))
    [ "$e" -gt "$end" ] && end=$e
  done <<<"$sections"
  addr=$(( (end + 0xfff) & ~0xfff ))
  objcopy --add-section ".sbat=$sbat" --set-section-flags .sbat=contents,alloc,load,readonly,data \
    --change-section-address ".sbat=$addr" "$input" "$work/with-sbat.efi" 2>"$work/objcopy.log" \
    || { cat "$work/objcopy.log" >&2; echo "sign-ipxe: objcopy could not add the .sbat section" >&2; exit 1; }
  unsigned=$work/with-sbat.efi
  echo "sign-ipxe: added an .sbat section ($(wc -l < "$sbat") lines) at 0x$(printf %x "$addr")"
fi

sbsign --key "$key" --cert "$cert" --output "$work/signed.efi" "$unsigned" >"$work/sbsign.log" 2>&1 \
  || { cat "$work/sbsign.log" >&2; echo "sign-ipxe: sbsign failed" >&2; exit 1; }
sbverify --cert "$cert" "$work/signed.efi" >"$work/sbverify.log" 2>&1 \
  || { cat "$work/sbverify.log" >&2; echo "sign-ipxe: the signed binary does not verify against $cert" >&2; exit 1; }
install -m 0644 "$work/signed.efi" "$output"
echo "sign-ipxe: signed $input -> $output ($(openssl x509 -in "$cert" -noout -subject 2>/dev/null || echo "$cert"))"
