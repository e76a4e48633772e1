#!/usr/bin/env bash
# Benchmarks: every bench/*.py runs in turn and prints its own table; results also go to build/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$PWD/build/collections
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
mkdir -p build/bench
only=${BENCH:-}
for b in bench/*.py; do
  name=$(basename "$b" .py)
  [ -z "$only" ] || [[ " $only " == *" $name "* ]] || continue
  echo "=== bench $name"
  python "$b" | tee "build/bench/$name.txt"
done
