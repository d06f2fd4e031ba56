//! grace's own failures: one variant per step that can fail, each naming the
//! step and carrying its cause, and the exit code each one ends with.

use std::ffi::OsString;
use std::fmt;
use std::io;

use nix::errno::Errno;

/// A failure that ends grace before or instead of the child's own status.
#[derive(Debug)]
pub enum Error {
    /// The command line or environment asked for something impossible.
    Usage(String),
    /// Reading the signal mask grace was started with.
    SignalState(Errno),
    /// Blocking the signals grace takes in.
    Signals(Errno),
    /// Starting the command.
    Spawn {
        program: OsString,
        source: io::Error,
    },
    /// An argument or environment entry with a NUL byte cannot be passed to exec.
    NulByte(OsString),
    /// Waiting for or reading signals (`sigtimedwait`).
    WaitSignal(Errno),
    /// Reaping children.
    Wait(Errno),
}

impl Error {
    /// 127 for a command not found, 126 for one that cannot be run, 125 for
    /// everything that is grace's own failure.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Spawn { source, .. } if source.kind() == io::ErrorKind::NotFound => 127,
            Error::Spawn { .. } => 126,
            _ => 125,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(msg) => f.write_str(msg),
            Error::SignalState(e) => write!(f, "failed to read the inherited signal mask: {e}"),
            Error::Signals(e) => write!(f, "failed to block signals: {e}"),
            Error::Spawn { program, source } => {
                write!(f, "failed to spawn \"{}\": {source}", program.display())
            }
            Error::NulByte(arg) => write!(
                f,
                "cannot pass \"{}\" to the command: it contains a NUL byte",
                arg.display()
            ),
            Error::WaitSignal(e) => write!(f, "failed to wait for signals: {e}"),
            Error::Wait(e) => write!(f, "failed to reap children: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn { source: e, .. } => Some(e),
            Error::SignalState(e) | Error::Signals(e) | Error::WaitSignal(e) | Error::Wait(e) => {
                Some(e)
            }
            Error::Usage(_) | Error::NulByte(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let spawn = |kind| Error::Spawn {
            program: "app".into(),
            source: io::Error::from(kind),
        };
        assert_eq!(spawn(io::ErrorKind::NotFound).exit_code(), 127);
        assert_eq!(spawn(io::ErrorKind::PermissionDenied).exit_code(), 126);
        assert_eq!(
            Error::Spawn {
                program: "x".into(),
                source: Errno::ENOEXEC.into()
            }
            .exit_code(),
            126
        );
        assert_eq!(Error::Usage("bad".into()).exit_code(), 125);
        assert_eq!(Error::Signals(Errno::ENOMEM).exit_code(), 125);
        assert_eq!(Error::Wait(Errno::EINVAL).exit_code(), 125);
    }

    #[test]
    fn messages_name_the_step_and_the_object() {
        let e = Error::Spawn {
            program: "app".into(),
            source: Errno::ENOENT.into(),
        };
        assert_eq!(
            e.to_string(),
            "failed to spawn \"app\": No such file or directory (os error 2)"
        );
    }
}
