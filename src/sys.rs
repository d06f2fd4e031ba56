//! The few system calls that nix cannot make for us without losing
//! information, wrapped safely. This is the only module where grace uses
//! `unsafe`: each function that needs it carries its own
//! `#[allow(unsafe_code)]`, and each block says why it is sound.
//!
//! Why not nix: its `Signal` enum has no real-time signals, so `kill` cannot
//! send them, and its `waitpid` returns `EINVAL` *after* the kernel has reaped
//! a child that a real-time signal killed, losing that child's pid and
//! status. For PID 1 that would be a lost exit status and a hung stop.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd as _, OwnedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::SigSet;
use nix::unistd::Pid;

/// `kill(2)` with a raw signal number. `pid` follows kill(2): a negative pid
/// is a process group, -1 is every process we may signal.
#[allow(unsafe_code)]
pub fn kill(pid: i32, signal: i32) -> Result<(), Errno> {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    Errno::result(rc).map(drop)
}

/// One `waitpid(-1, WNOHANG | WUNTRACED | __WALL)`: `Ok(Some((pid, raw
/// status)))` for a reaped child or one that has just stopped
/// (`WIFSTOPPED`; reported once a stop), `Ok(None)` when children remain
/// but none has exited or stopped, and `Err(ECHILD)` when there are no
/// children at all. See waitpid(2).
///
/// `__WALL` also reaps children created by `clone` with an exit signal other
/// than SIGCHLD, which would otherwise stay zombies forever.
#[allow(unsafe_code)]
pub fn reap_one() -> Result<Option<(Pid, i32)>, Errno> {
    let mut status: libc::c_int = 0;
    // SAFETY: `status` is a valid, writable c_int for the duration of the call.
    let rc = unsafe {
        libc::waitpid(
            -1,
            &raw mut status,
            libc::WNOHANG | libc::WUNTRACED | libc::__WALL,
        )
    };
    match Errno::result(rc)? {
        0 => Ok(None),
        pid => Ok(Some((Pid::from_raw(pid), status))),
    }
}

/// A signal taken by [`sigtimedwait`], with who raised it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caught {
    /// The signal number.
    pub signo: i32,
    /// `si_code`: `SI_USER` (0) for kill(2), negative for other calls
    /// (`SI_QUEUE`, `SI_TKILL`, `SI_TIMER`, ...), `SI_KERNEL` (0x80) for
    /// the kernel's generic sends, other positive values for a code of the
    /// signal's own (a fault's address kind, a child's state).
    pub code: i32,
    /// `si_pid`: the sender, for `SI_USER`, `SI_QUEUE` and `SI_TKILL`
    /// (0 when it lives outside grace's PID namespace).
    pub pid: i32,
}

/// `sigtimedwait(2)` on `set`: the first pending signal of it, dequeued,
/// with its `siginfo`; `EAGAIN` when `timeout` passes first (`None` waits
/// forever, `Some(ZERO)` only looks).
///
/// Why not nix: it does not wrap sigtimedwait.
#[allow(unsafe_code)]
pub fn sigtimedwait(set: &SigSet, timeout: Option<Duration>) -> Result<Caught, Errno> {
    let ts = timeout.map(|d| libc::timespec {
        // The one bound on durations is config::MAX_DURATION (100 years),
        // which a 64-bit time_t holds. Only where time_t has 32 bits is a
        // longer wait clamped to its 68 years, and then the loop, woken
        // with nothing due, waits again. The field's type is inferred, not
        // named: libc's time_t alias is deprecated on musl.
        tv_sec: d.as_secs().try_into().unwrap_or(i32::MAX.into()),
        tv_nsec: libc::c_long::from(d.subsec_nanos().min(999_999_999).cast_signed()),
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), std::ptr::from_ref);
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, initialised sigset_t borrowed for the call;
    // `info` is writable and outlives it; `ts_ptr` is null or points at
    // `ts`, which outlives the call.
    let rc = unsafe { libc::sigtimedwait(set.as_ref(), &raw mut info, ts_ptr) };
    let signo = Errno::result(rc)?;
    // SAFETY: the kernel filled `info`; si_pid sits in the union's first
    // member for every code, and reads as 0 where the code names no sender.
    let pid = unsafe { info.si_pid() };
    Ok(Caught {
        signo,
        code: info.si_code,
        pid,
    })
}

/// Whether signal `n` is `SIG_IGN` in this process, read with the raw
/// system call: the C library's `sigaction` refuses the signals it keeps
/// for itself (glibc 32 and 33, musl 32 to 34), whose inherited
/// disposition grace must still pass on. `None` if the kernel refuses.
#[must_use]
#[allow(unsafe_code)]
pub fn is_ignored(n: i32) -> Option<bool> {
    // The kernel's `struct sigaction` on Linux x86-64 and arm64: handler,
    // flags, restorer, mask, each 8 bytes.
    let mut old = [0u64; 4];
    // SAFETY: rt_sigaction with a null new action only writes the old one,
    // 32 bytes at most on these architectures, into `old`, which is that
    // large and outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            n,
            std::ptr::null::<u8>(),
            old.as_mut_ptr(),
            8usize,
        )
    };
    Errno::result(rc).ok()?;
    Some(old[0] == libc::SIG_IGN as u64)
}

/// The signal set holding exactly `signals` (1 to 64).
///
/// Built from raw bits because libc's `sigaddset` refuses the numbers the
/// libc keeps for itself (musl refuses 32 to 34), and grace must block 34
/// (`SIGRTMIN` as glibc numbers it) like any other real-time signal.
#[must_use]
#[allow(unsafe_code)]
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

/// What [`fork_exec`] reports back from its child.
pub struct ForkExec {
    /// The child's pid (already reaped when `exec_error` is set).
    pub pid: Pid,
    /// The child made its group the terminal's foreground group.
    pub took_foreground: bool,
    /// Why the last `execve(2)` failed, when none succeeded.
    pub exec_error: Option<Errno>,
}

/// `fork(2)` a child that, before it executes anything, leads a new
/// process group, makes that group the foreground group of the terminal on
/// stdin (with `foreground`), resets `defaults` to their default
/// disposition, restores `mask`, and then tries `execve(2)` on each of
/// `candidates` in order, the way `execvp(3)` walks `PATH`. Returns once
/// the child has executed a program or given up.
///
/// Why not `posix_spawn(3)`: it has no step for the terminal (glibc's
/// `posix_spawn_file_actions_addtcsetpgrp_np` is missing from musl), and
/// done by grace after the spawn, a program that looks at the terminal at
/// once can still find itself in the background. The shells' job control
/// does the same in the child. It is also the way out when `posix_spawn`
/// itself is refused: glibc's creates the child with `clone3` and gives up
/// when a seccomp profile answers EPERM (it falls back only on ENOSYS);
/// its `fork` uses plain `clone`.
///
/// Everything the child needs is prepared here, before the fork; between
/// fork and exec the child only makes system calls, which would be sound
/// even if another thread held a lock across the fork (grace has no other
/// thread).
#[allow(unsafe_code)]
pub fn fork_exec(
    candidates: &[CString],
    argv: &[CString],
    env: &[CString],
    mask: &SigSet,
    defaults: &[i32],
    foreground: bool,
) -> Result<ForkExec, Errno> {
    let argv_ptrs = null_terminated(argv);
    let env_ptrs = null_terminated(env);
    // The child's report: one byte for the terminal, then the errno of a
    // failed exec. Close-on-exec, so a successful exec reads as end of file.
    let (report_r, report_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let all = signal_set(1..=64);
    let report_fd = report_w.as_raw_fd();

    // SAFETY: the child touches only memory prepared above (C strings,
    // null-terminated pointer arrays, the mask and the defaults, all alive
    // until `_exit` or a successful exec), makes only async-signal-safe
    // system calls, and leaves through `execve` or `_exit`, never by
    // returning into Rust code; it takes no lock, so a lock held by another
    // thread at the fork could not hurt it (grace has no other thread).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: the child, which ends in this block (see above). setpgid,
        // tcsetpgrp and getpid take integers; the write reads a local byte.
        unsafe {
            let took = libc::setpgid(0, 0) == 0
                && foreground
                && libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid()) == 0;
            let _ = libc::write(report_fd, std::ptr::from_ref(&u8::from(took)).cast(), 1);
        }
        // SAFETY: signal with SIG_DFL installs no handler of ours; the mask
        // is a valid sigset_t borrowed for the call.
        unsafe {
            for &sig in defaults {
                libc::signal(sig, libc::SIG_DFL);
            }
            libc::sigprocmask(libc::SIG_SETMASK, mask.as_ref(), std::ptr::null_mut());
        }
        let mut error = libc::ENOENT;
        let mut denied = false;
        for candidate in candidates {
            // SAFETY: a C string and two null-terminated arrays of pointers
            // to C strings, all alive for the call.
            unsafe { libc::execve(candidate.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
            error = Errno::last_raw();
            match error {
                // As musl's execvp(3): try the next directory of PATH.
                libc::ENOENT | libc::ENOTDIR => {}
                libc::EACCES => denied = true,
                _ => break,
            }
        }
        if denied && matches!(error, libc::ENOENT | libc::ENOTDIR) {
            error = libc::EACCES;
        }
        let bytes = error.to_ne_bytes();
        // SAFETY: a valid sigset_t borrowed for the call; the write reads
        // four bytes of a local that outlives it; `_exit` ends the process
        // without running anything of the parent's (no atexit, no flush).
        unsafe {
            // Grace may no longer read (the child was stopped before its
            // exec, and grace went on): block everything again, so that
            // the write's SIGPIPE cannot kill the child before `_exit(127)`.
            libc::sigprocmask(libc::SIG_SETMASK, all.as_ref(), std::ptr::null_mut());
            let _ = libc::write(report_fd, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127);
        }
    }
    let pid = Pid::from_raw(Errno::result(pid)?);
    drop(report_w);

    // Wait for the report, and meanwhile for the child to stop: a Ctrl-Z
    // (or a terminal read) between its mask restore and its exec stops it
    // before it runs anything, and a plain read would then wait until
    // someone continued it, with the terminal given to a stopped group.
    // SIGCHLD is blocked in grace: a signalfd sees it.
    let chld_set = signal_set([libc::SIGCHLD]);
    // SAFETY: a valid sigset_t for the call; -1 asks for a new descriptor,
    // which is ours alone and owned at once.
    let chld = unsafe {
        let fd = Errno::result(libc::signalfd(-1, chld_set.as_ref(), libc::SFD_CLOEXEC))?;
        OwnedFd::from_raw_fd(fd)
    };
    let mut report = [0u8; 5];
    let mut got = 0;
    let mut stopped = false;
    while got < report.len() {
        let mut fds = [report_r.as_raw_fd(), chld.as_raw_fd()].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        // Once the child is stopped it writes nothing more: only what it
        // wrote before (its exec's end of file, if it had execed) is read.
        let timeout = if stopped { 0 } else { -1 };
        // SAFETY: two valid pollfds, writable for the call.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        match Errno::result(rc) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        if fds[0].revents != 0 {
            match nix::unistd::read(&report_r, &mut report[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        } else if stopped {
            // Stopped before its exec: it is the supervisor's to see (the
            // stop is left to be reported), as a stop after it. If the
            // exec then fails, the child exits 127.
            return Ok(ForkExec {
                pid,
                took_foreground: got > 0 && report[0] == 1,
                exec_error: None,
            });
        }
        if fds[1].revents != 0 {
            let mut info = [0u8; 128];
            let _ = nix::unistd::read(&chld, &mut info);
            stopped = stopped_before_exec(pid);
        }
    }
    let exec_error = (got == report.len()).then(|| {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(&report[1..]);
        // The child has exited (or is about to): reap it here, so the
        // supervisor never sees a pid it did not start.
        let mut status = 0;
        // SAFETY: `status` is a valid, writable c_int for the call.
        let _ = unsafe { libc::waitpid(pid.as_raw(), &raw mut status, libc::__WALL) };
        Errno::from_raw(i32::from_ne_bytes(raw))
    });
    Ok(ForkExec {
        pid,
        took_foreground: got > 0 && report[0] == 1,
        exec_error,
    })
}

/// The pointers to `strings`, then a null: `argv` and `envp` for execve(2).
fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Whether child `pid` is stopped, without taking the stop's report
/// (`waitid` with `WNOWAIT`): the supervisor's reaper still sees it.
#[allow(unsafe_code)]
fn stopped_before_exec(pid: Pid) -> bool {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is writable for the call.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid.as_raw().cast_unsigned(),
            &raw mut info,
            libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    rc == 0 && info.si_code == libc::CLD_STOPPED
}

/// `send(2)` on the socket `fd` without blocking and without SIGPIPE
/// (`MSG_DONTWAIT | MSG_NOSIGNAL`): the flags apply to this call alone, so
/// the open file description, shared with the app, stays as it was.
#[allow(unsafe_code)]
pub fn send_nonblocking(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the call.
    let rc = unsafe {
        libc::send(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    Errno::result(rc).map(isize::cast_unsigned)
}

/// Whether `fd` can take a write now (`poll(2)` for `POLLOUT`, no wait).
#[allow(unsafe_code)]
pub fn writable_now(fd: BorrowedFd<'_>) -> bool {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, writable for the call; timeout 0.
    let rc = unsafe { libc::poll(&raw mut pfd, 1, 0) };
    rc == 1 && pfd.revents & libc::POLLOUT != 0
}

/// Closes the descriptors `first..=last` with one `close_range(2)` (Linux
/// 5.9 and later; `ENOSYS` before, or `EPERM` from a seccomp profile that
/// refuses it). The caller guarantees that no Rust object in this process
/// owns any of them.
#[allow(unsafe_code)]
pub fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes three integers and touches no memory of
    // ours; by the contract above no live `OwnedFd` refers to what it closes.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    Errno::result(rc).map(drop)
}

/// `readlinkat(2)` into `buf`: the link's target, cut to `buf`'s length.
/// No allocation (nix's takes a 16 KB buffer, an mmap and munmap each
/// call under musl).
#[allow(unsafe_code)]
pub fn readlinkat<'b>(dir: BorrowedFd<'_>, path: &CStr, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    // SAFETY: `path` is NUL-terminated and `buf` is valid for writes of
    // `buf.len()` bytes, both for the call.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            path.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    buf.get(..usize::try_from(n).ok()?)
}

/// The kernel's boot clock (`CLOCK_BOOTTIME`) in nanoseconds; 0 if it
/// cannot be read (it always can, since Linux 2.6.39).
#[allow(unsafe_code)]
pub fn boottime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &raw mut ts) };
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// `pread(2)`: reads into `buf` from `offset` of `fd` without moving its
/// position.
#[allow(unsafe_code)]
pub fn pread(fd: BorrowedFd<'_>, buf: &mut [u8], offset: i64) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the call.
    let n = unsafe { libc::pread(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), offset) };
    Errno::result(n).map(isize::unsigned_abs)
}

/// Closes a descriptor grace inherited and does not own. See close(2).
///
/// Only called on descriptors listed in /proc/self/fd before grace opened any
/// of its own, so nothing in this process holds them as `OwnedFd`.
#[allow(unsafe_code)]
pub fn close_inherited(fd: RawFd) {
    // SAFETY: `fd` was inherited and is owned by no Rust object here (see
    // above); closing it cannot invalidate a live handle.
    let _ = unsafe { libc::close(fd) };
}

/// Ends grace with `code` at once: `_exit(2)`, without Rust's runtime
/// tear-down (it would unmap the main thread's signal stack and the
/// allocator's last pages, memory the kernel frees with the process
/// anyway): three system calls saved on the stop's path, after the app
/// is gone and before grace's parent hears of it.
///
/// For grace's very end only: nothing is buffered by then (logs go out
/// with write(2) line by line; grace never writes to stdout there).
#[allow(unsafe_code)]
pub fn exit_now(code: u8) -> ! {
    // SAFETY: _exit(2) takes an integer and does not return; it runs no
    // destructor or handler that could observe a broken state.
    unsafe { libc::_exit(i32::from(code)) }
}

/// What one page table maps on `x86_64`: 512 pages of 4 KiB.
#[cfg(target_arch = "x86_64")]
const TABLE_SPAN: usize = 2 << 20;

/// In a mapping of twice [`TABLE_SPAN`] at `start`: the aligned span
/// inside it, and the non-empty parts around that span (start, length).
#[cfg(target_arch = "x86_64")]
fn aligned_span(start: usize) -> (usize, impl Iterator<Item = (usize, usize)>) {
    let at = start.next_multiple_of(TABLE_SPAN);
    let end = start + 2 * TABLE_SPAN;
    let around = [(start, at), (at + TABLE_SPAN, end)];
    let parts = around.into_iter().filter(|(from, to)| to > from);
    (at, parts.map(|(from, to)| (from, to - from)))
}

/// A page table of grace's own, made just after the spawn and freed when
/// the stop signal has gone out, so that grace's exit, after the app's,
/// need not wait for other CPUs (`x86_64` only; elsewhere [`FlushAhead::prepare`]
/// makes none).
///
/// Freeing a page table makes the kernel flush the TLB of every CPU it
/// still counts as using grace's memory, with an IPI to each, and a CPU
/// that has moved on to other memory leaves the count then. Since Linux
/// 6.12, x86 keeps a CPU counted until such a flush reaches it: the CPU
/// that ran `posix_spawn`'s child (which runs on grace's memory until its
/// exec), and in a long-lived container every CPU grace woke on since.
/// Grace's exit frees its page tables, so without this it waits there,
/// after the app has gone and before the runtime sees the container end,
/// for every such CPU: 20-odd µs on a 2-vCPU VM whose other CPU was
/// halted, the largest part of grace's stop over tini-static's (see
/// BENCHMARKS.md). Freed just after the stop signal instead, the same IPIs
/// overlap the app's handling of that signal.
///
/// Costs three system calls and a page fault while the app starts (none
/// measurable in grace's start-up), one `munmap` at the stop, and 2 MiB
/// of address space (no memory: one page of it is readable, and reads as
/// the kernel's shared zero page). Best effort: where a call fails there
/// is no page table, and only timing changes.
#[derive(Debug)]
pub struct FlushAhead {
    /// The start of the 2 MiB range the page table maps, which nothing
    /// else can be mapped into while grace holds it.
    #[cfg(target_arch = "x86_64")]
    at: usize,
}

impl FlushAhead {
    /// Makes the page table: maps twice its span inaccessible, keeps the
    /// aligned span inside, and reads one page of it (made readable on
    /// its own, so that the kernel cannot map the span as one huge page,
    /// which would take no page table of its own).
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    #[must_use]
    pub fn prepare() -> Option<FlushAhead> {
        const PAGE: usize = 4096;
        // SAFETY: a new private anonymous mapping at an address the kernel
        // picks: it overlaps nothing of ours, and nothing refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * TABLE_SPAN,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        let (at, around) = aligned_span(base as usize);
        // What lies around the aligned span back; failing, it stays.
        for (from, len) in around {
            // SAFETY: part of the mapping made above, outside the span
            // kept; nothing refers to it.
            let _ = unsafe { libc::munmap(from as *mut libc::c_void, len) };
        }
        // SAFETY: the first page of the span kept, mapped above.
        let rc = unsafe { libc::mprotect(at as *mut libc::c_void, PAGE, libc::PROT_READ) };
        if rc != 0 {
            FlushAhead { at }.release();
            return None;
        }
        // SAFETY: `at` is mapped and readable (just above); reading an
        // untouched private anonymous page maps the shared zero page.
        let _ = unsafe { std::ptr::read_volatile(at as *const u8) };
        Some(FlushAhead { at })
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[must_use]
    pub fn prepare() -> Option<FlushAhead> {
        None
    }

    /// Frees the page table, and with it the range.
    #[allow(unsafe_code)]
    pub fn release(self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the span `prepare` kept, which nothing refers to: `self`
        // is consumed, and no reference into the range was ever made.
        let _ = unsafe { libc::munmap(self.at as *mut libc::c_void, TABLE_SPAN) };
    }

    /// Where the range starts.
    #[cfg(all(test, target_arch = "x86_64"))]
    fn at(&self) -> usize {
        self.at
    }
}

#[cfg(test)]
mod tests {
    use nix::sys::signal::Signal;

    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn signal_sets_hold_exactly_what_was_asked() {
        let set = signal_set([1, 15, 34, 64, 0, 65]);
        assert!(set.contains(Signal::SIGHUP) && set.contains(Signal::SIGTERM));
        assert!(!set.contains(Signal::SIGINT) && !set.contains(Signal::SIGKILL));
        let raw: *const libc::sigset_t = set.as_ref();
        // SAFETY: reading back the first 64 bits, as `signal_set` wrote them.
        let bits = unsafe { raw.cast::<u64>().read() };
        assert_eq!(bits, 1 | 1 << 14 | 1 << 33 | 1 << 63);
    }

    /// The range `prepare` keeps: its one readable page, then the rest.
    #[cfg(target_arch = "x86_64")]
    fn flush_ahead_lines(at: usize) -> [String; 2] {
        let page = at + 4096;
        let end = at + TABLE_SPAN;
        [
            format!("{at:x}-{page:x} r--p "),
            format!("{page:x}-{end:x} ---p "),
        ]
    }

    #[cfg(target_arch = "x86_64")]
    fn maps_hold(line: &str) -> bool {
        let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
        maps.lines().any(|l| l.starts_with(line))
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_span_kept_is_aligned_and_what_lies_around_it_goes_back() {
        let s = TABLE_SPAN;
        let (at, around) = aligned_span(7 * s);
        assert_eq!((at, around.collect::<Vec<_>>()), (7 * s, vec![(8 * s, s)]));
        let (at, around) = aligned_span(7 * s + 4096);
        let parts = vec![(7 * s + 4096, s - 4096), (9 * s, 4096)];
        assert_eq!((at, around.collect::<Vec<_>>()), (8 * s, parts));
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn flush_ahead_holds_a_page_table_until_released() {
        let flush = FlushAhead::prepare().expect("an anonymous mapping");
        let at = flush.at();
        assert_eq!(at % TABLE_SPAN, 0, "{at:x}");
        for line in flush_ahead_lines(at) {
            assert!(maps_hold(&line), "{line}");
        }
        // The read mapped a page there, so a page table holds it:
        // pagemap's bit 63 is "present".
        let pagemap = std::fs::File::open("/proc/self/pagemap").expect("pagemap");
        let mut entry = [0u8; 8];
        let offset = i64::try_from(at / 4096 * 8).expect("an offset");
        let n = pread(std::os::fd::AsFd::as_fd(&pagemap), &mut entry, offset).expect("pread");
        assert_eq!(n, 8);
        assert!(u64::from_ne_bytes(entry) >> 63 == 1, "{entry:?}");
        flush.release();
        for line in flush_ahead_lines(at) {
            assert!(!maps_hold(&line), "{line}");
        }
    }
}
