//! The supervisor: setup, the one event loop ([`run`]) around the stop
//! machine ([`crate::machine`]), and the signals it sends.
//!
//! The loop blocks in one `sigtimedwait` on the signals grace takes in,
//! with the next deadline as its timeout and none at all while nothing is
//! pending: zero wake-ups while idle. There are no threads and no timers besides that.

use std::time::Instant;

use nix::unistd::{Pid, getppid};

use crate::config::{Config, Target};
use crate::error::Error;
use crate::logging::Value;
use crate::machine::{Action, Event, Phase, State, step};
use crate::report::{self, Count, Report, millis};
use crate::signals::{Inherited, Signal, SignalSource};
use crate::terminal::JobControl;
use crate::tree::{self, Scope};
use crate::{logging, reaper, spawn, sys};

/// Runs `cfg` to completion and ends grace with its exit code; returns
/// only the error that kept grace from supervising.
///
/// At the end nothing is freed: the supervisor, the machine and the
/// config go with the process, all at once. Dropped, they cost musl's
/// allocator some twenty `free`s on cold pages, on the stop's path
/// between the app's exit and grace's: 2-3 µs of the 7-8 µs by which
/// grace's last steps (the reap to `exit_group`) took longer than
/// tini-static's, perf-traced over 300 stops per mode on the 2-core VM of
/// BENCHMARKS.md.
pub fn run(cfg: &Config) -> Result<std::convert::Infallible, Error> {
    // First, before anything changes it: the state the children must inherit.
    let inherited = Inherited::record().map_err(Error::SignalState)?;
    let mut source = SignalSource::install().map_err(Error::Signals)?;
    // Which processes grace answers for, and whether it is PID 1: both
    // from one reading of its own pid. After the signals are blocked: until
    // then a SIGTERM would end grace itself.
    let scope = Scope::detect();
    let is_pid1 = scope.is_pid1();

    let parent = getppid();
    let (orphans_come, mut parent_gone) = adopt(cfg, is_pid1, parent);

    let started = start(cfg, &inherited)?;
    let main = started.main;
    // Never pin a mount, never hold a pipe or socket the child has closed.
    let _ = nix::unistd::chdir("/");
    // Precondition: grace holds no descriptor of its own above stderr but
    // logging's, which is spared. Nothing above keeps one: the signal
    // source is a mask, not a descriptor; spawn's report pipe and signalfd
    // are closed when it returns; Scope::detect only stats /proc. A pidfd
    // or a /proc directory kept from before this line would be closed under
    // its owner: open such things after it.
    close_inherited_fds();

    let pids: Vec<Pid> = started.commands.iter().map(|c| c.pid).collect();
    let mut sup = Supervisor {
        cfg,
        alive: vec![true; pids.len()],
        pids,
        job: JobControl::new(started.terminal, main, is_pid1),
        told_pids: tree::PidSet::default(),
        scope,
        report: Report::new(Instant::now(), started.commands, cfg.commands().len()),
        look: None,
        // After close_inherited_fds, which would close it.
        last_pid: tree::LastPid::open(),
        orphans_come,
        // After the spawn: made while the app starts, not before.
        flush_ahead: crate::sys::FlushAhead::prepare(),
    };
    let mut state = State::new(sup.pids.len());
    // Allocated once: a heap allocation in the loop would cost musl's
    // allocator an mmap between a signal's arrival and its forwarding.
    let mut signals = Vec::with_capacity(16);
    let mut events = Vec::with_capacity(16);
    let mut exits = Vec::with_capacity(sup.pids.len());
    if let Some((name, code)) = started.failed {
        events.push(Event::StartFailed(code));
        sup.report.failed = Some(name);
    }
    let mut children_left = true;
    let code = 'run: loop {
        if std::mem::take(&mut parent_gone) {
            events.push(Event::ParentDied);
        }
        source.drain(&mut signals).map_err(Error::WaitSignal)?;
        for sig in signals.drain(..).filter(|s| *s != Signal::CHLD) {
            if sig == Signal::CONT {
                // Perhaps the shell's `fg`: before the child is woken, it
                // gets the terminal if grace's group now has it.
                sup.job.hand_over_again(sup.alive.first() == Some(&true));
            }
            if !sig.is_forwardable() {
                tracing::debug!(signal = %sig, "received; not forwarded");
                continue;
            }
            tracing::debug!(signal = %sig, "received");
            let died =
                cfg.parent_death_stop() && sig == Signal::TERM && !is_pid1 && getppid() != parent;
            events.push(if died {
                Event::ParentDied
            } else {
                Event::Signal(sig)
            });
        }
        // Forward before reaping: while a command is unreaped its pid and
        // group id cannot be reused, so signalling them is always safe.
        for event in events.drain(..) {
            if let Some(code) = sup.handle(&mut state, event) {
                break 'run code;
            }
        }
        let reaped = sup.reap(&mut exits, &state)?;
        children_left = reaped.children_left;
        if let Some(sig) = reaped.main_stopped
            && let Some(code) = sup.handle(&mut state, Event::MainStopped(sig))
        {
            break 'run code;
        }
        let gone = exits.is_empty() && !state.running() && !children_left;
        for event in exits
            .drain(..)
            .map(|(command, status)| Event::Exited {
                command,
                status,
                children_left,
            })
            .chain(gone.then_some(Event::AllGone))
            .chain([Event::Tick])
        {
            if let Some(code) = sup.handle(&mut state, event) {
                break 'run code;
            }
        }
        let look_due = sup.look.as_ref().map(|l| l.due);
        let deadline = state.next_deadline().into_iter().chain(look_due);
        source.wait(deadline.min()).map_err(Error::WaitSignal)?;
    };
    // Every end passes the reaper or a kill, which make a waiting look;
    // should one still wait, its line and count are written all the same.
    sup.look_now(&state);

    if children_left {
        // Only a give-up leaves children behind: every other exit waits for
        // the last of them.
        sup.name_survivors();
    }
    let end = report::End {
        stop: state.stop,
        ended: &state.ended,
        ended_run: state.ended_run,
        from: state.exit_from,
    };
    sup.report.finish(&end, code);
    sup.job.leave();
    sys::exit_now(code)
}

/// Outside PID 1: becomes the subtree's subreaper, and with
/// `--parent-death-stop` asks for SIGTERM when `parent` dies. Returns
/// whether orphans of the subtree come to grace (PID 1, or a subreaper),
/// and whether the parent has died already.
fn adopt(cfg: &Config, is_pid1: bool, parent: Pid) -> (bool, bool) {
    if is_pid1 {
        return (true, false);
    }
    // Orphans of the subtree are re-parented to us, not to the host's init.
    let subreaper = nix::sys::prctl::set_child_subreaper(true);
    if let Err(e) = subreaper {
        tracing::warn!(error = %e, "could not become a subreaper: orphans will not be reaped by grace");
    }
    if !cfg.parent_death_stop() {
        return (subreaper.is_ok(), false);
    }
    let gone = match nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM) {
        // The parent may have died before the prctl: check after it.
        Ok(()) => getppid() != parent,
        Err(e) => {
            tracing::warn!(error = %e, "could not ask for a signal on parent death");
            false
        }
    };
    (subreaper.is_ok(), gone)
}

/// The commands that started, and how the start ended.
struct Started {
    /// The first command: it always started, or there is no run.
    main: Pid,
    commands: Vec<report::Command>,
    /// The terminal as the first command got it.
    terminal: crate::terminal::Terminal,
    /// A later command's failure to start: its argv\[0\] and exit code
    /// (126, 127).
    failed: Option<(String, u8)>,
}

/// Starts the commands in command-line order, each in its own process
/// group. The first one's failure is grace's (nothing else runs yet); a
/// later one's is logged, naming it, and the run then stops those that
/// started and ends with its code. Only a single command gets the terminal.
fn start(cfg: &Config, inherited: &Inherited) -> Result<Started, Error> {
    let several = cfg.commands().len() > 1;
    let mut started = Started {
        main: Pid::from_raw(0),
        commands: Vec::with_capacity(cfg.commands().len()),
        terminal: crate::terminal::Terminal::None,
        failed: None,
    };
    for (i, command) in cfg.commands().iter().enumerate() {
        let name = command.program.to_string_lossy().into_owned();
        match spawn::spawn(command, inherited, !several) {
            Ok(spawned) => {
                tracing::debug!(pid = spawned.pid.as_raw(), command = i + 1, program = %name, "spawned");
                if i == 0 {
                    started.terminal = spawned.terminal;
                    started.main = spawned.pid;
                }
                started.commands.push(report::Command {
                    pid: spawned.pid,
                    name,
                    ended: None,
                });
            }
            Err(e) if i == 0 => return Err(e),
            Err(e) => {
                tracing::error!(
                    command = i + 1,
                    "{e}; stopping the commands already started"
                );
                started.failed = Some((name, e.exit_code()));
                break;
            }
        }
    }
    Ok(started)
}

/// The I/O half: applies actions with real signals.
struct Supervisor<'a> {
    cfg: &'a Config,
    /// The commands' pids, in command-line order; each leads its own group.
    pids: Vec<Pid>,
    /// Which are unreaped: only those are signalled by pid or group id.
    alive: Vec<bool>,
    /// The terminal and job control (Ctrl-Z, `fg`, `bg`), for one command.
    job: JobControl,
    /// The processes the stop signalled, by group or by pid.
    told_pids: tree::PidSet,
    scope: Scope,
    report: Report,
    /// The stop's look for what its signal did not reach, while it waits
    /// ([`LOOK_DELAY`]).
    look: Option<Look>,
    /// `ns_last_pid`, for the stop to tell what was forked after its
    /// signal (unreadable without /proc: the look is then made at once).
    last_pid: tree::LastPid,
    /// Orphans of the subtree come to grace (PID 1, or a subreaper): a
    /// look may wait, what escaped stays below grace meanwhile.
    orphans_come: bool,
    /// Freed once the stop signal is out ([`crate::sys::FlushAhead`]).
    flush_ahead: Option<crate::sys::FlushAhead>,
}

/// How long the stop's look for what the stop signal did not reach (the
/// processes that escaped the commands' groups) waits for the commands to
/// exit first. An app that exits at once on the stop signal and leaves
/// nothing behind needs no look at all (grace then has no child left, so
/// no descendant either); one made while the app exits delays that exit:
/// measured on a 2-core VM, the look (some 15 reads of /proc, and the
/// kernel's work to drop the entries it made when the app is reaped) cost
/// a stop whose app exits at once about 90 µs at the median, a third more
/// than the peers' whole stop. An app still running after this gets the
/// look now; one that exits sooner, when it exits. Either way what escaped
/// gets the signal within this of the groups, against grace periods of
/// seconds.
///
/// What the look finds in a signalled group counts as told only if it was
/// born before the signal (by its start time and pid, [`tree::Births`]): a
/// process the app forks after the signal (a TERM handler's helper) never
/// got it, and the drain at its command's exit tells it.
const LOOK_DELAY: std::time::Duration = std::time::Duration::from_millis(2);

/// A stop's look, waiting.
#[derive(Debug)]
struct Look {
    signal: Signal,
    due: Instant,
    /// `ns_last_pid` and the clock, read just before the stop signal went
    /// out: what was born after it. `None` when `ns_last_pid` cannot be
    /// read: the look is then made at once.
    births: Option<tree::Births>,
    /// The commands that were running: the groups the stop signalled.
    groups: Vec<Pid>,
    /// Processes reaped since the signal (the commands among them): the
    /// count takes them for told, which the few forked after the signal
    /// and gone within `LOOK_DELAY` were not.
    reaped: usize,
}

impl Supervisor<'_> {
    /// One pass of the reaper: the commands' exits into `exits`, each
    /// command marked reaped; then the stop's look, if due, before the
    /// exits are handled, so that a drain they set off tells only what the
    /// look leaves untold.
    fn reap(
        &mut self,
        exits: &mut Vec<(usize, crate::exit::Status)>,
        state: &State,
    ) -> Result<reaper::Reaped, Error> {
        let reaped = reaper::reap_all(&self.pids, &self.alive, exits).map_err(Error::Wait)?;
        self.report.orphans += reaped.others;
        self.mark_reaped(exits);
        self.look_if_due(&reaped, exits.len(), state);
        Ok(reaped)
    }

    /// Marks every command reaped in this pass, before any of their exits
    /// is handled: the actions those take must not reach the others either.
    fn mark_reaped(&mut self, exits: &[(usize, crate::exit::Status)]) {
        let now = Instant::now();
        for &(i, _) in exits {
            if let Some(alive) = self.alive.get_mut(i) {
                *alive = false;
            }
            if let Some(command) = self.report.commands.get_mut(i) {
                command.ended = Some(now);
            }
        }
    }

    /// Feeds one event to `step` and applies the action; `Some(code)` to exit.
    fn handle(&mut self, state: &mut State, event: Event) -> Option<u8> {
        let before = state.phase;
        let action = step(state, event, self.cfg, Instant::now());
        if let (Phase::Running, Phase::Delaying { until, .. }) = (before, state.phase) {
            let delay = until.saturating_duration_since(Instant::now());
            tracing::info!(
                reason = %report::reason(state.stop),
                delay_ms = millis(delay),
                "stop requested: the app keeps running for the stop delay"
            );
        }
        match action {
            None => None,
            Some(Action::Exit(code)) => Some(code),
            Some(Action::Forward(sig)) => {
                self.forward(sig);
                None
            }
            Some(Action::Stop(sig)) => {
                self.stop(sig, state);
                None
            }
            Some(Action::Drain(sig)) => {
                self.look_now(state);
                if let Phase::Delaying { .. } = before {
                    // The delayed stop signal, passed on with the drain.
                    self.report.forwarded(sig);
                }
                self.tell_tree(sig);
                None
            }
            Some(Action::DrainUntold(sig)) => {
                self.look_now(state);
                self.tell_untold(sig);
                None
            }
            Some(Action::Kill) => {
                // A grace period shorter than the look's delay: the look
                // first, so that the counts and the stop's line stay whole.
                self.look_now(state);
                self.kill();
                None
            }
            Some(Action::Suspend(sig)) => {
                self.job.suspend(sig);
                None
            }
        }
    }

    /// At a give-up: names what SIGKILL has not ended (stuck in the
    /// kernel); it outlives grace.
    fn name_survivors(&mut self) {
        if let Some(left) = tree::scan(self.scope) {
            self.report.survivors = left.into_iter().map(|p| (p.pid.as_raw(), p.name)).collect();
        }
    }

    /// The unreaped commands' pids.
    fn living(&self) -> impl Iterator<Item = Pid> + '_ {
        self.pids
            .iter()
            .zip(&self.alive)
            .filter(|(_, alive)| **alive)
            .map(|(pid, _)| *pid)
    }

    /// Where forwarded signals and the stop go for a command while it is
    /// unreaped (`--forward-to`): its group, or it alone.
    fn target(&self, pid: Pid) -> i32 {
        match self.cfg.forward_to() {
            Target::Group => -pid.as_raw(),
            Target::Child => pid.as_raw(),
        }
    }

    /// Whether `pgrp` is the group of one of the commands.
    fn is_a_command_group(&self, pgrp: Pid) -> bool {
        self.pids.contains(&pgrp)
    }

    /// With `--forward-to child`, whether `p` is in a running command's
    /// group but not that command: it hears of the stop from its command,
    /// and from grace only once the command has exited.
    fn waits_for_its_command(&self, p: &tree::Proc) -> bool {
        self.cfg.forward_to() == Target::Child
            && p.pid != p.pgrp
            && self.living().any(|c| c == p.pgrp)
    }

    fn forward(&mut self, sig: Signal) {
        self.report.forwarded(sig);
        if !self.alive.contains(&true) {
            let left = tree::scan(self.scope);
            self.signal_procs(left.as_deref(), sig, false);
            tracing::debug!(signal = %sig, processes = %Count(left.map(|l| l.len())), "forwarded to what is left");
            return;
        }
        for pid in self.living() {
            let target = self.target(pid);
            tree::send(target, sig);
            tracing::debug!(signal = %sig, target, "forwarded");
        }
        if sig == Signal::TSTP && self.pids.len() > 1 {
            self.job.stop_with_the_commands();
        }
    }

    fn stop(&mut self, sig: Signal, state: &State) {
        self.report.forwarded(sig);
        let targets: Vec<i32> = self.living().map(|pid| self.target(pid)).collect();
        if self.cfg.forward_to() == Target::Child {
            // The commands themselves; their groups wait for them.
            // Each target is a command's pid.
            for &target in &targets {
                tree::send(target, sig);
                tree::send(target, Signal::CONT);
                self.told_pids.insert(Pid::from_raw(target));
            }
            self.report.add_told(Some(targets.len()));
            self.flush_ahead();
            self.log_stopping(sig, targets.len(), Some(targets.len()), state);
            return;
        }
        // Read before the signal: a process forked between this reading
        // and the signal may be taken for one forked after it and told
        // again by the drain, never the other way round (told by nobody).
        // Not read without a subreaper: the look then comes first (below),
        // and everything it finds in a group counts as told.
        let tick = tree::tick_now();
        let before = self.orphans_come.then(|| self.last_pid.read()).flatten();
        let births = before.map(|before| tree::Births { before, tick });
        self.look = Some(Look {
            signal: sig,
            due: Instant::now() + LOOK_DELAY,
            births,
            groups: self.living().collect(),
            reaped: 0,
        });
        if !self.orphans_come {
            // Not a subreaper: what escaped the groups leaves grace's
            // subtree for the host's init as soon as its parent exits,
            // which the app may do the moment it hears: the look first.
            self.look_now(state);
        }
        // The groups first: the apps hear of the stop before grace spends
        // any time looking for the rest. Their SIGCONT comes with the look:
        // a stopped process then handles the signal up to LOOK_DELAY later,
        // and a stop whose processes all exit at once sends none (the app
        // that grace woke often waits for grace's CPU: each system call
        // grace makes before it sleeps again delays the app's exit).
        //
        // As PID 1 too: not kill(-1), which would reach the escaped at
        // once, but which the kernel serves by walking every task of the
        // host, its fork and exit lock held meanwhile. Measured on the VM
        // of BENCHMARKS.md: 18 µs with 71 processes on the host, 1.15 ms
        // with 6,000 (a busy node), where the group's kill took 13-14 µs
        // in both; and a container's stop should not hold up the node's
        // forks. What escaped the groups hears at the look instead, within
        // LOOK_DELAY or at its command's exit, as under a subreaper.
        for &target in &targets {
            tree::send(target, sig);
        }
        if births.is_none() {
            // No way to tell later births apart: look at once, as close to
            // the signal as can be (a no-op after the look above).
            self.look_now(state);
        }
        self.flush_ahead();
    }

    /// Frees the page table kept for the stop, while the app handles its
    /// signal: grace's exit then has no other CPU to wait for.
    fn flush_ahead(&mut self) {
        if let Some(flush) = self.flush_ahead.take() {
            flush.release();
        }
    }

    /// Makes the stop's look once its delay passed (a command's exit sets
    /// off a drain, which makes it first: see `handle`). With no child
    /// left at all there is nothing to look for: the signal reached all
    /// there was (no child means no descendant; as PID 1, an empty
    /// namespace).
    fn look_if_due(&mut self, reaped: &reaper::Reaped, commands: usize, state: &State) {
        let Some(look) = self.look.as_mut() else {
            return;
        };
        look.reaped += reaped.others as usize + commands;
        if !reaped.children_left {
            let told = Some(look.reaped.max(look.groups.len()));
            let (signal, commands) = (look.signal, look.groups.len());
            self.look = None;
            self.report.add_told(told);
            self.log_stopping(signal, commands, told, state);
        } else if Instant::now() >= look.due {
            self.look_now(state);
        }
    }

    /// Makes the stop's look now if one is waiting (when due, and before
    /// anything that relies on what it tells: a drain, SIGKILL, the end):
    /// SIGCONT to what the stop signalled, the stop signal then SIGCONT to
    /// every process of the tree outside the groups it signalled, and a
    /// record of what it reached: not what was born since the signal (when
    /// that cannot be known, everything found in a group counts as told).
    /// Zombies are kept for the count: grace reaps only in its loop, so a
    /// child of grace's that died of the signal is still listed.
    fn look_now(&mut self, state: &State) {
        let Some(look) = self.look.take() else {
            return;
        };
        let sig = look.signal;
        let told = if let Some(procs) = tree::scan_all(self.scope) {
            // What the signal went to gets SIGCONT now (see `stop`): each
            // group that still has a member listed (which keeps its id
            // from being reused; a command not yet reaped is one).
            for &group in &look.groups {
                if procs.iter().any(|p| p.pgrp == group) {
                    tree::send(-group.as_raw(), Signal::CONT);
                }
            }
            // The groups reached their members; the rest is told now.
            let (reached, others): (Vec<_>, Vec<_>) = procs
                .into_iter()
                .partition(|p| look.groups.contains(&p.pgrp));
            let others: Vec<_> = others.into_iter().filter(|p| !p.zombie).collect();
            self.signal_procs(Some(&others), sig, true);
            // What the signal reached, even if it left the group since
            // (setsid); not what was born after it: the drain tells that.
            let mut n = others.len() + look.reaped;
            for p in &reached {
                if !look.births.is_some_and(|b| b.holds(p.pid, p.start)) {
                    self.told_pids.insert(p.pid);
                    n += 1;
                }
            }
            for p in &others {
                self.told_pids.insert(p.pid);
            }
            Some(n.max(look.groups.len()))
        } else {
            self.signal_procs(None, sig, true);
            if self.scope != Scope::Namespace {
                // The groups of the commands not yet reaped: their ids
                // are theirs still.
                for pid in self.living() {
                    tree::send(-pid.as_raw(), Signal::CONT);
                }
            }
            None
        };
        self.report.add_told(told);
        self.log_stopping(sig, look.groups.len(), told, state);
    }

    /// The stop's line, once its signal reached all it will.
    fn log_stopping(&self, sig: Signal, commands: usize, told: Option<usize>, state: &State) {
        let group = self.cfg.forward_to() == Target::Group;
        let kill_in_ms = state
            .kill_at
            .map_or(0, |k| millis(k.saturating_duration_since(Instant::now())));
        let reason = report::reason(state.stop);
        let forwarded = sig.to_string();
        logging::line(
            tracing::Level::INFO,
            "stopping",
            &[
                ("reason", Value::Str(&reason)),
                ("forwarded", Value::Str(&forwarded)),
                ("to", Value::Str(if group { "group" } else { "child" })),
                (
                    "pid",
                    Value::Int(self.pids.first().map_or(0, |p| p.as_raw()).into()),
                ),
                ("commands", commands.into()),
                // "unknown" when /proc could not list the tree.
                ("processes", told.map_or(Value::Str("unknown"), Value::from)),
                ("kill_in_ms", Value::Num(kill_in_ms)),
            ],
        );
    }

    /// Sends `sig` then SIGCONT, each by pid, to what is left of the tree
    /// that the stop did not signal: every process its list did not hold.
    /// That includes members of the main child's group forked after the
    /// stop read the tree (a TERM handler's children, which may be about
    /// to leave the group with setsid): the group signal came before
    /// them. When /proc cannot tell, the stop reached everything it could
    /// (as PID 1, all of the namespace), and nothing is sent again.
    fn tell_untold(&mut self, sig: Signal) {
        let Some(mut left) = tree::scan(self.scope) else {
            return;
        };
        left.retain(|p| !self.told_pids.contains(p.pid) && !self.waits_for_its_command(p));
        if left.is_empty() {
            return;
        }
        for p in &left {
            tree::send(p.pid.as_raw(), sig);
            tree::send(p.pid.as_raw(), Signal::CONT);
            self.told_pids.insert(p.pid);
        }
        self.report.add_told(Some(left.len()));
        tracing::info!(
            signal = %sig,
            processes = left.len(),
            "told what the stop had not reached"
        );
    }

    /// Sends `sig` then SIGCONT to every process left of the tree: the
    /// commands still running too, when one ended the run.
    fn tell_tree(&mut self, sig: Signal) {
        let mut left = tree::scan(self.scope);
        if let Some(left) = left.as_mut() {
            left.retain(|p| !self.waits_for_its_command(p));
        }
        self.signal_procs(left.as_deref(), sig, true);
        if left.is_none() && self.scope != Scope::Namespace {
            // The commands still running are reachable without /proc.
            for pid in self.living() {
                let target = self.target(pid);
                tree::send(target, sig);
                tree::send(target, Signal::CONT);
            }
        }
        for p in left.iter().flatten() {
            self.told_pids.insert(p.pid);
        }
        let count = left.map(|l| l.len());
        self.report.add_told(count);
        tracing::debug!(signal = %sig, processes = %Count(count), "told what is left of the tree");
    }

    /// Signals `procs`: each command's group at once when one of them is
    /// in it (its members keep the group id from being reused, the
    /// command's pid too), the rest one by one. `None`, when /proc cannot
    /// tell what is left: as PID 1 of a container, everything in the
    /// namespace (`kill(-1)` never reaches grace itself); else nothing can
    /// be reached by pid.
    fn signal_procs(&self, procs: Option<&[tree::Proc]>, sig: Signal, cont: bool) {
        let send = |pid: i32| {
            tree::send(pid, sig);
            if cont {
                tree::send(pid, Signal::CONT);
            }
        };
        let Some(procs) = procs else {
            if self.scope == Scope::Namespace {
                send(-1);
            }
            return;
        };
        // With --forward-to child, a running command's group is not the
        // target: what is listed of it goes by pid.
        let by_group = |pgrp: Pid| {
            self.is_a_command_group(pgrp)
                && (self.cfg.forward_to() == Target::Group || !self.living().any(|c| c == pgrp))
        };
        for &leader in &self.pids {
            if by_group(leader) && procs.iter().any(|p| p.pgrp == leader) {
                send(-leader.as_raw());
            }
        }
        for p in procs.iter().filter(|p| !by_group(p.pgrp)) {
            send(p.pid.as_raw());
        }
    }

    /// SIGKILL to everything left, in passes: a tree that forks while it is
    /// being killed has children that no list read before held, and they
    /// are orphaned to grace when their parents die. Each pass reads the
    /// tree again and kills what it had not seen; it ends when a pass finds
    /// nothing new. A killed process cannot fork, so two or three passes
    /// do; the bound is for a tree that grace cannot outrun (logged).
    fn kill(&mut self) {
        let living: Vec<Pid> = self.living().collect();
        let mut killed = tree::PidSet::default();
        let mut passes = 0;
        loop {
            let Some(left) = tree::scan(self.scope) else {
                // Nothing to list: the group, and as PID 1 the kill(-1)
                // below, reach what can be reached.
                for pid in &living {
                    tree::send(-pid.as_raw(), Signal::KILL);
                }
                self.report.killed_unknown = true;
                break;
            };
            if passes == 0 {
                for pid in living
                    .iter()
                    .filter(|pid| !left.iter().any(|p| p.pid == **pid))
                {
                    // Listed nowhere (its stat unreadable): still name it.
                    self.report.killed.push((pid.as_raw(), String::new()));
                }
            }
            let new: Vec<tree::Proc> = left.into_iter().filter(|p| killed.insert(p.pid)).collect();
            if new.is_empty() && passes > 0 {
                break;
            }
            if passes == MAX_KILL_PASSES {
                tracing::warn!(
                    passes,
                    left = new.len(),
                    "processes still appearing after every SIGKILL pass"
                );
                break;
            }
            if passes == 0 {
                for pid in &living {
                    tree::send(-pid.as_raw(), Signal::KILL);
                }
            }
            // Each by pid, the group's members too: one listed in the group
            // may have left it (setsid) before the group's SIGKILL.
            for p in &new {
                tree::send(p.pid.as_raw(), Signal::KILL);
            }
            self.report
                .killed
                .extend(new.into_iter().map(|p| (p.pid.as_raw(), p.name)));
            passes += 1;
        }
        if self.scope == Scope::Namespace {
            // PID 1 of a container: whatever every pass missed dies too.
            // kill(-1) never reaches PID 1 itself.
            let _ = sys::kill(-1, Signal::KILL.raw());
        }
        tracing::warn!(
            processes = %Count((!self.report.killed_unknown).then_some(self.report.killed.len())),
            passes,
            "grace period over: sent SIGKILL"
        );
    }
}

/// How many SIGKILL passes [`Supervisor::kill`] makes at most.
const MAX_KILL_PASSES: u32 = 16;

/// Closes every descriptor above stderr but the one logging opened for
/// itself ([`logging::own_fd`]): all the others were inherited. The child
/// has its copies already; grace must not keep a pipe or socket open after
/// the child closed it (an EOF the other end would never see). One or two
/// `close_range` where the kernel has it (no need for /proc either); else
/// the list in /proc/self/fd.
///
/// Precondition: grace holds no descriptor of its own above stderr but
/// logging's (it runs before the loop opens any); one kept across this
/// call would be closed under its owner.
fn close_inherited_fds() {
    let keep = logging::own_fd().and_then(|fd| u32::try_from(fd).ok());
    // Logging's descriptor is below 3 only if grace was started with one
    // of stdio closed; it is then not in the way.
    let ranges = match keep {
        Some(k) if k >= 3 => [(3, k - 1), (k + 1, u32::MAX)],
        _ => [(3, u32::MAX), (1, 0)],
    };
    if ranges
        .iter()
        .filter(|(a, b)| a <= b)
        .all(|&(a, b)| sys::close_range(a, b).is_ok())
    {
        return;
    }
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2 && Some(*fd) != logging::own_fd())
        .collect();
    // The directory's own descriptor is in the list and is closed by now:
    // closing it again fails with EBADF, harmlessly.
    for fd in fds {
        sys::close_inherited(fd);
    }
}
