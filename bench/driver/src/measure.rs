//! The measurements. Each returns its samples; `report.rs` turns them
//! into tables and verdicts.

use std::io::Read as _;
use std::os::fd::AsFd as _;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{Init, Scale, now_ns};

/// Upper bound for any one wait on an app or an init.
const PATIENCE: Duration = Duration::from_secs(30);
/// The grace period of the deadline benchmark.
pub const DEADLINE: Duration = Duration::from_secs(1);

/// Per-init memory and idle cost.
pub struct Idle {
    pub wakeups_per_min: f64,
    pub rss_kb: u64,
    pub hwm_kb: u64,
}

/// One reaping trial.
pub struct Reap {
    pub ms: f64,
    pub peak_zombies: usize,
}

pub struct Results {
    pub true_ms: Vec<f64>,
    /// Per init, like every `Vec<Vec<_>>` here, in `inits` order.
    pub startup_ms: Vec<Vec<f64>>,
    pub signal_us: Vec<Vec<f64>>,
    pub stop_ms: Vec<Vec<f64>>,
    /// The same with the init as PID 1 of a new PID namespace.
    pub stop_pid1_ms: Vec<Vec<f64>>,
    pub idle: Vec<Idle>,
    pub reap: Vec<Vec<Reap>>,
    /// How late grace's exit came after the deadline (grace only).
    pub deadline_late_ms: Vec<f64>,
    pub sizes: Vec<u64>,
}

type R<T> = Result<T, String>;

pub fn all(inits: &[Init], scale: Scale) -> R<Results> {
    eprintln!(
        "grace-bench: start-up, {} runs each, interleaved",
        scale.startup_runs
    );
    let (true_ms, startup_ms) = startup(inits, scale.startup_runs)?;
    eprintln!(
        "grace-bench: signal latency, {} trials each",
        scale.signal_trials
    );
    let signal_us = signal_latency(inits, scale.signal_trials)?;
    eprintln!(
        "grace-bench: stop latency, {} trials each",
        scale.stop_trials
    );
    let stop_ms = round_robin(inits, scale.stop_trials, |i| stop_latency(i, false))?;
    eprintln!(
        "grace-bench: stop latency as PID 1, {} trials each",
        scale.stop_trials
    );
    let stop_pid1_ms = round_robin(inits, scale.stop_trials, |i| stop_latency(i, true))?;
    eprintln!(
        "grace-bench: idle cost and memory, {} s window",
        scale.idle_secs
    );
    let idle = idle(inits, Duration::from_secs(scale.idle_secs))?;
    eprintln!(
        "grace-bench: reaping {} orphans as PID 1, {} trial(s) each",
        scale.orphans, scale.reap_trials
    );
    let reap = round_robin(inits, scale.reap_trials, |i| reaping(i, scale.orphans))?;
    eprintln!(
        "grace-bench: deadline precision, {} trials",
        scale.deadline_trials
    );
    let grace = inits
        .iter()
        .find(|i| i.is_grace())
        .ok_or("grace is not among the inits")?;
    let deadline_late_ms = (0..scale.deadline_trials)
        .map(|_| deadline(grace))
        .collect::<R<_>>()?;
    let sizes = inits
        .iter()
        .map(|i| {
            std::fs::metadata(&i.path)
                .map(|m| m.len())
                .map_err(|e| format!("{}: {e}", i.path.display()))
        })
        .collect::<R<_>>()?;
    Ok(Results {
        true_ms,
        startup_ms,
        signal_us,
        stop_ms,
        stop_pid1_ms,
        idle,
        reap,
        deadline_late_ms,
        sizes,
    })
}

/// `trials` rounds of one trial per init: per init, its samples.
fn round_robin<T>(inits: &[Init], trials: usize, f: impl Fn(&Init) -> R<T>) -> R<Vec<Vec<T>>> {
    let mut out: Vec<Vec<T>> = inits.iter().map(|_| Vec::with_capacity(trials)).collect();
    for _ in 0..trials {
        for (init, samples) in inits.iter().zip(out.iter_mut()) {
            samples.push(f(init).map_err(|e| format!("{}: {e}", init.name))?);
        }
    }
    Ok(out)
}

fn me() -> String {
    std::env::current_exe().map_or_else(
        |_| "grace-bench".into(),
        |p| p.to_string_lossy().into_owned(),
    )
}

/// An init running the benchmark app, its stdout read line by line.
struct Running {
    child: Child,
    out: ChildStdout,
    buf: Vec<u8>,
}

impl Running {
    fn start(argv: &[String], app: &[&str]) -> R<Running> {
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .arg(me())
            .arg("app")
            .args(app)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", argv[0]))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        Ok(Running {
            child,
            out,
            buf: Vec::new(),
        })
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX))
    }

    /// Reads more output, waiting at most until `until`; `Ok(false)` at EOF.
    fn fill(&mut self, until: Instant) -> R<bool> {
        let left = until.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.out.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => return Err(format!("nothing after {PATIENCE:?}")),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(true),
            Err(e) => return Err(format!("poll: {e}")),
        }
        let mut chunk = [0u8; 4096];
        match self.out.read(&mut chunk) {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    /// The next line of output.
    fn line(&mut self) -> R<String> {
        let until = Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=at).collect();
                return Ok(String::from_utf8_lossy(&line).trim_end().to_owned());
            }
            if !self.fill(until)? {
                return Err("output ended".into());
            }
        }
    }

    fn expect(&mut self, want: &str) -> R<String> {
        let line = self.line()?;
        if line.starts_with(want) {
            Ok(line)
        } else {
            Err(format!("expected {want:?}, got {line:?}"))
        }
    }

    /// Waits for the end of the output: every holder of the pipe, the init
    /// last, has exited. Returns when that happened.
    fn eof(&mut self) -> R<Instant> {
        let until = Instant::now() + PATIENCE;
        while self.fill(until)? {}
        Ok(Instant::now())
    }

    /// Reaps the init after `eof`, bounded; returns its exit code.
    fn reap(mut self) -> R<i32> {
        let until = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| format!("wait: {e}"))? {
                return Ok(status.code().unwrap_or(-1));
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err("the init did not exit".into());
            }
            // After EOF the exit is microseconds away; this poll is only
            // the bound, the measurement was taken at EOF.
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Stops the init with SIGTERM (the app exits on it or dies of it).
    fn stop(mut self) -> R<()> {
        kill(self.pid(), Signal::SIGTERM).map_err(|e| format!("kill: {e}"))?;
        self.eof()?;
        self.reap().map(drop)
    }
}

/// `INIT -- /bin/true` against bare `/bin/true`, round-robin so that drift
/// in the machine's speed hits every command alike.
fn startup(inits: &[Init], runs: usize) -> R<(Vec<f64>, Vec<Vec<f64>>)> {
    let mut cmds: Vec<Vec<String>> = vec![vec![]];
    cmds.extend(inits.iter().map(|i| i.argv(false)));
    let mut samples = vec![Vec::with_capacity(runs); cmds.len()];
    for round in 0..runs + runs / 10 {
        for (argv, out) in cmds.iter().zip(samples.iter_mut()) {
            let (prog, args) = argv
                .split_first()
                .map_or(("/bin/true", &[][..]), |(p, a)| (p.as_str(), a));
            let mut cmd = Command::new(prog);
            cmd.args(args);
            if !argv.is_empty() {
                cmd.arg("/bin/true");
            }
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let t0 = Instant::now();
            let status = cmd.status().map_err(|e| format!("{prog}: {e}"))?;
            let took = t0.elapsed();
            if !status.success() {
                return Err(format!("{argv:?} /bin/true: {status}"));
            }
            // The first tenth warms caches and is not kept.
            if round >= runs / 10 {
                out.push(took.as_secs_f64() * 1e3);
            }
        }
    }
    let true_ms = samples.remove(0);
    Ok((true_ms, samples))
}

/// Every init at once, each with the app in `mode`, each ready.
fn start_all(inits: &[Init], mode: &str) -> R<Vec<Running>> {
    let start = |i: &Init| -> R<Running> {
        let mut run = Running::start(&i.argv(false), &[mode])?;
        run.expect("ready")?;
        Ok(run)
    };
    inits
        .iter()
        .map(|i| start(i).map_err(|e| format!("{}: {e}", i.name)))
        .collect()
}

/// From `kill(init, SIGUSR1)` to the app's `sigwait` returning, in µs.
/// Every init runs its app at once and the trials go round-robin, so that
/// drift in the machine's speed hits every init alike.
fn signal_latency(inits: &[Init], trials: usize) -> R<Vec<Vec<f64>>> {
    let mut runs = start_all(inits, "usr1")?;
    let mut out = vec![Vec::with_capacity(trials); inits.len()];
    for _ in 0..trials {
        for ((run, samples), init) in runs.iter_mut().zip(out.iter_mut()).zip(inits) {
            let t0 = now_ns();
            kill(run.pid(), Signal::SIGUSR1).map_err(|e| format!("{}: kill: {e}", init.name))?;
            let line = run
                .expect("usr1 ")
                .map_err(|e| format!("{}: {e}", init.name))?;
            let t1: u64 = line[5..]
                .parse()
                .map_err(|_| format!("bad line {line:?}"))?;
            samples.push(t1.saturating_sub(t0) as f64 / 1e3);
        }
    }
    for run in runs {
        run.stop()?;
    }
    Ok(out)
}

/// `unshare --pid --fork --mount-proc` followed by the init's PID-1 argv.
fn as_pid1(init: &Init) -> Vec<String> {
    let mut argv: Vec<String> = ["unshare", "--pid", "--fork", "--mount-proc"]
        .map(String::from)
        .to_vec();
    argv.extend(init.argv(true));
    argv
}

/// The host pid of the only child of `parent`: the PID 1 that
/// `unshare --fork` started.
fn only_child(parent: Pid) -> R<Pid> {
    let dir = std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
    let children: Vec<Pid> = dir
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit_once(") ")
                    .and_then(|(_, r)| r.split(' ').nth(1)?.parse::<i32>().ok())
                    == Some(parent.as_raw())
            })
        })
        .map(Pid::from_raw)
        .collect();
    match children[..] {
        [pid] => Ok(pid),
        _ => Err(format!("{parent} has children {children:?}, expected one")),
    }
}

/// From `kill(init, SIGTERM)` to the init's exit, the app exiting at once;
/// as a plain child of the driver, or as PID 1 of a new PID namespace.
fn stop_latency(init: &Init, pid1: bool) -> R<f64> {
    let argv = if pid1 {
        as_pid1(init)
    } else {
        init.argv(false)
    };
    let mut run = Running::start(&argv, &["term-exit"])?;
    run.expect("ready")?;
    let target = if pid1 {
        only_child(run.pid())?
    } else {
        run.pid()
    };
    let t0 = Instant::now();
    kill(target, Signal::SIGTERM).map_err(|e| format!("kill: {e}"))?;
    let t1 = run.eof()?;
    let code = run.reap()?;
    if code != 0 {
        return Err(format!("exit code {code} after a clean stop"));
    }
    Ok((t1 - t0).as_secs_f64() * 1e3)
}

/// `(voluntary + nonvoluntary context switches, VmRSS kB, VmHWM kB)`.
fn proc_status(pid: Pid) -> R<(u64, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((
        field("voluntary_ctxt_switches:") + field("nonvoluntary_ctxt_switches:"),
        field("VmRSS:"),
        field("VmHWM:"),
    ))
}

/// Every init at once, each supervising a sleeping app, over one window:
/// how often the init itself ran (context switches), and its memory.
fn idle(inits: &[Init], window: Duration) -> R<Vec<Idle>> {
    let runs = start_all(inits, "sleep")?;
    let before: Vec<_> = runs
        .iter()
        .map(|r| proc_status(r.pid()))
        .collect::<R<_>>()?;
    std::thread::sleep(window);
    let after: Vec<_> = runs
        .iter()
        .map(|r| proc_status(r.pid()))
        .collect::<R<_>>()?;
    for r in runs {
        r.stop()?;
    }
    let minutes = window.as_secs_f64() / 60.0;
    Ok(before
        .iter()
        .zip(&after)
        .map(|(b, a)| Idle {
            wakeups_per_min: a.0.saturating_sub(b.0) as f64 / minutes,
            rss_kb: a.1,
            hwm_kb: a.2,
        })
        .collect())
}

/// The init as PID 1 of a new PID namespace; the app leaves `n` orphans
/// that exit together and times until PID 1 has reaped them all.
fn reaping(init: &Init, n: usize) -> R<Reap> {
    let mut run = Running::start(&as_pid1(init), &["orphans", &n.to_string()])?;
    let line = run.expect("orphans ")?;
    run.eof()?;
    let code = run.reap()?;
    if code != 0 {
        return Err(format!("exit code {code} ({line})"));
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let (Some(ms), Some(peak)) = (
        words.get(3).and_then(|w| w.parse().ok()),
        words.get(5).and_then(|w| w.parse().ok()),
    ) else {
        return Err(format!("bad line {line:?}"));
    };
    Ok(Reap {
        ms,
        peak_zombies: peak,
    })
}

/// grace with a 1 s grace period around an app that ignores SIGTERM: how
/// long after the deadline grace has killed it, reaped it and exited.
fn deadline(grace: &Init) -> R<f64> {
    let period = format!("{}ms", DEADLINE.as_millis());
    let argv = vec![
        grace.path.to_string_lossy().into_owned(),
        "--grace-period".into(),
        period,
        "--".into(),
    ];
    let mut run = Running::start(&argv, &["ignore-term"])?;
    run.expect("ready")?;
    let t0 = Instant::now();
    kill(run.pid(), Signal::SIGTERM).map_err(|e| format!("kill: {e}"))?;
    let t1 = run.eof()?;
    let code = run.reap()?;
    if code != 137 {
        return Err(format!("grace exited {code}, not 137"));
    }
    Ok(((t1 - t0).as_secs_f64() - DEADLINE.as_secs_f64()) * 1e3)
}
