//! Signal numbers and names, the set grace catches, and the [`SignalSource`]
//! the event loop blocks on.
//!
//! `Signal` is our own type rather than `nix::sys::signal::Signal` because
//! nix's enum cannot name real-time signals, and grace forwards those too.
//! Nothing here ever blocks without a caller-supplied deadline.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::time::TimeSpec;
use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::SignalOnly;

use crate::sys;

/// A signal number, 1 to 64 on Linux, real-time signals included.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Signal(i32);

/// The classic signal names, indexed by number (x86-64 and arm64 Linux).
const NAMES: [&str; 32] = [
    "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// `SIGRTMIN` as glibc, bash's `kill -l` and Docker's `STOPSIGNAL` number it.
/// (musl reserves one more and calls 35 `SIGRTMIN`; we follow the convention
/// users type, and document it.)
const RTMIN: i32 = 34;
/// The highest signal number on Linux.
pub const MAX: i32 = 64;

impl Signal {
    pub const INT: Signal = Signal(libc::SIGINT);
    pub const KILL: Signal = Signal(libc::SIGKILL);
    pub const PIPE: Signal = Signal(libc::SIGPIPE);
    pub const TERM: Signal = Signal(libc::SIGTERM);
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    pub const CONT: Signal = Signal(libc::SIGCONT);
    pub const TTIN: Signal = Signal(libc::SIGTTIN);
    pub const TTOU: Signal = Signal(libc::SIGTTOU);

    #[cfg(test)]
    pub const HUP: Signal = Signal(libc::SIGHUP);
    #[cfg(test)]
    pub const QUIT: Signal = Signal(libc::SIGQUIT);
    #[cfg(test)]
    pub const USR1: Signal = Signal(libc::SIGUSR1);

    /// The signal with this number, if it is one.
    #[must_use]
    pub fn from_raw(n: i32) -> Option<Signal> {
        (1..=MAX).contains(&n).then_some(Signal(n))
    }

    /// The raw number, for system calls.
    #[must_use]
    pub fn raw(self) -> i32 {
        self.0
    }

    /// Parses `TERM`, `SIGTERM`, `term`, `15`, `RTMIN+3`, `SIGRTMAX-1`.
    pub fn parse(text: &str) -> Result<Signal, String> {
        let t = text.trim();
        if let Ok(n) = t.parse::<i32>() {
            return Signal::from_raw(n).ok_or_else(|| format!("no signal has number {n}"));
        }
        let upper = t.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        let rt = |base: &str, sign: i32, limit: i32| -> Option<i32> {
            let rest = name.strip_prefix(base)?;
            if rest.is_empty() {
                return Some(0);
            }
            let (op, digits) = rest.split_at(1);
            let k: i32 = digits.parse().ok()?;
            (op == if sign > 0 { "+" } else { "-" } && (0..=limit).contains(&k)).then_some(sign * k)
        };
        let span = MAX - RTMIN;
        let number = match name {
            "IOT" => Some(libc::SIGABRT),
            "POLL" => Some(libc::SIGIO),
            "CLD" => Some(libc::SIGCHLD),
            // `SIG32`, as Display writes the libc-reserved numbers.
            _ if name.bytes().all(|b| b.is_ascii_digit()) => {
                name.parse().ok().filter(|n| (1..=MAX).contains(n))
            }
            _ => NAMES
                .iter()
                .position(|n| !n.is_empty() && *n == name)
                .and_then(|i| i32::try_from(i).ok())
                .or_else(|| rt("RTMIN", 1, span).map(|k| RTMIN + k))
                .or_else(|| rt("RTMAX", -1, span).map(|k| MAX + k)),
        };
        number
            .map(Signal)
            .ok_or_else(|| format!("unknown signal '{t}'"))
    }

    /// Whether grace forwards this signal when it receives it.
    ///
    /// Excluded: KILL and STOP (cannot be caught); ILL, FPE, SEGV, BUS, TRAP
    /// and SYS (a handler that returns would loop on a real fault of grace's
    /// own, and signal-hook refuses some of them); CHLD (grace reaps instead);
    /// TTIN and TTOU (grace ignores them so that it is never stopped for
    /// touching the terminal, see `spawn`). 32 and 33 are reserved by libc.
    #[must_use]
    pub fn is_forwardable(self) -> bool {
        !matches!(
            self.0,
            libc::SIGKILL
                | libc::SIGSTOP
                | libc::SIGILL
                | libc::SIGFPE
                | libc::SIGSEGV
                | libc::SIGBUS
                | libc::SIGTRAP
                | libc::SIGSYS
                | libc::SIGCHLD
                | libc::SIGTTIN
                | libc::SIGTTOU
                | 32
                | 33
        )
    }

    /// Every signal grace forwards.
    pub fn forwardable() -> impl Iterator<Item = Signal> {
        (1..=MAX).map(Signal).filter(|s| s.is_forwardable())
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        match usize::try_from(n).ok().and_then(|i| NAMES.get(i)) {
            Some(name) if !name.is_empty() => write!(f, "SIG{name}"),
            _ if n == RTMIN => f.write_str("SIGRTMIN"),
            _ if n == MAX => f.write_str("SIGRTMAX"),
            _ if n > RTMIN && n <= i32::midpoint(RTMIN, MAX) => write!(f, "SIGRTMIN+{}", n - RTMIN),
            _ if n > RTMIN => write!(f, "SIGRTMAX-{}", MAX - n),
            _ => write!(f, "SIG{n}"),
        }
    }
}

/// Where the event loop's signals come from: signal-hook handlers that set a
/// flag per signal and write a byte to a socket pair, which we `ppoll`.
///
/// Signals coalesce (a signal sent ten times before we read may be seen once)
/// and come back in no particular order; the supervisor is written for that.
pub struct SignalSource {
    delivery: SignalDelivery<UnixStream, SignalOnly>,
    /// Both ends of the socket pair, which grace must keep open.
    fds: [RawFd; 2],
}

impl SignalSource {
    /// Installs handlers for SIGCHLD and for every forwardable signal not in
    /// `skip`. Call before spawning, so that nothing sent meanwhile is lost.
    pub fn install(skip: &[Signal]) -> io::Result<SignalSource> {
        let (read, write) = UnixStream::pair()?;
        let fds = [read.as_raw_fd(), write.as_raw_fd()];
        let delivery = SignalDelivery::with_pipe(read, write, SignalOnly, [libc::SIGCHLD])?;
        let source = SignalSource { delivery, fds };
        source.add(Signal::forwardable().filter(|s| !skip.contains(s)))?;
        Ok(source)
    }

    /// Installs handlers for more signals (those that grace was started with
    /// ignored, once the child has inherited that; see `spawn`).
    pub fn add(&self, signals: impl IntoIterator<Item = Signal>) -> io::Result<()> {
        let handle = self.delivery.handle();
        for sig in signals {
            match handle.add_signal(sig.raw()) {
                Ok(()) => {}
                // A libc may reserve a real-time signal for itself (musl keeps
                // 34): such a signal cannot be caught, so it is not forwarded.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    tracing::trace!(signal = %sig, "not catchable here");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The descriptors grace must keep open.
    #[must_use]
    pub fn fds(&self) -> [RawFd; 2] {
        self.fds
    }

    /// Blocks until a signal arrives or `deadline` passes (forever if `None`).
    /// An `EINTR` is a normal wake-up.
    pub fn wait(&self, deadline: Option<Instant>) -> Result<(), Errno> {
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            TimeSpec::from_duration(left)
        });
        let mut fds = [PollFd::new(
            self.delivery.get_read().as_fd(),
            PollFlags::POLLIN,
        )];
        match ppoll(&mut fds, timeout, None) {
            Ok(_) | Err(Errno::EINTR) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Appends the signals received since the last call, without blocking.
    pub fn drain(&mut self, out: &mut Vec<Signal>) {
        out.extend(self.delivery.pending().filter_map(Signal::from_raw));
    }
}

/// What a process was started with: its blocked mask and its ignored signals.
/// The child must start with exactly this, as if grace were not there.
pub struct Inherited {
    pub mask: nix::sys::signal::SigSet,
    pub ignored: Vec<Signal>,
}

impl Inherited {
    /// Records the current state. Call first thing, before installing anything.
    pub fn record() -> Result<Inherited, Errno> {
        let mask = nix::sys::signal::SigSet::thread_get_mask()?;
        let ignored = (1..=MAX)
            .map(Signal)
            .filter(|s| sys::is_ignored(s.raw()))
            .collect();
        Ok(Inherited { mask, ignored })
    }

    /// Whether `sig` was ignored when grace started.
    #[must_use]
    pub fn is_ignored(&self, sig: Signal) -> bool {
        self.ignored.contains(&sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_numbers_and_prefixes() {
        for (text, n) in [
            ("TERM", 15),
            ("SIGTERM", 15),
            ("term", 15),
            ("sigterm", 15),
            ("15", 15),
            (" hup ", 1),
            ("QUIT", 3),
            ("WINCH", 28),
            ("iot", 6),
            ("RTMIN", 34),
            ("RTMIN+3", 37),
            ("SIGRTMIN+30", 64),
            ("RTMAX", 64),
            ("rtmax-2", 62),
            ("64", 64),
        ] {
            assert_eq!(Signal::parse(text), Ok(Signal(n)), "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_signal() {
        for text in [
            "", "0", "65", "-1", "TERMS", "SIG", "RTMIN+31", "RTMIN-1", "RTMAX+1", "banana",
        ] {
            assert!(Signal::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn names_round_trip() {
        for n in 1..=MAX {
            let s = Signal(n);
            assert_eq!(Signal::parse(&s.to_string()), Ok(s), "{s}");
        }
        assert_eq!(Signal(15).to_string(), "SIGTERM");
        assert_eq!(Signal(34).to_string(), "SIGRTMIN");
        assert_eq!(Signal(37).to_string(), "SIGRTMIN+3");
        assert_eq!(Signal(63).to_string(), "SIGRTMAX-1");
        assert_eq!(Signal(32).to_string(), "SIG32");
    }

    #[test]
    fn forwardable_set() {
        let set: Vec<i32> = Signal::forwardable().map(Signal::raw).collect();
        for s in [1, 2, 3, 6, 10, 12, 13, 14, 15, 18, 20, 28, 34, 64] {
            assert!(set.contains(&s), "{s}");
        }
        for s in [4, 5, 7, 8, 9, 11, 17, 19, 21, 22, 31, 32, 33] {
            assert!(!set.contains(&s), "{s}");
        }
    }
}
