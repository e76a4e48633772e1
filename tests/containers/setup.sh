#!/usr/bin/env bash
# Everything the container tests need besides the Debian packages and the venv (scripts/bootstrap.sh): the
# containers.podman collection in build/collections, the local base image (base-image.sh: built once, cached under
# build/containers) and the molecule platform image built on it (podman's layer cache: a second build takes well
# under a second). Idempotent. Usage: tests/containers/setup.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PATH=$ROOT/.venv/bin:$PATH
# shellcheck source=tests/containers/env.sh
. tests/containers/env.sh

want=1.18.0
dest=$ROOT/build/collections/ansible_collections/containers/podman
have=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
  "$dest/MANIFEST.json" 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  wheels=$ROOT/build/containers/wheels
  python -m pip download -q --no-deps --only-binary :all: --require-hashes -d "$wheels" \
    -r tests/containers/requirements-collections.txt 2>&1 | grep -v '^WARNING: Location' || true
  rm -rf "$dest" "$dest.tmp"
  python3 - "$wheels"/ansible-12.3.0-py3-none-any.whl "$dest.tmp" <<'PY'
import os, sys, zipfile
prefix = 'ansible_collections/containers/podman/'
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for name in wheel.namelist():
        if name.startswith(prefix) and not name.endswith('/'):
            target = os.path.join(sys.argv[2], name[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, 'wb') as f:
                f.write(wheel.read(name))
PY
  mv "$dest.tmp" "$dest"
  echo "setup: containers.podman $want in build/collections" >&2
fi

tests/containers/base-image.sh > /dev/null
podman build -q -t localhost/sanboot-molecule:bookworm -f tests/containers/molecule-platform.Containerfile \
  tests/containers > /dev/null
