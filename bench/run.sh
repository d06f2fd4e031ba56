#!/usr/bin/env bash
# grace's benchmarks, side by side with tini, tini-static, dumb-init and
# catatonit and with the floor (bench/floor: spawn, forward, wait, nothing
# else), each init in a cgroup of its own as in a container, in one run:
#
#   bash bench/run.sh            full run (~11 minutes), writes BENCHMARKS.md
#   bash bench/run.sh --smoke    every measurement once, small (< 1 minute),
#                                report in $TMPDIR; what CI runs
#
# Needs root (reaping runs each init as PID 1 of a new PID namespace; the
# cgroups are made under /sys/fs/cgroup) and the peers' Debian packages
# (tests/deps.sh installs them). A broken
# measurement fails the run; a missed target never does: it is reported.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=()
out=BENCHMARKS.md
if [[ ${1:-} == --smoke ]]; then
  smoke=(--smoke)
  out=${TMPDIR:-/tmp}/grace-benchmarks-smoke.md
elif [[ $# -gt 0 ]]; then
  echo "usage: bash bench/run.sh [--smoke]" >&2
  exit 2
fi

grace=target/x86_64-unknown-linux-musl/release/grace
if [[ ! -x $grace ]]; then
  cargo build --release --locked --target x86_64-unknown-linux-musl --bin grace
fi
cargo build --release --locked --quiet --manifest-path bench/driver/Cargo.toml
# The floor is static like grace, so that both start the same way.
cargo build --release --locked --quiet --target x86_64-unknown-linux-musl \
  --manifest-path bench/floor/Cargo.toml
floor=bench/floor/target/x86_64-unknown-linux-musl/release/grace-floor

bench/driver/target/release/grace-bench run --grace "$grace" --floor "$floor" \
  --out "$out" "${smoke[@]}"
