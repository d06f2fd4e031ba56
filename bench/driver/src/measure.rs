//! The measurements. Each returns its samples; `report.rs` turns them
//! into tables and verdicts.

use std::io::Read as _;
use std::os::fd::{AsFd as _, RawFd};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cgroup::{self, Group, Kind};
use crate::{Init, Scale, now_ns};

/// Upper bound for any one wait on an app or an init.
const PATIENCE: Duration = Duration::from_secs(30);
/// The grace period of the deadline benchmark.
pub const DEADLINE: Duration = Duration::from_secs(1);

/// Where one command runs: in a cgroup of its own (joined between fork
/// and exec), or in the driver's, on the host.
#[derive(Clone, Copy)]
pub enum Place<'a> {
    Cgroup(&'a Group),
    Host,
}

/// A command that starts at `at`.
fn command(prog: &str, at: Place<'_>) -> Command {
    let mut cmd = Command::new(prog);
    if let Place::Cgroup(group) = at {
        let fd: RawFd = group.procs_fd();
        // SAFETY: between fork and exec only one write(2) of a static
        // buffer to a descriptor the driver keeps open: async-signal-safe,
        // no allocation. "0" is the writing process itself.
        unsafe {
            cmd.pre_exec(move || {
                if nix::libc::write(fd, b"0".as_ptr().cast(), 1) == 1 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    cmd
}

/// The cgroups of a run: one per init, one for bare `/bin/true`.
pub struct Groups {
    pub kind: Kind,
    per_init: Vec<Group>,
    bare: Group,
}

impl Groups {
    /// Creates them, or `None` when the machine has no cpu cgroup to use.
    pub fn create(inits: &[Init]) -> R<Option<Groups>> {
        let Some((kind, root)) = cgroup::detect() else {
            return Ok(None);
        };
        let per_init = inits
            .iter()
            .map(|i| cgroup::create(kind, &root, i.name))
            .collect::<R<_>>()?;
        let bare = cgroup::create(kind, &root, "true")?;
        // A process started there says where it is.
        let out = command("cat", Place::Cgroup(&bare))
            .arg("/proc/self/cgroup")
            .output()
            .map_err(|e| format!("cat /proc/self/cgroup: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !cgroup::shows(&text, kind, bare.name()) {
            return Err(format!(
                "a process started in {} shows {text:?}",
                bare.name()
            ));
        }
        Ok(Some(Groups {
            kind,
            per_init,
            bare,
        }))
    }
}

/// Where each latency measurement ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Where {
    /// Each init and its app in a cgroup of their own, as in a container.
    Cgroup(Kind),
    /// The driver's own cgroup: the host's root, where autogroup applies.
    Host,
}

/// The placements measured, the one reported first first.
fn placements(groups: Option<&Groups>) -> Vec<Where> {
    match groups {
        Some(g) => vec![Where::Cgroup(g.kind), Where::Host],
        None => vec![Where::Host],
    }
}

/// Init `n`'s place for `w` (`None`: bare `/bin/true`).
fn place<'a>(groups: Option<&'a Groups>, w: Where, n: Option<usize>) -> Place<'a> {
    match (groups, w) {
        (Some(g), Where::Cgroup(_)) => {
            Place::Cgroup(n.and_then(|n| g.per_init.get(n)).unwrap_or(&g.bare))
        }
        _ => Place::Host,
    }
}

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

/// Start-up and latencies at one placement.
pub struct Latency {
    pub at: Where,
    pub true_ms: Vec<f64>,
    /// Per init, like every `Vec<Vec<_>>` here, in `inits` order.
    pub startup_ms: Vec<Vec<f64>>,
    pub signal_us: Vec<Vec<f64>>,
    pub stop_ms: Vec<Vec<f64>>,
    /// The same with the init as PID 1 of a new PID namespace.
    pub stop_pid1_ms: Vec<Vec<f64>>,
}

/// Stops as PID 1 on a busy host ([`busy_stops`]).
pub struct Busy {
    /// How many processes slept on the host meanwhile.
    pub crowd: usize,
    /// Per init, the samples.
    pub stop_ms: Vec<Vec<f64>>,
}

/// One stop of a big tree: SIGTERM to the end, and (when sampled) the
/// init's own CPU time and peak RSS.
#[derive(Clone, Copy)]
pub struct TreeStop {
    pub ms: f64,
    pub cpu_ms: f64,
    pub hwm_kb: u64,
}

/// The tree an app builds for the scale benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tree {
    /// Every process in the app's process group.
    Group,
    /// Half of the processes in sessions of their own (`setsid`).
    HalfEscaped,
}

/// grace's cost at one size, mode and tree.
pub struct Cost {
    pub n: usize,
    pub pid1: bool,
    pub tree: Tree,
    pub trials: Vec<TreeStop>,
}

/// The scale benchmarks.
pub struct Scaled {
    /// The size of the side-by-side trees.
    pub n: usize,
    /// Per init, as a subreaper (`[0]`) and as PID 1 (`[1]`): a tree all
    /// in the app's group. Empty where the init does not apply.
    pub group: [Vec<Vec<TreeStop>>; 2],
    /// grace only: half of the tree escaped.
    pub escaped: [Vec<TreeStop>; 2],
    /// grace's own CPU and memory, by size.
    pub costs: Vec<Cost>,
}

pub struct Results {
    /// The cgroup figures first when the machine has cgroups, then the
    /// host's.
    pub latency: Vec<Latency>,
    pub idle: Vec<Idle>,
    pub reap: Vec<Vec<Reap>>,
    /// How late grace's exit came after the deadline (grace only).
    pub deadline_late_ms: Vec<f64>,
    pub sizes: Vec<u64>,
    pub scaled: Scaled,
    pub busy: Busy,
    /// How long the run took, and the CPU time the hypervisor took from
    /// this machine meanwhile (steal), when /proc/stat shows it.
    pub wall_s: f64,
    pub steal_s: Option<f64>,
}

/// The machine's steal time so far, in seconds: the eighth value of
/// `/proc/stat`'s `cpu` line, in `USER_HZ` (100 a second) ticks.
fn steal_now() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: u64 = text
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .nth(7)?
        .parse()
        .ok()?;
    Some(ticks as f64 / 100.0)
}

type R<T> = Result<T, String>;

pub fn all(inits: &[Init], scale: Scale) -> R<Results> {
    let (t0, steal0) = (Instant::now(), steal_now());
    let groups = Groups::create(inits)?;
    let groups = groups.as_ref();
    let wheres = placements(groups);
    match groups {
        Some(g) => eprintln!(
            "grace-bench: a {:?} cgroup per init, and the host's for comparison",
            g.kind
        ),
        None => eprintln!("grace-bench: no cpu cgroup on this machine: host figures only"),
    }
    eprintln!(
        "grace-bench: start-up, {} runs each, interleaved",
        scale.startup_runs
    );
    let mut startup_all = startup(inits, groups, &wheres, scale.startup_runs)?;
    let mut latency = Vec::new();
    for &w in &wheres {
        eprintln!(
            "grace-bench: signal latency ({w:?}), {} trials each",
            scale.signal_trials
        );
        let signal_us = signal_latency(inits, groups, w, scale.signal_trials)?;
        let (true_ms, startup_ms) = startup_all.remove(0);
        latency.push(Latency {
            at: w,
            true_ms,
            startup_ms,
            signal_us,
            stop_ms: Vec::new(),
            stop_pid1_ms: Vec::new(),
        });
    }
    for pid1 in [false, true] {
        eprintln!(
            "grace-bench: stop latency{}, {} trials each, placements interleaved",
            if pid1 { " as PID 1" } else { "" },
            scale.stop_trials
        );
        let per_where = round_robin_at(inits, groups, &wheres, scale.stop_trials, |i, at| {
            stop_latency(i, pid1, at)
        })?;
        for (lat, samples) in latency.iter_mut().zip(per_where) {
            if pid1 {
                lat.stop_pid1_ms = samples;
            } else {
                lat.stop_ms = samples;
            }
        }
    }
    let first = wheres[0];
    eprintln!(
        "grace-bench: stop latency as PID 1 with {} processes more on the host, {} trials each",
        scale.crowd, scale.crowd_trials
    );
    let busy = busy_stops(inits, groups, first, scale.crowd, scale.crowd_trials)?;
    eprintln!(
        "grace-bench: idle cost and memory, {} s window",
        scale.idle_secs
    );
    let idle = idle(inits, groups, first, Duration::from_secs(scale.idle_secs))?;
    eprintln!(
        "grace-bench: reaping {} orphans as PID 1, {} trial(s) each",
        scale.orphans, scale.reap_trials
    );
    let reap = round_robin_at(inits, groups, &[first], scale.reap_trials, |i, at| {
        reaping(i, scale.orphans, at)
    })?
    .remove(0);
    eprintln!(
        "grace-bench: deadline precision, {} trials",
        scale.deadline_trials
    );
    let g = inits
        .iter()
        .position(Init::is_grace)
        .ok_or("grace is not among the inits")?;
    let grace_at = place(groups, first, Some(g));
    let deadline_late_ms = (0..scale.deadline_trials)
        .map(|_| deadline(&inits[g], grace_at))
        .collect::<R<_>>()?;
    let scaled = scaled(inits, groups, first, scale)?;
    let sizes = inits
        .iter()
        .map(|i| {
            std::fs::metadata(&i.path)
                .map(|m| m.len())
                .map_err(|e| format!("{}: {e}", i.path.display()))
        })
        .collect::<R<_>>()?;
    Ok(Results {
        latency,
        idle,
        reap,
        deadline_late_ms,
        sizes,
        scaled,
        busy,
        wall_s: t0.elapsed().as_secs_f64(),
        steal_s: steal0.zip(steal_now()).map(|(a, b)| b - a),
    })
}

/// Only the stop latencies, in cgroups when the machine has them: per
/// mode (subreaper, PID 1), per init, the samples. For working on the
/// stop (`grace-bench stops`).
pub fn stops_only(inits: &[Init], trials: usize) -> R<Vec<Vec<Vec<f64>>>> {
    let groups = Groups::create(inits)?;
    let wheres = placements(groups.as_ref());
    [false, true]
        .into_iter()
        .map(|pid1| {
            round_robin_at(inits, groups.as_ref(), &wheres[..1], trials, |i, at| {
                stop_latency(i, pid1, at)
            })
            .map(|mut per_where| per_where.remove(0))
        })
        .collect()
}

/// Only the stops as PID 1 on a busy host ([`busy_stops`]), in cgroups
/// when the machine has them.
pub fn busy_only(inits: &[Init], crowd: usize, trials: usize) -> R<Busy> {
    let groups = Groups::create(inits)?;
    let w = placements(groups.as_ref())[0];
    busy_stops(inits, groups.as_ref(), w, crowd, trials)
}

/// A name and its samples.
pub type Samples = (String, Vec<f64>);

/// Big-tree stops alone, for working on the stop path at scale: per mode
/// (subreaper, PID 1), per init, the trials of a tree all in the app's
/// group, then for each build of grace one half escaped.
pub fn trees_only(inits: &[Init], n: usize, trials: usize) -> R<Vec<Vec<Samples>>> {
    let groups = Groups::create(inits)?;
    let w = placements(groups.as_ref())[0];
    let mut out: Vec<Vec<Samples>> = vec![Vec::new(), Vec::new()];
    for rows in &mut out {
        for init in inits.iter().filter(|i| applies(i)) {
            rows.push((init.name.to_owned(), Vec::new()));
            if init.name.starts_with("grace") {
                rows.push((format!("{}, half escaped", init.name), Vec::new()));
            }
        }
    }
    for trial in 0..trials {
        for (k, pid1) in [false, true].into_iter().enumerate() {
            let mut row = 0;
            for (i, init) in inits.iter().enumerate() {
                if !applies(init) {
                    continue;
                }
                let at = place(groups.as_ref(), w, Some(i));
                let trees: &[Tree] = if init.name.starts_with("grace") {
                    &[Tree::Group, Tree::HalfEscaped]
                } else {
                    &[Tree::Group]
                };
                for &tree in trees {
                    let stop = tree_stop(init, pid1, tree, n, at, false)
                        .map_err(|e| format!("{}: {e}", init.name))?;
                    out[k][row].1.push(stop.ms);
                    row += 1;
                }
            }
            eprintln!(
                "grace-bench: trial {} of {trials}, PID 1: {pid1}",
                trial + 1
            );
        }
    }
    Ok(out)
}

/// `trials` rounds; in each, one trial per placement and init, in turn.
/// Per placement, per init, its samples.
/// The order of round `round` over `len` inits: each round starts with
/// the next one. The first trial after a change of placement ran 23 µs
/// (as PID 1, 47 µs) slower at the median than the same binary last in
/// its round, and grace, always first before this, paid it in every run.
fn rotation(round: usize, len: usize) -> impl Iterator<Item = usize> {
    (0..len).map(move |k| (round + k) % len)
}

fn round_robin_at<T>(
    inits: &[Init],
    groups: Option<&Groups>,
    wheres: &[Where],
    trials: usize,
    f: impl Fn(&Init, Place<'_>) -> R<T>,
) -> R<Vec<Vec<Vec<T>>>> {
    let mut out: Vec<Vec<Vec<T>>> = wheres
        .iter()
        .map(|_| inits.iter().map(|_| Vec::with_capacity(trials)).collect())
        .collect();
    for trial in 0..trials {
        for (&w, per_init) in wheres.iter().zip(out.iter_mut()) {
            for n in rotation(trial, inits.len()) {
                let at = place(groups, w, Some(n));
                let init = &inits[n];
                per_init[n].push(f(init, at).map_err(|e| format!("{}: {e}", init.name))?);
            }
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
    fn start(argv: &[String], app: &[&str], at: Place<'_>) -> R<Running> {
        let mut cmd = command(&argv[0], at);
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

    /// Like [`Running::eof`], calling `sample` every millisecond while it
    /// waits.
    fn eof_sampled(&mut self, mut sample: impl FnMut()) -> R<Instant> {
        let until = Instant::now() + PATIENCE;
        loop {
            let mut fds = [PollFd::new(self.out.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(1u8)) {
                Ok(0) => {
                    if Instant::now() > until {
                        return Err(format!("no end after {PATIENCE:?}"));
                    }
                    sample();
                    continue;
                }
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(format!("poll: {e}")),
            }
            let mut chunk = [0u8; 4096];
            match self.out.read(&mut chunk) {
                Ok(0) => return Ok(Instant::now()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
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

/// `INIT -- /bin/true` against bare `/bin/true`, round-robin over the
/// commands and the placements so that drift in the machine's speed hits
/// every command alike. Per placement: bare `true`'s samples, each init's.
#[allow(clippy::type_complexity)]
fn startup(
    inits: &[Init],
    groups: Option<&Groups>,
    wheres: &[Where],
    runs: usize,
) -> R<Vec<(Vec<f64>, Vec<Vec<f64>>)>> {
    let mut cmds: Vec<Vec<String>> = vec![vec![]];
    cmds.extend(inits.iter().map(|i| i.argv(false)));
    let mut samples = vec![vec![Vec::with_capacity(runs); cmds.len()]; wheres.len()];
    for round in 0..runs + runs / 10 {
        for (&w, per_cmd) in wheres.iter().zip(samples.iter_mut()) {
            for n in rotation(round, cmds.len()) {
                let (argv, out) = (&cmds[n], &mut per_cmd[n]);
                let (prog, args) = argv
                    .split_first()
                    .map_or(("/bin/true", &[][..]), |(p, a)| (p.as_str(), a));
                let mut cmd = command(prog, place(groups, w, n.checked_sub(1)));
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
    }
    Ok(samples
        .into_iter()
        .map(|mut per_cmd| {
            let bare = per_cmd.remove(0);
            (bare, per_cmd)
        })
        .collect())
}

/// Every init at once, each with the app in `mode`, each ready.
fn start_all(inits: &[Init], groups: Option<&Groups>, w: Where, mode: &str) -> R<Vec<Running>> {
    let start = |n: usize, i: &Init| -> R<Running> {
        let mut run = Running::start(&i.argv(false), &[mode], place(groups, w, Some(n)))?;
        run.expect("ready")?;
        Ok(run)
    };
    inits
        .iter()
        .enumerate()
        .map(|(n, i)| start(n, i).map_err(|e| format!("{}: {e}", i.name)))
        .collect()
}

/// From `kill(init, SIGUSR1)` to the app's `sigwait` returning, in µs.
/// Every init runs its app at once and the trials go round-robin, so that
/// drift in the machine's speed hits every init alike.
fn signal_latency(
    inits: &[Init],
    groups: Option<&Groups>,
    w: Where,
    trials: usize,
) -> R<Vec<Vec<f64>>> {
    let mut runs = start_all(inits, groups, w, "usr1")?;
    // Once, before the first trial: the inits run on, and one is back in
    // its wait within microseconds of a forward, long before its next
    // trial after every other init's.
    for (run, init) in runs.iter().zip(inits) {
        until_idle(run.pid()).map_err(|e| format!("{}: {e}", init.name))?;
    }
    let mut out = vec![Vec::with_capacity(trials); inits.len()];
    for trial in 0..trials {
        for n in rotation(trial, inits.len()) {
            let (run, samples, init) = (&mut runs[n], &mut out[n], &inits[n]);
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
    let mut argv = as_pid1_prefix();
    argv.extend(init.argv(true));
    argv
}

fn as_pid1_prefix() -> Vec<String> {
    ["unshare", "--pid", "--fork", "--mount-proc"]
        .map(String::from)
        .to_vec()
}

/// The host pid of the only child of `parent`: the PID 1 that
/// `unshare --fork` started.
fn only_child(parent: Pid) -> R<Pid> {
    // One small read where the kernel has children files; else a scan of
    // every process's stat (some 30 ms with the busy host's 6,000).
    if let Ok(text) = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")) {
        let children: Vec<&str> = text.split_whitespace().collect();
        return match children[..] {
            [pid] => pid
                .parse()
                .map(Pid::from_raw)
                .map_err(|_| format!("bad children file {text:?}")),
            _ => Err(format!("{parent} has children {children:?}, expected one")),
        };
    }
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
fn stop_latency(init: &Init, pid1: bool, at: Place<'_>) -> R<f64> {
    let argv = if pid1 {
        as_pid1(init)
    } else {
        init.argv(false)
    };
    let mut run = Running::start(&argv, &["term-exit"], at)?;
    run.expect("ready")?;
    let target = if pid1 {
        only_child(run.pid())?
    } else {
        run.pid()
    };
    until_idle(target)?;
    let t0 = Instant::now();
    kill(target, Signal::SIGTERM).map_err(|e| format!("kill: {e}"))?;
    let t1 = run.eof()?;
    let code = run.reap()?;
    if code != 0 {
        return Err(format!("exit code {code} after a clean stop"));
    }
    Ok((t1 - t0).as_secs_f64() * 1e3)
}

/// Stops as PID 1 (as [`stop_latency`]) while `crowd` processes sleep on
/// the host, outside the init's namespace: a node that runs other pods.
/// What an init does at a stop that depends on the host's processes, not
/// the container's, shows here (grace's `kill(-1)` as PID 1 did: the
/// kernel walks every task of the host for it).
fn busy_stops(
    inits: &[Init],
    groups: Option<&Groups>,
    w: Where,
    crowd: usize,
    trials: usize,
) -> R<Busy> {
    let base = processes();
    let mut sleepers = Crowd::start(crowd)?;
    let samples = round_robin_at(inits, groups, &[w], trials, |i, at| {
        stop_latency(i, true, at)
    });
    sleepers.stop(base)?;
    Ok(Busy {
        crowd,
        stop_ms: samples?.remove(0),
    })
}

/// The benchmark app's tree of sleeping processes, started by the driver
/// itself in a process group of its own: killed with it if not stopped.
struct Crowd {
    /// `None` once stopped.
    run: Option<Running>,
}

impl Crowd {
    fn start(n: usize) -> R<Crowd> {
        let mut child = Command::new(me())
            .args(["app", "tree", &n.to_string(), "0"])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("the crowd: {e}"))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let mut run = Running {
            child,
            out,
            buf: Vec::new(),
        };
        let ready = run.expect("ready");
        let crowd = Crowd { run: Some(run) };
        ready.map(|_| crowd)
    }

    /// SIGTERM to every process of it (all die of it), then waits until
    /// the host's process count is back to `base` or near it (the host's
    /// init reaps the workers).
    fn stop(&mut self, base: usize) -> R<()> {
        let Some(mut run) = self.run.take() else {
            return Ok(());
        };
        kill(Pid::from_raw(-run.pid().as_raw()), Signal::SIGTERM)
            .map_err(|e| format!("the crowd: kill: {e}"))?;
        run.eof()?;
        run.reap()?;
        until_processes(base + 50, "after the crowd")
    }
}

impl Drop for Crowd {
    fn drop(&mut self) {
        if let Some(run) = self.run.as_mut() {
            let _ = kill(Pid::from_raw(-run.pid().as_raw()), Signal::SIGKILL);
            let _ = run.child.wait();
        }
    }
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
fn idle(inits: &[Init], groups: Option<&Groups>, w: Where, window: Duration) -> R<Vec<Idle>> {
    let runs = start_all(inits, groups, w, "sleep")?;
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
fn reaping(init: &Init, n: usize, at: Place<'_>) -> R<Reap> {
    let mut run = Running::start(&as_pid1(init), &["orphans", &n.to_string()], at)?;
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
fn deadline(grace: &Init, at: Place<'_>) -> R<f64> {
    let period = format!("{}ms", DEADLINE.as_millis());
    let argv = vec![
        grace.path.to_string_lossy().into_owned(),
        "--grace-period".into(),
        period,
        "--".into(),
    ];
    let mut run = Running::start(&argv, &["ignore-term"], at)?;
    run.expect("ready")?;
    until_idle(run.pid())?;
    let t0 = Instant::now();
    kill(run.pid(), Signal::SIGTERM).map_err(|e| format!("kill: {e}"))?;
    let t1 = run.eof()?;
    let code = run.reap()?;
    if code != 137 {
        return Err(format!("grace exited {code}, not 137"));
    }
    Ok(((t1 - t0).as_secs_f64() - DEADLINE.as_secs_f64()) * 1e3)
}

/// How many processes /proc lists.
fn processes() -> usize {
    std::fs::read_dir("/proc").map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .count()
    })
}

/// Waits until the machine holds no more than a tenth of a tree of `n`
/// beyond what it held at the first call: the last trial's processes are
/// gone (bounded by the patience).
fn settle(n: usize) -> R<()> {
    static BASE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(processes);
    until_processes(base + n / 10 + 50, "after the last trial")
}

/// Waits (bounded) until /proc lists at most `limit` processes: the
/// host's init has reaped what a tree left.
fn until_processes(limit: usize, what: &str) -> R<()> {
    let until = Instant::now() + PATIENCE;
    loop {
        let now = processes();
        if now <= limit {
            return Ok(());
        }
        if Instant::now() > until {
            return Err(format!(
                "{now} processes still listed {what} (at most {limit} expected)"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until `pid` sleeps in its wait for signals, as a signal in
/// production finds an init. Sent the moment the app prints `ready`, it
/// could find an init still finishing its own start-up, and measure that
/// instead of the stop (or the forwarding): grace, which waits for the app's exec to succeed and
/// then prepares its stop, was caught so in about half of the trials of a
/// perf-traced run that kept the app on grace's CPU. The wait is read in
/// `/proc/PID/wchan` (the kernel function the process sleeps in); where
/// that never shows a known wait, the bench warns once and stops waiting.
fn until_idle(pid: Pid) -> R<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Where the inits sleep for signals: `sigtimedwait` (grace, tini,
    /// dumb-init, the floor), a signalfd's `read` (catatonit).
    const WAITS: [&str; 2] = ["do_sigtimedwait", "signalfd_read"];
    /// Longer than any init's start-up: past it, wchan is taken not to
    /// show the waits above on this kernel.
    const UNSEEN: Duration = Duration::from_millis(200);
    static SHOWN: AtomicBool = AtomicBool::new(true);
    if !SHOWN.load(Ordering::Relaxed) {
        return Ok(());
    }
    let path = format!("/proc/{pid}/wchan");
    let until = Instant::now() + UNSEEN;
    loop {
        let wchan = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        if WAITS.iter().any(|w| wchan.starts_with(w)) {
            return Ok(());
        }
        if Instant::now() > until {
            SHOWN.store(false, Ordering::Relaxed);
            eprintln!(
                "grace-bench: warning: {path} shows {wchan:?}, no known wait for signals: \
                 signals go out without waiting for the inits to be idle"
            );
            return Ok(());
        }
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// The init's CPU time so far, in ns: the first field of
/// `/proc/PID/schedstat`, which a zombie still shows.
fn cpu_ns(pid: Pid) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// SCHED_FIFO for the driver while it lives, SCHED_OTHER again after.
struct RealTime;

impl RealTime {
    fn enter() -> RealTime {
        set_policy(nix::libc::SCHED_FIFO, 1);
        RealTime
    }
}

impl Drop for RealTime {
    fn drop(&mut self) {
        set_policy(nix::libc::SCHED_OTHER, 0);
    }
}

fn set_policy(policy: nix::libc::c_int, priority: nix::libc::c_int) {
    let param = nix::libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: sched_setscheduler(2) on this thread (0) with a parameter
    // that lives for the call. Failure (no privilege) only means coarser
    // samples.
    unsafe {
        nix::libc::sched_setscheduler(0, policy, &raw const param);
    }
}

/// Whether the scale benchmarks apply to `init`: every real init; the
/// floor reaps only until its own child is gone.
fn applies(init: &Init) -> bool {
    !init.is_floor()
}

/// A tree of `n` processes below the init (see the app's `tree` mode),
/// stopped with SIGTERM to the init: from the signal to the end of the
/// init's stdout, which every process of the tree holds (so: the init and
/// the whole tree gone). With `sample`, the driver also reads the init's
/// CPU time and VmHWM every millisecond while it waits, and its CPU time
/// once more when it is a zombie.
fn tree_stop(
    init: &Init,
    pid1: bool,
    tree: Tree,
    n: usize,
    at: Place<'_>,
    sample: bool,
) -> R<TreeStop> {
    let result = tree_stop_once(init, pid1, tree, n, at, sample);
    // Whatever a failed stop left of the tree must not outlive the run.
    if result.is_err()
        && let Place::Cgroup(group) = at
    {
        group.kill_all();
    }
    result
}

fn tree_stop_once(
    init: &Init,
    pid1: bool,
    tree: Tree,
    n: usize,
    at: Place<'_>,
    sample: bool,
) -> R<TreeStop> {
    settle(n)?;
    let mut argv = init.group_argv(pid1);
    if pid1 {
        argv.splice(0..0, as_pid1_prefix());
    }
    let escaped = match tree {
        Tree::Group => 0,
        Tree::HalfEscaped => n / 2,
    };
    let mut run = Running::start(&argv, &["tree", &n.to_string(), &escaped.to_string()], at)?;
    run.expect("ready")?;
    let target = if pid1 {
        only_child(run.pid())?
    } else {
        run.pid()
    };
    until_idle(target)?;
    let cpu0 = if sample { cpu_ns(target) } else { None };
    let mut cpu = cpu0;
    let mut hwm = 0;
    let t0 = Instant::now();
    kill(target, Signal::SIGTERM).map_err(|e| format!("kill: {e}"))?;
    // The driver samples as a real-time thread: with thousands of exiting
    // processes runnable on two CPUs, a plain one would not run again
    // before the stop is over. Each sample costs some 20 µs a millisecond.
    let _rt = sample.then(RealTime::enter);
    let t1 = if sample {
        run.eof_sampled(|| {
            if let Some(c) = cpu_ns(target) {
                cpu = Some(c);
            }
            if let Ok((_, _, h)) = proc_status(target) {
                hwm = hwm.max(h);
            }
        })?
    } else {
        run.eof()?
    };
    // The end of the pipe came when the init closed it, in its exit: its
    // CPU time is all there now. As a plain child it is a zombie of ours
    // until reaped; as PID 1 `unshare` may have reaped it already (the
    // read then fails and the last sample stands; its pid cannot have been
    // reused in the microseconds since, pids are allocated in turn).
    if sample && let Some(c) = cpu_ns(target) {
        cpu = Some(c);
    }
    let code = run.reap()?;
    if code != 0 {
        return Err(format!("exit code {code} after stopping a tree of {n}"));
    }
    let cpu_ms = match (cpu0, cpu) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e6,
        _ => f64::NAN,
    };
    Ok(TreeStop {
        ms: (t1 - t0).as_secs_f64() * 1e3,
        cpu_ms,
        hwm_kb: hwm,
    })
}

/// The scale benchmarks: every init side by side on a big tree all in the
/// app's group, grace alone on one half escaped, and grace's own cost as
/// the tree grows. Trials go round-robin.
fn scaled(inits: &[Init], groups: Option<&Groups>, w: Where, scale: Scale) -> R<Scaled> {
    let n = scale.tree;
    let g = inits
        .iter()
        .position(Init::is_grace)
        .ok_or("grace is not among the inits")?;
    let mut group: [Vec<Vec<TreeStop>>; 2] = [
        inits.iter().map(|_| Vec::new()).collect(),
        inits.iter().map(|_| Vec::new()).collect(),
    ];
    let mut escaped: [Vec<TreeStop>; 2] = [Vec::new(), Vec::new()];
    eprintln!(
        "grace-bench: stopping a tree of {n}, as a subreaper and as PID 1, {} trial(s) each",
        scale.tree_trials
    );
    for trial in 0..scale.tree_trials {
        for (k, pid1) in [false, true].into_iter().enumerate() {
            // A different init first in each round: the first trial after
            // a 10,000-process stop pays for what the kernel still frees.
            for r in 0..inits.len() {
                let i = (r + trial) % inits.len();
                let init = &inits[i];
                if !applies(init) {
                    continue;
                }
                let at = place(groups, w, Some(i));
                let stop = tree_stop(init, pid1, Tree::Group, n, at, false)
                    .map_err(|e| format!("{}: {e}", init.name))?;
                group[k][i].push(stop);
                if i == g {
                    escaped[k].push(
                        tree_stop(init, pid1, Tree::HalfEscaped, n, at, false)
                            .map_err(|e| format!("grace, half escaped: {e}"))?,
                    );
                }
            }
        }
    }
    let mut costs: Vec<Cost> = Vec::new();
    for &size in scale.cost_sizes {
        for pid1 in [false, true] {
            for tree in [Tree::Group, Tree::HalfEscaped] {
                costs.push(Cost {
                    n: size,
                    pid1,
                    tree,
                    trials: Vec::new(),
                });
            }
        }
    }
    // More trials at the smaller sizes, the same CPU time in all: a stop
    // of 1,000 processes takes a tenth of one of 10,000, and its CPU time
    // per process, the base of the growth, moved 3x between runs of 5.
    let largest = scale.cost_sizes.iter().copied().max().unwrap_or(1);
    let trials_at = |n: usize| scale.cost_trials * largest.div_ceil(n.max(1));
    let trials: Vec<usize> = scale.cost_sizes.iter().map(|&n| trials_at(n)).collect();
    eprintln!(
        "grace-bench: grace's CPU time and peak RSS at {:?} processes, {trials:?} trial(s)",
        scale.cost_sizes
    );
    let at = place(groups, w, Some(g));
    // The smallest size's trials: every size has run its own by then.
    let rounds = trials.iter().copied().max().unwrap_or(0);
    for round in 0..rounds {
        for cost in costs.iter_mut().filter(|c| round < trials_at(c.n)) {
            let stop = tree_stop(&inits[g], cost.pid1, cost.tree, cost.n, at, true)
                .map_err(|e| format!("grace, cost at {}: {e}", cost.n))?;
            cost.trials.push(stop);
        }
    }
    Ok(Scaled {
        n,
        group,
        escaped,
        costs,
    })
}
