//! Usage limits: telling from an agent's screen that its Claude Code account
//! has run out of usage, and reading from Claude Code's own words when the
//! account may work again. A limited account takes no new task until then, so
//! agent-queue moves the work to another account instead of feeding tasks into
//! a session that can only refuse them. Both halves are pure functions of text
//! (a `capture-pane -p -J` screen, or the `last_assistant_message` of a
//! `StopFailure` hook) and of a given "now", so every rule is tested on the
//! texts Claude Code really shows, across its versions and time zones.
//!
//! The hard part is not matching the words but not matching them when the
//! *model* writes them: a task about rate limits can make the agent answer
//! "You've hit your session limit · resets 3pm". Claude Code draws its own
//! status on lines of a known shape (a `⎿` result line, a spinner line, its
//! limit menu, a `● API Error:` line), and prints the model's answer as a `●`
//! line with indented continuation lines, so the default patterns are anchored
//! on those shapes rather than on the words alone.

use std::sync::LazyLock;

use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, Zoned};
use regex::Regex;

/// The default patterns, one per form in which Claude Code reports a usage
/// limit on its screen.
///
/// Each is matched against one logical screen line: a physical line together
/// with the more deeply indented lines that continue it (Claude Code wraps its
/// own text at the pane's width, with hard line breaks that `-J` cannot join),
/// from the line's first column, so `^\s*⎿` means "a line led by `⎿`".
///
/// Forms and where they were seen:
/// - Claude Code 2.x writes the limit as a `⎿` line under the turn it stopped:
///   `⎿  You've hit your session limit · resets 12:32am (UTC)` (2.1.197, and
///   `You've hit your limit · …`, `… weekly limit · resets Nov 27, 11:41pm`,
///   `… Opus limit …` in screens quoted by users).
/// - `⎿  You're out of extra usage · resets 3pm`: the same renderer, for an
///   account whose extra usage ran out after its plan's limit.
/// - 1.0.8x to 2.0.x: `⎿  5-hour limit reached ∙ resets 3am` (later with `·`,
///   a zone, and ` · /upgrade to Max 20x or turn on /extra-usage`), and
///   `⎿  Session limit reached ∙ resets 9:30pm`. `Weekly limit reached` and
///   `Opus weekly limit reached ∙ resets Oct 31, 9am` were only found quoted
///   without their line; they share the wording and the notice, so they are
///   assumed to share the `⎿` line too.
/// - Up to 1.0.8x: `⎿  Claude usage limit reached. Your limit will reset at
///   5pm (Europe/Warsaw).`
/// - `Claude AI usage limit reached|<epoch seconds>` is the API's raw message,
///   which 1.0.x printed in print mode and in errors (`Error: …`, `API Error:
///   …`) rather than in the interactive transcript; its on-screen shape is
///   therefore a guess: a line that starts with it (column 0, where no answer
///   line of the TUI starts) or a `⎿` / error line that carries it.
/// - An API-key account retries with a spinner line,
///   `✻ Session limit reached · Retrying in 26s (12:30am) · attempt 1/10`;
///   the spinner glyph cycles through `·✢✳✶✻✽` (`*` on some terminals).
/// - It ends with `● API Error: Request rejected (429) · …`.
/// - 2.1.x then opens a menu whose first option, under the `❯` cursor, is
///   `❯ 1. Stop and wait for limit to reset`.
///
/// Not usage limits, and not matched: `Server is temporarily limiting requests
/// (not your usage limit)`, a 529 overload, the `Approaching … limit` warnings,
/// the model's own text about limits.
/// A limit line as one line: Claude Code wraps its own lines, and what is
/// quoted in messages and kept in the state reads better whole.
pub fn one_line(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn default_patterns() -> Vec<String> {
    DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect()
}

// Apostrophes: straight, curly (U+2019, U+2018) and U+02BC, which a terminal
// font or a copy-paste may substitute for one another. Separators: U+00B7
// (2.x), U+2219 (1.0.x), U+2022. `\s` is Unicode-aware, so it also takes the
// NBSP that Claude Code puts after `⎿` and `❯`. The spinner line is held to
// the first column (or one space in): the model's answer never starts there,
// its continuation lines are indented two.
const DEFAULT_PATTERNS: &[&str] = &[
    r"(?i)^\s*⎿\s*You(?:['’‘ʼ]ve|\s+have)\s+(?:hit|reached)\s+your\s+(?:[\w-]+\s+){0,3}limit\b",
    r"(?i)^\s*⎿\s*You(?:['’‘ʼ]re|\s+are)\s+out\s+of\s+(?:extra\s+)?usage\b",
    r"(?i)^\s*⎿\s*(?:[\w-]+\s+){0,3}limit\s+reached\s*[·∙•]\s*resets?\b",
    r"(?i)^\s*⎿\s*Claude\s+usage\s+limit\s+reached\b",
    r"(?i)^(?:\s*⎿\s*|\s*[●⏺]\s+API\s+Error:\s*|\s*(?:API\s+)?Error:\s*)?Claude\s+AI\s+usage\s+limit\s+reached\s*\|\s*\d{9,}",
    r"(?i)^ ?[·✢✳✶✻✽*]\s*(?:[\w-]+\s+){0,3}limit\s+reached\s*[·∙•]?\s*Retrying\s+in\b",
    r"(?i)^\s*[●⏺]\s+API\s+Error:\s*Request\s+rejected\s*\(429\)\s*(?:[·∙•]|$)",
    r"(?i)^\s*❯\s*\d+\.\s+Stop\s+and\s+wait\s+for\s+(?:the\s+)?limit\s+to\s+reset\b",
];

/// Compiled limit patterns (a profile's `limit_patterns`, or the defaults).
#[derive(Debug, Clone)]
pub struct Patterns {
    regexes: Vec<Regex>,
}

impl Default for Patterns {
    /// Claude Code's own forms, [`default_patterns`].
    fn default() -> Self {
        DEFAULTS.clone()
    }
}

/// The default patterns, compiled once per process: their Unicode classes
/// (`\w`, `\s`) under bounded repeats make NFAs that take about 5 ms to
/// build, most of the CPU time a dispatch spends outside tmux.
static DEFAULTS: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(&default_patterns()).expect("the default limit patterns compile")
});

/// Starts compiling the default patterns on a thread of its own, so that
/// the first screen read does not wait for them (a launch reads its first
/// screen a few milliseconds after its claim). A process that ends first
/// loses nothing.
pub fn warm_up() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static STARTED: AtomicBool = AtomicBool::new(false);
    if !STARTED.swap(true, Ordering::Relaxed) {
        std::thread::spawn(|| {
            LazyLock::force(&DEFAULTS);
        });
    }
}

impl Patterns {
    /// Compiles the patterns; the error names the first one that does not
    /// compile, so a config error can say which entry to fix.
    pub fn new(patterns: &[String]) -> Result<Patterns, String> {
        let regexes = patterns
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|e| format!("limit pattern {p:?} does not compile: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Patterns { regexes })
    }

    /// The limit line on a screen, to quote and to read the reset time from,
    /// or `None` when no pattern matches.
    ///
    /// The line returned is the logical line (with the wrapped lines that
    /// continue it, so a zone pushed to the next line by a narrow pane still
    /// reaches [`reset_time`]), trimmed of whitespace and of the status glyph
    /// that leads it (`⎿`, `●`, a spinner frame, `❯`).
    ///
    /// When several lines match, the lowest one wins: the screen grows
    /// downwards, and a limit line from an earlier, since reset limit may
    /// still be on it above the current one. When the lowest match is a menu
    /// option (the limit menu), the limit line just above the menu is returned
    /// if there is one, whatever its wording, since the menu itself says
    /// nothing of when the limit resets.
    pub fn find<'a>(&self, screen: &'a str) -> Option<&'a str> {
        let lines = logical_lines(screen);
        let matched: Vec<bool> = lines
            .iter()
            .map(|line| self.regexes.iter().any(|r| r.is_match(line)))
            .collect();
        let hit = matched.iter().rposition(|m| *m)?;
        if is_menu_option(lines[hit]) {
            if let Some(above) = limit_line_above(&lines[..hit], &matched[..hit]) {
                return Some(quoted(above));
            }
        }
        Some(quoted(lines[hit]))
    }
}

/// How many wrapped lines may continue a logical line: enough for a limit
/// line in a narrow pane, few enough that the quoted line stays a line.
const MAX_CONTINUATIONS: usize = 3;

/// The screen's logical lines, as slices of it: each physical line, extended
/// over the following lines that continue it (non-blank, indented deeper, and
/// starting with text rather than with a glyph, a `/command` hint or a menu
/// number, which Claude Code puts on lines of their own).
fn logical_lines(screen: &str) -> Vec<&str> {
    struct Logical {
        start: usize,
        end: usize,
        indent: usize,
        closed: bool,
        continuations: usize,
    }
    let mut lines: Vec<Logical> = Vec::new();
    let mut pos = 0;
    for raw in screen.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let end = start + line.len();
        let body = line.trim_start();
        let indent = line.chars().take_while(|c| c.is_whitespace()).count();
        if let Some(last) = lines.last_mut() {
            if !last.closed
                && indent > last.indent
                && last.continuations < MAX_CONTINUATIONS
                && starts_with_text(body)
                && !is_menu_option(body)
            {
                last.end = end;
                last.continuations += 1;
                continue;
            }
        }
        lines.push(Logical {
            start,
            end,
            indent,
            // A rule ends what is above it; it continues into nothing.
            closed: body.is_empty() || is_rule(body),
            continuations: 0,
        });
    }
    lines.iter().map(|l| &screen[l.start..l.end]).collect()
}

fn starts_with_text(body: &str) -> bool {
    body.chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || "([{'\"‘’“".contains(c))
}

/// `❯ 1. Stop and wait…`, `  2. Upgrade your plan`: a numbered menu option,
/// with or without the selection cursor.
fn is_menu_option(line: &str) -> bool {
    let rest = line.trim_start();
    let rest = rest.strip_prefix('❯').unwrap_or(rest).trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with('.')
}

/// The limit line above a menu, looking only within the menu's own block:
/// up to a prompt line that holds text (the turn the limit stopped, above
/// which is the previous turn), an answer or tool line (`●`/`⏺`), or the edge
/// of a box. In that block a line that a pattern matches wins, else the
/// nearest line that speaks of a limit, a usage or a reset; blank lines,
/// rules, an empty input box and the menu's own lines are passed over.
fn limit_line_above<'a>(lines: &[&'a str], matched: &[bool]) -> Option<&'a str> {
    let mut nearest = None;
    for (line, m) in lines.iter().zip(matched).rev().take(16) {
        let body = line.trim();
        if body.is_empty() || is_rule(body) || is_menu_option(body) {
            continue;
        }
        if let Some(rest) = body.strip_prefix('❯') {
            // An empty prompt, or the `/rate-limit-options` that Claude Code
            // 2.1.197 types itself between its limit line and its menu:
            // neither is a later turn.
            let rest = rest.trim_start_matches([' ', '\u{a0}']);
            if rest.trim().is_empty() || rest.starts_with('/') {
                continue;
            }
            break;
        }
        if body.starts_with(['●', '⏺', '╰', '╯', '│', '╭']) {
            break;
        }
        if *m {
            return Some(line);
        }
        let lower = body.to_lowercase();
        if nearest.is_none()
            && ["limit", "usage", "reset"]
                .iter()
                .any(|w| lower.contains(w))
        {
            nearest = Some(*line);
        }
    }
    nearest
}

fn is_rule(body: &str) -> bool {
    !body.is_empty() && body.chars().all(|c| "─━═▔▁-╌┄ ".contains(c))
}

/// A logical line as it is worth quoting: no surrounding whitespace, no
/// leading status glyph.
fn quoted(line: &str) -> &str {
    let body = line.trim();
    body.strip_prefix(['⎿', '●', '⏺', '❯', '✻', '✢', '✳', '✶', '✽', '·', '*'])
        .map_or(body, str::trim_start)
}

/// How long before `now` a reset read from the text may lie and still be
/// taken as that reset, rather than as the same time tomorrow or next year.
/// Claude Code shows minutes only ("resets 12:32am" for 00:32:40), and a line
/// read a little late, or by a clock a little ahead of the agent's, must not
/// keep an account idle for a day. A reset in the past means "limited no
/// longer", which costs at worst one refused task.
const LATE_READING: SignedDuration = SignedDuration::from_mins(5);

static EPOCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)usage\s+limit\s+reached\s*\|\s*(?P<epoch>\d{1,19})\b").expect("regex")
});

static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b resets? \s+ in \s+
        (?: (?P<d>\d{1,3}) \s* d(?:ays?)? \b \s* ,? \s* )?
        (?: (?P<h>\d{1,4}) \s* h(?:ours?|rs?)? \b \s* ,? \s* )?
        (?: (?P<m>\d{1,5}) \s* m(?:in(?:ute)?s?)? \b \s* )?
        (?: (?P<s>\d{1,6}) \s* s(?:ec(?:ond)?s?)? \b )?",
    )
    .expect("regex")
});

static RETRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)limit\s+reached\s*[·∙•]?\s*Retrying\s+in\s+[^(]{1,20}\(\s*(?P<at>[^)]{1,40})\)",
    )
    .expect("regex")
});

static ABSOLUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b resets? (?: \s+ (?:at|on) )? \s+
        (?:
            (?P<mon> jan(?:uary)? | feb(?:ruary)? | mar(?:ch)? | apr(?:il)? | may
                   | june? | july? | aug(?:ust)? | sep(?:t(?:ember)?)? | oct(?:ober)?
                   | nov(?:ember)? | dec(?:ember)? ) \.?
            \s+ (?P<day>\d{1,2}) (?: st | nd | rd | th )? \b
            (?: \s* , \s* (?: at \s+ )? | \s+ at \s+ | \s+ )?
        )?
        (?:
            (?P<h>\d{1,2}) (?: : (?P<m>\d{2}) )? \s* (?P<ap>[ap]) \.? m \b \.?
          | (?P<h24>\d{1,2}) : (?P<m24>\d{2}) \b
        )?
        (?: \s* \( \s* (?P<tz> [A-Za-z][A-Za-z0-9_+\-]* (?: / [A-Za-z0-9_+\-]+ )* ) \s* \) )?",
    )
    .expect("regex")
});

/// When the usage limit that `text` reports resets, or `None` when the text
/// says nothing that can be read as a time (the caller then waits its
/// configured default).
///
/// `text` is a limit line from the screen, a hook's `last_assistant_message`,
/// or any of Claude Code's limit texts:
/// - `Claude AI usage limit reached|1755615600`: that epoch second, exactly;
/// - a time of day (`3am`, `10:30pm`, `12:32am`): its next occurrence, today
///   or else tomorrow;
/// - a date and a time (`Oct 31, 9am`, `May 5 at 9pm`): that date this year,
///   or next year if it is past; a date alone means its midnight;
/// - `resets in 4hr 29min`: that long after `now`.
///
/// The time is in the IANA zone named in parentheses (`(Europe/Berlin)`,
/// `(UTC)`), else in `now`'s zone; a name the zone database does not know
/// makes the text unreadable rather than silently local. A time within
/// [`LATE_READING`] before `now` counts as that time, not as tomorrow's.
///
/// A wall-clock time that a DST change makes ambiguous resolves to the
/// earliest instant it can denote that is not already past: on the day
/// clocks go back, "1:30am (America/New_York)" is the first 1:30 (EDT), and
/// the second (EST) once the first is over; on the day clocks go forward, the
/// skipped "2:30am" is read with the offset from after the change, which is
/// 1:30 EST, the earlier of its two readings. Earlier, because resuming an
/// account too soon costs one refused task, and too late costs an idle
/// account for the difference. (Claude Code derives the text from an exact
/// instant, so a skipped time should never be shown.)
///
/// An API-key account's spinner, `Session limit reached · Retrying in 26s
/// (12:30am)`, puts the limit's reset in its parentheses (Claude Code
/// 2.1.197 draws it from the reset header), in the agent's local zone.
pub fn reset_time(text: &str, now: &Zoned) -> Option<Timestamp> {
    if let Some(c) = RETRY.captures(text) {
        let clause = format!("resets {}", &c["at"]);
        return ABSOLUTE
            .captures_iter(&clause)
            .find_map(|c| absolute(&c, now));
    }
    if let Some(c) = EPOCH.captures(text) {
        let n: i64 = c["epoch"].parse().ok()?;
        // Milliseconds, should a version ever send them: 1e11 s is year 5138.
        return if n >= 100_000_000_000 {
            Timestamp::from_millisecond(n).ok()
        } else {
            Timestamp::from_second(n).ok()
        };
    }
    if let Some(t) = RELATIVE.captures_iter(text).find_map(|c| relative(&c, now)) {
        return Some(t);
    }
    ABSOLUTE.captures_iter(text).find_map(|c| absolute(&c, now))
}

fn relative(c: &regex::Captures, now: &Zoned) -> Option<Timestamp> {
    let units = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];
    let mut secs: i64 = 0;
    let mut any = false;
    for (name, unit) in units {
        if let Some(n) = c.name(name) {
            any = true;
            secs = secs.checked_add(n.as_str().parse::<i64>().ok()?.checked_mul(unit)?)?;
        }
    }
    if !any {
        return None;
    }
    now.timestamp()
        .checked_add(SignedDuration::from_secs(secs))
        .ok()
}

fn absolute(c: &regex::Captures, now: &Zoned) -> Option<Timestamp> {
    let time = if let Some(h) = c.name("h") {
        let h: i8 = h.as_str().parse().ok()?;
        let m: i8 = c.name("m").map_or(Some(0), |m| m.as_str().parse().ok())?;
        if !(1..=12).contains(&h) {
            return None;
        }
        let pm = c["ap"].eq_ignore_ascii_case("p");
        Time::new(h % 12 + if pm { 12 } else { 0 }, m, 0, 0).ok()?
    } else if let Some(h) = c.name("h24") {
        Time::new(h.as_str().parse().ok()?, c["m24"].parse().ok()?, 0, 0).ok()?
    } else {
        Time::midnight()
    };
    let date = match (c.name("mon"), c.name("day")) {
        (Some(mon), Some(day)) => Some((month(mon.as_str())?, day.as_str().parse::<i8>().ok()?)),
        _ => None,
    };
    if date.is_none() && c.name("h").is_none() && c.name("h24").is_none() {
        return None;
    }
    let zone = match c.name("tz") {
        Some(name) => zone_named(name.as_str())?,
        None => now.time_zone().clone(),
    };
    let earliest = now
        .timestamp()
        .checked_sub(LATE_READING)
        .unwrap_or(Timestamp::MIN);
    let today = now.timestamp().to_zoned(zone.clone()).date();
    match date {
        None => {
            let mut day = today;
            for _ in 0..3 {
                if let Some(t) = first_not_before(&zone, day, time, earliest) {
                    return Some(t);
                }
                day = day.tomorrow().ok()?;
            }
            None
        }
        Some((month, day)) => {
            // Eight years reach the next Feb 29 from any year.
            (0..=8).find_map(|ahead| {
                let year = i16::try_from(i32::from(today.year()) + ahead).ok()?;
                let date = Date::new(year, month, day).ok()?;
                first_not_before(&zone, date, time, earliest)
            })
        }
    }
}

/// The earliest instant at or after `earliest` that the wall-clock `date` and
/// `time` denote in `zone`: one instant, or two when a DST change makes the
/// time ambiguous (a fold: both offsets; a gap: both readings).
fn first_not_before(
    zone: &TimeZone,
    date: Date,
    time: Time,
    earliest: Timestamp,
) -> Option<Timestamp> {
    let dt = date.to_datetime(time);
    let offsets = match zone.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => vec![offset],
        AmbiguousOffset::Gap { before, after } | AmbiguousOffset::Fold { before, after } => {
            vec![before, after]
        }
    };
    let mut instants: Vec<Timestamp> = offsets
        .into_iter()
        .filter_map(|o| o.to_timestamp(dt).ok())
        .collect();
    instants.sort();
    instants.into_iter().find(|t| *t >= earliest)
}

fn month(name: &str) -> Option<i8> {
    let prefix = name.get(..3)?.to_ascii_lowercase();
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let i = months.iter().position(|m| *m == prefix)?;
    i8::try_from(i + 1).ok()
}

/// The zone Claude Code named, from the bundled database only (the machine's
/// own zoneinfo may lag or lack it).
fn zone_named(name: &str) -> Option<TimeZone> {
    if ["UTC", "GMT", "Z"]
        .iter()
        .any(|u| name.eq_ignore_ascii_case(u))
    {
        return Some(TimeZone::UTC);
    }
    TimeZone::get(name).ok()
}

#[cfg(test)]
mod tests;
