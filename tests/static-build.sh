#!/usr/bin/env bash
# Builds the shipped binary and enforces its promises: fully static, and no
# larger than tini-static (708,080 bytes), the smallest peer with the same job.
set -euo pipefail
cd "$(dirname "$0")/.."

budget=708080
# --bins: the fake app too, static, for the end-to-end images.
cargo build --locked --release --target x86_64-unknown-linux-musl --bins
bin=target/x86_64-unknown-linux-musl/release/grace
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
