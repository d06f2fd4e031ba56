//! grace's subtree: finding the processes a stop must reach, and signalling
//! them. The main child's group comes first; then every other process that a
//! stop concerns: as PID 1 of a PID namespace, every other process in it; as
//! a subreaper, every process descended from grace.
//!
//! It never signals outside that set: `kill(-1)` only as PID 1 of a
//! non-initial PID namespace, and otherwise only pids found below grace in
//! /proc. A pid grace has reaped is gone from /proc, and grace reaps only in
//! its own loop, so a pid found here is not one grace has already reaped.

use std::fs;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open, openat};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::signals::Signal;
use crate::sys;

/// The inode number of the initial (host) PID namespace, `PROC_PID_INIT_INO`
/// in the kernel: a PID 1 there is a host's init, never a container's.
const HOST_PID_NS_INO: u64 = 0xEFFF_FFFC;

/// Which processes a stop concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// grace is PID 1 of a container's PID namespace: every process in it.
    Namespace,
    /// grace is a subreaper (or a host's PID 1): its descendants only.
    Descendants(Pid),
}

impl Scope {
    /// Decides the scope for this process.
    #[must_use]
    pub fn detect() -> Scope {
        let me = nix::unistd::getpid();
        if me.as_raw() == 1 && !in_host_pid_namespace() {
            Scope::Namespace
        } else {
            Scope::Descendants(me)
        }
    }

    /// Whether grace is PID 1, of a container's namespace or of a host:
    /// orphans come to it without asking, it gets no signal when a parent
    /// dies, and it never stops itself for job control.
    #[must_use]
    pub fn is_pid1(self) -> bool {
        match self {
            Scope::Namespace => true,
            Scope::Descendants(me) => me.as_raw() == 1,
        }
    }
}

/// Whether we are in the initial PID namespace. Unknown (no /proc) counts as
/// yes, so that grace never uses `kill(-1)` on a guess.
fn in_host_pid_namespace() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata("/proc/self/ns/pid").map_or(true, |m| m.ino() == HOST_PID_NS_INO)
}

/// A process found in /proc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgrp: Pid,
    pub name: String,
    /// Dead, waiting to be reaped: nothing to signal.
    pub zombie: bool,
    /// Its number of threads (0 when unknown).
    pub threads: u32,
    /// When it started, in clock ticks since boot (see [`Births`]).
    pub start: u64,
}

/// Parses the start of /proc/PID/stat: `pid (comm) state ppid pgrp ...`.
/// `comm` may hold spaces and parentheses, so split at the last `)`.
fn parse_stat(stat: &str) -> Option<Proc> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let pid = stat.get(..open)?.trim().parse().ok()?;
    let name = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_ascii_whitespace();
    let state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    // session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
    // cutime cstime priority nice, then num_threads.
    let threads = rest.nth(14).and_then(|n| n.parse().ok()).unwrap_or(0);
    // itrealvalue, then starttime.
    let start = rest.nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    // A live process whose first thread has exited also shows Z, with
    // its other threads counted: only a lone dead thread is a zombie.
    let zombie = (state == "Z" || state == "X") && threads <= 1;
    Some(Proc {
        pid: Pid::from_raw(pid),
        ppid: Pid::from_raw(ppid),
        pgrp: Pid::from_raw(pgrp),
        name,
        zombie,
        threads,
        start,
    })
}

/// Reads the start of `/proc/PID/stat` through an open `/proc`: one
/// `openat`, one `read` into a buffer on the stack, one `close`. A scan
/// does this for every process, at the moment a stop begins, so it is kept
/// to three system calls (`fs::read_to_string` takes eight). Only the
/// fields up to `num_threads` are used, and they fit in the first 512
/// bytes (`comm` is at most 64). Names that are not UTF-8 still parse.
fn read_stat(dir: BorrowedFd<'_>, path: &str) -> Option<Proc> {
    let fd = openat(dir, path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 512];
    let n = nix::unistd::read(&fd, &mut buf).ok()?;
    parse_stat(&String::from_utf8_lossy(buf.get(..n)?))
}

/// Opens `/proc/PID` as a directory. Files opened through it belong to
/// that process for as long as the descriptor lives: once the process is
/// reaped they fail, even if its pid is reused meanwhile.
fn open_dir(proc_dir: BorrowedFd<'_>, name: &str) -> Option<OwnedFd> {
    openat(
        proc_dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

/// Every process in `scope` other than grace, zombies included, from
/// /proc: as a subreaper through the children files (see
/// [`walk_children`]) where the kernel has them, else by reading every
/// process's `stat`. `None` when grace cannot know: /proc is missing, or
/// belongs to another PID namespace (after `unshare --pid` without
/// `--mount-proc` it still shows the host's, and its pids would mean other
/// processes here), or a tmpfs hides it.
#[must_use]
pub fn scan_all(scope: Scope) -> Option<Vec<Proc>> {
    let proc_dir = open(
        "/proc",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let proc_dir = proc_dir.as_fd();
    let me = nix::unistd::getpid();
    if !shows_me(proc_dir, me) {
        return None;
    }
    match scope {
        // Kernel threads live only in the initial namespace, so in a
        // container's namespace everything listed is a process of it.
        Scope::Namespace => every_process(proc_dir, me),
        // grace runs one thread (it starts none), so all its children are
        // in its main thread's children file.
        Scope::Descendants(root) if root == me => walk_children(proc_dir, me, 1)
            .or_else(|| Some(descendants(&every_process(proc_dir, me)?, root))),
        Scope::Descendants(root) => Some(descendants(&every_process(proc_dir, me)?, root)),
    }
}

/// Whether the /proc open as `proc_dir` is this PID namespace's procfs:
/// its `self` link names `me`. One `readlinkat`: `self` is the same
/// dentry for every process, where reading `self/stat` (as this check
/// once did) makes the kernel build grace's /proc entries and format its
/// whole `stat`, some 20 µs at the start of every stop.
fn shows_me(proc_dir: BorrowedFd<'_>, me: Pid) -> bool {
    let mut buf = [0u8; 16];
    sys::readlinkat(proc_dir, c"self", &mut buf)
        .and_then(|link| std::str::from_utf8(link).ok()?.parse::<i32>().ok())
        == Some(me.as_raw())
}

/// Every process in /proc but `me`: one `stat` read each.
fn every_process(proc_dir: BorrowedFd<'_>, me: Pid) -> Option<Vec<Proc>> {
    Some(
        fs::read_dir("/proc")
            .ok()?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .map(Pid::from_raw)
            .filter(|&pid| pid != me)
            .filter_map(|pid| read_stat(proc_dir, &format!("{pid}/stat")))
            .collect(),
    )
}

/// The processes below `root` (this process, running `threads` threads),
/// walking down through `/proc/PID/task/TID/children`
/// (`CONFIG_PROC_CHILDREN`, on in the kernels of the major
/// distributions): a cost per descendant, where the full scan costs one
/// `stat` read per process of the host (about 0.4 ms for a quiet host of
/// 65 processes, several ms on a busy one). `None` when the kernel has no
/// children files.
///
/// The tree may change under the walk: at a stop its group is dying, and
/// a process whose parent dies between the reading of grace's children
/// and of that parent's moves to grace's list after it was read. So grace's
/// own list is read again after each pass, and the next pass walks down
/// from the children in it that no pass has seen yet, until there are none
/// (at most [`MAX_PASSES`] times); what a tree that keeps changing still
/// hides, later phases look for again. A pass never walks again below a
/// process already seen: such a process gains children only by forking
/// after the walk read it (the stop signal came first: the drain tells
/// those) or, if it made itself a subreaper, by taking in orphans of its
/// own subtree, which the next scan (the drain's, the kill's) finds. Before,
/// every pass walked the whole tree again: twice the work for a tree that
/// did not change, and for a dying 10,000-process tree four whole walks.
fn walk_children(proc_dir: BorrowedFd<'_>, root: Pid, threads: u32) -> Option<Vec<Proc>> {
    let me = open_dir(proc_dir, "self")?;
    let mut found = Vec::new();
    // The pids in `found`.
    let mut seen = PidSet::default();
    let mut frontier: Vec<(i32, Pid)> = Vec::new();
    for pass in 0..MAX_PASSES {
        let Some(children) = children_of(me.as_fd(), root.as_raw(), threads) else {
            // No children files at all (the first pass): the full scan
            // instead. Unreadable later (out of descriptors): what the
            // passes before found.
            return (pass > 0).then_some(found);
        };
        frontier.extend(
            children
                .into_iter()
                .filter(|&child| !seen.contains(Pid::from_raw(child)))
                .map(|child| (child, root)),
        );
        if frontier.is_empty() {
            break;
        }
        while let Some((pid, parent)) = frontier.pop() {
            let Some(dir) = open_dir(proc_dir, &pid.to_string()) else {
                continue; // gone and reaped
            };
            // A pid reused between its parent's list and here is not the
            // parent's child: not ours to signal. (One whose parent died
            // meanwhile was left to grace: still ours.)
            let Some(proc) =
                read_stat(dir.as_fd(), "stat").filter(|p| p.ppid == parent || p.ppid == root)
            else {
                continue;
            };
            if let Some(children) = children_of(dir.as_fd(), pid, proc.threads) {
                frontier.extend(children.into_iter().map(|child| (child, proc.pid)));
            }
            // Seen twice in this pass (a child that moved between two
            // lists read in it): keep it once.
            if seen.insert(proc.pid) {
                found.push(proc);
            }
        }
    }
    Some(found)
}

/// How many times [`walk_children`] goes over a changing tree.
const MAX_PASSES: usize = 4;

/// The children of process `pid`, whose `/proc/PID` is open as `dir`,
/// from the children file of each of its threads (a child belongs to the
/// thread that forked it). `None` when they cannot be read: no such kernel
/// feature, or the process is gone.
fn children_of(dir: BorrowedFd<'_>, pid: i32, threads: u32) -> Option<Vec<i32>> {
    let tids: Vec<String> = if threads == 1 {
        vec![pid.to_string()]
    } else {
        fs::read_dir(format!("/proc/{pid}/task"))
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect()
    };
    let mut children = Vec::new();
    let mut read_any = false;
    for tid in tids {
        let path = format!("task/{tid}/children");
        let Ok(fd) = openat(
            dir,
            path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            continue;
        };
        read_any = true;
        let mut text = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok(n @ 1..) = nix::unistd::read(&fd, &mut buf) {
            text.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        children.extend(
            text.split(u8::is_ascii_whitespace)
                .filter_map(|w| std::str::from_utf8(w).ok()?.parse::<i32>().ok()),
        );
    }
    read_any.then_some(children)
}

/// The pid this PID namespace allocated last,
/// `/proc/sys/kernel/ns_last_pid` (which tells the reader's own namespace
/// whichever /proc it reads), kept open: pids are handed out in increasing
/// order, so a pid allocated after a reading is above it (see [`Births`]).
/// A stop reads it just before its signal: one `pread` (0.6 µs), where
/// opening the file each time cost the stop 16 µs at the median, a
/// twentieth of the peers' whole stop.
#[derive(Debug)]
pub struct LastPid(Option<OwnedFd>);

impl LastPid {
    /// Opens the file; without /proc or on a kernel without it (before
    /// 3.3) every reading is `None`.
    #[must_use]
    pub fn open() -> LastPid {
        LastPid(
            open(
                "/proc/sys/kernel/ns_last_pid",
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok(),
        )
    }

    /// The pid allocated last, now.
    #[must_use]
    pub fn read(&self) -> Option<i32> {
        let mut buf = [0u8; 16];
        let n = sys::pread(self.0.as_ref()?.as_fd(), &mut buf, 0).ok()?;
        std::str::from_utf8(buf.get(..n)?).ok()?.trim().parse().ok()
    }
}

/// What a stop's signal reached, told apart from what was born after it
/// by two readings taken just before it: `before`, the pid allocated last
/// ([`LastPid`]), and `tick`, the clock tick ([`tick_now`]), in the units
/// of `/proc/PID/stat`'s `starttime`. A process that started after that
/// tick was born after the reading; one that started before it, before.
/// Within the tick itself the pids tell: the kernel hands them out in
/// increasing order, so one allocated after the reading is above `before`
/// (the counter cannot wrap past `pid_max`, 32,768 at least, and back
/// within one 10 ms tick). The start time settles what the pids alone
/// cannot: once the counter has wrapped (on any host up long enough),
/// processes older than the reading live at pids above it, and the
/// counter climbs past them; and it holds however long after the signal
/// it is asked, where a pid range would need the counter not to go round
/// meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Births {
    pub before: i32,
    pub tick: u64,
}

impl Births {
    /// Whether the process `pid`, started at `start` (ticks since boot),
    /// was born after the readings.
    #[must_use]
    pub fn holds(self, pid: Pid, start: u64) -> bool {
        start > self.tick || (start == self.tick && pid.as_raw() > self.before)
    }
}

/// The clock tick now, in the units of `/proc/PID/stat`'s `starttime`:
/// the kernel's boot clock (`CLOCK_BOOTTIME`, which it starts processes
/// by) in `USER_HZ` ticks, 100 a second on every Linux architecture (the
/// ABI fixes it).
#[must_use]
pub fn tick_now() -> u64 {
    sys::boottime_ns() / 10_000_000
}

/// Every live process in `scope` other than grace: what can still be
/// signalled. `None` when grace cannot know (see [`scan_all`]).
#[must_use]
pub fn scan(scope: Scope) -> Option<Vec<Proc>> {
    let mut procs = scan_all(scope)?;
    procs.retain(|p| !p.zombie);
    Some(procs)
}

/// A set of pids, one bit each: constant time whatever the tree's size,
/// where a list looked through costs O(n) a look (a 10,000-process tree
/// would cost 10^8 compares), and with less code than a sorted list or a
/// tree set (each 4-12 KB of the binary). Its memory grows to the highest
/// pid inserted: at most 512 KB, for Linux's largest pid, 4,194,304.
#[derive(Debug, Default)]
pub struct PidSet(Vec<u64>);

impl PidSet {
    fn slot(pid: Pid) -> Option<(usize, u64)> {
        let n = usize::try_from(pid.as_raw()).ok()?;
        Some((n / 64, 1 << (n % 64)))
    }

    /// Adds `pid`; `true` if it was not in the set.
    pub fn insert(&mut self, pid: Pid) -> bool {
        let Some((word, bit)) = Self::slot(pid) else {
            return false;
        };
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let Some(w) = self.0.get_mut(word) else {
            return false;
        };
        let new = *w & bit == 0;
        *w |= bit;
        new
    }

    #[must_use]
    pub fn contains(&self, pid: Pid) -> bool {
        Self::slot(pid).is_some_and(|(word, bit)| self.0.get(word).is_some_and(|w| w & bit != 0))
    }
}

/// The processes below `root`, following parent links down from it: each
/// pass over the list takes in the processes whose parent is already in,
/// until a pass adds nothing. /proc lists pids in order and a child's pid is
/// mostly above its parent's, so one or two passes do; a sort by parent
/// would cost some 3 KB of the binary, for a path taken only by kernels
/// without children files.
fn descendants(all: &[Proc], root: Pid) -> Vec<Proc> {
    let mut inside = PidSet::default();
    inside.insert(root);
    let mut found = Vec::new();
    loop {
        let before = found.len();
        for p in all {
            if inside.contains(p.ppid) && inside.insert(p.pid) {
                found.push(p.clone());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// Sends `signal` to `pid` (a process, or `-pgid` for a group). ESRCH means
/// it is already gone, which is normal at a stop.
pub fn send(pid: i32, signal: Signal) {
    match sys::kill(pid, signal.raw()) {
        Ok(()) => {}
        Err(Errno::ESRCH) => tracing::debug!(pid, %signal, "already gone"),
        Err(e) => tracing::warn!(pid, %signal, error = %e, "could not signal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32) -> Proc {
        Proc {
            pid: Pid::from_raw(pid),
            ppid: Pid::from_raw(ppid),
            pgrp: Pid::from_raw(pid),
            name: String::new(),
            zombie: false,
            threads: 1,
            start: 0,
        }
    }

    #[test]
    fn pid1_of_a_container_or_of_a_host() {
        assert!(Scope::Namespace.is_pid1());
        assert!(
            Scope::Descendants(Pid::from_raw(1)).is_pid1(),
            "a host's init"
        );
        assert!(!Scope::Descendants(Pid::from_raw(42)).is_pid1());
    }

    #[test]
    fn parses_stat_with_awkward_names() {
        let proc = parse_stat("42 (my (odd) app) S 7 42 42 0 -1 4194560 100").expect("parses");
        assert_eq!(proc.pid, Pid::from_raw(42));
        assert_eq!(proc.ppid, Pid::from_raw(7));
        assert_eq!(proc.pgrp, Pid::from_raw(42));
        assert_eq!(proc.name, "my (odd) app");
        assert_eq!(parse_stat("garbage"), None);
        // Fields 4 to 20: ppid pgrp session tty tpgid flags minflt cminflt
        // majflt cmajflt utime stime cutime cstime priority nice threads.
        let stat = |state: &str, threads: u32| {
            format!("7 (x) {state} 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 {threads} 0")
        };
        let dead = parse_stat(&stat("Z", 1)).expect("parses");
        assert!(dead.zombie && dead.threads == 1);
        let leader_gone = parse_stat(&stat("Z", 3)).expect("parses");
        assert!(!leader_gone.zombie, "threads still run");
        assert_eq!(leader_gone.threads, 3);
        assert!(!parse_stat(&stat("S", 1)).expect("parses").zombie);
    }

    #[test]
    fn reads_this_process_and_its_parent_from_proc() {
        let proc_dir =
            open("/proc", OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).expect("/proc");
        let me = read_stat(proc_dir.as_fd(), "self/stat").expect("self");
        assert_eq!(me.pid, nix::unistd::getpid());
        assert_eq!(me.ppid, nix::unistd::getppid());
        assert_eq!(me.pgrp, nix::unistd::getpgrp());
        assert!(!me.zombie);
        assert_eq!(read_stat(proc_dir.as_fd(), "0/stat"), None);
    }

    #[test]
    fn a_name_that_is_not_utf8_still_parses() {
        let raw = b"42 (a\xffb) S 7 42 42 0";
        let proc = parse_stat(&String::from_utf8_lossy(raw)).expect("parses");
        assert_eq!(proc.ppid, Pid::from_raw(7));
        assert_eq!(proc.name, "a\u{fffd}b");
    }

    /// The children walk and the full scan agree on a real tree: a shell
    /// with two background children, one of which has a child of its own.
    #[test]
    fn the_children_walk_finds_what_the_full_scan_finds() {
        use std::io::{BufRead as _, BufReader};
        use std::os::unix::process::CommandExt as _;
        use std::process::{Command, Stdio};

        let mut sh = Command::new("sh")
            .args([
                "-c",
                "sleep 60 & sh -c 'sleep 60 & wait' & echo ready; wait",
            ])
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh");
        let mut line = String::new();
        let stdout = sh.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("ready");
        let proc_dir =
            open("/proc", OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).expect("/proc");
        let me = read_stat(proc_dir.as_fd(), "self/stat").expect("self");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let sh_pid = Pid::from_raw(sh.id().cast_signed());
        // Only the shell's subtree: other tests may have children too.
        let tree_of_sh = |procs: &[Proc]| {
            let mut pids: Vec<i32> = descendants(procs, sh_pid)
                .iter()
                .chain(procs.iter().filter(|p| p.pid == sh_pid))
                .map(|p| p.pid.as_raw())
                .collect();
            pids.sort_unstable();
            pids
        };
        // The inner shell's sleep may still be forking: look until the
        // tree has its four processes (a bound, not a sleep).
        let (walked, scanned) = loop {
            let Some(walked) = walk_children(proc_dir.as_fd(), me.pid, me.threads) else {
                let why = "this kernel has no /proc/PID/task/TID/children";
                assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
                eprintln!("SKIPPED: {why}");
                let _ = sh.kill();
                let _ = sh.wait();
                return;
            };
            let scanned = every_process(proc_dir.as_fd(), me.pid).expect("/proc");
            let (walked, scanned) = (tree_of_sh(&walked), tree_of_sh(&scanned));
            if (walked.len() == 4 && scanned.len() == 4) || std::time::Instant::now() > deadline {
                break (walked, scanned);
            }
            std::thread::yield_now();
        };
        let _ = nix::sys::signal::killpg(sh_pid, nix::sys::signal::Signal::SIGKILL);
        let _ = sh.kill();
        let _ = sh.wait();
        assert_eq!(walked.len(), 4, "{walked:?}");
        assert_eq!(walked, scanned);
    }

    #[test]
    fn births_after_two_readings() {
        let births = Births {
            before: 500,
            tick: 50,
        };
        let b = |pid, start| births.holds(Pid::from_raw(pid), start);
        // Started before the tick: before, whatever its pid (an old one
        // above a wrapped counter included).
        assert!(!b(400, 49) && !b(5000, 49));
        // After the tick: after, whatever its pid (a wrapped counter's
        // low one included).
        assert!(b(501, 51) && b(300, 51));
        // Within the tick the pid tells.
        assert!(!b(499, 50) && !b(500, 50) && b(501, 50));
    }

    #[test]
    fn a_fork_after_the_readings_is_a_birth_and_this_process_is_not() {
        let Some(before) = LastPid::open().read() else {
            let why = "no /proc/sys/kernel/ns_last_pid";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("SKIPPED: {why}");
            return;
        };
        let births = Births {
            before,
            tick: tick_now(),
        };
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let proc_dir =
            open("/proc", OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).expect("/proc");
        let start = |pid: Pid| read_stat(proc_dir.as_fd(), &format!("{pid}/stat")).map(|p| p.start);
        let pid = Pid::from_raw(child.id().cast_signed());
        let child_start = start(pid);
        let me = nix::unistd::getpid();
        let my_start = start(me).expect("this process");
        let _ = child.kill();
        let _ = child.wait();
        let child_start = child_start.expect("the child, alive until killed");
        assert!(
            births.holds(pid, child_start),
            "{births:?} {pid} {child_start}"
        );
        assert!(!births.holds(me, my_start));
    }

    #[test]
    fn pid_sets() {
        let mut set = PidSet::default();
        assert!(!set.contains(Pid::from_raw(5)));
        assert!(set.insert(Pid::from_raw(5)));
        assert!(!set.insert(Pid::from_raw(5)), "already there");
        assert!(set.insert(Pid::from_raw(4_194_304)));
        assert!(set.insert(Pid::from_raw(64)) && set.insert(Pid::from_raw(63)));
        for pid in [5, 63, 64, 4_194_304] {
            assert!(set.contains(Pid::from_raw(pid)), "{pid}");
        }
        for pid in [0, 4, 6, 65, 4_194_303, -1] {
            assert!(!set.contains(Pid::from_raw(pid)), "{pid}");
        }
        assert!(!set.insert(Pid::from_raw(-1)), "no negative pids");
    }

    #[test]
    fn finds_descendants_only() {
        let all = vec![
            p(2, 1),
            p(10, 5),
            p(11, 10),
            p(12, 11),
            p(20, 2),
            p(13, 10),
            p(30, 99),
        ];
        let mut got: Vec<i32> = descendants(&all, Pid::from_raw(10))
            .iter()
            .map(|p| p.pid.as_raw())
            .collect();
        got.sort_unstable();
        assert_eq!(got, [11, 12, 13]);
    }
}
