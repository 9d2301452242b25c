//! What an operator meets on a first real run: one set of trust rules for
//! scan, dispatch and submit; a submit into a project no scan looks at; a
//! cooldown to clear after fixing its cause; a config folder others may
//! write; output piped into `head`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::env::{stderr, World};

const WAIT: Duration = Duration::from_secs(30);

fn chmod(path: &std::path::Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The group of the files the test makes (the running user's).
fn my_gid() -> u32 {
    // SAFETY: getegid has no preconditions and cannot fail.
    unsafe { libc::getegid() }
}

#[test]
fn scan_dispatch_and_submit_refuse_the_same_inbox_and_accept_the_same_trusted_group() {
    let mut w = World::new(1);
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    chmod(&p.join(".agent-queue/inbox"), 0o775);
    w.start_pool();
    // scan: the task waits, the folder named.
    let err = stderr(&w.run(&["scan"]));
    assert!(err.contains("is writable by its group"), "{err}");
    assert!(task.exists());
    // dispatch by hand: refused alike (exit 2), nothing renamed.
    let out = w.run(&["dispatch", task.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is writable by its group"),
        "{}",
        stderr(&out)
    );
    assert!(task.exists());
    // submit: the task lands, with the same warning.
    let mut submit = w
        .std_cmd()
        .args(["submit", p.to_str().unwrap(), "--title", "more"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut submit.stdin.take().unwrap(), b"more work").unwrap();
    let out = submit.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is writable by its group"),
        "{}",
        stderr(&out)
    );

    // Trusting the group: all three accept it.
    w.config(&format!("[security]\ntrusted_gids = [{}]\n", my_gid()));
    let out = w.run(&["dispatch", task.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    w.wait_received(1, WAIT);
    let out = w
        .cmd()
        .args(["submit", p.to_str().unwrap(), "--title", "again"])
        .write_stdin("body")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!stderr(&out).contains("writable"), "{}", stderr(&out));
}

#[test]
fn submit_says_when_no_configured_project_covers_it_and_when_it_creates_one() {
    let w = World::new(1);
    let outside = w.path("elsewhere/proj");
    let out = w
        .cmd()
        .args(["submit", outside.to_str().unwrap(), "--create"])
        .write_stdin("a task")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("created the project folder"), "{err}");
    assert!(err.contains("under no [projects] paths or roots"), "{err}");
    // Under the configured root: no such warning.
    let inside = w.path("projects/fine");
    let out = w
        .cmd()
        .args(["submit", inside.to_str().unwrap(), "--create"])
        .write_stdin("a task")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("under no"), "{}", stderr(&out));
}

#[test]
fn a_failed_launch_names_clear_cooldown_which_frees_the_session() {
    let mut w = World::new(1);
    w.agent_env
        .insert("AQ_AGENT_EXIT".into(), "cannot start".into());
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let out = w.run(&["dispatch", task.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("agent-queue clear-cooldown ccl-auto-1"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        w.run(&["free-session"]).status.code(),
        Some(1),
        "cooling down"
    );
    let out = w.run(&["clear-cooldown", "ccl-auto-1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("may take tasks again"));
    assert!(w.run(&["free-session"]).status.success());
    assert_eq!(
        w.run(&["clear-cooldown", "nope"]).status.code(),
        Some(2),
        "an unknown session is named"
    );
}

#[test]
fn a_config_folder_others_may_write_is_refused_naming_it() {
    let w = World::new(1);
    w.start_pool();
    let dir = w.config_path().parent().unwrap().to_path_buf();
    chmod(&dir, 0o775);
    let out = w.run(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&dir.display().to_string()), "{err}");
    assert!(err.contains("writable by its group"), "{err}");
    chmod(&dir, 0o755);
    assert!(w.run(&["status"]).status.success());
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // A pool of 3,000 sessions: a status table far larger than a pipe holds.
    let w = World::new(3000);
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{} status | head -n 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            crate::env::sh_quote(&crate::env::bin().display().to_string())
        ))
        .env("HOME", w.home())
        .env("XDG_CONFIG_HOME", w.path("config"))
        .env("XDG_STATE_HOME", w.path("state"))
        .env("PATH", std::env::var_os("PATH").unwrap())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(crate::env::stdout(&out).trim(), "0", "{err}");
}
