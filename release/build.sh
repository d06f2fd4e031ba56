#!/usr/bin/env bash
# Builds the release files: grace as a static binary for x86_64 and arm64,
# into dist/, with a SHA256SUMS file:
#
#   bash release/build.sh
#   cd dist && sha256sum -c SHA256SUMS
#
# The build is reproducible: the same sources and toolchain give the same
# bytes in any directory, for any user (release/check-reproducible.sh
# proves it with two clean checkouts). What would vary is remapped: the
# source directory, cargo's registry and the target directory appear in
# panic locations, so they are rewritten to fixed names. Nothing embeds a
# time; SOURCE_DATE_EPOCH is set to the commit's time (0 outside a git
# checkout) for any tool that would.
set -euo pipefail
cd "$(dirname "$0")/.."

src=$PWD
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# A target directory of its own: the remapping flags differ from a plain
# `cargo build`, and sharing target/ would rebuild each in turn.
target_dir=${CARGO_TARGET_DIR:-$src/target}/release-files
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)

SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH

for path in "$src" "$cargo_home" "$target_dir"; do
  [[ $path != *[\"\\=]* ]] || { echo "release: cannot remap a path with \", \\ or =: $path" >&2; exit 1; }
done
# Longest prefixes last: rustc applies the last remapping that matches.
remap="\"--remap-path-prefix=$cargo_home=/cargo\", \"--remap-path-prefix=$src=/grace\", \"--remap-path-prefix=$target_dir=/target\""

rm -rf dist
mkdir -p dist
for target in "${targets[@]}"; do
  # --config adds to the target's rustflags in .cargo/config.toml (static,
  # non-PIE): cargo joins the arrays.
  cargo build --locked --release --quiet --target "$target" --bin grace \
    --target-dir "$target_dir" \
    --config "target.$target.rustflags = [$remap]"
  cp "$target_dir/$target/release/grace" "dist/grace-$version-$target"
done
(cd dist && sha256sum -- grace-* > SHA256SUMS)
echo "release files in dist/:"
(cd dist && ls -l grace-* | awk '{print "  " $5 " bytes  " $9}' && sed 's/^/  /' SHA256SUMS)
