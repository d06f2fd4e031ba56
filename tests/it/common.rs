//! The harness: runs the real `grace` binary around the fake app
//! (`testapp`), as a plain child of the test (where grace makes itself a
//! subreaper) or as PID 1 of a new PID namespace, and synchronises only on
//! what the app prints. Deadlines here are upper bounds, never sleeps.
//!
//! Which binaries: `GRACE_TEST_BIN` names the grace to test (default: the
//! one cargo built for these tests), `GRACE_TEST_RUNNER` the words to run
//! it through (e.g. `qemu-aarch64-static`, for the arm64 build), and
//! `GRACE_TEST_TESTAPP` the fake app (default: built here with cargo, from
//! its own project in `tests/testapp`).

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A variable's value, if set and not empty.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The words that run grace: the runner's (`GRACE_TEST_RUNNER`, split on
/// whitespace), then grace's path (`GRACE_TEST_BIN`, else cargo's build).
pub fn grace_words() -> &'static [String] {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut words: Vec<String> = var("GRACE_TEST_RUNNER")
            .map(|r| r.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        words.push(var("GRACE_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_grace").to_owned()));
        words
    })
}

/// grace's command line for a shell script (`{grace} -- app ...`).
pub fn grace_sh() -> &'static str {
    static LINE: OnceLock<String> = OnceLock::new();
    LINE.get_or_init(|| {
        let words = grace_words();
        assert!(
            words
                .iter()
                .all(|w| !w.contains(|c: char| c.is_whitespace() || c == '\'')),
            "paths for shell scripts must not hold spaces or quotes: {words:?}"
        );
        words.join(" ")
    })
}

/// A command that runs grace (through the runner, if any).
pub fn grace_command() -> Command {
    let words = grace_words();
    let mut cmd = Command::new(&words[0]);
    cmd.args(&words[1..]);
    cmd
}

/// The emulator grace runs under (`GRACE_TEST_RUNNER`), if any.
pub fn runner() -> Option<&'static str> {
    static RUNNER: OnceLock<Option<String>> = OnceLock::new();
    RUNNER.get_or_init(|| var("GRACE_TEST_RUNNER")).as_deref()
}

/// The fake app: `GRACE_TEST_TESTAPP`, else built now (once) by cargo from
/// `tests/testapp`, a project of its own so that `cargo install` and the
/// package leave it out.
pub fn testapp() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| var("GRACE_TEST_TESTAPP").unwrap_or_else(build_testapp))
}

/// Builds `tests/testapp` with the cargo running these tests, into grace's
/// target directory (cargo lets go of its lock before it runs tests);
/// returns the executable's path, as cargo reports it.
fn build_testapp() -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let out = Command::new(&cargo)
        .args(["build", "--locked", "--quiet", "--message-format=json"])
        .arg("--manifest-path")
        .arg(root.join("tests/testapp/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cargo build tests/testapp: {e}"));
    assert!(out.status.success(), "cargo build tests/testapp failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|m| {
            (m["reason"] == "compiler-artifact" && m["target"]["name"] == "testapp")
                .then(|| m["executable"].as_str().map(str::to_owned))
                .flatten()
        })
        .unwrap_or_else(|| panic!("cargo build tests/testapp named no executable"))
}

/// Upper bound for anything that should happen "at once".
pub const SOON: Duration = Duration::from_secs(10);

/// How grace is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A child of the test process: grace is not PID 1, so it is a subreaper.
    Child,
    /// PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`).
    Pid1,
    /// A child of a script that does not `exec` it (a `start.sh` that
    /// runs `grace -- app`): a subreaper below a parent of its own.
    Script,
}

/// The three places grace runs, for the tests that must hold in each.
pub const ALL_MODES: [Mode; 3] = [Mode::Child, Mode::Script, Mode::Pid1];

/// Both modes, for tests that must hold in each.
pub const MODES: [Mode; 2] = [Mode::Child, Mode::Pid1];

/// Whether PID-1 tests can run here. Checked once. Outside CI a missing
/// capability skips loudly; under `CI=true` it fails, so CI never passes a
/// test it did not run.
pub fn can_unshare() -> bool {
    static OK: OnceLock<Result<(), String>> = OnceLock::new();
    let result = OK.get_or_init(|| {
        match Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "true"])
            .output()
        {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
            Err(e) => Err(format!("unshare: {e}")),
        }
    });
    match result {
        Ok(()) => true,
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("cannot run grace as PID 1 here (unshare --pid --fork --mount-proc): {why}")
        }
        Err(why) => {
            eprintln!(
                "SKIPPED: cannot run grace as PID 1 here (unshare --pid --fork --mount-proc): {why}"
            );
            false
        }
    }
}

/// Skips the rest of the test (loudly) when `mode` cannot run here.
macro_rules! skip_unless_mode {
    ($mode:expr) => {
        if $mode == $crate::common::Mode::Pid1 && !$crate::common::can_unshare() {
            return;
        }
    };
}
pub(crate) use skip_unless_mode;

/// What qemu-user (7.2, Debian 12) cannot carry, for the tests that need it
/// when grace runs under it (`GRACE_TEST_RUNNER`); see tests/it/QEMU.md.
pub mod qemu {
    /// Outside PID 1, grace adopts the orphans of its subtree as a subreaper.
    pub const NO_SUBREAPER: &str = "qemu-user answers PR_SET_CHILD_SUBREAPER with EINVAL, \
         so grace outside PID 1 cannot adopt the orphans of its subtree";
    /// The child starts with the ignored signals grace was started with.
    pub const HOST_DISPOSITIONS: &str = "qemu-user installs a host handler of its own \
         for nearly every signal (the emulated program's dispositions live in \
         its tables), so a native program that grace execs starts with them \
         at their default, not ignored as grace was started";
    /// A seccomp profile set up before grace applies to qemu itself.
    pub const SECCOMP_STOPS_QEMU: &str = "the seccomp profile the test installs \
         applies to qemu-user's own system calls: refused clone3, qemu cannot \
         start its threads (qemu_thread_create: Operation not permitted)";
    /// The log-drop count includes the subreaper warning.
    pub const WARNING_DROPPED: &str = "grace's warning that it cannot be a subreaper \
         under qemu-user is one more line dropped, so the count is 2, not 1";
    /// A fault signal sent with kill(2) can be lost on its way to grace.
    pub const LOST_FAULT: &str = "qemu-user at times loses a SIGSEGV sent with \
         kill(2) to the emulated grace (grace never receives it: no `received` \
         debug line), so the test hangs in about one run of three";
}

/// True (after a loud SKIPPED line) when grace runs under an emulator, for
/// a test, or a part of one (`what`), that the emulator cannot carry. Not a
/// missing prerequisite: known gaps are skipped under `CI=true` too.
pub fn skipped_under_emulation(what: &str, why: &str) -> bool {
    let Some(runner) = runner() else {
        return false;
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    // Straight to the stream: the test harness captures eprintln!.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED under {runner}: {test}{what}: {why}"
    );
    true
}

/// Skips the whole test (loudly) when grace runs under an emulator.
macro_rules! skip_if_emulated {
    ($why:expr) => {
        if $crate::common::skipped_under_emulation("", $why) {
            return;
        }
    };
}
pub(crate) use skip_if_emulated;

/// In a loop over the modes: skips the child-mode turn (loudly) when grace
/// runs under an emulator. The PID-1 turn still runs.
macro_rules! skip_child_mode_if_emulated {
    ($mode:expr, $why:expr) => {
        if $mode != $crate::common::Mode::Pid1
            && $crate::common::skipped_under_emulation(" (as a child; as PID 1 it runs)", $why)
        {
            continue;
        }
    };
}
pub(crate) use skip_child_mode_if_emulated;

/// A unique scratch directory per test, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("grace-it-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A grace command line being built.
pub struct Init {
    mode: Mode,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    wrapper: Vec<String>,
    stderr: Option<std::os::fd::OwnedFd>,
}

impl Init {
    pub fn new(mode: Mode) -> Init {
        Init {
            mode,
            args: Vec::new(),
            env: Vec::new(),
            wrapper: Vec::new(),
            stderr: None,
        }
    }

    /// grace's stderr is `fd` (a pipe the test controls) instead of a pipe
    /// the harness reads; [`Running::stderr`] then stays empty.
    pub fn stderr_to(mut self, fd: std::os::fd::OwnedFd) -> Init {
        self.stderr = Some(fd);
        self
    }

    /// grace's own options (before `--`).
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Init {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Init {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs grace through this command (`sh -c '... exec "$@"' sh GRACE ...`).
    pub fn wrapper(mut self, words: &[&str]) -> Init {
        self.wrapper = words.iter().map(|w| (*w).to_owned()).collect();
        self
    }

    /// The fake app, with these arguments, as COMMAND.
    pub fn app(self, args: &[&str]) -> Init {
        self.command(std::iter::once(testapp()).chain(args.iter().copied()))
    }

    /// `sh -c SCRIPT` as COMMAND; `$T` in the script is the fake app.
    pub fn sh(self, script: &str) -> Init {
        let script = script.replace("$T", testapp());
        self.command(["sh", "-c", &script])
    }

    pub fn command<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, words: I) -> Init {
        self.args.push("--".into());
        self.args
            .extend(words.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Starts COMMAND itself, without grace (for tests that start grace
    /// from a script of their own).
    pub fn spawn_raw(mut self) -> Running {
        let dashes = self.args.iter().position(|a| a == "--").expect("a command");
        let words = self.args.split_off(dashes + 1);
        let mut cmd = Command::new(&words[0]);
        cmd.args(&words[1..]);
        self.start(cmd, &[])
    }

    /// Starts it.
    pub fn spawn(self) -> Running {
        let cmd = match self.mode {
            Mode::Child => grace_command(),
            Mode::Pid1 => {
                let mut c = Command::new("unshare");
                c.args(["--pid", "--fork", "--mount-proc"])
                    .args(grace_words());
                c
            }
            Mode::Script => {
                // Two commands in the script: the shell cannot exec grace.
                let mut c = Command::new("sh");
                c.args(["-c", r#""$@"; exit $?"#, "sh"]).args(grace_words());
                c
            }
        };
        let args = self.args.clone();
        self.start(cmd, &args)
    }

    fn start(self, mut cmd: Command, args: &[OsString]) -> Running {
        if !self.wrapper.is_empty() {
            let mut c = Command::new(&self.wrapper[0]);
            c.args(&self.wrapper[1..]);
            c.arg(cmd.get_program());
            c.args(cmd.get_args());
            cmd = c;
        }
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(self.stderr.map_or_else(Stdio::piped, Stdio::from));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let description = format!("{cmd:?}");
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {description}: {e}"));
        let outer = Pid::from_raw(i32::try_from(child.id()).expect("pid fits"));

        let (line_tx, lines) = channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr_text = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr_text);
        let (eof_tx, stderr_eof) = channel();
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .expect("stderr lock")
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                let _ = eof_tx.send(());
            });
        } else {
            let _ = eof_tx.send(());
        }
        let stdin = child.stdin.take();
        let (exit_tx, exited) = channel();
        std::thread::spawn(move || {
            let mut child: Child = child;
            let _ = exit_tx.send(child.wait());
        });
        Running {
            mode: self.mode,
            description,
            outer,
            grace: OnceLock::new(),
            lines,
            seen: Vec::new(),
            stderr: stderr_text,
            stderr_eof,
            stdin,
            exited,
            status: None,
        }
    }
}

/// A running grace.
pub struct Running {
    mode: Mode,
    description: String,
    /// The process the test spawned: grace, `unshare`, or the wrapper.
    outer: Pid,
    grace: OnceLock<Pid>,
    lines: Receiver<String>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
    stderr_eof: Receiver<()>,
    stdin: Option<ChildStdin>,
    exited: Receiver<std::io::Result<ExitStatus>>,
    status: Option<ExitStatus>,
}

impl Running {
    /// What went wrong, with everything a reader needs to see why.
    pub fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\ncommand: {}\nstatus: {:?}\nstdout so far:\n{}\nstderr:\n{}",
            self.description,
            self.status,
            self.seen.join("\n"),
            self.stderr()
        );
    }

    /// grace's stderr so far.
    pub fn stderr(&self) -> String {
        let text = self.stderr.lock().expect("stderr lock").clone();
        if self.mode != Mode::Pid1 && runner().is_some() {
            // Under qemu-user grace warns once that it cannot be a
            // subreaper (qemu::NO_SUBREAPER) and goes on; the tests that
            // need one are skipped, the others check the rest of stderr.
            return text
                .split_inclusive('\n')
                .filter(|l| !l.starts_with("grace: warning: could not become a subreaper"))
                .collect();
        }
        text
    }

    /// Waits for a stdout line containing `needle`; returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        self.wait_for_line_within(needle, SOON)
    }

    pub fn wait_for_line_within(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no line with {needle:?} within {limit:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("stdout closed before {needle:?}"))
                }
            }
        }
    }

    /// Waits until grace's stderr contains `needle` (there is no event to
    /// wait on: the reader thread appends as grace writes).
    pub fn wait_for_stderr(&self, needle: &str) {
        eventually(SOON, &format!("stderr has {needle:?}"), || {
            self.stderr().contains(needle)
        });
    }

    /// Waits for `n` lines containing `needle`.
    pub fn wait_for_lines(&mut self, needle: &str, n: usize) -> Vec<String> {
        (0..n).map(|_| self.wait_for_line(needle)).collect()
    }

    /// The pid of grace itself, as the test sees it. A wrapper must exec.
    pub fn grace_pid(&self) -> Pid {
        *self.grace.get_or_init(|| {
            if self.mode == Mode::Child {
                return self.outer;
            }
            // PID 1 of the namespace is the only child of `unshare`, as
            // grace is of the script.
            let path = format!("/proc/{0}/task/{0}/children", self.outer);
            let deadline = Instant::now() + SOON;
            loop {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if let Some(pid) = text.split_whitespace().next().and_then(|p| p.parse().ok()) {
                    return Pid::from_raw(pid);
                }
                assert!(Instant::now() < deadline, "no grace under {}", self.outer);
                std::thread::yield_now();
            }
        })
    }

    /// The process the test spawned (grace, `unshare` or a wrapper).
    pub fn outer_pid(&self) -> Pid {
        self.outer
    }

    /// Sends `sig` to grace.
    pub fn signal(&self, sig: Signal) {
        kill(self.grace_pid(), sig).unwrap_or_else(|e| self.fail(&format!("kill {sig}: {e}")));
    }

    /// Writes a line to grace's stdin (which the app inherits).
    pub fn write_stdin(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Waits for grace to exit; returns its exit code.
    pub fn wait(&mut self) -> i32 {
        self.wait_within(SOON)
    }

    pub fn wait_within(&mut self, limit: Duration) -> i32 {
        if self.status.is_none() {
            match self.exited.recv_timeout(limit) {
                Ok(Ok(status)) => self.status = Some(status),
                Ok(Err(e)) => self.fail(&format!("wait: {e}")),
                Err(_) => self.fail(&format!("grace did not exit within {limit:?}")),
            }
        }
        // Read both pipes to their end: everything grace and the app wrote
        // is in by then (bounded, in case something that outlived grace
        // still holds them).
        let deadline = Instant::now() + SOON;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line);
        }
        let _ = self
            .stderr_eof
            .recv_timeout(deadline.saturating_duration_since(Instant::now()));
        let status = self.status.expect("set above");
        status
            .code()
            .unwrap_or_else(|| self.fail("grace died of a signal"))
    }

    /// Whether stdout so far has a line containing `needle`.
    pub fn saw(&self, needle: &str) -> usize {
        self.seen.iter().filter(|l| l.contains(needle)).count()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        // A failed test must not leak: kill grace's whole subtree.
        let root = self.grace.get().copied().unwrap_or(self.outer);
        for pid in descendants(root).into_iter().chain([root, self.outer]) {
            let _ = kill(pid, Signal::SIGKILL);
        }
    }
}

/// A process as /proc shows it.
#[derive(Debug, Clone)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub state: char,
}

/// Every process in /proc.
pub fn processes() -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| proc_info(Pid::from_raw(pid)))
        .collect()
}

/// One process from /proc, if it exists.
pub fn proc_info(pid: Pid) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some(ProcInfo {
        pid: pid.as_raw(),
        ppid,
        state,
    })
}

/// Whether `pid` is alive (exists and is not a zombie).
pub fn alive(pid: Pid) -> bool {
    proc_info(pid).is_some_and(|p| p.state != 'Z' && p.state != 'X')
}

/// Every process below `root`.
pub fn descendants(root: Pid) -> Vec<Pid> {
    let all = processes();
    let mut found = Vec::new();
    let mut frontier = vec![root.as_raw()];
    while let Some(parent) = frontier.pop() {
        for p in all.iter().filter(|p| p.ppid == parent) {
            frontier.push(p.pid);
            found.push(Pid::from_raw(p.pid));
        }
    }
    found
}

/// Waits until `cond` holds, checking after each yield; fails after `limit`.
/// For states that have no event to wait on (a zombie being reaped).
pub fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Parses the `pid=N` out of a `ready pid=N` line.
pub fn pid_of(line: &str) -> Pid {
    let pid = line
        .split("pid=")
        .nth(1)
        .and_then(|p| p.trim().parse().ok());
    Pid::from_raw(pid.unwrap_or_else(|| panic!("no pid in {line:?}")))
}

/// The lines of a marker file the app appends to (`SIGX PID UNIX_MS`).
pub fn marker(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Unix time in milliseconds, as the app writes it in markers.
pub fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// Sends a raw signal number (nix's enum has no real-time signals).
pub fn send_raw(pid: Pid, signal: i32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid}");
}
