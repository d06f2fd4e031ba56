#!/usr/bin/env bash
# The whole test suite, as README.md documents it: unit and integration tests
# (grace as a plain child, as a subreaper and as PID 1 of a new PID
# namespace), the static release build and its budgets, end-to-end tests in
# real containers (podman + runc), and a smoke run of the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/deps.sh

echo "== unit and integration tests"
cargo test --locked --bins --test it

echo "== static release binary"
bash tests/static-build.sh

echo "== end-to-end tests in containers"
GRACE_STATIC_BIN="$PWD/target/x86_64-unknown-linux-musl/release/grace" \
GRACE_TESTAPP_STATIC_BIN="$PWD/target/x86_64-unknown-linux-musl/release/testapp" \
  cargo test --locked --test e2e -- --test-threads=1 --nocapture

echo "== benchmark smoke run"
bash bench/run.sh --smoke
