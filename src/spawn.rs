//! Starting the command: in a new process group it leads, with exactly the
//! signal mask and dispositions grace itself was started with, as if grace
//! were not there. Nothing here logs or allocates between fork and exec.
//!
//! Two paths. Without a terminal (the container case) we use `posix_spawnp(3)`,
//! which vfork-style libcs make much cheaper than fork and which sets the
//! group, mask and default dispositions itself. With a terminal on stdin the
//! child must make its group the terminal's foreground group *before* exec,
//! which `posix_spawn` cannot do, so that path forks with a `pre_exec` hook.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::errno::Errno;
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawnp};
use nix::sys::signal::{SigSet, Signal as NixSignal};
use nix::unistd::{Pid, getpgrp, tcgetpgrp, tcsetpgrp};

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

/// Signals grace changes for itself that exec would not reset: the ones it
/// ignores (TTIN, TTOU) unless they were ignored already, and PIPE, which
/// Rust's runtime ignores before `main`, so its inherited disposition is
/// unknowable. The child gets PIPE at its default, as every Rust-spawned
/// process does.
fn defaults(inherited: &Inherited) -> Vec<Signal> {
    let mut out = vec![Signal::PIPE];
    out.extend(
        [Signal::TTIN, Signal::TTOU]
            .into_iter()
            .filter(|s| !inherited.is_ignored(*s)),
    );
    out
}

/// Spawns the command. Signal handlers must already be installed.
pub fn spawn(cfg: &Config, inherited: &Inherited) -> Result<Spawned, Error> {
    let stdin = io::stdin();
    match tcgetpgrp(stdin.as_fd()) {
        // stdin is our controlling terminal: hand it to the child's group.
        Ok(foreground) => {
            let pid = spawn_in_foreground(cfg, inherited)?;
            Ok(Spawned {
                pid,
                previous_foreground: Some(foreground),
            })
        }
        Err(_) => Ok(Spawned {
            pid: posix_spawn(cfg, inherited)?,
            previous_foreground: None,
        }),
    }
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
    for sig in defaults(inherited) {
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
    // The libc resets every caught signal to SIG_DFL in the child before
    // exec, so signal-hook's handlers never run there.
    let actions = PosixSpawnFileActions::init().map_err(spawn_error)?;
    posix_spawnp(&program, &actions, &attr, &argv, &env).map_err(spawn_error)
}

/// The terminal path: fork, join a new group, take the terminal's
/// foreground, restore the inherited signal state, exec.
#[allow(unsafe_code)]
fn spawn_in_foreground(cfg: &Config, inherited: &Inherited) -> Result<Pid, Error> {
    let mut cmd = Command::new(&cfg.program);
    cmd.args(&cfg.args).process_group(0);
    let mask = inherited.mask;
    let defaults: Vec<i32> = defaults(inherited).iter().map(|s| s.raw()).collect();
    let caught: Vec<i32> = Signal::forwardable()
        .filter(|s| !inherited.is_ignored(*s))
        .map(Signal::raw)
        .chain([libc::SIGCHLD])
        .collect();
    // SAFETY: the closure runs in the forked child before exec. It only calls
    // async-signal-safe functions (tcsetpgrp, getpgrp, sigaction,
    // pthread_sigmask), borrows fd 0 without owning it, and does not
    // allocate, lock or log: the vectors were built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            // SAFETY: fd 0 is open (tcgetpgrp succeeded on it in the parent)
            // and outlives this borrow, which ends before exec.
            let stdin = BorrowedFd::borrow_raw(0);
            // TTOU is ignored (inherited from grace), so a background group
            // may take the foreground without being stopped.
            tcsetpgrp(stdin, getpgrp())?;
            for sig in caught.iter().chain(&defaults) {
                sys::reset_to_default(*sig);
            }
            mask.thread_set_mask()?;
            Ok(())
        });
    }
    // Block everything while forking so that no signal-hook handler runs in
    // the child between fork and its reset above; pending signals are
    // delivered to grace when the mask is restored.
    let previous = SigSet::all().thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_SETMASK);
    let result = cmd.spawn();
    if let Ok(previous) = previous {
        let _ = previous.thread_set_mask();
    }
    let child = result.map_err(|source| Error::Spawn {
        program: cfg.program.clone(),
        source,
    })?;
    let pid = i32::try_from(child.id()).map_err(|_| Error::Spawn {
        program: cfg.program.clone(),
        source: io::Error::other("pid out of range"),
    })?;
    Ok(Pid::from_raw(pid))
}

/// Gives the terminal back to `group` (grace's own, when it is not PID 1).
pub fn restore_foreground(group: Pid) {
    if let Err(e) = tcsetpgrp(io::stdin().as_fd(), group) {
        tracing::debug!(error = %e, "could not give the terminal back");
    }
}
