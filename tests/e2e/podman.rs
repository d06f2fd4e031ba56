//! A thin harness over the `podman` command: one configuration for these
//! machines (runc, explicit ulimits), containers that clean up after
//! themselves, and their output read line by line as it comes, so tests
//! wait for `ready` lines instead of sleeping.

use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long any one wait may take before the test fails: an upper bound
/// for a loaded 2-core CI machine, never a synchronisation.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Where this process keeps podman's configuration (removed never: it is
/// tiny, and concurrent test binaries share nothing else).
fn conf_dir() -> PathBuf {
    std::env::temp_dir().join(format!("grace-e2e-{}", std::process::id()))
}

/// The reason these tests cannot run here, or `None`. Checked once.
fn unavailable() -> Option<&'static str> {
    static WHY: OnceLock<Option<String>> = OnceLock::new();
    WHY.get_or_init(|| {
        if !is_root() {
            return Some("not root (these tests use rootful podman)".into());
        }
        for var in ["GRACE_STATIC_BIN", "GRACE_TESTAPP_STATIC_BIN"] {
            match std::env::var_os(var) {
                Some(p) if Path::new(&p).is_file() => {}
                Some(p) => return Some(format!("{var}={} is not a file", p.to_string_lossy())),
                None => return Some(format!("{var} is not set (run `bash tests/run.sh`)")),
            }
        }
        if !Path::new(BUSYBOX).is_file() {
            return Some(format!(
                "{BUSYBOX} missing (apt-get install busybox-static)"
            ));
        }
        let dir = conf_dir();
        // init_path: what `podman run --init` runs as PID 1 (init_path.rs).
        let grace = std::env::var("GRACE_STATIC_BIN").unwrap_or_default();
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| {
            std::fs::write(
                dir.join("containers.conf"),
                format!(
                    "[containers]\n\
                     default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
                     init_path = {grace:?}\n\
                     [engine]\n\
                     runtime = \"runc\"\n"
                ),
            )
        }) {
            return Some(format!("cannot write containers.conf: {e}"));
        }
        match podman(&["version", "--format", "{{.Client.Version}}"]) {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!("podman version failed: {}", stderr(&out))),
            Err(e) => Some(format!("podman: {e} (apt-get install podman runc)")),
        }
    })
    .as_deref()
}

/// Whether this process's effective uid is 0, from `/proc/self/status`.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

pub const BUSYBOX: &str = "/bin/busybox";

/// True when the tests can run; otherwise prints why (or panics under
/// `CI=true`, so CI never passes a test it did not run).
pub fn available() -> bool {
    match unavailable() {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("cannot run the end-to-end tests here: {why}")
        }
        Some(why) => {
            eprintln!("SKIPPED: cannot run the end-to-end tests here: {why}");
            false
        }
    }
}

/// Skips the rest of the test, loudly, when podman cannot run here.
macro_rules! skip_unless_podman {
    () => {
        if !$crate::podman::available() {
            return;
        }
    };
}
pub(crate) use skip_unless_podman;

/// A `podman` command with this harness's configuration.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new("podman");
    cmd.env("CONTAINERS_CONF", conf_dir().join("containers.conf"))
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Runs `podman ARGS` to completion.
pub fn podman(args: &[&str]) -> std::io::Result<Output> {
    command(args).output()
}

/// Runs `podman ARGS`, failing the test if it fails; returns its stdout.
pub fn must(args: &[&str]) -> String {
    let out = podman(args).unwrap_or_else(|e| panic!("podman {args:?}: {e}"));
    assert!(
        out.status.success(),
        "podman {args:?} failed: {}",
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// A unique container name for this test.
pub fn name(test: &str) -> String {
    format!("grace-e2e-{test}-{}", std::process::id())
}

/// Which stream a line came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stream {
    Out,
    Err,
}

/// A container started by an attached `podman run`: its stdout and stderr
/// (the app's and grace's) arrive here line by line. Removed on drop.
pub struct Container {
    pub name: String,
    run: Child,
    lines: Receiver<(Stream, String)>,
    seen: Arc<Mutex<Vec<(Stream, String)>>>,
}

impl Container {
    /// `podman run --name NAME --network none OPTS IMAGE ARGS...`.
    pub fn run(name: &str, opts: &[&str], image: &str, args: &[&str]) -> Container {
        let _ = podman(&["rm", "--force", "--time", "0", name]);
        let mut cmd = command(&["run", "--name", name, "--network", "none"]);
        cmd.args(opts)
            .arg(image)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut run = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("podman run {name}: {e}"));
        let (tx, lines) = channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let pipes: [(Stream, Box<dyn Read + Send>); 2] = [
            (Stream::Out, Box::new(run.stdout.take().expect("piped"))),
            (Stream::Err, Box::new(run.stderr.take().expect("piped"))),
        ];
        for (stream, pipe) in pipes {
            let tx = tx.clone();
            let seen = Arc::clone(&seen);
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut seen) = seen.lock() {
                        seen.push((stream, line.clone()));
                    }
                    let _ = tx.send((stream, line));
                }
            });
        }
        Container {
            name: name.to_owned(),
            run,
            lines,
            seen,
        }
    }

    /// Waits for a line containing `needle` and returns it.
    pub fn wait_for(&self, needle: &str) -> String {
        let until = Instant::now() + PATIENCE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((_, line)) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: no line with {needle:?} after {PATIENCE:?}:\n{}",
                        self.name,
                        self.transcript()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "{}: output ended before a line with {needle:?}:\n{}",
                        self.name,
                        self.transcript()
                    )
                }
            }
        }
    }

    /// Waits for `podman run` to end (the container's exit) and returns its
    /// exit code, checked against `podman inspect`.
    pub fn wait(&mut self) -> i32 {
        let until = Instant::now() + PATIENCE;
        let status = loop {
            match self.run.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < until => {
                    // Bounded poll of a child we own; the event we wait for
                    // is its exit, which has no other notification here.
                    thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => panic!(
                    "{}: still running after {PATIENCE:?}:\n{}",
                    self.name,
                    self.transcript()
                ),
                Err(e) => panic!("{}: wait: {e}", self.name),
            }
        };
        let code = status.code().unwrap_or(-1);
        let inspected = self.exit_code();
        assert_eq!(
            code, inspected,
            "{}: podman run exited {code}, podman inspect says {inspected}",
            self.name
        );
        code
    }

    /// The exit code podman recorded for the container.
    pub fn exit_code(&self) -> i32 {
        exit_code(&self.name)
    }

    /// Every line seen so far, both streams, in arrival order per stream.
    pub fn lines(&self) -> Vec<(Stream, String)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Lines of `stream` containing `needle`.
    pub fn count(&self, stream: Stream, needle: &str) -> usize {
        self.lines()
            .iter()
            .filter(|(s, l)| *s == stream && l.contains(needle))
            .count()
    }

    /// grace's shutdown report, from stderr.
    pub fn shutdown_line(&self) -> String {
        self.lines()
            .into_iter()
            .find(|(s, l)| *s == Stream::Err && l.contains("event=shutdown"))
            .map_or_else(
                || panic!("no shutdown line:\n{}", self.transcript()),
                |(_, l)| l,
            )
    }

    pub fn transcript(&self) -> String {
        let mut text = String::new();
        for (s, l) in self.lines() {
            text.push_str(if s == Stream::Out { "out| " } else { "err| " });
            text.push_str(&l);
            text.push('\n');
        }
        text
    }

    /// Drains the rest of the output after the container exited.
    pub fn finish(&self) {
        while self.lines.recv_timeout(PATIENCE).is_ok() {}
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "--force", "--time", "0", &self.name]);
        let _ = self.run.kill();
        let _ = self.run.wait();
    }
}

/// Everything container `name` printed, as `podman logs` has it (stdout,
/// then stderr).
pub fn logs(name: &str) -> String {
    podman(&["logs", name])
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .unwrap_or_default()
}

/// The exit code podman recorded for container `name`.
pub fn exit_code(name: &str) -> i32 {
    let out = must(&["inspect", "--format", "{{.State.ExitCode}}", name]);
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{name}: exit code {out:?}"))
}

/// Runs `f` and returns how long it took.
pub fn timed(f: impl FnOnce()) -> Duration {
    let t0 = Instant::now();
    f();
    t0.elapsed()
}
