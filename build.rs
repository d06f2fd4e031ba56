//! Passes the target triple to the build, for `grace --version`
//! (`grace 0.1.0 (x86_64-unknown-linux-musl)`): which of the release
//! binaries a file is, from the file itself.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown target".to_owned());
    println!("cargo::rustc-env=GRACE_TARGET={target}");
}
