//! The shutdown report: one line at the end of every run that involved a
//! stop, a SIGKILL or leftovers, saying what came in, what was sent to whom,
//! how the main child ended and when, and who had to be killed. In
//! `--log-format json` it is one JSON object with the same fields. With
//! several commands, one line (one object) per command comes first,
//! saying how each ended and which one ended the run.

use std::fmt::{self, Write as _};
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::logging::{self, Value};
use crate::machine::{Ended, Reason};
use crate::signals::Signal;

/// Milliseconds, saturating: the unit of every duration grace logs.
#[must_use]
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How many killed processes the report names; the rest are counted.
const NAMED: usize = 8;

/// A count that may be unknown: grace never writes 0 for "could not tell".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count(pub Option<usize>);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("unknown"),
        }
    }
}

/// `pid:name,pid:name,...` for the first [`NAMED`] of `procs`.
fn names(procs: &[(i32, String)]) -> String {
    procs
        .iter()
        .take(NAMED)
        .fold(String::new(), |mut out, (pid, name)| {
            let sep = if out.is_empty() { "" } else { "," };
            let _ = write!(out, "{sep}{pid}:{name}");
            out
        })
}

/// The stop's reason, for log lines written before the end.
#[must_use]
pub fn reason(stop: Option<(Reason, Instant)>) -> String {
    stop.map_or_else(|| "none".to_owned(), |(r, _)| r.to_string())
}

/// One command, as the report names it.
#[derive(Debug)]
pub struct Command {
    pub pid: Pid,
    /// Its argv\[0\].
    pub name: String,
    /// When it was reaped.
    pub ended: Option<Instant>,
}

/// What the supervisor did, collected as it happened.
#[derive(Debug)]
pub struct Report {
    pub started: Instant,
    /// The commands, in command-line order (those that started).
    pub commands: Vec<Command>,
    /// How many commands the command line gave (more than started, when
    /// one could not start).
    pub given: usize,
    /// The argv\[0\] of the command that could not start, if one could
    /// not: the one after the last that did.
    pub failed: Option<String>,
    /// Signals forwarded, in first-seen order, with counts.
    pub forwarded: Vec<(Signal, u32)>,
    /// Processes that were sent the stop signal; `None` once a stop had to
    /// signal what /proc could not list.
    pub told: Option<usize>,
    /// Processes that needed SIGKILL: pid and name.
    pub killed: Vec<(i32, String)>,
    /// SIGKILL also went to processes /proc could not list (`kill(-1)`).
    pub killed_unknown: bool,
    /// Processes still alive when grace gave up waiting for them.
    pub survivors: Vec<(i32, String)>,
    /// Processes other than the main child that grace reaped.
    pub orphans: u32,
}

impl Report {
    #[must_use]
    pub fn new(started: Instant, commands: Vec<Command>, given: usize) -> Report {
        Report {
            started,
            commands,
            given,
            failed: None,
            // Room for every signal grace forwards: no allocation while
            // forwarding.
            forwarded: Vec::with_capacity(64),
            told: Some(0),
            killed: Vec::new(),
            killed_unknown: false,
            survivors: Vec::new(),
            orphans: 0,
        }
    }

    /// Counts one forwarded signal.
    pub fn forwarded(&mut self, sig: Signal) {
        match self.forwarded.iter_mut().find(|(s, _)| *s == sig) {
            Some((_, n)) => *n += 1,
            None => self.forwarded.push((sig, 1)),
        }
    }

    /// Counts processes told to stop (`None`: how many is unknown).
    pub fn add_told(&mut self, n: Option<usize>) {
        self.told = self.told.zip(n).map(|(a, b)| a + b);
    }

    /// Writes the report if the run involved a stop, a kill or leftovers,
    /// or several commands. From the machine: `stop`, why and when the
    /// stop began, if one did; `ended`, how each command ended, if it was
    /// reaped; `ended_run`, the command whose exit ended the run; `from`,
    /// the one whose status grace exits with.
    pub fn finish(&self, end: &End<'_>, code: u8) {
        let several = self.given > 1;
        if several {
            self.name_commands(end);
        }
        let End {
            stop, ended, from, ..
        } = *end;
        // The command the exit code came from: the one that could not
        // start, else the one the machine chose (the first if none).
        let at = match self.failed {
            Some(_) => self.commands.len(),
            None => from.unwrap_or(0),
        };
        let status = match self.failed {
            Some(_) => Some("could not start".to_owned()),
            None => ended
                .get(at)
                .copied()
                .flatten()
                .map(|e| e.status.to_string()),
        };
        let (main, main_ended, main_name) = match (&self.failed, self.commands.get(at)) {
            (Some(name), _) => (Pid::from_raw(0), None, name.as_str()),
            (None, Some(c)) => (c.pid, c.ended, c.name.as_str()),
            (None, None) => (Pid::from_raw(0), None, ""),
        };
        let Some((reason, stop_at)) = stop else {
            self.finish_without_stop(code);
            return;
        };
        let now = Instant::now();
        let main_status = status.as_deref().unwrap_or("not reaped");
        let forwarded = self.forwarded_list();
        let killed_names = names(&self.killed);
        let more = self.killed.len().saturating_sub(NAMED);
        let run_ms = millis(
            main_ended
                .unwrap_or(now)
                .saturating_duration_since(self.started),
        );
        let stop_ms = millis(now.saturating_duration_since(stop_at));
        let killed = Count((!self.killed_unknown).then_some(self.killed.len()));
        let unknown = match (self.told, killed.0) {
            (Some(_), Some(_)) => None,
            (None, Some(_)) => Some("told"),
            (Some(_), None) => Some("killed"),
            (None, None) => Some("told,killed"),
        };
        let who = if several {
            format!("command {} ({main_name})", at + 1)
        } else {
            "main child".to_owned()
        };
        let mut message = match (killed.0, &status) {
            (Some(0), Some(s)) => {
                format!("stopped: {who} {s} {stop_ms}ms after the stop began ({reason})")
            }
            (n, _) => format!(
                "stopped: SIGKILL needed for {} process(es) after the grace period ({reason})",
                Count(n)
            ),
        };
        if !self.survivors.is_empty() {
            let _ = write!(
                message,
                "; {} process(es) survived SIGKILL",
                self.survivors.len()
            );
        }
        let reason = reason.to_string();
        logging::line(
            tracing::Level::INFO,
            &message,
            &[
                ("event", Value::Str("shutdown")),
                ("reason", Value::Str(&reason)),
                ("forwarded", Value::Str(&forwarded)),
                ("commands", self.given.into()),
                ("main_pid", Value::Int(main.as_raw().into())),
                ("main_status", Value::Str(main_status)),
                ("main_runtime_ms", Value::Num(run_ms)),
                ("stop_to_exit_ms", Value::Num(stop_ms)),
                // Numbers stay numbers in JSON; a count grace could not
                // know is left out and named in `unknown`, never written
                // as 0.
                ("told", self.told.into()),
                ("killed", killed.0.into()),
                ("unknown", unknown.map_or(Value::Absent, Value::Str)),
                ("killed_pids", Value::Str(&killed_names)),
                ("killed_more", more.into()),
                ("survivors", self.survivors.len().into()),
                ("survivor_pids", Value::Str(&names(&self.survivors))),
                ("orphans_reaped", Value::Num(self.orphans.into())),
                ("logs_dropped", Value::Num(logging::dropped())),
                ("exit_code", Value::Num(code.into())),
            ],
        );
    }

    /// `SIGTERMx2,SIGINT`: the signals forwarded, with their counts.
    fn forwarded_list(&self) -> String {
        self.forwarded
            .iter()
            .fold(String::new(), |mut out, (s, n)| {
                let sep = if out.is_empty() { "" } else { "," };
                let _ = if *n > 1 {
                    write!(out, "{sep}{s}x{n}")
                } else {
                    write!(out, "{sep}{s}")
                };
                out
            })
    }

    /// The end of a run without a stop: every command exited and left
    /// nothing behind.
    fn finish_without_stop(&self, code: u8) {
        if self.given > 1 {
            tracing::info!(
                event = "shutdown",
                commands = self.given,
                orphans_reaped = self.orphans,
                exit_code = code,
                "every command exited"
            );
        }
        if !self.killed.is_empty() {
            // Unreachable in practice (a kill needs a stop), but never silent.
            tracing::warn!(
                killed = self.killed.len(),
                "processes were killed without a stop"
            );
        }
    }

    /// One line per command: its pid, argv\[0\], how it ended, and whether
    /// it ended the run or gave grace its exit code.
    fn name_commands(&self, end: &End<'_>) {
        for (i, c) in self.commands.iter().enumerate() {
            let status = end.ended.get(i).copied().flatten().map(|e| e.status);
            let how = status.map_or_else(|| "not reaped".to_owned(), |s| s.to_string());
            let ended_run = end.ended_run == Some(i);
            let exit_code_from = end.from == Some(i);
            let runtime_ms = millis(
                c.ended
                    .unwrap_or_else(Instant::now)
                    .saturating_duration_since(self.started),
            );
            let role = match (ended_run, exit_code_from) {
                (true, _) => ": ended the run",
                (false, true) => ": gave the exit code",
                (false, false) => "",
            };
            tracing::info!(
                event = "command",
                command = i + 1,
                program = c.name.as_str(),
                pid = c.pid.as_raw(),
                status = how.as_str(),
                runtime_ms,
                ended_run,
                exit_code_from,
                "command {} ({}, pid {}) {how}{role}",
                i + 1,
                c.name,
                c.pid
            );
        }
        if let Some(name) = &self.failed {
            let n = self.commands.len() + 1;
            tracing::info!(
                event = "command",
                command = n,
                program = name.as_str(),
                status = "could not start",
                ended_run = true,
                exit_code_from = true,
                "command {n} ({name}) could not start: ended the run"
            );
        }
    }
}

/// How the run ended, as the machine knows it (see [`Report::finish`]).
#[derive(Clone, Copy, Debug)]
pub struct End<'a> {
    pub stop: Option<(Reason, Instant)>,
    pub ended: &'a [Option<Ended>],
    pub ended_run: Option<usize>,
    pub from: Option<usize>,
}
