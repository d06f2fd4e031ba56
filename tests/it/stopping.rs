//! The stop sequence: forwarding the stop signal, SIGKILL at the deadline,
//! the drain after the main child exits, the stop delay, signal mapping,
//! exit-code rewriting, parent death and the shutdown report.

use std::io::Write as _;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::common::{
    Init, MODES, Mode, Running, SOON, TempDir, alive, eventually, grace_sh, marker, pid_of, qemu,
    skip_child_mode_if_emulated, skip_if_emulated, skip_unless_mode, testapp, unix_ms,
};

/// grace, with a 1 s grace period, over an app that ignores TERM, once the
/// app is ready.
fn stubborn(mode: Mode) -> Running {
    let mut run = Init::new(mode)
        .args(["--grace-period", "1s"])
        .app(&["ignore-term"])
        .spawn();
    run.wait_for_line("ready");
    run
}

#[test]
fn stubborn_app_is_killed_at_the_deadline() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = stubborn(mode);
        let t0 = Instant::now();
        run.signal(Signal::SIGTERM);
        run.wait_for_line("got SIGTERM");
        assert_eq!(run.wait(), 137, "{mode:?}");
        let took = t0.elapsed();
        // Upper bound generous for a loaded 2-core CI machine.
        assert!(
            took >= Duration::from_millis(950) && took < Duration::from_secs(4),
            "{took:?}"
        );
        let err = run.stderr();
        assert!(err.contains("SIGKILL needed for 1 process"), "{err}");
    }
}

#[test]
fn a_repeated_stop_signal_is_forwarded_and_keeps_the_deadline() {
    let mut run = Init::new(Mode::Child)
        .args(["--grace-period", "2s"])
        .app(&["ignore-term"])
        .spawn();
    run.wait_for_line("ready");
    let t0 = Instant::now();
    run.signal(Signal::SIGTERM);
    run.wait_for_line("got SIGTERM");
    // Not a synchronisation: the second TERM must come late in the period,
    // so that a deadline restarted by it (t0 + 3.5 s) would show.
    std::thread::sleep(Duration::from_millis(1500));
    run.signal(Signal::SIGTERM);
    run.wait_for_line("got SIGTERM");
    assert_eq!(run.wait(), 137);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1950) && took < Duration::from_millis(3300),
        "{took:?}"
    );
}

#[test]
fn shell_without_exec_stops_both_background_apps() {
    // The motivating case: /start.sh runs two apps without exec and waits.
    for mode in MODES {
        skip_unless_mode!(mode);
        let dir = TempDir::new("startsh");
        let (m1, m2) = (dir.file("app1"), dir.file("app2"));
        let script = format!("$T trap TERM --marker {m1} & $T trap TERM --marker {m2} & wait");
        let mut run = Init::new(mode).sh(&script).spawn();
        run.wait_for_lines("ready", 2);
        run.signal(Signal::SIGTERM);
        let code = run.wait();
        assert_eq!(code, 143, "sh itself died of TERM ({mode:?})");
        for m in [&m1, &m2] {
            let lines = marker(m);
            assert!(
                lines.len() == 1 && lines[0].starts_with("SIGTERM"),
                "{m}: {lines:?}"
            );
        }
    }
}

#[test]
fn main_exit_drains_the_group_and_keeps_its_code() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let dir = TempDir::new("drain");
        let m = dir.file("m");
        let mut run = Init::new(mode)
            .app(&["run-then", "5", "trap", "TERM", "--marker", &m])
            .spawn();
        let member = pid_of(&run.wait_for_line("ready"));
        run.write_stdin("go");
        assert_eq!(run.wait(), 5, "the main child's code ({mode:?})");
        let lines = marker(&m);
        assert!(
            lines.len() == 1 && lines[0].starts_with("SIGTERM"),
            "{lines:?}"
        );
        if mode == Mode::Child {
            assert!(!alive(member), "nothing of the group outlives grace");
        }
        assert!(
            run.stderr().contains("main child exited"),
            "{}",
            run.stderr()
        );
    }
}

#[test]
fn drain_never_waits_longer_than_the_grace_period() {
    skip_if_emulated!(qemu::NO_SUBREAPER);
    let mut run = Init::new(Mode::Child)
        .args(["--grace-period", "1s"])
        .app(&["run-then", "4", "ignore-term"])
        .spawn();
    let member = pid_of(&run.wait_for_line("ready"));
    let t0 = Instant::now();
    run.write_stdin("go");
    assert_eq!(run.wait(), 4);
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    assert!(!alive(member), "SIGKILLed at the drain's deadline");
    assert!(
        run.stderr().contains("SIGKILL needed for 1 process"),
        "{}",
        run.stderr()
    );
}

#[test]
fn stop_delay_keeps_the_app_serving() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let dir = TempDir::new("delay");
        let m = dir.file("m");
        let mut run = Init::new(mode)
            .env("GRACE_STOP_DELAY", "1s")
            .env("GRACE_PERIOD", "5s")
            .app(&["trap", "TERM,USR1", "--marker", &m])
            .spawn();
        run.wait_for_line("ready");
        let sent = unix_ms();
        run.signal(Signal::SIGTERM);
        // Other signals still flow during the delay.
        run.signal(Signal::SIGUSR1);
        run.wait_for_line("got SIGUSR1");
        run.wait_for_line("got SIGTERM");
        assert_eq!(run.wait(), 0);
        let lines = marker(&m);
        let term = lines
            .iter()
            .find(|l| l.starts_with("SIGTERM"))
            .expect("TERM arrived");
        let at: u128 = term
            .rsplit(' ')
            .next()
            .and_then(|t| t.parse().ok())
            .expect("time");
        assert!(
            at >= sent + 1000,
            "TERM arrived {} ms after the stop",
            at - sent
        );
        assert!(
            at < sent + 4000,
            "TERM arrived {} ms after the stop",
            at - sent
        );
    }
}

#[test]
fn a_second_stop_signal_ends_the_delay() {
    let mut run = Init::new(Mode::Child)
        .args(["--stop-delay", "20s", "--grace-period", "30s"])
        .app(&["trap", "TERM,INT", "--exit-on", "INT"])
        .spawn();
    run.wait_for_line("ready");
    let t0 = Instant::now();
    run.signal(Signal::SIGTERM);
    // Signals sent together may be read in any order: let the first one in.
    run.wait_for_stderr("stop delay");
    run.signal(Signal::SIGINT);
    run.wait_for_line("got SIGINT");
    assert_eq!(run.wait(), 0);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[test]
fn main_exit_during_the_delay_ends_it() {
    skip_if_emulated!(qemu::NO_SUBREAPER);
    let mut run = Init::new(Mode::Child)
        .args(["--stop-delay", "20s", "--grace-period", "30s"])
        .app(&["run-then", "0", "sleep"])
        .spawn();
    run.wait_for_line("ready");
    let t0 = Instant::now();
    run.signal(Signal::SIGTERM);
    run.write_stdin("go");
    assert_eq!(run.wait(), 0);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[test]
fn term_mapped_to_quit() {
    for mode in MODES {
        skip_unless_mode!(mode);
        for args in [
            &["--map-signal", "TERM:QUIT"][..],
            &["--stop-signal", "quit"],
        ] {
            let mut run = Init::new(mode)
                .args(args)
                .app(&["trap", "TERM,QUIT", "--exit-on", "QUIT"])
                .spawn();
            run.wait_for_line("ready");
            run.signal(Signal::SIGTERM);
            run.wait_for_line("got SIGQUIT");
            assert_eq!(run.wait(), 0);
            assert_eq!(run.saw("got SIGTERM"), 0, "{args:?}");
        }
    }
}

#[test]
fn a_dropped_signal_never_arrives() {
    let mut run = Init::new(Mode::Child)
        .env("GRACE_MAP_SIGNAL", "USR1:none,HUP:USR2")
        .app(&["trap", "USR1,USR2,TERM"])
        .spawn();
    run.wait_for_line("ready");
    run.signal(Signal::SIGUSR1);
    run.signal(Signal::SIGHUP);
    run.wait_for_line("got SIGUSR2");
    run.signal(Signal::SIGTERM);
    assert_eq!(run.wait(), 0);
    assert_eq!(run.saw("got SIGUSR1"), 0);
}

#[test]
fn clean_stop_exits_zero_but_a_crash_keeps_its_code() {
    for mode in MODES {
        skip_unless_mode!(mode);
        // A JVM-style app: exits 143 on TERM.
        let mut run = Init::new(mode)
            .args(["--clean-stop-exit-zero"])
            .app(&["trap", "TERM", "--code", "143"])
            .spawn();
        run.wait_for_line("ready");
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 0, "clean stop ({mode:?})");
        // The same 143 with no stop under way is a crash.
        let mut run = Init::new(mode)
            .args(["--clean-stop-exit-zero"])
            .app(&["exit", "143"])
            .spawn();
        assert_eq!(run.wait(), 143, "crash ({mode:?})");
        // A SIGKILL after the grace period stays 137.
        let mut run = Init::new(mode)
            .env("GRACE_CLEAN_STOP_EXIT_ZERO", "true")
            .args(["--grace-period", "500ms"])
            .app(&["ignore-term"])
            .spawn();
        run.wait_for_line("ready");
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 137);
    }
}

#[test]
fn exit_code_map_applies_last() {
    let mut run = Init::new(Mode::Child)
        .args(["--exit-code-map", "3:0", "--exit-code-map", "4:9"])
        .app(&["exit", "3"])
        .spawn();
    assert_eq!(run.wait(), 0);
    let mut run = Init::new(Mode::Child)
        .env("GRACE_EXIT_CODE_MAP", "3:0,4:9")
        .app(&["exit", "4"])
        .spawn();
    assert_eq!(run.wait(), 9);
}

#[test]
fn json_report_is_one_parseable_object() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let mut run = Init::new(mode)
            .args(["--log-format", "json", "--grace-period", "1s"])
            .sh("$T ignore-term & $T trap TERM & wait")
            .spawn();
        run.wait_for_lines("ready", 2);
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 143);
        let err = run.stderr();
        let objects: Vec<serde_json::Value> = err
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let report: Vec<_> = objects
            .iter()
            .filter(|o| o["event"] == "shutdown")
            .collect();
        assert_eq!(report.len(), 1, "{err}");
        let r = report[0];
        assert_eq!(r["logger"], "grace");
        assert_eq!(r["reason"], "SIGTERM");
        assert_eq!(r["forwarded"], "SIGTERM");
        assert_eq!(r["told"], 3, "sh and two apps: {r}");
        assert_eq!(r["killed"], 1, "{r}");
        assert!(
            r["killed_pids"]
                .as_str()
                .is_some_and(|s| s.contains("testapp")),
            "{r}"
        );
        assert_eq!(r["exit_code"], 143);
        assert_eq!(r["main_status"], "killed by SIGTERM");
        assert!(
            r["stop_to_exit_ms"].as_u64().is_some_and(|ms| ms >= 900),
            "{r}"
        );
    }
}

#[test]
fn parent_death_runs_the_stop() {
    let dir = TempDir::new("pdeath");
    let m = dir.file("m");
    let pidfile = dir.file("grace.pid");
    // sh starts grace in the background and waits; the test kills sh.
    let (grace, t) = (grace_sh(), testapp());
    let script = format!(
        "{grace} --parent-death-stop -- {t} trap TERM --marker {m} & echo $! > {pidfile}; wait"
    );
    let mut run = Init::new(Mode::Child)
        .command(["sh", "-c", &script])
        .spawn_raw();
    run.wait_for_line("ready");
    let grace = pid_file(&pidfile);
    nix::sys::signal::kill(run.outer_pid(), Signal::SIGKILL).expect("kill the parent");
    eventually(Duration::from_secs(10), "the app got TERM", || {
        !marker(&m).is_empty()
    });
    assert!(marker(&m)[0].starts_with("SIGTERM"));
    eventually(Duration::from_secs(10), "grace exited", || !alive(grace));
    run.wait_for_stderr("reason=\"parent died\"");
}

/// Without `--parent-death-stop`, the parent's death changes nothing: the
/// app keeps running (no TERM reaches it before the real-time signal sent
/// after the death), and a later TERM is a plain stop, reported as such.
#[test]
fn without_the_flag_parent_death_stops_nothing() {
    let dir = TempDir::new("no-pdeath");
    let m = dir.file("m");
    let pidfile = dir.file("grace.pid");
    let (grace, t) = (grace_sh(), testapp());
    let script = format!(
        "{grace} -- {t} trap TERM,40 --exit-on TERM --marker {m} & echo $! > {pidfile}; wait"
    );
    let mut run = Init::new(Mode::Child)
        .command(["sh", "-c", &script])
        .spawn_raw();
    run.wait_for_line("ready");
    let grace = pid_file(&pidfile);
    // grace outlives its parent here, out of the harness's reach: however
    // the test ends, grace is told to stop (and stops the app).
    let mut guard = StopOnDrop(Some(grace));
    let parent = run.outer_pid();
    nix::sys::signal::kill(parent, Signal::SIGKILL).expect("kill the parent");
    eventually(Duration::from_secs(10), "grace was re-parented", || {
        crate::common::proc_info(grace).is_some_and(|p| p.ppid != parent.as_raw())
    });
    // Real-time signals are taken after every pending standard one: a TERM
    // raised by the parent's death would reach the app first. (40, not 35:
    // qemu-user moves the first real-time signals by two.)
    crate::common::send_raw(grace, 40);
    eventually(Duration::from_secs(10), "the app got signal 40", || {
        !marker(&m).is_empty()
    });
    assert!(marker(&m)[0].starts_with("SIG40"), "{:?}", marker(&m));
    nix::sys::signal::kill(grace, Signal::SIGTERM).expect("TERM to grace");
    eventually(Duration::from_secs(10), "grace exited", || !alive(grace));
    guard.0 = None;
    run.wait_for_stderr("event=shutdown");
    let stderr = run.stderr();
    assert!(stderr.contains("reason=SIGTERM"), "{stderr}");
    assert!(!stderr.contains("parent died"), "{stderr}");
}

/// Sends SIGTERM to a grace the harness cannot reach if the test fails
/// before it has seen grace exit (after that, the pid may be anyone's).
struct StopOnDrop(Option<nix::unistd::Pid>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
        }
    }
}

/// The pid a script wrote to `path` (`echo $! > path`), once it is there:
/// the app may say it is ready before the shell gets to write it.
fn pid_file(path: &str) -> nix::unistd::Pid {
    let mut pid = None;
    eventually(Duration::from_secs(10), "the pid file", || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        pid.is_some()
    });
    nix::unistd::Pid::from_raw(pid.unwrap_or_default())
}

/// A process that appears after the stop read the tree (the app starts a
/// daemon in its TERM handler) is told at the drain, when the main child
/// exits: once, and long before the deadline.
#[test]
fn what_the_stop_could_not_reach_is_told_at_the_drain() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let dir = TempDir::new("untold");
        let m = dir.file("m");
        // The handler waits for a line, sent once grace has logged the stop
        // (after its scan), then starts the daemon, and exits on a second
        // line, sent once the daemon is ready.
        let script = format!(
            "trap 'read x; setsid $T trap TERM --marker {m} & read y; exit 0' TERM; \
             echo ready; while :; do sleep 0.05; done"
        );
        let mut run = Init::new(mode)
            .args(["--grace-period", "60s"])
            .sh(&script)
            .spawn();
        run.wait_for_line("ready");
        let t0 = Instant::now();
        run.signal(Signal::SIGTERM);
        run.wait_for_stderr("stopping");
        run.write_stdin("go");
        run.wait_for_line("ready pid=");
        run.write_stdin("exit");
        assert_eq!(run.wait_within(Duration::from_secs(30)), 0, "{mode:?}");
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{mode:?}: waited for the deadline"
        );
        let got = marker(&m);
        assert_eq!(got.len(), 1, "{mode:?}: {got:?}");
        assert!(got[0].starts_with("SIGTERM"), "{mode:?}: {got:?}");
        assert!(
            run.stderr().contains("told what the stop had not reached"),
            "{mode:?}"
        );
    }
}

/// The report counts what it forwarded, in the order first seen, and the
/// stop's line names its reason.
#[test]
fn the_report_counts_forwarded_signals() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = Init::new(mode).app(&["trap", "HUP,USR1,TERM"]).spawn();
        run.wait_for_line("ready");
        for (sig, name) in [
            (Signal::SIGHUP, "got SIGHUP"),
            (Signal::SIGUSR1, "got SIGUSR1"),
            (Signal::SIGHUP, "got SIGHUP"),
        ] {
            run.signal(sig);
            run.wait_for_line(name);
        }
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 0, "{mode:?}");
        let stderr = run.stderr();
        assert!(
            stderr.contains("grace: stopping reason=SIGTERM "),
            "{mode:?}: {stderr}"
        );
        assert!(
            stderr.contains(" forwarded=SIGHUPx2,SIGUSR1,SIGTERM "),
            "{mode:?}: {stderr}"
        );
    }
}

/// A process that is stopped (SIGSTOP) when the stop comes still handles
/// the stop signal: grace sends SIGCONT after it, with its look for what
/// escaped (so, up to 2 ms later), to the group, or as PID 1 to the whole
/// namespace. The helper is stopped by the app's shell once the test has
/// seen it ready.
#[test]
fn a_stopped_process_handles_the_stop_signal() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let dir = TempDir::new("stopped-at-stop");
        let m = dir.file("helper");
        let t = testapp();
        let script = format!(
            "{t} trap TERM --marker {m} & pid=$!; read x; kill -STOP $pid; echo stopped; wait"
        );
        let mut run = Init::new(mode)
            .args(["--grace-period", "5s"])
            .command(["sh", "-c", &script])
            .spawn();
        run.wait_for_line("ready");
        run.write_stdin("go");
        run.wait_for_line("stopped");
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 143, "the shell died of SIGTERM, {mode:?}");
        let err = run.stderr();
        assert!(!err.contains("SIGKILL needed"), "{mode:?}: {err}");
        let lines = marker(&m);
        assert!(
            lines.len() == 1 && lines[0].starts_with("SIGTERM"),
            "{mode:?}: {lines:?}\n{err}"
        );
    }
}

/// How many ranges like the one grace keeps to free at the stop
/// (`sys::FlushAhead`) `pid`'s maps hold: a readable anonymous page at a
/// 2 MiB boundary, then the rest of those 2 MiB inaccessible. `None` once
/// `pid` has exited (a zombie's maps read empty).
fn flush_ahead_ranges(pid: nix::unistd::Pid) -> Option<usize> {
    const SPAN: u64 = 2 << 20;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    if maps.is_empty() {
        return None;
    }
    let ranges: Vec<(u64, u64, &str, &str)> = maps
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (range, perms) = (words.next()?, words.next()?);
            let (start, end) = range.split_once('-')?;
            let start = u64::from_str_radix(start, 16).ok()?;
            let end = u64::from_str_radix(end, 16).ok()?;
            Some((start, end, perms, words.nth(3).unwrap_or("")))
        })
        .collect();
    ranges
        .windows(2)
        .filter(|w| {
            let ((s, e, p, name), (s2, e2, p2, name2)) = (w[0], w[1]);
            s % SPAN == 0
                && e == s + 4096
                && p == "r--p"
                && name.is_empty()
                && s2 == e
                && e2 == s + SPAN
                && p2 == "---p"
                && name2.is_empty()
        })
        .count()
        .into()
}

/// The `x86_64` build keeps a page table from its start to its stop signal
/// and frees it then, so that its exit need not wait for other CPUs to
/// flush their TLBs (`sys::FlushAhead`): present while the app runs, gone
/// once the signal is out, while the app still runs.
#[test]
fn the_page_table_kept_for_the_stop_is_freed_at_the_stop_signal() {
    let out = crate::common::grace_command()
        .arg("--version")
        .output()
        .expect("run grace");
    let version = String::from_utf8_lossy(&out.stdout);
    if !version.contains("(x86_64-") {
        // Straight to the stream: the test harness captures eprintln!.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: stopping::the_page_table_kept_for_the_stop_is_freed_at_the_stop_signal: \
             only the x86_64 build keeps a page table for the stop; this is {}",
            version.trim()
        );
        return;
    }
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = stubborn(mode);
        let grace = run.grace_pid();
        // Made after the spawn, perhaps after the app's first line.
        eventually(SOON, "the range kept", || {
            flush_ahead_ranges(grace) == Some(1)
        });
        run.signal(Signal::SIGTERM);
        run.wait_for_line("got SIGTERM");
        eventually(SOON, "the range freed", || {
            flush_ahead_ranges(grace) == Some(0)
        });
        assert_eq!(run.wait(), 137, "{mode:?}");
    }
}
