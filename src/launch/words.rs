//! What a launch types and pastes: the command line (the agent command with
//! its model, resume id and environment, run by the reporting script), and
//! the message made from the task. Pure: every word that reaches a shell is
//! quoted here, and every byte that reaches the agent is text.

use std::path::Path;

use crate::config::Agent;
use crate::pane;
use crate::queue::task::Task;
use crate::shell::quote;

/// A well-formed resume id is a UUID; anything else in the file is ignored.
pub fn resume_id(text: &str) -> Option<&str> {
    let id = text.trim();
    let groups: Vec<&str> = id.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    ok.then_some(id)
}

/// The agent command with its model and resume id, as `sh` will run it.
/// The profile's environment is not in it: it reaches the script through
/// a tmux buffer (`environment`), never through a command line.
pub fn agent_command(agent: &Agent, model: &str, resume: Option<&str>) -> String {
    let mut cmd = agent.command.replace("{model}", &quote(model));
    if let Some(id) = resume {
        cmd.push_str(" --resume ");
        cmd.push_str(&quote(id));
    }
    cmd
}

/// The profile's environment as the lines the started script `eval`s
/// (`export NAME='value'`), or `None` when the profile sets none. The
/// names were checked when the config was read; every value is quoted.
pub fn environment(agent: &Agent) -> Option<String> {
    if agent.env.is_empty() {
        return None;
    }
    Some(
        agent
            .env
            .iter()
            .map(|(k, v)| format!("export {k}={}\n", env_value(v)))
            .collect(),
    )
}

/// A value as `sh` reads it; `~/…` is under the `$HOME` of the host the
/// agent runs on, which may not be this one.
fn env_value(v: &str) -> String {
    match v.strip_prefix("~/") {
        Some("") => "\"$HOME\"/".to_string(),
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None if v == "~" => "\"$HOME\"".to_string(),
        None => quote(v),
    }
}

/// The line typed into the session's shell: the agent command run in the
/// project folder by the script that reports its start and end (`pane`).
pub fn command_line(
    agent: &Agent,
    project: &Path,
    model: &str,
    resume: Option<&str>,
    nonce: &str,
) -> String {
    let buffer = (!agent.env.is_empty()).then(|| pane::env_buffer(nonce));
    pane::command_line(
        &agent_command(agent, model, resume),
        nonce,
        &project.to_string_lossy(),
        buffer.as_deref(),
    )
}

/// Control characters other than newline and tab are dropped, so a task
/// cannot end the bracketed paste early (`ESC[201~`) or send keys.
pub fn strip_controls(s: &str) -> String {
    s.chars()
        .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
        .collect()
}

/// The message pasted into the agent, from the `agent.message` template.
pub fn message(agent: &Agent, name: &str, task: &Task) -> String {
    let body = if task.body.is_empty() {
        agent.empty_body.as_str()
    } else {
        task.body.as_str()
    };
    // One pass, so a `{body}` inside the body is not expanded again.
    let mut out = String::with_capacity(agent.message.len() + body.len());
    let mut rest = agent.message.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let close = after.find('}').map(|c| c + 1).unwrap_or(after.len());
        let value = match &after[..close] {
            "{name}" => Some(name.to_string()),
            "{body}" => Some(body.to_string()),
            "{title}" => Some(task.title.clone().unwrap_or_else(|| name.to_string())),
            "{priority}" => Some(task.priority.to_string()),
            "{tags}" => Some(task.tags.join(", ")),
            _ => None,
        };
        out.push_str(value.as_deref().unwrap_or(&after[..close]));
        rest = &after[close..];
    }
    out.push_str(rest);
    strip_controls(&out)
}
