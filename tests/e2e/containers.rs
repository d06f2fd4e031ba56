//! grace as PID 1 of a container, stopped, signalled and left with
//! orphans, each case twice: as root with the runtime's defaults, and
//! locked down like a hardened pod (`--user 65534:65534 --read-only
//! --cap-drop ALL`), where grace must behave exactly the same.

use std::time::Duration;

use crate::image::{self, APP, STUBBORN, TESTAPP};
use crate::podman::{self, Container, Stream, must, skip_unless_podman, timed};

/// How the container is run.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode {
    Default,
    LockedDown,
}

impl Mode {
    pub(crate) fn opts(self) -> &'static [&'static str] {
        match self {
            Mode::Default => &[],
            Mode::LockedDown => &[
                "--user",
                "65534:65534",
                "--read-only",
                "--cap-drop",
                "ALL",
                "--security-opt",
                "no-new-privileges",
            ],
        }
    }

    pub(crate) fn name(self, test: &str) -> String {
        podman::name(&format!("{test}-{self:?}").to_lowercase())
    }
}

/// One test per mode, each a plain `#[test]` so a failure names its mode.
macro_rules! both_modes {
    ($test:ident) => {
        mod $test {
            #[test]
            fn default() {
                super::$test(super::Mode::Default);
            }
            #[test]
            fn locked_down() {
                super::$test(super::Mode::LockedDown);
            }
        }
    };
}
pub(crate) use both_modes;

/// Checks the container really runs as the mode says (so the locked-down
/// runs cannot silently run as root).
pub(crate) fn check_identity(c: &Container, mode: Mode) {
    let id = must(&["exec", &c.name, "id", "-u"]);
    let caps = must(&["exec", &c.name, "grep", "^CapEff", "/proc/1/status"]);
    let write = podman::podman(&["exec", &c.name, "touch", "/grace-was-here"])
        .is_ok_and(|o| o.status.success());
    match mode {
        Mode::Default => assert_eq!(id.trim(), "0"),
        Mode::LockedDown => {
            assert_eq!(id.trim(), "65534", "not running as nobody");
            assert!(
                caps.trim().ends_with("0000000000000000"),
                "PID 1 has capabilities: {caps}"
            );
            assert!(!write, "the root file system is writable");
        }
    }
}

/// `podman stop -t 10`, as `docker stop` does it: SIGTERM, 10 s, SIGKILL.
/// Returns how long it took.
pub(crate) fn stop(c: &Container) -> Duration {
    timed(|| {
        must(&["stop", "--time", "10", &c.name]);
    })
}

/// `podman stop -t 10` on an app that handles SIGTERM: its handler runs,
/// the container exits with the app's own code (0), long before the 10 s.
fn well_behaved_app_stops_at_once(mode: Mode) {
    skip_unless_podman!();
    image::build();
    let mut c = Container::run(
        &mode.name("well-behaved"),
        mode.opts(),
        APP,
        &[TESTAPP, "trap", "TERM", "--code", "0"],
    );
    c.wait_for("ready pid=");
    check_identity(&c, mode);
    let took = stop(&c);
    assert_eq!(c.wait(), 0, "{}", c.transcript());
    c.finish();
    assert_eq!(c.count(Stream::Out, "got SIGTERM"), 1, "{}", c.transcript());
    assert!(took < Duration::from_secs(5), "podman stop took {took:?}");
    // The shutdown line is on stderr, and says nothing was killed.
    let report = c.shutdown_line();
    assert!(report.contains("killed=0"), "{report}");
    assert!(report.contains("exit_code=0"), "{report}");
}
both_modes!(well_behaved_app_stops_at_once);

/// An app that ignores SIGTERM, with `GRACE_PERIOD=2s`: grace SIGKILLs it
/// after about 2 s (not podman's 10), the container exits 137, and the log
/// says grace had to kill, and whom.
fn stubborn_app_is_killed_at_the_grace_period(mode: Mode) {
    skip_unless_podman!();
    image::build();
    let mut opts = mode.opts().to_vec();
    opts.extend(["--env", "GRACE_PERIOD=2s"]);
    let mut c = Container::run(
        &mode.name("stubborn"),
        &opts,
        APP,
        &[TESTAPP, "ignore-term"],
    );
    c.wait_for("ready pid=");
    let took = stop(&c);
    assert_eq!(c.wait(), 137, "{}", c.transcript());
    c.finish();
    assert_eq!(
        c.count(Stream::Out, "got SIGTERM"),
        1,
        "the app never saw SIGTERM:\n{}",
        c.transcript()
    );
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
        "podman stop took {took:?}, not about 2 s"
    );
    let all = podman::logs(&c.name);
    let report = all
        .lines()
        .find(|l| l.contains("event=shutdown"))
        .unwrap_or_else(|| panic!("podman logs has no shutdown line:\n{all}"));
    assert!(report.contains("SIGKILL needed"), "{report}");
    assert!(report.contains("killed=1"), "{report}");
    assert!(
        report.contains(":testapp"),
        "the log does not name the stuck process: {report}"
    );
    assert!(report.contains("exit_code=137"), "{report}");
}
both_modes!(stubborn_app_is_killed_at_the_grace_period);

/// The image's own CMD, `examples/start.sh`: a shell without `exec` that
/// backgrounds a worker and a server. `podman stop` reaches both, both run
/// their handlers, and the container exits as the shell did (143: it has no
/// handler for SIGTERM, so it died of it).
fn start_script_without_exec_stops_both_apps(mode: Mode) {
    skip_unless_podman!();
    image::build();
    let mut c = Container::run(&mode.name("start-sh"), mode.opts(), APP, &[]);
    c.wait_for("ready pid=");
    c.wait_for("ready pid=");
    let took = stop(&c);
    assert_eq!(c.wait(), 143, "{}", c.transcript());
    c.finish();
    assert_eq!(
        c.count(Stream::Out, "start.sh: starting"),
        1,
        "{}",
        c.transcript()
    );
    assert_eq!(
        c.count(Stream::Out, "got SIGTERM"),
        2,
        "both apps must get SIGTERM:\n{}",
        c.transcript()
    );
    assert!(took < Duration::from_secs(5), "podman stop took {took:?}");
    let report = c.shutdown_line();
    assert!(report.contains("killed=0"), "{report}");
}
both_modes!(start_script_without_exec_stops_both_apps);

/// `podman kill --signal USR1` (and HUP, as a config reload) reaches the
/// app and does not stop it; a later SIGTERM does.
fn podman_kill_signals_reach_the_app(mode: Mode) {
    skip_unless_podman!();
    image::build();
    let mut c = Container::run(
        &mode.name("kill-usr1"),
        mode.opts(),
        APP,
        &[TESTAPP, "trap", "USR1,HUP,TERM"],
    );
    c.wait_for("ready pid=");
    must(&["kill", "--signal", "USR1", &c.name]);
    c.wait_for("got SIGUSR1");
    must(&["kill", "--signal", "HUP", &c.name]);
    c.wait_for("got SIGHUP");
    must(&["kill", "--signal", "TERM", &c.name]);
    assert_eq!(c.wait(), 0, "{}", c.transcript());
}
both_modes!(podman_kill_signals_reach_the_app);

/// State of each process in the container, from its `/proc`: (pid, ppid, state).
pub(crate) fn processes(name: &str) -> Vec<(i32, i32, char)> {
    let out = must(&[
        "exec",
        name,
        "sh",
        "-c",
        "cat /proc/[0-9]*/stat 2>/dev/null",
    ]);
    out.lines()
        .filter_map(|l| {
            let (pid, rest) = l.split_once(" (")?;
            let (_, rest) = rest.rsplit_once(") ")?;
            let mut f = rest.split(' ');
            let state = f.next()?.chars().next()?;
            let ppid = f.next()?.parse().ok()?;
            Some((pid.parse().ok()?, ppid, state))
        })
        .collect()
}

/// For an app in `orphans 200` mode: reads the orphans' pids it prints,
/// waits (with PATIENCE as the upper bound: reaping is asynchronous to the
/// test) until none of them exists and no zombie is left, asserts that,
/// and returns the container's processes as last seen.
pub(crate) fn orphans_reaped(c: &mut Container) -> Vec<(i32, i32, char)> {
    let leaves: Vec<i32> = c
        .wait_for("leaves ")
        .trim_start_matches("leaves ")
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(leaves.len(), 200);
    c.wait_for("ready pid=");
    let until = std::time::Instant::now() + podman::PATIENCE;
    let procs = loop {
        let procs = processes(&c.name);
        let gone = !procs
            .iter()
            .any(|(pid, _, st)| *st == 'Z' || leaves.contains(pid));
        if gone || std::time::Instant::now() > until {
            break procs;
        }
    };
    let zombies: Vec<_> = procs.iter().filter(|p| p.2 == 'Z').collect();
    assert!(zombies.is_empty(), "zombies left: {zombies:?}");
    let left: Vec<_> = procs.iter().filter(|p| leaves.contains(&p.0)).collect();
    assert!(left.is_empty(), "orphans still there: {left:?}");
    procs
}

/// An app that leaves 200 orphans (double fork): they are re-parented to
/// grace, PID 1, which reaps every one: no zombie is left and none of
/// their pids exists any more.
fn orphans_are_reaped(mode: Mode) {
    skip_unless_podman!();
    image::build();
    let mut c = Container::run(
        &mode.name("orphans"),
        mode.opts(),
        APP,
        &[TESTAPP, "orphans", "200"],
    );
    let procs = orphans_reaped(&mut c);
    // grace is PID 1 and the app its child.
    assert!(
        procs.iter().any(|(pid, ppid, _)| *pid == 1 && *ppid == 0),
        "{procs:?}"
    );
    stop(&c);
    assert_eq!(c.wait(), 143, "{}", c.transcript());
}
both_modes!(orphans_are_reaped);

/// The stubborn image exists for the Kubernetes test; check here that its
/// server really ignores SIGTERM, so that test proves the manifest.
#[test]
fn stubborn_image_server_ignores_sigterm() {
    skip_unless_podman!();
    image::build();
    let name = podman::name("stubborn-image");
    let mut c = Container::run(
        &name,
        &["--env", "GRACE_PERIOD=1s"],
        STUBBORN,
        &["/app/server"],
    );
    c.wait_for("ready pid=");
    must(&["kill", "--signal", "TERM", &c.name]);
    assert_eq!(c.wait(), 137, "{}", c.transcript());
}
