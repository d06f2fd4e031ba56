//! Starting the command: in a new process group it leads, with exactly the
//! signal mask and dispositions grace itself was started with, as if grace
//! were not there.
//!
//! We use `posix_spawnp(3)`: vfork-style libcs make it much cheaper than
//! fork, and it sets the group, the mask and the default dispositions in the
//! child itself, so grace needs no code of its own between fork and exec.
//! With a controlling terminal on stdin, grace then hands the terminal's
//! foreground to the child's group (see [`spawn`]).

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawnp};
use nix::sys::signal::{SigSet, Signal as NixSignal};
use nix::unistd::{Pid, tcgetpgrp, tcsetpgrp};

use crate::config::Config;
use crate::error::Error;
use crate::signals::{Inherited, Signal};
use crate::sys;

/// The started child.
pub struct Spawned {
    pub pid: Pid,
    /// The terminal's foreground group before grace took it for the child,
    /// when grace did.
    pub previous_foreground: Option<Pid>,
}

/// Signals the child gets at their default disposition rather than the one
/// grace inherited: only PIPE, which Rust's runtime ignores before `main`,
/// so its inherited disposition is unknowable. The child gets it at its
/// default, as every process spawned by Rust's standard library does.
/// Everything else grace leaves as it found it: it handles no signal itself
/// (they are blocked and taken with sigtimedwait), and the child gets the
/// inherited mask back.
const DEFAULTS: [Signal; 1] = [Signal::PIPE];

/// Spawns the command. Signal handlers must already be installed.
///
/// When stdin is grace's controlling terminal (`docker run -it`), the
/// child's group becomes the foreground group right after the spawn, so a
/// shell gets job control and Ctrl-C. A child that touched the terminal in
/// the microseconds before that was stopped by SIGTTIN/SIGTTOU; the SIGCONT
/// that follows resumes it, now in the foreground. (tini does this in the
/// child before exec, which needs fork instead of `posix_spawn`.)
pub fn spawn(cfg: &Config, inherited: &Inherited) -> Result<Spawned, Error> {
    let stdin = io::stdin();
    let terminal = tcgetpgrp(stdin.as_fd()).ok();
    let pid = posix_spawn(cfg, inherited)?;
    let previous_foreground = terminal.and_then(|previous| {
        // TTOU is blocked, so grace may do this even from the background.
        match tcsetpgrp(stdin.as_fd(), pid) {
            Ok(()) => {
                let _ = sys::kill(-pid.as_raw(), libc::SIGCONT);
                Some(previous)
            }
            Err(e) => {
                tracing::debug!(error = %e, "could not give the terminal to the child");
                None
            }
        }
    });
    Ok(Spawned {
        pid,
        previous_foreground,
    })
}

fn cstring(s: &OsStr) -> Result<CString, Error> {
    CString::new(s.as_bytes()).map_err(|_| Error::NulByte(s.to_owned()))
}

fn posix_spawn(cfg: &Config, inherited: &Inherited) -> Result<Pid, Error> {
    let spawn_error = |e: Errno| Error::Spawn {
        program: cfg.program.clone(),
        source: e.into(),
    };
    let program = cstring(&cfg.program)?;
    let mut argv = Vec::with_capacity(cfg.args.len() + 1);
    argv.push(program.clone());
    for arg in &cfg.args {
        argv.push(cstring(arg)?);
    }
    let env = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = OsString::with_capacity(k.len() + v.len() + 1);
            kv.push(&k);
            kv.push("=");
            kv.push(&v);
            cstring(&kv)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut sigdefault = SigSet::empty();
    for sig in DEFAULTS {
        if let Ok(s) = NixSignal::try_from(sig.raw()) {
            sigdefault.add(s);
        }
    }
    let mut attr = PosixSpawnAttr::init().map_err(spawn_error)?;
    attr.set_flags(
        PosixSpawnFlags::POSIX_SPAWN_SETPGROUP
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
    )
    .map_err(spawn_error)?;
    // pgroup 0: the child leads a new group whose id is its pid.
    attr.set_pgroup(Pid::from_raw(0)).map_err(spawn_error)?;
    attr.set_sigmask(&inherited.mask).map_err(spawn_error)?;
    attr.set_sigdefault(&sigdefault).map_err(spawn_error)?;
    let actions = PosixSpawnFileActions::init().map_err(spawn_error)?;
    posix_spawnp(&program, &actions, &attr, &argv, &env).map_err(spawn_error)
}

/// Gives the terminal back to `group` (grace's own, when it is not PID 1).
pub fn restore_foreground(group: Pid) {
    if let Err(e) = tcsetpgrp(io::stdin().as_fd(), group) {
        tracing::debug!(error = %e, "could not give the terminal back");
    }
}
