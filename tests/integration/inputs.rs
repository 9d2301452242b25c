//! What comes in from outside: file names that are not UTF-8, relative paths
//! in the config, projects nested in projects or in a root, configured
//! folders that are not there, no pool session at all, and task files that
//! are still being written.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::env::{expect_exit, json_lines, sh_quote, stderr, stdout, World};

const WAIT: Duration = Duration::from_secs(20);
/// Old enough to be past any settle time these tests use by default.
const SETTLED: Duration = Duration::from_secs(10);

/// A config of the test's own, at `<world>/site/aq.toml`: the world's tmux
/// server and stand-in agent, a pool `ccl-auto-1..ccl-auto-<size>`, and
/// `projects` as the whole `[projects]` table.
fn site_config(w: &World, size: u32, projects: &str, extra: &str) -> PathBuf {
    let text = format!(
        "[tmux]\ncommand = [\"tmux\", \"-L\", {socket:?}, \"-f\", \"/dev/null\"]\n\n\
         [projects]\n{projects}\n\n\
         [pool]\nprefix = \"ccl-auto-\"\nstart = 1\nsize = {size}\ncooldown = \"1m\"\n\n\
         [agent]\ncommand = {agent:?}\nready_timeout = \"10s\"\nresume_dir = {resume:?}\n\n\
         {extra}\n",
        socket = w.socket,
        agent = w.agent_command(),
        resume = w.path("resume").display().to_string(),
    );
    let path = w.path("site/aq.toml");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    path
}

fn inbox(project: &Path) -> PathBuf {
    project.join(".agent-queue/inbox")
}

/// A path's bytes with `suffix` appended, as a path.
fn with_bytes(dir: &Path, name: &[u8]) -> PathBuf {
    dir.join(OsStr::from_bytes(name))
}

/// How JSON shows a path: UTF-8 as is, `\` doubled, other bytes `\xHH`.
fn escaped(path: &Path) -> String {
    let mut out = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[test]
fn a_task_named_with_a_non_utf8_byte_is_dispatched_and_keeps_its_bytes() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    let task = with_bytes(&inbox(&p), b"caf\xe9.md");
    fs::write(&task, "---\npriority: high\n---\nbonjour\n").unwrap();
    w.set_age(&task, SETTLED);
    w.start_pool();

    let out = w.ok(&["--json", "scan"]);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let events = json_lines(&out);
    let dispatched = with_bytes(&inbox(&p), b"caf\xe9.md.dispatched");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "dispatched");
    assert_eq!(events[0]["task"], escaped(&dispatched));
    assert_eq!(
        events[0]["task"],
        format!("{}/caf\\xe9.md.dispatched", inbox(&p).display())
    );
    assert!(dispatched.is_file(), "the original bytes plus .dispatched");
    let names: Vec<Vec<u8>> = fs::read_dir(inbox(&p))
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .collect();
    assert_eq!(names, [b"caf\xe9.md.dispatched".to_vec()]);
    let got = w.wait_received(1, WAIT);
    assert!(got[0].text.contains("bonjour"), "{:?}", got[0].text);

    // Every other JSON output shows the same name the same way.
    let status = w.ok(&["--json", "status"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&status).trim()).unwrap();
    assert_eq!(v["sessions"][0]["task"], escaped(&dispatched));
    let parsed = w.ok_cmd(w.cmd().arg("parse").arg(&dispatched));
    assert_eq!(json_lines(&parsed)[0]["path"], escaped(&dispatched));
}

#[test]
fn non_utf8_names_survive_a_failed_launch_and_a_rejection_byte_for_byte() {
    let mut w = World::new(1);
    w.agent_env.insert("AQ_AGENT_DIALOG".into(), "trust".into());
    w.no_stop_hook();
    let p = w.project("p");
    let task = with_bytes(&inbox(&p), b"\xff\xfe a\\b.md");
    fs::write(&task, "x\n").unwrap();
    let broken = with_bytes(&inbox(&p), b"bad\x80.md");
    fs::write(&broken, "---\npriority: asap\n---\nx\n").unwrap();
    w.set_age(&broken, Duration::from_secs(120));
    w.start_pool();

    // The dialog fails the launch: the task goes back under its own bytes.
    let out = w.fails_cmd(w.cmd().args(["--json", "dispatch"]).arg(&task), 3, "");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(task.is_file(), "the task is back under its own name");
    let events = json_lines(&out);
    assert_eq!(events[0]["event"], "failed");
    assert_eq!(events[0]["task"], escaped(&task));
    assert!(
        events[0]["task"]
            .as_str()
            .unwrap()
            .ends_with("/\\xff\\xfe a\\\\b.md"),
        "{events:?}"
    );

    let out = w.run(&["--json", "scan"]);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let rejected = with_bytes(&inbox(&p), b"bad\x80.md.rejected");
    assert!(rejected.is_file());
    let events = json_lines(&out);
    let r = events.iter().find(|e| e["event"] == "rejected").unwrap();
    assert_eq!(r["task"], escaped(&rejected));
}

#[test]
fn submit_into_a_project_whose_path_is_not_utf8() {
    let w = World::new(1);
    let project = with_bytes(&w.path("projects"), b"proj\xe9");
    let out = w.ok_cmd(
        w.cmd()
            .args(["--json", "submit", "--create", "--title", "t"])
            .arg(&project)
            .write_stdin("body\n"),
    );
    let events = json_lines(&out);
    assert_eq!(events[0]["project"], escaped(&project));
    let task = events[0]["task"].as_str().unwrap();
    assert!(task.starts_with(&escaped(&inbox(&project))), "{task}");

    // Without --json the path is printed as its bytes, for `$(...)`.
    let out = w.ok_cmd(
        w.cmd()
            .args(["submit", "--title", "u"])
            .arg(&project)
            .write_stdin("body\n"),
    );
    let printed = Path::new(OsStr::from_bytes(out.stdout.trim_ascii_end()));
    assert!(printed.is_file(), "{printed:?}");
    assert!(printed.starts_with(inbox(&project)));

    // Its tasks wait, said why: the agent is started with `cd <path>`
    // typed as text.
    let out = w.ok(&["scan"]);
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
    assert!(printed.is_file());
}

#[test]
fn relative_paths_in_the_config_follow_the_config_file_not_the_working_folder() {
    let mut w = World::new(1);
    let site = w.path("site");
    let project = site.join("projects/a");
    fs::create_dir_all(inbox(&project)).unwrap();
    let config = site_config(
        &w,
        1,
        "paths = [\"projects/a\"]",
        "[state]\nfile = \"state/s.json\"\n",
    );
    // The Stop hook runs in the project folder, as Claude Code's does.
    w.agent_env.insert(
        "AQ_STOP_HOOK".into(),
        format!(
            "{} --config {} -q mark-idle",
            sh_quote(&crate::env::bin().display().to_string()),
            sh_quote(&config.display().to_string())
        ),
    );
    for (name, priority) in [("one.md", "high"), ("two.md", "low")] {
        let t = w.task(&project, name, priority, name);
        w.set_age(&t, SETTLED);
    }
    w.start_pool();

    // systemd runs the scan in $HOME.
    w.ok_cmd(
        w.cmd()
            .current_dir(w.home())
            .arg("--config")
            .arg(&config)
            .arg("scan"),
    );
    let got = w.wait_received(2, WAIT);
    assert!(got.iter().all(|r| r.cwd == project), "{got:?}");
    let state = site.join("state/s.json");
    w.wait_until(WAIT, "the hook marked the session idle", || {
        fs::read_to_string(&state)
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .is_some_and(|v| v["sessions"]["ccl-auto-1"]["phase"] == "idle")
    });
    assert!(state.is_file(), "the state is beside the config");
    for wrong in [w.home().join("state"), project.join("state")] {
        assert!(!wrong.exists(), "{} was used as the state", wrong.display());
    }

    // status from another folder sees the same state.
    let out = w.ok_cmd(
        w.cmd()
            .current_dir(&project)
            .arg("--config")
            .arg(&config)
            .args(["--json", "status"]),
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["projects"][0]["project"], project.display().to_string());
}

#[test]
fn a_root_that_is_a_project_and_projects_nested_in_projects_are_all_found() {
    let w = World::new(3);
    let root = w.path("projects");
    fs::create_dir_all(inbox(&root)).unwrap();
    let outer = w.project("outer");
    let inner = w.project("outer/sub/inner");
    let tasks = [
        w.task(&root, "at-root.md", "high", "root"),
        w.task(&outer, "outer.md", "high", "outer"),
        w.task(&inner, "inner.md", "high", "inner"),
    ];
    for t in &tasks {
        w.set_age(t, SETTLED);
    }
    w.start_pool();
    let out = w.ok(&["--json", "scan"]);
    let mut projects: Vec<String> = json_lines(&out)
        .iter()
        .filter(|e| e["event"] == "dispatched")
        .map(|e| e["project"].as_str().unwrap().to_string())
        .collect();
    projects.sort();
    let mut want: Vec<String> = [&root, &outer, &inner]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    want.sort();
    assert_eq!(projects, want);
    assert_eq!(w.wait_received(3, WAIT).len(), 3);
}

#[test]
fn a_configured_project_that_is_not_a_folder_is_warned_about_on_every_scan() {
    let w = World::new(1);
    let missing = w.path("site/gone");
    let file = w.path("site/a-file");
    fs::create_dir_all(w.path("site")).unwrap();
    fs::write(&file, "").unwrap();
    let config = site_config(
        &w,
        1,
        &format!(
            "paths = [{:?}, {:?}]",
            missing.display().to_string(),
            file.display().to_string()
        ),
        "",
    );
    for _ in 0..2 {
        let out = w.ok_cmd(w.cmd().arg("--config").arg(&config).arg("scan"));
        let err = stderr(&out);
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(err.contains("[projects] paths"), "{err}");
    }
}

#[test]
fn a_scan_that_finds_no_pool_session_at_all_says_which_it_looked_for() {
    let w = World::new(2);
    let p = w.project("p");
    let t = w.task(&p, "t.md", "high", "x");
    w.set_age(&t, SETTLED);
    w.start_session("something-else");
    let out = w.ok(&["scan"]);
    let err = stderr(&out);
    assert!(err.contains("no pool session"), "{err}");
    assert!(err.contains("ccl-auto-1..ccl-auto-2"), "{err}");
    assert!(t.exists());

    // A pool that exists but is busy is no reason to warn.
    w.start_session("ccl-auto-1");
    w.tmux_output(&["send-keys", "-t", "=ccl-auto-1:", "exec sleep 600", "Enter"]);
    w.wait_until(WAIT, "ccl-auto-1 runs sleep", || {
        w.pane_command("ccl-auto-1").as_deref() == Some("sleep")
    });
    let out = w.ok(&["scan"]);
    assert!(
        !stderr(&out).contains("no pool session"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_task_still_being_written_is_not_dispatched_until_it_settles() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.path("site/p");
    fs::create_dir_all(inbox(&p)).unwrap();
    let config = site_config(
        &w,
        1,
        &format!("paths = [{:?}]\nsettle = \"2s\"", p.display().to_string()),
        "",
    );
    w.start_pool();
    let task = inbox(&p).join("t.md");
    let mut f = fs::File::create(&task).unwrap();
    f.write_all(b"---\npriority: high\n---\nFirst paragraph.\n")
        .unwrap();
    f.flush().unwrap();
    // The path unit starts a scan while the writer pauses; the writer goes
    // on once the scan says it waits for the task to settle.
    let mut scan = w
        .std_cmd()
        .arg("--config")
        .arg(&config)
        .args(["-v", "scan"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = std::io::BufReader::new(scan.stderr.take().unwrap());
    let mut err = String::new();
    while !err.contains("for tasks to settle") {
        let before = err.len();
        said.read_line(&mut err).unwrap();
        assert!(err.len() > before, "the scan ended without waiting: {err}");
    }
    f.write_all(b"\nSecond paragraph.\n").unwrap();
    drop(f);
    said.read_to_string(&mut err).unwrap();
    let mut out = scan.wait_with_output().unwrap();
    out.stderr = err.into_bytes();
    expect_exit("agent-queue -v scan", &out, 0, "settl", || w.describe());
    let got = w.wait_received(1, WAIT);
    assert!(
        got[0]
            .text
            .contains("First paragraph.\n\nSecond paragraph."),
        "{:?}",
        got[0].text
    );
}

#[test]
fn a_long_settle_leaves_the_task_for_a_later_scan_but_not_submit_or_dispatch() {
    let mut w = World::new(2);
    w.no_stop_hook();
    let p = w.path("site/p");
    fs::create_dir_all(inbox(&p)).unwrap();
    let config = site_config(
        &w,
        2,
        &format!("paths = [{:?}]\nsettle = \"1h\"", p.display().to_string()),
        "",
    );
    w.start_pool();
    let ok = |args: &[&str]| w.ok_cmd(w.cmd().arg("--config").arg(&config).args(args));
    let young = w.task(&p, "young.md", "high", "young");
    let start = Instant::now();
    let out = ok(&["-v", "scan"]);
    assert!(start.elapsed() < Duration::from_secs(5), "the scan waited");
    assert!(stderr(&out).contains("young.md"), "{}", stderr(&out));
    assert!(young.exists(), "left for a later scan");
    let status = ok(&["--json", "status"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&status).trim()).unwrap();
    assert_eq!(v["projects"][0]["settling"], 1, "{v}");
    assert_eq!(v["projects"][0]["pending"], 0, "{v}");
    let plan = ok(&["scan", "--dry-run"]);
    assert!(stderr(&plan).contains("1 task(s)"), "{}", stderr(&plan));
    assert!(
        stderr(&plan).contains("still settling"),
        "{}",
        stderr(&plan)
    );

    // Submitted tasks are whole when they land: they go out at once.
    w.ok_cmd(
        w.cmd()
            .arg("--config")
            .arg(&config)
            .args(["submit", "--title", "submitted"])
            .arg(&p)
            .write_stdin("submitted\n"),
    );
    let out = ok(&["--json", "scan"]);
    let events = json_lines(&out);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0]["task"].as_str().unwrap().contains("submitted"));

    // A task named by hand goes now.
    ok(&["dispatch", young.to_str().unwrap()]);
    assert_eq!(w.wait_received(2, WAIT).len(), 2);
}
