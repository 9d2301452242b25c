//! Knowing what each pane runs: agents started through wrappers, shims and
//! `env`; a tmux server that restarts; a second tmux server; text left on a
//! shell's input line; agents that exit early or without their Stop hook;
//! concurrent `mark-idle`; programs agent-queue did not start.

use std::fs;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::env::{events_named, expect_exit, json_lines, sh_quote, stand_in_agent, stderr, World};
use crate::guarantees::kill_dispatch_at;

const WAIT: Duration = Duration::from_secs(60);

/// An executable script in the world's `bin/`.
fn script(w: &World, name: &str, text: &str) -> PathBuf {
    let path = w.path(&format!("bin/{name}"));
    fs::write(&path, text).unwrap();
    World::make_executable(&path);
    path
}

/// A wrapper as operators have them: a version manager's shim or a setup
/// script, `#!/usr/bin/env bash`, that takes a moment and runs the agent
/// without `exec` (so tmux shows `bash`, then the agent under it).
fn slow_bash_wrapper(w: &World) -> String {
    let path = script(
        w,
        "agent-wrapper",
        &format!(
            "#!/usr/bin/env bash\nsleep 0.2\n{} \"$@\"\nstatus=$?\nexit $status\n",
            sh_quote(&stand_in_agent().display().to_string())
        ),
    );
    format!(
        "{} --model {{model}}",
        sh_quote(&path.display().to_string())
    )
}

fn with_agent(w: &mut World, command: &str) {
    w.config(&format!(
        "[agent]\ncommand = {command:?}\nready_timeout = \"10s\"\nresume_dir = \"/nonexistent\"\n"
    ));
}

/// `tasks` tasks through three sessions, each agent's Stop hook recycling
/// its session for the next: every launch succeeds, every task arrives once.
fn many_launches_without_a_false_failure(command: impl Fn(&World) -> String, tasks: usize) {
    let mut w = World::new(3);
    let command = command(&w);
    with_agent(&mut w, &command);
    let p = w.project("p");
    for i in 0..tasks {
        w.task(&p, &format!("t{i:02}.md"), "default", &format!("task {i}"));
    }
    w.start_pool();
    // The scan takes the first three; a fast agent may end its task while
    // the scan still runs, and the scan's second pass gives that session
    // its next one.
    let by_scan = events_named(&json_lines(&w.ok(&["--json", "scan"])), "dispatched").len();
    w.wait_received(tasks, WAIT);
    w.wait_all_idle(WAIT);
    let log = fs::read_to_string(w.path("state/agent-queue/recycle.log")).unwrap_or_default();
    assert!(!log.contains("failed"), "{log}");
    let recycled = log
        .lines()
        .filter(|l| l.starts_with("agent-queue: dispatched "))
        .count();
    assert!(by_scan >= 3, "{by_scan} dispatched by the scan");
    assert_eq!(recycled, tasks - by_scan, "{log}");
    let state = w.state();
    for i in 1..=3 {
        assert!(
            state["sessions"][w.pool_session(i)]["last_fail"].is_null(),
            "{state}"
        );
    }
    let firsts = w.received_first_lines();
    let mut distinct = firsts.clone();
    distinct.dedup();
    assert_eq!(distinct, firsts, "no task twice");
    assert_eq!(firsts.len(), tasks, "every task once");
}

#[test]
fn agents_started_through_a_wrapper_that_does_not_exec_never_fail_falsely() {
    many_launches_without_a_false_failure(slow_bash_wrapper, 21);
}

#[test]
fn agents_started_through_env_never_fail_falsely() {
    many_launches_without_a_false_failure(
        |_| {
            format!(
                "env X=1 {} --model {{model}}",
                sh_quote(&stand_in_agent().display().to_string())
            )
        },
        9,
    );
}

#[test]
fn a_session_whose_agent_runs_under_a_wrapper_is_never_free() {
    let mut w = World::new(1);
    let command = slow_bash_wrapper(&w);
    with_agent(&mut w, &command);
    // The Stop hook marks the session idle; without recycling, its agent
    // keeps running in a pane that tmux says runs `sh`.
    w.pool_config("recycle = false");
    let p = w.project("p");
    w.task(&p, "first.md", "high", "first");
    w.start_pool();
    w.ok(&["scan"]);
    w.wait_received(1, WAIT);
    w.wait_until(WAIT, "the hook marked the session idle", || {
        w.session_state("ccl-auto-1") == "idle"
    });
    assert!(w.agent_runs("ccl-auto-1"));
    let second = w.task(&p, "second.md", "high", "second");
    w.ok(&["-v", "scan"]);
    assert!(second.exists(), "{}", w.describe());
    w.fails(&["free-session"], 1, "");
    assert_eq!(w.received().len(), 1);
    assert_eq!(
        w.screen("ccl-auto-1").matches("sh -c 'trap").count(),
        1,
        "nothing typed into the live agent: {}",
        w.describe()
    );
}

#[test]
fn after_a_tmux_restart_held_tasks_come_back_and_the_new_sessions_take_them() {
    let mut w = World::new(2);
    w.no_stop_hook();
    let p = w.project("p");
    w.task(&p, "a.md", "high", "task a");
    w.task(&p, "b.md", "high", "task b");
    w.start_pool();
    w.ok(&["scan"]);
    w.wait_received(2, WAIT);
    assert_eq!(w.session_state("ccl-auto-1"), "working");
    // A reboot, or `kill-server`; the sessions are made again under the
    // same names a moment before the next scan.
    w.tmux_ok(&["kill-server"]);
    w.wait_until(WAIT, "the old server is gone", || {
        let out = w.tmux_output(&["list-sessions"]);
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no server")
    });
    w.start_pool();
    let out = w.ok(&["--json", "scan"]);
    let events = json_lines(&out);
    let recovered = events_named(&events, "recovered");
    assert_eq!(recovered.len(), 2, "{events:?}");
    assert!(
        recovered[0]["reason"]
            .as_str()
            .unwrap()
            .contains("made again"),
        "{events:?}"
    );
    assert_eq!(events_named(&events, "dispatched").len(), 2, "{events:?}");
    let got = w.wait_received(4, WAIT);
    let mut again: Vec<&str> = got[2..]
        .iter()
        .map(|r| r.text.lines().next().unwrap())
        .collect();
    again.sort();
    assert_eq!(again, ["[a.md] task a", "[b.md] task b"]);
}

#[test]
fn a_bare_mark_idle_from_another_tmux_server_touches_nothing() {
    let w = World::holding_a_task();
    let pool_pane = w.tmux_output(&["display-message", "-p", "-t", "=ccl-auto-1:", "#{pane_id}"]);
    let pool_pane = String::from_utf8_lossy(&pool_pane.stdout)
        .trim()
        .to_string();

    // The operator's own server, whose pane has the same id.
    let other = format!("{}-own", w.socket);
    let own = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(["-L", &other, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap()
    };
    let made = own(&["new-session", "-d", "-s", "mine", "/bin/sh"]);
    expect_exit(
        "tmux new-session mine, on another server",
        &made,
        0,
        "",
        || w.describe(),
    );
    let tmux_var = own(&[
        "display-message",
        "-p",
        "-t",
        "=mine:",
        "#{socket_path},#{pid},0",
    ]);
    let own_pane = own(&["display-message", "-p", "-t", "=mine:", "#{pane_id}"]);
    let (tmux_var, own_pane) = (stdout_line(&tmux_var), stdout_line(&own_pane));
    assert_eq!(own_pane, pool_pane, "both servers' first pane");

    let out = w
        .cmd()
        .env("TMUX", &tmux_var)
        .env("TMUX_PANE", &own_pane)
        .args(["mark-idle"])
        .output()
        .unwrap();
    own(&["kill-server"]);
    expect_exit(
        "agent-queue mark-idle, in a pane of another server",
        &out,
        1,
        "not managed",
        || w.describe(),
    );
    assert_eq!(w.session_state("ccl-auto-1"), "working");
    assert!(w.agent_runs("ccl-auto-1"));
    assert!(!w.screen("ccl-auto-1").contains("/exit"));
}

fn stdout_line(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn text_left_on_a_shell_input_line_never_runs() {
    let w = World::new(1);
    let p = w.project("p");
    w.task(&p, "t.md", "high", "the task");
    w.start_pool();
    let ran = w.path("leftover-ran");
    let leftover = format!("touch {} #", sh_quote(&ran.display().to_string()));
    w.tmux_output(&["send-keys", "-t", "=ccl-auto-1:", "-l", &leftover]);
    w.wait_until(WAIT, "the leftover shows", || {
        w.screen("ccl-auto-1").contains("leftover-ran")
    });
    w.ok(&["scan"]);
    let got = w.wait_received(1, WAIT);
    assert!(got[0].text.starts_with("[t.md] the task"));
    assert!(!ran.exists());
}

/// Types a command into the session's shell and waits until it ran: the
/// shell reads its input in order, so whatever was pending ran before.
fn shell_catches_up(w: &World, session: &str) {
    let mark = w.path(&format!("caught-up-{session}"));
    let line = format!("touch {}", sh_quote(&mark.display().to_string()));
    w.tmux_output(&["send-keys", "-t", &format!("={session}:"), "-l", &line]);
    w.tmux_output(&["send-keys", "-t", &format!("={session}:"), "Enter"]);
    w.wait_until(WAIT, "the shell ran what it was sent", || mark.exists());
}

#[test]
fn an_agent_that_exits_at_its_prompt_fails_the_launch_and_the_shell_gets_no_task_text() {
    let mut w = World::new(1);
    w.agent_env
        .insert("AQ_AGENT_QUIT_AT_PROMPT".into(), "1".into());
    let p = w.project("p");
    let leaked = w.path("leaked");
    let touch = format!("touch {}", sh_quote(&leaked.display().to_string()));
    let task = w.task(&p, "t.md", "high", &format!("{touch}\n{touch}"));
    w.start_pool();
    w.fails(&["dispatch", task.to_str().unwrap()], 3, "exited");
    assert!(task.exists(), "back in its inbox");
    w.wait_until(WAIT, "the started script ended", || {
        !w.agent_runs("ccl-auto-1")
    });
    shell_catches_up(&w, "ccl-auto-1");
    assert!(!leaked.exists(), "{}", w.describe());
}

#[test]
fn five_mark_idles_at_once_type_one_exit() {
    let w = World::holding_a_task();
    let p = w.path("projects/p");
    let start = Instant::now();
    let children: Vec<_> = (0..5)
        .map(|_| {
            w.std_cmd()
                .args(["mark-idle", "ccl-auto-1", "--no-next"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        expect_exit(
            "agent-queue mark-idle ccl-auto-1 --no-next",
            &out,
            0,
            "",
            || w.describe(),
        );
    }
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "they waited {:?}",
        start.elapsed()
    );
    assert!(!w.agent_runs("ccl-auto-1"), "{}", w.describe());
    assert_eq!(
        w.screen("ccl-auto-1").matches("/exit").count(),
        1,
        "{}",
        w.describe()
    );
    // Free again.
    w.task(&p, "next.md", "high", "next");
    w.ok(&["scan"]);
    w.wait_received(2, WAIT);
}

#[test]
fn recovery_never_types_into_a_dedicated_session() {
    let mut w = World::new(1);
    // The paste does not show, so the launch waits in its "pasted" stage.
    w.agent_env.insert("AQ_AGENT_NOECHO".into(), "1".into());
    w.no_stop_hook();
    let p = w.project("p");
    w.dedicated("ccl-1-mine", &p);
    let task = w.task(&p, "t.md", "high", "the task");
    w.start_session("ccl-1-mine");
    // An operator's Ctrl-C on `dispatch --session`, after the paste.
    kill_dispatch_at(&w, &task, "ccl-1-mine", "pasted", || true);
    let out = w.ok(&["scan"]);
    assert!(
        stderr(&out).contains("press Enter there"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.session_state("ccl-1-mine"), "working");
    // The operator presses Enter after typing more: had the scan pressed
    // Enter, the task would have gone alone, and this line on its own.
    w.tmux_output(&["send-keys", "-t", "=ccl-1-mine:", "-l", " and more"]);
    w.tmux_output(&["send-keys", "-t", "=ccl-1-mine:", "Enter"]);
    w.wait_until(WAIT, "the agent took the line", || {
        w.received().iter().any(|r| r.text.contains("and more"))
    });
    let got = w.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].text.starts_with("[t.md] the task"));
}

#[test]
fn mark_idle_and_recycle_never_type_exit_into_a_program_agent_queue_did_not_start() {
    let mut w = World::new(1);
    w.config("[[dedicated]]\nsession = \"ded-1\"\n");
    w.start_pool();
    w.start_session("ded-1");
    // A program the operator runs by hand in a pool session.
    w.tmux_output(&["send-keys", "-t", "=ccl-auto-1:", "-l", "cat"]);
    w.tmux_output(&["send-keys", "-t", "=ccl-auto-1:", "Enter"]);
    w.wait_until(WAIT, "cat runs", || {
        w.pane_command("ccl-auto-1").as_deref() == Some("cat")
    });
    let out = w.ok(&["mark-idle", "ccl-auto-1", "--no-next"]);
    assert!(stderr(&out).contains("did not start"), "{}", stderr(&out));
    assert_eq!(w.pane_command("ccl-auto-1").as_deref(), Some("cat"));
    assert!(!w.screen("ccl-auto-1").contains("/exit"));

    // An agent the operator started in a dedicated session.
    let agent = format!(
        "{} --model x",
        sh_quote(&stand_in_agent().display().to_string())
    );
    w.tmux_output(&["send-keys", "-t", "=ded-1:", "-l", &agent]);
    w.tmux_output(&["send-keys", "-t", "=ded-1:", "Enter"]);
    w.wait_until(WAIT, "the agent shows its prompt", || {
        w.screen("ded-1").contains("❯")
    });
    w.fails(&["recycle", "ded-1"], 2, "dedicated");
    assert!(!w.screen("ded-1").contains("/exit"));
}

#[test]
fn an_agent_that_exits_without_its_stop_hook_frees_its_session_and_keeps_its_task() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    let first = w.task(&p, "first.md", "high", "first");
    w.start_pool();
    w.ok(&["dispatch", first.to_str().unwrap()]);
    w.wait_received(1, WAIT);
    // Someone types /exit (or the agent crashes): no Stop hook runs.
    w.tmux_output(&["send-keys", "-t", "=ccl-auto-1:", "-l", "/exit"]);
    w.tmux_output(&["send-keys", "-t", "=ccl-auto-1:", "Enter"]);
    w.wait_until(WAIT, "the agent exited", || !w.agent_runs("ccl-auto-1"));
    assert_eq!(w.session_state("ccl-auto-1"), "working");

    w.task(&p, "second.md", "high", "second");
    let out = w.ok(&["--json", "scan"]);
    let events = json_lines(&out);
    assert_eq!(events[0]["event"], "ended", "{events:?}");
    assert!(
        events[0]["task"]
            .as_str()
            .unwrap()
            .ends_with("first.md.dispatched"),
        "{events:?}"
    );
    assert!(
        events[0]["reason"]
            .as_str()
            .unwrap()
            .contains("without its Stop hook"),
        "{events:?}"
    );
    assert_eq!(events[1]["event"], "dispatched", "{events:?}");
    let got = w.wait_received(2, WAIT);
    assert!(got[1].text.starts_with("[second.md] second"));
    assert!(!first.exists(), "the ended task is not run again");
}

#[test]
fn a_started_script_killed_with_sigkill_frees_its_session_on_a_local_server() {
    let mut w = World::new(1);
    // Its task over, the agent stays (no recycling): the session is idle
    // with the agent agent-queue started still running.
    w.pool_config("recycle = false");
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    w.ok(&["dispatch", task.to_str().unwrap()]);
    w.wait_received(1, WAIT);
    w.wait_until(WAIT, "the hook marked it idle", || {
        w.session_state("ccl-auto-1") == "idle"
    });
    // As an operator's `pkill -9 -f claude` does (lowest pid first): the
    // script that would report the agent's end, then the agent, die of
    // SIGKILL (this world's only: the script's command line holds this
    // start's nonce).
    let nonce = w.state()["sessions"]["ccl-auto-1"]["started"]["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let script = std::process::Command::new("pgrep")
        .args(["-f", &format!("agent-queue {nonce}")])
        .output()
        .unwrap();
    let script = crate::env::stdout(&script).trim().to_string();
    assert!(!script.is_empty() && !script.contains('\n'), "{script:?}");
    let agent = std::process::Command::new("pgrep")
        .args(["-P", &script])
        .output()
        .unwrap();
    let agent = crate::env::stdout(&agent).trim().to_string();
    for pid in [&script, &agent] {
        assert!(std::process::Command::new("kill")
            .args(["-9", pid])
            .status()
            .unwrap()
            .success());
    }
    w.wait_until(WAIT, "the shell said its job was killed", || {
        w.screen("ccl-auto-1").contains("Killed")
    });
    // The report stays at `run`, but this host's /proc no longer shows the
    // script's pid: the session is free.
    assert!(w.agent_runs("ccl-auto-1"), "the report stays at `run`");
    let status = crate::env::stdout(&w.ok(&["status"]));
    assert!(status.contains("idle (free)"), "{status}");
    assert!(!status.contains("still runs"), "{status}");
    w.ok(&["free-session"]);
}

/// A SIGKILL of the started script leaves `<nonce> run` behind with nobody
/// to report `done`: on a local server its pid tells it is gone, and no
/// `/exit` is typed into the bare shell.
#[test]
fn a_killed_start_script_gets_no_exit_typed_into_its_shell() {
    let w = World::holding_a_task();
    let nonce = w.state()["sessions"]["ccl-auto-1"]["started"]["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let pgrep = |args: &[&str]| {
        let out = std::process::Command::new("pgrep")
            .args(args)
            .output()
            .unwrap();
        crate::env::stdout(&out).trim().to_string()
    };
    let script = pgrep(&["-f", &format!("agent-queue {nonce}")]);
    let agent = pgrep(&["-P", &script]);
    assert!(
        !script.is_empty() && !agent.is_empty(),
        "{script:?} {agent:?}"
    );
    // The script first, so it never gets past its agent.
    for pid in [&script, &agent] {
        let killed = std::process::Command::new("kill")
            .args(["-9", pid])
            .status()
            .unwrap();
        assert!(killed.success());
    }
    w.wait_until(WAIT, "the shell reports the kill", || {
        w.screen("ccl-auto-1").contains("Killed")
    });
    assert!(w.agent_runs("ccl-auto-1"), "{}", w.describe());
    let shell = w.tmux_output(&["display-message", "-p", "-t", "=ccl-auto-1:", "#{pane_pid}"]);
    let started = Instant::now();
    let out = w.run(&["mark-idle", "ccl-auto-1", "--no-next"]);
    expect_exit("mark-idle", &out, 0, "", || w.describe());
    assert!(!stderr(&out).contains("did not exit"), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{}",
        w.describe()
    );
    // Keys reach the shell in the order they are sent: once a mark typed
    // now shows, an `/exit` that mark-idle typed before it shows too.
    let mark = "#typed-after-mark-idle";
    w.tmux_ok(&["send-keys", "-t", "=ccl-auto-1:", "-l", mark]);
    w.wait_until(
        WAIT,
        "the shell shows what was typed after mark-idle",
        || w.screen("ccl-auto-1").contains(mark),
    );
    let screen = w.screen("ccl-auto-1");
    assert!(!screen.contains("/exit"), "{screen}");
    w.tmux_ok(&["send-keys", "-t", "=ccl-auto-1:", "C-u"]);
    let now = w.tmux_output(&["display-message", "-p", "-t", "=ccl-auto-1:", "#{pane_pid}"]);
    assert_eq!(now.stdout, shell.stdout, "{}", w.describe());
}
