//! The apps the inits supervise in the benchmarks: `grace-bench app MODE`.
//! Each prints `ready` once it is set up, so the driver never sleeps to
//! wait for it, and reports what it measured on stdout.

use std::io::Write as _;
use std::os::fd::{AsRawFd as _, RawFd};
use std::time::Instant;

use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork, pause, pipe};

use crate::now_ns;

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn block(sig: Signal) -> SigSet {
    let mut set = SigSet::empty();
    set.add(sig);
    if let Err(e) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None) {
        fail(&format!("sigprocmask: {e}"));
    }
    set
}

fn fail(msg: &str) -> ! {
    eprintln!("grace-bench app: {msg}");
    std::process::exit(101)
}

pub fn main(args: &[String]) -> ! {
    match args.first().map(String::as_str) {
        // Prints the CLOCK_MONOTONIC time at which each SIGUSR1 arrives.
        Some("usr1") => {
            let set = block(Signal::SIGUSR1);
            say("ready");
            loop {
                if set.wait().is_ok() {
                    say(&format!("usr1 {}", now_ns()));
                }
            }
        }
        // Exits 0 as soon as SIGTERM arrives.
        Some("term-exit") => {
            let set = block(Signal::SIGTERM);
            say("ready");
            let _ = set.wait();
            std::process::exit(0)
        }
        // Ignores SIGTERM: only SIGKILL ends it.
        Some("ignore-term") => {
            // SAFETY: SIG_IGN installs no handler code.
            if let Err(e) = unsafe { signal(Signal::SIGTERM, SigHandler::SigIgn) } {
                fail(&format!("signal: {e}"));
            }
            say("ready");
            loop {
                pause();
            }
        }
        Some("sleep") => {
            say("ready");
            loop {
                pause();
            }
        }
        // A tree of N processes (this one included) that dies on SIGTERM,
        // ESCAPED of them in sessions of their own.
        Some("tree") => {
            let arg = |k: usize| args.get(k).and_then(|n| n.parse().ok());
            match (arg(1), arg(2)) {
                (Some(n), Some(escaped)) => tree(n, escaped),
                _ => fail("usage: tree N ESCAPED"),
            }
        }
        Some("orphans") => {
            let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
            orphans(n)
        }
        other => fail(&format!("unknown mode {other:?}")),
    }
}

/// Makes `n` orphans (double fork) that all wait on one pipe, releases
/// them at once so that `n` processes re-parented to PID 1 exit together,
/// and times until PID 1 has reaped every one (none left in `/proc`).
/// Prints `orphans N reap_ms T peak_zombies Z`, then exits.
fn orphans(n: usize) -> ! {
    let (rx, tx) = pipe().unwrap_or_else(|e| fail(&format!("pipe: {e}")));
    for _ in 0..n {
        // SAFETY: this process is single-threaded; the children only call
        // fork, close, read and _exit, all async-signal-safe.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => leaf_parent(rx.as_raw_fd(), tx.as_raw_fd()),
            Ok(ForkResult::Parent { child }) => {
                let _ = waitpid(child, None);
            }
            Err(e) => fail(&format!("fork: {e}")),
        }
    }
    let me = std::process::id();
    let mut live = scan(me);
    if live.0 != n {
        fail(&format!("expected {n} orphans, found {}", live.0));
    }
    let t0 = Instant::now();
    drop(tx);
    let mut peak = 0;
    while live.0 > 0 {
        live = scan(me);
        peak = peak.max(live.1);
    }
    let took = t0.elapsed();
    drop(rx);
    say(&format!(
        "orphans {n} reap_ms {:.3} peak_zombies {peak}",
        took.as_secs_f64() * 1e3
    ));
    std::process::exit(0)
}

/// The middle of the double fork: forks the leaf and exits at once.
fn leaf_parent(rx: RawFd, tx: RawFd) -> ! {
    // SAFETY: as above; only async-signal-safe calls follow in both.
    if let Ok(ForkResult::Child) = unsafe { fork() } {
        let mut b = [0u8; 1];
        // SAFETY: plain syscalls on descriptors this process owns, into a
        // buffer of the length given; _exit runs nothing else.
        unsafe {
            nix::libc::close(tx);
            nix::libc::read(rx, b.as_mut_ptr().cast(), 1);
            nix::libc::_exit(0)
        }
    }
    // SAFETY: as above.
    unsafe { nix::libc::_exit(0) }
}

/// Counts the processes in this PID namespace other than PID 1 and `me`:
/// (all of them, the zombies among them).
fn scan(me: u32) -> (usize, usize) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        fail("cannot read /proc");
    };
    let mut all = 0;
    let mut zombies = 0;
    for e in dir.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == 1 || pid == me {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        all += 1;
        if stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'))
        {
            zombies += 1;
        }
    }
    (all, zombies)
}

/// Processes per branch of the tree: one worker and its leaves.
const BRANCH: usize = 100;

/// Builds a tree of `n` processes, this one included: branches of a
/// worker with up to [`BRANCH`]` - 1` leaves, every process of them with
/// SIGTERM at its default (death), `escaped` of them in branches whose
/// worker called `setsid` first (so they left this process group and
/// session). Prints `ready` once every process is up, then exits 0 on
/// SIGTERM, leaving the rest of the tree to the signal (and to the init,
/// which reaps it: the workers' leaves are orphaned to it).
fn tree(n: usize, escaped: usize) -> ! {
    let set = block(Signal::SIGTERM);
    let (rx, tx) = pipe().unwrap_or_else(|e| fail(&format!("pipe: {e}")));
    let others = n.saturating_sub(1);
    let mut left = others;
    let mut left_escaped = escaped.min(others);
    while left > 0 {
        let escape = left_escaped > 0;
        let size = if escape { left_escaped } else { left }.min(BRANCH);
        if escape {
            left_escaped -= size;
        }
        left -= size;
        // SAFETY: this process is single-threaded; the branch calls only
        // async-signal-safe functions (sigprocmask, setsid, fork, write,
        // pause).
        match unsafe { fork() } {
            Ok(ForkResult::Child) => branch(size, escape, tx.as_raw_fd()),
            Ok(ForkResult::Parent { .. }) => {}
            Err(e) => fail(&format!("fork: {e}")),
        }
    }
    drop(tx);
    let mut got = 0;
    let mut buf = [0u8; 4096];
    while got < others {
        match nix::unistd::read(&rx, &mut buf) {
            Ok(0) => fail("the tree ended before it was up"),
            Ok(k) => got += k,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => fail(&format!("read: {e}")),
        }
    }
    say("ready");
    let _ = set.wait();
    std::process::exit(0)
}

/// One branch: this worker and `size - 1` leaves, each of which writes a
/// byte to `tx` once it is set up, then waits for its signal.
fn branch(size: usize, escape: bool, tx: RawFd) -> ! {
    // SAFETY: as in `tree`: only async-signal-safe calls, on descriptors
    // and a stack buffer this process owns.
    unsafe {
        let mut set: nix::libc::sigset_t = std::mem::zeroed();
        nix::libc::sigemptyset(&raw mut set);
        nix::libc::sigaddset(&raw mut set, nix::libc::SIGTERM);
        nix::libc::sigprocmask(nix::libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut());
        if escape {
            nix::libc::setsid();
        }
        // The worker forks the leaves; a leaf forks nothing. (A failed
        // fork leaves the tree short: the app then never says `ready`
        // and the driver fails the run after its patience.)
        for _ in 1..size {
            if nix::libc::fork() == 0 {
                break;
            }
        }
        nix::libc::write(tx, b"x".as_ptr().cast(), 1);
        loop {
            nix::libc::pause();
        }
    }
}
