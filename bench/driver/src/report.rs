//! Tables and verdicts, in Markdown. Every verdict is computed here from
//! the run's own numbers; nothing is written by hand.

use std::fmt::Write as _;
use std::process::Command;

use crate::cgroup::Kind;
use crate::measure::{Busy, Cost, DEADLINE, Latency, Results, Scaled, Tree, TreeStop, Where};
use crate::stats::{median, p99, ratio_interval};
use crate::{Init, Scale};

/// A target and whether this run met it.
struct Verdict {
    target: String,
    met: bool,
    numbers: String,
}

fn first_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|e| format!("{cmd}: {e}"))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Index and value of the smallest `f(peer)` among the peers (neither
/// grace nor the floor).
fn best_peer(inits: &[Init], f: impl Fn(usize) -> f64) -> (usize, f64) {
    inits
        .iter()
        .enumerate()
        .filter(|(_, i)| i.is_peer())
        .map(|(n, _)| (n, f(n)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, f64::NAN))
}

fn grace_index(inits: &[Init]) -> usize {
    inits.iter().position(Init::is_grace).unwrap_or(0)
}

fn floor_index(inits: &[Init]) -> usize {
    inits.iter().position(Init::is_floor).unwrap_or(0)
}

/// How far grace may be above the floor, for start-up, signal and stop.
const FLOOR_MARGIN: f64 = 0.10;
/// How far grace's stop p50 may be above the best peer's.
const STOP_P50_MARGIN: f64 = 0.05;

/// `grace / floor` and `grace / best peer` for `f`, and the verdict's
/// numbers: "grace X: A.AAx the floor's (Y), B.BBx PEER's (Z)".
fn against(inits: &[Init], f: impl Fn(usize) -> f64, unit: &str) -> (f64, f64, String) {
    let (g, fl) = (grace_index(inits), floor_index(inits));
    let (b, best) = best_peer(inits, &f);
    let (mine, floor) = (f(g), f(fl));
    let (rf, rp) = (mine / floor, mine / best);
    (
        rf,
        rp,
        format!(
            "grace {mine:.3} {unit}: {rf:.2}x the floor's ({floor:.3} {unit}), {rp:.2}x {}'s ({best:.3} {unit})",
            inits[b].name
        ),
    )
}

/// `; 95% interval of the ratio to PEER's: A-Bx`: the bootstrap interval
/// of grace's `stat` over the best peer's ([`ratio_interval`]), the peer
/// chosen as [`against`] chooses it, for the targets that are a few
/// percent either way.
fn interval(inits: &[Init], samples: &[Vec<f64>], stat: fn(&[f64]) -> f64) -> String {
    let g = grace_index(inits);
    let (b, _) = best_peer(inits, |n| stat(&samples[n]));
    let (lo, hi) = ratio_interval(&samples[g], &samples[b], stat, 1000);
    format!(
        "; 95% interval of the ratio to {}'s: {lo:.2}-{hi:.2}x",
        inits[b].name
    )
}

fn pct(x: f64) -> u32 {
    (x * 100.0).round() as u32
}

fn verdicts(inits: &[Init], r: &Results) -> Vec<Verdict> {
    let g = grace_index(inits);
    let mut v = Vec::new();
    let Some(lat) = r.latency.first() else {
        return v;
    };
    let (rf, rp, numbers) = against(inits, |n| median(&lat.startup_ms[n]), "ms");
    v.push(Verdict {
        target: format!(
            "start-up (median of `INIT -- /bin/true`) within {}% of the floor and no worse than the best peer",
            pct(FLOOR_MARGIN)
        ),
        met: rf <= 1.0 + FLOOR_MARGIN && rp <= 1.0,
        numbers,
    });
    let (rf, rp, numbers) = against(inits, |n| median(&lat.signal_us[n]), "µs");
    v.push(Verdict {
        target: format!(
            "signal latency p50 within {}% of the floor and no worse than the best peer",
            pct(FLOOR_MARGIN)
        ),
        met: rf <= 1.0 + FLOOR_MARGIN && rp <= 1.0,
        numbers,
    });
    let (_, rp, numbers) = against(inits, |n| p99(&lat.signal_us[n]), "µs");
    v.push(Verdict {
        target: "signal latency p99 no worse than the best peer".into(),
        met: rp <= 1.0,
        numbers,
    });
    for (mode, samples) in [
        ("as a subreaper", &lat.stop_ms),
        ("as PID 1", &lat.stop_pid1_ms),
    ] {
        let (rf, rp, mut numbers) = against(inits, |n| median(&samples[n]), "ms");
        numbers += &interval(inits, samples, median);
        v.push(Verdict {
            target: format!(
                "stop p50 {mode} within {}% of the floor and within {}% of the best peer",
                pct(FLOOR_MARGIN),
                pct(STOP_P50_MARGIN)
            ),
            met: rf <= 1.0 + FLOOR_MARGIN && rp <= 1.0 + STOP_P50_MARGIN,
            numbers,
        });
        let (_, rp, mut numbers) = against(inits, |n| p99(&samples[n]), "ms");
        numbers += &interval(inits, samples, p99);
        v.push(Verdict {
            target: format!("stop p99 {mode} no worse than the best peer"),
            met: rp <= 1.0,
            numbers,
        });
    }
    let sc = &r.scaled;
    for (k, mode) in ["as a subreaper", "as PID 1"].iter().enumerate() {
        let ms = |n: usize| median(&sc.group[k][n].iter().map(|t| t.ms).collect::<Vec<_>>());
        let (b, best) = best_peer(inits, ms);
        v.push(Verdict {
            target: format!(
                "stopping {} processes {mode} no slower than the best peer (median)",
                sc.n
            ),
            met: ms(g) <= best,
            numbers: format!(
                "grace {:.1} ms vs {} {best:.1} ms: {:.2}x",
                ms(g),
                inits[b].name,
                ms(g) / best
            ),
        });
    }
    if let Some((grow, detail)) = cpu_growth(sc) {
        v.push(Verdict {
            target: "grace's CPU time per process at a stop grows by at most 2x from the smallest tree to the largest (no O(n²) step)".into(),
            met: grow <= 2.0,
            numbers: detail,
        });
    }
    v.push(Verdict {
        target: "zero idle wake-ups".into(),
        met: r.idle[g].wakeups_per_min == 0.0,
        numbers: format!("{:.1} per minute", r.idle[g].wakeups_per_min),
    });
    let reap = |n: usize| median(&r.reap[n].iter().map(|x| x.ms).collect::<Vec<_>>());
    let (b, best) = best_peer(inits, reap);
    v.push(Verdict {
        target: "reaping at least as fast as the best peer".into(),
        met: reap(g) <= best,
        numbers: format!(
            "grace {:.1} ms vs {} {best:.1} ms: {:.2}x",
            reap(g),
            inits[b].name,
            reap(g) / best
        ),
    });
    let ts = inits
        .iter()
        .position(|i| i.name == "tini-static")
        .unwrap_or(0);
    v.push(Verdict {
        target: "RSS no more than tini-static's".into(),
        met: r.idle[g].rss_kb <= r.idle[ts].rss_kb,
        numbers: format!(
            "grace {} kB vs tini-static {} kB",
            r.idle[g].rss_kb, r.idle[ts].rss_kb
        ),
    });
    v.push(Verdict {
        target: "binary no larger than tini-static's".into(),
        met: r.sizes[g] <= r.sizes[ts],
        numbers: format!("grace {} B vs tini-static {} B", r.sizes[g], r.sizes[ts]),
    });
    let late = p99(&r.deadline_late_ms);
    v.push(Verdict {
        target: "SIGKILL within 20 ms of the deadline at p99".into(),
        met: late <= 20.0,
        numbers: format!(
            "p99 {late:.2} ms late (median {:.2} ms)",
            median(&r.deadline_late_ms)
        ),
    });
    v
}

/// The worst growth of grace's CPU time per process from the smallest
/// tree to the largest, over the modes and trees measured, and the
/// numbers behind it.
fn cpu_growth(sc: &Scaled) -> Option<(f64, String)> {
    let smallest = sc.costs.iter().map(|c| c.n).min()?;
    let largest = sc.costs.iter().map(|c| c.n).max()?;
    let per_proc = |c: &Cost| {
        median(&c.trials.iter().map(|t| t.cpu_ms).collect::<Vec<_>>()) * 1e3 / c.n as f64
    };
    let mut worst: Option<(f64, String)> = None;
    for big in sc.costs.iter().filter(|c| c.n == largest) {
        let Some(small) = sc
            .costs
            .iter()
            .find(|c| c.n == smallest && c.pid1 == big.pid1 && c.tree == big.tree)
        else {
            continue;
        };
        let grow = per_proc(big) / per_proc(small);
        if worst.as_ref().is_none_or(|(w, _)| grow > *w) {
            worst = Some((
                grow,
                format!(
                    "{:.2}x, worst case {} with {}: {:.1} µs a process at {smallest}, {:.1} µs at {largest}",
                    grow,
                    mode_name(big.pid1),
                    tree_name(big.tree),
                    per_proc(small),
                    per_proc(big)
                ),
            ));
        }
    }
    worst
}

fn mode_name(pid1: bool) -> &'static str {
    if pid1 { "as PID 1" } else { "as a subreaper" }
}

fn tree_name(tree: Tree) -> &'static str {
    match tree {
        Tree::Group => "the tree in the app's group",
        Tree::HalfEscaped => "half the tree escaped (setsid)",
    }
}

fn where_name(w: Where) -> &'static str {
    match w {
        Where::Cgroup(Kind::V1Cpu) => "each init in a cgroup of its own (v1 `cpu`)",
        Where::Cgroup(Kind::V2) => "each init in a cgroup of its own (v2, `cpu` on)",
        Where::Host => "on the host (the driver's cgroup, with autogroup)",
    }
}

/// Why the host's figures differ, said once under each host table.
const WHY_HOST: &str = "On the host the kernel's autogroup scheduling (`/proc/sys/kernel/sched_autogroup_enabled`) gives every session a scheduling group of its own, so an init that starts its app with `setsid` (dumb-init) has its and its app's wake-ups placed differently from the others'; inside a cpu cgroup, as in every container, autogroup does not apply, so no container sees these figures.";

/// The verdicts, one line each, for the terminal.
pub fn summary(inits: &[Init], r: &Results) -> String {
    let mut s = String::new();
    for v in verdicts(inits, r) {
        let _ = writeln!(
            s,
            "{} {}: {}",
            if v.met { "met   " } else { "MISSED" },
            v.target,
            v.numbers
        );
    }
    s
}

fn startup_table(w: &mut String, inits: &[Init], lat: &Latency) {
    let bare = median(&lat.true_ms);
    let g = grace_index(inits);
    let fl = floor_index(inits);
    let _ = writeln!(
        w,
        "{}: {} runs of each command, interleaved; bare `/bin/true`: median {bare:.3} ms, p99 {:.3} ms.\n",
        where_name(lat.at),
        lat.true_ms.len(),
        p99(&lat.true_ms)
    );
    let _ = writeln!(
        w,
        "| init | median | p99 | overhead over `true` | median vs the floor | overhead vs grace |\n|---|---:|---:|---:|---:|---:|"
    );
    let g_over = median(&lat.startup_ms[g]) - bare;
    let floor = median(&lat.startup_ms[fl]);
    for (n, i) in inits.iter().enumerate() {
        let m = median(&lat.startup_ms[n]);
        let _ = writeln!(
            w,
            "| {} | {m:.3} ms | {:.3} ms | {:.3} ms | {:.2}x | {:.2}x |",
            i.name,
            p99(&lat.startup_ms[n]),
            m - bare,
            m / floor,
            (m - bare) / g_over
        );
    }
}

fn latency_table(w: &mut String, inits: &[Init], lat: &Latency) {
    let _ = writeln!(w, "{}:\n", where_name(lat.at));
    let _ = writeln!(
        w,
        "| init | signal p50 | signal p99 | stop p50 | stop p99 | stop as PID 1 p50 | stop as PID 1 p99 |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for (n, i) in inits.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {} | {:.1} µs | {:.1} µs | {:.3} ms | {:.3} ms | {:.3} ms | {:.3} ms |",
            i.name,
            median(&lat.signal_us[n]),
            p99(&lat.signal_us[n]),
            median(&lat.stop_ms[n]),
            p99(&lat.stop_ms[n]),
            median(&lat.stop_pid1_ms[n]),
            p99(&lat.stop_pid1_ms[n])
        );
    }
}

fn busy_table(w: &mut String, inits: &[Init], busy: &Busy) {
    let _ = writeln!(
        w,
        "\n### Stop as PID 1 on a busy host\n\nThe same stop as PID 1, {} trials each, while {} more processes sleep on the host, outside the init's namespace, as on a node that runs other pods. Only what an init does at a stop that grows with the host's processes, not the container's, shows here: signalling with `kill(-1)` as PID 1 does (the kernel walks every task of the host for it, holding the lock that every fork and exit on the node takes); grace signals the groups instead.\n",
        busy.stop_ms.first().map_or(0, Vec::len),
        busy.crowd
    );
    let _ = writeln!(w, "| init | stop p50 | stop p99 |\n|---|---:|---:|");
    for (n, i) in inits.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {} | {:.3} ms | {:.3} ms |",
            i.name,
            median(&busy.stop_ms[n]),
            p99(&busy.stop_ms[n])
        );
    }
    let (_, _, numbers) = against(inits, |n| median(&busy.stop_ms[n]), "ms");
    let _ = writeln!(
        w,
        "\nAt the median: {numbers}{}.",
        interval(inits, &busy.stop_ms, median)
    );
}

fn scale_tables(w: &mut String, inits: &[Init], sc: &Scaled, trials: usize) {
    let _ = writeln!(
        w,
        "\n## Scale: stopping {n} processes\n\nThe app builds a tree of {n} processes (itself, workers, and up to 99 leaves per worker), every one of which dies on SIGTERM, says `ready`, and exits 0 on SIGTERM; the driver sends SIGTERM to the init and times until the end of the init's stdout, which every process of the tree holds: the init and the whole tree gone. As a subreaper (a plain child of the driver; dumb-init is none, its orphans go to the host's init) and as PID 1 of a new PID namespace. {trials} trial(s) each, round-robin: median and slowest. The floor does not apply (it reaps only until its own child is gone).\n",
        n = sc.n
    );
    let _ = writeln!(
        w,
        "| init | tree in the app's group, subreaper | slowest | as PID 1 | slowest |\n|---|---:|---:|---:|---:|"
    );
    let stat = |xs: &[TreeStop]| {
        let ms: Vec<f64> = xs.iter().map(|t| t.ms).collect();
        (median(&ms), ms.iter().copied().fold(0.0, f64::max))
    };
    for (n, i) in inits.iter().enumerate() {
        if sc.group[0][n].is_empty() {
            continue;
        }
        let (a, a_max) = stat(&sc.group[0][n]);
        let (b, b_max) = stat(&sc.group[1][n]);
        let _ = writeln!(
            w,
            "| {} | {a:.1} ms | {a_max:.1} ms | {b:.1} ms | {b_max:.1} ms |",
            i.name
        );
    }
    let (a, a_max) = stat(&sc.escaped[0]);
    let (b, b_max) = stat(&sc.escaped[1]);
    let _ = writeln!(
        w,
        "| grace, half escaped (setsid) | {a:.1} ms | {a_max:.1} ms | {b:.1} ms | {b_max:.1} ms |"
    );
    let _ = writeln!(
        w,
        "\nWith half of the tree escaped (its workers called `setsid` before forking their leaves) only grace is measured: grace finds the escaped processes (its subtree as a subreaper, the namespace's /proc as PID 1) and sends them SIGTERM too. The peers signal only their child's group: what escaped it keeps running until the runtime's SIGKILL (as PID 1: the kernel's, when PID 1 exits; as a subreaper: never, it outlives them).\n"
    );
    let mut sizes: Vec<(usize, usize)> = sc.costs.iter().map(|c| (c.n, c.trials.len())).collect();
    sizes.dedup();
    let per_size = sizes
        .iter()
        .map(|(n, t)| format!("{t} at {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        w,
        "### grace's own cost over the stop\n\ngrace's CPU time from SIGTERM to its exit (`/proc/PID/schedstat`, read before the signal and from the zombie; as PID 1 from the last sample, taken every millisecond while it ran) and its peak RSS (VmHWM, sampled every millisecond), trials per size {per_size} (more at the smaller sizes, whose stops are short and their CPU times noisier): medians. Growth: the CPU time per process at this size over the same at the smallest size; 1.00x is linear, an O(n²) step would show as a ratio near the ratio of the sizes.\n"
    );
    let _ = writeln!(
        w,
        "| processes | mode | tree | stop | grace CPU | CPU per process | growth | peak RSS |\n|---:|---|---|---:|---:|---:|---:|---:|"
    );
    let per_proc = |c: &Cost| {
        median(&c.trials.iter().map(|t| t.cpu_ms).collect::<Vec<_>>()) * 1e3 / c.n as f64
    };
    let smallest = sc.costs.iter().map(|c| c.n).min().unwrap_or(1);
    for c in &sc.costs {
        let base = sc
            .costs
            .iter()
            .find(|b| b.n == smallest && b.pid1 == c.pid1 && b.tree == c.tree)
            .map_or(f64::NAN, per_proc);
        let ms: Vec<f64> = c.trials.iter().map(|t| t.ms).collect();
        let cpu: Vec<f64> = c.trials.iter().map(|t| t.cpu_ms).collect();
        let hwm = c.trials.iter().map(|t| t.hwm_kb).max().unwrap_or(0);
        let _ = writeln!(
            w,
            "| {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} µs | {:.2}x | {hwm} kB |",
            c.n,
            mode_name(c.pid1),
            tree_name(c.tree),
            median(&ms),
            median(&cpu),
            per_proc(c),
            per_proc(c) / base
        );
    }
}

pub fn markdown(inits: &[Init], scale: Scale, r: &Results) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "# Benchmarks: grace, tini, tini-static, dumb-init, catatonit, and the floor\n"
    );
    let _ = writeln!(
        w,
        "Written by `bash bench/run.sh`{} on {}; do not edit by hand, run it again.\n",
        if scale.smoke {
            " --smoke (small counts: not for conclusions)"
        } else {
            ""
        },
        first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
    );
    let _ = writeln!(
        w,
        "Machine: {} CPUs ({}), Linux {}, {}.  \nVersions: {}; {}; {}; {}.\n",
        first_line("nproc", &[]),
        cpu_model(),
        first_line("uname", &["-r"]),
        first_line("sh", &["-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]),
        first_line(&inits[0].path.to_string_lossy(), &["--version"]),
        first_line("/usr/bin/tini", &["--version"]),
        first_line("/usr/bin/dumb-init", &["--version"]),
        first_line("/usr/bin/catatonit", &["--version"]),
    );
    if let Some(steal) = r.steal_s {
        let _ = writeln!(
            w,
            "Steal: the hypervisor took {steal:.1} s of CPU from this machine during the {:.1} minutes of the run (`/proc/stat`). A run with much steal is slower and noisier for every init alike; compare runs with little.\n",
            r.wall_s / 60.0
        );
    }
    let first = r.latency.first().map_or(Where::Host, |l| l.at);
    let _ = writeln!(
        w,
        "Where: {}, as a container runtime places each container; the bench creates the cgroups and removes them. Start-up and latency are also measured on the host, interleaved with the cgroup runs, and shown second. **The floor** (`bench/floor`, built by the bench for musl) is the least an init can do: `posix_spawn` the command, forward the signals it receives with `kill`, reap with `waitpid`, exit with the child's code; nothing else (no parsing, no logging, no process group, no /proc). Every target below is on the first placement's figures.\n",
        where_name(first)
    );

    let _ = writeln!(w, "## Targets\n\n| target | this run | |\n|---|---|---|");
    for v in verdicts(inits, r) {
        let _ = writeln!(
            w,
            "| {} | {} | {} |",
            v.target,
            v.numbers,
            if v.met { "met" } else { "**missed**" }
        );
    }

    let _ = writeln!(w, "\n## Start-up: `INIT -- /bin/true`\n");
    for (k, lat) in r.latency.iter().enumerate() {
        if k > 0 {
            let _ = writeln!(w);
        }
        startup_table(w, inits, lat);
        if lat.at == Where::Host && k > 0 {
            let _ = writeln!(w, "\n{WHY_HOST}");
        }
    }

    let _ = writeln!(
        w,
        "\n## Latency\n\nSignal: `kill(init, SIGUSR1)` to the app's `sigwaitinfo` returning ({} trials each, one app). Stop: `kill(init, SIGTERM)` to the init's exit, the app exiting at once on SIGTERM ({} trials each, a new init each, the placements interleaved), with the init a plain child of the driver (a subreaper on the host) and as PID 1 of a new PID namespace. grace looks for processes that escaped the app's group (walking its own subtree as a subreaper, reading the container's /proc as PID 1) 2 ms after the signal or when the app exits, whichever comes first, and not at all when nothing of the tree is left then: here the app exits at once and leaves nothing.\n",
        r.latency[0].signal_us.first().map_or(0, Vec::len),
        r.latency[0].stop_ms.first().map_or(0, Vec::len)
    );
    for (k, lat) in r.latency.iter().enumerate() {
        if k > 0 {
            let _ = writeln!(w);
        }
        latency_table(w, inits, lat);
        if lat.at == Where::Host && k > 0 {
            let _ = writeln!(w, "\n{WHY_HOST}");
        }
    }

    busy_table(w, inits, &r.busy);
    scale_tables(w, inits, &r.scaled, scale.tree_trials);

    let _ = writeln!(
        w,
        "\n## Idle cost, memory, size\n\nAll inits at once ({}), each supervising a sleeping app, for {} s: the init's context switches (voluntary + involuntary, from `/proc/PID/status`) per minute, and its VmRSS and VmHWM at the end.\n",
        where_name(first),
        scale.idle_secs
    );
    let _ = writeln!(
        w,
        "| init | wake-ups / min | VmRSS | VmHWM | size on disk |\n|---|---:|---:|---:|---:|"
    );
    for (n, i) in inits.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {} | {:.1} | {} kB | {} kB | {} B |",
            i.name, r.idle[n].wakeups_per_min, r.idle[n].rss_kb, r.idle[n].hwm_kb, r.sizes[n]
        );
    }

    let _ = writeln!(
        w,
        "\n## Reaping as PID 1\n\n`unshare --pid --fork --mount-proc INIT -- app` ({}): the app makes {} orphans (double fork) that block on one pipe, then closes it so that all exit at once, and scans `/proc` until PID 1 has reaped every one. Time from the release to an empty `/proc` ({} trial(s) each: median and fastest), how many trials took more than twice the fastest trial of any init (the times are bimodal here, see the notes), and the most zombies one scan saw.\n",
        where_name(first),
        scale.orphans,
        scale.reap_trials
    );
    let fastest_of_all = r
        .reap
        .iter()
        .flatten()
        .map(|x| x.ms)
        .fold(f64::INFINITY, f64::min);
    let _ = writeln!(
        w,
        "| init | reap all (median) | fastest | slow trials | peak zombies |\n|---|---:|---:|---:|---:|"
    );
    for (n, i) in inits.iter().enumerate() {
        let ms: Vec<f64> = r.reap[n].iter().map(|x| x.ms).collect();
        let fastest = ms.iter().copied().fold(f64::INFINITY, f64::min);
        let slow = ms.iter().filter(|&&t| t > 2.0 * fastest_of_all).count();
        let peak = r.reap[n].iter().map(|x| x.peak_zombies).max().unwrap_or(0);
        let _ = writeln!(
            w,
            "| {} | {:.1} ms | {fastest:.1} ms | {slow} of {} | {peak} |",
            i.name,
            median(&ms),
            ms.len()
        );
    }

    let _ = writeln!(
        w,
        "\n## Deadline precision (grace only)\n\n`grace --grace-period {}ms` around an app that ignores SIGTERM; from `kill(grace, SIGTERM)` to grace's exit (after SIGKILL, reap and report), minus the grace period: an upper bound on how late the SIGKILL lands. The others have no escalation. {} trials: median {:.2} ms, p99 {:.2} ms, max {:.2} ms.\n",
        DEADLINE.as_millis(),
        r.deadline_late_ms.len(),
        median(&r.deadline_late_ms),
        p99(&r.deadline_late_ms),
        r.deadline_late_ms.iter().copied().fold(0.0, f64::max)
    );

    let _ = writeln!(w, "{METHOD}");
    s
}

const METHOD: &str = "## Method and caveats

- One driver (`bench/driver`, Rust) runs every measurement for every init in
  the same run, on the same machine, with the same app (the driver itself in
  `app` mode), so the numbers compare; absolute values depend on the machine.
- grace is the static musl release binary (`tests/static-build.sh`); tini,
  tini-static, dumb-init and catatonit are Debian's packages. Each binary
  (the floor's too) is copied into one scratch directory at the start of
  the run and run from there, so that all are as new in the page cache as
  after an image is unpacked: the same tini-static took 59 µs from its
  exit to the end of its output from /usr/bin and 33 µs from a fresh copy. When not PID 1,
  tini runs with `-s` (a subreaper, like grace and catatonit; dumb-init has no
  such mode).
- Placement: each init (and bare `/bin/true`, and the floor) has a cgroup of
  its own, created by the bench under the cpu hierarchy (v1 `cpu`, or v2
  with `cpu` enabled) and removed at the end; a command joins it between
  fork and exec by writing `0` to its `cgroup.procs`, checked once with
  `/proc/self/cgroup`. Joining costs every command alike (about 0.15 ms at
  the median here) and now and then several ms (the kernel's cgroup
  migration waits for an RCU grace period): that is the cgroup start-up
  table's higher medians and p99s, in every row, bare `true`'s too.
  Differences between rows are what to read there.
- The floor (`bench/floor`, 18 KB, static musl, Rust without its runtime's
  set-up: `no_main`) blocks the signals it forwards, `posix_spawn`s the
  command with the mask reset, forwards each signal with `kill` and reaps
  with `waitpid(-1, WNOHANG)`, and exits with the child's code. Nothing an
  init could leave out to be faster, short of not being there.
- Start-up is `fork`+`exec`+`wait` of the whole command as seen by the driver;
  overhead is the median minus bare `/bin/true`'s. The first tenth of the
  rounds is discarded as warm-up.
- Latencies use `CLOCK_MONOTONIC`, which is system-wide, read by the driver
  just before `kill` and by the app just after `sigwaitinfo`; the init's
  exit is taken as the end of its stdout pipe (the init holds it until it
  exits, after the app).
- Every signal the driver times goes out once the init sleeps in its wait
  for signals (its `/proc/PID/wchan`, polled every 50 µs): for the stops
  and the deadline, whose every trial starts a new init, before each
  trial; for the forwarding, whose inits run through all the trials,
  before the first. Sent the moment the app says
  `ready`, a stop could find an init still finishing its start-up (grace
  waits for the app's exec to succeed, then prepares its stop) and time
  that instead: without perf, 13 trials in 2,400 found an init not yet
  waiting; perf-traced, with the app kept on grace's CPU, about half of
  grace's did. The signal then finds an init that went idle a moment ago,
  its caches warm. A real one comes after seconds: a trial run that slept
  1 ms more before each signal made every init's stop some 50 µs slower
  at the median (on a VM, much of it the idle CPU's wake-up), and grace's
  ratios worse: signal p50 1.01x the best peer's instead of 0.71x, stop
  p50 1.07x as a subreaper and 1.09x as PID 1 (one noisy run).
- Idle wake-ups count every time the kernel scheduled the init in, whatever
  the reason; over a quiet window that is its timers. On a 2-core VM the
  other inits and the driver share the CPUs: percentiles, not means.
- Reaping includes the app's own `/proc` scans, which compete with PID 1 for
  the CPUs alike for every init; the peak counts zombies seen in one scan.
  On these VMs the reaping times are bimodal for every init: most trials
  take 0.3-0.5 s, a few take 2-2.5 s (seen for grace, tini-static and the
  others alike in repeated runs), so a median over few trials can land on
  either mode. The slow-trial count shows where that happened; read the
  reaping verdict together with it.
- Signal and stop latency trials go round-robin over the inits (all five
  apps run at once for the signal trials), like the start-up rounds, so no
  init is measured only while the machine is warming up or busy, and each
  round starts with the next init, so that none is always first: the
  first stop after a change of placement (cgroup, host) ran 23 µs slower
  at the median than the same binary last in its round (as PID 1, 47 µs),
  and grace, first in every round until then, paid that in every full run
  (it was most of the difference between the full runs and
  `grace-bench stops`, which measured one placement).
- Scale: tini and catatonit run with `-g` there (the child's group, as
  grace and dumb-init do by default), or the tree never hears of the stop.
  Before each trial the driver waits until the last trial's processes are
  gone from /proc, and each round starts with a different init (the first
  trial after a 10,000-process stop pays for what the kernel still frees).
  For grace's CPU and memory the driver samples as a SCHED_FIFO thread,
  or it would not run again before thousands of exiting processes had.
  Most of a big stop is the kernel's exits and reaps, for every init.
- Known costs of grace's, by design, visible in these tables:
  - At a stop grace looks for processes that escaped the app's process
    group (setsid daemons, double-forked helpers) and signals them too; the
    peers do not (those processes get the kernel's SIGKILL when PID 1 exits,
    or outlive a subreaper). The group is signalled first, as PID 1 too
    (see the next point); the look, which signals what escaped by pid, and
    the group's SIGCONT, follow 2 ms later or when the app exits, and are
    skipped when grace has no child left by then (its tree is gone). To
    count as told only what the group signal reached, grace reads
    `ns_last_pid` just before it (kept open: one `pread`): a process found
    in the group with a later pid was forked after the signal and is left
    to the drain. (Issue 12's first version made the look at once: it cost
    a one-process stop about 90 µs, some 15 reads of /proc made while the
    app, woken on grace's CPU, waited for it; a version that deferred the
    look without the pid check counted a TERM handler's helper as told,
    and was reverted.) As PID 1 the look reads the `stat` of every process
    of the container's own /proc; as a subreaper grace walks down its own subtree through
    `/proc/PID/task/TID/children` (`CONFIG_PROC_CHILDREN`, which this
    kernel has): two small reads per descendant, then its own list again,
    walking down from what moved to it. On a kernel without it grace reads
    the `stat` of every process of the host instead (measured at about
    7 µs a process). grace also writes two log lines at a stop (the stop,
    the report), which the peers do not.
  - As PID 1, grace signals the groups and what escaped them by pid, as
    a subreaper does. Until this run it sent one `kill(-1)`, which reached
    the escaped at once but cost what the host holds, not the container:
    the kernel walks its whole task list for it, holding the lock that
    every fork and exit on the node takes. Traced: 18 µs with this VM's 71
    processes (the group `kill`, 13 µs); with 6,000 sleeping processes
    added on the host, outside the namespace, 1.15 ms, and that build's PID
    1 stop took 1.88 ms at the median against the groups' 0.56 ms and
    tini-static's 0.53 ms (200 stops each; the busy-host table measures
    this in every run). On this quiet VM the groups' stop was 2% faster
    (0.555 against 0.566 ms, 1,500 stops). The cost is the half-escaped
    tree: 880 ms against 594 (4 trials), as the look reads every process's
    `stat` and signals 5,000 escaped processes one by one, where one
    `kill(-1)` reached them all; all in the app's group, 691 against 681.
  - The stop's own cost, profiled for issue 12 (clock_gettime marks in a
    scratch build, `perf sched timehist`, `grace-bench stops` comparing
    builds in the same rounds), medians of 400 stops: from grace's wake-up
    to its signal, 6 µs (1.4 µs of its loop, 4.8 µs for `ns_last_pid`, a
    cold read); the group `kill`, 12-14 µs, most of it waking the app,
    which every init pays; then `waitpid` and back to sleep, 1 µs. After
    the app's exit: the reaping `waitpid`, 11 µs (every init pays it), the
    two log lines, and `exit_group`. On this VM the kernel mostly queues
    the woken app on grace's own CPU, so what grace does between its
    signal and its sleep delays the app's exit one for one. The p99 tail
    of a stop is mostly the app's own exit now and then taking 1-4 ms,
    which every init waits for alike. Traced with `perf` (sched, syscall,
    IPI and TLB tracepoints) against tini-static, grace's gap had three
    parts: (1) the two log lines, some 20 µs through tracing's dispatch
    and `core::fmt`; they are now written directly (`logging::line`),
    3.7 and 3.2 µs measured inside grace; (2) the `ns_last_pid` read,
    about 5 µs, which stays (without it a helper the app's TERM handler
    starts could be counted as told and never hear of the stop); (3) its
    exit: grace spawns with `posix_spawn`, whose child runs on grace's
    address space until its exec, mostly on the other CPU; since Linux
    6.12 that CPU stays in the address space's CPU mask until a TLB
    flush reaches it, and the exit's flush (it frees page tables) waited
    for an IPI to it, 20-odd µs on this VM when that CPU was halted (on
    bare metal a few µs). A long-lived grace has the same with every CPU
    it woke on. grace now keeps a page table of its own, made just after
    the spawn while the app starts, and frees it just after the stop
    signal (`sys::FlushAhead`, x86_64 only): the IPI then overlaps the
    app's handling of the signal and the exit has none left. Traced over
    200 stops per mode, exits with a TLB IPI: grace 1% (before: 85% as a
    subreaper, 88% as PID 1), the floor 86-90% (it spawns the same way),
    tini-static 33-46%. In the same rounds (1,000 stops) the subreaper
    stop went from 0.315 to 0.293 ms at the median; as PID 1 only from
    0.598 to 0.593 ms, because there the woken app mostly waits for
    grace's CPU, so the IPI moved ahead of the app's exit instead of
    after it. Start-up did not change (2,000 interleaved runs: 1151.7 and
    1151.3 µs). Spawning with `fork` would avoid the IPI too, at 108 µs
    more at start-up. The binaries' page-cache age was a fourth part,
    now equal for all (see the fresh copies above), and grace's place in
    each round a fifth (see the round-robin above). A sixth was freeing
    grace's memory before its exit: some twenty `free`s into musl's
    allocator, on cold pages, between the app's exit and grace's; traced
    from the reaping `waitpid` to `exit_group` (300 stops per mode),
    grace took 14-16 µs there and tini-static 7-8, and 12-13 µs once
    grace exited without freeing. What is left, measured against scratch
    builds without each in the same rounds (traced, 300-600 stops per
    mode): the `ns_last_pid` read, about 4 µs before the signal, and the
    two log lines, about 8 µs after the reap, mostly code and data that
    are cold by then (rendered warm in a loop, a line takes 0.7 µs).
    Formatting them without `core::fmt` and allocations saved 1 µs more,
    for 500 bytes that the static binary's size budget did not have;
    laying the stop's functions out together (a linker symbol order)
    saved nothing measurable.
  - A big stop's CPU time is mostly the kernel's, charged to grace because
    grace reaps: `perf` on a 10,000-process stop as PID 1 (with the look
    made at once, reading every process's `stat`) put half of grace's CPU
    in `wait4` → `release_task` → `proc_invalidate_siblings_dcache`, and
    15% in RCU callbacks freeing dentries: every /proc entry a look opens
    (`/proc/PID`, its `stat`) must be invalidated when that process is
    reaped, where a process nobody looked at is reaped cheaply.
  - Start-up: grace reads the usual command line (`grace -- COMMAND`, no
    option, no `GRACE_*` variable) itself, and anything else with clap:
    clap's parse took 260 µs of grace's start-up on this VM (musl's
    allocator mapped and unmapped some 20 times for it), which had made
    grace's overhead 1.37x tini-static's; without it, 8 `mmap` and 2
    `munmap` are left in a whole `grace -- /bin/true`. A command line with
    options pays clap's cost again. Rust's runtime adds about 8 system
    calls (stdio check, SIGPIPE, the stack overflow handler) before
    `main`; grace's own work is about a dozen calls: the signal mask,
    subreaper, terminal check, spawn, chdir, closing inherited
    descriptors. grace starts the app with `posix_spawn` (a vfork: no page
    tables copied; a `fork` build measured 108 µs slower at start-up);
    tini, dumb-init and catatonit `fork`.
  - Signal latency: grace waits in `sigtimedwait` like tini and dumb-init,
    and a forwarded signal costs it three system calls (`sigtimedwait`,
    `kill`, `waitpid`), with nothing allocated in between; dumb-init makes
    the same calls but the `waitpid`. What the numbers mostly measure is
    where the scheduler puts the woken processes: on this VM a wake-up on
    the waker's own CPU takes about 4 µs and one that needs the other CPU
    about 33 µs, and which one happens flips with things that are not the
    init's code. In standalone probes dumb-init measured 8 µs p50 with its
    app in a new session (its default) and 41 µs with `--single-child`,
    making the same system calls; a bare app signalled directly measured
    3.9 µs in the sender's session and 33.5 µs in a new one, the other way
    round. The p99 varies between runs by more than the differences
    between inits.
- The stop targets give a 95% bootstrap interval of grace's ratio to the
  best peer (1,000 resamples of both sets of trials, a fixed seed): the
  sampling error of this run alone. Between runs on this VM the ratios
  move by more than that, with the host's load and with where the
  scheduler puts the woken app: read a verdict a few percent either side
  of its target as within that spread.
- Nothing here is a pass/fail test: `bench/run.sh --smoke` (run by CI) only
  checks that every measurement still works.
";
