//! Bad and hostile input: broken files beside healthy ones, names and bodies
//! that try to run commands or send keys, a poisoned resume file, dialogs,
//! and parts that are missing.

use std::fs;
use std::os::unix::fs::symlink;
use std::time::{Duration, Instant};

use crate::env::{json_lines, stderr, World};

const WAIT: Duration = Duration::from_secs(30);
const OLD: Duration = Duration::from_secs(120);

fn mkfifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn broken_and_strange_files_never_stop_the_healthy_ones() {
    let w = World::new(3);
    let p = w.project("p");
    let inbox = p.join(".agent-queue/inbox");
    let healthy = [
        w.task(&p, "healthy-1.md", "high", "one"),
        w.task(&p, "healthy-2.md", "low", "two"),
    ];
    fs::write(inbox.join("empty.md"), "").unwrap();
    mkfifo(&inbox.join("x.md"));
    fs::create_dir(inbox.join("folder.md")).unwrap();
    fs::write(w.path("outside.md"), "outside the inbox").unwrap();
    symlink(w.path("outside.md"), inbox.join("link.md")).unwrap();
    fs::write(inbox.join(".hidden.md"), "hidden").unwrap();
    let broken: [(&str, Vec<u8>); 7] = [
        ("big.md", vec![b'a'; 2 * 1024 * 1024]),
        ("binary.md", vec![0, 159, 146, 150, 0, 255]),
        ("latin1.md", b"caf\xe9".to_vec()),
        ("unterminated.md", b"---\ntitle: x\n".to_vec()),
        ("yaml.md", b"---\ntags: [a\n---\nx".to_vec()),
        ("type.md", b"---\ntitle: [1, 2]\n---\nx".to_vec()),
        ("prio.md", b"---\npriority: asap\n---\nx".to_vec()),
    ];
    for (name, bytes) in &broken {
        fs::write(inbox.join(name), bytes).unwrap();
        w.set_age(&inbox.join(name), OLD);
    }
    fs::write(inbox.join("young-broken.md"), "---\npriority: asap\n---\nx").unwrap();
    w.start_pool();

    let start = Instant::now();
    let out = w.ok(&["--json", "scan"]);
    assert!(start.elapsed() < Duration::from_secs(20), "the scan hung");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let events = json_lines(&out);
    let of = |kind: &str| -> Vec<String> {
        let mut v: Vec<String> = events
            .iter()
            .filter(|e| e["event"] == kind)
            .map(|e| {
                e["task"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    };
    let mut want_rejected: Vec<String> = broken
        .iter()
        .map(|(n, _)| format!("{n}.rejected"))
        .collect();
    want_rejected.sort();
    assert_eq!(of("rejected"), want_rejected);
    assert_eq!(of("skipped"), ["folder.md", "link.md", "x.md"]);
    let mut dispatched = of("dispatched");
    dispatched.sort();
    assert_eq!(
        dispatched,
        [
            "empty.md.dispatched",
            "healthy-1.md.dispatched",
            "healthy-2.md.dispatched"
        ]
    );
    for e in events.iter().filter(|e| e["event"] == "rejected") {
        assert!(!e["reason"].as_str().unwrap().is_empty());
    }
    assert!(err.contains("not a regular file but a FIFO"), "{err}");

    let got = w.wait_received(3, WAIT);
    let empty = got
        .iter()
        .find(|r| r.text.starts_with("[empty.md]"))
        .expect("the empty task went out");
    assert!(empty
        .text
        .starts_with("[empty.md] Check .agent-queue/inbox/: one task is assigned to you."));
    assert!(got
        .iter()
        .all(|r| !r.text.contains("outside the inbox") && !r.text.contains("hidden")));
    assert!(healthy.iter().all(|t| !t.exists()));
    // Left for a later scan: the young broken file, the hidden one, and
    // what is not a regular file. `parse` tells why a file was rejected.
    assert!(inbox.join("young-broken.md").exists());
    assert!(inbox.join(".hidden.md").exists());
    w.fails(
        &["parse", inbox.join("prio.md.rejected").to_str().unwrap()],
        2,
        "unknown priority `asap`",
    );
}

#[test]
fn names_bodies_and_resume_files_cannot_run_commands_or_send_keys() {
    let mut w = World::new(2);
    w.no_stop_hook();
    let p = w.project("we're \"here\"; $(touch pwned-dir) `touch pwned-tick` & x");
    let inbox = p.join(".agent-queue/inbox");
    let body = "run $(touch pwned-body) and `touch pwned-tick2`; C-c Enter \u{1b}[201~ after\u{7}\u{8}\u{1b}[A \u{9b}1~ tab\there\nsecond line\r\n";
    fs::write(
        inbox.join("a $(touch pwned-name) `x`; 'q'.md"),
        format!("---\npriority: high\n---\n{body}"),
    )
    .unwrap();
    let resume = w.path("resume");
    fs::create_dir_all(&resume).unwrap();
    fs::write(
        resume.join("ccl-auto-1-resume-id.txt"),
        "x; touch pwned-resume\n",
    )
    .unwrap();
    let good_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    fs::write(
        resume.join("ccl-auto-2-resume-id.txt"),
        format!("{good_id}\n"),
    )
    .unwrap();
    w.task(&p, "second.md", "low", "second");
    w.start_pool();

    let out = w.ok(&["scan"]);
    assert!(
        stderr(&out).contains("ignoring resume file"),
        "{}",
        stderr(&out)
    );
    let got = w.wait_received(2, WAIT);
    let first = got.iter().find(|r| r.session == "ccl-auto-1").unwrap();
    assert_eq!(first.cwd, p, "the agent starts in the right folder");
    assert_eq!(first.resume, "", "a bad resume id is never used");
    assert_eq!(
        first.text,
        "[a $(touch pwned-name) `x`; 'q'.md] run $(touch pwned-body) and `touch pwned-tick2`; C-c Enter [201~ after[A 1~ tab\there\nsecond line\n\nIMPORTANT: carry out the requested actions; do not only describe them."
    );
    let second = got.iter().find(|r| r.session == "ccl-auto-2").unwrap();
    assert_eq!(second.resume, good_id);
    assert!(
        !resume.join("ccl-auto-2-resume-id.txt").exists(),
        "a used resume id is removed"
    );
    assert!(
        resume.join("ccl-auto-1-resume-id.txt").exists(),
        "a bad one is left for the operator"
    );
    let pwned: Vec<_> = walkdir::WalkDir::new(w.dir.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("pwned") && !e.path().starts_with(&p))
        .map(|e| e.path().display().to_string())
        .collect();
    let in_project: Vec<_> = fs::read_dir(&p)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(pwned.is_empty(), "{pwned:?}");
    assert!(
        in_project
            .iter()
            .all(|n| !n.to_string_lossy().contains("pwned")),
        "{in_project:?}"
    );
}

#[test]
fn a_folder_trust_dialog_fails_fast_by_name_unless_the_config_answers_it() {
    let mut w = World::new(1);
    w.agent_env.insert("AQ_AGENT_DIALOG".into(), "trust".into());
    w.no_stop_hook();
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let start = Instant::now();
    let out = w.fails(&["dispatch", task.to_str().unwrap()], 3, "");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        stderr(&out).contains("folder trust dialog"),
        "{}",
        stderr(&out)
    );
    assert!(task.exists(), "the task is back");
    assert!(w.received().is_empty(), "nothing was typed into the dialog");

    // With an answer configured (and the cooldown cleared by a new session).
    w.config("[[agent.dialog]]\nname = \"folder trust\"\nmatch = \"Yes, I trust this folder\"\nanswer = [\"Enter\"]\n");
    w.tmux_output(&["kill-session", "-t", "=ccl-auto-1"]);
    fs::remove_file(w.state_path()).unwrap();
    w.start_pool();
    w.ok(&["dispatch", task.to_str().unwrap()]);
    assert_eq!(w.wait_received(1, WAIT).len(), 1);
}

#[test]
fn an_agent_that_exits_before_its_prompt_fails_at_once_quoting_it() {
    let mut w = World::new(1);
    w.agent_env.insert(
        "AQ_AGENT_EXIT".into(),
        "--dangerously-skip-permissions cannot be used with root".into(),
    );
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let start = Instant::now();
    let out = w.fails(&["dispatch", task.to_str().unwrap()], 3, "");
    assert!(
        start.elapsed() < Duration::from_secs(7),
        "took {:?}",
        start.elapsed()
    );
    let err = stderr(&out);
    assert!(err.contains("cannot be used with root"), "{err}");
    assert!(task.exists());
}

#[test]
fn a_tmux_server_that_is_gone_is_exit_3_naming_tmux_with_tasks_untouched() {
    let w = World::new(1);
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    // No server was ever started on this socket.
    w.fails(&["scan"], 3, "tmux");
    assert!(task.exists());
    assert_eq!(w.inbox(&p), ["t.md"]);
}
