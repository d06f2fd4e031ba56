//! A stop reaches the whole subtree, not only the group: daemons that left
//! it with setsid get TERM too, and nothing of the subtree outlives grace.
//! Nothing outside grace's subtree is ever signalled.

use nix::sys::signal::Signal;

use crate::common::{
    Init, MODES, Mode, SOON, TempDir, alive, marker, pid_of, qemu, skip_child_mode_if_emulated,
    skip_if_emulated, skip_unless_mode, testapp,
};

#[test]
fn setsid_daemon_runs_its_handler_at_a_stop() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let dir = TempDir::new("setsid");
        let (md, mm) = (dir.file("daemon"), dir.file("main"));
        // util-linux setsid -f: fork, new session, exec; the shell goes on.
        let t = testapp();
        let script =
            format!("setsid -f {t} trap TERM --marker {md}; exec {t} trap TERM --marker {mm}");
        let mut run = Init::new(mode)
            .args(["--grace-period", "5s"])
            .command(["sh", "-c", &script])
            .spawn();
        let ready = run.wait_for_lines("ready", 2);
        run.signal(Signal::SIGTERM);
        run.wait_for_lines("got SIGTERM", 2);
        assert_eq!(run.wait(), 0, "{mode:?}");
        for m in [&md, &mm] {
            let lines = marker(m);
            assert!(
                lines.len() == 1 && lines[0].starts_with("SIGTERM"),
                "{m}: {lines:?}"
            );
        }
        if mode == Mode::Child {
            for line in &ready {
                assert!(!alive(pid_of(line)), "{line} outlived grace");
            }
        }
        assert!(run.stderr().contains("processes=2"), "{}", run.stderr());
        assert!(run.stderr().contains(" to=group "), "{}", run.stderr());
    }
}

/// The main child is a shell that dies of the stop signal while grace
/// looks for what escaped its group; its setsid daemon moves to grace (or
/// to PID 1) in that moment and must still get the signal. Repeated: the
/// race is in microseconds, and once lost it left the daemon to SIGKILL.
#[test]
fn a_daemon_whose_parent_dies_of_the_stop_still_gets_it() {
    const RUNS: usize = 25;
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let t = testapp();
        let script = format!("setsid {t} trap TERM & wait");
        for i in 0..RUNS {
            let mut run = Init::new(mode)
                .args(["--grace-period", "3s"])
                .command(["sh", "-c", &script])
                .spawn();
            run.wait_for_line("ready");
            run.signal(Signal::SIGTERM);
            run.wait_for_line("got SIGTERM");
            assert_eq!(run.wait(), 143, "the shell died of SIGTERM, {mode:?}");
            let err = run.stderr();
            assert!(
                !err.contains("SIGKILL needed"),
                "run {i}, {mode:?}: the daemon missed the stop\n{err}"
            );
        }
    }
}

/// After a stop that reached the daemon, the drain that follows the main
/// child's exit leaves it alone: a second SIGTERM makes many apps give up
/// their clean shutdown. (Only what the stop missed gets one.)
#[test]
fn the_drain_after_a_stop_signals_no_daemon_twice() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let dir = TempDir::new("twice");
        let md = dir.file("daemon");
        // The daemon records every TERM and keeps running until SIGKILL.
        let t = testapp();
        let script =
            format!("setsid -f {t} trap TERM --exit-on none --marker {md}; exec {t} trap TERM");
        let mut run = Init::new(mode)
            .args(["--grace-period", "1s"])
            .command(["sh", "-c", &script])
            .spawn();
        run.wait_for_lines("ready", 2);
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 0, "the main child's code, {mode:?}");
        let lines = marker(&md);
        assert_eq!(lines.len(), 1, "{mode:?}: {lines:?}\n{}", run.stderr());
        assert!(run.stderr().contains("SIGKILL needed for 1 process"));
    }
}

/// The app's TERM handler starts a helper in its group after the stop
/// signal went out, and the app then runs on past the stop's look (which
/// waits 2 ms): the look must not count the helper as told (the group
/// signal came before it), and the drain at the app's exit tells it, once.
/// Counted as told, it would meet SIGKILL at the deadline instead.
#[test]
fn a_helper_the_term_handler_starts_hears_of_the_stop_once() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let dir = TempDir::new("handler-helper");
        let m = dir.file("helper");
        let t = testapp();
        // The shell exits once the test has seen the helper ready.
        let script =
            format!("trap '{t} trap TERM --marker {m} & read x; exit 0' TERM; {t} sleep & wait");
        let mut run = Init::new(mode)
            .args(["--grace-period", "5s"])
            .command(["sh", "-c", &script])
            .spawn();
        run.wait_for_line("ready");
        run.signal(Signal::SIGTERM);
        run.wait_for_line("ready");
        run.write_stdin("go");
        assert_eq!(run.wait(), 0, "{mode:?}\n{}", run.stderr());
        let err = run.stderr();
        assert!(!err.contains("SIGKILL needed"), "{mode:?}: {err}");
        let lines = marker(&m);
        assert!(
            lines.len() == 1 && lines[0].starts_with("SIGTERM"),
            "{mode:?}: {lines:?}\n{err}"
        );
    }
}

/// The same, with an app that exits as soon as its helper runs: the look
/// is then mostly made at the app's exit, and must leave the helper to the
/// drain that follows. A helper that leaves the group with setsid after
/// the signal is told by the look, and not again by the drain. (The
/// helper has TERM blocked from birth: no TERM can be lost to a helper
/// still starting, as it is to a shell's child before its exec.)
#[test]
fn what_the_term_handler_starts_is_not_left_to_sigkill() {
    const RUNS: usize = 10;
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        for leave in [&[][..], &["setsid"][..]] {
            for i in 0..RUNS {
                let dir = TempDir::new("handler-helper-exit");
                let m = dir.file("helper");
                let mut args = vec!["handler-forks"];
                args.extend(leave);
                args.extend(["--marker", &m]);
                let mut run = Init::new(mode)
                    .args(["--grace-period", "5s"])
                    .app(&args)
                    .spawn();
                run.wait_for_line("ready");
                run.signal(Signal::SIGTERM);
                assert_eq!(run.wait(), 0, "{mode:?} {leave:?} run {i}");
                let err = run.stderr();
                assert!(
                    !err.contains("SIGKILL needed"),
                    "{mode:?} {leave:?} run {i}: {err}"
                );
                let lines = marker(&m);
                assert!(
                    lines.len() == 1 && lines[0].starts_with("SIGTERM"),
                    "{mode:?} {leave:?} run {i}: {lines:?}\n{err}"
                );
            }
        }
    }
}

#[test]
fn stubborn_setsid_daemon_is_killed_and_named() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let t = testapp();
        let script = format!("setsid -f {t} ignore-term; exec {t} trap TERM");
        let mut run = Init::new(mode)
            .args(["--grace-period", "1s"])
            .command(["sh", "-c", &script])
            .spawn();
        let ready = run.wait_for_lines("ready", 2);
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 0, "the main child's code, {mode:?}");
        let err = run.stderr();
        assert!(
            err.contains("SIGKILL needed for 1 process") && err.contains(":testapp"),
            "{err}"
        );
        if mode == Mode::Child {
            for line in &ready {
                assert!(!alive(pid_of(line)), "{line} outlived grace");
            }
        }
    }
}

#[test]
fn a_process_beside_grace_survives() {
    // The setsid daemon is grace's to kill only as a subreaper: under qemu
    // it would be orphaned to the host's init and outlive the test.
    skip_if_emulated!(qemu::NO_SUBREAPER);
    // Started by the test, in the test's own session: not under grace.
    let mut sibling = std::process::Command::new(testapp())
        .arg("sleep")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn sibling");
    let t = testapp();
    let script = format!("setsid -f {t} ignore-term; exec {t} ignore-term");
    let mut run = Init::new(Mode::Child)
        .args(["--grace-period", "500ms"])
        .command(["sh", "-c", &script])
        .spawn();
    run.wait_for_lines("ready", 2);
    run.signal(Signal::SIGTERM);
    assert_eq!(run.wait(), 137);
    assert!(
        sibling.try_wait().expect("try_wait").is_none(),
        "grace signalled a process outside its subtree"
    );
    sibling.kill().expect("kill sibling");
    sibling.wait().expect("reap sibling");
}

/// grace cannot be a subreaper (the prctl refused, as an old container
/// profile does): the app's setsid daemon, its child at the stop, is
/// re-parented to the host's init once the app exits, out of grace's
/// reach. So the look for it cannot wait for the app: it is made at once,
/// while the daemon is still below the app. (Found in review: a look
/// deferred to the app's exit never found it.)
#[test]
fn without_a_subreaper_the_look_is_made_at_once() {
    skip_if_emulated!(qemu::NO_SUBREAPER);
    let dir = TempDir::new("no-subreaper");
    let (md, mm) = (dir.file("daemon"), dir.file("main"));
    let t = testapp();
    let script = format!("setsid {t} trap TERM --marker {md} & exec {t} trap TERM --marker {mm}");
    let mut run = Init::new(Mode::Child)
        .wrapper(&[t, "deny", "prctl", "--"])
        .args(["--grace-period", "3s"])
        .command(["sh", "-c", &script])
        .spawn();
    let ready = run.wait_for_lines("ready", 2);
    run.signal(Signal::SIGTERM);
    let code = run.wait();
    // Not grace's to reap: the daemon ends on its own once told.
    let told = std::panic::catch_unwind(|| {
        crate::common::eventually(SOON, "the daemon got the stop signal", || {
            !marker(&md).is_empty()
        });
    });
    for line in &ready {
        let pid = pid_of(line);
        if nix::unistd::getsid(Some(pid)).ok() == Some(pid) {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        }
    }
    assert!(
        told.is_ok(),
        "code {code}, daemon {:?}, main {:?}\n{}",
        marker(&md),
        marker(&mm),
        run.stderr()
    );
}

/// A host whose pid counter has wrapped has processes older than the stop
/// at pids above the counter, which the allocator skips as it climbs. One
/// in the app's group hears the group signal; the counter then passes its
/// pid before the look. It is not a process forked after the signal: the
/// drain must not tell it again. Made here by writing `ns_last_pid` in a
/// fresh PID namespace: the helper gets pid 5000, the counter goes back to
/// 200, and the app's TERM handler moves it to 6000. The helper is 30 ms
/// old at the stop, as any process above a wrapped counter is by far (the
/// counter cannot go round within a 10 ms clock tick). (Found in review.)
fn wrap_script(m: &str) -> String {
    let t = testapp();
    format!(
        "echo 4999 > /proc/sys/kernel/ns_last_pid; {t} trap TERM --exit-on none --marker {m} & \
         sleep 0.03; echo 200 > /proc/sys/kernel/ns_last_pid; \
         trap 'echo 6000 > /proc/sys/kernel/ns_last_pid; exit 0' TERM; {t} sleep & wait"
    )
}

#[test]
fn an_older_process_above_a_wrapped_pid_counter_is_told_once() {
    if !crate::common::can_unshare() {
        return;
    }
    // As PID 1 (kill(-1)), and as a subreaper under an outer grace that is
    // PID 1 of the namespace (the group signal, then the look).
    for inner in [false, true] {
        // Under qemu the inner grace is no subreaper: the helper leaves its
        // subtree for the outer grace, whose own drain tells it again.
        if inner
            && crate::common::skipped_under_emulation(
                " (under a grace that is not PID 1; as PID 1 it runs)",
                qemu::NO_SUBREAPER,
            )
        {
            continue;
        }
        let dir = TempDir::new("wrapped");
        let m = dir.file("old");
        let script = wrap_script(&m);
        let mut words: Vec<String> = Vec::new();
        if inner {
            words.extend(crate::common::grace_words().iter().cloned());
            words.extend(["--grace-period", "1s", "--"].map(String::from));
        }
        words.extend(["sh", "-c", &script].map(String::from));
        let mut run = Init::new(Mode::Pid1)
            .args(["--grace-period", if inner { "5s" } else { "1s" }])
            .command(words)
            .spawn();
        run.wait_for_lines("ready", 2);
        if inner {
            let outer = run.grace_pid();
            let kids = std::fs::read_to_string(format!("/proc/{outer}/task/{outer}/children"))
                .expect("the outer grace's children");
            let target = nix::unistd::Pid::from_raw(
                kids.split_whitespace()
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("the inner grace"),
            );
            nix::sys::signal::kill(target, Signal::SIGTERM).expect("TERM");
        } else {
            run.signal(Signal::SIGTERM);
        }
        let _ = run.wait();
        let lines = marker(&m);
        assert_eq!(lines.len(), 1, "inner={inner}: {lines:?}\n{}", run.stderr());
    }
}
