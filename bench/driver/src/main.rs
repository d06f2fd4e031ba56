//! grace's benchmarks: grace side by side with tini, tini-static,
//! dumb-init and catatonit, and with the floor (the least an init can do,
//! `bench/floor`), in one run, written as Markdown.
//!
//!   grace-bench run --grace PATH --floor PATH --out FILE [--smoke]
//!   grace-bench app MODE...      (the supervised app; see app.rs)
//!
//! Every wait is on a handshake (the app's `ready` line, a process exit)
//! with a timeout as an upper bound; a measurement that breaks fails the
//! run, a number that misses its target never does.

mod app;
mod cgroup;
mod measure;
mod report;
mod stats;

use std::path::PathBuf;

/// CLOCK_MONOTONIC in nanoseconds: system-wide, so the driver's and the
/// app's readings compare.
pub fn now_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_or(0, |t| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_nsec()).unwrap_or(0)
    })
}

/// One init under test.
pub struct Init {
    pub name: &'static str,
    pub path: PathBuf,
    /// Arguments before the command when the init is not PID 1.
    pub args: &'static [&'static str],
    /// The same when it is PID 1 of a new PID namespace.
    pub pid1_args: &'static [&'static str],
    /// The flag that makes it forward to the child's process group, for
    /// the inits that forward to the child alone by default.
    pub group_flag: Option<&'static str>,
}

impl Init {
    pub fn argv(&self, pid1: bool) -> Vec<String> {
        let mut v = vec![self.path.to_string_lossy().into_owned()];
        let args = if pid1 { self.pid1_args } else { self.args };
        v.extend(args.iter().map(|s| (*s).to_owned()));
        v
    }

    /// `argv`, forwarding to the child's whole process group.
    pub fn group_argv(&self, pid1: bool) -> Vec<String> {
        let mut v = self.argv(pid1);
        if let Some(flag) = self.group_flag {
            v.insert(1, flag.to_owned());
        }
        v
    }

    pub fn is_grace(&self) -> bool {
        self.name == "grace"
    }

    /// The floor: not an init to compare with, the least one can cost.
    pub fn is_floor(&self) -> bool {
        self.name == FLOOR
    }

    /// One of the inits grace is compared with.
    pub fn is_peer(&self) -> bool {
        !self.is_grace() && !self.is_floor()
    }
}

/// The floor's name in the tables.
pub const FLOOR: &str = "floor";

fn inits(grace: PathBuf, floor: PathBuf) -> Vec<Init> {
    vec![
        Init {
            name: "grace",
            path: grace,
            args: &["--"],
            pid1_args: &["--"],
            group_flag: None,
        },
        // -s: a subreaper when not PID 1, as grace and catatonit are
        // (and tini's warning about not being PID 1 stays away). -g, for
        // the tree benchmarks: the child's group, as grace and dumb-init
        // by default (without it the tree never hears of the stop).
        Init {
            name: "tini",
            path: "/usr/bin/tini".into(),
            args: &["-s", "--"],
            pid1_args: &["--"],
            group_flag: Some("-g"),
        },
        Init {
            name: "tini-static",
            path: "/usr/bin/tini-static".into(),
            args: &["-s", "--"],
            pid1_args: &["--"],
            group_flag: Some("-g"),
        },
        Init {
            name: "dumb-init",
            path: "/usr/bin/dumb-init".into(),
            args: &["--"],
            pid1_args: &["--"],
            group_flag: None,
        },
        Init {
            name: "catatonit",
            path: "/usr/bin/catatonit".into(),
            args: &["--"],
            pid1_args: &["--"],
            group_flag: Some("-g"),
        },
        // posix_spawn, forward, waitpid: nothing else (bench/floor).
        Init {
            name: FLOOR,
            path: floor,
            args: &[],
            pid1_args: &[],
            group_flag: None,
        },
    ]
}

/// How much of everything to do.
#[derive(Clone, Copy)]
pub struct Scale {
    pub smoke: bool,
    pub startup_runs: usize,
    pub signal_trials: usize,
    pub stop_trials: usize,
    pub idle_secs: u64,
    pub orphans: usize,
    pub reap_trials: usize,
    pub deadline_trials: usize,
    /// Processes in the side-by-side tree stops.
    pub tree: usize,
    pub tree_trials: usize,
    pub cost_trials: usize,
    /// Tree sizes at which grace's own cost is measured.
    pub cost_sizes: &'static [usize],
    /// Processes sleeping on the host, outside the namespace, for the
    /// stops as PID 1 on a busy host; and those stops' trials.
    pub crowd: usize,
    pub crowd_trials: usize,
}

const FULL: Scale = Scale {
    smoke: false,
    startup_runs: 1000,
    signal_trials: 500,
    // A p99 over 1,500 is the 15th slowest: over 500 it was the 5th,
    // and moved by 10% between runs.
    stop_trials: 1500,
    idle_secs: 30,
    orphans: 10_000,
    reap_trials: 5,
    deadline_trials: 30,
    tree: 10_000,
    tree_trials: 5,
    cost_trials: 5,
    cost_sizes: &[1_000, 3_000, 10_000],
    crowd: 6_000,
    crowd_trials: 300,
};

const SMOKE: Scale = Scale {
    smoke: true,
    startup_runs: 30,
    signal_trials: 30,
    stop_trials: 10,
    idle_secs: 3,
    orphans: 300,
    reap_trials: 1,
    deadline_trials: 3,
    tree: 300,
    tree_trials: 1,
    cost_trials: 1,
    cost_sizes: &[100, 300],
    crowd: 300,
    crowd_trials: 3,
};

/// Each init's binary copied afresh into one scratch directory, run from
/// there: so that every binary's pages in the page cache are as new as
/// every other's, as after an image is unpacked. A binary's older cached
/// pages made its exit slower here: the same tini-static took 59 µs from
/// its exit to the end of its output run from /usr/bin and 33 µs from a
/// copy made a minute before (grace: 80 and 60 µs), which would put the
/// age of each file in the page cache into every stop figure.
struct Fresh {
    dir: PathBuf,
}

impl Fresh {
    fn copy(inits: &mut [Init]) -> Result<Fresh, String> {
        let dir = std::env::temp_dir().join(format!("grace-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let fresh = Fresh { dir };
        for init in inits.iter_mut() {
            let to = fresh.dir.join(init.name);
            std::fs::copy(&init.path, &to)
                .map_err(|e| format!("copying {}: {e}", init.path.display()))?;
            init.path = to;
        }
        Ok(fresh)
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: grace-bench run --grace PATH --floor PATH --out FILE [--smoke] | grace-bench stops GRACE FLOOR TRIALS [GRACE...] | grace-bench busy GRACE FLOOR CROWD TRIALS [GRACE...] | grace-bench trees GRACE FLOOR N TRIALS [GRACE...] | grace-bench app MODE..."
    );
    std::process::exit(2)
}

/// The inits, then each of `others` as one more build of grace to compare
/// (`grace#2`, `grace#3`...), run the way grace is.
fn with_more_graces(mut inits: Vec<Init>, others: &[String]) -> Vec<Init> {
    for (k, other) in others.iter().enumerate() {
        inits.push(Init {
            name: Box::leak(format!("grace#{}", k + 2).into_boxed_str()),
            path: other.into(),
            args: &["--"],
            pid1_args: &["--"],
            group_flag: None,
        });
    }
    inits
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("app") => app::main(&args[1..]),
        // Stop latencies alone, for working on the stop path, with more
        // builds of grace side by side if given:
        // grace-bench stops GRACE FLOOR TRIALS [OTHER-GRACE...]
        Some("stops") => {
            let (Some(grace), Some(floor), Some(trials)) = (
                args.get(1),
                args.get(2),
                args.get(3).and_then(|t| t.parse().ok()),
            ) else {
                usage()
            };
            let inits = with_more_graces(inits(grace.into(), floor.into()), &args[4..]);
            stops(inits, trials)
        }
        // Big-tree stops alone, or stops as PID 1 on a busy host alone,
        // likewise:
        // grace-bench trees GRACE FLOOR N TRIALS [OTHER-GRACE...]
        // grace-bench busy GRACE FLOOR CROWD TRIALS [OTHER-GRACE...]
        Some(what @ ("trees" | "busy")) => {
            let (Some(grace), Some(floor), Some(n), Some(trials)) = (
                args.get(1),
                args.get(2),
                args.get(3).and_then(|t| t.parse().ok()),
                args.get(4).and_then(|t| t.parse().ok()),
            ) else {
                usage()
            };
            let inits = with_more_graces(inits(grace.into(), floor.into()), &args[5..]);
            if what == "trees" {
                trees(inits, n, trials)
            } else {
                busy(inits, n, trials)
            }
        }
        Some("run") => {
            let mut grace = None;
            let mut floor = None;
            let mut out = None;
            let mut scale = FULL;
            let mut it = args[1..].iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--grace" => grace = it.next().map(PathBuf::from),
                    "--floor" => floor = it.next().map(PathBuf::from),
                    "--out" => out = it.next().map(PathBuf::from),
                    "--smoke" => scale = SMOKE,
                    _ => usage(),
                }
            }
            let (Some(grace), Some(floor), Some(out)) = (grace, floor, out) else {
                usage()
            };
            run(inits(grace, floor), scale, &out)
        }
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("grace-bench: {e}");
        std::process::exit(1);
    }
}

fn stops(mut inits: Vec<Init>, trials: usize) -> Result<(), String> {
    let _fresh = Fresh::copy(&mut inits)?;
    let modes = measure::stops_only(&inits, trials)?;
    for (mode, per_init) in ["subreaper", "PID 1"].iter().zip(modes) {
        for (i, xs) in inits.iter().zip(per_init) {
            println!(
                "{mode:9} {:12} p50 {:.3} ms p90 {:.3} ms p99 {:.3} ms max {:.3} ms",
                i.name,
                stats::median(&xs),
                stats::percentile(&xs, 90.0),
                stats::p99(&xs),
                stats::percentile(&xs, 100.0)
            );
        }
    }
    Ok(())
}

fn busy(mut inits: Vec<Init>, crowd: usize, trials: usize) -> Result<(), String> {
    let _fresh = Fresh::copy(&mut inits)?;
    let busy = measure::busy_only(&inits, crowd, trials)?;
    for (i, xs) in inits.iter().zip(busy.stop_ms) {
        println!(
            "PID 1, {crowd} more on the host {:12} p50 {:.3} ms p90 {:.3} ms p99 {:.3} ms",
            i.name,
            stats::median(&xs),
            stats::percentile(&xs, 90.0),
            stats::p99(&xs),
        );
    }
    Ok(())
}

fn trees(mut inits: Vec<Init>, n: usize, trials: usize) -> Result<(), String> {
    let _fresh = Fresh::copy(&mut inits)?;
    let modes = measure::trees_only(&inits, n, trials)?;
    for (mode, rows) in ["subreaper", "PID 1"].iter().zip(modes) {
        for (name, xs) in rows {
            println!(
                "{mode:9} {name:24} median {:8.1} ms max {:8.1} ms",
                stats::median(&xs),
                stats::percentile(&xs, 100.0)
            );
        }
    }
    Ok(())
}

fn run(mut inits: Vec<Init>, scale: Scale, out: &std::path::Path) -> Result<(), String> {
    for i in &inits {
        if !i.path.is_file() {
            return Err(format!("{} not found at {}", i.name, i.path.display()));
        }
    }
    let _fresh = Fresh::copy(&mut inits)?;
    let results = measure::all(&inits, scale).map_err(|e| format!("a measurement failed: {e}"))?;
    let text = report::markdown(&inits, scale, &results);
    std::fs::write(out, &text).map_err(|e| format!("{}: {e}", out.display()))?;
    print!("{}", report::summary(&inits, &results));
    eprintln!("grace-bench: wrote {}", out.display());
    Ok(())
}
