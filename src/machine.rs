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
//!  Running/Delaying/Stopping ──main child exits, others left──▶ Draining
//!  Stopping/Draining ──grace deadline──▶ Killing (SIGKILL to everything)
//!  any ──main child gone and nothing left (or Killing gives up)──▶ Exited
//! ```

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
    /// The main child runs; signals are forwarded.
    Running,
    /// A stop began but `--stop-delay` holds it back until `until`.
    Delaying { until: Instant, signal: Signal },
    /// The stop signal was forwarded; SIGKILL at the deadline.
    Stopping,
    /// The main child is gone; waiting for the rest of the tree.
    Draining,
    /// SIGKILL was sent; waiting for the dead to be reaped.
    Killing { give_up: Instant },
    /// The run is over: the exit code was decided. Nothing follows it,
    /// whatever else is fed in (the loop stops feeding at once).
    Exited,
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
    /// Whether the stop signal already reached the whole tree.
    pub tree_told: bool,
    /// How the main child ended, once reaped.
    pub main: Option<Status>,
    /// The stop signal in force when the main child ended, if it ended
    /// during a stop grace had forwarded (for `--clean-stop-exit-zero`).
    pub main_ended_by: Option<Signal>,
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// grace received a signal (never SIGCHLD: that is the reaper's).
    Signal(Signal),
    /// grace's parent died (`--parent-death-stop`).
    ParentDied,
    /// The main child was reaped; `children_left` if grace still has others.
    MainExited { status: Status, children_left: bool },
    /// Every child of grace is gone (after the main child).
    AllGone,
    /// The main child stopped, by this signal.
    MainStopped(Signal),
    /// Time passed; deadlines may be due.
    Tick,
}

/// What to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Forward a signal to the target (`--forward-to`), or to what is left
    /// of the tree once the main child is gone.
    Forward(Signal),
    /// Begin the stop: this signal then SIGCONT to the target, and in group
    /// mode to every other process of the tree.
    Stop(Signal),
    /// The main child is gone: this signal then SIGCONT to everything left.
    Drain(Signal),
    /// The main child is gone after a stop that told the whole tree: this
    /// signal then SIGCONT to what that stop did not reach (a process that
    /// moved between the lists the stop read), and to nothing it did.
    DrainUntold(Signal),
    /// The deadline passed: SIGKILL to everything left.
    Kill,
    /// The main child stopped for the terminal by this signal (Ctrl-Z, or
    /// a read in the background): grace stops too, by the same signal, so
    /// the shell that runs it as a job sees the job stopped and can `fg` or
    /// `bg` it, as with sudo.
    Suspend(Signal),
    /// Exit with this code.
    Exit(u8),
}

impl State {
    #[must_use]
    pub fn new() -> State {
        State {
            phase: Phase::Running,
            kill_at: None,
            stop: None,
            stop_sent: None,
            tree_told: false,
            main: None,
            main_ended_by: None,
        }
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
        // Killing gave up with the main child unreaped: report it as killed.
        let status = self.main.unwrap_or(Status::Signaled(Signal::KILL));
        Action::Exit(cfg.exit().code(status, self.main_ended_by))
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

    fn main_exited(
        &mut self,
        status: Status,
        children_left: bool,
        cfg: &Config,
        now: Instant,
    ) -> Option<Action> {
        self.main = Some(status);
        if self.phase == Phase::Stopping {
            self.main_ended_by = self.stop_sent;
        }
        if !children_left {
            return Some(self.exit(cfg));
        }
        if matches!(self.phase, Phase::Killing { .. }) {
            return None;
        }
        if self.stop.is_none() {
            self.stop = Some((Reason::MainExited, now));
        }
        // The drain never waits longer than the grace period: from now if no
        // stop was under way, else what is left of the stop's budget.
        let kill_at = *self.kill_at.get_or_insert(later(now, cfg.grace()));
        let signal = match self.phase {
            Phase::Delaying { signal, .. } => signal,
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

    fn kill(&mut self, now: Instant) -> Action {
        self.phase = Phase::Killing {
            give_up: later(now, KILL_WAIT),
        };
        Action::Kill
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
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
            Event::MainExited {
                status,
                children_left,
            },
        ) => state.main_exited(status, children_left, cfg, now),

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
        (Phase::Draining | Phase::Killing { .. }, Event::AllGone) if state.main.is_some() => {
            Some(state.exit(cfg))
        }
        // Only while the app simply runs: a stop under way goes on.
        (Phase::Running, Event::MainStopped(s @ (Signal::TSTP | Signal::TTIN | Signal::TTOU))) => {
            Some(Action::Suspend(s))
        }
        // Everything else received is forwarded, mapped; a repeated stop
        // signal too, without moving the deadline. Nothing after SIGKILL.
        (Phase::Killing { .. }, Event::Signal(_))
        | (_, Event::ParentDied | Event::AllGone | Event::Tick | Event::MainStopped(_)) => None,
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
    /// The main child exited and left processes behind.
    MainExited,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Signal(s) => write!(f, "{s}"),
            Reason::ParentDied => f.write_str("parent died"),
            Reason::MainExited => f.write_str("main child exited"),
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
        Event::MainExited {
            status,
            children_left,
        }
    }

    #[test]
    fn running_forwards_other_signals_and_never_wakes() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
        let (t0, mut s) = (Instant::now(), State::new());
        assert_eq!(
            step(&mut s, Event::Signal(Signal::INT), &c, t0),
            Some(Action::Stop(sig("QUIT")))
        );
        let mut s = State::new();
        assert_eq!(
            step(&mut s, Event::Signal(sig("QUIT")), &c, t0),
            Some(Action::Stop(sig("QUIT")))
        );
    }

    #[test]
    fn main_exits_cleanly_during_stop() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, main_exit(Status::Exited(143), false), &c, t0),
            Some(Action::Exit(143))
        );
        let c = clean_stop_zero();
        let mut s = State::new();
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, main_exit(Status::Exited(143), false), &c, t0),
            Some(Action::Exit(0))
        );
    }

    #[test]
    fn crash_with_143_while_running_is_not_clean() {
        let c = clean_stop_zero();
        let (t0, mut s) = (Instant::now(), State::new());
        assert_eq!(
            step(&mut s, main_exit(Status::Exited(143), false), &c, t0),
            Some(Action::Exit(143))
        );
    }

    #[test]
    fn sigkilled_main_is_never_clean() {
        let c = clean_stop_zero();
        let (t0, mut s) = (Instant::now(), State::new());
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
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
        let (t0, mut s) = (Instant::now(), State::new());
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
        let (t0, mut s) = (Instant::now(), State::new());
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
        let (t0, mut s) = (Instant::now(), State::new());
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
        let (t0, mut s) = (Instant::now(), State::new());
        assert_eq!(step(&mut s, Event::Signal(Signal::INT), &c, t0), None);
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, true), &c, secs(t0, 1)),
            Some(Action::Drain(Signal::INT))
        );
    }

    #[test]
    fn all_gone_without_the_main_status_is_not_an_exit() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        step(&mut s, Event::Tick, &c, secs(t0, 10));
        assert!(matches!(s.phase, Phase::Killing { .. }));
        assert_eq!(step(&mut s, Event::AllGone, &c, secs(t0, 10)), None);
    }

    #[test]
    fn main_exit_during_delay_drains_at_once() {
        let c = timed(Duration::from_secs(10), Duration::from_secs(3));
        let (t0, mut s) = (Instant::now(), State::new());
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, true), &c, secs(t0, 1)),
            Some(Action::Drain(Signal::TERM))
        );
        assert_eq!(s.phase, Phase::Draining);
        let mut s = State::new();
        step(&mut s, Event::Signal(Signal::TERM), &c, t0);
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, false), &c, secs(t0, 1)),
            Some(Action::Exit(0))
        );
    }

    #[test]
    fn parent_death_stops() {
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
        let (t0, mut s) = (Instant::now(), State::new());
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
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
        let (c, t0, mut s) = (cfg(), Instant::now(), State::new());
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
            Event::Tick,
        ] {
            assert_eq!(step(&mut s, event, &c, secs(t0, 100)), None, "{event:?}");
        }
    }

    #[test]
    fn zero_grace_period_kills_at_once() {
        let c = timed(Duration::ZERO, Duration::ZERO);
        let (t0, mut s) = (Instant::now(), State::new());
        assert_eq!(
            step(&mut s, Event::Signal(Signal::TERM), &c, t0),
            Some(Action::Stop(Signal::TERM))
        );
        assert_eq!(step(&mut s, Event::Tick, &c, t0), Some(Action::Kill));
        let mut s = State::new();
        assert_eq!(
            step(&mut s, main_exit(EXITED_0, true), &c, t0),
            Some(Action::Kill),
            "drain with no budget"
        );
    }
}
