//! `history`: the journal read back for people (a table, or one task's life
//! with how long each step took) and for pipelines (`--json`: the journal's
//! own lines). Read-only and lock-free: lines are whole or skipped.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::{Ctx, Run};
use crate::cli::HistoryArgs;
use crate::clock::{format_span, parse_date, parse_utc};
use crate::config::parse_duration;
use crate::error::{bad_input, Outcome};
use crate::output::report::{self, Event};
use crate::output::table::table;
use crate::queue::inbox::original_bytes;
use crate::queue::locate::{absolute, TaskMatch};
use crate::store::journal::{Entry, Journal};

/// How much of a reason or message a table row shows.
const DETAIL_WIDTH: usize = 60;

impl Run for HistoryArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let now = crate::clock::now();
        let since = self
            .since
            .as_deref()
            .map(|s| parse_since(s, now))
            .transpose()?;
        let config = ctx.config()?;
        let filter = Filter {
            task: self.task.as_deref().map(TaskMatch::new),
            session: self.session.clone(),
            project: self.project.as_deref().map(absolute),
            since,
        };
        let entries = Journal::of(&config).read()?;
        let mut matched: Vec<&Entry> = entries.iter().filter(|e| filter.matches(e)).collect();
        if matched.is_empty() {
            report::info(format!(
                "no event in the history {} matches",
                config.history_file().display()
            ));
            return Ok(Outcome::NothingFound);
        }
        let text = if report::json() {
            matched.iter().map(|e| format!("{}\n", e.text)).collect()
        } else {
            in_order(&mut matched);
            if let (Some(task), true) = (&self.task, single_task(&matched)) {
                render_life(&matched, &files_now(&config, task))
            } else {
                render_table(&matched)
            }
        };
        // A reader that went away (`| head`) is no failure.
        report::print(&text);
        Ok(Outcome::Done)
    }
}

/// Where the task's files stand now, as `status` counts them: summary rows.
fn files_now(config: &crate::config::Config, task: &std::path::Path) -> Vec<[String; 2]> {
    let state = crate::store::state::Store::new(config.state_file.clone())
        .read()
        .unwrap_or_default();
    crate::queue::locate::find(config, &state, task)
        .iter()
        .map(|(path, file)| {
            [
                "file".to_string(),
                format!("{} ({file})", crate::paths::escape_path(path)),
            ]
        })
        .collect()
}

/// How far before its `dispatched` line a task's later steps may have been
/// written (a launch waits a few seconds at most for the agent's receipt).
const REPORT_LAG: u64 = 10;

fn step(e: &Entry) -> u8 {
    match &e.event {
        Some(
            Event::Submitted { .. }
            | Event::Rejected { .. }
            | Event::Skipped { .. }
            | Event::Planned { .. },
        ) => 0,
        Some(Event::Dispatched { .. }) => 1,
        Some(Event::Received { .. } | Event::Failed { .. } | Event::Recovered { .. }) => 2,
        Some(Event::Done { .. }) => 3,
        _ => 4, // idle, ended, and what a later version adds
    }
}

fn is_dispatched(e: &Entry) -> bool {
    matches!(e.event, Some(Event::Dispatched { .. }))
}

/// Puts a task's steps in the order they happened, as far as the journal
/// can tell. Lines are written when each invocation reports, and a dispatch
/// is reported once its launch is over: by then the agent's hooks have
/// written `received`, and a quick agent's `done` and `idle` too. So a
/// `dispatched` line goes before the lines of the same task that its
/// launch's report came after, and within one second (all a time says)
/// one task's lines are put in their natural order. Other lines stay in the
/// order they were written.
fn in_order(entries: &mut Vec<&Entry>) {
    for j in 0..entries.len() {
        if !is_dispatched(entries[j]) {
            continue;
        }
        let (task, time) = (entries[j].str("task"), entries[j].time);
        let mut to = j;
        for i in (0..j).rev() {
            let e = entries[i];
            if e.time + REPORT_LAG < time {
                break;
            }
            if e.str("task") != task {
                continue;
            }
            // An earlier attempt's end, or its start: not this dispatch's.
            let attempt_end = matches!(
                e.event,
                Some(Event::Failed { .. } | Event::Recovered { .. })
            );
            if attempt_end || step(e) <= 1 {
                break;
            }
            to = i;
        }
        if to < j {
            let e = entries.remove(j);
            entries.insert(to, e);
        }
    }
    let mut start = 0;
    while start < entries.len() {
        let second = entries[start].time;
        let end = start
            + entries[start..]
                .iter()
                .take_while(|e| e.time == second)
                .count();
        let run = &mut entries[start..end];
        let keys: Vec<Option<PathBuf>> = run.iter().map(|e| task_key(e)).collect();
        let tasks: BTreeSet<&PathBuf> = keys.iter().flatten().collect();
        for task in tasks {
            let at: Vec<usize> = (0..run.len())
                .filter(|&i| keys[i].as_ref() == Some(task))
                .collect();
            let mut steps: Vec<&Entry> = at.iter().map(|&i| run[i]).collect();
            steps.sort_by_key(|e| step(e));
            for (i, e) in at.into_iter().zip(steps) {
                run[i] = e;
            }
        }
        start = end;
    }
}

/// `--since`: RFC 3339, a date (midnight UTC), or a span back from `now`.
pub fn parse_since(text: &str, now: u64) -> anyhow::Result<u64> {
    let t = text.trim();
    if let Some(at) = parse_utc(t).or_else(|| parse_date(t)) {
        return Ok(at);
    }
    // A bare number would be seconds to parse_duration; here it is more
    // likely a mistyped date, so a span must say its unit.
    let has_unit = t.chars().any(|c| c.is_ascii_alphabetic());
    match parse_duration(t).filter(|_| has_unit) {
        Some(span) => Ok(now.saturating_sub(span.as_secs())),
        None => Err(bad_input(format!(
            "--since `{text}` is not a time: write 2026-11-24T10:00:00Z, a date (2026-11-24, \
             midnight UTC) or a span back from now (30m, 2h, 1d)"
        ))),
    }
}

struct Filter {
    task: Option<TaskMatch>,
    session: Option<String>,
    project: Option<PathBuf>,
    since: Option<u64>,
}

/// A task under any of its names: `x.md`, `x.md.dispatched`,
impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        let task = e.path("task");
        if let Some(m) = &self.task {
            if !task.as_deref().is_some_and(|t| m.matches(t)) {
                return false;
            }
        }
        if let Some(s) = &self.session {
            if e.str("session") != s {
                return false;
            }
        }
        if let Some(p) = &self.project {
            let own = e.path("project").is_some_and(|q| &q == p);
            if !own && !task.is_some_and(|t| t.starts_with(p)) {
                return false;
            }
        }
        self.since.is_none_or(|since| e.time >= since)
    }
}

/// The task as it was submitted (its inbox and first name), for grouping.
fn task_key(e: &Entry) -> Option<PathBuf> {
    let task = e.path("task")?;
    let name = original_bytes(task.file_name()?.as_bytes());
    Some(task.with_file_name(std::ffi::OsStr::from_bytes(name)))
}

/// Whether the entries are one task's: one inbox and name, dispatched
/// under one name at most (`x.md.2.dispatched` is a later task named alike).
fn single_task(entries: &[&Entry]) -> bool {
    let keys: BTreeSet<PathBuf> = entries.iter().filter_map(|e| task_key(e)).collect();
    let dispatched: BTreeSet<&str> = entries
        .iter()
        .map(|e| e.str("task"))
        .filter(|t| t.ends_with(".dispatched"))
        .collect();
    keys.len() == 1 && dispatched.len() <= 1
}

/// The last part of the task's path as the journal writes it, or `-`.
fn file_name(e: &Entry) -> &str {
    match e.str("task") {
        "" => "-",
        t => t.rsplit('/').next().unwrap_or(t),
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

/// What a row says besides event, session and task.
fn detail(e: &Entry) -> String {
    let text = match &e.event {
        Some(Event::Dispatched {
            priority,
            model,
            branch,
            ..
        }) => match branch {
            Some(branch) => format!("{priority}, model {model}, branch {branch}"),
            None => format!("{priority}, model {model}"),
        },
        Some(Event::Planned {
            priority, model, ..
        }) => format!("{priority}, model {model}"),
        Some(Event::Submitted { priority, .. }) => priority.to_string(),
        Some(Event::Received {
            agent_session_id, ..
        }) => agent_session_id
            .as_ref()
            .map(|id| format!("agent session {id}"))
            .unwrap_or_default(),
        Some(Event::Done { message, .. }) => message.clone().unwrap_or_default(),
        Some(Event::Held {
            account,
            until,
            window,
            used_percentage,
        }) => {
            format!("account {account} at {used_percentage}% of its {window} usage, until {until}")
        }
        Some(Event::Released { account, .. }) => format!("account {account}"),
        _ => [e.str("reason"), e.str("message"), e.str("model")]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or("")
            .to_string(),
    };
    shorten(&text, DETAIL_WIDTH)
}

/// On one line, at most `width` characters (the last one `…` when cut).
pub(crate) fn shorten(text: &str, width: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= width {
        return flat;
    }
    let mut out: String = flat.chars().take(width - 1).collect();
    out.push('…');
    out
}

fn render_table(entries: &[&Entry]) -> String {
    let mut rows = vec![["TIME", "EVENT", "SESSION", "TASK", "DETAIL"].map(String::from)];
    for e in entries {
        rows.push([
            e.str("time").to_string(),
            e.name().to_string(),
            or_dash(e.str("session")),
            file_name(e).to_string(),
            detail(e),
        ]);
    }
    table(&rows)
}

/// `+2s`, `-5s`: `at` from `start`.
/// `+2s`, `-5s`: `at` from `start`. A step shown after the dispatch is
/// never before it: one written a second earlier (see [`in_order`]) is `+0s`.
fn offset(at: u64, start: u64, after: bool) -> String {
    if at >= start || after {
        format!("+{}", format_span(at.saturating_sub(start)))
    } else {
        format!("-{}", format_span(start - at))
    }
}

/// One task's events, each with its time since the dispatch, and a summary.
fn render_life(entries: &[&Entry], files: &[[String; 2]]) -> String {
    let first_dispatch = entries.iter().find(|e| is_dispatched(e));
    let start = first_dispatch.map_or(entries[0].time, |e| e.time);
    let name = entries
        .iter()
        .find_map(|e| task_key(e))
        .map(|p| crate::paths::escape_path(&p))
        .unwrap_or_default();
    let mut out = format!("{name}\n");
    let mut rows = Vec::new();
    let mut dispatched = false;
    for e in entries {
        dispatched |= is_dispatched(e);
        rows.push([
            format!("  {}", e.str("time")),
            offset(e.time, start, dispatched),
            e.name().to_string(),
            or_dash(e.str("session")),
            detail(e),
        ]);
    }
    out.push_str(&table(&rows));
    out.push('\n');

    let mut sessions: Vec<&str> = Vec::new();
    for e in entries {
        let s = e.str("session");
        if !s.is_empty() && !sessions.contains(&s) {
            sessions.push(s);
        }
    }
    let last_done = entries
        .iter()
        .rev()
        .find(|e| matches!(e.event, Some(Event::Done { .. })));
    let last_idle = entries
        .iter()
        .rev()
        .find(|e| matches!(e.event, Some(Event::Idle { .. })));
    let from_hooks = |key: &str| {
        entries
            .iter()
            .rev()
            .filter(|e| matches!(e.event, Some(Event::Received { .. } | Event::Done { .. })))
            .map(|e| e.str(key))
            .find(|v| !v.is_empty())
            .unwrap_or("-")
            .to_string()
    };
    // From the dispatch that came before it (a retried task has several;
    // a hook may write its line a moment before the dispatch is reported).
    let after_dispatch = |end: Option<&&Entry>| -> Option<String> {
        let end = end?;
        let dispatched = entries
            .iter()
            .rev()
            .find(|e| is_dispatched(e) && e.time <= end.time)
            .or(first_dispatch)?;
        Some(format_span(end.time.saturating_sub(dispatched.time)))
    };
    let received = entries
        .iter()
        .find(|e| matches!(e.event, Some(Event::Received { .. })));
    let done = last_done;
    let done_after = match (after_dispatch(done), after_dispatch(last_idle)) {
        (Some(d), _) => d,
        (None, Some(idle)) => format!("- (idle after {idle})"),
        (None, None) => "-".into(),
    };
    let mut summary = vec![
        [
            "session".to_string(),
            if sessions.is_empty() {
                "-".into()
            } else {
                sessions.join(", ")
            },
        ],
        ["agent session id".into(), from_hooks("agent_session_id")],
        ["transcript".into(), from_hooks("transcript_path")],
        [
            "received after".into(),
            after_dispatch(received).unwrap_or_else(|| "-".into()),
        ],
        ["done after".into(), done_after],
    ];
    if first_dispatch.is_none() {
        summary.push(["dispatched".into(), "never".into()]);
    }
    // A worktree task's work is on its branch, for review.
    if let Some(d) = entries
        .iter()
        .rev()
        .find(|e| is_dispatched(e) && !e.str("branch").is_empty())
    {
        summary.push([
            "branch".into(),
            format!("{} (worktree {})", d.str("branch"), d.str("worktree")),
        ]);
    }
    summary.extend(files.iter().cloned());
    out.push_str(&table(&summary));
    if let Some(message) = done.map(|e| e.str("message")).filter(|m| !m.is_empty()) {
        out.push_str("last message:\n");
        for line in message.trim_end().lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
