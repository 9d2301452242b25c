//! `doctor` on a sandbox: healthy, it says ok to everything and exits 0;
//! with each first-run fault planted alone, it names that fault (and exits
//! 1); once that fault is fixed, ok again.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::env::{json_lines, sh_quote, stand_in_agent, stdout, World};

const KEY: &str = "sk-ant-api03-doctor-test-key-0123456789abcdefghij";

/// A pool of `size` sessions whose agent looks like Claude Code to the
/// checks: a bypass flag, an API key, and HOME's `.claude.json` and
/// `.claude/settings.json` as a ready account has them.
fn sandbox(size: u32) -> World {
    let mut w = World::new(size);
    let bin = w.path("agentbin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(stand_in_agent(), bin.join("aq-stand-in")).unwrap();
    // The pane's login shell finds it through ~/.profile; doctor's own
    // PATH never has it.
    fs::write(
        w.home().join(".profile"),
        format!(
            "PATH={}:$PATH\nexport PATH\n",
            sh_quote(&bin.display().to_string())
        ),
    )
    .unwrap();
    w.config(&format!(
        "[agent]\ncommand = \"aq-stand-in --model {{model}} --dangerously-skip-permissions\"\n\
         ready_timeout = \"10s\"\nresume_dir = {:?}\nenv = {{ ANTHROPIC_API_KEY = {KEY:?} }}\n",
        w.path("resume").display().to_string()
    ));
    let root = fs::canonicalize(w.path("projects")).unwrap_or_else(|_| {
        fs::create_dir_all(w.path("projects")).unwrap();
        fs::canonicalize(w.path("projects")).unwrap()
    });
    w.project("p");
    let hook = |c: &str| json!([{"hooks": [{"type": "command", "command": c}]}]);
    fs::create_dir_all(w.home().join(".claude")).unwrap();
    write_json(
        &w.home().join(".claude/settings.json"),
        &json!({
            "skipDangerousModePermissionPrompt": true,
            "statusLine": {"type": "command", "command": "agent-queue statusline", "refreshInterval": 5},
            "hooks": {
                "UserPromptSubmit": hook("agent-queue hook"),
                "Stop": hook("agent-queue hook"),
                "StopFailure": hook("agent-queue hook"),
            }
        }),
    );
    write_json(
        &w.home().join(".claude.json"),
        &json!({
            "hasCompletedOnboarding": true,
            "projects": {root.display().to_string(): {"hasTrustDialogAccepted": true}},
            "customApiKeyResponses": {"approved": [&KEY[KEY.len() - 20..]], "rejected": []}
        }),
    );
    w.start_pool();
    w
}

fn write_json(path: &PathBuf, v: &Value) {
    fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

fn edit_json(path: &PathBuf, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    write_json(path, &v);
}

/// The checks that did not pass, as `status check`.
fn not_ok(w: &World) -> (Option<i32>, Vec<String>) {
    let out = w.run(&["--json", "doctor"]);
    let lines = json_lines(&out);
    let bad = lines
        .iter()
        .filter(|c| c["status"] != "ok")
        .map(|c| {
            format!(
                "{} {}",
                c["status"].as_str().unwrap(),
                c["check"].as_str().unwrap()
            )
        })
        .collect();
    (out.status.code(), bad)
}

#[test]
fn doctor_names_each_first_run_fault_alone_and_says_ok_once_fixed() {
    let w = sandbox(2);
    let s1 = w.pool_session(1);
    assert_eq!(not_ok(&w), (Some(0), vec![]), "a healthy sandbox");
    let text = stdout(&w.ok(&["doctor"]));
    assert!(text.lines().all(|l| l.starts_with("ok ")), "{text}");
    assert!(
        text.contains("aq-stand-in` on ccl-auto-1's PATH:"),
        "{text}"
    );

    let claude_json = w.home().join(".claude.json");
    let settings = w.home().join(".claude/settings.json");
    let profile = w.home().join(".profile");
    let inbox = w.path("projects/p/.agent-queue/inbox");
    type Plant<'a> = Box<dyn Fn() + 'a>;
    let faults: Vec<(&str, Plant, Plant)> = vec![
        (
            "fail onboarding (account default)",
            Box::new(|| edit_json(&claude_json, |v| v["hasCompletedOnboarding"] = json!(false))),
            Box::new(|| edit_json(&claude_json, |v| v["hasCompletedOnboarding"] = json!(true))),
        ),
        (
            "fail folder trust of",
            Box::new(|| edit_json(&claude_json, |v| v["projects"] = json!({}))),
            Box::new(|| {
                let root = fs::canonicalize(w.path("projects")).unwrap();
                edit_json(&claude_json, |v| {
                    v["projects"][root.display().to_string()] =
                        json!({"hasTrustDialogAccepted": true})
                })
            }),
        ),
        (
            "fail API key approval (account default)",
            Box::new(|| {
                edit_json(&claude_json, |v| {
                    v["customApiKeyResponses"]["approved"] = json!([])
                })
            }),
            Box::new(|| {
                edit_json(&claude_json, |v| {
                    v["customApiKeyResponses"]["approved"] = json!([&KEY[KEY.len() - 20..]])
                })
            }),
        ),
        (
            "fail bypass warning (account default)",
            Box::new(|| {
                edit_json(&settings, |v| {
                    v["skipDangerousModePermissionPrompt"] = json!(false)
                })
            }),
            Box::new(|| {
                edit_json(&settings, |v| {
                    v["skipDangerousModePermissionPrompt"] = json!(true)
                })
            }),
        ),
        (
            "fail Stop hook (account default)",
            Box::new(|| edit_json(&settings, |v| v["hooks"]["Stop"] = json!([]))),
            Box::new(|| {
                edit_json(
                    &settings,
                    |v| {
                        v["hooks"]["Stop"] =
                            json!([{"hooks": [{"type": "command", "command": "agent-queue hook"}]}])
                    },
                )
            }),
        ),
        (
            "warn status line (account default)",
            Box::new(|| edit_json(&settings, |v| v["statusLine"] = json!(null))),
            Box::new(|| {
                edit_json(
                    &settings,
                    |v| v["statusLine"] = json!({"type": "command", "command": "agent-queue statusline", "refreshInterval": 5}),
                )
            }),
        ),
        (
            "fail `aq-stand-in` on ccl-auto-",
            Box::new(|| fs::rename(&profile, w.home().join("profile.off")).unwrap()),
            Box::new(|| fs::rename(w.home().join("profile.off"), &profile).unwrap()),
        ),
        (
            "fail pool session ccl-auto-2",
            Box::new(|| {
                w.tmux_ok(&["kill-session", "-t", "=ccl-auto-2"]);
            }),
            Box::new(|| w.start_session("ccl-auto-2")),
        ),
        (
            "fail inbox",
            Box::new(|| fs::set_permissions(&inbox, fs::Permissions::from_mode(0o777)).unwrap()),
            Box::new(|| fs::set_permissions(&inbox, fs::Permissions::from_mode(0o755)).unwrap()),
        ),
        (
            "fail config",
            Box::new(|| {
                fs::set_permissions(w.config_path(), fs::Permissions::from_mode(0o666)).unwrap()
            }),
            Box::new(|| {
                fs::set_permissions(w.config_path(), fs::Permissions::from_mode(0o644)).unwrap()
            }),
        ),
    ];
    for (named, plant, fix) in &faults {
        plant();
        let (code, bad) = not_ok(&w);
        // A warning is no failure: doctor exits 0 with it.
        let failed = !named.starts_with("warn");
        assert_eq!(code, Some(i32::from(failed)), "{named}: {bad:?}");
        assert!(
            !bad.is_empty() && bad.iter().all(|b| b.starts_with(named)),
            "planted {named:?}, doctor said {bad:?}"
        );
        fix();
        assert_eq!(not_ok(&w), (Some(0), vec![]), "fixed {named}");
    }
    // A server that is not running at all.
    w.tmux_ok(&["kill-server"]);
    let (code, bad) = not_ok(&w);
    assert_eq!(code, Some(1));
    assert!(
        bad.iter().any(|b| b.starts_with("fail tmux server")),
        "{bad:?}"
    );
    w.start_pool();
    assert_eq!(not_ok(&w), (Some(0), vec![]), "{s1} and the rest back");
}

#[test]
fn doctor_types_nothing_and_takes_well_under_a_second_for_ten_sessions() {
    let w = sandbox(10);
    let before: Vec<String> = (1..=10).map(|i| w.screen(&w.pool_session(i))).collect();
    w.ok(&["doctor"]);
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        w.ok(&["doctor"]);
        best = best.min(start.elapsed());
    }
    eprintln!("doctor, 10 sessions: {best:?}");
    let after: Vec<String> = (1..=10).map(|i| w.screen(&w.pool_session(i))).collect();
    assert_eq!(before, after, "doctor types nothing");
    // The measured figure is in docs/performance.md; this bound only
    // catches a check gone slow (a loaded machine included).
    assert!(best < Duration::from_secs(3), "{best:?}");
}
