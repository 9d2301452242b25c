//! `doctor`'s checks: what a first run trips on, each found before a task
//! is lost to it, each named with its fix. The rules that read Claude Code's
//! own files (`.claude.json`: onboarding, folder trust, API-key approval,
//! bypass warning; `settings.json`: the hooks) are pure and live here; what
//! asks tmux or a pane's shell is in [`probe`] and `cmd/doctor.rs`.

pub mod probe;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::store::security::{self, Refused};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One line of `doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub status: Status,
    /// What was checked, e.g. `onboarding (account max-a)`.
    pub check: String,
    /// What was found.
    pub detail: String,
    /// How to fix it (none when ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(check: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            status: Status::Ok,
            check: check.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Warn,
            check: check.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Fail,
            check: check.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// `fail`, for the scan's refusals (`lead` before their words): a
    /// refusal's own fix, more exact than `fallback`, is the one shown,
    /// once. Several refusals that name their fixes are shown each with
    /// its own.
    pub fn refused(
        check: impl Into<String>,
        lead: &str,
        refusals: &[Refused],
        fallback: impl Into<String>,
    ) -> Check {
        let fixes = refusals.iter().filter(|r| r.fix.is_some()).count();
        match refusals {
            [one] => Check::fail(
                check,
                format!("{lead}{}", one.why),
                one.fix.clone().unwrap_or_else(|| fallback.into()),
            ),
            _ if fixes == 0 => Check::fail(
                check,
                format!("{lead}{}", security::joined(refusals)),
                fallback,
            ),
            _ => Check {
                status: Status::Fail,
                check: check.into(),
                detail: format!("{lead}{}", security::joined(refusals)),
                fix: None,
            },
        }
    }

    /// `ok    what: detail`, or with `; fix: …`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{:<5} {}: {}",
            self.status.as_str(),
            self.check,
            self.detail
        );
        if let Some(fix) = &self.fix {
            line.push_str(&format!("; fix: {fix}"));
        }
        line
    }
}

/// An account's Claude Code files: `$CLAUDE_CONFIG_DIR/.claude.json` and
/// `$CLAUDE_CONFIG_DIR/settings.json`, or without that variable
/// `~/.claude.json` and `~/.claude/settings.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeFiles {
    pub state: PathBuf,
    pub settings: PathBuf,
}

impl ClaudeFiles {
    pub fn of(config_dir: Option<&Path>, home: &Path) -> ClaudeFiles {
        match config_dir {
            Some(dir) => ClaudeFiles {
                state: dir.join(".claude.json"),
                settings: dir.join("settings.json"),
            },
            None => ClaudeFiles {
                state: home.join(".claude.json"),
                settings: home.join(".claude/settings.json"),
            },
        }
    }
}

/// What an account's agent needs before its first task.
pub struct Account<'a> {
    pub name: &'a str,
    pub files: &'a ClaudeFiles,
    /// `.claude.json`, `Null` when missing.
    pub state: &'a Value,
    /// `settings.json`, `Null` when missing.
    pub settings: &'a Value,
    /// Projects as Claude Code sees them (real paths).
    pub projects: &'a [PathBuf],
    /// `ANTHROPIC_API_KEY` of the agent, when it has one.
    pub api_key: Option<&'a str>,
    /// The agent command passes `--dangerously-skip-permissions`.
    pub bypass: bool,
    /// Names of the dialogs the config answers (`[[agent.dialog]]` with an
    /// answer): those screens are passed at launch.
    pub answered: &'a [String],
}

fn answered(a: &Account, dialog: &str) -> bool {
    a.answered.iter().any(|d| d.eq_ignore_ascii_case(dialog))
}

/// Claude Code's first-run state for one account and its projects.
pub fn first_run(a: &Account) -> Vec<Check> {
    let mut out = Vec::new();
    let state_file = a.files.state.display();
    let name = a.name;
    let check = |what: &str| format!("{what} (account {name})");
    if a.state.get("hasCompletedOnboarding") == Some(&Value::Bool(true)) {
        out.push(Check::ok(check("onboarding"), "done"));
    } else if answered(a, "onboarding") {
        out.push(Check::ok(
            check("onboarding"),
            "not done; [[agent.dialog]] answers it",
        ));
    } else {
        out.push(Check::fail(
            check("onboarding"),
            format!(
                "{state_file} lacks \"hasCompletedOnboarding\": true (offline it cannot start)"
            ),
            "run the agent once by hand in a terminal with the same account and finish its \
             first-run screens, or set \"hasCompletedOnboarding\": true there",
        ));
    }
    for project in a.projects {
        let trusted = project.ancestors().any(|dir| {
            a.state.pointer(&format!(
                "/projects/{}/hasTrustDialogAccepted",
                escape_pointer(dir)
            )) == Some(&Value::Bool(true))
        });
        let what = check(&format!("folder trust of {}", project.display()));
        if trusted {
            out.push(Check::ok(what, "trusted"));
        } else if answered(a, "folder trust") {
            out.push(Check::ok(
                what,
                "not trusted yet; [[agent.dialog]] answers it",
            ));
        } else {
            out.push(Check::fail(
                what,
                format!("not trusted in {state_file} (nor a folder above it)"),
                format!(
                    "run the agent once in {} and choose \"Yes, I trust this folder\", or set \
                     projects[\"{}\"].hasTrustDialogAccepted = true there",
                    project.display(),
                    project.display()
                ),
            ));
        }
    }
    if let Some(key) = a.api_key {
        let suffix: String = {
            let chars: Vec<char> = key.chars().collect();
            chars[chars.len().saturating_sub(20)..].iter().collect()
        };
        let listed = |list: &str| {
            a.state
                .pointer(&format!("/customApiKeyResponses/{list}"))
                .and_then(Value::as_array)
                .is_some_and(|l| l.iter().any(|v| v.as_str() == Some(&suffix)))
        };
        let what = check("API key approval");
        if listed("approved") {
            out.push(Check::ok(what, "approved"));
        } else if listed("rejected") {
            out.push(Check::fail(
                what,
                format!("the key ending …{} is in customApiKeyResponses.rejected of {state_file}: the agent runs logged out", tail(&suffix)),
                "move the last 20 characters of the key from \"rejected\" to \"approved\" in customApiKeyResponses",
            ));
        } else if answered(a, "API key") {
            out.push(Check::ok(
                what,
                "not approved yet; [[agent.dialog]] answers it",
            ));
        } else {
            out.push(Check::fail(
                what,
                format!(
                    "the key ending …{} is not in customApiKeyResponses.approved of {state_file}",
                    tail(&suffix)
                ),
                "run the agent once by hand with the key and answer \"Yes\", or add the key's \
                 last 20 characters to customApiKeyResponses.approved",
            ));
        }
    }
    if a.bypass {
        let what = check("bypass warning");
        let accepted = a.settings.get("skipDangerousModePermissionPrompt")
            == Some(&Value::Bool(true))
            || a.state.get("bypassPermissionsModeAccepted") == Some(&Value::Bool(true));
        if accepted {
            out.push(Check::ok(what, "accepted"));
        } else if answered(a, "bypass warning") {
            out.push(Check::ok(
                what,
                "not accepted yet; [[agent.dialog]] answers it",
            ));
        } else {
            out.push(Check::fail(
                what,
                format!(
                    "--dangerously-skip-permissions, and neither \
                     \"skipDangerousModePermissionPrompt\": true in {} nor \
                     \"bypassPermissionsModeAccepted\": true in {state_file}",
                    a.files.settings.display()
                ),
                format!(
                    "set \"skipDangerousModePermissionPrompt\": true in {}",
                    a.files.settings.display()
                ),
            ));
        }
    }
    out
}

/// The events whose hooks agent-queue needs, and what each is for.
pub const HOOKS: [(&str, &str); 3] = [
    ("UserPromptSubmit", "delivery receipts"),
    ("Stop", "the end of each task"),
    ("StopFailure", "usage limits met mid-task"),
];

/// Whether each hook agent-queue needs runs `agent-queue hook` in the
/// account's `settings.json`.
pub fn hooks(name: &str, settings_file: &Path, settings: &Value) -> Vec<Check> {
    HOOKS
        .iter()
        .map(|(event, why)| {
            let what = format!("{event} hook (account {name})");
            let commands: Vec<&str> = settings
                .pointer(&format!("/hooks/{event}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|group| group.get("hooks").and_then(Value::as_array))
                .flatten()
                .filter_map(|h| h.get("command").and_then(Value::as_str))
                .collect();
            if commands.iter().any(|c| runs_hook(c)) {
                Check::ok(what, "runs agent-queue hook")
            } else {
                Check::fail(
                    what,
                    format!(
                        "{} has no {event} hook running `agent-queue hook` ({why})",
                        settings_file.display()
                    ),
                    "merge the hooks of contrib/claude-code/settings.json into it",
                )
            }
        })
        .collect()
}

/// Whether the account's `settings.json` runs `agent-queue statusline` as
/// its status line, with a `refreshInterval` so idle agents keep reporting.
/// A `warn`, not a `fail`: without it delivery works, only the usage before
/// the limit (`hold_at`, `prefer = "headroom"`) is unknown.
pub fn statusline(name: &str, settings_file: &Path, settings: &Value) -> Check {
    use crate::accounts::usage::{statusline_setting, StatusLineSetting};
    let what = format!("status line (account {name})");
    let fix = "add the statusLine of contrib/claude-code/settings.json to it";
    match statusline_setting(settings) {
        StatusLineSetting::Installed {
            refresh_interval: Some(_),
        } => Check::ok(what, "runs agent-queue statusline"),
        StatusLineSetting::Installed {
            refresh_interval: None,
        } => Check::warn(
            what,
            format!(
                "{}: agent-queue statusline has no refreshInterval, so an idle agent stops \
                 reporting its account's usage",
                settings_file.display()
            ),
            "set \"refreshInterval\": 5 in its statusLine",
        ),
        StatusLineSetting::Other(command) => Check::warn(
            what,
            format!(
                "{} runs `{command}` as its status line: the account's usage is not recorded",
                settings_file.display()
            ),
            "move that command to [statusline] command, and install agent-queue statusline",
        ),
        StatusLineSetting::Missing => Check::warn(
            what,
            format!(
                "{} has no statusLine: the account's usage before its limit is not recorded",
                settings_file.display()
            ),
            fix,
        ),
    }
}

/// `agent-queue hook`, or `/path/to/agent-queue -q hook`, …
fn runs_hook(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.iter().enumerate().any(|(i, w)| {
        w.trim_matches(|c| c == '\'' || c == '"')
            .ends_with("agent-queue")
            && words[i + 1..].contains(&"hook")
    })
}

fn tail(suffix: &str) -> String {
    let chars: Vec<char> = suffix.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// A path as one JSON Pointer token (`~` and `/` escaped).
fn escape_pointer(path: &Path) -> String {
    path.to_string_lossy().replace('~', "~0").replace('/', "~1")
}

/// The program of an agent command line: its first word, unquoted.
pub fn program(command: &str) -> String {
    let command = command.trim_start();
    for q in ['\'', '"'] {
        if let Some(rest) = command.strip_prefix(q) {
            return rest.split(q).next().unwrap_or_default().to_string();
        }
    }
    command
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests;
