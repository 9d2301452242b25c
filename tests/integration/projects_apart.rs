//! One project's tasks apart from each other: `[projects] max_parallel`,
//! and `isolation = "worktree"` in a real git repository (racing scans,
//! the history, `prune`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::env::{events_named, json_lines, stderr, stdout, World};

const WAIT: Duration = Duration::from_secs(30);

/// Runs git in `dir`, which must succeed; its output, trimmed.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// A project that is a git repository with one commit on `main`.
fn repo(w: &World, name: &str) -> PathBuf {
    let p = w.project(name);
    git(&p, &["init", "-q", "-b", "main"]);
    fs::write(p.join("README"), "hello\n").unwrap();
    git(&p, &["add", "README"]);
    git(&p, &["commit", "-q", "-m", "first"]);
    p
}

/// What a claim of `<name>.md` under `isolation = "worktree"` leaves: its
/// worktree on branch `agent-queue/<name>`, and its `.dispatched` file.
fn claimed_by_hand(p: &Path, name: &str) -> (PathBuf, PathBuf) {
    let tree = p.join(format!(".agent-queue/worktrees/{name}"));
    let branch = format!("agent-queue/{name}");
    git(
        p,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            &branch,
            tree.to_str().unwrap(),
        ],
    );
    let dispatched = p.join(format!(".agent-queue/inbox/{name}.md.dispatched"));
    fs::write(&dispatched, name).unwrap();
    (tree, dispatched)
}

/// A world whose stand-in agents call `agent-queue hook` (receipts and the
/// `done` event), and nothing else.
fn hooked(pool: u32) -> World {
    let mut w = World::new(pool);
    w.no_stop_hook();
    w.hooked();
    w
}

#[test]
fn max_parallel_sends_one_projects_tasks_one_at_a_time_while_other_projects_flow() {
    let mut w = World::new(3);
    w.projects_config("max_parallel = 1");
    w.agent_env.insert("AQ_AGENT_WORK".into(), "1".into());
    let a = w.project("a");
    let b = w.project("b");
    for i in 1..=3u64 {
        let t = w.task(&a, &format!("a{i}.md"), "high", &format!("a{i}"));
        w.set_age(&t, Duration::from_secs(10 - i));
    }
    w.task(&b, "b.md", "low", "b");
    w.start_pool();
    let plan = stdout(&w.ok(&["scan", "--dry-run"]));
    assert_eq!(plan.matches("max_parallel = 1").count(), 2, "{plan}");
    let out = w.ok(&["--json", "scan"]);
    let events = json_lines(&out);
    let mut sent: Vec<String> = events_named(&events, "dispatched")
        .iter()
        .map(|e| {
            Path::new(e["task"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // Launches settle in any order.
    sent.sort();
    assert_eq!(
        sent,
        ["a1.md.dispatched", "b.md.dispatched"],
        "a's first task, then (a being full) b's, though three sessions were free"
    );
    assert_eq!(w.inbox(&a), ["a1.md.dispatched", "a2.md", "a3.md"]);

    // The others go as the one before ends (a session's next task).
    let got = w.wait_received(4, WAIT);
    let a_runs: Vec<_> = got.iter().filter(|r| r.text.starts_with("[a")).collect();
    let order: Vec<&str> = a_runs.iter().map(|r| &r.text[..4]).collect();
    assert_eq!(order, ["[a1.", "[a2.", "[a3."]);
    for pair in a_runs.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at).unwrap();
        assert!(
            gap >= Duration::from_millis(900),
            "{} came {gap:?} after {}: before the one-second task ended",
            pair[1].text,
            pair[0].text
        );
    }
}

#[test]
fn max_parallel_zero_is_refused() {
    let mut w = World::new(1);
    w.projects_config("max_parallel = 0");
    w.fails(&["status"], 2, "max_parallel");
}

#[test]
fn worktree_tasks_run_apart_and_racing_scans_make_one_worktree_each_and_prune_keeps_unmerged_work()
{
    let mut w = hooked(3);
    w.projects_config("isolation = \"worktree\"");
    let p = repo(&w, "repo");
    let head = git(&p, &["rev-parse", "HEAD"]);
    for i in 1..=3 {
        w.task(&p, &format!("t{i}.md"), "default", &format!("task {i}"));
    }
    // The inbox shows as untracked; nothing else is there.
    let status = git(&p, &["status", "--porcelain"]);
    assert_eq!(status, "?? .agent-queue/");
    w.start_pool();
    let scans: Vec<_> = (0..6)
        .map(|_| w.std_cmd().arg("-q").arg("scan").spawn().unwrap())
        .collect();
    for mut s in scans {
        assert!(s.wait().unwrap().success(), "{}", w.describe());
    }
    let got = w.wait_received(3, WAIT);
    assert_eq!(got.len(), 3, "each task once");
    let trees = p.join(".agent-queue/worktrees").canonicalize().unwrap();
    for r in &got {
        let name = r.text[1..].split(".md]").next().unwrap().to_string();
        assert_eq!(
            r.cwd.canonicalize().unwrap(),
            trees.join(&name),
            "{name} ran in its own worktree"
        );
    }
    let listed = git(&p, &["worktree", "list", "--porcelain"]);
    assert_eq!(
        listed.matches("worktree ").count(),
        4,
        "the project and three task worktrees, no more: {listed}"
    );
    assert_eq!(
        git(
            &p,
            &[
                "branch",
                "--list",
                "agent-queue/*",
                "--format=%(refname:short)"
            ]
        ),
        "agent-queue/t1\nagent-queue/t2\nagent-queue/t3"
    );
    // The history says where each task's work is.
    let journal = w.journal();
    let dispatched = events_named(&journal, "dispatched");
    assert_eq!(dispatched.len(), 3);
    for e in &dispatched {
        let branch = e["branch"].as_str().unwrap();
        let tree = Path::new(e["worktree"].as_str().unwrap());
        assert_eq!(
            tree.file_name().unwrap().to_string_lossy(),
            branch.trim_start_matches("agent-queue/")
        );
    }
    w.wait_all_idle(WAIT);
    w.wait_until(WAIT, "three done events", || {
        events_named(&w.journal(), "done").len() == 3
    });
    for e in events_named(&w.journal(), "done") {
        assert!(
            e["branch"].as_str().unwrap().starts_with("agent-queue/t"),
            "{e}"
        );
    }
    // What an operator reads to review it.
    let life = stdout(&w.ok(&["history", "t1.md"]));
    assert!(
        life.contains("branch agent-queue/t1")
            && life.contains(&format!(
                "worktree {}",
                p.join(".agent-queue/worktrees/t1").display()
            )),
        "{life}"
    );
    // The project's own checkout (a dedicated session's) was not touched.
    assert_eq!(git(&p, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&p, &["symbolic-ref", "--short", "HEAD"]), "main");
    assert_eq!(git(&p, &["status", "--porcelain"]), status);

    // t1: nothing done. t2: a commit not merged. t3: a commit, merged.
    let t2 = trees.join("t2");
    fs::write(t2.join("two"), "2\n").unwrap();
    git(&t2, &["add", "two"]);
    git(&t2, &["commit", "-q", "-m", "two"]);
    let t3 = trees.join("t3");
    fs::write(t3.join("three"), "3\n").unwrap();
    git(&t3, &["add", "three"]);
    git(&t3, &["commit", "-q", "-m", "three"]);
    git(&p, &["merge", "-q", "--ff-only", "agent-queue/t3"]);

    let plan = w.ok(&["prune", "--older-than", "0s", "--dry-run"]);
    assert!(
        stdout(&plan).contains("would remove worktree") && trees.join("t1").exists(),
        "a dry run changes nothing: {}",
        stdout(&plan)
    );
    let out = w.ok(&["prune", "--older-than", "0s"]);
    let said = stderr(&out);
    assert!(
        said.contains(&format!("kept worktree {}", t2.display()))
            && said.contains("agent-queue/t2")
            && said.contains("not merged"),
        "{said}"
    );
    assert!(!trees.join("t1").exists() && !t3.exists() && t2.exists());
    assert_eq!(
        git(
            &p,
            &[
                "branch",
                "--list",
                "agent-queue/*",
                "--format=%(refname:short)"
            ]
        ),
        "agent-queue/t2"
    );
    // The finished task files went to the archive, names kept.
    assert!(w.inbox(&p).is_empty(), "{:?}", w.inbox(&p));
    let mut archived: Vec<String> = fs::read_dir(p.join(".agent-queue/archive"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    archived.sort();
    assert_eq!(
        archived,
        ["t1.md.dispatched", "t2.md.dispatched", "t3.md.dispatched"]
    );
    assert_eq!(events_named(&w.journal(), "pruned").len(), 5);
}

#[test]
fn a_worktree_task_of_a_project_that_is_no_git_repository_waits_naming_it() {
    let mut w = World::new(1);
    let p = w.project("plain");
    let t = w.task(&p, "t.md", "default", "x");
    fs::write(&t, "---\nisolation: worktree\n---\nin a worktree, please\n").unwrap();
    w.start_pool();
    let out = w.ok(&["scan"]);
    assert!(
        stderr(&out).contains(&format!(
            "project {} is not in a git repository",
            p.display()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.inbox(&p), ["t.md"]);
    assert!(w.received().is_empty());
    w.fails(
        &["dispatch", t.to_str().unwrap()],
        2,
        "is not in a git repository",
    );
    // The config can say it for every task; a task's header can lift it.
    w.projects_config("isolation = \"worktree\"");
    fs::write(&t, "---\nisolation: none\n---\nhere\n").unwrap();
    w.ok(&["scan"]);
    assert_eq!(w.wait_received(1, WAIT)[0].cwd, p);
}

#[test]
fn prune_archives_finished_files_only_and_overwrites_nothing() {
    let w = World::new(1);
    let p = w.project("p");
    let inbox = p.join(".agent-queue/inbox");
    let archive = p.join(".agent-queue/archive");
    for name in [
        "a.md.rejected",
        "b.md.cancelled",
        "c.md.dispatched",
        "d.md",
        "e.md.2.dispatched",
    ] {
        fs::write(inbox.join(name), name).unwrap();
    }
    fs::create_dir_all(&archive).unwrap();
    fs::write(archive.join("a.md.rejected"), "older").unwrap();
    // A held task stays: the state says a session has it.
    let state = serde_json::json!({"version": 2, "sessions": {"ccl-auto-1": {
        "phase": "working", "task": inbox.join("c.md.dispatched"), "project": p, "since": 1}}});
    fs::create_dir_all(w.state_path().parent().unwrap()).unwrap();
    fs::write(w.state_path(), state.to_string()).unwrap();
    // Too young for the default 7d.
    w.ok(&["prune"]);
    assert_eq!(w.inbox(&p).len(), 5);
    w.ok(&["prune", "--older-than", "0s"]);
    assert_eq!(w.inbox(&p), ["c.md.dispatched", "d.md"]);
    assert_eq!(
        fs::read_to_string(archive.join("a.md.rejected")).unwrap(),
        "older"
    );
    assert_eq!(
        fs::read_to_string(archive.join("a.md.rejected.2")).unwrap(),
        "a.md.rejected"
    );
    assert!(archive.join("b.md.cancelled").exists() && archive.join("e.md.2.dispatched").exists());
    w.fails(&["prune", "--older-than", "soon"], 2, "--older-than soon");
}

#[test]
fn a_worktree_task_whose_launch_failed_or_died_gets_its_worktree_removed() {
    let mut w = World::new(1);
    w.projects_config("isolation = \"worktree\"");
    w.agent_env
        .insert("AQ_AGENT_EXIT".into(), "no agent today".into());
    let p = repo(&w, "repo");
    w.task(&p, "t.md", "default", "x");
    w.start_pool();
    w.fails(&["scan"], 3, "no agent today");
    assert_eq!(w.inbox(&p), ["t.md"]);
    assert!(!p.join(".agent-queue/worktrees/t").exists());
    assert_eq!(
        git(&p, &["branch", "--list", "agent-queue/*"]),
        "",
        "its branch went with it"
    );

    // A launcher that died before its paste (the state says launching, no
    // process holds the launch lock): the scan puts the task back and
    // removes the worktree the claim made.
    let (tree, dispatched) = claimed_by_hand(&p, "u");
    let s1 = w.pool_session(1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // (Still cooling down from the failure above: recovery alone acts.)
    let state = serde_json::json!({"version": 2, "sessions": {s1.clone(): {
        "phase": "launching", "task": dispatched, "project": p, "since": 1, "last_fail": now,
        "worktree": {"path": tree, "branch": "agent-queue/u", "workdir": tree}}}});
    fs::write(w.state_path(), state.to_string()).unwrap();
    let out = w.ok(&["scan"]);
    assert!(stderr(&out).contains("recovered"), "{}", stderr(&out));
    assert!(stderr(&out).contains("died"), "{}", stderr(&out));
    assert!(!tree.exists(), "{}", stderr(&out));
    assert_eq!(git(&p, &["branch", "--list", "agent-queue/*"]), "");
}

#[test]
fn prune_leaves_the_worktree_of_a_task_a_session_still_holds() {
    let w = World::new(1);
    let p = repo(&w, "repo");
    let (tree, dispatched) = claimed_by_hand(&p, "busy");
    let state = serde_json::json!({"version": 2, "sessions": {"ccl-auto-1": {
        "phase": "working", "task": dispatched, "project": p, "since": 1,
        "worktree": {"path": tree, "branch": "agent-queue/busy", "workdir": tree}}}});
    fs::create_dir_all(w.state_path().parent().unwrap()).unwrap();
    fs::write(w.state_path(), state.to_string()).unwrap();
    let out = w.ok(&["prune", "--older-than", "0s"]);
    assert!(tree.exists() && dispatched.exists(), "{}", stderr(&out));
    // Once the task ended, it goes: its branch has nothing unmerged.
    fs::write(w.state_path(), r#"{"version": 2, "sessions": {}}"#).unwrap();
    w.ok(&["prune", "--older-than", "0s"]);
    assert!(!tree.exists() && !dispatched.exists());
}
