#!/usr/bin/env bash
# Test stages; `make test` runs all but containers (`make test-containers`; CI runs both).
# Usage: run-tests.sh all|quick|unit|integration|sanity|lint|molecule|release|containers|proofs
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH=$ROOT/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$ROOT/build/collections
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
export ANSIBLE_NOCOLOR=1 PY_COLORS=0
# Keep ansible-test's and molecule's state out of the user's home.
export SANBOOT_HOME=$ROOT/build/home
mkdir -p "$SANBOOT_HOME"

stage() {
  local name=$1; shift
  local t0=$SECONDS
  echo "=== $name"
  "$@"
  echo "=== $name: ok in $((SECONDS - t0)) s"
}

# ansible-test needs the collection at .../ansible_collections/sanboot/windows as a real directory.
sync_ansible_test_tree() {
  local dest=$ROOT/build/ansible-test/ansible_collections/sanboot/windows
  mkdir -p "$dest"
  rsync -a --delete --exclude .git --exclude .venv --exclude build --exclude tests/output \
    --exclude .pytest_cache --exclude .hypothesis --exclude '__pycache__' "$ROOT/" "$dest/"
  # ansible-test lists files through git when it can; give the copy a repository of its own.
  (cd "$dest" && { [ -d .git ] || git init -q; } && git add -A >/dev/null && \
    git -c user.email=ci@invalid -c user.name=ci commit -qm tree --allow-empty >/dev/null)
  # ansible-test hands its pytest no CI variable; tests/conftest.py reads this file instead (skips fail under CI)
  case "${CI:-}" in 1|true|TRUE|True|yes) touch "$dest/tests/.ci" ;; *) rm -f "$dest/tests/.ci" ;; esac
  echo "$dest"
}

# ansible-test downloads get-pip.py from the internet; this machine has only package registries.
offline_get_pip() {
  local cache=$SANBOOT_HOME/.ansible/test/cache
  mkdir -p "$cache"
  for v in 24_2 25_0 25_3; do
    cat > "$cache/get_pip_$v.py" <<'PY'
import subprocess, sys
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args))
PY
  done
}

# Unit tests run once, through ansible-test (its collection loader, two workers): the engine's tests
# (tests/unit/plugins/module_utils, which ansible-test runs without ansible.plugins) and the controller side of the
# action plugins (tests/unit/plugins/action and plugin_utils, which it runs with them).
do_unit() {
  offline_get_pip
  local dest; dest=$(sync_ansible_test_tree)
  local targets
  targets=$(cd "$dest" && find tests/unit -name 'test_*.py' | sort)
  # shellcheck disable=SC2086
  (cd "$dest" && HOME=$SANBOOT_HOME ansible-test units --local --python 3.11 --color no $targets)
}
# The two longest boot proofs (Secure Boot under OVMF with enrolled keys; a fleet of three clients on overlays, with
# reset and promote) run in the container stage, beside the podman work, so that `make test` stays under 20 minutes.
BOOT_PROOFS=(tests/integration/test_secure_boot.py tests/integration/test_fleet_boot.py)

# Groups of tests, longest first (tests/integration/conftest.py), so the two workers end together.
do_integration() {
  python -m pytest -q -p no:cacheprovider -n "${SANBOOT_TEST_WORKERS:-2}" --dist loadgroup --no-loadscope-reorder \
    -rs "${BOOT_PROOFS[@]/#/--ignore=}" tests/integration
}

# The boot proofs, one file a worker.
do_proofs() {
  python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup -rs "${BOOT_PROOFS[@]}"
}

do_sanity() {
  offline_get_pip
  local dest; dest=$(sync_ansible_test_tree)
  (cd "$dest" && HOME=$SANBOOT_HOME ansible-test sanity --python 3.11 --color no)
}

do_lint() {
  ansible-lint --profile production --offline -q
  local m
  for m in plugins/modules/*.py; do
    m=$(basename "$m" .py)
    ansible-doc -t module "sanboot.windows.$m" > /dev/null
  done
  for r in roles/*/; do
    [ -d "$r" ] || continue
    ansible-doc -t role "sanboot.windows.$(basename "$r")" > /dev/null
  done
  antsibull-changelog lint
}

# Scenarios run two at a time (each mostly waits on qemu, ansible-playbook or podman); a failure prints its whole
# log. The scenarios on molecule's podman driver run in the containers stage, the others (delegated) here.
molecule_scenarios() {  # podman | delegated
  local s driver
  for s in extensions/molecule/*/molecule.yml; do
    driver=delegated
    if grep -q '^  name: podman$' "$s"; then driver=podman; fi
    if [ "$driver" = "$1" ]; then basename "$(dirname "$s")"; fi
  done
}
run_molecule() {
  local s pids=() names=() logs=$ROOT/build/molecule-logs rc=0 i
  mkdir -p "$logs"
  for s in "$@"; do
    (HOME=$SANBOOT_HOME molecule test -s "$s" > "$logs/$s.log" 2>&1) &
    pids+=($!); names+=("$s")
    if [ ${#pids[@]} -ge 2 ]; then
      wait "${pids[0]}" || { rc=1; echo "molecule ${names[0]} FAILED:"; cat "$logs/${names[0]}.log"; }
      echo "molecule ${names[0]}: done"
      pids=("${pids[@]:1}"); names=("${names[@]:1}")
    fi
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { rc=1; echo "molecule ${names[$i]} FAILED:"; cat "$logs/${names[$i]}.log"; }
    echo "molecule ${names[$i]}: done"
  done
  return $rc
}
# shellcheck disable=SC2046  # scenario names have no spaces
do_molecule() { run_molecule $(molecule_scenarios delegated); }

# Release checks (tests/release): the user guide's walk-throughs run as written from the installed release tarball,
# the artefact and its demo, the execution environment definition, the oldest supported ansible-core
# (its venv is kept in build/venv-core-oldest), and the docs (module reference current, links, changelog).
# Its files carry two xdist groups of about equal length, one per worker.
do_release() {
  python -m pytest -q -p no:cacheprovider -n "${SANBOOT_TEST_WORKERS:-2}" --dist loadgroup -rs tests/release
}

# The container stage (tests/containers, `make test-containers`): podman with the repository's containers.conf and
# a store under build/containers. The local base image is built once and cached (tests/containers/setup.sh); then
# the molecule scenarios on the podman driver, and the execution environment built with ansible-builder and tested
# inside (tests/containers/test_ee_image.py), side by side; and the boot proofs (BOOT_PROOFS) beside them from the
# start (they need no container).
do_containers() {
  local t0=$SECONDS logs=$ROOT/build/stage-logs rc=0 pm pe pp
  mkdir -p "$logs"
  (t=$SECONDS r=0; do_proofs || r=$?; echo "containers: boot proofs in $((SECONDS - t)) s"; exit $r) \
    > "$logs/containers-proofs.log" 2>&1 & pp=$!
  # shellcheck source=tests/containers/env.sh
  . tests/containers/env.sh
  tests/containers/setup.sh
  echo "containers: images ready in $((SECONDS - t0)) s"
  # shellcheck disable=SC2046
  (t=$SECONDS r=0; run_molecule $(molecule_scenarios podman) || r=$?; echo "containers: molecule in $((SECONDS - t)) s"
   exit $r) > "$logs/containers-molecule.log" 2>&1 & pm=$!
  (t=$SECONDS r=0; python -m pytest -q -p no:cacheprovider -rs tests/containers || r=$?
   echo "containers: execution environment in $((SECONDS - t)) s," \
     "image $(podman image inspect --format '{{.Size}}' localhost/sanboot-ee:0.1.0 2>/dev/null) bytes"
   # earlier builds' images that nothing uses any more (each build of a changed collection leaves about 1 GB)
   podman image prune -f > /dev/null; exit $r) > "$logs/containers-ee.log" 2>&1 & pe=$!
  wait "$pm" || rc=1
  wait "$pe" || rc=1
  wait "$pp" || rc=1
  cat "$logs/containers-molecule.log" "$logs/containers-ee.log" "$logs/containers-proofs.log"
  return $rc
}

# Two stages side by side, each into its own log, printed when both have ended. Used for sanity (pip installs and
# pylint, mostly one core) beside molecule (mostly ansible-playbook and qemu waiting on each other).
side_by_side() {
  local logs=$ROOT/build/stage-logs rc=0 pa pb
  mkdir -p "$logs"
  (stage "$1" "do_$1") > "$logs/$1.log" 2>&1 & pa=$!
  (stage "$2" "do_$2") > "$logs/$2.log" 2>&1 & pb=$!
  wait "$pa" || rc=1
  wait "$pb" || rc=1
  cat "$logs/$1.log" "$logs/$2.log"
  return $rc
}

case "${1:-all}" in
  quick) stage unit do_unit; stage integration do_integration ;;
  unit) stage unit do_unit ;;
  integration) stage integration do_integration ;;
  sanity) stage sanity do_sanity ;;
  lint) stage lint do_lint ;;
  molecule) stage molecule do_molecule ;;
  release) stage release do_release ;;
  containers) stage containers do_containers ;;
  proofs) stage proofs do_proofs ;;
  all)
    stage unit do_unit
    stage integration do_integration
    stage lint do_lint
    side_by_side sanity molecule
    stage release do_release
    ;;
  *) echo "unknown stage $1" >&2; exit 2 ;;
esac
