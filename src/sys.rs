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
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::SigSet;
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

/// `sigtimedwait(2)` on `set`: the number of the first pending signal of
/// it, dequeued; `EAGAIN` when `timeout` passes first (`None` waits
/// forever, `Some(ZERO)` only looks).
///
/// Why not nix: it does not wrap sigtimedwait.
pub fn sigtimedwait(set: &SigSet, timeout: Option<Duration>) -> Result<i32, Errno> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(d.subsec_nanos().min(999_999_999).cast_signed()),
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), std::ptr::from_ref);
    // SAFETY: `set` is a valid, initialised sigset_t borrowed for the call;
    // the info pointer may be null (we need only the number); `ts_ptr` is
    // null or points at `ts`, which outlives the call.
    let rc = unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), ts_ptr) };
    Errno::result(rc)
}

/// The signal set holding exactly `signals` (1 to 64).
///
/// Built from raw bits because libc's `sigaddset` refuses the numbers the
/// libc keeps for itself (musl refuses 32 to 34), and grace must block 34
/// (`SIGRTMIN` as glibc numbers it) like any other real-time signal.
#[must_use]
pub fn signal_set(signals: impl IntoIterator<Item = i32>) -> SigSet {
    const _: () = assert!(size_of::<libc::sigset_t>() >= 8 && align_of::<libc::sigset_t>() >= 8);
    let bits = signals
        .into_iter()
        .filter(|n| (1..=64).contains(n))
        .fold(0u64, |b, n| b | 1 << (n - 1));
    // SAFETY: sigset_t is plain data (an array of unsigned longs); all-zero
    // is the empty set.
    let mut raw: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: on Linux, glibc's and musl's sigset_t both start with the
    // kernel's 64-bit mask, signal N at bit N-1; the assertion above shows
    // the write fits and is aligned.
    unsafe { (&raw mut raw).cast::<u64>().write(bits) };
    // SAFETY: `raw` is a fully initialised sigset_t.
    unsafe { SigSet::from_sigset_t_unchecked(raw) }
}

/// Closes every descriptor from 3 up with one `close_range(2)` (Linux 5.9
/// and later; `ENOSYS` before). Called when grace owns no descriptor of its
/// own above stderr, so every one of them was inherited and is held by no
/// Rust object.
pub fn close_above_stderr() -> Result<(), Errno> {
    // SAFETY: close_range takes three integers and touches no memory of
    // ours; by the contract above no live `OwnedFd` refers to what it closes.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    Errno::result(rc).map(drop)
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

#[cfg(test)]
mod tests {
    use nix::sys::signal::Signal;

    use super::*;

    #[test]
    fn signal_sets_hold_exactly_what_was_asked() {
        let set = signal_set([1, 15, 34, 64, 0, 65]);
        assert!(set.contains(Signal::SIGHUP) && set.contains(Signal::SIGTERM));
        assert!(!set.contains(Signal::SIGINT) && !set.contains(Signal::SIGKILL));
        let raw: *const libc::sigset_t = set.as_ref();
        // SAFETY: reading back the first 64 bits, as `signal_set` wrote them.
        let bits = unsafe { raw.cast::<u64>().read() };
        assert_eq!(bits, 1 | 1 << 14 | 1 << 33 | 1 << 63);
    }
}
