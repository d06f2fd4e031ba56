//! A cgroup of its own for each init, as a container runtime gives each
//! container: cgroup v2, or v1's `cpu` controller. Created at the start of
//! the run, removed at its end.
//!
//! Why it matters: in the root cgroup the kernel's autogroup scheduling
//! (`/proc/sys/kernel/sched_autogroup_enabled`) puts every session in a
//! scheduling group of its own, so an init that starts its app with
//! `setsid` (dumb-init) has its wake-ups placed differently from one that
//! does not. Inside a cpu cgroup autogroup does not apply, as in any
//! container.

use std::fs;
use std::io::Write as _;
use std::os::fd::{AsRawFd as _, RawFd};
use std::path::{Path, PathBuf};

type R<T> = Result<T, String>;

/// Which hierarchy holds the groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    V1Cpu,
    V2,
}

/// One cgroup, its `cgroup.procs` kept open so that a child can join it
/// between fork and exec with one `write` (no allocation there).
pub struct Group {
    dir: PathBuf,
    procs: fs::File,
}

impl Group {
    /// The group's directory name.
    pub fn name(&self) -> &str {
        self.dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }

    /// The descriptor a child writes `0` (itself) to.
    pub fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }
}

impl Group {
    /// SIGKILL to every process in the group: what a measurement that
    /// failed left behind (a tree whose stop never came). Only processes
    /// the driver started are in it.
    pub fn kill_all(&self) {
        let Ok(text) = fs::read_to_string(self.dir.join("cgroup.procs")) else {
            return;
        };
        for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Normally empty by now; leftovers of a failed measurement are
        // killed, and the directory goes once they are gone (bounded).
        self.kill_all();
        for _ in 0..100 {
            if fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// The hierarchy this machine offers, if any: v2 mounted at
/// /sys/fs/cgroup, else v1's cpu controller.
pub fn detect() -> Option<(Kind, PathBuf)> {
    let v2 = Path::new("/sys/fs/cgroup");
    if v2.join("cgroup.controllers").is_file() {
        return Some((Kind::V2, v2.to_path_buf()));
    }
    let v1 = Path::new("/sys/fs/cgroup/cpu");
    v1.join("cgroup.procs")
        .is_file()
        .then(|| (Kind::V1Cpu, v1.to_path_buf()))
}

/// Creates `grace-bench-PID-NAME` under the hierarchy's root.
pub fn create(kind: Kind, root: &Path, name: &str) -> R<Group> {
    if kind == Kind::V2 {
        // The cpu controller must be on for the root's children, or every
        // group is still the root's for the scheduler (and autogroup's).
        let ctl = root.join("cgroup.subtree_control");
        let on = fs::read_to_string(&ctl).unwrap_or_default();
        if !on.split_whitespace().any(|c| c == "cpu") {
            fs::OpenOptions::new()
                .write(true)
                .open(&ctl)
                .and_then(|mut f| f.write_all(b"+cpu"))
                .map_err(|e| format!("{}: +cpu: {e}", ctl.display()))?;
        }
    }
    let dir = root.join(format!("grace-bench-{}-{name}", std::process::id()));
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    let procs = fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))
        .map_err(|e| format!("{}/cgroup.procs: {e}", dir.display()))?;
    Ok(Group { dir, procs })
}

/// Whether `/proc/self/cgroup`, as a process shows it, puts it in `dir`
/// (`dir`'s last component) in the hierarchy of `kind`.
pub fn shows(text: &str, kind: Kind, dir: &str) -> bool {
    text.lines().any(|l| {
        let mut parts = l.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let hierarchy = match kind {
            Kind::V2 => controllers.is_empty(),
            Kind::V1Cpu => controllers.split(',').any(|c| c == "cpu"),
        };
        hierarchy && path.rsplit('/').next() == Some(dir)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_group_in_proc_self_cgroup() {
        let v1 = "12:pids:/\n5:cpu:/grace-bench-7-true\n4:cpuacct:/\n0::/\n";
        assert!(shows(v1, Kind::V1Cpu, "grace-bench-7-true"));
        assert!(!shows(v1, Kind::V2, "grace-bench-7-true"));
        let v2 = "0::/grace-bench-7-true\n";
        assert!(shows(v2, Kind::V2, "grace-bench-7-true"));
        assert!(!shows(v2, Kind::V2, "grace-bench-7-grace"));
        let joint = "3:cpu,cpuacct:/x/grace-bench-7-grace\n";
        assert!(shows(joint, Kind::V1Cpu, "grace-bench-7-grace"));
    }
}
