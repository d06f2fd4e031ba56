//! The fake app grace's tests supervise. It dispatches on its first
//! argument and reports on stdout, one line per fact, so that tests can
//! synchronise on what it prints (`ready ...`) instead of sleeping.
//!
//! Modes:
//!   exit N                     exit with code N
//!   sleep                      print `ready pid=P`, then wait forever (default dispositions)
//!   trap SIGS [--exit-on SIGS|none] [--marker FILE] [--code N]
//!                              catch SIGS (comma-separated), print `ready pid=P`, then
//!                              `got SIGX` per signal (and append `SIGX PID UNIX_MS` to FILE);
//!                              exit N (default 0) on a signal of --exit-on (default TERM)
//!   ignore-term                trap TERM and never exit
//!   kill-self SIG              die of SIG
//!   report                     print pid, ppid, pgid, sid, `SigBlk`, `SigIgn`, fg, cwd; exit 0
//!   spawn MODE...              start `testapp MODE...` (stdout inherited), print `child PID`, exit 0
//!   run-then N MODE...         start `testapp MODE...`, wait for a line on stdin, exit N
//!   orphans N                  make N orphans (double fork; each exits at once), print
//!                              `leaves PID...`, `ready pid=P`, then wait forever
//!   block SIGS -- CMD...       block SIGS, then exec CMD (to start grace with a mask)
//!   libc-default -- CMD...     set signals 32 and 33 to `SIG_DFL` (the C library's
//!                              sigaction refuses them), then exec CMD
//!   deny SYSCALLS -- CMD...    install a seccomp filter answering SYSCALLS (comma-separated:
//!                              `clone3`, `close_range`, `pidfd_open`, `pidfd_send_signal`, `prctl`)
//!                              with EPERM, as older container profiles did, then exec CMD
//!   fork-storm N               catch TERM (and never exit), print `ready pid=P`; on the
//!                              first TERM, fork N children, one each 100 µs, each leaving
//!                              the group with setsid and waiting forever
//!   trap-all --marker FILE     catch every signal a process can catch, print `ready pid=P`,
//!                              append `SIGX PID UNIX_MS` to FILE per signal; exit 0 on TERM
//!   await N|SIG                print `ready pid=P`, wait for a line on stdin (or its end),
//!                              then exit with N, or die of SIG (default dispositions)
//!   handler-forks [setsid] --marker FILE
//!                              block TERM, print `ready pid=P`; on TERM, fork a helper
//!                              (which leaves the group with setsid if asked), wait until
//!                              it runs, exit 0. The helper, TERM blocked from birth so
//!                              no TERM is lost, appends `SIGTERM PID UNIX_MS` to FILE
//!                              on TERM and exits 0

use std::io::{BufRead as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getpgrp, getpid, getppid, getsid, pause, tcgetpgrp};
use signal_hook::iterator::Signals;

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn die(msg: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "testapp: {msg}");
    std::process::exit(101);
}

fn parse_signal(s: &str) -> i32 {
    if let Ok(n) = s.parse::<i32>() {
        return n;
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>()
        .map_or_else(|_| die(&format!("bad signal {s}")), |s| s as i32)
}

fn signal_name(n: i32) -> String {
    Signal::try_from(n).map_or_else(|_| format!("SIG{n}"), |s| s.as_str().to_owned())
}

fn signals(list: &str) -> Vec<i32> {
    if list == "none" {
        Vec::new()
    } else {
        list.split(',').map(parse_signal).collect()
    }
}

fn me() -> Command {
    Command::new(std::env::current_exe().unwrap_or_else(|e| die(&format!("current_exe: {e}"))))
}

fn forever() -> ! {
    loop {
        pause();
    }
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn trap(args: &[String]) {
    let Some(list) = args.first() else {
        die("trap needs signals")
    };
    let caught = signals(list);
    let mut exit_on = vec![libc_term()];
    let mut marker = None;
    let mut code = 0;
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().unwrap_or_else(|| die("flag without value"));
        match flag.as_str() {
            "--exit-on" => exit_on = signals(value),
            "--marker" => marker = Some(value.clone()),
            "--code" => code = value.parse().unwrap_or_else(|_| die("bad code")),
            _ => die(&format!("unknown flag {flag}")),
        }
    }
    let mut sigs = Signals::new(&caught).unwrap_or_else(|e| die(&format!("signals: {e}")));
    say(&format!("ready pid={}", getpid()));
    for sig in sigs.forever() {
        let name = signal_name(sig);
        if let Some(path) = &marker {
            append_marker(path, &name);
        }
        say(&format!("got {name}"));
        if exit_on.contains(&sig) {
            std::process::exit(code);
        }
    }
}

/// Appends `SIGX PID UNIX_MS` to the marker file at `path`.
fn append_marker(path: &str, signal: &str) {
    let line = format!("{signal} {} {}\n", getpid(), unix_ms());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path);
    if let Ok(mut f) = file {
        let _ = f.write_all(line.as_bytes());
    }
}

fn libc_term() -> i32 {
    Signal::SIGTERM as i32
}

fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
        .unwrap_or_default()
}

fn report() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let fg = tcgetpgrp(std::io::stdin()).is_ok_and(|p| p == getpgrp());
    say(&format!("pid={}", getpid()));
    say(&format!("ppid={}", getppid()));
    say(&format!("pgid={}", getpgrp()));
    say(&format!("sid={}", getsid(None).map_or(-1, Pid::as_raw)));
    say(&format!("SigBlk={}", status_field(&status, "SigBlk:")));
    say(&format!("SigIgn={}", status_field(&status, "SigIgn:")));
    say(&format!("fg={fg}"));
    say(&format!(
        "cwd={}",
        std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    ));
}

fn orphans(n: usize) {
    let mut leaves = Vec::with_capacity(n);
    for _ in 0..n {
        let out = me()
            .args(["spawn", "exit", "0"])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| die(&format!("spawn: {e}")));
        let text = String::from_utf8_lossy(&out.stdout);
        match text.trim().strip_prefix("child ") {
            Some(pid) => leaves.push(pid.to_owned()),
            None => die(&format!("intermediate said {text:?}")),
        }
    }
    say(&format!("leaves {}", leaves.join(" ")));
    say(&format!("ready pid={}", getpid()));
    forever();
}

#[expect(
    clippy::zombie_processes,
    reason = "the point: orphans and zombies for grace to reap"
)]
fn spawn_child(mode: &[String], stdin: Stdio) -> u32 {
    let child = me()
        .args(mode)
        .stdin(stdin)
        .spawn()
        .unwrap_or_else(|e| die(&format!("spawn: {e}")));
    child.id()
}

/// Catches every signal a process can (all but KILL and STOP, and the C
/// library's 32 to 34) by blocking them and taking them with sigwaitinfo:
/// signal-hook refuses the faults (ILL, FPE, SEGV). Same flags as `trap`.
fn trap_all(args: &[String]) {
    let mut exit_on = vec![libc_term()];
    let mut marker = None;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().unwrap_or_else(|| die("flag without value"));
        match flag.as_str() {
            "--exit-on" => exit_on = signals(value),
            "--marker" => marker = Some(value.clone()),
            _ => die(&format!("unknown flag {flag}")),
        }
    }
    let all: Vec<i32> = (1..=64)
        .filter(|n| ![9, 19, 32, 33, 34].contains(n))
        .collect();
    sys::block(&all);
    say(&format!("ready pid={}", getpid()));
    loop {
        let sig = sys::wait_any(&all);
        let name = signal_name(sig);
        if let Some(path) = &marker {
            append_marker(path, &name);
        }
        say(&format!("got {name}"));
        if exit_on.contains(&sig) {
            std::process::exit(0);
        }
    }
}

/// Execs `words` (a program and its arguments), or dies.
fn exec_rest(words: &[String]) -> ! {
    let Some(program) = words.first() else {
        die("nothing to exec")
    };
    let err = Command::new(program).args(&words[1..]).exec();
    die(&format!("exec {program}: {err}"));
}

/// On the first TERM, forks `n` children that leave the group and wait:
/// a tree that keeps growing through grace's deadline.
fn fork_storm(n: usize) -> ! {
    let mut sigs = Signals::new([libc_term()]).unwrap_or_else(|e| die(&format!("signals: {e}")));
    say(&format!("ready pid={}", getpid()));
    let _ = sigs.forever().next();
    say("storming");
    for _ in 0..n {
        sys::fork_setsid_pause();
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
    forever();
}

/// The few raw system calls the fake app needs.
#[allow(unsafe_code)]
mod sys {
    use super::die;

    fn set_of(signals: &[i32]) -> libc::sigset_t {
        // SAFETY: sigset_t is plain data; all-zero is the empty set.
        let mut raw: libc::sigset_t = unsafe { std::mem::zeroed() };
        let bits = signals.iter().fold(0u64, |b, n| b | 1 << (n - 1));
        // SAFETY: the kernel's 64-bit mask starts glibc's and musl's sigset_t.
        unsafe { (&raw mut raw).cast::<u64>().write(bits) };
        raw
    }

    /// Blocks `signals` in this thread (before any other thread starts).
    pub fn block(signals: &[i32]) {
        let set = set_of(signals);
        // SAFETY: `set` is a valid sigset_t for the call.
        let rc =
            unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()) };
        if rc != 0 {
            die("sigprocmask");
        }
    }

    /// fork(2): 0 in the child, its pid in the parent.
    pub fn fork() -> i32 {
        // SAFETY: the caller's process is single-threaded (it started no
        // thread), so the child may go on running Rust code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            die("fork");
        }
        pid
    }

    /// Waits for one of `signals` (blocked) and returns it.
    pub fn wait_any(signals: &[i32]) -> i32 {
        let set = set_of(signals);
        loop {
            // SAFETY: `set` is valid; the info pointer may be null.
            let n = unsafe { libc::sigwaitinfo(&raw const set, std::ptr::null_mut()) };
            if n > 0 {
                return n;
            }
        }
    }

    /// Sets signal `n` to `SIG_DFL` with the raw system call.
    pub fn set_default(n: i32) {
        // The kernel's struct sigaction: handler, flags, restorer, mask.
        let act = [0u64; 4];
        // SAFETY: rt_sigaction reads 32 bytes from `act`, which outlives the
        // call; the old action is not asked for.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                n,
                act.as_ptr(),
                std::ptr::null_mut::<u8>(),
                8usize,
            )
        };
        if rc != 0 {
            die(&format!(
                "rt_sigaction {n}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }

    pub fn syscall_number(name: &str) -> i64 {
        match name {
            "clone3" => libc::SYS_clone3,
            "close_range" => libc::SYS_close_range,
            "pidfd_open" => libc::SYS_pidfd_open,
            "pidfd_send_signal" => libc::SYS_pidfd_send_signal,
            "prctl" => libc::SYS_prctl,
            _ => die(&format!("unknown system call {name}")),
        }
    }

    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 0xC000_00B7;

    /// Installs a seccomp filter that fails `numbers` with EPERM.
    pub fn deny(numbers: &[i64]) {
        let stmt = |code: u32, k: u32| libc::sock_filter {
            code: u16::try_from(code).unwrap_or_else(|_| die("bpf code")),
            jt: 0,
            jf: 0,
            k,
        };
        let jump = |k: u32, jt: u8, jf: u8| libc::sock_filter {
            code: u16::try_from(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K)
                .unwrap_or_else(|_| die("bpf code")),
            jt,
            jf,
            k,
        };
        let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
        let ret = libc::BPF_RET | libc::BPF_K;
        // struct seccomp_data: nr at 0, arch at 4.
        let mut prog = vec![stmt(load, 4), jump(AUDIT_ARCH, 1, 0)];
        prog.push(stmt(ret, libc::SECCOMP_RET_ALLOW));
        prog.push(stmt(load, 0));
        for &nr in numbers {
            let nr = u32::try_from(nr).unwrap_or_else(|_| die("syscall number"));
            prog.push(jump(nr, 0, 1));
            prog.push(stmt(
                ret,
                libc::SECCOMP_RET_ERRNO | libc::EPERM.cast_unsigned(),
            ));
        }
        prog.push(stmt(ret, libc::SECCOMP_RET_ALLOW));
        let fprog = libc::sock_fprog {
            len: u16::try_from(prog.len()).unwrap_or_else(|_| die("bpf length")),
            filter: prog.as_mut_ptr(),
        };
        // SAFETY: prctl with integer arguments.
        let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        if rc != 0 {
            die("PR_SET_NO_NEW_PRIVS");
        }
        // SAFETY: `fprog` points at `prog`, both alive for the call; the
        // kernel copies the program.
        let rc = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &raw const fprog,
                0,
                0,
            )
        };
        if rc != 0 {
            die(&format!(
                "PR_SET_SECCOMP: {}",
                std::io::Error::last_os_error()
            ));
        }
    }

    /// Forks a child that calls setsid and then waits forever. The child
    /// makes only async-signal-safe system calls: the fake app has
    /// signal-hook's thread.
    pub fn fork_setsid_pause() {
        // SAFETY: the child only calls setsid and pause, both
        // async-signal-safe, and never returns into Rust code.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: see above.
            unsafe {
                libc::setsid();
                loop {
                    libc::pause();
                }
            }
        }
    }
}

/// A TERM handler that starts a helper: see `handler-forks` above.
fn handler_forks(args: &[String]) {
    let leave = args.first().map(String::as_str) == Some("setsid");
    let Some(marker) = args
        .iter()
        .position(|a| a == "--marker")
        .and_then(|i| args.get(i + 1))
    else {
        die("handler-forks needs --marker FILE")
    };
    let term = libc_term();
    sys::block(&[term]);
    say(&format!("ready pid={}", getpid()));
    sys::wait_any(&[term]);
    let (r, w) = nix::unistd::pipe().unwrap_or_else(|e| die(&format!("pipe: {e}")));
    if sys::fork() == 0 {
        drop(r);
        if leave {
            let _ = nix::unistd::setsid();
        }
        let _ = nix::unistd::write(&w, b"x");
        drop(w);
        sys::wait_any(&[term]);
        append_marker(marker, "SIGTERM");
        std::process::exit(0);
    }
    drop(w);
    let mut byte = [0u8; 1];
    let _ = nix::unistd::read(&r, &mut byte);
    std::process::exit(0);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else {
        die("usage: testapp MODE ...")
    };
    let arg = |i: usize| {
        args.get(i)
            .map_or_else(|| die("missing argument"), String::as_str)
    };
    match mode.as_str() {
        "exit" => std::process::exit(arg(1).parse().unwrap_or_else(|_| die("bad code"))),
        "sleep" => {
            say(&format!("ready pid={}", getpid()));
            forever();
        }
        "trap" => trap(&args[1..]),
        "ignore-term" => trap(&["TERM".into(), "--exit-on".into(), "none".into()]),
        "kill-self" => {
            let _ = kill(getpid(), Signal::try_from(parse_signal(arg(1))).ok());
            forever();
        }
        "report" => report(),
        "spawn" => {
            let pid = spawn_child(&args[1..], Stdio::null());
            say(&format!("child {pid}"));
        }
        "run-then" => {
            let code: i32 = arg(1).parse().unwrap_or_else(|_| die("bad code"));
            spawn_child(&args[2..], Stdio::null());
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            std::process::exit(code);
        }
        "orphans" => orphans(arg(1).parse().unwrap_or_else(|_| die("bad count"))),
        "block" => {
            let mut set = nix::sys::signal::SigSet::empty();
            for n in signals(arg(1)) {
                set.add(Signal::try_from(n).unwrap_or_else(|_| die("bad signal")));
            }
            if let Err(e) = set.thread_block() {
                die(&format!("sigprocmask: {e}"));
            }
            let Some(program) = args.get(3) else {
                die("block SIGS -- CMD...")
            };
            let err = Command::new(program).args(&args[4..]).exec();
            die(&format!("exec {program}: {err}"));
        }
        "libc-default" => {
            for n in [32, 33] {
                sys::set_default(n);
            }
            exec_rest(&args[2..]);
        }
        "deny" => {
            let numbers: Vec<i64> = arg(1).split(',').map(sys::syscall_number).collect();
            sys::deny(&numbers);
            exec_rest(&args[3..]);
        }
        "fork-storm" => fork_storm(arg(1).parse().unwrap_or_else(|_| die("bad count"))),
        "trap-all" => trap_all(&args[1..]),
        "handler-forks" => handler_forks(&args[1..]),
        "await" => {
            let end = arg(1);
            say(&format!("ready pid={}", getpid()));
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            if let Ok(code) = end.parse::<i32>() {
                std::process::exit(code);
            }
            let _ = kill(getpid(), Signal::try_from(parse_signal(end)).ok());
            forever();
        }
        other => die(&format!("unknown mode {other}")),
    }
}
