//! The few system calls that nix cannot make for us without losing
//! information, wrapped safely. This is the only module where grace uses
//! `unsafe`; each block says why it is sound.
//!
//! Why not nix: its `Signal` enum has no real-time signals, so `kill` cannot
//! send them, and its `waitpid` returns `EINVAL` *after* the kernel has reaped
//! a child that a real-time signal killed, losing that child's pid and
//! status. For PID 1 that would be a lost exit status and a hung stop.
#![allow(unsafe_code)]

use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::unistd::Pid;

/// `kill(2)` with a raw signal number. `pid` follows kill(2): a negative pid
/// is a process group, -1 is every process we may signal.
pub fn kill(pid: i32, signal: i32) -> Result<(), Errno> {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    Errno::result(rc).map(drop)
}

/// One `waitpid(-1, WNOHANG | __WALL)`: `Ok(Some((pid, raw status)))` for a
/// reaped child, `Ok(None)` when children remain but none has exited, and
/// `Err(ECHILD)` when there are no children at all. See waitpid(2).
///
/// `__WALL` also reaps children created by `clone` with an exit signal other
/// than SIGCHLD, which would otherwise stay zombies forever.
pub fn reap_one() -> Result<Option<(Pid, i32)>, Errno> {
    let mut status: libc::c_int = 0;
    // SAFETY: `status` is a valid, writable c_int for the duration of the call.
    let rc = unsafe { libc::waitpid(-1, &raw mut status, libc::WNOHANG | libc::__WALL) };
    match Errno::result(rc)? {
        0 => Ok(None),
        pid => Ok(Some((Pid::from_raw(pid), status))),
    }
}

/// Whether `signal` is currently ignored (`SIG_IGN`). Queries with
/// sigaction(2) without changing anything; a number the libc refuses counts
/// as not ignored.
#[must_use]
pub fn is_ignored(signal: i32) -> bool {
    // SAFETY: sigaction is plain data; all-zero is a valid value to overwrite.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null `act` only reads the current action into `old`, which is
    // valid and writable.
    let rc = unsafe { libc::sigaction(signal, std::ptr::null(), &raw mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// Sets `signal` to `SIG_IGN` for grace itself. See sigaction(2).
pub fn ignore(signal: i32) -> Result<(), Errno> {
    // SAFETY: installing SIG_IGN runs no code of ours in signal context.
    let rc = unsafe { libc::signal(signal, libc::SIG_IGN) };
    if rc == libc::SIG_ERR {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Closes a descriptor grace inherited and does not own. See close(2).
///
/// Only called on descriptors listed in /proc/self/fd before grace opened any
/// of its own, so nothing in this process holds them as `OwnedFd`.
pub fn close_inherited(fd: RawFd) {
    // SAFETY: `fd` was inherited and is owned by no Rust object here (see
    // above); closing it cannot invalidate a live handle.
    let _ = unsafe { libc::close(fd) };
}
