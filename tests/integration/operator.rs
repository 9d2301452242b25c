//! What an operator and a pipeline see: submit, logs, JSON, quiet and verbose.

use std::fs;
use std::os::unix::fs::MetadataExt;

use crate::env::{expect_exit, json_lines, stderr, stdout, World};

#[test]
fn submit_writes_a_task_that_parse_reads_back_exactly() {
    let w = World::new(1);
    let p = w.project("p");
    let out = w.ok_cmd(
        w.cmd()
            .args([
                "submit",
                p.to_str().unwrap(),
                "-",
                "--title",
                "Fix: the \"login\" # loop",
                "--priority",
                "High",
            ])
            .args(["--tag", "auth", "--tag", "bug fix"])
            .write_stdin("Line one.\n\n---\nLine after a rule.\n"),
    );
    let path = std::path::PathBuf::from(stdout(&out).trim());
    assert_eq!(path.parent().unwrap(), p.join(".agent-queue/inbox"));
    assert!(path.file_name().unwrap().to_str().unwrap().ends_with(".md"));
    let parsed = w.run(&["parse", path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(stdout(&parsed).trim()).unwrap();
    assert_eq!(v["title"], "Fix: the \"login\" # loop");
    assert_eq!(v["priority"], "high");
    assert_eq!(v["tags"], serde_json::json!(["auth", "bug fix"]));
    assert_eq!(v["body"], "Line one.\n\n---\nLine after a rule.");
    // Nothing is left in the staging folder.
    assert_eq!(fs::read_dir(p.join(".agent-queue/tmp")).unwrap().count(), 0);
}

#[test]
fn submit_keeps_a_files_own_header_and_never_overwrites() {
    let w = World::new(1);
    let p = w.project("p");
    let file = w.path("task.md");
    fs::write(
        &file,
        "---\ntitle: From the file\npriority: low\ntags: [x]\n---\nBody.\n",
    )
    .unwrap();
    let mut paths = Vec::new();
    for _ in 0..3 {
        let out = w.ok(&[
            "--json",
            "submit",
            p.to_str().unwrap(),
            file.to_str().unwrap(),
            "--tag",
            "y",
        ]);
        let e = &json_lines(&out)[0];
        assert_eq!(e["event"], "submitted");
        assert_eq!(e["priority"], "low");
        paths.push(e["task"].as_str().unwrap().to_string());
    }
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 3, "each submit is its own file");
    let v: serde_json::Value =
        serde_json::from_str(stdout(&w.run(&["parse", &paths[0]])).trim()).unwrap();
    assert_eq!(v["title"], "From the file");
    assert_eq!(v["tags"], serde_json::json!(["x", "y"]));
}

#[test]
fn submit_refuses_an_unknown_priority_and_a_project_without_an_inbox() {
    let w = World::new(1);
    let p = w.project("p");
    w.fails_cmd(
        w.cmd()
            .args(["submit", p.to_str().unwrap(), "--priority", "urgent"])
            .write_stdin("x"),
        2,
        "urgent",
    );
    assert_eq!(w.inbox(&p).len(), 0);
    let bare = w.path("bare");
    fs::create_dir_all(&bare).unwrap();
    w.fails_cmd(
        w.cmd()
            .args(["submit", bare.to_str().unwrap()])
            .write_stdin("x"),
        2,
        "--create",
    );
    assert!(!bare.join(".agent-queue").exists());
}

#[test]
fn under_systemd_each_line_carries_its_journald_priority() {
    let w = World::new(1);
    let p = w.project("p");
    fs::write(
        p.join(".agent-queue/inbox/bad.md"),
        "---\npriority: asap\n---\n",
    )
    .unwrap();
    w.set_age(
        &p.join(".agent-queue/inbox/bad.md"),
        std::time::Duration::from_secs(120),
    );
    fs::create_dir(p.join(".agent-queue/inbox/dir.md")).unwrap();
    let log = w.path("journal");
    let file = fs::File::create(&log).unwrap();
    let meta = file.metadata().unwrap();
    let out = w
        .std_cmd()
        .args(["scan"])
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stderr(file)
        .output()
        .unwrap();
    expect_exit("agent-queue scan, under systemd", &out, 0, "", || {
        w.describe()
    });
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("<4>") || l.starts_with("<6>") || l.starts_with("<3>")),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.starts_with("<4>rejected")), "{text}");
    // A JOURNAL_STREAM that is not stderr (inherited by a child) changes nothing.
    let out = w
        .std_cmd()
        .args(["parse", "/nonexistent"])
        .env("JOURNAL_STREAM", "1:2")
        .output()
        .unwrap();
    assert!(
        stderr(&out).starts_with("agent-queue: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn quiet_keeps_only_errors_and_verbose_tells_every_step() {
    let w = World::new(1);
    let p = w.project("p");
    fs::create_dir(p.join(".agent-queue/inbox/dir.md")).unwrap();
    let quiet = w.ok(&["-q", "scan"]);
    assert_eq!(stderr(&quiet), "");
    let normal = w.run(&["scan"]);
    assert!(stderr(&normal).contains("skipped"));
    let verbose = w.run(&["-v", "mark-idle", "ccl-auto-1", "--no-next"]);
    assert!(
        stderr(&verbose).contains("ccl-auto-1 is idle"),
        "{}",
        stderr(&verbose)
    );
    let err = w.fails(&["-q", "dispatch", "/nonexistent/x.md"], 2, "");
    assert!(
        stderr(&err).starts_with("agent-queue: "),
        "errors show even with -q"
    );
}

#[test]
fn every_reporting_subcommand_speaks_json() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    w.start_pool();
    let free = w.run(&["--json", "free-session"]);
    assert_eq!(
        json_lines(&free),
        [serde_json::json!({"session": "ccl-auto-1", "pool": "default"})]
    );
    let idle = w.run(&["--json", "mark-idle", "ccl-auto-1", "--no-next"]);
    assert_eq!(
        json_lines(&idle),
        [serde_json::json!({"event": "idle", "session": "ccl-auto-1", "task": null})]
    );
    let submitted = w
        .cmd()
        .args(["--json", "submit", p.to_str().unwrap()])
        .write_stdin("x")
        .output()
        .unwrap();
    assert_eq!(json_lines(&submitted)[0]["event"], "submitted");
}
