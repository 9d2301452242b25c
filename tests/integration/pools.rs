//! Several pools: routing by `pool:` and `needs_claude_code`, accounts, and
//! a pool on "another host" behind a stand-in for ssh that, like ssh, joins
//! its arguments into one line that a shell parses again.

use std::process::Command;
use std::time::Duration;

use crate::env::{json_lines, stderr, World};

const WAIT: Duration = Duration::from_secs(60);

/// Kills a second tmux server when the test ends, pass or fail.
pub(crate) struct Server(pub(crate) String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.0, "-f", "/dev/null", "kill-server"])
            .output();
    }
}

fn task_with(p: &std::path::Path, name: &str, header: &str, body: &str) {
    std::fs::write(
        p.join(".agent-queue/inbox").join(name),
        format!("---\n{header}\n---\n{body}\n"),
    )
    .unwrap();
}

#[test]
fn tasks_go_to_the_pool_they_name_and_to_agents_they_may_use() {
    let mut w = World::new(1);
    w.no_stop_hook();
    w.config(&format!(
        "[pools.b]\nprefix = \"b-\"\nstart = 1\nsize = 1\naccount = \"max-b\"\n\
         [pools.codex]\nprefix = \"c-\"\nstart = 1\nsize = 1\nagent = \"codex\"\n\
         [agents.codex]\ncommand = {:?}\nclaude_code = false\nready_timeout = \"10s\"\n",
        w.agent_command()
    ));
    let p = w.project("p");
    task_with(&p, "pinned.md", "priority: critical\npool: b", "pinned");
    task_with(&p, "any.md", "priority: high", "any");
    task_with(&p, "plain.md", "needs_claude_code: false", "plain");
    task_with(&p, "more.md", "priority: low", "more");
    for s in ["ccl-auto-1", "b-1", "c-1"] {
        w.start_session(s);
    }
    w.ok(&["--json", "scan"]);
    let got = w.wait_received(3, WAIT);
    let mut by_session: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            (
                r.session.clone(),
                r.text.lines().next().unwrap().to_string(),
            )
        })
        .collect();
    by_session.sort();
    assert_eq!(
        by_session,
        [
            ("b-1".to_string(), "[pinned.md] pinned".to_string()),
            ("c-1".into(), "[plain.md] plain".into()),
            ("ccl-auto-1".into(), "[any.md] any".into()),
        ]
    );
    // `more` needs Claude Code: the codex pool may not take it, and the
    // others are busy.
    assert!(p.join(".agent-queue/inbox/more.md").exists());
    let plan = json_lines(&w.run(&["--json", "scan", "--dry-run"]));
    assert_eq!(plan[0]["event"], "waiting", "{plan:?}");
    assert!(
        plan[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no free session in pool(s) default, b"),
        "{plan:?}"
    );
    let status: serde_json::Value =
        serde_json::from_str(&crate::env::stdout(&w.run(&["--json", "status"]))).unwrap();
    let pools: Vec<(&str, &str, &str)> = status["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pool"].as_str().unwrap(),
                p["account"].as_str().unwrap(),
                p["agent"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pools,
        [
            ("default", "default", "default"),
            ("b", "max-b", "default"),
            ("codex", "codex", "codex")
        ]
    );
    w.fails(&["free-session", "--pool", "nope"], 2, "");
}

#[test]
fn an_old_style_tmux_prefix_that_runs_ssh_works_like_a_local_pool() {
    let mut w = World::new(1);
    let far = Server(format!("{}-far", w.socket));
    // The way a remote pool was written before `host`: a `tmux` prefix
    // whose program is named `ssh` (the one thing that says so; any other
    // name goes through `[ssh] command` and `host`, tests in hosts.rs).
    // Like ssh: the host, then every other argument joined with spaces
    // into one command line for the "remote" shell.
    let ssh = w.path("bin/ssh");
    std::fs::write(&ssh, "#!/bin/sh\nshift\nexec sh -c \"$*\"\n").unwrap();
    World::make_executable(&ssh);
    w.config(&format!(
        "[pools.far]\nprefix = \"far-\"\nstart = 1\nsize = 1\n\
         tmux = [{:?}, \"box2\", \"tmux\", \"-L\", {:?}, \"-f\", \"/dev/null\"]\n",
        ssh.display().to_string(),
        far.0
    ));
    let p = w.project("p");
    let body = "two  spaces, a # hash, $HOME and 'quotes'; then more";
    task_with(&p, "one.md", "pool: far", body);
    task_with(&p, "two.md", "pool: far\npriority: low", "second");
    w.start_session_on(&far.0, "far-1");
    let out = w.ok(&["--json", "scan"]);
    let events = json_lines(&out);
    assert_eq!(events[0]["session"], "far-1", "{events:?}");
    // The Stop hook in the far pane recycles it through the same prefix
    // and the second task follows.
    let got = w.wait_received(2, WAIT);
    assert_eq!(got[0].session, "far-1");
    assert_eq!(
        got[0].text.lines().next().unwrap(),
        format!("[one.md] {body}")
    );
    assert!(got[1].text.starts_with("[two.md] second"), "{got:?}");
    let status = crate::env::stdout(&w.run(&["status"]));
    assert!(status.contains("box2"), "{status}");
}

#[test]
fn a_task_no_pool_may_take_is_named_by_scan_and_refused_by_dispatch() {
    let w = World::new(1);
    let p = w.project("p");
    task_with(&p, "typo.md", "pool: defualt", "x");
    w.start_pool();
    let out = w.ok(&["scan"]);
    let err = stderr(&out);
    assert!(
        err.contains("typo.md waits: it names pool `defualt`, and there is none (default)"),
        "{err}"
    );
    let typo = p.join(".agent-queue/inbox/typo.md");
    w.fails(&["dispatch", typo.to_str().unwrap()], 2, "pool `defualt`");
    assert!(typo.exists());
}
