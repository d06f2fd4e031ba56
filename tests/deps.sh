#!/usr/bin/env bash
# Installs what grace's tests, end-to-end tests and benchmarks need on a
# Debian 12 machine, and nothing that is already there. Idempotent; needs
# root (or sudo) only when something is missing.
set -euo pipefail

# qemu-user-static: the arm64 build's tests run under qemu-aarch64-static.
packages=(util-linux procps file podman runc busybox-static catatonit tini dumb-init hyperfine qemu-user-static)
# dpkg-query is quiet and fast; apt-get only runs for what is missing.
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Both shipped targets: pure-Rust crates need no musl-gcc, and rust-lld links
# the arm64 one (.cargo/config.toml).
installed=$(rustup target list --installed)
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  if ! grep -qx "$target" <<<"$installed"; then
    echo "deps: adding the $target target"
    rustup target add "$target"
  fi
done
