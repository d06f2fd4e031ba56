//! Signal numbers and names, the set grace catches, and the [`SignalSource`]
//! the event loop blocks on.
//!
//! `Signal` is our own type rather than `nix::sys::signal::Signal` because
//! nix's enum cannot name real-time signals, and grace forwards those too.

use std::fmt;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::SigSet;

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
    pub const STOP: Signal = Signal(libc::SIGSTOP);
    pub const PIPE: Signal = Signal(libc::SIGPIPE);
    pub const TERM: Signal = Signal(libc::SIGTERM);
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    pub const CONT: Signal = Signal(libc::SIGCONT);
    pub const TSTP: Signal = Signal(libc::SIGTSTP);
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

    /// Whether grace forwards this signal when it receives it from
    /// another process.
    ///
    /// Excluded: KILL and STOP (cannot be caught); CHLD (grace reaps
    /// instead); TTIN and TTOU (grace's own terminal signals, blocked so
    /// that it is never stopped); 32 and 33, which the C library reserves
    /// for its threads (forwarding them could disturb the app's). The
    /// fault signals (ILL, FPE, SEGV, BUS, TRAP, SYS) are forwarded when a
    /// process sent them with kill(2); a real fault of grace's own never
    /// reaches the loop (see [`is_taken`]).
    #[must_use]
    pub fn is_forwardable(self) -> bool {
        is_taken(self.0)
            && !matches!(
                self.0,
                libc::SIGCHLD | libc::SIGTTIN | libc::SIGTTOU | 32 | 33
            )
    }

    /// Every signal grace forwards.
    #[cfg(test)]
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

/// Whether grace takes signal `n` in: all but KILL and STOP, which cannot
/// be caught. Signals taken in but not forwardable (CHLD, TTIN, TTOU, 32,
/// 33) are read and dropped: blocked, they can neither stop nor kill grace.
///
/// The synchronous faults (ILL, FPE, SEGV, BUS, TRAP, SYS) are taken in too,
/// so that one sent with kill(2) reaches the app instead of killing grace
/// (or, for SEGV and BUS, being swallowed by the Rust runtime's
/// stack-overflow handler). A real fault of grace's own is not affected:
/// the kernel delivers a synchronous fault even when it is blocked, by
/// unblocking it and resetting it to its default action, so grace still
/// dies of it.
fn is_taken(n: i32) -> bool {
    !matches!(n, libc::SIGKILL | libc::SIGSTOP)
}

/// Whether the kernel raised this signal on grace about grace itself,
/// rather than passing on a signal that somebody sent: such a signal is
/// never forwarded. `me` is grace's pid.
///
/// - `SI_USER` or `SI_TKILL` from grace's own pid: grace's own kill, or a
///   write of grace's that raised SIGPIPE (a reader gone) or SIGXFSZ (the
///   kernel names the writer as the sender). The same signal sent by
///   another process carries that process's pid (0 from outside grace's
///   PID namespace) and is forwarded.
/// - `SI_TIMER`: a POSIX timer, which only grace can have set on itself.
/// - `SI_KERNEL` for ALRM, VTALRM, PROF and XCPU: grace's own interval
///   timers (they survive exec) and CPU limit. The kernel's other generic
///   sends (the terminal's INT, QUIT, TSTP, HUP and WINCH) are the user's.
/// - A code of the signal's own (positive, below `SI_KERNEL`): a fault's
///   address kind, a memory error, a child's state: always about the
///   process that receives it. Processes cannot send such codes to another.
fn raised_by_grace(c: sys::Caught, me: i32) -> bool {
    match c.code {
        libc::SI_USER | libc::SI_TKILL => c.pid == me,
        libc::SI_TIMER => true,
        libc::SI_KERNEL => matches!(
            c.signo,
            libc::SIGALRM | libc::SIGVTALRM | libc::SIGPROF | libc::SIGXCPU
        ),
        code => code > 0,
    }
}

/// Where the event loop's signals come from: every signal grace takes in
/// is blocked, and the loop waits for them with `sigtimedwait(2)`, whose
/// timeout is the loop's deadline.
///
/// Why not handlers (signal-hook): its registry copies its whole table on
/// every registration, so installing the ~60 handlers an init needs cost
/// 1.3 ms at start-up here, twice tini-static's whole overhead. A blocked
/// mask costs one system call, and is better for us too: blocked signals
/// still reach PID 1 (the kernel drops only signals that are neither
/// handled nor blocked), the dispositions grace inherited pass to the child
/// untouched (nothing to reset before exec, no window for inherited
/// `SIG_IGN`), and nothing runs in signal context.
///
/// Why not a signalfd: waking from `ppoll` on it and then reading it took
/// three system calls per signal and measured 6 to 8 µs slower from
/// `kill` to the app than tini and dumb-init, which wait in `sigtimedwait`
/// and `sigwait`: one call that wakes with the signal in hand.
///
/// Standard signals coalesce in the kernel (ten sent before we look may be
/// seen once); real-time signals queue. The supervisor is written for both.
pub struct SignalSource {
    set: SigSet,
    /// grace's own pid, to tell the signals it raised on itself.
    me: i32,
    /// The signal the last `wait` returned with, not yet handed out.
    ready: Option<Signal>,
}

impl SignalSource {
    /// Blocks every signal grace takes in. Call before spawning: from then
    /// on nothing sent to grace is lost; it waits, pending, for the loop.
    pub fn install() -> Result<SignalSource, Errno> {
        let set = sys::signal_set((1..=MAX).filter(|n| is_taken(*n)));
        set.thread_set_mask()?;
        Ok(SignalSource {
            set,
            me: nix::unistd::getpid().as_raw(),
            ready: None,
        })
    }

    /// Blocks until a signal arrives or `deadline` passes (forever if
    /// `None`: no wake-ups while idle).
    pub fn wait(&mut self, deadline: Option<Instant>) -> Result<(), Errno> {
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match sys::sigtimedwait(&self.set, timeout) {
            Ok(caught) => {
                self.ready = self.accept(caught);
                Ok(())
            }
            Err(Errno::EAGAIN | Errno::EINTR) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Appends the signals received, without blocking: the one `wait`
    /// woke with (more, if any, wake the next `wait` at once), or else
    /// every signal pending (those that came before the first `wait`, while
    /// the child was being spawned).
    pub fn drain(&mut self, out: &mut Vec<Signal>) -> Result<(), Errno> {
        if let Some(sig) = self.ready.take() {
            out.push(sig);
            return Ok(());
        }
        loop {
            match sys::sigtimedwait(&self.set, Some(Duration::ZERO)) {
                Ok(caught) => out.extend(self.accept(caught)),
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl SignalSource {
    /// The signal to hand to the loop, or `None` for one grace raised on
    /// itself (see [`raised_by_grace`]).
    fn accept(&self, caught: sys::Caught) -> Option<Signal> {
        let sig = Signal::from_raw(caught.signo)?;
        if sig != Signal::CHLD && raised_by_grace(caught, self.me) {
            tracing::debug!(signal = %sig, code = caught.code, "raised by grace itself; not forwarded");
            return None;
        }
        Some(sig)
    }
}

/// The signal state grace was started with that the C library's spawn
/// could lose: the child gets exactly it back.
pub struct Inherited {
    pub mask: nix::sys::signal::SigSet,
    /// Of 32 and 33, the signals the C library keeps for itself, those
    /// that were not ignored. glibc's `posix_spawn` sets both to `SIG_IGN`
    /// in every child unless told to reset them: these are reset.
    pub libc_defaults: Vec<i32>,
}

impl Inherited {
    /// Records the current state. Call first, before blocking anything.
    pub fn record() -> Result<Inherited, Errno> {
        Ok(Inherited {
            mask: nix::sys::signal::SigSet::thread_get_mask()?,
            libc_defaults: [32, 33]
                .into_iter()
                .filter(|n| sys::is_ignored(*n) == Some(false))
                .collect(),
        })
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
            ("POLL", 29),
            ("cld", 17),
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
        assert_eq!(Signal(64).to_string(), "SIGRTMAX");
        assert_eq!(Signal(49).to_string(), "SIGRTMIN+15");
        assert_eq!(Signal(50).to_string(), "SIGRTMAX-14");
        assert_eq!(Signal(32).to_string(), "SIG32");
    }

    #[test]
    fn forwardable_set() {
        let set: Vec<i32> = Signal::forwardable().map(Signal::raw).collect();
        for s in [1, 2, 3, 6, 10, 12, 13, 14, 15, 18, 20, 28, 34, 64] {
            assert!(set.contains(&s), "{s}");
        }
        for s in [4, 5, 7, 8, 11, 31] {
            assert!(set.contains(&s), "a fault sent with kill(2): {s}");
        }
        for s in [9, 17, 19, 21, 22, 32, 33] {
            assert!(!set.contains(&s), "{s}");
        }
    }

    #[test]
    fn tells_what_grace_raised_on_itself() {
        let me = 42;
        let caught = |signo, code, pid| sys::Caught { signo, code, pid };
        let own = [
            // A write to a pipe with no reader: the kernel names grace.
            caught(libc::SIGPIPE, libc::SI_USER, me),
            caught(libc::SIGXFSZ, libc::SI_USER, me),
            caught(libc::SIGUSR1, libc::SI_TKILL, me),
            caught(libc::SIGALRM, libc::SI_TIMER, 0),
            caught(libc::SIGALRM, libc::SI_KERNEL, 0),
            caught(libc::SIGXCPU, libc::SI_KERNEL, 0),
            // A memory error in grace's pages (BUS_MCEERR_AO).
            caught(libc::SIGBUS, 5, 0),
            caught(libc::SIGSEGV, 1, 0),
        ];
        for c in own {
            assert!(raised_by_grace(c, me), "{c:?}");
        }
        let sent = [
            caught(libc::SIGPIPE, libc::SI_USER, 7),
            // From outside grace's PID namespace: no pid.
            caught(libc::SIGPIPE, libc::SI_USER, 0),
            caught(libc::SIGSEGV, libc::SI_USER, 7),
            caught(libc::SIGTERM, libc::SI_QUEUE, me),
            // The terminal's keys.
            caught(libc::SIGINT, libc::SI_KERNEL, 0),
            caught(libc::SIGWINCH, libc::SI_KERNEL, 0),
            caught(libc::SIGHUP, libc::SI_KERNEL, 0),
        ];
        for c in sent {
            assert!(!raised_by_grace(c, me), "{c:?}");
        }
    }
}
