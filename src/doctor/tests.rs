use super::*;
use serde_json::json;

fn files() -> ClaudeFiles {
    ClaudeFiles::of(None, Path::new("/h"))
}

fn run(state: Value, settings: Value, key: Option<&str>, answered: &[String]) -> Vec<Check> {
    let files = files();
    first_run(&Account {
        name: "a",
        files: &files,
        state: &state,
        settings: &settings,
        projects: &[PathBuf::from("/srv/p/one")],
        api_key: key,
        bypass: true,
        answered,
    })
}

fn failing(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.check.clone())
        .collect()
}

const KEY: &str = "sk-ant-api03-0123456789abcdefghijklmnopqrstuvwxyz";

#[test]
fn a_ready_account_passes_and_each_missing_piece_is_named() {
    let suffix = &KEY[KEY.len() - 20..];
    let ready = json!({
        "hasCompletedOnboarding": true,
        "projects": {"/srv/p": {"hasTrustDialogAccepted": true}},
        "customApiKeyResponses": {"approved": [suffix], "rejected": []}
    });
    let settings = json!({"skipDangerousModePermissionPrompt": true});
    assert_eq!(
        failing(&run(ready.clone(), settings.clone(), Some(KEY), &[])),
        Vec::<String>::new()
    );

    let mut s = ready.clone();
    s["hasCompletedOnboarding"] = json!(false);
    assert_eq!(
        failing(&run(s, settings.clone(), Some(KEY), &[])),
        ["onboarding (account a)"]
    );

    let mut s = ready.clone();
    s["projects"] = json!({"/srv/q": {"hasTrustDialogAccepted": true}});
    assert_eq!(
        failing(&run(s.clone(), settings.clone(), Some(KEY), &[])),
        ["folder trust of /srv/p/one (account a)"]
    );
    // A config that answers the dialog passes it.
    assert!(failing(&run(
        s,
        settings.clone(),
        Some(KEY),
        &["Folder Trust".into()]
    ))
    .is_empty());

    let mut s = ready.clone();
    s["customApiKeyResponses"] = json!({"approved": [], "rejected": [suffix]});
    let checks = run(s, settings.clone(), Some(KEY), &[]);
    assert_eq!(failing(&checks), ["API key approval (account a)"]);
    assert!(checks.iter().any(|c| c.detail.contains("rejected")));

    assert_eq!(
        failing(&run(ready.clone(), json!({}), Some(KEY), &[])),
        ["bypass warning (account a)"]
    );
    let mut s = ready;
    s["bypassPermissionsModeAccepted"] = json!(true);
    assert!(failing(&run(s, json!({}), None, &[])).is_empty());
}

#[test]
fn hooks_must_run_agent_queue_hook_for_each_event() {
    let settings = json!({"hooks": {
        "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "agent-queue hook"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "'/opt/bin/agent-queue' -q hook"}]}],
        "StopFailure": [{"hooks": [{"type": "command", "command": "notify-send x"}]}]
    }});
    let checks = hooks("a", Path::new("/h/.claude/settings.json"), &settings);
    assert_eq!(failing(&checks), ["StopFailure hook (account a)"]);
    assert_eq!(failing(&hooks("a", Path::new("s"), &Value::Null)).len(), 3);
}

#[test]
fn the_program_of_a_command_line() {
    assert_eq!(program("claude --model {model}"), "claude");
    assert_eq!(program("'/opt/my agent/run' --x"), "/opt/my agent/run");
    assert_eq!(program("  \"a b\" c"), "a b");
}

#[test]
fn a_line_says_status_what_and_fix() {
    let c = Check::fail("x", "y", "z");
    assert_eq!(c.line(), "fail  x: y; fix: z");
    assert_eq!(Check::ok("x", "y").line(), "ok    x: y");
}

#[test]
fn a_refusal_that_names_its_own_fix_says_fix_once() {
    let writable = Refused {
        why: "/p is writable by every user".into(),
        fix: Some("chmod go-w /p".into()),
    };
    let c = Check::refused(
        "inbox /p",
        "refused: ",
        std::slice::from_ref(&writable),
        "chmod",
    );
    assert_eq!(
        c.line(),
        "fail  inbox /p: refused: /p is writable by every user; fix: chmod go-w /p"
    );
    let unreadable = Refused::unfixable("/s: permission denied".into());
    let c = Check::refused(
        "state folder",
        "",
        std::slice::from_ref(&unreadable),
        "chmod 700 /s",
    );
    assert_eq!(
        c.line(),
        "fail  state folder: /s: permission denied; fix: chmod 700 /s"
    );
    let c = Check::refused("inbox /p", "", &[writable, unreadable], "chmod");
    assert_eq!(
        c.line(),
        "fail  inbox /p: /p is writable by every user; fix: chmod go-w /p; /s: permission denied",
        "each refusal keeps its own fix, and no other is added"
    );
}

#[test]
fn the_status_line_is_checked_with_its_refresh() {
    let file = Path::new("/h/.claude/settings.json");
    let installed = json!({"statusLine": {"type": "command", "command": "agent-queue statusline", "refreshInterval": 5}});
    assert_eq!(statusline("a", file, &installed).status, Status::Ok);
    let no_refresh =
        json!({"statusLine": {"type": "command", "command": "agent-queue statusline"}});
    let c = statusline("a", file, &no_refresh);
    assert_eq!(c.status, Status::Warn);
    assert!(c.detail.contains("refreshInterval"), "{}", c.detail);
    let other = json!({"statusLine": {"type": "command", "command": "ccstatusline"}});
    let c = statusline("a", file, &other);
    assert_eq!(c.status, Status::Warn);
    assert!(c.detail.contains("ccstatusline"), "{}", c.detail);
    let c = statusline("a", file, &json!({}));
    assert_eq!(c.status, Status::Warn);
    assert!(c.detail.contains("no statusLine"), "{}", c.detail);
}
