//! With a terminal on stdin the child's group takes the foreground, so a
//! shell has job control and Ctrl-C reaches it.

use std::process::{Command, Output};

use crate::common::{TempDir, grace_command, grace_sh, testapp};

/// Runs the shell command `inner` on a fresh pseudo-terminal with
/// script(1) and returns what it printed, once it has exited 0. `None`
/// (after saying so) when script(1) is missing outside CI. A hang (a job
/// that stays stopped) is cut off after 30 s and fails.
fn on_a_terminal(inner: &str) -> Option<String> {
    let out: Output = match Command::new("timeout")
        .args(["30", "script", "-qec", inner, "/dev/null"])
        .output()
    {
        Ok(out) => out,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPED: no script(1) for a pseudo-terminal: {e}");
            return None;
        }
        Err(e) => panic!("script(1) is needed for this test: {e}"),
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{:?}:\n{text}", out.status);
    Some(text)
}

/// The job-control shells the tests run: what `fg` sends differs between
/// them (bash sends no SIGCONT to a job it thinks is running).
const SHELLS: [&str; 2] = ["dash", "bash"];

/// Runs `job` as a script with `shell` on a pseudo-terminal, job control
/// on, in a directory of its own. `None` (after saying so) when the shell is missing outside CI.
fn job_on_a_terminal(shell: &str, job: &str) -> Option<String> {
    if Command::new(shell).args(["-c", "true"]).status().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{shell} is needed for this test"
        );
        eprintln!("SKIPPED: no {shell} for the job-control test");
        return None;
    }
    let dir = TempDir::new("job");
    let script = dir.file("job.sh");
    let cwd = dir.path().display();
    std::fs::write(&script, format!("set -m\ncd {cwd}\n{job}")).expect("write the job script");
    on_a_terminal(&format!("{shell} {script}"))
}

/// Runs in a loop: the child must be in the foreground from its first
/// instruction, not only once grace has caught up after the spawn (a race
/// that one run in a hundred used to lose).
#[test]
fn the_child_gets_the_terminal_foreground() {
    const RUNS: usize = 100;
    let grace = grace_sh();
    let t = testapp();
    let inner = format!("for i in $(seq {RUNS}); do {grace} -- {t} report || exit 1; done");
    let Some(text) = on_a_terminal(&inner) else {
        return;
    };
    let reports = text.matches("fg=").count();
    let foreground = text.matches("fg=true").count();
    assert_eq!(reports, RUNS, "{text}");
    assert_eq!(
        foreground,
        RUNS,
        "the child was not in the foreground in {} of {RUNS} runs",
        RUNS - foreground
    );
}

/// With one command grace stops only when the child did: a child that
/// handles the SIGTSTP grace passes on (here sent to grace, not by the
/// terminal) runs on, and so does grace.
#[test]
fn a_child_that_handles_tstp_keeps_grace_running() {
    let grace = grace_sh();
    for shell in SHELLS {
        let job = format!(
            "{grace} -- sh -c 'trap \"echo handled-$((1+1)); exit 0\" TSTP; kill -TSTP $PPID; \
             while :; do :; done'\n\
             echo \"done with $?\"\n"
        );
        let Some(text) = job_on_a_terminal(shell, &job) else {
            continue;
        };
        assert!(text.contains("handled-2"), "{shell}: {text}");
        assert!(text.contains("done with 0"), "{shell}: {text}");
    }
}

/// With several commands none gets the terminal (one terminal has one
/// foreground group): grace keeps it, so Ctrl-C reaches grace.
#[test]
fn several_commands_leave_the_terminal_to_grace() {
    let grace = grace_sh();
    let t = testapp();
    let inner = format!("{grace} --keep-going -- {t} report ::: {t} exit 0");
    let Some(text) = on_a_terminal(&inner) else {
        return;
    };
    assert_eq!(text.matches("fg=false").count(), 1, "{text}");
}

/// grace started in the background of an interactive shell (job control
/// on, so the job has its own group) leaves the terminal with the shell.
#[test]
fn grace_in_the_background_leaves_the_terminal_alone() {
    let grace = grace_sh();
    let t = testapp();
    let inner = format!("sh -c 'set -m; {grace} -- {t} report & wait'");
    let Some(text) = on_a_terminal(&inner) else {
        return;
    };
    assert!(
        text.contains("fg=false"),
        "a background grace took the terminal from the shell:\n{text}"
    );
}

/// Without a terminal, grace takes no terminal step at all: it spawns
/// without forking (no "could not give the terminal" attempt), and the
/// child is in no terminal's foreground.
#[test]
fn without_a_terminal_grace_takes_no_terminal_step() {
    let out = grace_command()
        .args(["-vv", "--", testapp(), "report"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("fg=false"));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("spawned"), "{log}");
    assert!(!log.contains("terminal"), "{log}");
}

#[test]
fn the_terminal_is_given_back_when_grace_exits() {
    let grace = grace_sh();
    let t = testapp();
    // The shell's own command after grace runs in the shell's group: it is
    // in the foreground again only if grace handed the terminal back.
    let inner = format!("{grace} -- {t} report; echo after; {t} report");
    let Some(text) = on_a_terminal(&inner) else {
        return;
    };
    let (under, after) = text
        .split_once("after")
        .unwrap_or_else(|| panic!("no marker:\n{text}"));
    assert!(under.contains("fg=true"), "{text}");
    assert!(
        after.contains("fg=true"),
        "the terminal stayed with the dead child's group:\n{text}"
    );
}

/// Started in the background, grace leaves the terminal alone. When its
/// child stops for the terminal, grace stops too, so the shell sees the
/// job stopped; brought to the foreground with `fg`, grace hands the
/// terminal to the child before it forwards the shell's SIGCONT.
#[test]
fn fg_hands_the_terminal_to_the_child() {
    let grace = grace_sh();
    let t = testapp();
    for shell in SHELLS {
        // Wait until the shell itself reports the job stopped (polled: no
        // sleep), then `fg`.
        let job = format!(
            "{grace} -- sh -c 'kill -TSTP $$; exec {t} report' &\n\
             until jobs > jobs.txt && grep -q Stopped jobs.txt; do :; done\n\
             fg\n"
        );
        let Some(text) = job_on_a_terminal(shell, &job) else {
            continue;
        };
        assert!(
            text.contains("fg=true"),
            "{shell}: after fg the child is still in the background:\n{text}"
        );
    }
}

/// `fg` on a grace still running in the background: bash gives the
/// terminal to grace's group without a SIGCONT. The child, stopped by its
/// read from the terminal, gets the terminal and is woken by grace.
#[test]
fn fg_on_a_running_job_lets_the_child_read() {
    let grace = grace_sh();
    for shell in SHELLS {
        // The shell runs `fg` once the child has started (in the
        // background: grace was); the child waits until the terminal's
        // foreground group is no longer the shell's ($1; field 8 of stat),
        // that is until `fg` ran, and only then reads.
        let job = format!(
            "{grace} -- sh -c '\
             : > started; \
             until awk -v s=\"$1\" \"{{ exit (\\$8 == s) }}\" /proc/self/stat; do :; done; \
             read x; echo \"read done\"' child $$ &\n\
             until [ -e started ]; do :; done\n\
             fg\n"
        );
        let Some(text) = job_on_a_terminal(shell, &job) else {
            continue;
        };
        assert!(text.contains("read done"), "{shell}: {text}");
    }
}

/// Ctrl-Z in the child stops grace too: the shell gets its prompt back,
/// and `fg` resumes both, the child in the foreground.
#[test]
fn a_stopped_child_stops_grace_for_the_shell() {
    let grace = grace_sh();
    let t = testapp();
    for shell in SHELLS {
        let job = format!(
            "{grace} -- sh -c 'kill -TSTP $$; exec {t} report'\n\
             echo \"stopped with $?\"\n\
             fg\n\
             echo \"done with $?\"\n"
        );
        let Some(text) = job_on_a_terminal(shell, &job) else {
            continue;
        };
        let (before, after) = text
            .split_once("stopped with ")
            .unwrap_or_else(|| panic!("{shell}: the shell never saw grace stop:\n{text}"));
        assert!(
            !before.contains("fg="),
            "{shell}: ran before the stop:\n{text}"
        );
        assert!(after.contains("fg=true"), "{shell}: {text}");
        assert!(after.contains("done with 0"), "{shell}: {text}");
    }
}

/// With several commands grace keeps the terminal, so Ctrl-Z stops grace's
/// group, grace alone (here: a SIGTSTP to grace from the second command,
/// once the first is ready). It passes the stop on to the commands and
/// stops too, so the shell gets the job back; `fg` resumes them all: the
/// first says so from its SIGCONT trap and ends the run. (Each command
/// ends on its own within 30 s, should a failure leave them behind.)
#[test]
fn ctrl_z_stops_several_commands_and_grace_for_the_shell() {
    let grace = grace_sh();
    for shell in SHELLS {
        let job = format!(
            "{grace} -- sh -c 'trap \"echo resumed-$((1+1)); exit 0\" CONT; touch ready; \
             for i in $(seq 600); do sleep 0.05; done' \
             ::: sh -c 'until [ -e ready ]; do sleep 0.01; done; kill -TSTP $PPID; exec sleep 30'\n\
             echo \"stopped with $?\"\n\
             fg\n\
             echo \"done with $?\"\n"
        );
        let Some(text) = job_on_a_terminal(shell, &job) else {
            continue;
        };
        let (before, after) = text
            .split_once("stopped with ")
            .unwrap_or_else(|| panic!("{shell}: the shell never saw grace stop:\n{text}"));
        assert!(after.starts_with("148"), "{shell}: {text}");
        // The trap says `resumed-2`; the job's command line, which the shell
        // echoes, says it unevaluated.
        assert!(!before.contains("resumed-2"), "{shell}: {text}");
        let (_, last) = after
            .split_once("resumed-2")
            .unwrap_or_else(|| panic!("{shell}: fg did not resume the commands:\n{text}"));
        assert!(last.contains("done with 0"), "{shell}: {text}");
    }
}

/// The child takes the terminal before it executes the command: when that
/// fails, grace hands the terminal back before it exits 127.
#[test]
fn a_failed_exec_gives_the_terminal_back() {
    let grace = grace_sh();
    let t = testapp();
    let inner = format!("{grace} -- /nonexistent; echo code=$?; {t} report");
    let Some(text) = on_a_terminal(&inner) else {
        return;
    };
    assert!(text.contains("code=127"), "{text}");
    assert!(
        text.contains("fg=true"),
        "the terminal stayed with the dead child's group:\n{text}"
    );
}
