//! Usage limits: an account whose agent says it hit its limit (on its
//! screen, or through its StopFailure hook) gets no task until its reset;
//! its task goes to a pool of another account, and back it comes after.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::env::{json_lines, sh_quote, stderr, World};

const WAIT: Duration = Duration::from_secs(60);

fn epoch_in(secs: u64) -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + secs
}

/// Two pools on two accounts: `ccl-auto-1` (account max-a, whose agent is
/// limited until `until`) and `b-1` (account max-b). `hook`: the agents
/// call `agent-queue hook` as Claude Code does; otherwise only their screen
/// tells.
fn two_accounts(until: u64, work: &str, hook: bool) -> World {
    let mut w = World::new(1);
    let mut env = format!("AQ_AGENT_LIMIT_UNTIL = \"{until}\", AQ_AGENT_WORK = \"{work}\"");
    if hook {
        w.no_stop_hook();
        let hook = format!(
            "{} -q hook",
            sh_quote(&crate::env::bin().display().to_string())
        );
        env.push_str(&format!(", AQ_HOOK = {hook:?}"));
        w.agent_env.insert("AQ_HOOK".into(), hook);
    }
    w.pool_config("account = \"max-a\"");
    w.config(&format!(
        "[agent]\ncommand = {cmd:?}\nready_timeout = \"10s\"\nlimit_margin = \"0s\"\n\
         env = {{ {env} }}\n\
         [pools.b]\nprefix = \"b-\"\nstart = 1\nsize = 1\naccount = \"max-b\"\nagent = \"b\"\n\
         [agents.b]\ncommand = {cmd:?}\nready_timeout = \"10s\"\nlimit_margin = \"0s\"\n",
        cmd = w.agent_command()
    ));
    w.start_session("ccl-auto-1");
    w.start_session("b-1");
    w
}

fn limited_markers(w: &World) -> usize {
    std::fs::read_dir(w.path("log"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".limited")
        })
        .count()
}

/// After the failover: nothing goes to max-a until its reset, then it takes
/// work again without anyone touching it.
fn max_a_comes_back_after_its_reset(w: &World, p: &std::path::Path, until: u64) {
    // limited: no free session in its pools
    w.fails(&["free-session", "--pool", "default"], 1, "");
    std::fs::write(
        p.join(".agent-queue/inbox/later.md"),
        "---\npool: default\n---\nlater\n",
    )
    .unwrap();
    let plan = json_lines(&w.run(&["--json", "scan", "--dry-run"]));
    assert_eq!(plan[0]["event"], "waiting", "{plan:?}");
    assert!(
        plan[0]["reason"].as_str().unwrap().contains("usage limit"),
        "{plan:?}"
    );
    w.wait_until(WAIT, "the reset passed and max-a is free again", || {
        epoch_in(0) >= until
            && w.run(&["free-session", "--pool", "default"])
                .status
                .success()
    });
    assert!(w.account("max-a")["limited_until"].is_null());
    w.ok(&["--json", "scan"]);
    let got = w.wait_received(2, WAIT);
    assert_eq!(got[1].session, "ccl-auto-1", "{got:?}");
    assert!(got[1].text.starts_with("[later.md] later"));
    let reset = UNIX_EPOCH + Duration::from_secs(until);
    assert!(got[1].at >= reset, "max-a had work before its reset");
}

#[test]
fn a_limit_on_the_screen_mid_task_moves_the_task_to_another_account() {
    let until = epoch_in(10);
    let w = two_accounts(until, "1", false);
    let p = w.project("p");
    w.task(&p, "t.md", "high", "the task");
    w.ok(&["scan"]);
    w.wait_until(WAIT, "the agent hit its limit", || {
        w.screen("ccl-auto-1")
            .contains("Stop and wait for limit to reset")
    });
    // The next scan (the timer's) sees the limit on the agent's screen.
    let out = w.ok(&["--json", "scan"]);
    let events = json_lines(&out);
    let limited = events.iter().find(|e| e["event"] == "limited").unwrap();
    assert_eq!(limited["account"], "max-a", "{events:?}");
    assert!(
        limited["task"].as_str().unwrap().ends_with("t.md"),
        "{events:?}"
    );
    let dispatched = events.iter().find(|e| e["event"] == "dispatched").unwrap();
    assert_eq!(dispatched["session"], "b-1", "{events:?}");
    let got = w.wait_received(1, WAIT);
    assert_eq!(got[0].session, "b-1");
    assert!(got[0].text.starts_with("[t.md] the task"));
    let a = w.account("max-a");
    assert!(a["reason"].as_str().unwrap().contains("usage limit"), "{a}");
    // Its menu was never answered: the agent was stopped with C-c.
    w.wait_until(WAIT, "the limited agent was stopped", || {
        !w.agent_runs("ccl-auto-1")
    });
    assert_eq!(limited_markers(&w), 1);
    max_a_comes_back_after_its_reset(&w, &p, until);
}

#[test]
fn a_limit_from_the_stop_failure_hook_moves_the_task_to_another_account() {
    let until = epoch_in(10);
    let w = two_accounts(until, "1", true);
    let p = w.project("p");
    w.task(&p, "t.md", "high", "the task");
    w.ok(&["scan"]);
    // The hook put the task back at once, and stopped the agent.
    // The task is renamed back a moment before the state that says why is
    // saved: both are waited for.
    w.wait_until(WAIT, "the task is back and max-a is limited", || {
        p.join(".agent-queue/inbox/t.md").exists()
            && w.account("max-a")["limited_until"].is_string()
    });
    w.ok(&["--json", "scan"]);
    let got = w.wait_received(1, WAIT);
    assert_eq!(got[0].session, "b-1");
    w.wait_until(WAIT, "the limited agent was stopped", || {
        !w.agent_runs("ccl-auto-1")
    });
    max_a_comes_back_after_its_reset(&w, &p, until);
}

#[test]
fn a_limit_seen_while_launching_fails_the_launch_at_once_naming_it() {
    let until = epoch_in(3600);
    let w = two_accounts(until, "0", false);
    let p = w.project("p");
    let t = w.task(&p, "t.md", "high", "the task");
    let start = std::time::Instant::now();
    let out = w.fails(
        &["dispatch", t.to_str().unwrap(), "--session", "ccl-auto-1"],
        3,
        "",
    );
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    let err = stderr(&out);
    assert!(err.contains("usage limit"), "{err}");
    assert!(
        err.contains(&until.to_string()),
        "the limit line is quoted: {err}"
    );
    assert!(t.exists(), "back in its inbox");
    let a = w.account("max-a");
    let until_rfc = agent_queue::clock::format_utc(until);
    assert_eq!(a["limited_until"], until_rfc.as_str(), "{a}");
    // No cooldown: the limit keeps the session out, and it ends by itself.
    assert!(w.state()["sessions"]["ccl-auto-1"]["last_fail"].is_null());
    // The task goes to the other account.
    w.ok(&["--json", "scan"]);
    assert_eq!(w.wait_received(1, WAIT)[0].session, "b-1");
}

#[test]
fn a_dedicated_session_at_a_limit_while_launching_gives_its_task_back() {
    let until = epoch_in(3600);
    let mut w = two_accounts(until, "0", false);
    let p = w.project("p");
    w.dedicated("mine", &p);
    w.start_session("mine");
    let t = w.task(&p, "t.md", "high", "the task");
    w.fails(
        &["dispatch", t.to_str().unwrap(), "--session", "mine"],
        3,
        "usage limit",
    );
    assert!(t.exists(), "back in its inbox: {:?}", w.inbox(&p));
    assert_eq!(w.session_state("mine"), "idle");
    // Nothing was marked: a dedicated session's account routes nothing.
    assert!(w.account("max-a")["limited_until"].is_null());
}
