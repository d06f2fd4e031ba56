//! Several commands under one grace (issue 10): the example image with its
//! other `CMD`, `/app/worker ::: /app/server`, which runs both apps as
//! grace's own children, each in its own process group, with no start
//! script. Stopped by `podman stop`, or ended by one app exiting, each case
//! twice as in `containers.rs`: with podman's defaults, and locked down.

use std::time::{Duration, Instant};

use crate::containers::{Mode, both_modes, check_identity, stop};
use crate::image::{self, COMMANDS, TESTAPP};
use crate::podman::{self, Container, must, skip_unless_podman};

/// grace's report line for command `n` (from 1), out of `logs`.
fn command_line(logs: &str, n: usize) -> &str {
    let key = format!(" command={n} ");
    logs.lines()
        .find(|l| l.contains("event=command") && l.contains(&key))
        .unwrap_or_else(|| panic!("no report line for command {n}:\n{logs}"))
}

/// grace's shutdown line, out of `logs`.
fn shutdown_line(logs: &str) -> &str {
    logs.lines()
        .find(|l| l.contains("event=shutdown"))
        .unwrap_or_else(|| panic!("no shutdown line:\n{logs}"))
}

/// Fails unless `line` holds each of `fields`.
fn assert_fields(line: &str, fields: &[&str]) {
    for field in fields {
        assert!(line.contains(field), "no {field} in: {line}");
    }
}

/// Waits for both apps' `ready` lines. Without `:::` support there would
/// be one: the worker would take `::: /app/server` as its arguments, and
/// the server would never start.
fn wait_for_both(c: &Container) {
    c.wait_for("ready pid=");
    c.wait_for("ready pid=");
}

/// The image's own `CMD`, `/app/worker ::: /app/server`, under `podman stop
/// -t 10`: the SIGTERM reaches both apps, and both run their handlers, the
/// worker exiting 0 and the server 143 (as the JVM does). Both ended as
/// the stop asked, so the container exits with the first command's status,
/// 0, not the server's 143; long before the 10 s, and the report in
/// `podman logs` has a line for each command.
fn two_commands_stop_together(mode: Mode) {
    skip_unless_podman!();
    image::build();
    let mut c = Container::run(&mode.name("commands-stop"), mode.opts(), COMMANDS, &[]);
    wait_for_both(&c);
    check_identity(&c, mode);
    let took = stop(&c);
    assert_eq!(c.wait(), 0, "{}", c.transcript());
    c.finish();
    assert!(took < Duration::from_secs(5), "podman stop took {took:?}");
    let logs = podman::logs(&c.name);
    assert_eq!(
        logs.matches("got SIGTERM").count(),
        2,
        "both apps must run their SIGTERM handler:\n{logs}"
    );
    assert_fields(
        command_line(&logs, 1),
        &[
            "program=/app/worker",
            "status=\"exited with 0\"",
            "ended_run=false",
            "exit_code_from=true",
        ],
    );
    assert_fields(
        command_line(&logs, 2),
        &[
            "program=/app/server",
            "status=\"exited with 143\"",
            "ended_run=false",
            "exit_code_from=false",
        ],
    );
    assert_fields(
        shutdown_line(&logs),
        &["reason=SIGTERM", "commands=2", "killed=0", "exit_code=0"],
    );
}
both_modes!(two_commands_stop_together);

/// One command ends the run, with no stop from outside: `podman kill
/// --signal USR1` reaches both apps (grace forwards it to every command),
/// the second leaves with 3 on it, and grace stops the first with SIGTERM,
/// whose handler runs. The container exits 3, the status of the command
/// that exited first, as soon as the first has stopped.
fn first_exit_ends_the_run(mode: Mode) {
    skip_unless_podman!();
    image::build();
    let mut c = Container::run(
        &mode.name("commands-exit"),
        mode.opts(),
        COMMANDS,
        &[
            TESTAPP,
            "trap",
            "TERM,USR1",
            ":::",
            TESTAPP,
            "trap",
            "TERM,USR1",
            "--exit-on",
            "USR1",
            "--code",
            "3",
        ],
    );
    wait_for_both(&c);
    let t0 = Instant::now();
    must(&["kill", "--signal", "USR1", &c.name]);
    assert_eq!(c.wait(), 3, "{}", c.transcript());
    let took = t0.elapsed();
    c.finish();
    assert!(
        took < Duration::from_secs(5),
        "the run took {took:?} to end"
    );
    let logs = podman::logs(&c.name);
    assert_eq!(
        logs.matches("got SIGUSR1").count(),
        2,
        "both apps must get SIGUSR1:\n{logs}"
    );
    assert_eq!(
        logs.matches("got SIGTERM").count(),
        1,
        "the first app, and only it, must get SIGTERM:\n{logs}"
    );
    assert_fields(
        command_line(&logs, 1),
        &[
            "status=\"exited with 0\"",
            "ended_run=false",
            "exit_code_from=false",
        ],
    );
    assert_fields(
        command_line(&logs, 2),
        &[
            "status=\"exited with 3\"",
            "ended_run=true",
            "exit_code_from=true",
        ],
    );
    assert_fields(
        shutdown_line(&logs),
        &[
            "reason=\"command 2 exited\"",
            "commands=2",
            "killed=0",
            "exit_code=3",
        ],
    );
}
both_modes!(first_exit_ends_the_run);
