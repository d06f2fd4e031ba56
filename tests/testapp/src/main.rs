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
//!   signal-storm PID SIG N     send SIG to PID N times, print `sent N`
//!   block SIGS -- CMD...       block SIGS, then exec CMD (to start grace with a mask)

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
            let line = format!("{name} {} {}\n", getpid(), unix_ms());
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path);
            if let Ok(mut f) = file {
                let _ = f.write_all(line.as_bytes());
            }
        }
        say(&format!("got {name}"));
        if exit_on.contains(&sig) {
            std::process::exit(code);
        }
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
        "signal-storm" => {
            let pid = Pid::from_raw(arg(1).parse().unwrap_or_else(|_| die("bad pid")));
            let sig = Signal::try_from(parse_signal(arg(2))).unwrap_or_else(|_| die("bad signal"));
            let n: u32 = arg(3).parse().unwrap_or_else(|_| die("bad count"));
            for _ in 0..n {
                let _ = kill(pid, sig);
            }
            say(&format!("sent {n}"));
        }
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
        other => die(&format!("unknown mode {other}")),
    }
}
