//! Tables and verdicts, in Markdown. Every verdict is computed here from
//! the run's own numbers; nothing is written by hand.

use std::fmt::Write as _;
use std::process::Command;

use crate::measure::{DEADLINE, Results};
use crate::stats::{median, p99};
use crate::{Init, Scale};

/// A target and whether this run met it.
struct Verdict {
    target: &'static str,
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

/// Index and value of the smallest `f(peer)` among the inits other than grace.
fn best_peer(inits: &[Init], f: impl Fn(usize) -> f64) -> (usize, f64) {
    inits
        .iter()
        .enumerate()
        .filter(|(_, i)| !i.is_grace())
        .map(|(n, _)| (n, f(n)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, f64::NAN))
}

fn grace_index(inits: &[Init]) -> usize {
    inits.iter().position(Init::is_grace).unwrap_or(0)
}

fn verdicts(inits: &[Init], r: &Results) -> Vec<Verdict> {
    let g = grace_index(inits);
    let mut v = Vec::new();
    let bare = median(&r.true_ms);
    let overhead = |n: usize| median(&r.startup_ms[n]) - bare;
    let (b, best) = best_peer(inits, overhead);
    let ratio = overhead(g) / best;
    v.push(Verdict {
        target: "start-up overhead at most 0.9x the best peer's",
        met: ratio <= 0.9,
        numbers: format!(
            "grace {:.3} ms vs {} {:.3} ms over bare `true`: {ratio:.2}x",
            overhead(g),
            inits[b].name,
            best
        ),
    });
    for (what, samples, unit) in [
        (
            "signal latency p99 no worse than the best peer's",
            &r.signal_us,
            "µs",
        ),
        (
            "stop latency p99 no worse than the best peer's, as a subreaper",
            &r.stop_ms,
            "ms",
        ),
        (
            "stop latency p99 no worse than the best peer's, as PID 1",
            &r.stop_pid1_ms,
            "ms",
        ),
    ] {
        let (b, best) = best_peer(inits, |n| p99(&samples[n]));
        let mine = p99(&samples[g]);
        v.push(Verdict {
            target: what,
            met: mine <= best,
            numbers: format!(
                "grace {mine:.3} {unit} vs {} {best:.3} {unit}: {:.2}x",
                inits[b].name,
                mine / best
            ),
        });
    }
    v.push(Verdict {
        target: "zero idle wake-ups",
        met: r.idle[g].wakeups_per_min == 0.0,
        numbers: format!("{:.1} per minute", r.idle[g].wakeups_per_min),
    });
    let reap = |n: usize| median(&r.reap[n].iter().map(|x| x.ms).collect::<Vec<_>>());
    let (b, best) = best_peer(inits, reap);
    v.push(Verdict {
        target: "reaping at least as fast as the best peer",
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
        target: "RSS no more than tini-static's",
        met: r.idle[g].rss_kb <= r.idle[ts].rss_kb,
        numbers: format!(
            "grace {} kB vs tini-static {} kB",
            r.idle[g].rss_kb, r.idle[ts].rss_kb
        ),
    });
    v.push(Verdict {
        target: "binary no larger than tini-static's",
        met: r.sizes[g] <= r.sizes[ts],
        numbers: format!("grace {} B vs tini-static {} B", r.sizes[g], r.sizes[ts]),
    });
    let late = p99(&r.deadline_late_ms);
    v.push(Verdict {
        target: "SIGKILL within 20 ms of the deadline at p99",
        met: late <= 20.0,
        numbers: format!(
            "p99 {late:.2} ms late (median {:.2} ms)",
            median(&r.deadline_late_ms)
        ),
    });
    v
}

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

pub fn markdown(inits: &[Init], scale: Scale, r: &Results) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "# Benchmarks: grace, tini, tini-static, dumb-init, catatonit\n"
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

    let bare = median(&r.true_ms);
    let g = grace_index(inits);
    let _ = writeln!(
        w,
        "\n## Start-up: `INIT -- /bin/true`\n\n{} runs of each command, interleaved; bare `/bin/true`: median {bare:.3} ms, p99 {:.3} ms.\n",
        r.true_ms.len(),
        p99(&r.true_ms)
    );
    let _ = writeln!(
        w,
        "| init | median | p99 | overhead over `true` | overhead vs grace |\n|---|---:|---:|---:|---:|"
    );
    let g_over = median(&r.startup_ms[g]) - bare;
    for (n, i) in inits.iter().enumerate() {
        let m = median(&r.startup_ms[n]);
        let _ = writeln!(
            w,
            "| {} | {m:.3} ms | {:.3} ms | {:.3} ms | {:.2}x |",
            i.name,
            p99(&r.startup_ms[n]),
            m - bare,
            (m - bare) / g_over
        );
    }

    let _ = writeln!(
        w,
        "\n## Latency\n\nSignal: `kill(init, SIGUSR1)` to the app's `sigwaitinfo` returning ({} trials each, one app). Stop: `kill(init, SIGTERM)` to the init's exit, the app exiting at once on SIGTERM ({} trials each, a new init each), with the init a plain child of the driver (a subreaper on the host: grace walks its own subtree for escaped processes) and as PID 1 of a new PID namespace (grace reads the container's /proc).\n",
        r.signal_us.first().map_or(0, Vec::len),
        r.stop_ms.first().map_or(0, Vec::len)
    );
    let _ = writeln!(
        w,
        "| init | signal p50 | signal p99 | stop p50 | stop p99 | stop as PID 1 p50 | stop as PID 1 p99 |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for (n, i) in inits.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {} | {:.1} µs | {:.1} µs | {:.3} ms | {:.3} ms | {:.3} ms | {:.3} ms |",
            i.name,
            median(&r.signal_us[n]),
            p99(&r.signal_us[n]),
            median(&r.stop_ms[n]),
            p99(&r.stop_ms[n]),
            median(&r.stop_pid1_ms[n]),
            p99(&r.stop_pid1_ms[n])
        );
    }

    let _ = writeln!(
        w,
        "\n## Idle cost, memory, size\n\nAll inits at once, each supervising a sleeping app, for {} s: the init's context switches (voluntary + involuntary, from `/proc/PID/status`) per minute, and its VmRSS and VmHWM at the end.\n",
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
        "\n## Reaping as PID 1\n\n`unshare --pid --fork --mount-proc INIT -- app`: the app makes {} orphans (double fork) that block on one pipe, then closes it so that all exit at once, and scans `/proc` until PID 1 has reaped every one. Time from the release to an empty `/proc` ({} trial(s) each: median and fastest), how many trials took more than twice the fastest trial of any init (the times are bimodal here, see the notes), and the most zombies one scan saw.\n",
        scale.orphans, scale.reap_trials
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
  tini-static, dumb-init and catatonit are Debian's packages. When not PID 1,
  tini runs with `-s` (a subreaper, like grace and catatonit; dumb-init has no
  such mode).
- Start-up is `fork`+`exec`+`wait` of the whole command as seen by the driver;
  overhead is the median minus bare `/bin/true`'s. The first tenth of the
  rounds is discarded as warm-up.
- Latencies use `CLOCK_MONOTONIC`, which is system-wide, read by the driver
  just before `kill` and by the app just after `sigwaitinfo`; the init's
  exit is taken as the end of its stdout pipe (the init holds it until it
  exits, after the app).
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
  init is measured only while the machine is warming up or busy.
- Known costs of grace's, by design, visible in these tables:
  - At a stop grace looks for processes that escaped the app's process
    group (setsid daemons, double-forked helpers) and signals them too; the
    peers do not (those processes get the kernel's SIGKILL when PID 1 exits,
    or outlive a subreaper). The group is signalled first, so the app hears
    of the stop at once. As PID 1 of a container the look is a read of
    `/proc/PID/stat` for each of the container's processes, a few µs each.
    As a subreaper grace walks down its own subtree through
    `/proc/PID/task/TID/children` (`CONFIG_PROC_CHILDREN`, which this
    kernel has): two small reads per descendant, and a second pass,
    because the group dying under the first can move a process to a list
    already read. On a kernel without it grace reads the `stat` of every
    process of the host instead (measured at about 7 µs a process: 0.4 ms
    on a quiet host, 3.8x the best peer's stop on a busier one). grace
    also writes two log lines at a stop (the stop, the report), which the
    peers do not: together some 30-50 µs at the median, in both stop
    columns.
  - Start-up: grace parses its command line with clap and sets up tracing;
    under musl's allocator that is some 25 `mmap`/`munmap` calls, and Rust's
    runtime adds about 8 system calls (stdio check, SIGPIPE, the stack
    overflow handler) before `main`. grace's own work is about a dozen
    calls: the signal mask, subreaper, terminal check, spawn, chdir, closing
    inherited descriptors. grace starts the app with `posix_spawn` (a
    vfork: no page tables copied); tini, dumb-init and catatonit `fork`.
    How much that weighs depends on the VM: on one machine of this kind
    grace's overhead was 0.91x the best peer's, on another 0.52x, each
    run with all five interleaved.
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
- Nothing here is a pass/fail test: `bench/run.sh --smoke` (run by CI) only
  checks that every measurement still works.
";
