//! A profile's `env` (a second account's API key) reaches the agent and
//! nothing else: not a process's arguments (`ps -eo args`, sampled every
//! 10 ms through the whole launch), not the pane's screen or scrollback, not
//! the shell's history file (bash, `HISTFILE` set, `histappend`, and no
//! `HISTCONTROL`: the start line itself is recorded), not the state, the
//! journal, or what agent-queue prints; locally and through ssh.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::env::{sh_quote, stderr, stdout, World};
use crate::sshd::Hosts;

const SECRET: &str = "sk-ant-api03-Do-Not-Show-7f3a9cQZ0123456789";
const WAIT: Duration = Duration::from_secs(60);

/// `ps -eo args`, run again 10 ms after each run ends, until stopped.
struct Sampler {
    /// Whether a needle was given.
    needle: bool,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Samples>,
}

#[derive(Default)]
struct Samples {
    runs: usize,
    /// Lines that held the secret.
    leaks: Vec<String>,
    /// Runs that saw this test's start script running (its project, then
    /// `agent-queue-env-…`, are its last arguments): the samples covered
    /// the launch.
    saw_script: usize,
    /// Runs that saw a line with the needle given (the ssh to this
    /// test's sshd).
    saw_needle: usize,
}

impl Sampler {
    fn start(project: String, needle: Option<String>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let has_needle = needle.is_some();
        let handle = std::thread::spawn(move || {
            let mut s = Samples::default();
            while !flag.load(Ordering::SeqCst) {
                let out = Command::new("ps").args(["-eo", "args"]).output().unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                s.runs += 1;
                s.leaks.extend(
                    text.lines()
                        .filter(|l| l.contains(SECRET))
                        .map(String::from),
                );
                if text
                    .lines()
                    .any(|l| l.contains(&format!("{project} agent-queue-env-")))
                {
                    s.saw_script += 1;
                }
                if needle.as_ref().is_some_and(|n| text.contains(n.as_str())) {
                    s.saw_needle += 1;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            s
        });
        Sampler {
            needle: has_needle,
            stop,
            handle,
        }
    }

    fn finish(self) -> Samples {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

/// A world of one pool session running bash that records every command
/// line in its history file; the agent, through a wrapper that sleeps
/// first (a slow start: a long launch to sample), has the secret in its
/// profile's `env`. `tmux`: the pool's tmux prefix, when not the world's,
/// with the socket folder its server is in.
fn world(tmux: Option<(Vec<String>, PathBuf)>) -> World {
    let mut w = World::new(1);
    w.no_stop_hook();
    let wrapper = w.path("bin/agent-wrapper");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nsleep 1\nprintenv ANTHROPIC_API_KEY > {got}\n{agent} \"$@\"\n",
            got = sh_quote(&w.path("got-key").display().to_string()),
            agent = sh_quote(&crate::env::stand_in_agent().display().to_string()),
        ),
    )
    .unwrap();
    World::make_executable(&wrapper);
    let command = format!("{} --model {{model}}", wrapper.display());
    w.config(&format!(
        "[agent]\ncommand = {command:?}\nready_timeout = \"20s\"\nresume_dir = {:?}\n\
         env = {{ ANTHROPIC_API_KEY = {SECRET:?} }}\n",
        w.path("resume").display().to_string()
    ));
    if let Some((mut prefix, tmpdir)) = tmux {
        w.tmux_tmpdir = Some(tmpdir);
        prefix.extend(["tmux", "-L", &w.socket, "-f", "/dev/null"].map(String::from));
        w.pool_config(&format!("tmux = {prefix:?}"));
    }
    let rc = w.path("bashrc");
    fs::write(
        &rc,
        format!(
            "HISTFILE={}\nHISTSIZE=1000\nHISTFILESIZE=1000\nunset HISTCONTROL HISTIGNORE\n\
             shopt -s histappend\nPROMPT_COMMAND='history -a'\nPS1='$ '\n",
            sh_quote(&w.path("bash_history").display().to_string())
        ),
    )
    .unwrap();
    let rc = rc.display().to_string();
    w.start_session_running(
        &w.socket,
        &w.pool_session(1),
        &["/bin/bash", "--noprofile", "--rcfile", &rc, "-i"],
    );
    w
}

/// Dispatches one task, ends it, and looks everywhere for the secret;
/// `ssh`: the pool's tmux prefix, which the samples must see.
fn the_secret_reaches_the_agent_alone(w: &World, ssh: Option<Vec<String>>) {
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "Use the second account.");
    let sampler = Sampler::start(p.display().to_string(), ssh.map(|prefix| prefix.join(" ")));
    let ssh = sampler.needle;
    let out = w.ok(&["-v", "dispatch", task.to_str().unwrap()]);
    let got = w.wait_received(1, WAIT);
    let screen_with_task = scrollback(w);
    let out2 = w.ok(&["-v", "mark-idle", "ccl-auto-1", "--no-next"]);
    w.wait_until(WAIT, "the agent exited and bash recorded it", || {
        w.idle_at_shell("ccl-auto-1")
            && fs::read_to_string(w.path("bash_history"))
                .is_ok_and(|h| h.contains("agent-queue-env-"))
    });
    let samples = sampler.finish();

    assert!(got[0].text.contains("Use the second account."));
    assert_eq!(
        fs::read_to_string(w.path("got-key")).unwrap().trim(),
        SECRET,
        "the agent has the key"
    );
    assert!(samples.leaks.is_empty(), "in ps: {:?}", samples.leaks);
    if ssh {
        assert!(samples.saw_needle > 0, "ps never showed the ssh");
    }
    assert!(
        samples.saw_script >= 2,
        "the samples covered the launch: {} runs, {} with the start script",
        samples.runs,
        samples.saw_script
    );
    let history = fs::read_to_string(w.path("bash_history")).unwrap();
    for (what, text) in [
        ("the scrollback while the agent ran", screen_with_task),
        ("the scrollback after", scrollback(w)),
        ("the history file", history),
        ("the state", fs::read_to_string(w.state_path()).unwrap()),
        ("the journal", fs::read_to_string(w.history_path()).unwrap()),
        ("dispatch -v", format!("{}{}", stdout(&out), stderr(&out))),
        (
            "mark-idle -v",
            format!("{}{}", stdout(&out2), stderr(&out2)),
        ),
        ("status", stdout(&w.ok(&["-v", "status"]))),
        ("status --json", stdout(&w.ok(&["--json", "status"]))),
        ("tmux buffers", stdout(&w.tmux_ok(&["list-buffers"]))),
    ] {
        assert!(!text.contains(SECRET), "the secret is in {what}:\n{text}");
    }
    // `-v` names what the agent is given, never its value; a config that
    // others may read (the test's is 0644) is warned about, by name.
    let err = stderr(&out);
    assert!(
        err.contains("the agent's environment (ANTHROPIC_API_KEY) goes through a tmux buffer"),
        "{err}"
    );
    assert!(
        err.contains("sets env values (ANTHROPIC_API_KEY) and others may read it (mode 0644)"),
        "{err}"
    );
    // `status` names what the pool's agent is given.
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&w.ok(&["--json", "status"]))).unwrap();
    assert_eq!(
        status["pools"][0]["env"],
        serde_json::json!(["ANTHROPIC_API_KEY"])
    );
    assert!(stdout(&w.ok(&["status"])).contains("(env ANTHROPIC_API_KEY)"));
    assert!(
        stdout(&w.tmux_ok(&["list-buffers"])).is_empty(),
        "the start script deleted its buffer"
    );
}

/// The pane's whole scrollback.
fn scrollback(w: &World) -> String {
    stdout(&w.tmux_ok(&["capture-pane", "-p", "-J", "-S", "-", "-t", "=ccl-auto-1:"]))
}

#[test]
fn a_profile_secret_reaches_the_agent_and_nothing_else() {
    the_secret_reaches_the_agent_alone(&world(None), None);
}

#[test]
#[ignore = "starts a private sshd, which as root needs /run/sshd"]
fn a_profile_secret_reaches_an_agent_behind_ssh_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = Hosts::start(dir.path(), &["box1"]);
    let mut prefix = hosts.ssh_command();
    prefix.push("box1".into());
    let w = world(Some((prefix.clone(), hosts.tmux_tmpdir("box1"))));
    the_secret_reaches_the_agent_alone(&w, Some(prefix));
}

#[test]
fn an_agent_that_prints_its_secret_is_quoted_without_it() {
    let mut w = World::new(1);
    w.config(&format!(
        "[agent]\ncommand = \"echo \\\"bad key: $ANTHROPIC_API_KEY\\\"; exit 1\"\n\
         resume_dir = {:?}\nenv = {{ ANTHROPIC_API_KEY = {SECRET:?} }}\n",
        w.path("resume").display().to_string()
    ));
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let out = w.fails(
        &["dispatch", task.to_str().unwrap()],
        3,
        "bad key: $ANTHROPIC_API_KEY",
    );
    assert!(!stderr(&out).contains(SECRET), "{}", stderr(&out));
    let journal = fs::read_to_string(w.history_path()).unwrap();
    assert!(journal.contains("bad key: $ANTHROPIC_API_KEY"), "{journal}");
    assert!(!journal.contains(SECRET), "{journal}");
}
