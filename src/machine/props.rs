//! Properties of the stop machine, checked on generated runs: random
//! configurations fed random event sequences at non-decreasing times, in
//! the order the loop can produce them. Each property is one invariant that
//! makes grace trustworthy; the examples in `machine.rs` show single arrows.
//!
//! Test code only (`machine.rs` includes it under `#[cfg(test)]`; said
//! here too, so the file reads as what it is): its `expect`s fail a test,
//! never grace.
#![cfg(test)]

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::{Action, Event, Phase, State, step};
use crate::config::{Config, SignalMap, Target};
use crate::exit::{ExitPolicy, Status};
use crate::signals::Signal;

fn sig(name: &str) -> Signal {
    Signal::parse(name).expect("valid signal in test")
}

/// A configuration: grace period, a stop delay shorter than it (or none),
/// the forwarding target, the stop signal, a dropped INT, the exit policy
/// (clean-stop-exit-zero and exit-code maps), and `--keep-going`.
fn configs() -> impl Strategy<Value = Config> {
    (
        any::<bool>(),
        (
            0u64..20_000,
            0u64..20_000,
            any::<bool>(),
            prop_oneof![
                Just(None),
                Just(Some("QUIT")),
                Just(Some("USR2")),
                Just(Some("TERM"))
            ],
            any::<bool>(),
            any::<bool>(),
            // `--exit-code-map` rules, among the codes runs end with.
            prop::collection::vec(
                (
                    prop_oneof![Just(0u8), Just(137), Just(143), any::<u8>()],
                    any::<u8>(),
                ),
                0..3,
            ),
        ),
    )
        .prop_map(
            |(keep_going, (grace, delay, child, stop, clean, drop_int, map))| {
                // Shorter than the grace period, as the constructor insists.
                let delay = if grace == 0 { 0 } else { delay % grace };
                Config::new(
                    "app".into(),
                    vec![],
                    Duration::from_millis(grace),
                    Duration::from_millis(delay),
                )
                .expect("a valid config")
                .with_forward_to(if child { Target::Child } else { Target::Group })
                .with_signals(SignalMap {
                    stop_signal: stop.map(sig),
                    rules: if drop_int {
                        vec![(Signal::INT, None)]
                    } else {
                        vec![]
                    },
                })
                .with_exit(ExitPolicy {
                    clean_stop_zero: clean,
                    map,
                })
                .with_parent_death_stop(true)
                .with_keep_going(keep_going)
            },
        )
}

fn statuses() -> impl Strategy<Value = Status> {
    prop_oneof![
        (0u8..=255).prop_map(Status::Exited),
        Just(Status::Exited(143)),
        prop_oneof![Just("TERM"), Just("INT"), Just("KILL"), Just("QUIT")]
            .prop_map(|s| Status::Signaled(sig(s))),
    ]
}

fn events() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => prop_oneof![
            Just("TERM"), Just("INT"), Just("HUP"), Just("USR1"), Just("QUIT"), Just("USR2")
        ]
        .prop_map(|s| Event::Signal(sig(s))),
        1 => Just(Event::ParentDied),
        3 => (0usize..3, statuses(), any::<bool>()).prop_map(|(command, status, children_left)| {
            Event::Exited { command, status, children_left }
        }),
        1 => prop_oneof![Just(126u8), Just(127)].prop_map(Event::StartFailed),
        1 => Just(Event::AllGone),
        1 => prop_oneof![Just("TSTP"), Just("TTIN"), Just("TTOU"), Just("STOP")]
            .prop_map(|s| Event::MainStopped(sig(s))),
        4 => Just(Event::Tick),
    ]
}

/// How many commands started (1 to 3), and events with the milliseconds
/// since the previous one.
fn runs() -> impl Strategy<Value = (usize, Vec<(u64, Event)>)> {
    (
        1usize..=3,
        prop::collection::vec(
            (prop_oneof![Just(0u64), 0u64..100, 0u64..25_000], events()),
            0..40,
        ),
    )
}

/// One step of a run, as the loop took it.
struct Step {
    before: State,
    event: Event,
    now: Instant,
    action: Option<Action>,
    after: State,
}

/// Feeds `run` to a machine of `n` commands as the loop would: each
/// command is reaped once; only the only command reports a stop, and not
/// after it is reaped; `AllGone` only once every command is reaped; a
/// start failure only first. The loop stops at the exit; the events after
/// it show that nothing follows it.
fn drive(cfg: &Config, t0: Instant, (n, run): &(usize, Vec<(u64, Event)>)) -> Vec<Step> {
    let mut state = State::new(*n);
    let mut now = t0;
    let mut reaped = vec![false; *n];
    let mut steps: Vec<Step> = Vec::new();
    for &(dt, event) in run {
        now += Duration::from_millis(dt);
        let possible = match event {
            Event::Exited { command, .. } => reaped.get(command) == Some(&false),
            Event::MainStopped(_) => reaped == [false],
            Event::AllGone => reaped.iter().all(|r| *r),
            Event::StartFailed(_) => steps.is_empty(),
            _ => true,
        };
        if !possible {
            continue;
        }
        if let Event::Exited { command, .. } = event {
            reaped[command] = true;
        }
        let before = state.clone();
        let action = step(&mut state, event, cfg, now);
        steps.push(Step {
            before,
            event,
            now,
            action,
            after: state.clone(),
        });
    }
    steps
}

/// Whether `command` is the last unreaped command before `s`.
fn is_last(s: &Step, command: usize) -> bool {
    s.before
        .ended
        .iter()
        .enumerate()
        .all(|(i, e)| i == command || e.is_some())
}

/// When SIGKILL is due: the grace period after the first event that began a
/// stop (a stop signal or the parent's death while running; the first
/// command to exit while others run, without `--keep-going`; the last
/// leaving others behind; a start failure), computed here without the
/// machine, and without the stop delay.
fn kill_deadline(cfg: &Config, steps: &[Step]) -> Option<Instant> {
    steps.iter().find_map(|s| {
        let begins = match s.event {
            Event::Signal(sig) => s.before.phase == Phase::Running && cfg.signals().is_stop(sig),
            Event::ParentDied | Event::StartFailed(_) => s.before.phase == Phase::Running,
            Event::Exited {
                command,
                children_left,
                ..
            } => {
                let last = is_last(s, command);
                (last && children_left) || (!last && !cfg.keep_going())
            }
            _ => false,
        };
        let before_exit = !matches!(s.before.phase, Phase::Exited);
        (begins && before_exit).then(|| s.now + cfg.grace())
    })
}

fn is_over(step: &Step) -> bool {
    matches!(step.action, Some(Action::Exit(_))) || step.before.phase == Phase::Exited
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // A failure prints its shrunk case; nothing is written to the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Nothing gets the stop signal twice: at most one `Stop`, at most one
    /// drain, and after a stop that told the whole tree (group mode) the
    /// drain tells only what it missed.
    #[test]
    fn nothing_gets_the_stop_signal_twice(cfg in configs(), run in runs()) {
        let steps = drive(&cfg, Instant::now(), &run);
        let actions: Vec<Action> = steps.iter().filter_map(|s| s.action).collect();
        let stops = actions.iter().filter(|a| matches!(a, Action::Stop(_))).count();
        prop_assert!(stops <= 1, "{actions:?}");
        let drains = actions.iter().filter(|a| matches!(a, Action::Drain(_))).count();
        let untold = actions.iter().filter(|a| matches!(a, Action::DrainUntold(_))).count();
        prop_assert!(drains <= 1, "{actions:?}");
        // A drain of the untold at each command's exit during a stop or
        // a drain (what it forked since; with --forward-to child, its
        // group too), and at most one more at the end.
        prop_assert!(untold <= run.0, "{actions:?}");
        // A full drain comes first: never after a stop or a drain of the
        // untold (whose processes it would tell again), nor followed by a
        // stop. The rest tell only the untold.
        if let Some(at) = actions.iter().position(|a| matches!(a, Action::Drain(_))) {
            prop_assert!(
                !actions[..at].iter().any(|a| matches!(a, Action::DrainUntold(_))),
                "{actions:?}"
            );
            prop_assert!(
                !actions[at..].iter().any(|a| matches!(a, Action::Stop(_))),
                "{actions:?}"
            );
        }
        if stops == 1 && cfg.forward_to() == Target::Group {
            prop_assert!(
                !actions.iter().any(|a| matches!(a, Action::Drain(_))),
                "a group stop told the tree: {actions:?}"
            );
        }
        let kills = actions.iter().filter(|a| matches!(a, Action::Kill)).count();
        prop_assert!(kills <= 1, "{actions:?}");
    }

    /// No signal to a pid after it was reaped: once every command was
    /// reported exited, no stop is addressed to them (the stop and the
    /// suspension target their groups; forwards, drains and kills go to
    /// what is left, and the supervisor skips reaped commands); grace
    /// suspends only with one command, unreaped; after the exit, nothing
    /// at all.
    #[test]
    fn nothing_reaches_a_command_once_reaped(cfg in configs(), run in runs()) {
        let steps = drive(&cfg, Instant::now(), &run);
        let mut over = false;
        for s in &steps {
            if over {
                prop_assert_eq!(s.action, None, "after the exit: {:?}", s.event);
                prop_assert_eq!(s.after.next_deadline(), None);
            }
            if !s.before.running() {
                prop_assert!(
                    !matches!(s.action, Some(Action::Stop(_) | Action::Suspend(_))),
                    "{:?} after every command was reaped", s.action
                );
            }
            if matches!(s.action, Some(Action::Suspend(_))) {
                prop_assert_eq!(&s.before.ended, &vec![None]);
            }
            over |= is_over(s);
        }
    }

    /// With `--keep-going` a command's exit tells no one while another
    /// runs; without it, the first exit while others run (and no stop was
    /// under way) tells them all at once.
    #[test]
    fn one_exit_stops_the_others_unless_keep_going(cfg in configs(), run in runs()) {
        let steps = drive(&cfg, Instant::now(), &run);
        for s in &steps {
            let Event::Exited { command, .. } = s.event else {
                continue;
            };
            if is_last(s, command) || s.before.phase == Phase::Exited {
                continue;
            }
            let first_alone = matches!(s.before.phase, Phase::Running | Phase::Delaying { .. });
            let told = matches!(s.before.phase, Phase::Stopping | Phase::Draining);
            if told {
                // What it forked since the stop (a TERM handler's helper);
                // with --forward-to child, its group too, which waited.
                prop_assert!(
                    matches!(s.action, Some(Action::DrainUntold(_))),
                    "{:?} -> {:?}", s.event, s.action
                );
            } else if cfg.keep_going() || !first_alone {
                prop_assert_eq!(s.action, None, "{:?} in {:?}", s.event, s.before.phase);
            } else {
                prop_assert!(
                    matches!(s.action, Some(Action::Drain(_) | Action::Kill)),
                    "{:?} -> {:?}", s.event, s.action
                );
                prop_assert_eq!(
                    s.after.ended_run.is_some(),
                    s.before.phase == Phase::Running
                );
            }
        }
    }

    /// SIGKILL never before the deadline, and always at it while the run
    /// is not over: the first tick at or past the deadline kills (or, if
    /// it ends a stop delay no earlier tick ended, sends the stop, and the
    /// next tick kills; the loop's timeout is due at once then). The
    /// deadline is the first stop plus the grace period, whatever the stop
    /// delay: a delay never extends the grace period.
    #[test]
    fn sigkill_exactly_at_the_deadline(cfg in configs(), run in runs()) {
        let steps = drive(&cfg, Instant::now(), &run);
        let deadline = kill_deadline(&cfg, &steps);
        let mut late_ticks = 0;
        for s in &steps {
            if s.before.phase == Phase::Exited {
                break;
            }
            if s.action == Some(Action::Kill) {
                let due = deadline.expect("a kill needs a stop");
                prop_assert!(s.now >= due, "killed {:?} early", due - s.now);
                break;
            }
            if matches!(s.action, Some(Action::Exit(_))) {
                break;
            }
            // Probes from here: a tick just before the deadline never
            // kills; one at the deadline does, once the stop was sent.
            if let Some(due) = deadline.filter(|d| *d > s.now) {
                let early = due.checked_sub(Duration::from_millis(1)).unwrap_or(due);
                let mut probe = s.after.clone();
                let at = early.max(s.now);
                prop_assert_ne!(step(&mut probe, Event::Tick, &cfg, at), Some(Action::Kill));
                if matches!(s.after.phase, Phase::Stopping | Phase::Draining) {
                    let mut probe = s.after.clone();
                    prop_assert_eq!(step(&mut probe, Event::Tick, &cfg, due), Some(Action::Kill));
                }
            }
            if deadline.is_some_and(|d| s.now >= d) && s.event == Event::Tick {
                late_ticks += 1;
                let ended_delay = matches!(s.before.phase, Phase::Delaying { .. })
                    && matches!(s.action, Some(Action::Stop(_)));
                prop_assert!(
                    late_ticks == 1 && ended_delay,
                    "no SIGKILL at a tick past the deadline: {:?} -> {:?}",
                    s.before.phase,
                    s.action
                );
            }
        }
    }

    /// The exit code is a function of how the commands ended (each status,
    /// and the stop signal sent before it, if it ended during that stop and
    /// before any SIGKILL), of what ended the run, and of the policy:
    /// written here from the run's events alone. With one command it is
    /// the policy applied to that command's status.
    #[test]
    fn the_exit_code_follows_the_statuses_and_the_policy(cfg in configs(), run in runs()) {
        let steps = drive(&cfg, Instant::now(), &run);
        let n = run.0;
        let mut sent = None;
        let mut killed = false;
        let mut ended: Vec<Option<(Status, Option<Signal>)>> = vec![None; n];
        let mut order = Vec::new();
        let mut start_failed = None;
        // The first event that ended the running: a stop signal (or the
        // parent's death), or a command's exit.
        let mut by_signal = None;
        let mut first_exit = None;
        for s in &steps {
            let running = s.before.phase == Phase::Running;
            match s.event {
                Event::Exited { command, status, .. } if s.before.phase != Phase::Exited => {
                    ended[command] = Some((status, sent.filter(|_| !killed)));
                    order.push(command);
                    let others = ended.iter().any(Option::is_none);
                    if running && others && !cfg.keep_going() && by_signal.is_none() {
                        first_exit = first_exit.or(Some(command));
                    }
                }
                Event::Signal(sig) if running && cfg.signals().is_stop(sig) => {
                    by_signal = by_signal.or(Some(true));
                }
                Event::ParentDied if running => by_signal = by_signal.or(Some(true)),
                Event::StartFailed(code) => start_failed = Some(code),
                _ => {}
            }
            match s.action {
                Some(Action::Stop(sig)) => sent = Some(sig),
                // A delayed stop signal goes out with the drain.
                Some(Action::Drain(sig)) if matches!(s.before.phase, Phase::Delaying { .. }) => {
                    sent = Some(sig);
                }
                Some(Action::Kill) => killed = true,
                Some(Action::Exit(code)) => {
                    let of = |i: usize| ended[i].unwrap_or((Status::Signaled(Signal::KILL), None));
                    // Exit 0, or death by (or 128+N of) the stop signal
                    // it was sent, grace's SIGKILL excepted.
                    let clean = |(status, by): (Status, Option<Signal>)| {
                        status == Status::Exited(0)
                            || by.is_some_and(|sent: Signal| {
                                sent != Signal::KILL
                                    && (status == Status::Signaled(sent)
                                        || Some(status) == u8::try_from(128 + sent.raw()).ok().map(Status::Exited))
                            })
                    };
                    let expected = if let Some(code) = start_failed {
                        code
                    } else if let Some(i) = first_exit {
                        cfg.exit().code(of(i).0, of(i).1)
                    } else if cfg.keep_going() && by_signal.is_none() {
                        let failed = order.iter().map(|&i| of(i)).find(|e| e.0 != Status::Exited(0));
                        let (status, by) = failed.unwrap_or((Status::Exited(0), None));
                        cfg.exit().code(status, by)
                    } else {
                        let (status, by) = (0..n).map(of).find(|e| !clean(*e)).unwrap_or(of(0));
                        cfg.exit().code(status, by)
                    };
                    if n == 1 && start_failed.is_none() {
                        let (status, by) = of(0);
                        prop_assert_eq!(code, cfg.exit().code(status, by));
                    }
                    prop_assert_eq!(code, expected);
                    break;
                }
                _ => {}
            }
        }
    }

    /// The loop's timeout is never past the next deadline that fires: if a
    /// tick at some time would do something, the timeout is no later; and
    /// at the timeout itself a tick does something (no idle wake-up).
    #[test]
    fn the_timeout_is_the_next_deadline(
        cfg in configs(),
        run in runs(),
        probes in prop::collection::vec(0u64..30_000, 1..6),
    ) {
        let steps = drive(&cfg, Instant::now(), &run);
        for s in &steps {
            let timeout = s.after.next_deadline();
            let mut times: Vec<Instant> =
                probes.iter().map(|&ms| s.now + Duration::from_millis(ms)).collect();
            times.push(s.now);
            if let Some(t) = timeout.filter(|t| *t >= s.now) {
                times.push(t);
                times.extend(t.checked_sub(Duration::from_millis(1)).filter(|p| *p >= s.now));
            }
            for at in times {
                let mut probe = s.after.clone();
                if step(&mut probe, Event::Tick, &cfg, at).is_some() {
                    prop_assert!(
                        timeout.is_some_and(|t| t <= at),
                        "a tick at +{:?} fires, the timeout is {:?}",
                        at - s.now,
                        timeout.map(|t| t.saturating_duration_since(s.now))
                    );
                }
            }
            if let Some(t) = timeout {
                let mut probe = s.after.clone();
                let at = t.max(s.now);
                prop_assert!(
                    step(&mut probe, Event::Tick, &cfg, at).is_some(),
                    "woke at the timeout for nothing in {:?}",
                    s.after.phase
                );
            }
        }
    }
}
