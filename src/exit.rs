//! How a child ended ([`Status`]) and the exit code grace ends with.
//!
//! grace never re-raises the child's signal on itself: as PID 1 the kernel
//! would drop it. A death by signal N is reported as 128+N, as shells do.

use std::fmt;

use crate::signals::Signal;

/// How a reaped child ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    /// It called exit with this code.
    Exited(u8),
    /// A signal killed it.
    Signaled(Signal),
}

impl Status {
    /// Decodes a raw `waitpid` status of a child that ended. The reaper
    /// asks for stops too (`WUNTRACED`) but handles them before it gets
    /// here, so anything but an exit or a death is reported as exit 255.
    #[must_use]
    pub fn from_raw(raw: i32) -> Status {
        if libc::WIFEXITED(raw) {
            Status::Exited(u8::try_from(libc::WEXITSTATUS(raw) & 0xff).unwrap_or(u8::MAX))
        } else if libc::WIFSIGNALED(raw) {
            Signal::from_raw(libc::WTERMSIG(raw)).map_or(Status::Exited(u8::MAX), Status::Signaled)
        } else {
            Status::Exited(u8::MAX)
        }
    }

    /// The shell convention: the exit code, or 128+N for signal N.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Status::Exited(c) => c,
            Status::Signaled(s) => u8::try_from(128 + s.raw()).unwrap_or(u8::MAX),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Exited(c) => write!(f, "exited with {c}"),
            Status::Signaled(s) => write!(f, "killed by {s}"),
        }
    }
}

/// How the exit code is rewritten before grace exits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExitPolicy {
    /// Exit 0 when the child ended because of the stop signal grace sent.
    pub clean_stop_zero: bool,
    /// `FROM:TO` rewrites, applied last; for a code given twice the later wins.
    pub map: Vec<(u8, u8)>,
}

impl ExitPolicy {
    /// The code grace exits with. `stop_sent` is the stop signal grace had
    /// forwarded when the child ended, if a stop was under way and grace had
    /// not yet had to SIGKILL.
    #[must_use]
    pub fn code(&self, status: Status, stop_sent: Option<Signal>) -> u8 {
        let clean = self.clean_stop_zero
            && stop_sent.is_some_and(|sent| {
                sent != Signal::KILL
                    && (status == Status::Signaled(sent)
                        || status == Status::Exited(Status::Signaled(sent).code()))
            });
        let code = if clean { 0 } else { status.code() };
        self.map
            .iter()
            .rev()
            .find(|(from, _)| *from == code)
            .map_or(code, |(_, to)| *to)
    }
}

/// Parses `FROM:TO`, two exit codes 0-255.
pub fn parse_code_map(text: &str) -> Result<(u8, u8), String> {
    let (from, to) = text
        .split_once(':')
        .ok_or_else(|| format!("'{text}' is not FROM:TO"))?;
    let code = |s: &str| {
        s.trim()
            .parse::<u8>()
            .map_err(|_| format!("'{s}' is not an exit code (0-255)"))
    };
    Ok((code(from)?, code(to)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(n: i32) -> Signal {
        Signal::from_raw(n).expect("valid signal in test")
    }

    #[test]
    fn decodes_raw_statuses() {
        // Raw wait statuses as the kernel encodes them: code << 8, or the signal.
        assert_eq!(Status::from_raw(0), Status::Exited(0));
        assert_eq!(Status::from_raw(3 << 8), Status::Exited(3));
        assert_eq!(Status::from_raw(255 << 8), Status::Exited(255));
        assert_eq!(Status::from_raw(15), Status::Signaled(sig(15)));
        assert_eq!(Status::from_raw(9), Status::Signaled(sig(9)));
        assert_eq!(Status::from_raw(40), Status::Signaled(sig(40)));
        assert_eq!(
            Status::from_raw(6 | 0x80),
            Status::Signaled(sig(6)),
            "core dumped"
        );
    }

    #[test]
    fn codes_follow_the_shell_convention() {
        for (status, code) in [
            (Status::Exited(0), 0),
            (Status::Exited(3), 3),
            (Status::Exited(255), 255),
            (Status::Signaled(sig(15)), 143),
            (Status::Signaled(sig(9)), 137),
            (Status::Signaled(sig(2)), 130),
            (Status::Signaled(sig(64)), 192),
        ] {
            assert_eq!(status.code(), code, "{status}");
            assert_eq!(ExitPolicy::default().code(status, Some(Signal::TERM)), code);
        }
    }

    #[test]
    fn clean_stop_zero_only_for_the_signal_we_sent() {
        let p = ExitPolicy {
            clean_stop_zero: true,
            map: vec![],
        };
        let term = Some(Signal::TERM);
        let quit = Some(Signal::QUIT);
        assert_eq!(p.code(Status::Exited(143), term), 0, "JVM style 128+15");
        assert_eq!(
            p.code(Status::Signaled(Signal::TERM), term),
            0,
            "died of it"
        );
        assert_eq!(p.code(Status::Exited(0), term), 0);
        assert_eq!(p.code(Status::Exited(1), term), 1, "a failure stays one");
        assert_eq!(
            p.code(Status::Exited(143), None),
            143,
            "no stop: a crash with 143"
        );
        assert_eq!(
            p.code(Status::Exited(143), quit),
            143,
            "we sent QUIT, not TERM"
        );
        assert_eq!(p.code(Status::Signaled(Signal::QUIT), quit), 0);
        assert_eq!(
            p.code(Status::Signaled(Signal::KILL), term),
            137,
            "our SIGKILL stays 137"
        );
        assert_eq!(
            p.code(Status::Signaled(Signal::KILL), Some(Signal::KILL)),
            137
        );
    }

    #[test]
    fn code_map_applies_last() {
        let p = ExitPolicy {
            clean_stop_zero: true,
            map: vec![(0, 7), (137, 0), (137, 1)],
        };
        assert_eq!(
            p.code(Status::Exited(143), Some(Signal::TERM)),
            7,
            "0 then mapped"
        );
        assert_eq!(
            p.code(Status::Signaled(Signal::KILL), None),
            1,
            "the later rule wins"
        );
        assert_eq!(p.code(Status::Exited(5), None), 5);
    }

    #[test]
    fn parses_code_maps() {
        assert_eq!(parse_code_map("143:0"), Ok((143, 0)));
        assert_eq!(parse_code_map(" 1 : 2 "), Ok((1, 2)));
        for bad in ["143", "256:0", "a:b", ":", "1:-1"] {
            assert!(parse_code_map(bad).is_err(), "{bad}");
        }
    }
}
