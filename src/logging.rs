//! Log output: one line per tracing event on stderr, as text or JSON.
//!
//! stdout and stderr belong to the app; grace writes only to stderr, only
//! through here, and each line in a single write(2) so that it does not
//! interleave with the app's output mid-line. No timestamps: the runtime
//! adds them. A small subscriber of our own ([`Lines`]) instead of
//! tracing-subscriber keeps the static binary small. The stop's own lines
//! skip tracing altogether ([`line()`]): they lie on the path between the
//! app's exit and grace's.
//!
//! Writing never blocks and never signals: a log reader that stalls (a
//! full pipe nobody drains, a stuck log driver, a terminal stopped with
//! Ctrl-S) must not hold up the loop that forwards, reaps and kills, and a
//! reader that is gone must not raise a SIGPIPE that reaches the app. The
//! app shares stderr's open file description, so grace cannot set
//! `O_NONBLOCK` on it; see [`Sink`] for how each kind of stderr is written
//! instead. A line that cannot be written now is dropped and counted
//! ([`dropped`]); the shutdown report carries the count.

use std::fmt::{self, Write as _};
use std::io;
use std::os::fd::{AsFd as _, AsRawFd as _, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::{Mode, SFlag, fstat};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Metadata, Subscriber};

use crate::sys;

/// How verbose grace is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// How each line is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `grace: message key=value ...`
    Text,
    /// One JSON object per line: `{"logger":"grace","level":"info","message":..}`.
    Json,
}

impl Level {
    /// Parses `off`, `error`, `warn`, `info`, `debug`, `trace` (any case).
    pub fn parse(text: &str) -> Result<Level, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Level::Off),
            "error" => Ok(Level::Error),
            "warn" | "warning" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            "debug" => Ok(Level::Debug),
            "trace" => Ok(Level::Trace),
            _ => Err("expected off, error, warn, info, debug or trace".to_owned()),
        }
    }
}

impl Format {
    /// Parses `text` or `json` (any case).
    pub fn parse(text: &str) -> Result<Format, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            _ => Err("expected text or json".to_owned()),
        }
    }
}

/// Installs the global subscriber. Failure (a subscriber already set) only
/// means no logs, never a reason to stop supervising.
pub fn init(level: Level, format: Format) {
    let filter = match level {
        Level::Off => LevelFilter::OFF,
        Level::Error => LevelFilter::ERROR,
        Level::Warn => LevelFilter::WARN,
        Level::Info => LevelFilter::INFO,
        Level::Debug => LevelFilter::DEBUG,
        Level::Trace => LevelFilter::TRACE,
    };
    if filter == LevelFilter::OFF {
        return;
    }
    let sink = Sink::open();
    if let Target::Reopened(fd) = &sink.target {
        OWN_FD.store(fd.as_raw_fd(), Ordering::Relaxed);
    }
    let lines = Lines {
        max: filter,
        format,
        sink,
        bufs: Mutex::new(Bufs::with_room()),
    };
    if LOG.set(lines).is_ok() {
        let _ = tracing::subscriber::set_global_default(Global);
    }
}

/// The logger [`init`] set up, for tracing's events and for [`line()`].
static LOG: OnceLock<Lines> = OnceLock::new();

/// A value of a field of [`line()`].
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    Str(&'a str),
    Num(u64),
    Int(i64),
    Bool(bool),
    /// Written as it is, unquoted in JSON too (a number already rendered).
    Bare(&'a str),
    /// Left out of the line: a count grace could not know is never
    /// written as 0.
    Absent,
}

impl From<usize> for Value<'_> {
    fn from(n: usize) -> Self {
        Value::Num(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

impl From<Option<usize>> for Value<'_> {
    fn from(n: Option<usize>) -> Self {
        n.map_or(Value::Absent, Value::from)
    }
}

/// Writes one line as the subscriber writes an event with the same
/// message and fields, without tracing's dispatch and `core::fmt`. For
/// the stop's two lines, which lie on the path between the app's exit and
/// grace's: measured there, written through tracing they made grace's
/// stop some 20 µs (6%) slower than tini's, and written here they cost
/// what `-qq` (no lines at all) costs, within the noise.
pub fn line(level: tracing::Level, message: &str, fields: &[(&str, Value<'_>)]) {
    let Some(log) = LOG.get().filter(|log| level <= log.max) else {
        return;
    };
    log.write_with(|format, bufs| render_line(format, level, message, fields, bufs));
}

/// Renders [`line()`]'s line into `bufs.line`.
fn render_line(
    format: Format,
    level: tracing::Level,
    message: &str,
    fields: &[(&str, Value<'_>)],
    bufs: &mut Bufs,
) {
    let mut rendered = Fields::new(format, bufs);
    rendered.message.push_str(message);
    for &(key, value) in fields {
        rendered.value(key, value);
    }
    rendered.finish(level, bufs);
}

/// Lines dropped because stderr could not take them at once.
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// The descriptor logging opened for itself, or -1.
static OWN_FD: AtomicI32 = AtomicI32::new(-1);

/// How many log lines were dropped so far.
#[must_use]
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// The descriptor logging keeps open of its own, if any: the one that
/// closing the inherited descriptors must spare.
#[must_use]
pub fn own_fd() -> Option<RawFd> {
    Some(OWN_FD.load(Ordering::Relaxed)).filter(|fd| *fd >= 0)
}

/// The subscriber: each event at `max` or below becomes one line. grace
/// logs events only, never spans, so it needs neither the span store of
/// tracing-subscriber's registry (some 20 KB of the static binary) nor its
/// layers and level filter (some 300 bytes more, measured when the stop's
/// look needed them).
struct Lines {
    max: LevelFilter,
    format: Format,
    sink: Sink,
    /// Where lines are rendered, kept from one line to the next: no
    /// allocation per line. Under musl's allocator a line's three fresh
    /// strings could cost an `mmap` and a `munmap` each time, on the
    /// stop's path between the app's exit and grace's.
    bufs: Mutex<Bufs>,
}

impl Lines {
    /// Renders a line with `render` into the kept buffers and writes it.
    fn write_with(&self, render: impl FnOnce(Format, &mut Bufs)) {
        // grace has one thread and logs nothing while rendering, so the
        // lock is always free; were it not, fresh buffers do.
        let mut fresh = Bufs::default();
        let mut held = self.bufs.try_lock();
        let bufs = match held.as_deref_mut() {
            Ok(bufs) => bufs,
            Err(_) => &mut fresh,
        };
        render(self.format, bufs);
        if !self.sink.write(bufs.line.as_bytes()) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// tracing's global subscriber: every event goes to [`LOG`].
struct Global;

impl Subscriber for Global {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        LOG.get().is_some_and(|log| *meta.level() <= log.max)
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        LOG.get().map(|log| log.max)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &Event<'_>) {
        if let Some(log) = LOG.get() {
            log.write_with(|format, bufs| render_into(format, event, bufs));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A line's buffers: its message, its other fields, the line itself, and
/// room to format a `%value` field in before it is quoted or not.
#[derive(Default)]
struct Bufs {
    message: String,
    rest: String,
    line: String,
    value: String,
}

impl Bufs {
    /// Room for grace's longest lines (the shutdown report is some 350
    /// bytes), allocated once.
    fn with_room() -> Bufs {
        Bufs {
            message: String::with_capacity(256),
            rest: String::with_capacity(512),
            line: String::with_capacity(1024),
            value: String::with_capacity(256),
        }
    }
}

/// stderr, written so that grace never waits for its reader.
///
/// - A pipe, FIFO or terminal is opened again through `/proc/self/fd/2`:
///   a new open file description of the same pipe or terminal, of grace's
///   alone, which can be non-blocking while the app's stays as it was.
///   Where that open is refused (no /proc, or a pipe another user made),
///   grace writes to fd 2 only when `poll` says it can take a line now;
///   a line up to a page long then fits without waiting, unless the app
///   fills the pipe in the microseconds between the two calls.
/// - A socket (journald's stream, a log driver's) is written with
///   `send(MSG_DONTWAIT | MSG_NOSIGNAL)`: non-blocking for that call only,
///   and without SIGPIPE.
/// - A regular file, `/dev/null` and the rest take writes without waiting
///   for a reader: written as they are.
///
/// A pipe whose reader is gone (EPIPE) is not written again: each write
/// would raise another SIGPIPE on grace (grace drops those, see
/// `signals`), for lines nobody reads.
struct Sink {
    target: Target,
    broken: AtomicBool,
}

enum Target {
    Plain,
    Reopened(OwnedFd),
    Polled,
    Socket,
}

impl Sink {
    fn open() -> Sink {
        let stderr = io::stderr();
        let target = match fstat(stderr.as_fd()) {
            Ok(st) => {
                let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
                let terminal =
                    kind == SFlag::S_IFCHR && nix::unistd::isatty(stderr.as_fd()) == Ok(true);
                if kind == SFlag::S_IFSOCK {
                    Target::Socket
                } else if kind == SFlag::S_IFIFO || terminal {
                    open(
                        "/proc/self/fd/2",
                        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
                        Mode::empty(),
                    )
                    .map_or(Target::Polled, Target::Reopened)
                } else {
                    Target::Plain
                }
            }
            Err(_) => Target::Plain,
        };
        Sink {
            target,
            broken: AtomicBool::new(false),
        }
    }

    /// Writes one line whole, or drops it: `false` when any of it was lost.
    fn write(&self, line: &[u8]) -> bool {
        if self.broken.load(Ordering::Relaxed) {
            return false;
        }
        let stderr = io::stderr();
        let fd: BorrowedFd<'_> = match &self.target {
            Target::Reopened(fd) => fd.as_fd(),
            _ => stderr.as_fd(),
        };
        let mut rest = line;
        while !rest.is_empty() {
            if matches!(self.target, Target::Polled) && !sys::writable_now(fd) {
                return false;
            }
            let written = match self.target {
                Target::Socket => sys::send_nonblocking(fd, rest),
                _ => nix::unistd::write(fd, rest),
            };
            match written {
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(Errno::EINTR) => {}
                Err(Errno::EPIPE) => {
                    self.broken.store(true, Ordering::Relaxed);
                    return false;
                }
                Err(_) => return false,
            }
        }
        true
    }
}

#[cfg(test)]
fn render(format: Format, event: &Event<'_>) -> String {
    let mut bufs = Bufs::default();
    render_into(format, event, &mut bufs);
    bufs.line
}

/// Renders `event` into `bufs.line`, reusing the buffers' room.
fn render_into(format: Format, event: &Event<'_>, bufs: &mut Bufs) {
    let mut fields = Fields::new(format, bufs);
    event.record(&mut fields);
    fields.finish(*event.metadata().level(), bufs);
}

/// Collects a line's fields: the message apart, the rest as ` key=value`
/// (text) or `,"key":value` (JSON), in buffers taken from [`Bufs`] and
/// given back by [`Fields::finish`].
struct Fields {
    format: Format,
    message: String,
    rest: String,
    /// Room for one `%value` (see [`Bufs`]).
    value: String,
}

impl Fields {
    fn new(format: Format, bufs: &mut Bufs) -> Fields {
        bufs.message.clear();
        bufs.rest.clear();
        Fields {
            format,
            message: std::mem::take(&mut bufs.message),
            rest: std::mem::take(&mut bufs.rest),
            value: std::mem::take(&mut bufs.value),
        }
    }

    /// Puts the line together in `bufs.line` and gives the buffers back.
    fn finish(self, level: tracing::Level, bufs: &mut Bufs) {
        let line = &mut bufs.line;
        line.clear();
        match self.format {
            Format::Text => {
                let tag = match level {
                    tracing::Level::ERROR | tracing::Level::INFO => "",
                    tracing::Level::WARN => "warning: ",
                    tracing::Level::DEBUG => "debug: ",
                    tracing::Level::TRACE => "trace: ",
                };
                line.push_str("grace: ");
                line.push_str(tag);
                line.push_str(&self.message);
                line.push_str(&self.rest);
            }
            Format::Json => {
                line.push_str("{\"logger\":\"grace\",\"level\":\"");
                line.push_str(&level.as_str().to_ascii_lowercase());
                line.push_str("\",\"message\":");
                json_string(line, &self.message);
                line.push_str(&self.rest);
                line.push('}');
            }
        }
        line.push('\n');
        bufs.message = self.message;
        bufs.rest = self.rest;
        bufs.value = self.value;
    }

    fn key(&mut self, key: &str) {
        match self.format {
            Format::Text => {
                self.rest.push(' ');
                self.rest.push_str(key);
                self.rest.push('=');
            }
            Format::Json => {
                self.rest.push(',');
                json_string(&mut self.rest, key);
                self.rest.push(':');
            }
        }
    }

    /// One field; numbers and booleans bare in both formats, strings
    /// quoted in JSON and in text where they would not read as one word.
    fn value(&mut self, key: &str, value: Value<'_>) {
        match value {
            Value::Absent => {}
            Value::Str(text) => {
                self.key(key);
                match self.format {
                    Format::Json => json_string(&mut self.rest, text),
                    Format::Text
                        if text.is_empty() || text.contains([' ', '"', '=', '\\', '\n']) =>
                    {
                        json_string(&mut self.rest, text);
                    }
                    Format::Text => self.rest.push_str(text),
                }
            }
            bare => {
                self.key(key);
                push_bare(&mut self.rest, bare);
            }
        }
    }

    /// A field of tracing's: the message apart, the rest by [`Fields::value`].
    fn field(&mut self, field: &Field, value: Value<'_>) {
        if field.name() == "message" {
            push_bare(&mut self.message, value);
        } else {
            self.value(field.name(), value);
        }
    }
}

/// Appends `value` as it is, unquoted.
fn push_bare(out: &mut String, value: Value<'_>) {
    match value {
        Value::Str(text) | Value::Bare(text) => out.push_str(text),
        Value::Num(n) => push_decimal(out, n),
        Value::Int(n) => {
            if n < 0 {
                out.push('-');
            }
            push_decimal(out, n.unsigned_abs());
        }
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Absent => {}
    }
}

/// Appends `n` in decimal, without `core::fmt`.
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        let digit = (n % 10) as u8;
        digits[at] = b'0' + digit;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, Value::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, Value::Num(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        // Bare in JSON: the default would quote it through record_debug.
        self.field(field, Value::Bool(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // grace logs no floats; this keeps float formatting (some 20 KB) out
        // of the binary while still printing one sensibly if it ever does.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "whole part of a logged value"
        )]
        let whole = value.trunc() as i64;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "0..1e6"
        )]
        let millionths = (value.fract().abs() * 1e6) as u64;
        let sign = if value < 0.0 && whole == 0 { "-" } else { "" };
        let mut text = std::mem::take(&mut self.value);
        text.clear();
        let _ = write!(text, "{sign}{whole}.{millionths:06}");
        self.field(field, Value::Bare(&text));
        self.value = text;
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, Value::Str(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%x` fields and the message arrive here, already formatted:
        // formatted into the room kept for it, not a new String each (an
        // allocation costs musl's allocator a few µs when its pages are
        // cold, as they are at a stop).
        let mut text = std::mem::take(&mut self.value);
        text.clear();
        let _ = write!(text, "{value:?}");
        self.record_str(field, &text);
        self.value = text;
    }
}

/// Appends `s` as a JSON string literal (RFC 8259 escaping); text lines
/// quote values the same way, so that one event stays one line.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the layer writes for an event with fields of every kind.
    fn rendered(format: Format, emit: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        struct Capture(Arc<Mutex<String>>, Format);
        impl Subscriber for Capture {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
                tracing::span::Id::from_u64(1)
            }
            fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
            fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
            fn event(&self, event: &Event<'_>) {
                if let Ok(mut out) = self.0.lock() {
                    out.push_str(&render(self.1, event));
                }
            }
            fn enter(&self, _: &tracing::span::Id) {}
            fn exit(&self, _: &tracing::span::Id) {}
        }
        let out = Arc::new(Mutex::new(String::new()));
        tracing::subscriber::with_default(Capture(Arc::clone(&out), format), emit);
        out.lock().map(|s| s.clone()).unwrap_or_default()
    }

    #[test]
    fn renders_fields_of_every_kind() {
        let emit = || {
            tracing::warn!(
                n = 3u64,
                i = -2i64,
                f = 1.25,
                g = -0.5,
                z = 0.0,
                b = true,
                s = "a b",
                t = "x",
                "m {}",
                1
            );
        };
        assert_eq!(
            rendered(Format::Text, emit),
            "grace: warning: m 1 n=3 i=-2 f=1.250000 g=-0.500000 z=0.000000 b=true s=\"a b\" t=x\n"
        );
        assert_eq!(
            rendered(Format::Json, emit),
            "{\"logger\":\"grace\",\"level\":\"warn\",\"message\":\"m 1\",\"n\":3,\"i\":-2,\
             \"f\":1.250000,\"g\":-0.500000,\"z\":0.000000,\"b\":true,\"s\":\"a b\",\"t\":\"x\"}\n"
        );
    }

    #[test]
    fn a_direct_line_reads_as_the_same_event_through_tracing() {
        let emit = || {
            tracing::info!(
                event = "shutdown",
                n = 3u64,
                big = u64::MAX,
                i = -2i64,
                least = i64::MIN,
                zero = 0u64,
                nil = 0i64,
                b = true,
                s = "a b",
                e = "",
                t = "x=y",
                "stopped: main child exited with code 0 (SIGTERM)"
            );
        };
        let fields = [
            ("event", Value::Str("shutdown")),
            ("n", Value::Num(3)),
            ("big", Value::Num(u64::MAX)),
            ("i", Value::Int(-2)),
            ("least", Value::Int(i64::MIN)),
            ("zero", Value::Num(0)),
            ("nil", Value::Int(0)),
            ("b", Value::Bool(true)),
            ("gone", Value::Absent),
            ("s", Value::Str("a b")),
            ("e", Value::Str("")),
            ("t", Value::Str("x=y")),
        ];
        for format in [Format::Text, Format::Json] {
            let mut bufs = Bufs::default();
            render_line(
                format,
                tracing::Level::INFO,
                "stopped: main child exited with code 0 (SIGTERM)",
                &fields,
                &mut bufs,
            );
            assert_eq!(bufs.line, rendered(format, emit), "{format:?}");
        }
        let mut bufs = Bufs::default();
        render_line(Format::Text, tracing::Level::INFO, "m", &fields, &mut bufs);
        assert_eq!(
            bufs.line,
            "grace: m event=shutdown n=3 big=18446744073709551615 i=-2 \
             least=-9223372036854775808 zero=0 nil=0 b=true s=\"a b\" e=\"\" t=\"x=y\"\n"
        );
    }

    #[test]
    fn levels_and_formats_parse() {
        for (text, level) in [
            ("off", Level::Off),
            ("error", Level::Error),
            ("warn", Level::Warn),
            ("WARNING", Level::Warn),
            ("info", Level::Info),
            (" Debug ", Level::Debug),
            ("trace", Level::Trace),
        ] {
            assert_eq!(Level::parse(text), Ok(level), "{text}");
        }
        assert!(Level::parse("loud").is_err());
        assert_eq!(Format::parse("JSON"), Ok(Format::Json));
        assert_eq!(Format::parse("text"), Ok(Format::Text));
        assert!(Format::parse("yaml").is_err());
    }

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        json_string(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é""#);
    }
}
