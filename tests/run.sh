#!/usr/bin/env bash
# The whole test suite, as README.md documents it: unit and integration tests
# (grace as a plain child, as a subreaper and as PID 1 of a new PID
# namespace; with the glibc build, then the static musl one), the static
# release builds (x86_64 and arm64) and their budgets,
# what `cargo install` and `cargo package` give a user, the integration tests
# again with the arm64 grace under qemu-user, the reproducibility of the
# release files, end-to-end tests in real containers (podman + runc), and a
# smoke run of the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/deps.sh

echo "== unit and integration tests"
cargo test --locked --bins --test it

echo "== static release binaries, x86_64 and arm64"
bash tests/static-build.sh

echo "== integration tests again, the static musl grace (the shipped build)"
# Both builds are the product: the C libraries spawn differently (glibc's
# posix_spawn ignores its own signals in the child and gives up when clone3
# is refused) and set up signals differently before main.
GRACE_TEST_BIN="$PWD/target/x86_64-unknown-linux-musl/release/grace" \
  cargo test --locked --test it

echo "== what users install: cargo install, cargo package"
bash tests/package.sh

echo "== integration tests, arm64 grace under qemu-user (tests/it/QEMU.md)"
# Only grace is emulated: the fake app is the native x86_64 one, which the
# emulated grace execs through the host kernel (no binfmt_misc needed). Tests
# qemu-user cannot carry print SKIPPED and why.
arm64="$PWD/target/aarch64-unknown-linux-musl/release/grace"
file -b "$arm64" | grep -q "ARM aarch64" || { echo "FAIL: $arm64 is not arm64" >&2; exit 1; }
GRACE_TEST_BIN="$arm64" \
GRACE_TEST_RUNNER=qemu-aarch64-static \
GRACE_TEST_TESTAPP="$PWD/target/x86_64-unknown-linux-musl/release/testapp" \
  cargo test --locked --test it

echo "== release files: reproducible from two clean checkouts"
bash release/check-reproducible.sh

echo "== end-to-end tests in containers"
GRACE_STATIC_BIN="$PWD/target/x86_64-unknown-linux-musl/release/grace" \
GRACE_TESTAPP_STATIC_BIN="$PWD/target/x86_64-unknown-linux-musl/release/testapp" \
  cargo test --locked --test e2e -- --test-threads=1 --nocapture

echo "== benchmark smoke run"
bash bench/run.sh --smoke
