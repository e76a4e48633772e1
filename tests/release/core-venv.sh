#!/usr/bin/env bash
# Build (or reuse) the venv with the oldest supported ansible-core: build/venv-core-oldest, from
# tests/release/requirements-core-oldest.txt, the way scripts/bootstrap.sh builds .venv (Debian's own Python, whose
# ABI the python3-hivex / python3-guestfs extension modules have, plus a .pth to links to them). Kept between runs:
# rebuilt only when the requirements file changes. Prints the venv's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VENV=${CORE_VENV:-$ROOT/build/venv-core-oldest}
REQ=$ROOT/tests/release/requirements-core-oldest.txt
stamp=$VENV/.sanboot-core-venv
want=$(sha256sum < "$REQ" | cut -c1-16)
# One builder at a time: a second caller waits, then finds the venv built (a build removes any half-built one).
mkdir -p "$(dirname "$VENV")"
exec 9> "$VENV.lock"
flock 9
if [ ! -x "$VENV/bin/ansible-playbook" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "core-venv: building $VENV" >&2
  scripts/debian-venv.sh "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" >&2
  echo "$want" > "$stamp"
fi
(cd / && "$VENV/bin/python" -c 'import hivex, ansible') || {
  echo "core-venv: $VENV cannot import hivex and ansible; its sys.path:" >&2
  "$VENV/bin/python" -c 'import sys; print(sys.path)' >&2
  exit 1
}
echo "$VENV"
