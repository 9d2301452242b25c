//! `hook`: the stand-in agent calls it as Claude Code calls its hooks, with
//! the same JSON (copied from Claude Code 2.1.197's payloads): receipts,
//! outcomes, a swallowed Enter, and input that is not a hook's.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use crate::env::{expect_exit, stderr, World};

const WAIT: Duration = Duration::from_secs(60);

/// A world whose stand-in agents call `agent-queue hook` for
/// UserPromptSubmit and Stop, and nothing else.
fn hooked(pool: u32) -> World {
    let mut w = World::new(pool);
    w.no_stop_hook();
    w.hooked();
    w
}

#[test]
fn receipts_and_ends_come_from_the_hooks_and_tasks_go_through_once() {
    let w = hooked(2);
    let p = w.project("p");
    for i in 0..3 {
        w.task(&p, &format!("t{i}.md"), "high", &format!("task {i}"));
    }
    w.start_pool();
    w.ok(&["scan"]);
    w.wait_received(3, WAIT);
    w.wait_all_idle(WAIT);
    assert_eq!(
        w.received_first_lines(),
        ["[t0.md] task 0", "[t1.md] task 1", "[t2.md] task 2"]
    );
    // Each session's last receipt names its agent's session and transcript.
    let state = w.state();
    for i in 1..=2 {
        let s = &state["sessions"][w.pool_session(i)];
        assert_eq!(s["hooks"], true, "{state}");
        let receipt = &s["receipt"];
        assert!(
            receipt["agent_session_id"]
                .as_str()
                .unwrap()
                .starts_with("00000000-0000-4000-8000-"),
            "{state}"
        );
        assert!(receipt["transcript_path"]
            .as_str()
            .unwrap()
            .ends_with(".jsonl"));
        assert_eq!(receipt["nonce"], s["started"]["nonce"], "{state}");
        assert!(receipt["task"]
            .as_str()
            .unwrap()
            .ends_with(".md.dispatched"));
    }
}

#[test]
fn a_swallowed_enter_is_rescued_by_the_missing_receipt_and_the_task_arrives_once() {
    let mut w = hooked(1);
    let drop = w.path("drop-enter");
    w.agent_env
        .insert("AQ_AGENT_DROP_ENTER".into(), drop.display().to_string());
    // A turn that takes a second: time to set up the next task.
    w.agent_env.insert("AQ_AGENT_WORK".into(), "1".into());
    let p = w.project("p");
    w.task(&p, "first.md", "high", "first");
    w.start_pool();
    w.ok(&["scan"]);
    // The first receipt tells agent-queue that this session's hooks report.
    w.wait_until(WAIT, "the first receipt", || {
        w.state()["sessions"]["ccl-auto-1"]["hooks"] == true
    });
    // The next agent, which the first one's Stop hook brings, drops the
    // first Enter it is sent: no receipt comes, so it is pressed again.
    std::fs::write(&drop, "").unwrap();
    w.task(&p, "second.md", "high", "second");
    let got = w.wait_received(2, WAIT);
    assert!(got[1].text.starts_with("[second.md] second"), "{got:?}");
    assert!(!drop.exists(), "the agent dropped an Enter");
    w.wait_until(WAIT, "the session is idle at its shell", || {
        w.idle_at_shell("ccl-auto-1")
    });
    assert_eq!(w.received().len(), 2, "exactly once");
    let log = std::fs::read_to_string(w.path("state/agent-queue/recycle.log")).unwrap();
    assert!(!log.contains("failed"), "{log}");
    assert!(log.contains("dispatched"), "{log}");
    let receipt = &w.state()["sessions"]["ccl-auto-1"]["receipt"];
    assert!(receipt["task"].as_str().unwrap().contains("second.md"));
}

/// Runs `agent-queue hook` with `input` on stdin and `env`.
fn hook(w: &World, input: &[u8], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = w.std_cmd();
    cmd.arg("hook")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A hook that stops reading early closes the pipe: not an error here.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn input_that_is_not_a_hook_of_a_managed_session_is_exit_0_and_changes_nothing() {
    let w = World::new(1);
    let p = w.project("p");
    w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let before = std::fs::read(w.state_path()).ok();
    let stop = br#"{"session_id":"b6960bbd-4532-4ba7-9db8-bd485b898ee3","transcript_path":"/h/t.jsonl","cwd":"/tmp","hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"Done."}"#;
    let huge = vec![b' '; (1 << 20) + 10];
    type Env<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(&str, Vec<u8>, Env)> = vec![
        ("malformed", b"{ torn".to_vec(), vec![]),
        ("huge", huge, vec![]),
        ("no event name", br#"{"session_id":"x"}"#.to_vec(), vec![]),
        ("no tmux pane", stop.to_vec(), vec![]),
        (
            "a start agent-queue does not know",
            stop.to_vec(),
            vec![("AGENT_QUEUE_RUN", "0123456789abcdef")],
        ),
        (
            "a pane of no server",
            stop.to_vec(),
            vec![("TMUX", "/nonexistent/socket,1,0"), ("TMUX_PANE", "%0")],
        ),
    ];
    for (what, input, env) in cases {
        let out = hook(&w, &input, &env);
        expect_exit(&format!("hook: {what}"), &out, 0, "", || w.describe());
        assert_eq!(
            std::fs::read(w.state_path()).ok(),
            before,
            "{what}: the state changed"
        );
    }
    let out = hook(&w, b"{ torn", &[]);
    assert!(stderr(&out).contains("not JSON"), "{}", stderr(&out));
    let out = hook(&w, &vec![b'x'; (1 << 20) + 1], &[]);
    assert!(stderr(&out).contains("over 1 MiB"), "{}", stderr(&out));
    // No config at all: still exit 0, with a line that says why.
    let out = hook(&w, stop, &[("AGENT_QUEUE_CONFIG", "/nonexistent.toml")]);
    expect_exit("hook: no config", &out, 0, "/nonexistent.toml", || {
        w.describe()
    });
    assert!(w.received().is_empty());
}

#[test]
fn the_end_of_a_claude_code_the_agent_started_itself_is_not_its_tasks_end() {
    let w = hooked(1);
    let p = w.project("p");
    let t = w.task(&p, "t.md", "high", "x");
    // The agent works long enough for a child of its own to end first.
    let mut w = w;
    w.agent_env.insert("AQ_AGENT_WORK".into(), "30".into());
    w.start_pool();
    w.ok(&["dispatch", t.to_str().unwrap()]);
    w.wait_until(WAIT, "the receipt", || {
        w.state()["sessions"]["ccl-auto-1"]["receipt"].is_object()
    });
    let nonce = w.state()["sessions"]["ccl-auto-1"]["started"]["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    // A `claude -p` the agent ran inherits AGENT_QUEUE_RUN; its Stop hook
    // carries its own session id.
    let stop = br#"{"session_id":"11111111-2222-4333-8444-555555555555","transcript_path":"/t.jsonl","cwd":"/","hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"child done"}"#;
    let out = hook(&w, stop, &[("AGENT_QUEUE_RUN", &nonce)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(w.session_state("ccl-auto-1"), "working");
    assert!(w.agent_runs("ccl-auto-1"), "no /exit was typed");
}
