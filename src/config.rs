//! What grace will do, validated: built from the command line by `cli`
//! through [`Config::new`], which checks what the deadlines rely on, and
//! read by the supervisor and the machine. Also the parsers for durations
//! and signal maps, which the command line and the environment share.

use std::ffi::OsString;
use std::time::Duration;

use crate::exit::ExitPolicy;
use crate::signals::Signal;

/// Where forwarded signals and the stop go (`--forward-to`): a target,
/// where [`crate::machine::Action::Forward`] is the verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The child's whole process group (the default).
    Group,
    /// The child alone.
    Child,
}

/// One command to run: a program and its arguments, passed through untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub program: OsString,
    pub args: Vec<OsString>,
}

/// The validated configuration of one run. Built only by [`Config::new`],
/// which checks the durations, and read through its accessors: no other
/// module can make one that breaks them.
#[derive(Clone, Debug)]
pub struct Config {
    /// The commands, in command-line order: never empty.
    commands: Vec<Command>,
    /// When one command exits, the others keep running (`--keep-going`).
    keep_going: bool,
    /// The whole budget from the first stop signal to SIGKILL.
    grace: Duration,
    /// How long the app keeps running after a stop signal before it is told.
    stop_delay: Duration,
    /// Where forwarded signals and the stop go.
    forward_to: Target,
    signals: SignalMap,
    exit: ExitPolicy,
    /// Stop when grace's parent dies (`PR_SET_PDEATHSIG`).
    parent_death_stop: bool,
}

impl Config {
    /// A configuration to run `program` with `args`, forwarding to the
    /// group, with the default signal map and exit policy; the `with_*`
    /// methods change those.
    ///
    /// Checks what every deadline relies on: both durations are at most
    /// [`MAX_DURATION`], and a stop delay is shorter than the grace period
    /// (the delay is part of it, so a stop delay never extends it).
    pub fn new(
        program: OsString,
        args: Vec<OsString>,
        grace: Duration,
        stop_delay: Duration,
    ) -> Result<Config, String> {
        if grace > MAX_DURATION || stop_delay > MAX_DURATION {
            return Err("durations are at most 100 years".to_owned());
        }
        if !stop_delay.is_zero() && stop_delay >= grace {
            return Err(format!(
                "--stop-delay ({}ms) must be shorter than --grace-period ({}ms): the delay is part of the grace period",
                stop_delay.as_millis(),
                grace.as_millis()
            ));
        }
        Ok(Config {
            commands: vec![Command { program, args }],
            keep_going: false,
            grace,
            stop_delay,
            forward_to: Target::Group,
            signals: SignalMap::default(),
            exit: ExitPolicy::default(),
            parent_death_stop: false,
        })
    }

    /// Where forwarded signals and the stop go.
    #[must_use]
    pub fn with_forward_to(mut self, target: Target) -> Config {
        self.forward_to = target;
        self
    }

    /// The rewrites of received signals and the stop signal.
    #[must_use]
    pub fn with_signals(mut self, signals: SignalMap) -> Config {
        self.signals = signals;
        self
    }

    /// How the exit code is rewritten.
    #[must_use]
    pub fn with_exit(mut self, exit: ExitPolicy) -> Config {
        self.exit = exit;
        self
    }

    /// Whether grace stops when its parent dies.
    #[must_use]
    pub fn with_parent_death_stop(mut self, on: bool) -> Config {
        self.parent_death_stop = on;
        self
    }

    /// Runs `more` too, after the first command, each in its own group.
    #[must_use]
    pub fn with_more_commands(mut self, more: Vec<Command>) -> Config {
        self.commands.extend(more);
        self
    }

    /// Whether the other commands keep running when one exits.
    #[must_use]
    pub fn with_keep_going(mut self, on: bool) -> Config {
        self.keep_going = on;
        self
    }

    /// The commands, in command-line order; at least one.
    #[must_use]
    pub fn commands(&self) -> &[Command] {
        &self.commands
    }

    /// Whether the other commands keep running when one exits.
    #[must_use]
    pub fn keep_going(&self) -> bool {
        self.keep_going
    }

    /// The whole budget from the first stop signal to SIGKILL.
    #[must_use]
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// How long the app keeps running after a stop signal before it is
    /// told; shorter than [`Config::grace`], or zero.
    #[must_use]
    pub fn stop_delay(&self) -> Duration {
        self.stop_delay
    }

    /// Where forwarded signals and the stop go.
    #[must_use]
    pub fn forward_to(&self) -> Target {
        self.forward_to
    }

    /// The signal map.
    #[must_use]
    pub fn signals(&self) -> &SignalMap {
        &self.signals
    }

    /// The exit policy.
    #[must_use]
    pub fn exit(&self) -> &ExitPolicy {
        &self.exit
    }

    /// Stop when grace's parent dies (`PR_SET_PDEATHSIG`).
    #[must_use]
    pub fn parent_death_stop(&self) -> bool {
        self.parent_death_stop
    }
}

/// Rewrites of received signals before they are forwarded, and which
/// received signals begin a stop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignalMap {
    /// What the app receives when a stop begins (`--stop-signal`).
    pub stop_signal: Option<Signal>,
    /// Explicit `FROM:TO` rewrites; `None` drops the signal.
    pub rules: Vec<(Signal, Option<Signal>)>,
}

impl SignalMap {
    /// What to forward when `received` arrives; `None` means drop it.
    #[must_use]
    pub fn map(&self, received: Signal) -> Option<Signal> {
        if let Some((_, to)) = self.rules.iter().rev().find(|(from, _)| *from == received) {
            return *to;
        }
        match self.stop_signal {
            Some(stop) if received == Signal::TERM || received == Signal::INT => Some(stop),
            _ => Some(received),
        }
    }

    /// Whether `received` begins a stop: TERM, INT, or the configured stop
    /// signal itself (so an image whose STOPSIGNAL is QUIT still stops), unless
    /// a rule drops it.
    #[must_use]
    pub fn is_stop(&self, received: Signal) -> bool {
        let trigger = received == Signal::TERM
            || received == Signal::INT
            || self.stop_signal == Some(received);
        trigger && self.map(received).is_some()
    }

    /// The signal sent to processes that are told to stop without a received
    /// signal of their own (the drain after the main child exits).
    #[must_use]
    pub fn drain_signal(&self) -> Signal {
        self.map(Signal::TERM).unwrap_or(Signal::TERM)
    }
}

/// Parses `FROM:TO`; `TO` may be `0` or `none` to drop the signal.
pub fn parse_signal_rule(text: &str) -> Result<(Signal, Option<Signal>), String> {
    let (from, to) = text
        .split_once(':')
        .ok_or_else(|| format!("'{text}' is not FROM:TO"))?;
    let from = Signal::parse(from)?;
    // A rule that could never apply is refused, not accepted and ignored.
    if from == Signal::KILL || from == Signal::STOP {
        return Err(format!(
            "'{text}': {from} cannot be caught, so it never reaches grace"
        ));
    }
    if !from.is_forwardable() {
        return Err(format!(
            "'{text}': grace never forwards {from} (see the signal table in the README)"
        ));
    }
    let to = match to.trim() {
        "0" => None,
        t if t.eq_ignore_ascii_case("none") => None,
        t => Some(Signal::parse(t)?),
    };
    Ok((from, to))
}

/// The longest duration grace accepts: 100 years. Deadlines are `now +
/// duration` on the monotonic clock, which has no room for the u64
/// seconds a `Duration` can hold (std's `Instant + Duration` panics there);
/// bounded here, no deadline can overflow.
pub const MAX_DURATION: Duration = Duration::from_hours(100 * 365 * 24);

/// Parses `500ms`, `8s`, `2m`, `1m30s`, `1h`, `1.5s`; a bare number is
/// seconds, like Kubernetes' `terminationGracePeriodSeconds`. At most
/// [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("invalid duration '{text}' (e.g. 500ms, 8s, 2m, 1m30s; at most 100 years)");
    let t = text.trim();
    let mut nanos: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            // A bare number is seconds, but only on its own: `1m30` is a typo.
            "" if rest.len() == t.len() => 1_000_000_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        nanos = nanos
            .checked_add(decimal_times(number, scale).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        rest = next;
    }
    if t.is_empty() {
        return Err(bad());
    }
    if nanos > MAX_DURATION.as_nanos() {
        return Err(bad());
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| bad())?;
    let sub = u32::try_from(nanos % 1_000_000_000).map_err(|_| bad())?;
    Ok(Duration::new(secs, sub))
}

/// `number` (digits, at most one `.`) times `scale`, in integers: no float
/// code in the binary, and no rounding surprises. Digits past nanoseconds
/// are dropped.
fn decimal_times(number: &str, scale: u128) -> Option<u128> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() || frac.contains('.') {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut total = whole.checked_mul(scale)?;
    let mut place = scale;
    for digit in frac.bytes() {
        place /= 10;
        total += u128::from(digit - b'0') * place;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(s: &str) -> Signal {
        Signal::parse(s).expect("valid signal in test")
    }

    #[test]
    fn the_constructor_keeps_the_delay_inside_the_grace_period() {
        let new = |grace, delay| Config::new("app".into(), vec![], grace, delay);
        let s = Duration::from_secs;
        assert!(new(s(8), s(0)).is_ok());
        assert!(new(s(8), s(7)).is_ok());
        assert!(
            new(Duration::ZERO, Duration::ZERO).is_ok(),
            "no delay fits any period"
        );
        assert!(new(s(8), s(8)).is_err(), "the delay is part of the period");
        assert!(new(s(8), s(9)).is_err());
        assert!(new(MAX_DURATION, s(1)).is_ok());
        assert!(
            new(MAX_DURATION + s(1), s(1)).is_err(),
            "no deadline past the bound"
        );
        assert!(new(s(8), MAX_DURATION + s(1)).is_err());
    }

    #[test]
    fn durations() {
        for (text, ms) in [
            ("500ms", 500),
            ("8s", 8000),
            ("8", 8000),
            ("0", 0),
            ("0s", 0),
            ("1.5", 1500),
            ("1.5s", 1500),
            ("2m", 120_000),
            ("1m30s", 90_000),
            ("1h", 3_600_000),
            ("1h1m1s1ms", 3_661_001),
            (" 30s ", 30_000),
            (".5s", 500),
            ("0.001", 1),
            ("1.0000000001s", 1000),
            ("876000h", 3_153_600_000_000),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        for bad in [
            "",
            "banana",
            "5x",
            "s",
            "-1",
            "1 s",
            "1.2.3s",
            "ms5",
            "nan",
            "inf",
            "1e400",
            "1m30",
            ".",
            "99999999999999999999999h",
            // Fits a Duration, not a deadline: no more than 100 years.
            "18446744073709551615",
            "876601h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signal_rules() {
        assert_eq!(
            parse_signal_rule("TERM:QUIT"),
            Ok((sig("TERM"), Some(sig("QUIT"))))
        );
        assert_eq!(parse_signal_rule("sigusr1:none"), Ok((sig("USR1"), None)));
        assert_eq!(parse_signal_rule("HUP:0"), Ok((sig("HUP"), None)));
        assert_eq!(
            parse_signal_rule("RTMIN+3:15"),
            Ok((sig("RTMIN+3"), Some(sig("TERM"))))
        );
        for bad in ["TERM", "TERM:", ":QUIT", "FOO:QUIT", "TERM:BAR"] {
            assert!(parse_signal_rule(bad).is_err(), "{bad}");
        }
        // Signals grace cannot take in, or never forwards: refused, naming
        // the rule.
        for bad in [
            "KILL:TERM",
            "STOP:TERM",
            "TTIN:TERM",
            "TTOU:HUP",
            "CHLD:HUP",
            "32:TERM",
        ] {
            let err = parse_signal_rule(bad).expect_err(bad);
            assert!(err.contains(bad), "{err}");
            let uncatchable = bad.starts_with("KILL") || bad.starts_with("STOP");
            assert_eq!(err.contains("cannot be caught"), uncatchable, "{err}");
        }
        // Every other signal works, the faults included.
        for good in ["SYS:HUP", "SEGV:USR1", "PIPE:none", "TERM:KILL"] {
            assert!(parse_signal_rule(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn mapping_and_stop_triggers() {
        let plain = SignalMap::default();
        assert_eq!(plain.map(sig("HUP")), Some(sig("HUP")));
        assert!(plain.is_stop(sig("TERM")) && plain.is_stop(sig("INT")));
        assert!(!plain.is_stop(sig("QUIT")) && !plain.is_stop(sig("HUP")));
        assert_eq!(plain.drain_signal(), sig("TERM"));

        let nginx = SignalMap {
            stop_signal: Some(sig("QUIT")),
            rules: vec![],
        };
        assert_eq!(nginx.map(sig("TERM")), Some(sig("QUIT")));
        assert_eq!(nginx.map(sig("INT")), Some(sig("QUIT")));
        assert_eq!(
            nginx.map(sig("HUP")),
            Some(sig("HUP")),
            "only the stop signals"
        );
        assert!(
            nginx.is_stop(sig("QUIT")),
            "STOPSIGNAL QUIT images still stop"
        );
        assert_eq!(nginx.drain_signal(), sig("QUIT"));

        let rules = SignalMap {
            stop_signal: Some(sig("QUIT")),
            rules: vec![
                (sig("INT"), None),
                (sig("TERM"), Some(sig("WINCH"))),
                (sig("USR1"), Some(sig("HUP"))),
            ],
        };
        assert_eq!(
            rules.map(sig("TERM")),
            Some(sig("WINCH")),
            "an explicit rule beats --stop-signal"
        );
        assert_eq!(rules.map(sig("INT")), None);
        assert!(
            !rules.is_stop(sig("INT")),
            "a dropped signal starts nothing"
        );
        assert!(rules.is_stop(sig("TERM")));
        assert_eq!(rules.map(sig("USR1")), Some(sig("HUP")));
        assert!(
            !rules.is_stop(sig("USR1")),
            "only the received signal decides"
        );
        assert_eq!(rules.drain_signal(), sig("WINCH"));

        let last_wins = SignalMap {
            stop_signal: None,
            rules: vec![(sig("HUP"), None), (sig("HUP"), Some(sig("USR2")))],
        };
        assert_eq!(last_wins.map(sig("HUP")), Some(sig("USR2")));
    }
}
