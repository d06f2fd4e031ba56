//! A stop reaches the whole subtree, not only the group: daemons that left
//! it with setsid get TERM too, and nothing of the subtree outlives grace.
//! Nothing outside grace's subtree is ever signalled.

use nix::sys::signal::Signal;

use crate::common::{
    Init, MODES, Mode, TempDir, alive, marker, pid_of, qemu, skip_child_mode_if_emulated,
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
