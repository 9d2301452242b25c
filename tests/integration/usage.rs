//! Usage before the limit: the stand-in agent calls `agent-queue
//! statusline` as Claude Code calls its status line, with the account's
//! `rate_limits` in the JSON; an account at its `hold_at` takes no new task
//! until its window resets, `prefer = "headroom"` sends work to the emptier
//! account, and the status line itself never fails nor waits.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::env::{bin, epoch, events_named, json_lines, sh_quote, stderr, stdout, World};

const WAIT: Duration = Duration::from_secs(60);

fn rfc3339(secs: u64) -> String {
    jiff::Timestamp::from_second(secs as i64)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `rate_limits` as a status line's JSON carries them.
fn limits(five_hour: (f64, u64), seven_day: (f64, u64)) -> String {
    json!({
        "five_hour": {"used_percentage": five_hour.0, "resets_at": five_hour.1},
        "seven_day": {"used_percentage": seven_day.0, "resets_at": seven_day.1},
    })
    .to_string()
}

/// Two pools of one session each: `ccl-auto-1` (account max-a) and `b-1`
/// (account max-b), whose agents report the usage in `limits/max-a.json`
/// and `limits/max-b.json` through `agent-queue statusline`; `extra` is
/// more config.
fn two_accounts(extra: &str) -> World {
    let mut w = World::new(1);
    std::fs::create_dir_all(w.path("limits")).unwrap();
    let statusline = format!("{} -q statusline", sh_quote(&bin().display().to_string()));
    w.agent_env.insert("AQ_STATUSLINE".into(), statusline);
    let profile = |name: &str, account: &str, w: &World| {
        format!(
            "[agents.{name}]\ncommand = {:?}\nready_timeout = \"10s\"\n\
             env = {{ AQ_RATE_LIMITS = {:?} }}\n",
            w.agent_command(),
            w.path(&format!("limits/{account}.json"))
                .display()
                .to_string()
        )
    };
    let profiles = profile("a", "max-a", &w) + &profile("b", "max-b", &w);
    w.pool_config("account = \"max-a\"\nagent = \"a\"");
    w.config(&format!(
        "[pools.b]\nprefix = \"b-\"\nstart = 1\nsize = 1\naccount = \"max-b\"\nagent = \"b\"\n\
         {profiles}{extra}"
    ));
    w.start_session("ccl-auto-1");
    w.start_session("b-1");
    w
}

fn report(w: &World, account: &str, limits: &str) {
    std::fs::write(w.path(&format!("limits/{account}.json")), limits).unwrap();
}

/// The session the task named `name` was dispatched to by this scan.
fn dispatched_to(out: &std::process::Output, name: &str) -> String {
    let events = json_lines(out);
    events_named(&events, "dispatched")
        .into_iter()
        .find(|e| e["task"].as_str().is_some_and(|t| t.contains(name)))
        .unwrap_or_else(|| panic!("{name} was not dispatched: {events:?}"))["session"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn an_account_at_its_hold_at_takes_no_task_until_its_window_resets() {
    let w = two_accounts("[accounts.max-a]\nhold_at = 95\n");
    let reset = epoch() + 14;
    let week = epoch() + 3 * 86_400;
    // 2.1.197's unrounded floats.
    report(
        &w,
        "max-a",
        &format!(
            r#"{{"five_hour": {{"used_percentage": 96.00000000000001, "resets_at": {reset}}},
                "seven_day": {{"used_percentage": 40.000000000000004, "resets_at": {week}}}}}"#
        ),
    );
    report(&w, "max-b", &limits((10.0, reset), (20.0, week)));
    let p = w.project("p");

    // Nothing is known of max-a yet: config order sends the first task
    // there, and its agent's status line reports 96 % when the turn ends.
    w.task(&p, "first.md", "default", "first");
    assert_eq!(
        dispatched_to(&w.ok(&["--json", "scan"]), "first.md"),
        "ccl-auto-1"
    );
    w.wait_until(WAIT, "max-a is held", || {
        w.account("max-a")["held_until"].is_string()
    });
    let a = w.account("max-a");
    assert_eq!(a["held_until"], rfc3339(reset), "{a}");
    assert_eq!(
        a["five_hour"],
        json!({"used_percentage": 96.0, "resets_at": rfc3339(reset)})
    );
    assert_eq!(
        a["seven_day"],
        json!({"used_percentage": 40.0, "resets_at": rfc3339(week)})
    );
    let observed: jiff::Timestamp = a["observed_at"].as_str().unwrap().parse().unwrap();
    assert!(epoch().abs_diff(observed.as_second() as u64) < 30, "{a}");
    assert!(a["limited_until"].is_null(), "held is not limited: {a}");
    let held = w.journal().into_iter().find(|e| e["event"] == "held");
    let held = held.unwrap_or_else(|| panic!("no held line: {:?}", w.journal()));
    assert_eq!(held["account"], "max-a");
    assert_eq!(held["until"], rfc3339(reset));
    assert_eq!(held["window"], "five_hour");
    // The agent showed what it recorded.
    assert!(
        w.screen("ccl-auto-1").contains("[status] max-a · 5h 96%"),
        "{}",
        w.screen("ccl-auto-1")
    );

    // Its session is back at its shell, free but for the hold: the next
    // task goes to max-b.
    w.wait_until(WAIT, "ccl-auto-1 is back at its shell", || {
        w.idle_at_shell("ccl-auto-1")
    });
    w.fails(&["free-session", "--pool", "default"], 1, "");
    let status = w.ok(&["status"]);
    assert!(
        stdout(&status).contains("account `max-a` is held: 96% of its five-hour usage"),
        "{}",
        stdout(&status)
    );
    w.task(&p, "second.md", "default", "second");
    assert!(epoch() < reset, "the test was too slow to see the hold");
    assert_eq!(
        dispatched_to(&w.ok(&["--json", "scan"]), "second.md"),
        "b-1"
    );
    let got = w.wait_received(2, WAIT);
    assert_eq!(
        (got[0].session.as_str(), got[1].session.as_str()),
        ("ccl-auto-1", "b-1")
    );
    // max-b's figures are below any hold: it is not held.
    assert!(w.account("max-b")["held_until"].is_null());

    // At its reset, max-a takes work again, unasked; the scan says so in
    // the history.
    w.wait_until(WAIT, "max-a's window reset", || epoch() >= reset);
    w.wait_until(WAIT, "b-1 is back at its shell", || w.idle_at_shell("b-1"));
    w.task(&p, "third.md", "default", "third");
    assert_eq!(
        dispatched_to(&w.ok(&["--json", "scan"]), "third.md"),
        "ccl-auto-1"
    );
    let released: Vec<Value> = w
        .journal()
        .into_iter()
        .filter(|e| e["event"] == "released")
        .collect();
    assert_eq!(released.len(), 1, "{released:?}");
    assert_eq!(released[0]["account"], "max-a");
    let a = w.account("max-a");
    assert!(
        a["held_until"].is_null() && a["five_hour"].is_null(),
        "stale after its reset: {a}"
    );
    assert_eq!(a["seven_day"]["used_percentage"], 40.0, "{a}");
}

/// Runs `agent-queue statusline` as the agent of the start `nonce` does,
/// with `input` on stdin.
fn statusline(w: &World, nonce: Option<&str>, input: &str) -> std::process::Output {
    let mut cmd = w.cmd();
    cmd.args(["statusline"]).write_stdin(input.to_string());
    if let Some(n) = nonce {
        cmd.env("AGENT_QUEUE_RUN", n);
    }
    w.ok_cmd(&mut cmd)
}

fn nonce(w: &World, session: &str) -> String {
    w.state()["sessions"][session]["started"]["nonce"]
        .as_str()
        .unwrap()
        .to_string()
}

fn planned(w: &World) -> String {
    let out = w.ok(&["--json", "-v", "scan", "--dry-run"]);
    let plan = json_lines(&out);
    let planned = events_named(&plan, "planned");
    let Some(first) = planned.first() else {
        panic!("nothing planned: {plan:?}\n{}", crate::env::stderr(&out));
    };
    first["session"].as_str().unwrap().to_string()
}

#[test]
fn headroom_sends_the_next_task_to_the_account_with_the_most_room() {
    let w = two_accounts("[routing]\nprefer = \"headroom\"\n");
    let reset = epoch() + 3600;
    let week = epoch() + 3 * 86_400;
    report(&w, "max-a", &limits((60.0, reset), (30.0, week)));
    report(&w, "max-b", &limits((20.0, reset), (35.0, week)));
    let p = w.project("p");
    // Both unknown: config order, one task each.
    w.task(&p, "one.md", "high", "one");
    w.task(&p, "two.md", "default", "two");
    let out = w.ok(&["--json", "scan"]);
    assert_eq!(dispatched_to(&out, "one.md"), "ccl-auto-1");
    assert_eq!(dispatched_to(&out, "two.md"), "b-1");
    w.wait_received(2, WAIT);
    w.wait_until(WAIT, "both reported and are back at their shells", || {
        w.account("max-b")["five_hour"].is_object()
            && w.account("max-a")["five_hour"].is_object()
            && w.idle_at_shell("ccl-auto-1")
            && w.idle_at_shell("b-1")
            && !w.recycling()
    });
    // max-a at 60 %, max-b at 35 % (its fuller window): max-b goes first.
    w.task(&p, "three.md", "default", "three");
    assert_eq!(planned(&w), "b-1");

    // A newer reading of max-b, from its agent's next refresh, at 70 %.
    let later = limits((70.0, reset), (35.0, week));
    let out = statusline(
        &w,
        Some(&nonce(&w, "b-1")),
        &format!("{{\"rate_limits\": {later}}}"),
    );
    assert!(
        stdout(&out).starts_with("max-b · 5h 70%"),
        "{}",
        stdout(&out)
    );
    assert_eq!(w.account("max-b")["five_hour"]["used_percentage"], 70.0);
    assert_eq!(planned(&w), "ccl-auto-1");
    // An idle agent of max-b repeating an older answer changes nothing.
    let older = limits((20.0, reset), (35.0, week));
    statusline(
        &w,
        Some(&nonce(&w, "b-1")),
        &format!("{{\"rate_limits\": {older}}}"),
    );
    assert_eq!(w.account("max-b")["five_hour"]["used_percentage"], 70.0);
    assert_eq!(
        dispatched_to(&w.ok(&["--json", "scan"]), "three.md"),
        "ccl-auto-1"
    );
}

/// A state in which `ccl-auto-1` holds `t.md` from the start `n1`, with
/// no tmux server at all: the status line asks none.
fn started_without_tmux(extra: &str) -> World {
    let mut w = World::new(1);
    w.pool_config("account = \"max-a\"");
    w.config(extra);
    std::fs::create_dir_all(w.state_path().parent().unwrap()).unwrap();
    let state = json!({"version": 2, "sessions": {"ccl-auto-1": {
        "phase": "working", "task": "/p/.agent-queue/inbox/t.md.dispatched", "since": 1,
        "started": {"pane": "%0", "pid": 1, "nonce": "n1"}}}});
    std::fs::write(w.state_path(), state.to_string()).unwrap();
    w
}

fn usage_file(w: &World) -> std::path::PathBuf {
    w.path("state/agent-queue/state.json.usage/max-a.json")
}

#[test]
fn the_status_line_records_only_its_own_agents_account_and_always_exits_0() {
    let w = started_without_tmux("[accounts.max-a]\nhold_at = 90\n");
    // Half a minute more, so the spans shown read the same however slow
    // the machine (a span shows whole minutes, cut down).
    let reset = epoch() + 7200 + 30;
    let input = format!(
        "{{\"session_id\": \"x\", \"rate_limits\": {}}}",
        limits((42.0, reset), (81.0, epoch() + 86_400 + 30))
    );
    // An agent agent-queue started: recorded, one line back.
    let out = statusline(&w, Some("n1"), &input);
    assert_eq!(
        stdout(&out),
        "max-a · 5h 42% (2h00m) · 7d 81% (1d00h) · t.md\n"
    );
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(usage_file(&w)).unwrap()).unwrap();
    assert_eq!(recorded["five_hour"]["resets_at"], reset);
    assert_eq!(w.account("max-a")["five_hour"]["used_percentage"], 42.0);

    // Not agent-queue's (no start, or one it does not know): shown, not
    // recorded.
    std::fs::remove_file(usage_file(&w)).unwrap();
    for run in [None, Some("other")] {
        let out = statusline(&w, run, &input);
        assert!(stdout(&out).starts_with("5h 42% (2h"), "{}", stdout(&out));
        assert!(!usage_file(&w).exists());
    }
    // No rate_limits (an API key): nothing known, and status says so.
    let out = statusline(&w, Some("n1"), "{\"session_id\": \"x\"}");
    assert_eq!(stdout(&out), "max-a · usage unknown · t.md\n");
    // (No tmux server runs in this test: status says so by its exit status.)
    let status = stdout(&w.fails(&["status"], 3, "no tmux server answered"));
    let row = status.lines().find(|l| l.starts_with("max-a")).unwrap();
    assert!(row.contains("unknown"), "{status}");
    for key in ["five_hour", "seven_day", "observed_at", "held_until"] {
        assert!(w.account("max-a")[key].is_null(), "{key}");
    }
    // Bad input, too large input, no config: exit 0, a line on stderr.
    let out = statusline(&w, Some("n1"), "[1, 2]");
    assert_eq!(
        stdout(&out),
        "max-a · usage unknown · t.md\n",
        "JSON, no usage in it"
    );
    for bad in ["{ torn", "", "\u{1}\u{2}"] {
        let out = statusline(&w, Some("n1"), bad);
        assert!(!usage_file(&w).exists());
        assert_eq!(stdout(&out), "agent-queue\n", "{bad}");
        assert!(stderr(&out).contains("not JSON"), "{bad}: {}", stderr(&out));
    }
    let mut cmd = w.cmd();
    cmd.args(["--config", "/nonexistent/aq.toml", "statusline"])
        .write_stdin(input.clone());
    let out = w.ok_cmd(&mut cmd);
    assert!(stderr(&out).contains("no config"), "{}", stderr(&out));
    let mut cmd = w.cmd();
    cmd.arg("statusline").write_stdin(vec![b' '; 2 << 20]);
    assert!(stderr(&w.ok_cmd(&mut cmd)).contains("over 1 MiB"));
}

#[test]
fn the_operators_own_status_line_runs_after_agent_queues_with_the_same_json() {
    let seen = tempfile::NamedTempFile::new().unwrap();
    let w = started_without_tmux(&format!(
        "[statusline]\ncommand = \"cat > {} && echo my own line\"\n",
        seen.path().display()
    ));
    let input = format!(
        "{{\"rate_limits\": {}}}",
        limits((5.0, epoch() + 60), (6.0, epoch() + 600))
    );
    let out = statusline(&w, Some("n1"), &input);
    assert_eq!(stdout(&out), "my own line\n");
    assert_eq!(std::fs::read_to_string(seen.path()).unwrap(), input);
    assert_eq!(
        w.account("max-a")["five_hour"]["used_percentage"],
        5.0,
        "recorded first"
    );
}

/// Holds an exclusive flock on `path` (as another invocation would) until
/// the returned file is dropped.
fn hold_lock(path: &Path) -> std::fs::File {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    f.lock().unwrap();
    f
}

#[test]
fn the_status_line_never_waits_on_a_lock() {
    let w = started_without_tmux("");
    let input = |used: f64| {
        format!(
            "{{\"rate_limits\": {}}}",
            limits((used, epoch() + 600), (1.0, epoch() + 6000))
        )
    };
    statusline(&w, Some("n1"), &input(10.0));
    // The state's lock, held by a scan over a slow tmux server: the status
    // line does not need it, and records.
    let state_lock = hold_lock(&w.path("state/agent-queue/state.json.lock"));
    let start = Instant::now();
    statusline(&w, Some("n1"), &input(20.0));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(w.account("max-a")["five_hour"]["used_percentage"], 20.0);
    drop(state_lock);
    // The account's own lock, held by another status line: this reading is
    // dropped, not waited for nor queued.
    let usage_lock = hold_lock(&w.path("state/agent-queue/state.json.usage/max-a.lock"));
    let start = Instant::now();
    let out = statusline(&w, Some("n1"), &input(30.0));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(
        stdout(&out).starts_with("max-a · 5h 30%"),
        "shown all the same: {}",
        stdout(&out)
    );
    drop(usage_lock);
    assert_eq!(w.account("max-a")["five_hour"]["used_percentage"], 20.0);
    statusline(&w, Some("n1"), &input(30.0));
    assert_eq!(w.account("max-a")["five_hour"]["used_percentage"], 30.0);
}

/// Claude Code shows a turn's usage to its status line ~0.3 s after the
/// answer, after its Stop hook has started the recycle: the recycle waits
/// for it before `/exit`, or the only turn of a fresh agent would go
/// unrecorded (the stand-in, like Claude Code, runs no status line once it
/// has exited).
#[test]
fn the_usage_of_the_last_turn_is_recorded_before_the_recycle_types_exit() {
    let mut w = World::new(1);
    w.pool_config("account = \"max-a\"");
    w.config("[accounts.max-a]\nhold_at = 95\n");
    let limits_file = w.path("limits.json");
    let reset = epoch() + 3600;
    std::fs::write(&limits_file, limits((97.0, reset), (50.0, reset + 86_400))).unwrap();
    let statusline = format!("{} -q statusline", sh_quote(&bin().display().to_string()));
    w.agent_env.insert("AQ_STATUSLINE".into(), statusline);
    w.agent_env
        .insert("AQ_STATUSLINE_AFTER".into(), "0.3".into());
    w.agent_env
        .insert("AQ_RATE_LIMITS".into(), limits_file.display().to_string());
    w.start_pool();
    let p = w.project("p");
    w.task(&p, "only.md", "default", "the only turn");
    w.ok(&["scan"]);
    w.wait_received(1, WAIT);
    w.wait_until(WAIT, "the agent was recycled", || {
        w.idle_at_shell("ccl-auto-1")
    });
    let a = w.account("max-a");
    assert_eq!(a["five_hour"]["used_percentage"], 97.0, "{a}");
    assert_eq!(a["held_until"], rfc3339(reset), "{a}");
    assert!(
        w.screen("ccl-auto-1").contains("[status] max-a · 5h 97%"),
        "{}",
        w.screen("ccl-auto-1")
    );
}
