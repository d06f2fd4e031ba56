//! Reaping: every child of grace, the commands and every orphan the kernel
//! re-parents to us, collected in one `waitpid(-1, WNOHANG)` loop.
//!
//! SIGCHLD coalesces (ten exits may raise it once), so the loop runs until
//! the kernel says no exited child is left, never once per signal. This is
//! the only place grace waits for children, so a pid it has not seen here is
//! never stale, and one it has seen here is never signalled again.

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::exit::Status;
use crate::signals::Signal;
use crate::sys;

/// What one pass of the reaper collected, besides the commands' exits.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reaped {
    /// How many other processes were reaped in this pass.
    pub others: u32,
    /// Whether grace still has children (alive, or exited and not yet
    /// reported). `false` means its whole subtree is gone.
    pub children_left: bool,
    /// The signal that stopped the first command, if it stopped in this
    /// pass and did not exit (Ctrl-Z, or a read from the terminal in the
    /// background).
    pub main_stopped: Option<Signal>,
}

/// Reaps every exited child without blocking. The exits of the commands
/// still `alive` (their index in `commands` and status) are appended to
/// `exits`, in the order they were reaped: the order they were started
/// for those that had exited when the pass began (the kernel keeps no exit
/// time). A reaped command's pid may be an orphan's by now: it counts as one.
pub fn reap_all(
    commands: &[Pid],
    alive: &[bool],
    exits: &mut Vec<(usize, Status)>,
) -> Result<Reaped, Errno> {
    let mut reaped = Reaped::default();
    let first = commands.first().copied();
    loop {
        match sys::reap_one() {
            Ok(Some((pid, raw))) if libc::WIFSTOPPED(raw) => {
                // Not an exit: only the first command's stop matters.
                if Some(pid) == first {
                    reaped.main_stopped = Signal::from_raw(libc::WSTOPSIG(raw));
                }
            }
            Ok(Some((pid, raw))) => {
                let status = Status::from_raw(raw);
                let command = commands
                    .iter()
                    .zip(alive)
                    .position(|(c, alive)| *c == pid && *alive);
                if let Some(i) = command {
                    tracing::debug!(pid = pid.as_raw(), command = i + 1, %status, "reaped a command");
                    if i == 0 {
                        // A stop reported in the same pass as the exit is history.
                        reaped.main_stopped = None;
                    }
                    exits.push((i, status));
                } else {
                    tracing::debug!(pid = pid.as_raw(), %status, "reaped");
                    reaped.others += 1;
                }
            }
            Ok(None) => {
                reaped.children_left = true;
                return Ok(reaped);
            }
            Err(Errno::ECHILD) => return Ok(reaped),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}
