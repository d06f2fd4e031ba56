//! The command line: what the user typed (`Cli`, clap derive), turned into
//! what grace will do (`Config`). Every option also reads a `GRACE_*`
//! environment variable, so a manifest can configure grace without touching
//! the image's ENTRYPOINT. Usage errors are one line and exit 125.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;
use std::time::Duration;

use clap::{ArgAction, Parser};

use crate::config::{self, Command, Config, SignalMap, Target};
use crate::exit::{self, ExitPolicy};
use crate::logging::{Format, Level};
use crate::signals::Signal;

const AFTER_HELP: &str = "\
Every option can also be set through the environment variable shown.

Exit status: the command's own; 128+N if signal N killed it (137 after grace's
SIGKILL); 125 if grace itself failed or was misused; 126 if COMMAND cannot be
executed; 127 if COMMAND was not found.

Several commands, separated by a standalone ':::', each run in its own process
group: when one exits, grace stops the others and exits with its status.

In a Dockerfile (exec form, so that grace is PID 1):
    ENTRYPOINT [\"/grace\", \"--\"]
    CMD [\"/start.sh\"]
    CMD [\"nginx\", \"-g\", \"daemon off;\", \":::\", \"php-fpm\", \"-F\"]";

/// `grace --version`: the version and the target it was built for.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("GRACE_TARGET"), ")");

/// grace: a PID-1 init for containers. It runs COMMAND in its own process
/// group, forwards every signal to it, reaps zombies, and on SIGTERM/SIGINT
/// stops the whole tree within the grace period, with SIGKILL at the end.
#[derive(Parser, Debug)]
#[command(name = "grace", version = VERSION, about, long_about = None, after_help = AFTER_HELP)]
#[command(override_usage = "grace [OPTIONS] [--] COMMAND [ARGS]... [::: COMMAND [ARGS]...]...")]
#[command(max_term_width = 100)]
pub struct Cli {
    /// The whole time from the first stop signal to SIGKILL: 500ms, 8s, 2m,
    /// 1m30s; a bare number is seconds.
    #[arg(long, env = "GRACE_PERIOD", value_name = "DURATION", default_value = "8s",
          value_parser = config::parse_duration)]
    grace_period: Duration,

    /// Keep the app running this long after the stop signal before telling
    /// it (for load balancers); part of the grace period.
    #[arg(long, env = "GRACE_STOP_DELAY", value_name = "DURATION", default_value = "0",
          value_parser = config::parse_duration)]
    stop_delay: Duration,

    /// Send forwarded signals to the child's process `group`, or to the `child` alone.
    #[arg(long, env = "GRACE_FORWARD_TO", value_name = "group|child", default_value = "group",
          value_parser = parse_target)]
    forward_to: Target,

    /// The signal the app receives when a stop begins (on TERM or INT),
    /// like Docker's STOPSIGNAL: e.g. QUIT for nginx.
    #[arg(long, env = "GRACE_STOP_SIGNAL", value_name = "SIGNAL", value_parser = Signal::parse)]
    stop_signal: Option<Signal>,

    /// Rewrite a received signal before forwarding it; TO may be `none` to
    /// drop it. Repeatable; the environment takes a comma-separated list.
    #[arg(long = "map-signal", env = "GRACE_MAP_SIGNAL", value_name = "FROM:TO",
          value_delimiter = ',', value_parser = config::parse_signal_rule)]
    map_signal: Vec<(Signal, Option<Signal>)>,

    /// Exit 0 when the app ended because of the stop signal grace sent it
    /// (exit 128+N, or killed by N). A SIGKILL after the grace period stays 137.
    #[arg(long, env = "GRACE_CLEAN_STOP_EXIT_ZERO", action = ArgAction::SetTrue,
          value_parser = parse_bool)]
    clean_stop_exit_zero: bool,

    /// Rewrite grace's exit code, applied last. Repeatable; the environment
    /// takes a comma-separated list.
    #[arg(long = "exit-code-map", env = "GRACE_EXIT_CODE_MAP", value_name = "FROM:TO",
          value_delimiter = ',', value_parser = exit::parse_code_map)]
    exit_code_map: Vec<(u8, u8)>,

    /// Stop the app (the normal stop sequence) when grace's parent dies.
    #[arg(long, env = "GRACE_PARENT_DEATH_STOP", action = ArgAction::SetTrue,
          value_parser = parse_bool)]
    parent_death_stop: bool,

    /// With several commands: when one exits, the others keep running;
    /// grace exits after the last, with the first non-zero status.
    #[arg(long, env = "GRACE_KEEP_GOING", action = ArgAction::SetTrue,
          value_parser = parse_bool)]
    keep_going: bool,

    /// The argument that separates commands, for an app that takes a
    /// literal ':::' itself.
    #[arg(
        long,
        env = "GRACE_SEPARATOR",
        value_name = "TOKEN",
        default_value = ":::"
    )]
    separator: OsString,

    /// Log level: error, warn, info (default), debug, trace, off.
    #[arg(long, env = "GRACE_LOG", value_name = "LEVEL", value_parser = Level::parse)]
    log_level: Option<Level>,

    /// Log format: text, or json (one object per line).
    #[arg(long, env = "GRACE_LOG_FORMAT", value_name = "text|json", default_value = "text",
          value_parser = Format::parse)]
    log_format: Format,

    /// More logs: -v debug (each signal and reaped pid), -vv trace.
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,

    /// Fewer logs: -q warnings and errors only, -qq errors only.
    #[arg(short, long, action = ArgAction::Count)]
    quiet: u8,

    /// The command to run, and its arguments (passed through untouched);
    /// ':::' (see --separator) begins another command.
    #[arg(value_name = "COMMAND", required = true, trailing_var_arg = true, num_args = 1..)]
    command: Vec<OsString>,
}

/// Parses `--forward-to`. (Hand-written value parsers instead of clap's
/// `ValueEnum` and `BoolishValueParser`: some 30 KB less in the binary.)
fn parse_target(text: &str) -> Result<Target, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "group" => Ok(Target::Group),
        "child" => Ok(Target::Child),
        _ => Err("expected group or child".to_owned()),
    }
}

impl Cli {
    /// grace's own command line and environment, parsed.
    ///
    /// The usual form, `grace -- COMMAND...` or `grace COMMAND...` with no
    /// option and no `GRACE_*` variable set (an image's
    /// `ENTRYPOINT ["/grace", "--"]`), is read without clap: building,
    /// matching and dropping clap's command took 260 µs of grace's start-up
    /// here (musl's allocator maps and unmaps some 20 times for it), more
    /// than all the rest of grace's start-up. Everything else goes to clap.
    /// The test `the_usual_form_reads_as_clap_reads_it` keeps the two in step.
    pub fn from_env() -> Result<Cli, clap::Error> {
        let args: Vec<OsString> = std::env::args_os().collect();
        // Every option's variable starts so (a test checks); any such
        // variable, even one grace does not read, goes to clap.
        let configured =
            std::env::vars_os().any(|(name, _)| name.as_bytes().starts_with(b"GRACE_"));
        match Cli::usual(&args, configured) {
            Some(cli) => Ok(cli),
            None => Cli::try_parse_from(args),
        }
    }

    /// The usual form with every option at its default, if `args` (with
    /// grace's own name first) is that form and nothing is `configured`.
    fn usual(args: &[OsString], configured: bool) -> Option<Cli> {
        if configured {
            return None;
        }
        let first = args.get(1)?.as_bytes();
        let command = if first == b"--" {
            args.get(2..)?
        } else if first.starts_with(b"-") {
            return None;
        } else {
            &args[1..]
        };
        if command.is_empty() {
            return None;
        }
        Some(Cli {
            grace_period: Duration::from_secs(8),
            stop_delay: Duration::ZERO,
            forward_to: Target::Group,
            stop_signal: None,
            map_signal: Vec::new(),
            clean_stop_exit_zero: false,
            exit_code_map: Vec::new(),
            parent_death_stop: false,
            keep_going: false,
            separator: OsString::from(":::"),
            log_level: None,
            log_format: Format::Text,
            verbose: 0,
            quiet: 0,
            command: command.to_vec(),
        })
    }

    /// The log level from -v/-q, else `--log-level`/`GRACE_LOG`, else info.
    #[must_use]
    pub fn log_level(&self) -> Level {
        match (self.verbose, self.quiet) {
            (0, 0) => self.log_level.unwrap_or(Level::Info),
            (1, _) => Level::Debug,
            (v, _) if v > 1 => Level::Trace,
            (_, 1) => Level::Warn,
            _ => Level::Error,
        }
    }

    /// The log format.
    #[must_use]
    pub fn log_format(&self) -> Format {
        self.log_format
    }

    /// Validates the combination and builds the configuration.
    pub fn into_config(self) -> Result<Config, String> {
        let mut commands = split_commands(&self.command, &self.separator)?.into_iter();
        let first = commands.next().ok_or("a COMMAND is required")?;
        Ok(Config::new(
            first.program,
            first.args,
            self.grace_period,
            self.stop_delay,
        )?
        .with_more_commands(commands.collect())
        .with_keep_going(self.keep_going)
        .with_forward_to(self.forward_to)
        .with_signals(SignalMap {
            stop_signal: self.stop_signal,
            rules: self.map_signal,
        })
        .with_exit(ExitPolicy {
            clean_stop_zero: self.clean_stop_exit_zero,
            map: self.exit_code_map,
        })
        .with_parent_death_stop(self.parent_death_stop))
    }
}

/// Splits the arguments into commands at each standalone `separator`.
/// An empty command (the separator first, last, or twice in a row) is a
/// usage error, as is an empty separator.
fn split_commands(words: &[OsString], separator: &OsString) -> Result<Vec<Command>, String> {
    if separator.is_empty() {
        return Err("--separator must not be empty".to_owned());
    }
    let sep = separator.display();
    let mut commands = Vec::new();
    for (n, words) in words.split(|w| w == separator).enumerate() {
        let Some((program, args)) = words.split_first() else {
            return Err(format!(
                "command {} is empty: '{sep}' separates two commands, it cannot come first, last or twice in a row",
                n + 1
            ));
        };
        commands.push(Command {
            program: program.clone(),
            args: args.to_vec(),
        });
    }
    Ok(commands)
}

/// Parses a boolean from the environment: 1/0, true/false, yes/no, on/off.
fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!(
            "'{text}' is not a boolean (true/false, 1/0, yes/no, on/off)"
        )),
    }
}

/// Turns a clap error into one line: clap prints a paragraph, a usage block
/// and a hint; a container log wants the first paragraph, joined.
#[must_use]
pub fn one_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let first: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let joined = first.join(" ");
    let message = joined.strip_prefix("error: ").unwrap_or(&joined);
    format!("{message} (see 'grace --help')")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("grace").chain(args.iter().copied()))
    }

    fn command(cli: &Cli) -> Vec<&str> {
        cli.command
            .iter()
            .map(|s| s.to_str().expect("utf-8 in test"))
            .collect()
    }

    #[test]
    fn the_usual_form_reads_as_clap_reads_it() {
        for args in [
            &["--", "app", "-v", "--grace-period", "1s"][..],
            &["app", "arg"],
            &["--", "a", ":::", "b"],
            &["--", "--"],
            &["--", "-"],
            &[""],
            &[":::", "x"],
        ] {
            let argv: Vec<OsString> = std::iter::once("grace")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect();
            let usual = Cli::usual(&argv, false).expect("the usual form");
            let clap = Cli::try_parse_from(&argv).expect("parses");
            assert_eq!(format!("{usual:?}"), format!("{clap:?}"), "{args:?}");
            assert!(Cli::usual(&argv, true).is_none(), "configured: clap's");
        }
        for args in [
            &["-v", "app"][..],
            &["--grace-period", "3", "app"],
            &["--"],
            &[],
            &["-", "app"],
        ] {
            let argv: Vec<OsString> = std::iter::once("grace")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect();
            assert!(Cli::usual(&argv, false).is_none(), "{args:?}: clap's");
        }
    }

    #[test]
    fn every_option_reads_a_grace_variable() {
        use clap::CommandFactory as _;
        for arg in Cli::command().get_arguments() {
            let id = arg.get_id().as_str();
            if ["command", "verbose", "quiet", "help", "version"].contains(&id) {
                continue;
            }
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            assert!(
                env.as_deref().is_some_and(|e| e.starts_with("GRACE_")),
                "{id}: {env:?}"
            );
        }
    }

    #[test]
    fn child_flags_pass_through_with_or_without_dashes() {
        let cli = parse(&["sh", "-c", "echo $1", "sh", "-v"]).expect("parses");
        assert_eq!(command(&cli), ["sh", "-c", "echo $1", "sh", "-v"]);
        assert_eq!(cli.verbose, 0, "-v after COMMAND is the child's");
        let cli = parse(&["-v", "--", "app", "--grace-period", "1s"]).expect("parses");
        assert_eq!(command(&cli), ["app", "--grace-period", "1s"]);
        assert_eq!(cli.grace_period, Duration::from_secs(8));
        assert_eq!(cli.verbose, 1);
    }

    #[test]
    fn grace_flags_before_the_command() {
        let cli = parse(&[
            "--grace-period",
            "1m30s",
            "--stop-delay=5",
            "--forward-to",
            "child",
            "app",
        ])
        .expect("parses");
        let cfg = cli.into_config().expect("valid");
        assert_eq!(cfg.grace(), Duration::from_secs(90));
        assert_eq!(cfg.stop_delay(), Duration::from_secs(5));
        assert_eq!(cfg.forward_to(), Target::Child);
        assert_eq!(cfg.commands().len(), 1);
        assert_eq!(cfg.commands()[0].program, "app");
        assert!(cfg.commands()[0].args.is_empty());
        assert!(!cfg.keep_going());
    }

    #[test]
    fn usage_errors() {
        for args in [
            &["--no-such-flag", "--", "app"][..],
            &["--grace-period", "banana", "app"],
            // A Duration, but no deadline: std's Instant + Duration panics.
            &["--grace-period", "18446744073709551615", "app"],
            &[],
            &["--forward-to", "everyone", "app"],
            &["--map-signal", "TERM", "app"],
            &["--stop-signal", "SIGFOO", "app"],
            &["--exit-code-map", "143:300", "app"],
            &["-v", "-q", "app"],
        ] {
            let err = parse(args).expect_err("must be a usage error");
            assert!(err.use_stderr(), "{args:?}");
            let line = one_line(&err);
            assert!(!line.contains('\n'), "{line}");
        }
        let err = parse(&["--grace-period", "banana", "app"]).expect_err("usage error");
        let line = one_line(&err);
        assert!(
            line.contains("--grace-period") && line.contains("banana"),
            "{line}"
        );
        let err = parse(&[]).expect_err("usage error");
        assert!(one_line(&err).contains("<COMMAND>"), "{}", one_line(&err));
    }

    fn programs(cfg: &Config) -> Vec<Vec<&str>> {
        cfg.commands()
            .iter()
            .map(|c| {
                std::iter::once(&c.program)
                    .chain(&c.args)
                    .map(|s| s.to_str().expect("utf-8 in test"))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn several_commands() {
        let cli = parse(&[
            "--keep-going",
            "--",
            "nginx",
            "-g",
            "daemon off;",
            ":::",
            "php-fpm",
            "-F",
            ":::",
            "true",
        ])
        .expect("parses");
        let cfg = cli.into_config().expect("valid");
        assert_eq!(
            programs(&cfg),
            [
                vec!["nginx", "-g", "daemon off;"],
                vec!["php-fpm", "-F"],
                vec!["true"]
            ]
        );
        assert!(cfg.keep_going());
        // Only a standalone separator splits.
        let cfg = parse(&["echo", "a:::b", "::::", "::: "])
            .expect("parses")
            .into_config()
            .expect("valid");
        assert_eq!(programs(&cfg), [vec!["echo", "a:::b", "::::", "::: "]]);
        // Another token frees ':::' for the app.
        let cfg = parse(&["--separator", "+++", "echo", ":::", "+++", "true"])
            .expect("parses")
            .into_config()
            .expect("valid");
        assert_eq!(programs(&cfg), [vec!["echo", ":::"], vec!["true"]]);
    }

    #[test]
    fn empty_commands_are_usage_errors() {
        for (args, n) in [
            (&["--", ":::", "app"][..], 1),
            (&["app", ":::"], 2),
            (&["app", ":::", ":::", "b"], 2),
            (&[":::"], 1),
        ] {
            let err = parse(args)
                .expect("parses")
                .into_config()
                .expect_err("an empty command");
            assert!(
                err.starts_with(&format!("command {n} is empty")) && !err.contains('\n'),
                "{args:?}: {err}"
            );
        }
        let err = parse(&["--separator", "", "app"])
            .expect("parses")
            .into_config()
            .expect_err("an empty separator");
        assert!(err.contains("--separator"), "{err}");
    }

    #[test]
    fn stop_delay_must_fit_in_the_grace_period() {
        let cli = parse(&["--grace-period", "5s", "--stop-delay", "5s", "app"]).expect("parses");
        assert!(cli.into_config().is_err());
        let cli = parse(&["--grace-period", "0", "app"]).expect("parses");
        assert!(cli.into_config().is_ok(), "no delay fits any period");
    }

    #[test]
    fn repeatable_maps() {
        let cli = parse(&[
            "--map-signal",
            "TERM:QUIT",
            "--map-signal",
            "USR1:none",
            "--exit-code-map",
            "143:0",
            "app",
        ])
        .expect("parses");
        let cfg = cli.into_config().expect("valid");
        assert_eq!(cfg.signals().map(Signal::TERM), Some(Signal::QUIT));
        assert_eq!(cfg.signals().map(Signal::USR1), None);
        assert_eq!(cfg.exit().map, vec![(143, 0)]);
    }

    #[test]
    fn help_and_version_are_not_errors() {
        for flag in ["--help", "--version", "-h", "-V"] {
            let err = parse(&[flag]).expect_err("clap reports help as an error kind");
            assert!(!err.use_stderr(), "{flag}");
        }
    }

    #[test]
    fn booleans_from_the_environment() {
        for t in ["1", "true", "YES", "on"] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for t in ["0", "false", "No", "off", ""] {
            assert_eq!(parse_bool(t), Ok(false), "{t}");
        }
        assert!(parse_bool("maybe").is_err());
        let cli = parse(&["--clean-stop-exit-zero", "--parent-death-stop", "app"]).expect("parses");
        let cfg = cli.into_config().expect("valid");
        assert!(cfg.exit().clean_stop_zero && cfg.parent_death_stop());
    }

    #[test]
    fn verbosity() {
        assert_eq!(parse(&["app"]).expect("parses").log_level(), Level::Info);
        assert_eq!(
            parse(&["-v", "app"]).expect("parses").log_level(),
            Level::Debug
        );
        assert_eq!(
            parse(&["-vv", "app"]).expect("parses").log_level(),
            Level::Trace
        );
        assert_eq!(
            parse(&["-q", "app"]).expect("parses").log_level(),
            Level::Warn
        );
        assert_eq!(
            parse(&["-qq", "app"]).expect("parses").log_level(),
            Level::Error
        );
        assert_eq!(
            parse(&["--log-level", "debug", "app"])
                .expect("parses")
                .log_level(),
            Level::Debug
        );
    }
}
