//! Reaping: every child of grace, the main child and every orphan the kernel
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

/// What one pass of the reaper collected.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reaped {
    /// The main child's status, if it was reaped in this pass.
    pub main: Option<Status>,
    /// How many other processes were reaped in this pass.
    pub others: u32,
    /// Whether grace still has children (alive, or exited and not yet
    /// reported). `false` means its whole subtree is gone.
    pub children_left: bool,
    /// The signal that stopped the main child, if it stopped in this pass
    /// (Ctrl-Z, or a read from the terminal in the background).
    pub main_stopped: Option<Signal>,
}

/// Reaps every exited child without blocking.
pub fn reap_all(main: Pid) -> Result<Reaped, Errno> {
    let mut reaped = Reaped::default();
    loop {
        match sys::reap_one() {
            Ok(Some((pid, raw))) if libc::WIFSTOPPED(raw) => {
                // Not an exit: only the main child's stop matters.
                if pid == main {
                    reaped.main_stopped = Signal::from_raw(libc::WSTOPSIG(raw));
                }
            }
            Ok(Some((pid, raw))) => {
                let status = Status::from_raw(raw);
                if pid == main {
                    tracing::debug!(pid = pid.as_raw(), %status, "reaped the main child");
                    reaped.main = Some(status);
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
