//! Nothing grace does may harm the app: its own log writes never reach the
//! app as a signal and never hold up the stop, every signal a user can
//! send is taken in, and the stop reaches the last process even when the
//! tree forks through the deadline or /proc is not the namespace's.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::common::{
    Init, MODES, Mode, SOON, TempDir, alive, eventually, marker, pid_of, processes, qemu,
    skip_child_mode_if_emulated, skip_if_emulated, skip_unless_mode, testapp,
};

/// A pipe whose read end is gone: a write to it raises SIGPIPE.
fn broken_pipe() -> OwnedFd {
    let (r, w) = nix::unistd::pipe().expect("pipe");
    drop(r);
    w
}

/// A pipe filled to the brim, for a reader that never reads: returns the
/// read end (to drain it later), how much it holds, and the write end
/// (grace's stderr). It is filled through an open file description of its
/// own, so the one grace gets stays blocking, as a log driver's pipe is.
fn full_pipe() -> (File, usize, OwnedFd) {
    let (r, w) = nix::unistd::pipe().expect("pipe");
    let mut filler = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(format!("/proc/self/fd/{}", w.as_raw_fd()))
        .expect("open the pipe again");
    let chunk = [b'x'; 4096];
    let mut held = 0;
    while let Ok(n) = filler.write(&chunk) {
        held += n;
    }
    (File::from(r), held, w)
}

use std::os::unix::fs::OpenOptionsExt as _;

/// Waits until grace is blocked in its loop's `sigtimedwait` with the
/// grace deadline as its timeout: it has handled the stop and made the
/// stop's look (and written, or dropped, its line), and has no signal
/// pending (a pending one would not let it block). The look waits up to
/// 2 ms for the app (`LOOK_DELAY` in supervisor.rs), in a `sigtimedwait`
/// with that timeout: the timeout is read from grace's memory, at the
/// address the syscall was given, and only one of over 10 ms counts.
fn wait_until_idle_with_a_deadline(run: &crate::common::Running) {
    use std::os::unix::fs::FileExt as _;
    #[cfg(target_arch = "x86_64")]
    const SIGTIMEDWAIT: &str = "128";
    #[cfg(target_arch = "aarch64")]
    const SIGTIMEDWAIT: &str = "137";
    let pid = run.grace_pid();
    let mem = File::open(format!("/proc/{pid}/mem")).expect("grace's memory");
    let path = format!("/proc/{pid}/syscall");
    eventually(SOON, "grace waits for its deadline", || {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let fields: Vec<&str> = text.split_whitespace().collect();
        let Some(at) = fields
            .get(3)
            .and_then(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).ok())
            .filter(|at| *at != 0 && fields.first() == Some(&SIGTIMEDWAIT))
        else {
            return false;
        };
        // struct timespec: tv_sec and tv_nsec, two 64-bit words.
        let mut ts = [0u8; 16];
        if mem.read_exact_at(&mut ts, at).is_err() {
            return false;
        }
        let word = |i: usize| i64::from_ne_bytes(ts[i..i + 8].try_into().expect("8 bytes"));
        word(0) > 0 || word(8) > 10_000_000
    });
}

/// grace's "stopping" line to a pipe nobody reads raises SIGPIPE on grace;
/// grace must not pass it on: the app, which traps every signal, never
/// hears of it, finishes its shutdown and exits 0.
#[test]
fn a_sigpipe_of_graces_own_never_reaches_the_app() {
    for mode in MODES {
        skip_unless_mode!(mode);
        for level in ["info", "debug"] {
            let dir = TempDir::new("own-pipe");
            let m = dir.file("m");
            let mut run = Init::new(mode)
                .env("GRACE_LOG", level)
                .stderr_to(broken_pipe())
                .app(&["trap-all", "--marker", &m, "--exit-on", "USR2"])
                .spawn();
            run.wait_for_line("ready");
            run.signal(Signal::SIGTERM);
            run.wait_for_line("got SIGTERM");
            // Anything grace would pass on has been passed on by now.
            wait_until_idle_with_a_deadline(&run);
            run.signal(Signal::SIGUSR2);
            assert_eq!(run.wait(), 0, "{mode:?} {level}");
            let got = marker(&m);
            assert!(
                got.iter().all(|l| !l.starts_with("SIGPIPE")),
                "{mode:?} {level}: grace forwarded its own SIGPIPE: {got:?}"
            );
        }
    }
}

/// The same signal sent by another process is the user's: forwarded.
#[test]
fn a_sigpipe_sent_to_grace_is_forwarded() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = Init::new(mode)
            .stderr_to(broken_pipe())
            .app(&["trap", "PIPE,TERM"])
            .spawn();
        run.wait_for_line("ready");
        run.signal(Signal::SIGPIPE);
        run.wait_for_line("got SIGPIPE");
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 0, "{mode:?}");
    }
}

/// stderr is a pipe nobody drains: grace's "stopping" line cannot be
/// written. The stop goes on regardless: the app that ignores TERM is
/// killed (SIGKILL) at the deadline, and grace exits, with the pipe still full.
#[test]
fn a_stalled_log_reader_does_not_hold_up_the_deadline() {
    for mode in MODES {
        skip_unless_mode!(mode);
        deadline_holds_with_stderr(mode, || {
            let (reader, _, stderr) = full_pipe();
            (reader, stderr)
        });
    }
}

/// Lines that could not be written are counted, and the count is in the
/// report once stderr takes lines again.
#[test]
fn dropped_log_lines_are_counted_in_the_report() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::WARNING_DROPPED);
        let (mut reader, held, stderr) = full_pipe();
        // The app's own stderr goes elsewhere: only grace writes to the pipe.
        let script = "exec 2>/dev/null; trap 'echo got; read x; exit 0' TERM; \
                      echo ready; while :; do sleep 0.05; done";
        let mut run = Init::new(mode)
            .stderr_to(stderr)
            .command(["sh", "-c", script])
            .spawn();
        run.wait_for_line("ready");
        run.signal(Signal::SIGTERM);
        run.wait_for_line("got");
        // The stop's line is dropped by now; drain the pipe, then let the
        // app exit.
        wait_until_idle_with_a_deadline(&run);
        let mut filler = vec![0u8; held];
        reader.read_exact(&mut filler).expect("drain");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = reader.read_to_end(&mut text);
            let _ = tx.send(String::from_utf8_lossy(&text).into_owned());
        });
        run.write_stdin("go");
        assert_eq!(run.wait(), 0, "{mode:?}");
        let text = rx.recv_timeout(SOON).expect("stderr closed");
        let report = text
            .lines()
            .find(|l| l.contains("event=shutdown"))
            .unwrap_or_else(|| panic!("{mode:?}: no report in {text:?}"));
        assert!(
            report.contains("logs_dropped=1"),
            "{mode:?}: the stopping line was written or not counted: {report}"
        );
        assert!(!text.contains("grace: stopping"), "{mode:?}: {report}");
    }
}

/// The faults sent with kill(2) are the user's signals like any other:
/// they reach the app, and grace lives on.
#[test]
fn faults_sent_with_kill_reach_the_app_and_grace_lives_on() {
    skip_if_emulated!(qemu::LOST_FAULT);
    for mode in MODES {
        skip_unless_mode!(mode);
        let dir = TempDir::new("faults");
        let m = dir.file("m");
        let mut run = Init::new(mode).app(&["trap-all", "--marker", &m]).spawn();
        run.wait_for_line("ready");
        for (sig, name) in [
            (Signal::SIGSEGV, "SIGSEGV"),
            (Signal::SIGBUS, "SIGBUS"),
            (Signal::SIGILL, "SIGILL"),
            (Signal::SIGFPE, "SIGFPE"),
            (Signal::SIGTRAP, "SIGTRAP"),
            (Signal::SIGSYS, "SIGSYS"),
            // A second SEGV: the Rust runtime's handler would kill grace.
            (Signal::SIGSEGV, "SIGSEGV"),
        ] {
            run.signal(sig);
            run.wait_for_line(&format!("got {name}"));
        }
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 0, "{mode:?}");
        assert_eq!(run.saw("got SIGSEGV"), 2, "{mode:?}");
    }
}

/// `--map-signal SYS:HUP` works: SYS sent to grace reaches the app as HUP.
#[test]
fn a_rule_from_a_fault_signal_works() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let mut run = Init::new(mode)
            .args(["--map-signal", "SYS:HUP"])
            .app(&["trap", "HUP,TERM"])
            .spawn();
        run.wait_for_line("ready");
        run.signal(Signal::SIGSYS);
        run.wait_for_line("got SIGHUP");
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 0, "{mode:?}");
    }
}

/// A rule that could never apply is a usage error naming it.
#[test]
fn a_rule_that_cannot_work_is_refused() {
    for rule in ["KILL:TERM", "STOP:TERM", "TTIN:TERM", "CHLD:HUP"] {
        let out = crate::common::grace_command()
            .args(["--map-signal", rule, "--", "true"])
            .output()
            .expect("run grace");
        assert_eq!(out.status.code(), Some(125), "{rule}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{rule}: {err}");
        assert!(err.contains(rule), "{rule}: {err}");
    }
    let out = crate::common::grace_command()
        .args(["--", "true"])
        .env("GRACE_MAP_SIGNAL", "HUP:USR1,KILL:TERM")
        .output()
        .expect("run grace");
    assert_eq!(out.status.code(), Some(125));
}

/// A tree that forks through the deadline: on TERM the app forks 3,000
/// children, one each 100 µs, each leaving the group with setsid. The
/// deadline's SIGKILL must reach every one of them, the ones forked while
/// it was under way too: nothing outlives grace.
#[test]
fn a_tree_forking_through_the_deadline_is_killed_to_the_last() {
    for mode in MODES {
        skip_unless_mode!(mode);
        skip_child_mode_if_emulated!(mode, qemu::NO_SUBREAPER);
        let token = format!("storm-{}-{mode:?}", std::process::id());
        let mut run = Init::new(mode)
            .args(["--grace-period", "150ms"])
            .app(&["fork-storm", "3000", &token])
            .spawn();
        run.wait_for_line("ready");
        let t0 = Instant::now();
        run.signal(Signal::SIGTERM);
        run.wait_for_line("storming");
        assert_eq!(run.wait(), 137, "{mode:?}");
        let took = t0.elapsed();
        let left: Vec<i32> = processes()
            .into_iter()
            .filter(|p| p.state != 'Z')
            .filter(|p| {
                std::fs::read(format!("/proc/{}/cmdline", p.pid))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&token))
            })
            .map(|p| p.pid)
            .collect();
        for pid in &left {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), Signal::SIGKILL);
        }
        assert!(left.is_empty(), "{mode:?}: {} outlived grace", left.len());
        assert!(
            !run.stderr().contains("survived"),
            "{mode:?}: {}",
            run.stderr()
        );
        // grace did not sit out its 2 s wait for the unkillable.
        assert!(took < Duration::from_secs(2), "{mode:?}: {took:?}");
    }
}

/// PID 1 of a namespace whose /proc is the host's (`unshare --pid --fork`
/// without `--mount-proc`): grace cannot list its processes, so the stop
/// signal goes to the whole namespace (`kill(-1)`), an escaped setsid
/// daemon included, and the report says the counts are unknown, not 0,
/// unless nothing was left to look for by the time the stop's look was
/// due: then the two processes it reaped are the count.
#[test]
fn pid1_without_its_own_proc_still_stops_escaped_daemons() {
    if !crate::common::can_unshare() {
        return;
    }
    let dir = TempDir::new("foreign-proc");
    let m = dir.file("m");
    let t = testapp();
    let script = format!("setsid {t} trap TERM --marker {m} & exec {t} trap TERM");
    let mut run = Init::new(Mode::Child)
        .wrapper(&["unshare", "--pid", "--fork"])
        .args(["--grace-period", "30s"])
        .command(["sh", "-c", &script])
        .spawn();
    run.wait_for_lines("ready", 2);
    let t0 = Instant::now();
    // unshare's only child is grace, PID 1 of the new namespace.
    let grace = {
        let path = format!("/proc/{0}/task/{0}/children", run.outer_pid());
        let text = std::fs::read_to_string(path).expect("children of unshare");
        nix::unistd::Pid::from_raw(
            text.split_whitespace()
                .next()
                .expect("grace")
                .parse()
                .expect("pid"),
        )
    };
    nix::sys::signal::kill(grace, Signal::SIGTERM).expect("TERM to grace");
    let code = run.wait();
    assert_eq!(code, 0, "{}", run.stderr());
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "waited for the deadline"
    );
    let got = marker(&m);
    assert!(
        got.iter().any(|l| l.starts_with("SIGTERM")),
        "the daemon never got the stop signal: {got:?}"
    );
    let stderr = run.stderr();
    let report = stderr
        .lines()
        .find(|l| l.contains("event=shutdown"))
        .unwrap_or_else(|| panic!("no report:\n{stderr}"));
    assert!(
        report.contains("unknown=told") || report.contains(" told=2 "),
        "{report}"
    );
    assert!(!report.contains("told=0"), "{report}");
}

/// A subreaper whose /proc a tmpfs hides: grace cannot list its tree, so
/// the stop reaches what it can without /proc, the group. A group stopped
/// with SIGSTOP gets its SIGCONT too, every member of it, and handles the
/// stop signal, instead of sitting out the grace period stopped.
#[test]
fn without_proc_a_stopped_group_still_hears_the_stop() {
    skip_if_emulated!(qemu::NO_SUBREAPER);
    if !crate::common::can_unshare() {
        return;
    }
    let dir = TempDir::new("hidden-proc");
    let (m1, m2) = (dir.file("m1"), dir.file("m2"));
    let t = testapp();
    let script = format!("{t} trap TERM --marker {m2} & exec {t} trap TERM --marker {m1}");
    let hide = r#"mount -t tmpfs none /proc && exec "$@""#;
    let mut run = Init::new(Mode::Child)
        .wrapper(&[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            hide,
            "sh",
        ])
        .args(["--grace-period", "20s"])
        .command(["sh", "-c", &script])
        .spawn();
    let ready = run.wait_for_lines("ready", 2);
    let pids: Vec<_> = ready.iter().map(|l| pid_of(l)).collect();
    let group = nix::unistd::getpgid(Some(pids[0])).expect("the app's group");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(-group.as_raw()), Signal::SIGSTOP)
        .expect("SIGSTOP to the group");
    for pid in &pids {
        eventually(SOON, "the group stopped", || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('T')))
        });
    }
    let t0 = Instant::now();
    run.signal(Signal::SIGTERM);
    assert_eq!(run.wait(), 0, "{}", run.stderr());
    assert!(
        t0.elapsed() < SOON,
        "waited for the deadline: {}",
        run.stderr()
    );
    for m in [&m1, &m2] {
        let got = marker(m);
        assert!(
            got.first().is_some_and(|l| l.starts_with("SIGTERM")),
            "{m}: {got:?}"
        );
    }
}

/// A child stopped between its mask restore and its exec (a Ctrl-Z on the
/// terminal path) must not leave grace waiting for the exec's report: it
/// goes on to its loop, and a stop still works. The fork path is forced
/// with a seccomp profile refusing `clone3` (glibc's `posix_spawn` then
/// gives up), and a PATH of 30,000 missing directories makes the search
/// before the exec long enough to stop the child in it.
#[test]
fn a_child_stopped_before_its_exec_does_not_hang_grace() {
    skip_if_emulated!(qemu::SECCOMP_STOPS_QEMU);
    // Only a build whose posix_spawn gives up on a refused clone3 (glibc's)
    // can be made to fork; musl's spawns with clone, and its child has no
    // terminal to take a Ctrl-Z from.
    let forked = std::process::Command::new(testapp())
        .args(["deny", "clone3", "--"])
        .args(crate::common::grace_words())
        .args(["-vv", "--", "true"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stderr).contains("forking instead"));
    if !forked {
        eprintln!("SKIPPED: this build of grace does not fork when clone3 is refused (musl)");
        return;
    }
    let path = format!("{}/bin:/usr/bin", "/n:".repeat(30_000));
    let mut run = Init::new(Mode::Child)
        .wrapper(&[testapp(), "deny", "clone3", "--"])
        .env("PATH", &path)
        .command(["true"])
        .spawn();
    let grace = run.grace_pid();
    // Stop the child as soon as it exists: it is still walking PATH.
    let children = format!("/proc/{grace}/task/{grace}/children");
    let deadline = Instant::now() + SOON;
    let child = loop {
        let text = std::fs::read_to_string(&children).unwrap_or_default();
        if let Some(pid) = text.split_whitespace().next().and_then(|p| p.parse().ok()) {
            break nix::unistd::Pid::from_raw(pid);
        }
        assert!(Instant::now() < deadline, "no child");
        std::hint::spin_loop();
    };
    let _ = nix::sys::signal::kill(child, Signal::SIGSTOP);
    // Stopped, or already gone (it won the race, exec and all).
    let state = || crate::common::proc_info(child).map_or('X', |p| p.state);
    eventually(SOON, "the child stopped or ended", || {
        matches!(state(), 'T' | 'Z' | 'X')
    });
    let exec_done = std::fs::read_link(format!("/proc/{child}/exe"))
        .map_or(true, |exe| !exe.ends_with("grace"));
    if state() != 'T' || exec_done {
        // The child won the race: nothing to test in this run.
        eprintln!("SKIPPED: the child execed before it could be stopped");
        let _ = nix::sys::signal::kill(child, Signal::SIGCONT);
        run.wait();
        return;
    }
    // grace must be in its loop, not in the spawn: a stop goes through.
    run.signal(Signal::SIGTERM);
    let code = run.wait();
    assert_eq!(code, 143, "{}", run.stderr());
}

/// A freezer cgroup, thawed and removed however the test ends: a frozen
/// app left behind would sit in the kernel for good.
struct Thaw(std::path::PathBuf);
impl Drop for Thaw {
    fn drop(&mut self) {
        let _ = std::fs::write(self.0.join("freezer.state"), "THAWED");
        if let Ok(procs) = std::fs::read_to_string(self.0.join("cgroup.procs")) {
            for pid in procs.split_whitespace().filter_map(|p| p.parse().ok()) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        let deadline = Instant::now() + SOON;
        while std::fs::remove_dir(&self.0).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A process that SIGKILL cannot end (here: frozen by the v1 cgroup
/// freezer, which holds even a SIGKILL until it thaws) is waited for 2 s,
/// then grace exits and its report names it.
#[test]
fn survivors_of_sigkill_are_named_in_the_report() {
    let root = std::path::Path::new("/sys/fs/cgroup/freezer");
    if !root.join("cgroup.procs").exists() {
        eprintln!("SKIPPED: no cgroup v1 freezer here (cgroup v2 lets SIGKILL through a freeze)");
        return;
    }
    let cgroup = root.join(format!("grace-it-{}", std::process::id()));
    std::fs::create_dir_all(&cgroup).expect("create a freezer cgroup");
    let thaw = Thaw(cgroup.clone());
    let mut run = Init::new(Mode::Child)
        .args(["--grace-period", "100ms"])
        .app(&["ignore-term"])
        .spawn();
    let app = pid_of(&run.wait_for_line("ready"));
    std::fs::write(cgroup.join("cgroup.procs"), app.to_string()).expect("move the app");
    std::fs::write(cgroup.join("freezer.state"), "FROZEN").expect("freeze");
    eventually(SOON, "the app is frozen", || {
        std::fs::read_to_string(cgroup.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
    });
    run.signal(Signal::SIGTERM);
    // The frozen app holds grace's pipes: read the report, thaw, then wait.
    run.wait_for_stderr("event=shutdown");
    let stderr = run.stderr();
    let _ = std::fs::write(cgroup.join("freezer.state"), "THAWED");
    let code = run.wait();
    drop(thaw);
    eventually(SOON, "the app died once thawed", || !alive(app));
    assert_eq!(code, 137, "{stderr}");
    let report = stderr
        .lines()
        .find(|l| l.contains("event=shutdown"))
        .unwrap_or_else(|| panic!("no report:\n{stderr}"));
    assert!(report.contains("survivors=1"), "{report}");
    assert!(
        report.contains(&format!("survivor_pids={app}:testapp")),
        "{report}"
    );
}

/// stderr a regular file (`2>>grace.log`): written as it is, nothing
/// dropped, and the report is there once grace exits.
#[test]
fn a_log_file_gets_every_line() {
    for mode in MODES {
        skip_unless_mode!(mode);
        let dir = TempDir::new("log-file");
        let path = dir.file("grace.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("log file");
        let mut run = Init::new(mode)
            .stderr_to(OwnedFd::from(file))
            .app(&["trap", "TERM"])
            .spawn();
        run.wait_for_line("ready");
        run.signal(Signal::SIGTERM);
        assert_eq!(run.wait(), 0, "{mode:?}");
        let log = std::fs::read_to_string(&path).expect("read the log");
        let report = log
            .lines()
            .find(|l| l.contains("event=shutdown"))
            .unwrap_or_else(|| panic!("{mode:?}: no report in {log:?}"));
        assert!(report.contains("logs_dropped=0"), "{mode:?}: {report}");
        assert!(log.contains("grace: stopping"), "{mode:?}: {log}");
    }
}

/// The deadline goes on whatever stderr is: the stop of an app that
/// ignores TERM, with stderr `make_stderr()` (never read), ends in SIGKILL
/// at the deadline and exit 137. `keep` holds what must stay open.
fn deadline_holds_with_stderr<K>(mode: Mode, make_stderr: impl FnOnce() -> (K, OwnedFd)) {
    let (keep, stderr) = make_stderr();
    let mut run = Init::new(mode)
        .args(["--grace-period", "500ms"])
        .stderr_to(stderr)
        .app(&["ignore-term"])
        .spawn();
    run.wait_for_line("ready");
    run.signal(Signal::SIGTERM);
    run.wait_for_line("got SIGTERM");
    assert_eq!(run.wait(), 137, "{mode:?}");
    drop(keep);
}

/// stderr a socket (journald's stream, a log driver's) whose buffer is
/// full: grace sends without waiting, and the stop goes on.
#[test]
fn a_full_log_socket_does_not_hold_up_the_deadline() {
    for mode in MODES {
        skip_unless_mode!(mode);
        deadline_holds_with_stderr(mode, || {
            let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
            // Fill grace's side towards ours, then make it blocking again,
            // as a log driver's socket is.
            theirs.set_nonblocking(true).expect("non-blocking");
            let chunk = [b'x'; 4096];
            while theirs.write(&chunk).is_ok() {}
            theirs.set_nonblocking(false).expect("blocking again");
            (ours, OwnedFd::from(theirs))
        });
    }
}

/// stderr a terminal whose output is stopped (Ctrl-S): grace writes through
/// a non-blocking descriptor of its own, and the stop goes on.
#[test]
fn a_stopped_log_terminal_does_not_hold_up_the_deadline() {
    for mode in MODES {
        skip_unless_mode!(mode);
        deadline_holds_with_stderr(mode, || {
            let pty = nix::pty::openpty(None, None).expect("openpty");
            nix::sys::termios::tcflow(&pty.slave, nix::sys::termios::FlowArg::TCOOFF)
                .expect("stop the terminal's output");
            (pty.master, pty.slave)
        });
    }
}

/// stderr a pipe grace may not open again (another user made it): grace
/// writes only when `poll` says the pipe can take a line, so a full one
/// still does not hold up the stop.
#[test]
fn a_full_pipe_of_another_user_does_not_hold_up_the_deadline() {
    let (reader, _, stderr) = full_pipe();
    // grace as nobody: /proc/self/fd/2 of a root-made pipe is refused.
    let mut run = Init::new(Mode::Child)
        .wrapper(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .args(["--grace-period", "500ms"])
        .stderr_to(stderr)
        .app(&["ignore-term"])
        .spawn();
    run.wait_for_line("ready");
    run.signal(Signal::SIGTERM);
    run.wait_for_line("got SIGTERM");
    assert_eq!(run.wait(), 137);
    drop(reader);
}
