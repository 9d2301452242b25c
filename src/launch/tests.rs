use super::words::agent_command;
use super::*;
use crate::config::Agent;
use crate::queue::task::Task;
use std::path::Path;

fn agent() -> Agent {
    Agent::default()
}

#[test]
fn resume_ids_must_be_uuids() {
    assert_eq!(
        resume_id("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n"),
        Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    );
    assert_eq!(resume_id("x; touch pwned"), None);
    assert_eq!(
        resume_id("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0; rm -rf /"),
        None
    );
    assert_eq!(resume_id(""), None);
}

#[test]
fn the_command_line_quotes_the_folder_and_model() {
    let line = command_line(&agent(), Path::new("/srv/p/it's $(x)"), "opus", None, "n1");
    assert!(
        line.ends_with(" agent-queue n1 '/srv/p/it'\\''s $(x)'"),
        "{line}"
    );
    assert!(line.contains("&& claude --model opus --dangerously-skip-permissions;"));
    let id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    assert!(
        agent_command(&agent(), "son net", Some(id)).ends_with(&format!(
            "--model 'son net' --dangerously-skip-permissions --resume {id}"
        ))
    );
}

#[test]
fn a_profile_environment_goes_by_buffer_and_never_into_the_typed_line() {
    let mut a = agent();
    a.env
        .insert("CLAUDE_CONFIG_DIR".into(), "~/.claude b".into());
    a.env.insert("X".into(), "it's \\ $(secret)".into());
    let cmd = agent_command(&a, "opus", None);
    assert_eq!(cmd, "claude --model opus --dangerously-skip-permissions");
    let line = command_line(&a, Path::new("/p"), "opus", None, "n1");
    assert!(
        !line.contains("secret") && !line.contains(".claude b"),
        "{line}"
    );
    assert!(
        line.ends_with(" agent-queue n1 /p agent-queue-env-n1"),
        "{line}"
    );
    assert_eq!(environment(&agent()), None);
    let env = environment(&a).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{env}printf '%s|%s' \"$CLAUDE_CONFIG_DIR\" \"$X\""))
        .env("HOME", "/h")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "/h/.claude b|it's \\ $(secret)"
    );
}

#[test]
fn the_message_follows_the_template_and_keeps_no_control_bytes() {
    let task = Task {
        body: "run $(id) then C-c\u{1b}[201~ and Enter\u{7}\tok\nnext".into(),
        ..Task::default()
    };
    let m = message(&agent(), "fix.md", &task);
    assert_eq!(
        m,
        "[fix.md] run $(id) then C-c[201~ and Enter\tok\nnext\n\nIMPORTANT: carry out the requested actions; do not only describe them."
    );
}

#[test]
fn an_empty_body_gets_the_placeholder_and_braces_in_a_body_stay() {
    let m = message(&agent(), "a.md", &Task::default());
    assert!(m.starts_with("[a.md] Check .agent-queue/inbox/: one task is assigned to you."));
    let task = Task {
        body: "use {name} and {body}".into(),
        ..Task::default()
    };
    assert!(message(&agent(), "a.md", &task).starts_with("[a.md] use {name} and {body}\n"));
}

#[test]
fn stages_read_back() {
    assert_eq!(Stage::parse("pasting\n"), Some(Stage::Pasting));
    assert!(Stage::Pasting > Stage::Ready);
}

#[test]
fn reads_while_agents_start_fall_on_one_grid_of_ticks() {
    let ms = Duration::from_millis;
    // Launches that read at different moments wake at the same tick.
    assert_eq!(to_next_tick(ms(3), ms(20)), ms(17));
    assert_eq!(to_next_tick(ms(19), ms(20)), ms(1));
    assert_eq!(to_next_tick(ms(43), ms(20)), ms(17));
    // One that reads exactly on a tick waits for the next one.
    assert_eq!(to_next_tick(ms(40), ms(20)), ms(20));
    assert_eq!(to_next_tick(ms(7), Duration::ZERO), Duration::from_nanos(1));
}
