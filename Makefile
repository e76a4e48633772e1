# sanboot.windows: every entry point installs what it needs first (scripts/bootstrap.sh, idempotent).
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections
export LIBGUESTFS_BACKEND_SETTINGS ?= force_tcg

.PHONY: all bootstrap test test-containers test-quick unit integration sanity lint molecule demo bench clean

all: test

bootstrap:
	@scripts/bootstrap.sh

# Everything CI runs. Each stage prints its own timing; any failure fails the target.
test: bootstrap
	@scripts/run-tests.sh all

# The container stage (CI runs it after `make test`): molecule scenarios in podman containers, the execution
# environment built with ansible-builder and tested inside, and beside them the two longest boot proofs (Secure Boot,
# the fleet). The first run builds the local base image (about 3 min).
test-containers: bootstrap
	@scripts/run-tests.sh containers

# Engine + module tests only (no sanity/lint/molecule/qemu): the inner development loop.
test-quick: bootstrap
	@scripts/run-tests.sh quick

unit integration sanity lint molecule: bootstrap
	@scripts/run-tests.sh $@

demo: bootstrap
	@scripts/demo.sh

bench: bootstrap
	@scripts/bench.sh

clean:
	rm -rf build .pytest_cache .hypothesis tests/output
