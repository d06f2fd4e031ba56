#!/usr/bin/env bash
# What a user gets: `cargo install --path .` installs grace and nothing else
# (the tests' fake app is a project of its own), and the package `cargo
# package` would publish builds on its own and holds what building grace
# needs, no tests, benchmarks or CI (Cargo.toml's `include`).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "cargo install --path . (into a temporary root):"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# The static target and the shared target directory: the release build
# tests/static-build.sh made is reused, so this costs seconds. What is
# installed does not depend on the target.
cargo install --locked --quiet --path . --root "$root" \
  --target x86_64-unknown-linux-musl --target-dir target
installed=$(cd "$root/bin" && ls -A)
echo "  bin/: $installed"
[[ $installed == grace ]] || fail "cargo install installed '$installed', not grace alone"
"$root/bin/grace" --version

echo "cargo package --list:"
# --allow-dirty: this checks the contents, it publishes nothing.
list=$(cargo package --locked --allow-dirty --list 2>/dev/null)
sed 's/^/  /' <<<"$list"
for need in Cargo.toml Cargo.lock build.rs README.md LICENSE src/main.rs; do
  grep -qx "$need" <<<"$list" || fail "the package lacks $need"
done
extra=$(grep -Evx 'Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|\.cargo_vcs_info\.json|build\.rs|README\.md|LICENSE|src/[a-z_/]+\.rs' <<<"$list" || true)
[[ -z $extra ]] || fail "the package holds files a user does not need: $extra"

echo "cargo package (builds the packaged crate on its own):"
cargo package --locked --allow-dirty --quiet
