//! Hands off the operator: a real tmux client attached to a pool session
//! (`tmux attach` running in a pane of a second private server, typed into
//! through that server as a person's terminal would be), copy mode, and a
//! draft in the agent's input.

use std::process::Command;
use std::time::Duration;

use crate::env::{events_named, json_lines, stderr, World};

const WAIT: Duration = Duration::from_secs(20);

/// A person's terminal: a session of its own tmux server whose pane runs
/// `tmux attach` to a pool session. Keys typed into it reach the pool's
/// server as a client's input. Its server is killed on drop.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn attach(w: &World, session: &str) -> Terminal {
        let t = Terminal {
            socket: format!("{}-person", w.socket),
        };
        let attach = format!(
            "env -u TMUX tmux -L {} -f /dev/null attach -t ={session}",
            w.socket
        );
        t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "term",
            "-x",
            "120",
            "-y",
            "40",
            &attach,
        ]);
        w.wait_until(WAIT, &format!("a client is attached to {session}"), || {
            let out = w.tmux_output(&["list-clients", "-F", "#{client_session}"]);
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l == session)
        });
        t
    }

    fn tmux(&self, args: &[&str]) {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux {args:?}: {}", stderr(&out));
    }

    /// A key and its undoing: the client had input, and the pane's input
    /// line is as it was.
    fn fidget(&self) {
        self.tmux(&["send-keys", "-t", "=term:", "x", "BSpace"]);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// `status --json`'s row of `session`.
fn row(w: &World, session: &str) -> serde_json::Value {
    let out = w.ok(&["--json", "status"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session"] == session)
        .cloned()
        .unwrap()
}

fn operator(w: &World, session: &str) -> Option<String> {
    row(w, session)["operator"].as_str().map(str::to_string)
}

/// Whether agent-queue ever typed into `session`: its start line carries
/// `agent-queue` and the pane option is set by what it starts.
fn untouched(w: &World, session: &str) -> bool {
    w.pane_mark(session).is_none() && !w.screen(session).contains("agent-queue")
}

#[test]
fn a_scan_leaves_a_session_whose_client_just_typed_and_uses_it_once_hands_off_passed() {
    let mut w = World::new(2);
    w.pool_config("hands_off = \"5s\"");
    let project = w.project("p");
    w.start_pool();
    let s1 = w.pool_session(1);
    let s2 = w.pool_session(2);
    let person = Terminal::attach(&w, &s1);
    // Attaching is the client's first input; it ages like any other.
    w.wait_until(WAIT, "the attach is older than hands_off", || {
        operator(&w, &s1).is_none()
    });
    person.fidget();
    let held = operator(&w, &s1).expect("status says an operator holds it");
    assert!(held.contains("an operator is at it"), "{held}");
    // The human table says it too, for an idle session.
    let table = crate::env::stdout(&w.ok(&["status"]));
    assert!(
        table.contains("idle, not free: an operator is at it"),
        "{table}"
    );
    w.task(&project, "first.md", "default", "first");
    let out = w.ok(&["-v", "scan"]);
    assert!(
        stderr(&out).contains(&format!("{s1} is held by an operator")),
        "scan -v says which session is held: {}",
        stderr(&out)
    );
    let got = w.wait_received(1, WAIT);
    assert_eq!(got[0].session, s2, "the task went to the other session");
    assert!(
        untouched(&w, &s1),
        "nothing was typed into {s1}:\n{}",
        w.describe()
    );
    w.wait_all_idle(WAIT);

    // Once the client has been quiet for hands_off, the session is the
    // pool's again: the next task goes to the first free session, s1.
    w.wait_until(WAIT, "hands_off passed", || operator(&w, &s1).is_none());
    w.task(&project, "second.md", "default", "second");
    w.ok(&["scan"]);
    let got = w.wait_received(2, WAIT);
    assert_eq!(got[1].session, s1, "{}", w.describe());
    // agent-queue's own keys (the start line, the paste, Enter, /exit) are
    // no client's input: the session is not held by them.
    w.wait_all_idle(WAIT);
    assert_eq!(operator(&w, &s1), None, "{}", w.describe());
    assert_eq!(row(&w, &s1)["free"], true, "{}", w.describe());
}

#[test]
fn a_pane_in_copy_mode_gets_no_task_until_it_leaves_the_mode() {
    let w = World::new(1);
    let project = w.project("p");
    w.start_pool();
    let s1 = w.pool_session(1);
    w.tmux_ok(&["copy-mode", "-t", &format!("={s1}:")]);
    w.task(&project, "t.md", "default", "copied");
    w.ok(&["scan"]);
    assert_eq!(w.inbox(&project), ["t.md"], "the task waits");
    assert!(untouched(&w, &s1), "{}", w.describe());
    let held = operator(&w, &s1).expect("status says why");
    assert!(held.contains("copy-mode"), "{held}");

    w.tmux_ok(&["send-keys", "-t", &format!("={s1}:"), "-X", "cancel"]);
    w.ok(&["scan"]);
    let got = w.wait_received(1, WAIT);
    assert_eq!(got[0].session, s1);
}

#[test]
fn a_draft_in_the_agents_input_fails_the_launch_without_a_cooldown() {
    let mut w = World::new(1);
    w.agent_env
        .insert("AQ_AGENT_DRAFT".into(), "half a thought".into());
    let project = w.project("p");
    w.start_pool();
    let s1 = w.pool_session(1);
    w.task(&project, "t.md", "default", "the task");
    let out = w.fails(&["--json", "scan"], 3, "already holds text");
    let failed = json_lines(&out);
    let failed = events_named(&failed, "failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("\"half a thought\"") && reason.contains("no cooldown"),
        "{reason}"
    );
    assert_eq!(w.inbox(&project), ["t.md"], "the task is back");
    assert!(w.received().is_empty(), "nothing was sent");
    let r = row(&w, &s1);
    assert_eq!(r["cooldown_left"], 0, "{r}");
    assert!(w.state()["sessions"][&s1]["last_fail"].is_null());
}

#[test]
fn a_recycle_that_meets_the_operator_types_nothing_and_a_later_scan_finishes_it() {
    let mut w = World::new(1);
    w.pool_config("hands_off = \"5s\"");
    w.agent_env.insert("AQ_AGENT_WORK".into(), "2".into());
    let project = w.project("p");
    w.start_pool();
    let s1 = w.pool_session(1);
    let person = Terminal::attach(&w, &s1);
    w.wait_until(WAIT, "the attach is older than hands_off", || {
        operator(&w, &s1).is_none()
    });
    w.task(&project, "first.md", "default", "first");
    w.task(&project, "second.md", "low", "second");
    w.ok(&["scan"]);
    w.wait_received(1, WAIT);
    // The person looks in while the agent works; its Stop hook comes.
    person.fidget();
    w.wait_until(WAIT, "the recycle waits for the operator", || {
        w.state()["sessions"][&s1]["recycle_deferred"].is_string()
    });
    assert!(w.agent_runs(&s1), "no /exit was typed:\n{}", w.describe());
    assert_eq!(w.received().len(), 1, "no next task either");
    assert!(!w.screen(&s1).contains("/exit"), "{}", w.describe());

    // A scan while they are still there changes nothing.
    person.fidget();
    w.ok(&["scan"]);
    assert!(w.agent_runs(&s1), "{}", w.describe());
    assert_eq!(w.received().len(), 1, "{}", w.describe());
    // Once they left it alone for hands_off, a scan recycles it and gives
    // it the next task.
    w.wait_until(WAIT, "hands_off passed", || operator(&w, &s1).is_none());
    w.ok(&["scan"]);
    let got = w.wait_received(2, WAIT);
    assert_eq!(got[1].session, s1);
    assert!(got[1].text.contains("second"), "{:?}", got[1]);
}

#[test]
fn hands_off_is_a_pool_setting() {
    let mut w = World::new(1);
    w.pool_config("hands_off = \"soon\"");
    w.fails(&["status"], 2, "hands_off");
}

#[test]
fn a_launch_cut_off_after_its_paste_gets_no_enter_while_an_operator_holds_its_pane() {
    let mut w = World::new(1);
    // The paste does not show, so the launch waits in its "pasted" stage.
    w.agent_env.insert("AQ_AGENT_NOECHO".into(), "1".into());
    w.no_stop_hook();
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "the task");
    w.start_pool();
    let s1 = w.pool_session(1);
    let target = format!("={s1}:");
    crate::guarantees::kill_dispatch_at(&w, &task, &s1, "pasted", || true);
    // vi's copy-mode keys end copy mode on Enter (emacs's have no Enter),
    // so an Enter sent to the pane would show below as the mode gone.
    w.tmux_ok(&["set-option", "-g", "mode-keys", "vi"]);
    w.tmux_ok(&["copy-mode", "-t", &target]);
    let out = w.ok(&["scan"]);
    assert!(
        stderr(&out).contains("an operator has its pane in copy-mode")
            && stderr(&out).contains("press Enter there"),
        "{}",
        stderr(&out)
    );
    // An Enter sent now would have ended copy mode (copy-selection-and-cancel).
    let mode = w.tmux_ok(&["display-message", "-p", "-t", &target, "#{pane_mode}"]);
    assert_eq!(String::from_utf8_lossy(&mode.stdout).trim(), "copy-mode");
    assert_eq!(
        w.session_state(&s1),
        "working",
        "the task stays with its agent"
    );
    assert!(w.received().is_empty());

    // The operator leaves copy mode and presses Enter.
    w.tmux_ok(&["send-keys", "-t", &target, "-X", "cancel"]);
    w.tmux_ok(&["send-keys", "-t", &target, "Enter"]);
    let got = w.wait_received(1, WAIT);
    assert!(got[0].text.starts_with("[t.md] the task"), "{:?}", got[0]);
}

#[test]
fn a_pane_put_in_copy_mode_during_a_launch_gets_no_paste_and_no_cooldown() {
    let mut w = World::new(1);
    w.agent_env.insert("AQ_AGENT_START".into(), "1".into());
    let p = w.project("p");
    let task = w.task(&p, "t.md", "default", "the task");
    w.start_pool();
    let s1 = w.pool_session(1);
    let dispatch = w
        .std_cmd()
        .args(["dispatch", task.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until_typed(&w, &s1);
    w.tmux_ok(&["copy-mode", "-t", &format!("={s1}:")]);
    let out = dispatch.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("an operator has its pane in copy-mode (seen when its agent was ready)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.inbox(&p), ["t.md"]);
    // Not taken, and not waiting in the agent's input either (it echoes
    // a paste; the launch has ended, so none can come later).
    assert!(w.received().is_empty());
    assert!(!w.screen(&s1).contains("the task"), "{}", w.screen(&s1));
    assert_eq!(row(&w, &s1)["cooldown_left"], 0);
}

#[test]
fn an_operator_who_attaches_during_a_launch_gets_no_paste_and_no_cooldown() {
    let mut w = World::new(1);
    w.agent_env.insert("AQ_AGENT_START".into(), "1".into());
    let p = w.project("p");
    w.task(&p, "t.md", "default", "the task");
    w.start_pool();
    let s1 = w.pool_session(1);
    let scan = w
        .std_cmd()
        .arg("scan")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until_typed(&w, &s1);
    let _person = Terminal::attach(&w, &s1);
    let out = scan.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("an operator is at it")
            && stderr(&out).contains("nothing was pasted")
            && stderr(&out).contains("no cooldown"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.inbox(&p), ["t.md"]);
    // Not taken, and not waiting in the agent's input either (it echoes
    // a paste; the launch has ended, so none can come later).
    assert!(w.received().is_empty());
    assert!(!w.screen(&s1).contains("the task"), "{}", w.screen(&s1));
    assert_eq!(row(&w, &s1)["cooldown_left"], 0);
}

/// Waits until the launch into `session` has typed its start line (the
/// stage its launch lock notes), and no further.
fn until_typed(w: &World, session: &str) {
    let lock = w.path(&format!(
        "state/agent-queue/state.json.launches/{session}.lock"
    ));
    w.wait_until(WAIT, "the start line was typed", || {
        std::fs::read_to_string(&lock).unwrap_or_default() == "typed"
    });
}
