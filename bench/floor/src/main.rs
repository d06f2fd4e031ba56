//! The floor of the benchmarks: the least an init can do and still be
//! one. `grace-floor PROGRAM [ARGS...]` blocks the signals it forwards,
//! starts the program with `posix_spawn` (signal mask reset in the child),
//! forwards each signal it receives to it, reaps every child with
//! `waitpid(-1, WNOHANG)` on SIGCHLD, and exits with the program's code
//! once the program is reaped. No allocation, no parsing, no logging, no
//! process group, no look at /proc.
//!
//! It starts at musl's `main`: `no_main` skips Rust's runtime set-up (the
//! stdio check, SIGPIPE, the stack guard), so its start-up costs what a
//! C program's would. Everything it calls is a plain libc function.

#![no_main]

use core::ffi::{c_char, c_int};
use core::ptr;

unsafe extern "C" {
    static environ: *const *mut c_char;
}

/// The signals forwarded: what the benchmarks send (TERM, INT, HUP, QUIT,
/// USR1, USR2), and CHLD, which is waited for instead.
const SIGNALS: [c_int; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGCHLD,
];

/// `128 + signal` for a death by signal, the exit code otherwise.
fn code(status: c_int) -> c_int {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// # Safety
/// Called by musl's start-up code with the process's argument vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *mut c_char) -> c_int {
    if argc < 2 {
        return 125;
    }
    // SAFETY: plain libc calls on stack values this function owns; argv
    // and environ come from the kernel, NUL-terminated, and live as long
    // as the process.
    unsafe {
        let mut set: libc::sigset_t = core::mem::zeroed();
        let mut empty: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigemptyset(&raw mut empty);
        for s in SIGNALS {
            libc::sigaddset(&raw mut set, s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &raw const set, ptr::null_mut());

        let mut attr: libc::posix_spawnattr_t = core::mem::zeroed();
        libc::posix_spawnattr_init(&raw mut attr);
        libc::posix_spawnattr_setsigmask(&raw mut attr, &raw const empty);
        libc::posix_spawnattr_setflags(&raw mut attr, libc::POSIX_SPAWN_SETSIGMASK as _);
        let argv1 = argv.add(1);
        let mut child: libc::pid_t = 0;
        if libc::posix_spawnp(
            &raw mut child,
            *argv1,
            ptr::null(),
            &raw const attr,
            argv1,
            environ,
        ) != 0
        {
            return 127;
        }
        loop {
            let sig = libc::sigwaitinfo(&raw const set, ptr::null_mut());
            if sig == libc::SIGCHLD {
                let mut status = 0;
                loop {
                    let pid = libc::waitpid(-1, &raw mut status, libc::WNOHANG);
                    if pid == child {
                        return code(status);
                    }
                    if pid <= 0 {
                        break;
                    }
                }
            } else if sig > 0 {
                libc::kill(child, sig);
            }
        }
    }
}
