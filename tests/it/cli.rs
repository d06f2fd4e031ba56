//! The command line: help, version, pass-through of the child's arguments.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

use crate::common::{Init, Mode, grace_command};

#[test]
fn help_shows_an_entrypoint_example_and_exits_0() {
    let out = grace_command().arg("--help").output().expect("run grace");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "ENTRYPOINT [\"/grace\", \"--\"]",
        "--grace-period",
        "GRACE_PERIOD",
        "--stop-delay",
        "137",
    ] {
        assert!(text.contains(needle), "help lacks {needle}:\n{text}");
    }
}

/// `grace 0.1.0 (x86_64-unknown-linux-musl)`: which release file this is.
#[test]
fn version_names_the_target_and_exits_0() {
    let out = grace_command()
        .arg("--version")
        .output()
        .expect("run grace");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let target = text
        .strip_prefix(concat!("grace ", env!("CARGO_PKG_VERSION"), " ("))
        .and_then(|t| t.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("not `grace VERSION (TARGET)`: {text:?}"));
    assert!(target.contains("-linux-"), "{text:?}");
    if std::env::var_os("GRACE_TEST_BIN").is_none() {
        // The grace cargo built for these tests, for the same target.
        assert_eq!(target, env!("GRACE_TARGET"));
    }
}

#[test]
fn child_flags_pass_through_untouched() {
    // Without `--`: everything from COMMAND on is the child's.
    let out = grace_command()
        .args(["sh", "-c", "echo $1", "sh", "-v"])
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "-v\n");
    let out = grace_command()
        .args(["-q", "--", "sh", "-c", "echo $1", "sh", "--help"])
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "--help\n");
}

#[test]
fn non_utf8_arguments_pass_through() {
    let bytes = OsStr::from_bytes(b"caf\xe9");
    let out = grace_command()
        .args([
            OsStr::new("sh"),
            OsStr::new("-c"),
            OsStr::new("printf %s \"$1\""),
            OsStr::new("sh"),
            bytes,
        ])
        .output()
        .expect("run");
    assert_eq!(out.stdout, b"caf\xe9");
}

#[test]
fn the_environment_reaches_the_child() {
    let mut run = Init::new(Mode::Child)
        .env("APP_SETTING", "x y")
        .sh("echo \"setting=$APP_SETTING\"")
        .spawn();
    run.wait_for_line("setting=x y");
    assert_eq!(run.wait(), 0);
}
