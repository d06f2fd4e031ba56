#!/usr/bin/env bash
# Builds the shipped binaries, x86_64 and arm64, and enforces their promises:
# fully static, and no larger than tini-static (708,080 bytes), the smallest
# peer with the same job.
set -euo pipefail
cd "$(dirname "$0")/.."

budget=708080
cargo build --locked --release --target x86_64-unknown-linux-musl --bin grace
# The fake app too (a project of its own, tests/testapp), static, for the
# end-to-end images; into the same target directory.
cargo build --locked --release --target x86_64-unknown-linux-musl \
  --manifest-path tests/testapp/Cargo.toml --target-dir target
# arm64: grace only (its tests run the x86_64 fake app natively, tests/run.sh).
cargo build --locked --release --target aarch64-unknown-linux-musl --bin grace

for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  bin=target/$target/release/grace
  kind=$(file -b "$bin")
  echo "$bin: $kind"
  case "$kind" in
    *"statically linked"* | *"static-pie linked"*) ;;
    *) echo "FAIL: $bin is not statically linked" >&2; exit 1 ;;
  esac
  size=$(stat -c %s "$bin")
  echo "size: $size bytes (budget $budget, tini-static's size)"
  if ((size > budget)); then
    echo "FAIL: $bin is $size bytes, over the $budget-byte budget" >&2
    exit 1
  fi
done
