//! The child starts with exactly the signal state grace was started with,
//! as if grace were not there; grace keeps nothing of the caller's open and
//! pins no directory.

use std::collections::HashMap;

use crate::common::{
    Init, MODES, Mode, SOON, TempDir, eventually, grace_sh, grace_words, qemu, skip_if_emulated,
    skip_unless_mode, testapp,
};

fn report(lines: &[String]) -> HashMap<String, String> {
    lines
        .iter()
        .filter_map(|l| l.split_once(['=', ':']))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .map(|(k, v)| {
            if k == "SigIgn" {
                (k, without_libc_signals(&v))
            } else {
                (k, v)
            }
        })
        .collect()
}

/// Clears signals 32 and 33, which libc keeps for itself: glibc's
/// `posix_spawn` sets them to `SIG_IGN` in every child it starts (the test
/// harness's too), and no program can read or change them.
fn without_libc_signals(mask: &str) -> String {
    let bits = u64::from_str_radix(mask, 16).unwrap_or_else(|_| panic!("not a mask: {mask}"));
    format!("{:016x}", bits & !(0b11 << 31))
}

/// The signal state a process starts with, as grep sees its own: not the
/// test app, whose Rust runtime (and libc) change theirs before `main`.
const SIGNAL_STATE: [&str; 3] = ["grep", "-E", "^Sig(Blk|Ign)"];
const STATUS: &str = "/proc/self/status";

#[test]
fn clean_start_gives_a_clean_child() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = Init::new(mode)
            .command(SIGNAL_STATE.iter().chain(&[STATUS]))
            .spawn();
        run.wait_for_line("SigIgn");
        assert_eq!(run.wait(), 0);
        let r = report(&run.seen);
        assert_eq!(r["SigBlk"], "0000000000000000", "{mode:?}");
        assert_eq!(r["SigIgn"], "0000000000000000", "{mode:?}");
        let mut run = Init::new(mode).app(&["report"]).spawn();
        run.wait_for_line("cwd=");
        assert_eq!(run.wait(), 0);
        let r = report(&run.seen);
        assert_eq!(r["pgid"], r["pid"], "the child leads its own group");
        if mode == Mode::Pid1 {
            assert_eq!(r["ppid"], "1", "grace is PID 1");
        }
    }
}

/// `sh` ignores USR2 and QUIT, then `testapp block` blocks USR1 and HUP and
/// execs what follows: the state grace (or the bare app) starts with.
const WRAPPER: [&str; 3] = [
    "sh",
    "-c",
    "trap '' USR2 QUIT; exec \"$0\" block USR1,HUP -- \"$@\"",
];

#[test]
fn inherited_mask_and_ignored_signals_pass_through() {
    skip_if_emulated!(qemu::HOST_DISPOSITIONS);
    // Without grace: the reference.
    let bare = std::process::Command::new(WRAPPER[0])
        .args(&WRAPPER[1..])
        .arg(testapp())
        .args(SIGNAL_STATE)
        .arg(STATUS)
        .output()
        .expect("run");
    let bare = report(
        &String::from_utf8_lossy(&bare.stdout)
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>(),
    );
    // USR1 (10) and HUP (1) blocked; USR2 (12) and QUIT (3) ignored.
    assert_eq!(bare["SigBlk"], "0000000000000201");
    assert_eq!(bare["SigIgn"], "0000000000000804");
    for mode in MODES {
        skip_unless_mode!(mode);
        let wrapper: Vec<&str> = WRAPPER.iter().copied().chain([testapp()]).collect();
        let mut run = Init::new(mode)
            .wrapper(&wrapper)
            .command(SIGNAL_STATE.iter().chain(&[STATUS]))
            .spawn();
        run.wait_for_line("SigIgn");
        assert_eq!(run.wait(), 0);
        let r = report(&run.seen);
        assert_eq!(r["SigBlk"], bare["SigBlk"], "{mode:?}");
        assert_eq!(r["SigIgn"], bare["SigIgn"], "{mode:?}");
    }
}

#[test]
fn nohup_still_ignores_hup() {
    skip_if_emulated!(qemu::HOST_DISPOSITIONS);
    let out = std::process::Command::new("nohup")
        .args(grace_words())
        .arg("--")
        .args(SIGNAL_STATE)
        .arg(STATUS)
        .output()
        .expect("run");
    let r = report(
        &String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>(),
    );
    assert_eq!(r["SigIgn"], "0000000000000001", "{r:?}");
}

#[test]
fn grace_pins_no_directory_and_holds_no_inherited_descriptor() {
    let dir = TempDir::new("fds");
    let fifo = dir.file("fifo");
    nix::unistd::mkfifo(fifo.as_str(), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    // Open our end first (non-blocking), then let sh open the write end as
    // fd 3 for grace; the app closes its copy. EOF proves grace closed its own.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&fifo)
        .expect("open fifo");
    let (grace, t) = (grace_sh(), testapp());
    let script = format!("exec 3>{fifo}; exec {grace} -- sh -c 'exec 3>&-; exec {t} sleep'");
    let mut run = Init::new(Mode::Child)
        .command(["sh", "-c", &script])
        .spawn_raw();
    run.wait_for_line("ready");
    let grace = run.outer_pid();
    // grace lets go of both right after spawning, which the app's `ready`
    // may precede: wait for it, within a bound.
    let cwd = || std::fs::read_link(format!("/proc/{grace}/cwd")).ok();
    eventually(SOON, "grace's cwd is /", || {
        cwd().is_some_and(|c| c == std::path::Path::new("/"))
    });
    let fds = || -> Vec<String> {
        std::fs::read_dir(format!("/proc/{grace}/fd"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter_map(|e| std::fs::read_link(e.path()).ok())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .iter()
            .map(|p: &std::path::PathBuf| p.display().to_string())
            .collect()
    };
    eventually(SOON, "grace holds no fifo", || {
        !fds().iter().any(|f| f.contains("fifo"))
    });
    // No writer left: a read returns EOF (0), not EAGAIN.
    let mut buf = [0u8; 1];
    assert_eq!(
        std::io::Read::read(&mut &reader, &mut buf).expect("read"),
        0
    );
    run.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(run.wait(), 143);
}

use std::os::unix::fs::OpenOptionsExt as _;

/// Started with 32 and 33 at their default disposition (as from a shell),
/// grace passes them on so: glibc's `posix_spawn` would set both to
/// `SIG_IGN` in the child unless told to reset them. The harness's own
/// spawn ignores them, so `testapp libc-default` resets them first.
#[test]
fn the_c_librarys_signals_pass_through_at_their_default() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = Init::new(mode)
            .wrapper(&[testapp(), "libc-default", "--"])
            .command(SIGNAL_STATE.iter().chain(&[STATUS]))
            .spawn();
        let line = run.wait_for_line("SigIgn");
        assert_eq!(run.wait(), 0);
        assert!(
            line.ends_with("0000000000000000"),
            "{mode:?}: the child starts with signals ignored: {line}"
        );
    }
}

/// Under a seccomp profile that refuses `clone3`, `close_range`, the pidfd
/// calls and prctl with EPERM (older Docker and containerd defaults),
/// grace still starts the command, with the same signal state, and
/// stops it.
#[test]
fn seccomp_refusals_do_not_stop_grace() {
    const DENY: [&str; 3] = [
        "deny",
        "clone3,close_range,pidfd_open,pidfd_send_signal,prctl",
        "--",
    ];
    skip_if_emulated!(qemu::SECCOMP_STOPS_QEMU);
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut wrapper = vec![testapp()];
        wrapper.extend(DENY);
        let mut run = Init::new(mode)
            .wrapper(&wrapper)
            .command(SIGNAL_STATE.iter().chain(&[STATUS]))
            .spawn();
        run.wait_for_line("SigIgn");
        assert_eq!(run.wait(), 0, "{mode:?}: {}", run.stderr());
        let r = report(&run.seen);
        assert_eq!(r["SigBlk"], "0000000000000000", "{mode:?}");
        assert_eq!(r["SigIgn"], "0000000000000000", "{mode:?}");
        let mut run = Init::new(mode)
            .wrapper(&wrapper)
            .app(&["trap", "TERM"])
            .spawn();
        run.wait_for_line("ready");
        run.signal(nix::sys::signal::Signal::SIGTERM);
        run.wait_for_line("got SIGTERM");
        assert_eq!(run.wait(), 0, "{mode:?}: {}", run.stderr());
    }
}

/// The child holds no descriptor of grace's own: the one grace opens on
/// its stderr for logging is close-on-exec, so no descriptor of the child
/// but 2 refers to that pipe. (Which other descriptors the child gets
/// depends on what the test process holds at that instant.)
#[test]
fn the_child_inherits_no_descriptor_of_graces() {
    for mode in MODES {
        skip_unless_mode!(mode);
        // `ls` lists its own descriptors: what it was given, and its own.
        let mut run = Init::new(mode)
            .command(["ls", "-l", "/proc/self/fd"])
            .spawn();
        assert_eq!(run.wait(), 0);
        let fds: Vec<(String, String)> = run
            .seen
            .iter()
            .filter_map(|l| l.split_once(" -> "))
            .map(|(l, r)| {
                (
                    l.rsplit(' ').next().unwrap_or_default().to_owned(),
                    r.to_owned(),
                )
            })
            .collect();
        let stderr = fds.iter().find(|(fd, _)| fd == "2").map_or_else(
            || panic!("{mode:?}: no stderr in {fds:?}"),
            |(_, t)| t.clone(),
        );
        let again: Vec<_> = fds
            .iter()
            .filter(|(fd, t)| fd != "2" && *t == stderr)
            .collect();
        assert!(
            again.is_empty(),
            "{mode:?}: grace's log descriptor leaked: {again:?}"
        );
    }
}
