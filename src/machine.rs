//! The stop machine: phases, events, actions and the transition function
//! [`step`], with the deadlines and the exit decision. Pure: it makes no
//! system call and imports nothing from `sys`, `nix` or `libc`; the
//! supervisor turns OS events into [`Event`]s and [`Action`]s into system
//! calls, and the tests here drive it with event sequences alone.
//!
//! Words: a process is *told* when it is sent the stop signal (or the
//! drain's) and then SIGCONT; what a stop's list did not hold is
//! *untold*, and the drain after a stop that told the whole tree tells
//! only that ([`Action::DrainUntold`]). A signal is *forwarded* when grace
//! passes on one it received.
//!
//! ```text
//!  Running ──stop signal──▶ Delaying (--stop-delay) ──delay over / 2nd stop──▶ Stopping
//!  Running ──stop signal, no delay──────────────────────────────────────────▶ Stopping
//!  Running/Delaying ──a command exits, others run (no --keep-going)──▶ Draining
//!  Running ──a later command cannot start──▶ Draining
//!  Running/Delaying/Stopping ──the last command exits, others left──▶ Draining
//!  Stopping/Draining ──grace deadline──▶ Killing (SIGKILL to everything)
//!  any ──every command gone and nothing left (or Killing gives up)──▶ Exited
//! ```
//!
//! With one command this is grace's whole story. With several (`:::`),
//! each is reported by its index; the exit code is decided at the end by
//! [`State`]'s rules: a start failure's code; else the status of the
//! command that ended the run; else, with `--keep-going` and no stop
//! signal, the first failure in exit order (0 if none); else, after a
//! stop, the first command in command-line order that did not end
//! cleanly, or the first command.

use std::fmt;
use std::time::{Duration, Instant};

use crate::config::{Config, Target};
use crate::exit::Status;
use crate::signals::Signal;

/// How long grace waits for its SIGKILL to take effect before it exits
/// anyway (a process stuck in uninterruptible sleep cannot die sooner).
pub const KILL_WAIT: Duration = Duration::from_secs(2);

/// `now + d` without std's panic on overflow. It cannot overflow: every
/// duration is at most [`crate::config::MAX_DURATION`] (100 years, checked
/// by `Config::new`) or a constant; were it to, the deadline would be now,
/// not a panic that takes the app's exit status with it.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

/// Where the run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The commands run; signals are forwarded.
    Running,
    /// A stop began but `--stop-delay` holds it back until `until`.
    Delaying { until: Instant, signal: Signal },
    /// The stop signal was forwarded; SIGKILL at the deadline.
    Stopping,
    /// The run is ending without a stop signal of grace's own to send:
    /// every command is gone and the rest of the tree was told, or one
    /// command ended the run and the others were told to stop.
    Draining,
    /// SIGKILL was sent; waiting for the dead to be reaped.
    Killing { give_up: Instant },
    /// The run is over: the exit code was decided. Nothing follows it,
    /// whatever else is fed in (the loop stops feeding at once).
    Exited,
}

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ended {
    pub status: Status,
    /// The stop signal grace had sent it, if it ended during that stop
    /// and before any SIGKILL (for `--clean-stop-exit-zero`).
    pub by: Option<Signal>,
}

impl Ended {
    /// Whether it ended cleanly: exit 0, or death by (or 128+N of) the
    /// stop signal it was sent.
    #[must_use]
    pub fn clean(self) -> bool {
        self.status == Status::Exited(0)
            || self.by.is_some_and(|sent| {
                sent != Signal::KILL
                    && (self.status == Status::Signaled(sent)
                        || self.status == Status::Exited(Status::Signaled(sent).code()))
            })
    }
}

/// Everything `step` decides on.
#[derive(Clone, Debug)]
pub struct State {
    pub phase: Phase,
    /// When everything left gets SIGKILL.
    pub kill_at: Option<Instant>,
    /// Why and when the stop began.
    pub stop: Option<(Reason, Instant)>,
    /// The stop signal grace forwarded, once it has.
    pub stop_sent: Option<Signal>,
    /// Whether a stop or drain already told the whole tree (or with
    /// `--forward-to child`, a command's leftovers): a later drain then
    /// tells only what was not told ([`Action::DrainUntold`]).
    pub tree_told: bool,
    /// How each command ended, once reaped, in command-line order.
    pub ended: Vec<Option<Ended>>,
    /// The commands in the order they ended.
    pub order: Vec<usize>,
    /// The command whose exit ended the run (the first to exit, without
    /// `--keep-going`).
    pub ended_run: Option<usize>,
    /// A command could not start: grace exits with this code (126, 127).
    pub start_failed: Option<u8>,
    /// The command whose status grace exits with, once decided.
    pub exit_from: Option<usize>,
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// grace received a signal (never SIGCHLD: that is the reaper's).
    Signal(Signal),
    /// grace's parent died (`--parent-death-stop`).
    ParentDied,
    /// A command was reaped; `children_left` if grace still has children
    /// (commands not yet reported included).
    Exited {
        command: usize,
        status: Status,
        children_left: bool,
    },
    /// Every child of grace is gone (after every command).
    AllGone,
    /// The only command stopped, by this signal.
    MainStopped(Signal),
    /// A later command could not start (after the ones counted in
    /// [`State::new`] did): grace stops those and exits with this code.
    StartFailed(u8),
    /// Time passed; deadlines may be due.
    Tick,
}

/// What to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Forward a signal to every command still running (to its group or
    /// itself, `--forward-to`), or to what is left of the tree once none
    /// is.
    Forward(Signal),
    /// Begin the stop: this signal then SIGCONT to every command's target,
    /// and in group mode to every other process of the tree.
    Stop(Signal),
    /// The run ends without a stop of grace's: this signal then SIGCONT to
    /// everything left.
    Drain(Signal),
    /// Every command is gone after a stop or drain that told the whole
    /// tree: this signal then SIGCONT to what that did not reach (a process
    /// that moved between the lists it read, or was forked since), and to
    /// nothing it did.
    DrainUntold(Signal),
    /// The deadline passed: SIGKILL to everything left.
    Kill,
    /// The only command stopped for the terminal by this signal (Ctrl-Z,
    /// or a read in the background): grace stops too, by the same signal,
    /// so the shell that runs it as a job sees the job stopped and can `fg`
    /// or `bg` it, as with sudo.
    Suspend(Signal),
    /// Exit with this code.
    Exit(u8),
}

impl State {
    /// The state of a run of `commands` started commands (at least one).
    #[must_use]
    pub fn new(commands: usize) -> State {
        State {
            phase: Phase::Running,
            kill_at: None,
            stop: None,
            stop_sent: None,
            tree_told: false,
            ended: vec![None; commands.max(1)],
            order: Vec::with_capacity(commands.max(1)),
            ended_run: None,
            start_failed: None,
            exit_from: None,
        }
    }

    /// Whether a command is still unreaped.
    #[must_use]
    pub fn running(&self) -> bool {
        self.ended.iter().any(Option::is_none)
    }

    /// When the loop must wake up next, if ever.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Running | Phase::Exited => None,
            Phase::Delaying { until, .. } => Some(self.kill_at.map_or(until, |k| k.min(until))),
            Phase::Stopping | Phase::Draining => self.kill_at,
            Phase::Killing { give_up } => Some(give_up),
        }
    }

    fn exit(&mut self, cfg: &Config) -> Action {
        self.phase = Phase::Exited;
        if let Some(code) = self.start_failed {
            return Action::Exit(code);
        }
        // Killing gave up with a command unreaped: report it as killed.
        let ended = |i: usize| {
            self.ended.get(i).copied().flatten().unwrap_or(Ended {
                status: Status::Signaled(Signal::KILL),
                by: None,
            })
        };
        let signal_stop = matches!(self.stop, Some((Reason::Signal(_) | Reason::ParentDied, _)));
        let from = if let Some(first) = self.ended_run {
            // One command ended the run: its status.
            Some(first)
        } else if cfg.keep_going() && !signal_stop {
            // Every command ran to its end: the first failure, in the
            // order they ended; 0 if none failed.
            self.order
                .iter()
                .copied()
                .find(|&i| ended(i).status != Status::Exited(0))
        } else {
            // A stop: the first command, in command-line order, that did
            // not end cleanly; else the first command.
            (0..self.ended.len())
                .find(|&i| !ended(i).clean())
                .or(Some(0))
        };
        self.exit_from = from;
        let code = match from {
            Some(i) => {
                let e = ended(i);
                cfg.exit().code(e.status, e.by)
            }
            None => cfg.exit().code(Status::Exited(0), None),
        };
        Action::Exit(code)
    }

    fn begin_stop(
        &mut self,
        reason: Reason,
        signal: Signal,
        cfg: &Config,
        now: Instant,
    ) -> Option<Action> {
        self.stop = Some((reason, now));
        self.kill_at = Some(later(now, cfg.grace()));
        if cfg.stop_delay().is_zero() {
            Some(self.forward_stop(signal, cfg))
        } else {
            self.phase = Phase::Delaying {
                until: later(now, cfg.stop_delay()),
                signal,
            };
            None
        }
    }

    fn forward_stop(&mut self, signal: Signal, cfg: &Config) -> Action {
        self.phase = Phase::Stopping;
        self.stop_sent = Some(signal);
        self.tree_told = cfg.forward_to() == Target::Group;
        Action::Stop(signal)
    }

    fn exited(
        &mut self,
        command: usize,
        status: Status,
        children_left: bool,
        cfg: &Config,
        now: Instant,
    ) -> Option<Action> {
        let slot = self.ended.get_mut(command)?;
        if slot.is_some() {
            return None;
        }
        // Told the stop signal, and not yet SIGKILL: in Stopping, or in
        // Draining after a stop signal went out (a delayed one included).
        let by = self
            .stop_sent
            .filter(|_| matches!(self.phase, Phase::Stopping | Phase::Draining));
        *slot = Some(Ended { status, by });
        self.order.push(command);
        let running = self.running();
        if !running && !children_left {
            return Some(self.exit(cfg));
        }
        if matches!(self.phase, Phase::Killing { .. }) {
            return None;
        }
        let first_ends_run = running
            && !cfg.keep_going()
            && matches!(self.phase, Phase::Running | Phase::Delaying { .. });
        if running && !first_ends_run {
            // The others keep running (--keep-going), or were told already.
            // What this command forked after the stop signal (a TERM
            // handler's helper) heard nothing from grace yet, nor, with
            // --forward-to child, what it left in its group (its members
            // wait for their command to pass the stop on): now they do,
            // and only they (the others would wait for the last command,
            // or for SIGKILL at the deadline).
            let told_since = matches!(self.phase, Phase::Stopping | Phase::Draining);
            if told_since {
                self.tree_told = true;
                let signal = self
                    .stop_sent
                    .unwrap_or_else(|| cfg.signals().drain_signal());
                return Some(Action::DrainUntold(signal));
            }
            return None;
        }
        if self.stop.is_none() {
            let reason = if self.ended.len() == 1 {
                Reason::MainExited
            } else {
                Reason::CommandExited(command)
            };
            self.stop = Some((reason, now));
            if running {
                self.ended_run = Some(command);
            }
        }
        // The drain never waits longer than the grace period: from now if no
        // stop was under way, else what is left of the stop's budget.
        let kill_at = *self.kill_at.get_or_insert(later(now, cfg.grace()));
        let signal = match self.phase {
            Phase::Delaying { signal, .. } => {
                // The delayed stop signal goes out now, with the drain.
                self.stop_sent = Some(signal);
                signal
            }
            _ => self
                .stop_sent
                .unwrap_or_else(|| cfg.signals().drain_signal()),
        };
        let told = self.tree_told;
        self.phase = Phase::Draining;
        self.tree_told = true;
        if now >= kill_at {
            return Some(self.kill(now));
        }
        Some(if told {
            Action::DrainUntold(signal)
        } else {
            Action::Drain(signal)
        })
    }

    fn start_failed(&mut self, code: u8, cfg: &Config, now: Instant) -> Action {
        self.start_failed = Some(code);
        self.stop = Some((Reason::StartFailed, now));
        let kill_at = *self.kill_at.get_or_insert(later(now, cfg.grace()));
        self.phase = Phase::Draining;
        self.tree_told = true;
        if now >= kill_at {
            return self.kill(now);
        }
        Action::Drain(cfg.signals().drain_signal())
    }

    fn kill(&mut self, now: Instant) -> Action {
        self.phase = Phase::Killing {
            give_up: later(now, KILL_WAIT),
        };
        Action::Kill
    }
}

/// The transition function. Makes no system calls: every arrow of the
/// diagram above is a unit test.
pub fn step(state: &mut State, event: Event, cfg: &Config, now: Instant) -> Option<Action> {
    let map = cfg.signals();
    match (state.phase, event) {
        (Phase::Exited, _) => None,
        (
            _,
            Event::Exited {
                command,
                status,
                children_left,
            },
        ) => state.exited(command, status, children_left, cfg, now),
        (Phase::Running, Event::StartFailed(code)) => Some(state.start_failed(code, cfg, now)),

        (Phase::Running, Event::Signal(s)) if map.is_stop(s) => {
            let signal = map.map(s)?;
            state.begin_stop(Reason::Signal(s), signal, cfg, now)
        }
        (Phase::Running, Event::ParentDied) => {
            state.begin_stop(Reason::ParentDied, map.drain_signal(), cfg, now)
        }
        // A second stop signal ends the delay: the impatient Ctrl-C twice.
        (Phase::Delaying { .. }, Event::Signal(s)) if map.is_stop(s) => {
            let signal = map.map(s)?;
            Some(state.forward_stop(signal, cfg))
        }
        (Phase::Delaying { until, signal }, Event::Tick) if now >= until => {
            Some(state.forward_stop(signal, cfg))
        }
        (Phase::Stopping | Phase::Draining, Event::Tick)
            if state.kill_at.is_some_and(|k| now >= k) =>
        {
            Some(state.kill(now))
        }
        (Phase::Killing { give_up }, Event::Tick) if now >= give_up => Some(state.exit(cfg)),
        (Phase::Draining | Phase::Killing { .. }, Event::AllGone) if !state.running() => {
            Some(state.exit(cfg))
        }
        // Only while the app simply runs, and only the one command's: a
        // stop under way goes on, and several commands share no terminal.
        (Phase::Running, Event::MainStopped(s @ (Signal::TSTP | Signal::TTIN | Signal::TTOU)))
            if state.ended == [None] =>
        {
            Some(Action::Suspend(s))
        }
        // Everything else received is forwarded, mapped; a repeated stop
        // signal too, without moving the deadline. Nothing after SIGKILL.
        (Phase::Killing { .. }, Event::Signal(_))
        | (
            _,
            Event::ParentDied
            | Event::AllGone
            | Event::Tick
            | Event::MainStopped(_)
            | Event::StartFailed(_),
        ) => None,
        (_, Event::Signal(s)) => map.map(s).map(Action::Forward),
    }
}

/// Why a stop began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// grace received this stop signal.
    Signal(Signal),
    /// grace's parent died (`--parent-death-stop`).
    ParentDied,
    /// The only command exited and left processes behind.
    MainExited,
    /// This command (0-based) exited: the first, which ends the run, or
    /// with `--keep-going` the last, which left processes behind.
    CommandExited(usize),
    /// A command could not start.
    StartFailed,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Signal(s) => write!(f, "{s}"),
            Reason::ParentDied => f.write_str("parent died"),
            Reason::MainExited => f.write_str("main child exited"),
            Reason::CommandExited(i) => write!(f, "command {} exited", i + 1),
            Reason::StartFailed => f.write_str("a command could not start"),
        }
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SignalMap;
    use crate::exit::ExitPolicy;

    /// A configuration with this grace period and stop delay.
    fn timed(grace: Duration, stop_delay: Duration) -> Config {
        Config::new("app".into(), vec![], grace, stop_delay).expect("valid config in test")
    }

    /// A 10 s grace period, no stop delay.
    fn cfg() -> Config {
        timed(Duration::from_secs(10), Duration::ZERO)
    }

    fn clean_stop_zero() -> Config {
        cfg().with_exit(ExitPolicy {
            clean_stop_zero: true,
            map: vec![],
        })
    }

    fn sig(s: &str) -> Signal {
        Signal::parse(s).expect("valid signal in test")
    }

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    const EXITED_0: Status = Status::Exited(0);

    fn main_exit(status: Status, children_left: bool) -> Event {
        Event::Exited {
            command: 0,
            status,
            children_left,
        }
    }

    #[test]
    fn running_forwards_other_signals_and_never_wakes() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        for name in ["HUP", "USR1", "USR2", "QUIT", "WINCH", "CONT", "RTMIN+3"] {
            assert_eq!(
                step(&mut s, Event::Signal(sig(name)), &c, t0),
                Some(Action::Forward(sig(name)))
            );
        }
        assert_eq!(step(&mut s, Event::Tick, &c, secs(t0, 1000)), None);
        assert_eq!(s.phase, Phase::Running);
        assert_eq!(s.next_deadline(), None, "idle: no timeout at all");
    }

    #[test]
    fn a_child_stopped_for_the_terminal_suspends_grace_only_while_running() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        for name in ["TSTP", "TTIN", "TTOU"] {
            assert_eq!(
                step(&mut s, Event::MainStopped(sig(name)), &c, t0),
                Some(Action::Suspend(sig(name))),
                "{name}"
            );
        }
        // Stopped by a plain SIGSTOP (a debugger, `kill -STOP`): not a job
        // control stop; grace carries on.
        assert_eq!(step(&mut s, Event::MainStopped(sig("STOP")), &c, t0), None);
        assert_eq!(s.phase, Phase::Running);
        assert_eq!(
            step(&mut s, Event::Signal(Signal::TERM), &c, t0),
            Some(Action::Stop(Signal::TERM))
        );
        assert_eq!(step(&mut s, Event::MainStopped(sig("TSTP")), &c, t0), None);
        assert_eq!(s.phase, Phase::Stopping);
    }

    #[test]
    fn stop_then_kill_at_the_deadline() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        assert_eq!(
            step(&mut s, Event::Signal(Signal::TERM), &c, t0),
            Some(Action::Stop(Signal::TERM))
        );
        assert_eq!(s.phase, Phase::Stopping);
        assert_eq!(s.next_deadline(), Some(secs(t0, 10)));
        assert_eq!(step(&mut s, Event::Tick, &c, secs(t0, 9)), None);
        // A repeated stop signal is forwarded again and does not move the deadline.
        assert_eq!(
            step(&mut s, Event::Signal(Signal::INT), &c, secs(t0, 5)),
            Some(Action::Forward(Signal::INT))
        );
        assert_eq!(s.next_deadline(), Some(secs(t0, 10)));
        assert_eq!(
            step(&mut s, Event::Tick, &c, secs(t0, 10)),
            Some(Action::Kill)
        );
        assert!(matches!(s.phase, Phase::Killing { .. }));
        assert_eq!(
            step(&mut s, Event::Signal(Signal::HUP), &c, secs(t0, 10)),
            None,
            "nothing after SIGKILL"
        );
        let killed = main_exit(Status::Signaled(Signal::KILL), false);
        assert_eq!(
            step(&mut s, killed, &c, secs(t0, 10)),
            Some(Action::Exit(137))
        );
    }

    #[test]
    fn int_stops_too_and_stop_signal_maps() {
        let c = cfg().with_signals(SignalMap {
            stop_signal: Some(sig("QUIT")),
            rules: vec![],
        });
        let (t0, mut s) = (Instant::now(), State::new(1));
        assert_eq!(
            step(&mut s, Event::Signal(Signal::INT), &c, t0),
            Some(Action::Stop(sig("QUIT")))
        );
        let mut s = State::new(1);
        assert_eq!(
            step(&mut s, Event::Signal(sig("QUIT")), &c, t0),
            Some(Action::Stop(sig("QUIT")))
        );
    }

    #[test]
    fn main_exits_cleanly_during_stop() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, main_exit(Status::Exited(143), false), &c, t0),
            Some(Action::Exit(143))
        );
        let c = clean_stop_zero();
        let mut s = State::new(1);
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, main_exit(Status::Exited(143), false), &c, t0),
            Some(Action::Exit(0))
        );
    }

    #[test]
    fn crash_with_143_while_running_is_not_clean() {
        let c = clean_stop_zero();
        let (t0, mut s) = (Instant::now(), State::new(1));
        assert_eq!(
            step(&mut s, main_exit(Status::Exited(143), false), &c, t0),
            Some(Action::Exit(143))
        );
    }

    #[test]
    fn sigkilled_main_is_never_clean() {
        let c = clean_stop_zero();
        let (t0, mut s) = (Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        step(&mut s, Event::Tick, &c, secs(t0, 10));
        let killed = main_exit(Status::Signaled(Signal::KILL), false);
        assert_eq!(
            step(&mut s, killed, &c, secs(t0, 10)),
            Some(Action::Exit(137))
        );
    }

    #[test]
    fn main_exits_alone_then_the_rest_drains() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        assert_eq!(
            step(&mut s, main_exit(Status::Exited(3), true), &c, t0),
            Some(Action::Drain(Signal::TERM))
        );
        assert_eq!(s.phase, Phase::Draining);
        assert_eq!(s.stop, Some((Reason::MainExited, t0)));
        assert_eq!(
            s.next_deadline(),
            Some(secs(t0, 10)),
            "never longer than the grace period"
        );
        assert_eq!(
            step(&mut s, Event::Signal(Signal::HUP), &c, t0),
            Some(Action::Forward(Signal::HUP))
        );
        assert_eq!(
            step(&mut s, Event::AllGone, &c, secs(t0, 1)),
            Some(Action::Exit(3)),
            "main's code"
        );
    }

    #[test]
    fn drain_deadline_kills_the_rest() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        step(&mut s, main_exit(EXITED_0, true), &c, t0);
        assert_eq!(
            step(&mut s, Event::Tick, &c, secs(t0, 10)),
            Some(Action::Kill)
        );
        assert_eq!(
            step(&mut s, Event::AllGone, &c, secs(t0, 10)),
            Some(Action::Exit(0))
        );
    }

    #[test]
    fn drain_after_stop_keeps_the_stop_budget_and_does_not_repeat_term() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, true), &c, secs(t0, 4)),
            Some(Action::DrainUntold(Signal::TERM)),
            "the tree was told at the stop: only what it missed"
        );
        assert_eq!(s.next_deadline(), Some(secs(t0, 10)));
        assert_eq!(
            step(&mut s, Event::Tick, &c, secs(t0, 10)),
            Some(Action::Kill)
        );
    }

    #[test]
    fn child_mode_drains_the_rest_after_the_child() {
        let c = cfg().with_forward_to(Target::Child);
        let (t0, mut s) = (Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert!(!s.tree_told);
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, true), &c, t0),
            Some(Action::Drain(Signal::TERM))
        );
    }

    #[test]
    fn stop_delay_holds_the_signal_back() {
        let c = timed(Duration::from_secs(10), Duration::from_secs(3));
        let (t0, mut s) = (Instant::now(), State::new(1));
        assert_eq!(step(&mut s, Event::Signal(Signal::TERM), &c, t0), None);
        assert!(matches!(s.phase, Phase::Delaying { .. }));
        assert_eq!(s.next_deadline(), Some(secs(t0, 3)));
        // Other signals still flow during the delay.
        assert_eq!(
            step(&mut s, Event::Signal(Signal::HUP), &c, secs(t0, 1)),
            Some(Action::Forward(Signal::HUP))
        );
        assert_eq!(step(&mut s, Event::Tick, &c, secs(t0, 2)), None);
        assert_eq!(
            step(&mut s, Event::Tick, &c, secs(t0, 3)),
            Some(Action::Stop(Signal::TERM))
        );
        assert_eq!(
            s.next_deadline(),
            Some(secs(t0, 10)),
            "the delay is part of the grace period"
        );
    }

    #[test]
    fn second_stop_signal_ends_the_delay() {
        let c = timed(Duration::from_secs(10), Duration::from_secs(3));
        let (t0, mut s) = (Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, Event::Signal(Signal::INT), &c, secs(t0, 1)),
            Some(Action::Stop(Signal::INT))
        );
        assert_eq!(s.phase, Phase::Stopping);
        assert_eq!(s.next_deadline(), Some(secs(t0, 10)));
    }

    #[test]
    fn main_exit_during_delay_drains_with_the_delayed_signal() {
        // INT is forwarded as INT; the drain signal alone would be TERM.
        let c = timed(Duration::from_secs(10), Duration::from_secs(3));
        let (t0, mut s) = (Instant::now(), State::new(1));
        assert_eq!(step(&mut s, Event::Signal(Signal::INT), &c, t0), None);
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, true), &c, secs(t0, 1)),
            Some(Action::Drain(Signal::INT))
        );
    }

    #[test]
    fn all_gone_without_the_main_status_is_not_an_exit() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        step(&mut s, Event::Tick, &c, secs(t0, 10));
        assert!(matches!(s.phase, Phase::Killing { .. }));
        assert_eq!(step(&mut s, Event::AllGone, &c, secs(t0, 10)), None);
    }

    #[test]
    fn main_exit_during_delay_drains_at_once() {
        let c = timed(Duration::from_secs(10), Duration::from_secs(3));
        let (t0, mut s) = (Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, true), &c, secs(t0, 1)),
            Some(Action::Drain(Signal::TERM))
        );
        assert_eq!(s.phase, Phase::Draining);
        let mut s = State::new(1);
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, false), &c, secs(t0, 1)),
            Some(Action::Exit(0))
        );
    }

    #[test]
    fn parent_death_stops() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        assert_eq!(
            step(&mut s, Event::ParentDied, &c, t0),
            Some(Action::Stop(Signal::TERM))
        );
        assert_eq!(s.stop, Some((Reason::ParentDied, t0)));
        assert_eq!(step(&mut s, Event::ParentDied, &c, t0), None);
    }

    #[test]
    fn dropped_signals_do_nothing() {
        let c = cfg().with_signals(SignalMap {
            stop_signal: None,
            rules: vec![(Signal::TERM, None), (Signal::HUP, None)],
        });
        let (t0, mut s) = (Instant::now(), State::new(1));
        assert_eq!(step(&mut s, Event::Signal(Signal::TERM), &c, t0), None);
        assert_eq!(step(&mut s, Event::Signal(Signal::HUP), &c, t0), None);
        assert_eq!(s.phase, Phase::Running);
        assert_eq!(
            step(&mut s, Event::Signal(Signal::INT), &c, t0),
            Some(Action::Stop(Signal::INT))
        );
    }

    #[test]
    fn killing_gives_up_on_the_unkillable() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        step(&mut s, Event::Tick, &c, secs(t0, 10));
        assert_eq!(step(&mut s, Event::Tick, &c, secs(t0, 11)), None);
        assert_eq!(s.next_deadline(), Some(secs(t0, 10) + KILL_WAIT));
        assert_eq!(
            step(&mut s, Event::Tick, &c, secs(t0, 10) + KILL_WAIT),
            Some(Action::Exit(137))
        );
    }

    #[test]
    fn killing_waits_for_the_rest_after_main() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        step(&mut s, Event::Tick, &c, secs(t0, 10));
        let killed = Status::Signaled(Signal::KILL);
        assert_eq!(
            step(&mut s, main_exit(killed, true), &c, secs(t0, 10)),
            None
        );
        assert_eq!(
            step(&mut s, Event::AllGone, &c, secs(t0, 10)),
            Some(Action::Exit(137))
        );
    }

    #[test]
    fn nothing_follows_an_exit() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(1));
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, false), &c, t0),
            Some(Action::Exit(0))
        );
        assert_eq!(s.phase, Phase::Exited);
        assert_eq!(s.next_deadline(), None);
        for event in [
            Event::Signal(Signal::TERM),
            Event::Signal(Signal::HUP),
            Event::ParentDied,
            main_exit(EXITED_0, true),
            Event::AllGone,
            Event::MainStopped(Signal::TSTP),
            Event::StartFailed(127),
            Event::Tick,
        ] {
            assert_eq!(step(&mut s, event, &c, secs(t0, 100)), None, "{event:?}");
        }
    }

    #[test]
    fn zero_grace_period_kills_at_once() {
        let c = timed(Duration::ZERO, Duration::ZERO);
        let (t0, mut s) = (Instant::now(), State::new(1));
        assert_eq!(
            step(&mut s, Event::Signal(Signal::TERM), &c, t0),
            Some(Action::Stop(Signal::TERM))
        );
        assert_eq!(step(&mut s, Event::Tick, &c, t0), Some(Action::Kill));
        let mut s = State::new(1);
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, true), &c, t0),
            Some(Action::Kill),
            "drain with no budget"
        );
    }

    fn exit_of(command: usize, status: Status, children_left: bool) -> Event {
        Event::Exited {
            command,
            status,
            children_left,
        }
    }

    fn keep_going() -> Config {
        cfg().with_keep_going(true)
    }

    const TERMED: Status = Status::Signaled(Signal::TERM);

    #[test]
    fn the_first_command_to_exit_stops_the_others_and_gives_the_code() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(2));
        assert_eq!(
            step(&mut s, exit_of(1, Status::Exited(3), true), &c, t0),
            Some(Action::Drain(Signal::TERM)),
            "the others are told at once, with the drain signal"
        );
        assert_eq!(s.phase, Phase::Draining);
        assert_eq!(s.stop, Some((Reason::CommandExited(1), t0)));
        assert_eq!(s.ended_run, Some(1));
        assert_eq!(s.next_deadline(), Some(secs(t0, 10)));
        // A stop signal now changes neither the deadline nor the code.
        assert_eq!(
            step(&mut s, Event::Signal(Signal::TERM), &c, secs(t0, 1)),
            Some(Action::Forward(Signal::TERM))
        );
        assert_eq!(s.next_deadline(), Some(secs(t0, 10)));
        assert_eq!(
            step(&mut s, exit_of(0, TERMED, false), &c, secs(t0, 2)),
            Some(Action::Exit(3))
        );
        assert_eq!(s.exit_from, Some(1));
        assert_eq!(s.order, [1, 0]);
    }

    #[test]
    fn the_first_exit_kills_the_stubborn_at_the_deadline() {
        let c = clean_stop_zero();
        let (t0, mut s) = (Instant::now(), State::new(2));
        let segv = Status::Signaled(sig("SEGV"));
        step(&mut s, exit_of(0, segv, true), &c, t0);
        assert_eq!(
            step(&mut s, Event::Tick, &c, secs(t0, 10)),
            Some(Action::Kill)
        );
        let killed = Status::Signaled(Signal::KILL);
        assert_eq!(
            step(&mut s, exit_of(1, killed, false), &c, secs(t0, 10)),
            Some(Action::Exit(139)),
            "the crash's status, not the killed one's"
        );
    }

    #[test]
    fn the_last_command_after_a_first_exit_tells_only_the_untold() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(3));
        step(&mut s, exit_of(2, EXITED_0, true), &c, t0);
        // The drain told the rest; what a command forked since its exit
        // has not heard (a TERM handler's helper): each later exit tells it.
        assert_eq!(
            step(&mut s, exit_of(0, TERMED, true), &c, t0),
            Some(Action::DrainUntold(Signal::TERM))
        );
        assert_eq!(
            step(&mut s, exit_of(1, TERMED, true), &c, t0),
            Some(Action::DrainUntold(Signal::TERM)),
            "processes forked by the handlers since"
        );
        assert_eq!(
            step(&mut s, Event::AllGone, &c, secs(t0, 1)),
            Some(Action::Exit(0))
        );
        assert_eq!(s.exit_from, Some(2));
    }

    #[test]
    fn keep_going_waits_for_the_last_and_takes_the_first_failure() {
        let (c, t0, mut s) = (keep_going(), Instant::now(), State::new(2));
        assert_eq!(step(&mut s, exit_of(0, EXITED_0, true), &c, t0), None);
        assert_eq!(s.phase, Phase::Running);
        assert_eq!(s.next_deadline(), None, "no deadline while one runs");
        assert_eq!(
            step(
                &mut s,
                exit_of(1, Status::Exited(4), false),
                &c,
                secs(t0, 9)
            ),
            Some(Action::Exit(4))
        );

        // In the order they exited, not the command line's.
        let mut s = State::new(3);
        step(&mut s, exit_of(2, Status::Exited(2), true), &c, t0);
        step(&mut s, exit_of(0, Status::Exited(5), true), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(1, EXITED_0, false), &c, t0),
            Some(Action::Exit(2))
        );
        assert_eq!(s.exit_from, Some(2));

        let mut s = State::new(2);
        step(&mut s, exit_of(1, EXITED_0, true), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(0, EXITED_0, false), &c, t0),
            Some(Action::Exit(0))
        );
        assert_eq!(s.exit_from, None);
        let mapped = keep_going().with_exit(ExitPolicy {
            clean_stop_zero: false,
            map: vec![(0, 9)],
        });
        let mut s = State::new(1);
        assert_eq!(
            step(&mut s, exit_of(0, EXITED_0, false), &mapped, t0),
            Some(Action::Exit(9)),
            "the map applies last"
        );
    }

    #[test]
    fn keep_going_drains_what_the_last_leaves() {
        let (c, t0, mut s) = (keep_going(), Instant::now(), State::new(2));
        step(&mut s, exit_of(0, Status::Exited(6), true), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(1, EXITED_0, true), &c, secs(t0, 5)),
            Some(Action::Drain(Signal::TERM))
        );
        assert_eq!(s.stop, Some((Reason::CommandExited(1), secs(t0, 5))));
        assert_eq!(s.ended_run, None, "the last exit ends no one");
        assert_eq!(
            step(&mut s, Event::AllGone, &c, secs(t0, 6)),
            Some(Action::Exit(6))
        );
    }

    #[test]
    fn a_stop_takes_the_first_command_that_did_not_end_cleanly() {
        let run = |c: &Config, statuses: [Status; 3]| {
            let (t0, mut s) = (Instant::now(), State::new(3));
            assert_eq!(
                step(&mut s, Event::Signal(Signal::TERM), c, t0),
                Some(Action::Stop(Signal::TERM))
            );
            let mut last = None;
            for (i, status) in statuses.into_iter().enumerate().rev() {
                last = step(&mut s, exit_of(i, status, i > 0), c, t0);
            }
            last
        };
        let plain = cfg();
        let clean = clean_stop_zero();
        let seven = Status::Exited(7);
        let ok = Status::Exited(143);
        assert_eq!(run(&plain, [ok, TERMED, seven]), Some(Action::Exit(7)));
        assert_eq!(run(&plain, [ok, TERMED, EXITED_0]), Some(Action::Exit(143)));
        assert_eq!(run(&clean, [ok, TERMED, EXITED_0]), Some(Action::Exit(0)));
        assert_eq!(
            run(&clean, [EXITED_0, seven, TERMED]),
            Some(Action::Exit(7))
        );
        // Killed after the deadline is not clean.
        let c = clean_stop_zero();
        let (t0, mut s) = (Instant::now(), State::new(2));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(0, TERMED, true), &c, t0),
            Some(Action::DrainUntold(Signal::TERM))
        );
        step(&mut s, Event::Tick, &c, secs(t0, 10));
        assert_eq!(
            step(
                &mut s,
                exit_of(1, Status::Signaled(Signal::KILL), false),
                &c,
                secs(t0, 10)
            ),
            Some(Action::Exit(137))
        );
        assert_eq!(s.exit_from, Some(1));
    }

    #[test]
    fn a_command_gone_before_the_stop_counts_as_it_ended() {
        // --keep-going: one failed early, the other stopped cleanly.
        let c = keep_going().with_exit(ExitPolicy {
            clean_stop_zero: true,
            map: vec![],
        });
        let (t0, mut s) = (Instant::now(), State::new(2));
        step(&mut s, exit_of(1, Status::Exited(4), true), &c, t0);
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(0, TERMED, false), &c, t0),
            Some(Action::Exit(4))
        );
        let mut s = State::new(2);
        step(&mut s, exit_of(1, EXITED_0, true), &c, t0);
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(0, TERMED, false), &c, t0),
            Some(Action::Exit(0))
        );
    }

    #[test]
    fn a_command_exiting_during_the_delay_ends_it() {
        let c = timed(Duration::from_secs(10), Duration::from_secs(3));
        let (t0, mut s) = (Instant::now(), State::new(2));
        step(&mut s, Event::Signal(Signal::INT), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(0, Status::Exited(2), true), &c, secs(t0, 1)),
            Some(Action::Drain(Signal::INT))
        );
        assert_eq!(s.ended_run, None, "the stop signal began the end");
        assert_eq!(
            step(
                &mut s,
                exit_of(1, Status::Signaled(Signal::INT), false),
                &c,
                secs(t0, 1)
            ),
            Some(Action::Exit(2))
        );
        // With --keep-going the others keep their delay.
        let c = c.with_keep_going(true);
        let mut s = State::new(2);
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(step(&mut s, exit_of(0, EXITED_0, true), &c, t0), None);
        assert_eq!(
            step(&mut s, Event::Tick, &c, secs(t0, 3)),
            Some(Action::Stop(Signal::TERM))
        );
    }

    #[test]
    fn a_start_failure_stops_the_started_and_exits_with_its_code() {
        let c = clean_stop_zero().with_exit(ExitPolicy {
            clean_stop_zero: true,
            map: vec![(127, 1)],
        });
        let (t0, mut s) = (Instant::now(), State::new(1));
        assert_eq!(
            step(&mut s, Event::StartFailed(127), &c, t0),
            Some(Action::Drain(Signal::TERM))
        );
        assert_eq!(s.stop, Some((Reason::StartFailed, t0)));
        assert_eq!(s.next_deadline(), Some(secs(t0, 10)));
        assert_eq!(
            step(&mut s, exit_of(0, EXITED_0, false), &c, t0),
            Some(Action::Exit(127)),
            "grace's own code, as with one command: not mapped"
        );
        // Killed at the deadline, still the start failure's code.
        let mut s = State::new(1);
        step(&mut s, Event::StartFailed(126), &c, t0);
        assert_eq!(
            step(&mut s, Event::Tick, &c, secs(t0, 10)),
            Some(Action::Kill)
        );
        assert_eq!(
            step(&mut s, Event::Tick, &c, secs(t0, 10) + KILL_WAIT),
            Some(Action::Exit(126))
        );
        // Only as the first event of a run.
        let mut s = State::new(1);
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(step(&mut s, Event::StartFailed(127), &c, t0), None);
    }

    #[test]
    fn several_commands_share_no_terminal_and_repeat_nothing() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new(2));
        assert_eq!(step(&mut s, Event::MainStopped(sig("TSTP")), &c, t0), None);
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(1, TERMED, true), &c, t0),
            Some(Action::DrainUntold(Signal::TERM))
        );
        assert_eq!(
            step(&mut s, exit_of(1, EXITED_0, true), &c, t0),
            None,
            "a command is reported once"
        );
        assert_eq!(step(&mut s, exit_of(5, EXITED_0, true), &c, t0), None);
        assert_eq!(s.order, [1]);
        assert_eq!(
            step(&mut s, exit_of(0, TERMED, false), &c, t0),
            Some(Action::Exit(143))
        );
    }

    #[test]
    fn reasons_read_as_the_report_writes_them() {
        for (reason, text) in [
            (Reason::Signal(Signal::TERM), "SIGTERM"),
            (Reason::ParentDied, "parent died"),
            (Reason::MainExited, "main child exited"),
            (Reason::CommandExited(1), "command 2 exited"),
            (Reason::StartFailed, "a command could not start"),
        ] {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[test]
    fn a_delayed_stop_sent_with_the_drain_ends_the_others_cleanly() {
        let c = timed(Duration::from_secs(10), Duration::from_secs(3)).with_exit(ExitPolicy {
            clean_stop_zero: true,
            map: vec![],
        });
        let (t0, mut s) = (Instant::now(), State::new(2));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(0, EXITED_0, true), &c, secs(t0, 1)),
            Some(Action::Drain(Signal::TERM))
        );
        assert_eq!(s.stop_sent, Some(Signal::TERM), "the stop signal went out");
        assert_eq!(
            step(&mut s, exit_of(1, TERMED, false), &c, secs(t0, 1)),
            Some(Action::Exit(0)),
            "killed by the stop signal it was sent: clean"
        );
    }

    #[test]
    fn forward_to_child_tells_each_commands_group_after_it() {
        let c = cfg().with_forward_to(Target::Child);
        let (t0, mut s) = (Instant::now(), State::new(3));
        assert_eq!(
            step(&mut s, Event::Signal(Signal::TERM), &c, t0),
            Some(Action::Stop(Signal::TERM))
        );
        assert_eq!(
            step(&mut s, exit_of(0, TERMED, true), &c, t0),
            Some(Action::DrainUntold(Signal::TERM)),
            "its workers, now that it is gone"
        );
        assert_eq!(
            step(&mut s, exit_of(2, TERMED, true), &c, t0),
            Some(Action::DrainUntold(Signal::TERM))
        );
        assert_eq!(
            step(&mut s, exit_of(1, TERMED, true), &c, t0),
            Some(Action::DrainUntold(Signal::TERM)),
            "the last: still only the untold"
        );
        // One command: as before, the whole rest at once after the child.
        let (t0, mut s) = (Instant::now(), State::new(1));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(0, TERMED, true), &c, t0),
            Some(Action::Drain(Signal::TERM))
        );
        // Group mode: the stop told every group; each exit tells only
        // what the command forked since (a TERM handler's helper).
        let (c, mut s) = (cfg(), State::new(2));
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, exit_of(0, TERMED, true), &c, t0),
            Some(Action::DrainUntold(Signal::TERM))
        );
    }
}
