//! grace without changing the image: podman's own `--init`, with
//! `--init-path` naming the static grace, or containers.conf's `init_path`
//! (the harness's names it). podman mounts that file at `/run/podman-init`
//! and runs `/run/podman-init -- CMD` as PID 1, so an image that knows
//! nothing of grace (`image::PLAIN`: no grace, no ENTRYPOINT) gets it,
//! configured by `--env GRACE_*`. Docker's `--init`
//! with daemon.json's `"init-path"` does the same (its engine does not run
//! on these machines). Also: the `grace` image, the one file other
//! Dockerfiles copy it from.

use std::path::PathBuf;
use std::time::Duration;

use crate::containers::{orphans_reaped, stop};
use crate::image::{self, GRACE, PLAIN, TESTAPP};
use crate::podman::{self, Container, Stream, must, skip_unless_podman};

/// The static grace the tests were given.
fn grace_bin() -> PathBuf {
    std::env::var_os("GRACE_STATIC_BIN")
        .map_or_else(|| panic!("GRACE_STATIC_BIN is not set"), PathBuf::from)
}

/// Where podman is told which init to run.
#[derive(Clone, Copy)]
enum InitPath {
    /// `--init-path GRACE` on the command line.
    Flag,
    /// `init_path = "GRACE"` in containers.conf (podman.rs writes it).
    Conf,
}

/// `podman run --init [--init-path GRACE] --env ENV... PLAIN ARGS...`.
fn run_with_init(test: &str, path: InitPath, env: &[&str], args: &[&str]) -> Container {
    let mut opts = vec!["--init".to_owned()];
    if let InitPath::Flag = path {
        opts.extend([
            "--init-path".to_owned(),
            grace_bin().to_string_lossy().into_owned(),
        ]);
    }
    for e in env {
        opts.extend(["--env".to_owned(), (*e).to_owned()]);
    }
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    Container::run(&podman::name(test), &opts, PLAIN, args)
}

/// PID 1 is podman's init, `/run/podman-init -- CMD`, and that is grace.
fn check_grace_is_pid1(c: &Container) {
    let cmdline = must(&["exec", &c.name, "cat", "/proc/1/cmdline"]);
    let words: Vec<&str> = cmdline.split('\0').collect();
    assert_eq!(
        words.get(..3),
        Some(&["/run/podman-init", "--", TESTAPP][..]),
        "PID 1 is not podman's init in front of the app: {words:?}"
    );
    let version = must(&["exec", &c.name, "/run/podman-init", "--version"]);
    assert!(
        version.starts_with("grace "),
        "/run/podman-init is not grace: {version}"
    );
}

/// `podman stop -t 10`: grace, as podman's init, forwards SIGTERM, the
/// app's handler runs, the container exits with the app's code (0) long
/// before the 10 s, and grace's shutdown line is in the output.
#[test]
fn init_path_stop_runs_the_apps_handler() {
    skip_unless_podman!();
    image::build();
    let mut c = run_with_init(
        "init-stop",
        InitPath::Flag,
        &[],
        &[TESTAPP, "trap", "TERM", "--code", "0"],
    );
    c.wait_for("ready pid=");
    check_grace_is_pid1(&c);
    let took = stop(&c);
    assert_eq!(c.wait(), 0, "{}", c.transcript());
    c.finish();
    assert_eq!(c.count(Stream::Out, "got SIGTERM"), 1, "{}", c.transcript());
    assert!(took < Duration::from_secs(5), "podman stop took {took:?}");
    let report = c.shutdown_line();
    assert!(report.contains("killed=0"), "{report}");
    assert!(report.contains("exit_code=0"), "{report}");
}

/// An app that ignores SIGTERM, with `--env GRACE_PERIOD=2s` and grace as
/// containers.conf's `init_path`: grace
/// SIGKILLs it after about 2 s (not podman's 10), exits 137, and its log
/// names the process it had to kill.
#[test]
fn init_path_stubborn_app_is_killed_at_the_grace_period() {
    skip_unless_podman!();
    image::build();
    let mut c = run_with_init(
        "init-stubborn",
        InitPath::Conf,
        &["GRACE_PERIOD=2s"],
        &[TESTAPP, "ignore-term"],
    );
    c.wait_for("ready pid=");
    let took = stop(&c);
    assert_eq!(c.wait(), 137, "{}", c.transcript());
    c.finish();
    assert_eq!(c.count(Stream::Out, "got SIGTERM"), 1, "{}", c.transcript());
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
        "podman stop took {took:?}, not about 2 s"
    );
    let report = c.shutdown_line();
    assert!(report.contains("SIGKILL needed"), "{report}");
    assert!(report.contains("killed=1"), "{report}");
    assert!(report.contains(":testapp"), "{report}");
    assert!(report.contains("exit_code=137"), "{report}");
}

/// An app that leaves 200 orphans: grace, PID 1 as containers.conf's init, reaps
/// every one; no zombie is left and none of their pids exists any more.
#[test]
fn init_path_orphans_are_reaped() {
    skip_unless_podman!();
    image::build();
    let mut c = run_with_init(
        "init-orphans",
        InitPath::Conf,
        &[],
        &[TESTAPP, "orphans", "200"],
    );
    orphans_reaped(&mut c);
    check_grace_is_pid1(&c);
    stop(&c);
    assert_eq!(c.wait(), 143, "{}", c.transcript());
}

/// The example's `grace` stage is an image of one file, `/grace`, the
/// static binary itself, which runs there with nothing else around it.
#[test]
fn grace_image_holds_grace_alone() {
    skip_unless_podman!();
    image::build();
    let root = PathBuf::from(must(&["image", "mount", GRACE]).trim());
    let entries: Result<Vec<String>, _> = std::fs::read_dir(&root).and_then(|dir| {
        dir.map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    });
    let file = std::fs::read(root.join("grace"));
    let _ = podman::podman(&["image", "unmount", GRACE]);
    assert_eq!(entries.expect("list the image"), ["grace"]);
    let built = std::fs::read(grace_bin()).expect("read GRACE_STATIC_BIN");
    assert!(
        file.expect("read /grace") == built,
        "/grace is not the static grace"
    );
    let name = podman::name("grace-image");
    let out = must(&[
        "run",
        "--rm",
        "--name",
        &name,
        "--network",
        "none",
        GRACE,
        "/grace",
        "--version",
    ]);
    assert!(out.starts_with("grace "), "{out}");
}
