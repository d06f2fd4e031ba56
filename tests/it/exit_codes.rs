//! grace exits with the child's status, 128+N for a death by signal N, and
//! its own documented codes (125, 126, 127) for its own failures.

use std::os::unix::fs::PermissionsExt as _;

use crate::common::{Init, MODES, TempDir, grace_command, skip_unless_mode};

#[test]
fn exit_codes_pass_through() {
    for mode in MODES {
        skip_unless_mode!(mode);
        for code in [0, 3, 255] {
            let mut run = Init::new(mode).app(&["exit", &code.to_string()]).spawn();
            assert_eq!(run.wait(), code, "{mode:?}");
            assert_eq!(run.stderr(), "", "quiet when nothing happened ({mode:?})");
        }
    }
}

#[test]
fn death_by_signal_is_128_plus_n() {
    for mode in MODES {
        skip_unless_mode!(mode);
        for (sig, code) in [("TERM", 143), ("KILL", 137), ("INT", 130), ("USR1", 138)] {
            let mut run = Init::new(mode).app(&["kill-self", sig]).spawn();
            assert_eq!(run.wait(), code, "{sig} {mode:?}");
        }
    }
}

#[test]
fn command_not_found_is_127() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = Init::new(mode)
            .command(["no-such-command-anywhere"])
            .spawn();
        assert_eq!(run.wait(), 127);
        let err = run.stderr();
        assert!(
            err.contains("no-such-command-anywhere") && err.contains("No such file"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn command_not_executable_is_126() {
    let dir = TempDir::new("noexec");
    let file = dir.file("script");
    std::fs::write(&file, "#!/bin/sh\nexit 0\n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let bad_format = dir.file("garbage");
    std::fs::write(&bad_format, [0x7f, b'E', b'L', b'F', 0, 1, 2, 3]).expect("write");
    std::fs::set_permissions(&bad_format, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for target in [
        file.as_str(),
        dir.path().to_str().expect("utf-8"),
        bad_format.as_str(),
    ] {
        let mut run = Init::new(crate::common::Mode::Child)
            .command([target])
            .spawn();
        assert_eq!(run.wait(), 126, "{target}");
        let err = run.stderr();
        assert!(
            err.contains("failed to spawn") && err.contains(target),
            "{err}"
        );
    }
}

#[test]
fn usage_errors_are_125_with_one_line() {
    for (args, needle) in [
        (&["--no-such-flag", "--", "true"][..], "--no-such-flag"),
        (&["--grace-period", "banana", "true"], "banana"),
        (
            &["--stop-delay", "9s", "--grace-period", "8s", "true"],
            "--stop-delay",
        ),
        (&[], "COMMAND"),
        (&["--forward-to", "everyone", "true"], "everyone"),
        (&["--map-signal", "TERM:SIGNOPE", "true"], "SIGNOPE"),
    ] {
        let out = grace_command().args(args).output().expect("run grace");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("grace: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "stdout belongs to the app");
    }
}

#[test]
fn environment_values_are_validated_too() {
    let out = grace_command()
        .env("GRACE_PERIOD", "soon")
        .arg("true")
        .output()
        .expect("run grace");
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("soon"));
}
