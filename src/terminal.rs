//! The terminal and job control, in one room: giving the terminal's
//! foreground to the child (at the start and after `fg`), giving it back
//! at exit, and stopping grace with the child when a job-control shell
//! runs it as a job (Ctrl-Z), so that `fg` and `bg` work as without grace.
//!
//! The child's side of the start (taking the foreground before its exec)
//! is in [`crate::spawn`] and [`crate::sys::fork_exec`]; this module owns
//! what happens afterwards. Without a terminal on stdin (the usual
//! container) every entry point returns at once.

use std::io;
use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::unistd::{Pid, getpgid, getpgrp, getpid, getppid, getsid, tcgetpgrp, tcsetpgrp};

use crate::signals::Signal;
use crate::{sys, tree};

/// The terminal on stdin, as far as the child is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminal {
    /// stdin is not grace's controlling terminal (or the child could not
    /// take it).
    None,
    /// A terminal in whose background grace was started: the child gets
    /// it when grace is brought to the foreground (see [`hand_over`]).
    Background,
    /// The child's group has the terminal; `previous` had it before.
    Given { previous: Pid },
}

/// Job control for one run: the terminal as the child got it, and the
/// decisions about it the loop asks for.
pub struct JobControl {
    terminal: Terminal,
    /// The main child, which leads its own process group.
    child: Pid,
    /// grace is PID 1: it never stops itself, nor gives the terminal back.
    pid1: bool,
}

impl JobControl {
    #[must_use]
    pub fn new(terminal: Terminal, child: Pid, pid1: bool) -> JobControl {
        JobControl {
            terminal,
            child,
            pid1,
        }
    }

    /// After the main child stopped for the terminal by `sig`.
    ///
    /// If grace's own group has the terminal (bash's `fg` gives it to a job
    /// it thinks is running, without a SIGCONT), the child gets it and is
    /// woken: a read that stopped it can now proceed. Otherwise grace stops
    /// itself by the same signal, so that the shell running it as a job
    /// sees the job stopped, and `fg` or `bg` resumes both (as sudo does).
    ///
    /// Only where a job-control shell will resume it: grace leads its own
    /// process group (a job-control shell makes each job one), and its
    /// parent is in the same session but another group. Never as PID 1, nor
    /// without a terminal. And by the child's signal, not SIGSTOP: the
    /// kernel ignores terminal stops in an orphaned process group (`docker
    /// exec -it`, `ssh -t host exec grace ...`), so grace cannot freeze
    /// where nobody would resume it.
    pub fn suspend(&mut self, sig: Signal) {
        if self.pid1 || self.terminal == Terminal::None {
            return;
        }
        if sig != Signal::TSTP {
            // The child has stopped, so it is not reaped yet.
            self.hand_over_again(true);
            if foreground() == Some(self.child) {
                tree::send(-self.child.as_raw(), Signal::CONT);
                return;
            }
        }
        if !is_a_job() {
            tracing::debug!("the child stopped for the terminal; no job-control shell to tell");
            return;
        }
        tracing::debug!(signal = %sig, "the child stopped for the terminal: stopping too");
        // Resumed by the shell's SIGCONT, which the loop then forwards.
        if let Err(e) = stop_self(sig) {
            tracing::debug!(error = %e, "could not stop");
        }
    }

    /// With several commands, after grace passed a SIGTSTP on to them.
    ///
    /// grace keeps the terminal then, so Ctrl-Z reaches grace's group,
    /// grace alone: the commands stop by the forwarded signal, and grace
    /// stops too, where a job-control shell will resume it, so that the
    /// shell sees the job stopped and `fg` or `bg` resumes it (the shell's
    /// SIGCONT, which the loop forwards to every command). Elsewhere (PID
    /// 1, no such shell) grace carries on, as with one command.
    pub fn stop_with_the_commands(&self) {
        if self.pid1 || !is_a_job() {
            return;
        }
        tracing::debug!("the commands were told to stop for the terminal: stopping too");
        if let Err(e) = stop_self(Signal::TSTP) {
            tracing::debug!(error = %e, "could not stop");
        }
    }

    /// On a received SIGCONT: when the shell has brought grace's group to
    /// the foreground (`fg`), the child's group gets the terminal, as at
    /// the start. Not once the child is reaped (`child_alive` false): its
    /// group id may be anyone's by then.
    pub fn hand_over_again(&mut self, child_alive: bool) {
        if self.terminal == Terminal::None || !child_alive {
            return;
        }
        // hand_over runs either way; the first time, grace's group becomes
        // the one to give the terminal back to.
        if let Some(own) = hand_over(self.child)
            && self.terminal == Terminal::Background
        {
            self.terminal = Terminal::Given { previous: own };
        }
    }

    /// At exit: gives the terminal back if grace gave it away.
    pub fn leave(&self) {
        if let (Terminal::Given { previous }, false) = (self.terminal, self.pid1) {
            // Only from a group that is gone: after a stop and `bg` the shell
            // has it back, and must keep it.
            give_back(previous);
        } else if let Terminal::Given { .. } = self.terminal {
            tracing::trace!(
                pgrp = getpgrp().as_raw(),
                "leaving the terminal to the kernel"
            );
        }
    }
}

/// Once the shell has brought grace's group to the foreground (`fg`,
/// which then sends SIGCONT), hands the terminal on to the child's group,
/// as at the start. grace's group, when it did. Never when grace's group
/// is outside its PID namespace (it reads as 0, as does any foreground
/// group out there: nothing to compare).
fn hand_over(child: Pid) -> Option<Pid> {
    let own = getpgrp();
    if own.as_raw() == 0 || foreground()? != own {
        return None;
    }
    match tcsetpgrp(io::stdin().as_fd(), child) {
        Ok(()) => Some(own),
        Err(e) => {
            tracing::debug!(error = %e, "could not give the terminal to the child");
            None
        }
    }
}

/// Gives the terminal back to `group` (grace's own, when it is not PID 1).
pub fn restore_foreground(group: Pid) {
    if let Err(e) = tcsetpgrp(io::stdin().as_fd(), group) {
        tracing::debug!(error = %e, "could not give the terminal back");
    }
}

/// At exit: gives the terminal back to `previous` if its foreground group
/// is gone (the child's, or a job of the child's shell: grace's tree is
/// drained by now). A group with live members is someone else's, such as
/// the shell that took the terminal back when the job was stopped and put
/// in the background, or another of its jobs: it keeps the terminal.
fn give_back(previous: Pid) {
    let Some(group) = foreground() else {
        return;
    };
    if group != previous && sys::kill(-group.as_raw(), 0) == Err(Errno::ESRCH) {
        restore_foreground(previous);
    }
}

/// The terminal's foreground group, when stdin is grace's terminal.
pub fn foreground() -> Option<Pid> {
    tcgetpgrp(io::stdin().as_fd()).ok()
}

/// Whether grace runs as a job of a job-control shell: it leads its own
/// process group (such a shell makes each job one), and its parent is in
/// the same session but in another group, so the group is not orphaned
/// and the parent watches it stop.
fn is_a_job() -> bool {
    let own = getpgrp();
    if own != getpid() {
        return false;
    }
    let parent = getppid();
    matches!(
        (getsid(Some(parent)), getsid(None), getpgid(Some(parent))),
        (Ok(theirs), Ok(ours), Ok(group)) if theirs == ours && group != own
    )
}

/// Stops this process by `sig` (a terminal stop: TSTP, TTIN or TTOU),
/// as if it had arrived: sent to itself while blocked, then unblocked for
/// an instant, so its default action applies. The kernel ignores it when
/// the disposition is `SIG_IGN` or the process group is orphaned, and grace
/// goes on. Returns once grace is resumed (SIGCONT).
fn stop_self(sig: Signal) -> Result<(), Errno> {
    let set = sys::signal_set([sig.raw()]);
    sys::kill(nix::unistd::getpid().as_raw(), sig.raw())?;
    set.thread_unblock()?;
    set.thread_block()
}
