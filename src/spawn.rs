//! Starting the command: in a new process group it leads, with exactly the
//! signal mask and dispositions grace itself was started with, as if grace
//! were not there.
//!
//! We use `posix_spawnp(3)`: vfork-style libcs make it much cheaper than
//! fork, and it sets the group, the mask and the default dispositions in the
//! child itself. With a controlling terminal on stdin, the child must also
//! take the terminal's foreground before it runs, which `posix_spawn`
//! cannot do: then grace forks, and its child runs a few system calls of
//! grace's before exec (see [`spawn`] and [`sys::fork_exec`]). Forking is also
//! the way out when the C library's `posix_spawn` is refused.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawnp};
use nix::unistd::{Pid, getpgrp};

use crate::config::Command;
use crate::error::Error;
use crate::signals::{Inherited, Signal};
use crate::sys;
use crate::terminal::{Terminal, foreground, restore_foreground};

/// The started child.
pub struct Spawned {
    pub pid: Pid,
    pub terminal: Terminal,
}

/// Signals the child gets at their default disposition rather than the one
/// grace inherited: only PIPE, which Rust's runtime ignores before `main`,
/// so its inherited disposition is unknowable. The child gets it at its
/// default, as every process spawned by Rust's standard library does.
/// Everything else grace leaves as it found it: it handles no signal itself
/// (they are blocked and taken with sigtimedwait), and the child gets the
/// inherited mask back.
const DEFAULTS: [Signal; 1] = [Signal::PIPE];

/// Spawns the command.
///
/// When stdin is grace's controlling terminal (`docker run -it`) and grace
/// is in its foreground, the child's group becomes the terminal's
/// foreground group before the command runs, so a shell gets job control
/// and Ctrl-C from its first instruction. `posix_spawn` has no step for
/// that, so this case forks instead (see [`sys::fork_exec`]);
/// it costs a fork's page-table copy once, for an interactive session.
/// Everything else takes the cheaper `posix_spawnp`.
///
/// `job_control` false leaves the terminal where it is: with several
/// commands none gets it (one terminal has one foreground group), and
/// grace keeps it, so that Ctrl-C reaches grace, which stops them all.
pub fn spawn(cmd: &Command, inherited: &Inherited, job_control: bool) -> Result<Spawned, Error> {
    let spawn_error = |e: Errno| Error::Spawn {
        program: cmd.program.clone(),
        source: e.into(),
    };
    let program = cstring(&cmd.program)?;
    let mut argv = Vec::with_capacity(cmd.args.len() + 1);
    argv.push(program.clone());
    for arg in &cmd.args {
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

    // Only a grace in the terminal's foreground hands it on: started in
    // the background of an interactive shell (`grace -- app &`), it must
    // not take the terminal away from that shell. Both ids read 0 when
    // the groups live outside grace's PID namespace (`unshare --pid` run
    // from a shell); grace cannot tell then, and takes it as foreground,
    // the usual way to run it there.
    let terminal = foreground().filter(|_| job_control);
    let previous = terminal.filter(|&group| group == getpgrp());
    if previous.is_none() {
        match posix_spawn(&program, &argv, &env, inherited) {
            Ok(pid) => {
                return Ok(Spawned {
                    pid,
                    terminal: terminal.map_or(Terminal::None, |_| Terminal::Background),
                });
            }
            // Refused before any exec (glibc's clone3 under a seccomp
            // profile): fork instead. A real EPERM from execve comes back
            // the same way from the forked child.
            Err(e @ (Errno::EPERM | Errno::ENOSYS)) => {
                tracing::debug!(error = %e, "posix_spawn refused: forking instead");
            }
            Err(e) => return Err(spawn_error(e)),
        }
    }
    let candidates = search_path(&cmd.program, std::env::var_os("PATH").as_deref())?;
    let defaults = DEFAULTS.map(Signal::raw);
    let child = sys::fork_exec(
        &candidates,
        &argv,
        &env,
        &inherited.mask,
        &defaults,
        previous.is_some(),
    )
    .map_err(spawn_error)?;
    if let Some(e) = child.exec_error {
        // The child took the terminal and died: give it back, or the
        // shell that started grace is left without its terminal.
        if let (Some(previous), true) = (previous, child.took_foreground) {
            restore_foreground(previous);
        }
        return Err(spawn_error(e));
    }
    let terminal = match previous {
        Some(previous) if child.took_foreground => Terminal::Given { previous },
        Some(_) => {
            tracing::debug!("could not give the terminal to the child");
            Terminal::None
        }
        None => terminal.map_or(Terminal::None, |_| Terminal::Background),
    };
    Ok(Spawned {
        pid: child.pid,
        terminal,
    })
}

/// The search path the libc's `posix_spawnp` uses when PATH is unset.
#[cfg(target_env = "musl")]
const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/bin:/usr/bin";
#[cfg(not(target_env = "musl"))]
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// The paths `posix_spawnp(3)` would try for `program`, in order: the name
/// itself when it holds a slash, else each directory of `path` (the libc's
/// own default when PATH is unset; an empty entry is the current
/// directory).
fn search_path(program: &OsStr, path: Option<&OsStr>) -> Result<Vec<CString>, Error> {
    let name = program.as_bytes();
    if name.contains(&b'/') || name.is_empty() {
        return Ok(vec![cstring(program)?]);
    }
    let path = path.map_or(DEFAULT_PATH, OsStrExt::as_bytes);
    path.split(|&b| b == b':')
        .map(|dir| {
            let mut full = dir.to_vec();
            if !dir.is_empty() {
                full.push(b'/');
            }
            full.extend_from_slice(name);
            cstring(OsStr::from_bytes(&full))
        })
        .collect()
}

fn cstring(s: &OsStr) -> Result<CString, Error> {
    CString::new(s.as_bytes()).map_err(|_| Error::NulByte(s.to_owned()))
}

fn posix_spawn(
    program: &CString,
    argv: &[CString],
    env: &[CString],
    inherited: &Inherited,
) -> Result<Pid, Errno> {
    // Raw bits: the C library's sigaddset refuses 32 and 33.
    let sigdefault = sys::signal_set(
        DEFAULTS
            .iter()
            .map(|s| s.raw())
            .chain(inherited.libc_defaults.iter().copied()),
    );
    let mut attr = PosixSpawnAttr::init()?;
    attr.set_flags(
        PosixSpawnFlags::POSIX_SPAWN_SETPGROUP
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
    )?;
    // pgroup 0: the child leads a new group whose id is its pid.
    attr.set_pgroup(Pid::from_raw(0))?;
    attr.set_sigmask(&inherited.mask)?;
    attr.set_sigdefault(&sigdefault)?;
    let actions = PosixSpawnFileActions::init()?;
    posix_spawnp(program, &actions, &attr, argv, env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn searched(program: &str, path: Option<&str>) -> Vec<String> {
        search_path(OsStr::new(program), path.map(OsStr::new))
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn path_search_follows_execvp() {
        assert_eq!(searched("app", Some("/a:/b/")), ["/a/app", "/b//app"]);
        assert_eq!(searched("./app", Some("/a")), ["./app"]);
        assert_eq!(searched("/bin/app", None), ["/bin/app"]);
        // An empty entry is the current directory.
        assert_eq!(searched("app", Some(":/a")), ["app", "/a/app"]);
        let default: Vec<String> = std::str::from_utf8(DEFAULT_PATH)
            .unwrap_or_default()
            .split(':')
            .map(|dir| format!("{dir}/app"))
            .collect();
        assert_eq!(searched("app", None), default);
        assert_eq!(searched("", Some("/a")), [""]);
    }
}
