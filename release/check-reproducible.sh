#!/usr/bin/env bash
# Checks that the release build is reproducible: two clean checkouts of the
# sources, in directories of different names and depths, each with its own
# fresh target directory and the second with a cargo home of its own (a
# copy of the registry's index and downloaded crates: no network), run
# release/build.sh; their release files must be identical, byte for byte.
# About a minute here (four release builds from nothing); tests/run.sh runs it.
#
# A checkout is `git archive` of the work tree as git would commit it (a
# throw-away index: tracked and untracked files, not what .gitignore
# names), so it has no target/, dist/ or anything else a build left behind.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$(git rev-parse --git-path index)" "$tmp/index"
GIT_INDEX_FILE=$tmp/index git add --all
tree=$(GIT_INDEX_FILE=$tmp/index git write-tree)
a=$tmp/a/grace
b=$tmp/b/somewhere/deeper/grace-checkout
cargo_home=${CARGO_HOME:-$HOME/.cargo}
other_home=$tmp/b/cargo-home
for dir in "$a" "$b"; do
  mkdir -p "$dir"
  git archive "$tree" | tar -x -C "$dir"
  home=$cargo_home
  if [[ $dir == "$b" ]]; then
    # After the first build, so that every crate it needed is downloaded.
    home=$other_home
    mkdir -p "$home/registry"
    cp -R "$cargo_home/registry/index" "$cargo_home/registry/cache" "$home/registry/"
  fi
  echo "building in $dir (CARGO_HOME=$home)"
  # Each in its own target directory (the default, inside the checkout).
  (cd "$dir" && env -u CARGO_TARGET_DIR CARGO_HOME="$home" bash release/build.sh >/dev/null)
done

if ! diff -u "$a/dist/SHA256SUMS" "$b/dist/SHA256SUMS"; then
  for f in "$a"/dist/grace-*; do
    cmp "$f" "$b/dist/${f##*/}" || true
  done
  echo "FAIL: the release build is not reproducible (sums above differ)" >&2
  exit 1
fi
cmp -s <(cd "$a/dist" && cat grace-*) <(cd "$b/dist" && cat grace-*)
echo "reproducible: two clean checkouts built identical release files:"
sed 's/^/  /' "$a/dist/SHA256SUMS"
