//! Pools on other hosts, through a real OpenSSH server per host (`sshd`):
//! the whole cycle (dispatch, the agents' receipts and Stop hooks back to
//! agent-queue through ssh, recycle), one shared connection per host, a
//! remote tmux server that restarts, a host that goes silent, and a
//! program with ssh's convention that is not called `ssh`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::{events_named, json_lines, sh_quote, stderr, World};
use crate::sshd::Hosts;

const WAIT: Duration = Duration::from_secs(60);

/// A tmux server on its own socket, "on" a host: in the socket folder
/// (`$TMUX_TMPDIR`) that the host's sshd gives the commands it runs, so
/// that only a call that went through ssh reaches it. Killed when the test
/// ends.
pub struct Remote {
    pub socket: String,
    pub tmpdir: PathBuf,
}

impl Remote {
    pub fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .env("TMUX_TMPDIR", &self.tmpdir)
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap()
    }

    /// Starts session `name` at a shell on this server.
    pub fn start(&self, w: &World, name: &str) {
        w.start_session_at(Some(&self.tmpdir), &self.socket, name, &["/bin/sh"]);
        let here = Command::new("tmux")
            .env_remove("TMUX_TMPDIR")
            .args(["-L", &self.socket, "-f", "/dev/null", "has-session"])
            .args(["-t", &format!("={name}")])
            .output()
            .unwrap();
        assert!(
            !here.status.success(),
            "{name} is reachable by a tmux run here, not on its host"
        );
    }

    fn mark(&self, session: &str) -> String {
        let out = self.tmux(&[
            "display-message",
            "-p",
            "-t",
            &format!("={session}:"),
            "#{@agent-queue}",
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn agent_runs(&self, session: &str) -> bool {
        self.mark(session).split_whitespace().nth(1) == Some("run")
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// How agent-queue reaches the hosts.
#[derive(Clone, Copy, PartialEq)]
pub enum Reach {
    Ssh,
    /// A program with ssh's convention that is not called ssh: a wrapper
    /// that adds its own options.
    Wrapper,
}

/// A world with no local pool session, hosts `box1`, `box2` and
/// `coordinator` (where agent-queue's state is), a pool of `size` on each
/// box (`b1-`, `b2-`), and agents whose hooks go back to the coordinator
/// through ssh, naming their start only by `AGENT_QUEUE_RUN`, as the README
/// shows it.
pub fn two_hosts(size: u32, reach: Reach) -> (World, Hosts, [Remote; 2]) {
    let mut w = World::new(0);
    let hosts = Hosts::start(w.dir.path(), &["box1", "box2", "coordinator"]);
    let ssh = match reach {
        Reach::Ssh => hosts.ssh_command(),
        Reach::Wrapper => {
            let wrapper = w.path("bin/reach");
            std::fs::write(
                &wrapper,
                format!(
                    "#!/bin/sh\nexec ssh -F {} \"$@\"\n",
                    sh_quote(&hosts.ssh_config().display().to_string())
                ),
            )
            .unwrap();
            World::make_executable(&wrapper);
            vec![wrapper.display().to_string()]
        }
    };
    let remotes = ["box1", "box2"].map(|host| Remote {
        socket: format!("{}-{host}", w.socket),
        tmpdir: hosts.tmux_tmpdir(host),
    });
    let toml_list = |v: &[String]| {
        let items: Vec<String> = v.iter().map(|a| format!("{a:?}")).collect();
        format!("[{}]", items.join(", "))
    };
    let mut config = format!(
        "[state]\nfile = {:?}\n[ssh]\ncommand = {}\ntimeout = \"2s\"\n",
        w.state_path().display().to_string(),
        toml_list(&ssh)
    );
    for (i, r) in remotes.iter().enumerate() {
        let n = i + 1;
        config.push_str(&format!(
            "[pools.b{n}]\nprefix = \"b{n}-\"\nstart = 1\nsize = {size}\nhost = \"box{n}\"\n\
             tmux = [\"tmux\", \"-L\", {:?}, \"-f\", \"/dev/null\"]\ncooldown = \"1m\"\n",
            r.socket
        ));
    }
    w.config(&config);
    // The hook as an agent on another host runs it: ssh back to the
    // coordinator, the start's identity passed along, nothing else (no
    // $TMUX_PANE, no XDG folders: sshd gives the command its own
    // environment).
    let hook = format!(
        "{} coordinator env AGENT_QUEUE_RUN=\"$AGENT_QUEUE_RUN\" {} --config {} -q hook",
        ssh.iter()
            .map(|a| sh_quote(a))
            .collect::<Vec<_>>()
            .join(" "),
        sh_quote(&crate::env::bin().display().to_string()),
        sh_quote(&w.config_path().display().to_string())
    );
    w.no_stop_hook();
    w.agent_env.insert("AQ_HOOK".into(), hook);
    (w, hosts, remotes)
}

fn pinned(p: &Path, name: &str, pool: &str, body: &str) {
    std::fs::write(
        p.join(".agent-queue/inbox").join(name),
        format!("---\npool: {pool}\n---\n{body}\n"),
    )
    .unwrap();
}

/// Bodies a remote shell would read as code if one quote went missing.
const BODIES: [&str; 4] = [
    "it's \"quoted\" and $(touch /tmp/aq-never-1)",
    "`touch /tmp/aq-never-2` and a #{session_name} tmux format",
    "a ; b && c | d > e",
    "#{pane_id} $HOME \\ back\\slash",
];

#[test]
fn two_hosts_run_the_whole_cycle_over_one_connection_each_through_a_wrapper() {
    let (w, hosts, remotes) = two_hosts(1, Reach::Wrapper);
    let p = w.project("p");
    for (i, body) in BODIES.iter().enumerate() {
        let pool = if i % 2 == 0 { "b1" } else { "b2" };
        pinned(&p, &format!("t{i}.md"), pool, body);
        w.set_age(
            &p.join(".agent-queue/inbox").join(format!("t{i}.md")),
            Duration::from_secs(100 - i as u64),
        );
    }
    remotes[0].start(&w, "b1-1");
    remotes[1].start(&w, "b2-1");
    let out = w.ok(&["--json", "scan"]);
    let dispatched = events_named(&json_lines(&out), "dispatched").len();
    assert!(dispatched >= 2, "{}", stderr(&out));
    // The [tmux] command server holds no session here: never asked (no
    // server runs on its socket, which would be a warning).
    assert!(
        !stderr(&out).contains("no server running"),
        "{}",
        stderr(&out)
    );
    // The Stop hooks come back through ssh, recycle each session, and the
    // next task follows, on each host.
    let got = w.wait_received(4, WAIT);
    w.wait_until(WAIT, "both agents are back at their shells", || {
        !remotes[0].agent_runs("b1-1") && !remotes[1].agent_runs("b2-1")
    });
    w.wait_until(WAIT, "both sessions are idle", || {
        w.session_state("b1-1") == "idle" && w.session_state("b2-1") == "idle"
    });
    let mut texts: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            let first = r.text.lines().next().unwrap().to_string();
            (r.session.clone(), first)
        })
        .collect();
    texts.sort();
    let want: Vec<(String, String)> = [(0, "b1-1"), (2, "b1-1"), (1, "b2-1"), (3, "b2-1")]
        .iter()
        .map(|(i, s)| (s.to_string(), format!("[t{i}.md] {}", BODIES[*i])))
        .collect();
    let mut want = want;
    want.sort();
    assert_eq!(texts, want, "{}", w.describe());
    assert_eq!(w.received().len(), 4, "each task once");
    assert!(!Path::new("/tmp/aq-never-1").exists() && !Path::new("/tmp/aq-never-2").exists());
    // Receipts came back through ssh too.
    let state = w.state();
    for s in ["b1-1", "b2-1"] {
        assert_eq!(state["sessions"][s]["hooks"], true, "{state}");
        assert_eq!(
            state["sessions"][s]["receipt"]["nonce"], state["sessions"][s]["started"]["nonce"],
            "{state}"
        );
    }
    let done = w.journal().iter().filter(|l| l["event"] == "done").count();
    assert_eq!(done, 4, "{:?}", w.journal());
    // Two scans, four hooks' recycles, four next tasks: one connection to
    // each box, shared by every tmux call of every invocation.
    assert_eq!(
        hosts.host("box1").connections(),
        1,
        "{}",
        hosts.host("box1").log_text()
    );
    assert_eq!(
        hosts.host("box2").connections(),
        1,
        "{}",
        hosts.host("box2").log_text()
    );
    let status = crate::env::stdout(&w.ok(&["status"]));
    assert!(status.contains("box1: tmux -L"), "{status}");
    assert!(!status.contains("unreachable"), "{status}");
}

#[test]
fn a_remote_tmux_server_that_restarts_gives_its_task_back_and_gets_it_again() {
    let (mut w, _hosts, remotes) = two_hosts(1, Reach::Ssh);
    w.agent_env.insert("AQ_AGENT_WORK".into(), "600".into());
    let p = w.project("p");
    pinned(&p, "long.md", "b1", "a long task");
    remotes[0].start(&w, "b1-1");
    w.ok(&["scan"]);
    w.wait_received(1, WAIT);
    w.wait_until(WAIT, "b1-1 holds its task", || {
        w.session_state("b1-1") == "working"
    });
    // The host's tmux server goes away and comes back, its session made
    // again under the same name: a new pane.
    remotes[0].tmux(&["kill-server"]);
    w.wait_until(WAIT, "the old server is gone", || {
        let out = remotes[0].tmux(&["list-sessions"]);
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no server")
    });
    w.agent_env.insert("AQ_AGENT_WORK".into(), "0".into());
    remotes[0].start(&w, "b1-1");
    let out = w.ok(&["--json", "scan"]);
    let events = json_lines(&out);
    assert_eq!(events_named(&events, "recovered").len(), 1, "{events:?}");
    assert_eq!(events_named(&events, "dispatched").len(), 1, "{events:?}");
    let got = w.wait_received(2, WAIT);
    assert!(got[1].text.starts_with("[long.md] a long task"), "{got:?}");
}

#[test]
fn a_silent_host_costs_one_bounded_wait_keeps_its_tasks_and_delays_no_other_host() {
    // Four sessions a host: a wait per session would take 8 s on box2.
    let (mut w, hosts, remotes) = two_hosts(4, Reach::Ssh);
    // The agents keep their tasks: no hook ends them by itself here.
    w.agent_env.insert("AQ_HOOK".into(), String::new());
    let p = w.project("p");
    pinned(&p, "far.md", "b2", "held on box2");
    pinned(&p, "near.md", "b1", "held on box1");
    for (r, prefix) in remotes.iter().zip(["b1-", "b2-"]) {
        for i in 1..=4 {
            r.start(&w, &format!("{prefix}{i}"));
        }
    }
    w.ok(&["scan"]);
    w.wait_received(2, WAIT);
    let state = w.state();
    let holder = |prefix: &str| {
        ["1", "2", "3", "4"]
            .map(|i| format!("{prefix}{i}"))
            .into_iter()
            .find(|s| state["sessions"][s]["phase"] == "working")
            .unwrap_or_else(|| panic!("no {prefix} session holds a task: {state}"))
    };
    let (near, far) = (holder("b1-"), holder("b2-"));
    let near_run = state["sessions"][&near]["started"]["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    hosts.host("box2").silence();
    pinned(&p, "more.md", "b1", "for box1");
    pinned(&p, "waits.md", "b2", "for box2");
    // A scan meets the silent host while the agent on box1 ends its turn:
    // its Stop hook is not held up by box2.
    let start = Instant::now();
    let scan = w
        .std_cmd()
        .args(["--json", "scan"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let hook_start = Instant::now();
    let mut hook = w
        .std_cmd()
        .args(["-q", "hook"])
        .env("AGENT_QUEUE_RUN", &near_run)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    hook.stdin
        .take()
        .unwrap()
        .write_all(
            br#"{"session_id":"s","transcript_path":"/tmp/t.jsonl","cwd":"/tmp","hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"done"}"#,
        )
        .unwrap();
    assert!(hook.wait().unwrap().success());
    let hook_took = hook_start.elapsed();
    let out = scan.wait_with_output().unwrap();
    let scan_took = start.elapsed();
    hosts.host("box2").wake();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("box2 is unreachable"), "{err}");
    // One bounded wait ([ssh] timeout = 2s), not one per session of box2
    // (4 of them: 8 s).
    assert!(
        scan_took < Duration::from_millis(4500),
        "{scan_took:?}: {err}"
    );
    // Well under the 2 s the scan spends on box2.
    assert!(
        hook_took < Duration::from_millis(1500),
        "{hook_took:?} (scan: {scan_took:?})"
    );
    let events = json_lines(&out);
    assert!(events_named(&events, "recovered").is_empty(), "{events:?}");
    assert!(
        events_named(&events, "dispatched")
            .iter()
            .all(|e| e["session"].as_str().unwrap().starts_with("b1-")),
        "{events:?}"
    );
    // box1's task went out all the same (by this scan, or by the recycle
    // the Stop hook started, whichever came first), and only it.
    let got = w.wait_received(3, WAIT);
    assert!(got[2].text.contains("for box1"), "{got:?}");
    assert!(got[2].session.starts_with("b1-"), "{got:?}");
    assert!(p.join(".agent-queue/inbox/waits.md").exists());
    assert_eq!(w.session_state(&far), "working", "{}", w.describe());
    // Awake again: nothing was lost, and the next scan reaches it.
    let out = w.ok(&["--json", "scan"]);
    let events = json_lines(&out);
    assert!(events_named(&events, "recovered").is_empty(), "{events:?}");
    assert_eq!(w.session_state(&far), "working", "{}", w.describe());
}

#[test]
fn status_names_a_silent_host_unreachable() {
    let (w, hosts, remotes) = two_hosts(1, Reach::Ssh);
    remotes[0].start(&w, "b1-1");
    remotes[1].start(&w, "b2-1");
    hosts.host("box1").silence();
    let start = Instant::now();
    let out = w.ok(&["--json", "status"]);
    hosts.host("box1").wake();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    let status: serde_json::Value = serde_json::from_str(&crate::env::stdout(&out)).unwrap();
    let reach: Vec<(String, bool)> = status["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pool"].as_str().unwrap().to_string(),
                p["reachable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(reach, [("b1".to_string(), false), ("b2".into(), true)]);
    let _ = remotes;
}
