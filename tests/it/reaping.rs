//! Reaping: every orphan re-parented to grace is reaped, as PID 1 and as a
//! subreaper, and no zombie outlives a turn of grace's loop.

use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::common::{
    Init, MODES, Mode, eventually, processes, qemu, skip_child_mode_if_emulated, skip_unless_mode,
};

fn zombies_of(parent: Pid) -> usize {
    processes()
        .iter()
        .filter(|p| p.ppid == parent.as_raw() && p.state == 'Z')
        .count()
}

#[test]
fn two_hundred_orphans_are_reaped() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let mut run = Init::new(mode)
            .args(["-v"])
            .app(&["orphans", "200"])
            .spawn();
        let leaves = run.wait_for_line("leaves ");
        run.wait_for_line("ready");
        let leaves: Vec<Pid> = leaves
            .trim_start_matches("leaves ")
            .split_whitespace()
            .map(|p| Pid::from_raw(p.parse().expect("pid")))
            .collect();
        assert_eq!(leaves.len(), 200);
        let grace = run.grace_pid();
        if mode == Mode::Child {
            // The leaves' pids are host pids only outside a namespace.
            eventually(Duration::from_secs(10), "every leaf reaped", || {
                leaves
                    .iter()
                    .all(|l| crate::common::proc_info(*l).is_none())
            });
        }
        eventually(
            Duration::from_secs(10),
            "no zombie left under grace",
            || zombies_of(grace) == 0,
        );
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 143, "{mode:?}");
        // grace itself reaped them (a subreaper, or PID 1): its debug log
        // names every one. (The app reaped the intermediates itself.)
        let reaped = run
            .stderr()
            .lines()
            .filter(|l| l.contains("debug: reaped pid="))
            .count();
        assert_eq!(reaped, 200, "{mode:?}");
    }
}

#[test]
fn orphans_left_when_the_main_child_exits_are_reaped_before_grace_exits() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        // sh starts a background sleeper and exits at once: an orphan (it
        // may get the drain's TERM before it even prints `ready`).
        let mut run = Init::new(mode)
            .args(["--grace-period", "2s"])
            .sh("$T sleep & exit 7")
            .spawn();
        assert_eq!(run.wait(), 7, "{mode:?}");
        let err = run.stderr();
        assert!(
            err.contains("main child exited") && err.contains("orphans_reaped=1"),
            "{err}"
        );
    }
}
