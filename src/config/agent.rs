//! An agent profile: how an agent is started and read (`[agent]`, and
//! `[agents.NAME]` for the pools that name one): its command, its prompt
//! marker and dialogs, its models, the environment of a second account, and
//! the texts by which it says it hit a usage limit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{duration, expand_tilde, path};
use std::sync::OnceLock;

use crate::accounts::limits::Patterns;
use crate::queue::task::Priority;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Agent {
    pub command: String,
    #[serde(deserialize_with = "path")]
    pub resume_dir: PathBuf,
    pub ready_marker: String,
    #[serde(deserialize_with = "duration")]
    pub ready_timeout: Duration,
    pub shells: Vec<String>,
    pub message: String,
    pub empty_body: String,
    #[serde(rename = "dialog")]
    pub dialogs: Vec<Dialog>,
    pub models: Models,
    /// Set for the agent command only (`CLAUDE_CONFIG_DIR` for a second
    /// account); a value starting with `~/` is under the agent's `$HOME`.
    pub env: BTreeMap<String, String>,
    /// The agent is Claude Code: tasks that need it may go to it.
    pub claude_code: bool,
    /// Regular expressions for the agent's own "usage limit" lines.
    pub limit_patterns: Vec<String>,
    /// `limit_patterns` compiled, once, on first use ([`Agent::limits`]):
    /// every launch and every scan reads screens with them, while the
    /// status line and the hooks, which load the config every few seconds,
    /// never pay for compiling them.
    #[serde(skip)]
    pub(crate) limits: OnceLock<Patterns>,
    /// How long an account whose limit names no reset time is left alone.
    #[serde(deserialize_with = "duration")]
    pub limit_wait: Duration,
    /// Added to a reset time before the account gets work again.
    #[serde(deserialize_with = "duration")]
    pub limit_margin: Duration,
}

impl Agent {
    /// The usage-limit patterns, compiled (checked when the config was read).
    pub fn limits(&self) -> &Patterns {
        self.limits.get_or_init(|| {
            if self.limit_patterns == crate::accounts::limits::default_patterns() {
                return Patterns::default();
            }
            Patterns::new(&self.limit_patterns).unwrap_or_default()
        })
    }
}

impl Default for Agent {
    fn default() -> Self {
        Agent {
            command: "claude --model {model} --dangerously-skip-permissions".into(),
            resume_dir: expand_tilde(Path::new("~/.claude-context")),
            ready_marker: "❯".into(),
            ready_timeout: Duration::from_secs(30),
            shells: ["bash", "zsh", "sh", "dash", "fish"].map(String::from).to_vec(),
            message: "[{name}] {body}\n\nIMPORTANT: carry out the requested actions; do not only describe them.".into(),
            empty_body: "Check .agent-queue/inbox/: one task is assigned to you.".into(),
            dialogs: Vec::new(),
            models: Models::default(),
            env: BTreeMap::new(),
            claude_code: true,
            limit_patterns: crate::accounts::limits::default_patterns(),
            limits: OnceLock::new(),
            limit_wait: Duration::from_secs(3600),
            limit_margin: Duration::from_secs(60),
        }
    }
}

/// A screen that stops the agent before its prompt.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialog {
    pub name: String,
    #[serde(rename = "match")]
    pub matches: String,
    /// tmux key names to send; empty: fail the launch, naming the dialog.
    #[serde(default)]
    pub answer: Vec<String>,
    /// The text of the menu option to pick (`pane::menu`): the cursor is
    /// moved onto it, seen there, then Enter. Preferred to `answer`, whose
    /// keys name a position that changes between versions.
    #[serde(default)]
    pub choose: Option<String>,
    /// For a built-in dialog left unanswered: the option that accepts it,
    /// which the launch's error offers as the `choose` to configure.
    #[serde(skip)]
    pub accepted_by: Option<&'static str>,
}

impl Dialog {
    /// The config answers it (else the launch fails, naming it).
    pub fn is_answered(&self) -> bool {
        !self.answer.is_empty() || self.choose.is_some()
    }
}

/// The screens Claude Code 2.1.197 is known to show instead of its prompt
/// (checked under tmux by `tests/integration/real_agent.rs`). A config entry
/// with the same name replaces one of these; others are added after them.
/// None is answered by default: the launch fails naming it.
///
/// - folder trust: a folder not yet trusted in `~/.claude.json` (choose
///   "Yes, I trust this folder": first on 2.1.197, second on 2.1.332);
/// - API key: `ANTHROPIC_API_KEY` set but not yet approved (choose "Yes";
///   Enter means No, and leaves an agent that is not logged in);
/// - bypass warning: `--dangerously-skip-permissions` without
///   `skipDangerousModePermissionPrompt` (choose "Yes, I accept"; Enter
///   means "No, exit");
/// - onboarding, security notes: the first run of a new user (Enter goes on);
/// - no service: the first run's connectivity check failed (it then exits);
/// - as root: root without `IS_SANDBOX=1` (it then exits);
/// - not logged in: a prompt that cannot work (the key was refused once, or
///   the login expired); a task given to it would be lost.
pub fn default_dialogs() -> Vec<Dialog> {
    let d = |name: &str, matches: &str| Dialog {
        name: name.into(),
        matches: matches.into(),
        answer: Vec::new(),
        choose: None,
        accepted_by: None,
    };
    let menu = |name: &str, matches: &str, accept: &'static str| Dialog {
        accepted_by: Some(accept),
        ..d(name, matches)
    };
    vec![
        menu(
            "folder trust",
            "Yes, I trust this folder",
            "Yes, I trust this folder",
        ),
        menu("API key", "Do you want to use this API key?", "Yes"),
        menu(
            "bypass warning",
            "running in Bypass Permissions mode",
            "Yes, I accept",
        ),
        d(
            "onboarding",
            "Choose the text style that looks best with your terminal",
        ),
        d("security notes", "Security notes:"),
        d("no service", "Unable to connect to Anthropic services"),
        d("as root", "cannot be used with root/sudo privileges"),
        d("not logged in", "Not logged in · Run /login"),
    ]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Models {
    pub critical: String,
    pub high: String,
    pub default: String,
    pub low: String,
}

impl Default for Models {
    fn default() -> Self {
        Models {
            critical: "opus".into(),
            high: "sonnet".into(),
            default: "sonnet".into(),
            low: "sonnet".into(),
        }
    }
}

impl Models {
    pub fn for_priority(&self, p: Priority) -> &str {
        match p {
            Priority::Critical => &self.critical,
            Priority::High => &self.high,
            Priority::Default => &self.default,
            Priority::Low => &self.low,
        }
    }
}

pub(super) fn merge_dialogs(mut defaults: Vec<Dialog>, configured: Vec<Dialog>) -> Vec<Dialog> {
    for d in configured {
        match defaults
            .iter_mut()
            .find(|x| x.name.eq_ignore_ascii_case(&d.name))
        {
            Some(slot) => *slot = d,
            None => defaults.push(d),
        }
    }
    defaults
}
