//! Signals sent to grace reach the app: each once, to the whole group by
//! default or to the child alone; SIGCHLD never.

use nix::sys::signal::Signal;

use crate::common::{
    Init, MODES, Mode, TempDir, marker, qemu, skip_child_mode_if_emulated, skip_unless_mode,
};

const FORWARDED: [(Signal, &str); 7] = [
    (Signal::SIGHUP, "SIGHUP"),
    (Signal::SIGUSR1, "SIGUSR1"),
    (Signal::SIGUSR2, "SIGUSR2"),
    (Signal::SIGQUIT, "SIGQUIT"),
    (Signal::SIGWINCH, "SIGWINCH"),
    (Signal::SIGALRM, "SIGALRM"),
    (Signal::SIGINT, "SIGINT"),
];

#[test]
fn each_signal_reaches_the_app_once() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = Init::new(mode)
            .app(&["trap", "HUP,USR1,USR2,QUIT,WINCH,ALRM,INT,TERM,PIPE"])
            .spawn();
        run.wait_for_line("ready");
        for (sig, name) in FORWARDED {
            run.signal(sig);
            run.wait_for_line(&format!("got {name}"));
        }
        // PIPE too (grace catches it, so it never kills grace).
        run.signal(Signal::SIGPIPE);
        run.wait_for_line("got SIGPIPE");
        // INT began a stop; TERM is forwarded again and the app exits 0.
        run.signal(Signal::SIGTERM);
        run.wait_for_line("got SIGTERM");
        assert_eq!(run.wait(), 0, "{mode:?}");
        for (_, name) in FORWARDED {
            assert_eq!(
                run.saw(&format!("got {name}")),
                1,
                "{name} exactly once ({mode:?})"
            );
        }
    }
}

#[test]
fn real_time_signals_are_forwarded() {
    for mode in MODES {
        skip_unless_mode!(mode);
        // 37 is SIGRTMIN+3 as glibc numbers it (the test app is a glibc build).
        let mut run = Init::new(mode).app(&["trap", "37,TERM"]).spawn();
        run.wait_for_line("ready");
        crate::common::send_raw(run.grace_pid(), 37);
        run.wait_for_line("got SIG37");
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 0);
    }
}

#[test]
fn sigchld_is_never_forwarded() {
    let mut run = Init::new(Mode::Child)
        .app(&["trap", "CHLD,USR1,USR2,WINCH,TERM"])
        .spawn();
    run.wait_for_line("ready");
    run.signal(Signal::SIGCHLD);
    // Round trips after it: a forwarded CHLD would have arrived by the end.
    for (sig, name) in [
        (Signal::SIGUSR1, "SIGUSR1"),
        (Signal::SIGUSR2, "SIGUSR2"),
        (Signal::SIGWINCH, "SIGWINCH"),
    ] {
        run.signal(sig);
        run.wait_for_line(&format!("got {name}"));
    }
    run.signal(Signal::SIGTERM);
    assert_eq!(run.wait(), 0);
    assert_eq!(run.saw("got SIGCHLD"), 0, "{:?}", run.seen);
}

/// A grandchild in the group: `sh` ignores USR1 and waits; the app traps.
const GROUP_SCRIPT: &str = "trap '' USR1; $T trap USR1,TERM --marker \"$0\" & wait";

#[test]
fn group_mode_reaches_a_grandchild() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let dir = TempDir::new("group");
        let m = dir.file("m");
        let mut run = Init::new(mode)
            .command([
                "sh",
                "-c",
                &GROUP_SCRIPT.replace("$T", crate::common::testapp()),
                &m,
            ])
            .spawn();
        run.wait_for_line("ready");
        run.signal(Signal::SIGUSR1);
        run.wait_for_line("got SIGUSR1");
        run.signal(Signal::SIGTERM);
        run.wait_for_line("got SIGTERM");
        run.wait();
        let lines = marker(&m);
        assert!(
            lines[0].starts_with("SIGUSR1") && lines[1].starts_with("SIGTERM"),
            "{lines:?}"
        );
    }
}

#[test]
fn child_mode_reaches_only_the_child() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let dir = TempDir::new("child");
        let m = dir.file("m");
        let mut run = Init::new(mode)
            .args(["--forward-to", "child"])
            .command([
                "sh",
                "-c",
                &GROUP_SCRIPT.replace("$T", crate::common::testapp()),
                &m,
            ])
            .spawn();
        run.wait_for_line("ready");
        run.signal(Signal::SIGUSR1);
        // TERM goes to sh alone, which dies; the drain then tells the app.
        run.signal(Signal::SIGTERM);
        run.wait_for_line("got SIGTERM");
        assert_eq!(run.wait(), 143, "sh died of TERM");
        assert_eq!(
            run.saw("got SIGUSR1"),
            0,
            "USR1 reached the grandchild: {:?}",
            run.seen
        );
        assert_eq!(marker(&m).len(), 1, "{:?}", marker(&m));
        assert!(run.stderr().contains(" to=child "), "{}", run.stderr());
    }
}

#[test]
fn a_storm_of_signals_leaves_grace_standing() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = Init::new(mode)
            .app(&["trap", "USR1,USR2,HUP,WINCH,TERM", "--exit-on", "TERM"])
            .spawn();
        run.wait_for_line("ready");
        let pid = run.grace_pid();
        let storm = [
            Signal::SIGUSR1,
            Signal::SIGUSR2,
            Signal::SIGHUP,
            Signal::SIGWINCH,
        ];
        for i in 0..1000 {
            nix::sys::signal::kill(pid, storm[i % storm.len()]).expect("grace is alive");
        }
        // Still forwarding after the storm: a fresh signal gets through.
        run.signal(Signal::SIGTERM);
        run.wait_for_line("got SIGTERM");
        assert_eq!(run.wait(), 0, "{mode:?}");
        assert!(run.saw("got SIGUSR1") >= 1);
    }
}
