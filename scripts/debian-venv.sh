#!/usr/bin/env bash
# Create a fresh venv at $1 from Debian's own Python 3.11 (the ABI of the python3-hivex / python3-guestfs extension
# modules) that also sees those bindings: they are linked into <venv>/debian-bindings, named by a .pth file.
# Used by scripts/bootstrap.sh (.venv) and tests/release/core-venv.sh (the oldest ansible-core).
set -euo pipefail
VENV=$1
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
/usr/bin/python3 -m venv "$VENV"
mkdir -p "$VENV/debian-bindings"
for f in hivex libhivexmod.cpython-311-x86_64-linux-gnu.so guestfs.py libguestfsmod.cpython-311-x86_64-linux-gnu.so \
    pyregf.cpython-311-x86_64-linux-gnu.so; do
  if [ -e "/usr/lib/python3/dist-packages/$f" ]; then
    ln -sf "/usr/lib/python3/dist-packages/$f" "$VENV/debian-bindings/$f"
  fi
done
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$VENV/debian-bindings" > "$site/debian-bindings.pth"
