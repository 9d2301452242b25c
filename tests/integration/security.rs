//! Only the operator may hand the agents work: files and folders that
//! another user owns or may write are refused, and say how to fix them.
//! The tests that hand files to `nobody` with chown need root: they are
//! `#[ignore]`d, and `cargo test -- --ignored` (as `.ci/run` runs it, as
//! root) fails them where chown is not allowed.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::env::{json_lines, stderr, stdout, World};

const NOBODY: u32 = 65534;

/// Gives `path` to uid/gid `nobody`; fails the test when not allowed.
fn give_away(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    if unsafe { libc::lchown(c.as_ptr(), NOBODY, NOBODY) } != 0 {
        panic!(
            "cannot chown {} to uid {NOBODY} (run as root): {}",
            path.display(),
            std::io::Error::last_os_error()
        );
    }
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
#[ignore = "needs root (chown to nobody)"]
fn a_task_owned_by_another_user_waits_and_every_scan_says_why() {
    let w = World::new(1);
    let p = w.project("p");
    let theirs = w.task(&p, "theirs.md", "critical", "from someone else");
    let ours = w.task(&p, "ours.md", "low", "ours");
    give_away(&theirs);
    w.start_pool();
    for _ in 0..2 {
        let out = w.ok(&["--json", "scan"]);
        let err = stderr(&out);
        assert!(err.contains(&theirs.display().to_string()), "{err}");
        assert!(
            err.contains("owned by uid 65534")
                && err.contains("mode 0644")
                && err.contains("chown"),
            "{err}"
        );
        let skipped: Vec<_> = json_lines(&out)
            .into_iter()
            .filter(|e| e["event"] == "skipped")
            .collect();
        assert_eq!(skipped.len(), 1);
    }
    assert!(theirs.exists(), "left in place, not renamed");
    let got = w.wait_received(1, std::time::Duration::from_secs(20));
    assert!(got.iter().all(|r| !r.text.contains("someone else")));
    assert!(got[0].text.contains("ours"), "{got:?}");
    assert!(!ours.exists());
    let status: serde_json::Value =
        serde_json::from_str(stdout(&w.run(&["--json", "status"])).trim()).unwrap();
    assert_eq!(status["projects"][0]["refused"], 1, "{status}");
}

#[test]
#[ignore = "needs root (chown to nobody)"]
fn a_trusted_uid_may_own_tasks() {
    let mut w = World::new(1);
    w.config(&format!("[security]\ntrusted_uids = [{NOBODY}]\n"));
    let p = w.project("p");
    let theirs = w.task(&p, "theirs.md", "high", "trusted colleague");
    give_away(&theirs);
    w.start_pool();
    w.ok(&["scan"]);
    assert!(w.wait_received(1, std::time::Duration::from_secs(20))[0]
        .text
        .contains("trusted colleague"));
}

#[test]
fn a_task_others_may_write_waits_with_the_chmod_fix() {
    let w = World::new(1);
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    chmod(&task, 0o666);
    w.start_pool();
    let out = w.run(&["scan"]);
    let err = stderr(&out);
    assert!(
        err.contains("writable by every user") && err.contains("chmod go-w"),
        "{err}"
    );
    assert!(task.exists());
    chmod(&task, 0o664);
    let err = stderr(&w.run(&["scan"]));
    assert!(
        err.contains("writable by its group") && err.contains("trusted_gids"),
        "{err}"
    );
    assert!(task.exists());
    assert!(w.received().is_empty());
}

#[test]
fn an_inbox_others_may_write_holds_its_tasks_and_names_every_folder() {
    let w = World::new(1);
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    chmod(&p.join(".agent-queue/inbox"), 0o777);
    chmod(&p.join(".agent-queue"), 0o775);
    w.start_pool();
    let out = w.ok(&["scan"]);
    let err = stderr(&out);
    assert!(err.contains("1 task(s)") && err.contains("wait"), "{err}");
    assert!(
        err.contains(&format!(
            "folder {}/.agent-queue/inbox is writable by every user",
            p.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "folder {}/.agent-queue is writable by its group",
            p.display()
        )),
        "{err}"
    );
    assert!(task.exists());
    // A sticky, world-writable folder (like /tmp) is not a hole.
    chmod(&p.join(".agent-queue/inbox"), 0o1777);
    chmod(&p.join(".agent-queue"), 0o755);
    w.ok(&["scan"]);
    assert!(!task.exists());
}

#[test]
fn a_config_others_may_write_is_refused() {
    let w = World::new(1);
    chmod(&w.config_path(), 0o666);
    let out = w.fails(&["status"], 2, "");
    let err = stderr(&out);
    assert!(
        err.contains(&w.config_path().display().to_string()) && err.contains("chmod go-w"),
        "{err}"
    );
}

#[test]
fn the_state_is_private_and_never_followed_through_a_symlink() {
    let w = World::new(1);
    w.project("p");
    w.start_pool();
    w.ok(&["mark-idle", "ccl-auto-1", "--no-next"]);
    let dir = w.state_path().parent().unwrap().to_path_buf();
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    assert_eq!(fs::metadata(w.state_path()).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        fs::metadata(dir.join("state.json.lock")).unwrap().mode() & 0o777,
        0o600
    );

    let elsewhere = w.path("elsewhere.json");
    fs::rename(w.state_path(), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, w.state_path()).unwrap();
    w.fails(&["status"], 2, "symlink");
}

#[test]
#[ignore = "needs root (chown to nobody)"]
fn a_state_file_another_user_owns_is_refused() {
    let w = World::new(1);
    w.project("p");
    w.start_pool();
    w.ok(&["mark-idle", "ccl-auto-1", "--no-next"]);
    give_away(&w.state_path());
    w.fails(&["scan"], 2, "owned by uid 65534");
}

#[test]
#[ignore = "needs root (chown to nobody)"]
fn a_resume_id_from_an_untrusted_file_or_folder_is_ignored() {
    let mut w = World::new(2);
    w.no_stop_hook();
    let p = w.project("p");
    w.task(&p, "a.md", "high", "a");
    w.task(&p, "b.md", "low", "b");
    let resume = w.path("resume");
    fs::create_dir_all(&resume).unwrap();
    let id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    let theirs = resume.join("ccl-auto-1-resume-id.txt");
    fs::write(&theirs, id).unwrap();
    let writable = resume.join("ccl-auto-2-resume-id.txt");
    fs::write(&writable, id).unwrap();
    chmod(&writable, 0o666);
    give_away(&theirs);
    w.start_pool();
    let out = w.run(&["scan"]);
    let err = stderr(&out);
    assert!(
        err.contains("ignoring resume id for ccl-auto-1") && err.contains("owned by uid 65534"),
        "{err}"
    );
    assert!(
        err.contains("ignoring resume id for ccl-auto-2") && err.contains("writable by every user"),
        "{err}"
    );
    let got = w.wait_received(2, std::time::Duration::from_secs(20));
    assert!(got.iter().all(|r| r.resume.is_empty()), "{got:?}");
}

#[test]
fn submit_creates_private_folders_and_files() {
    let w = World::new(1);
    let project = w.path("projects/fresh");
    fs::create_dir_all(&project).unwrap();
    let out = w.ok_cmd(
        w.cmd()
            .args([
                "submit",
                project.to_str().unwrap(),
                "--create",
                "--title",
                "T",
            ])
            .write_stdin("body"),
    );
    let task = std::path::PathBuf::from(stdout(&out).trim());
    assert_eq!(fs::metadata(&task).unwrap().mode() & 0o777, 0o600);
    for dir in [".agent-queue", ".agent-queue/inbox", ".agent-queue/tmp"] {
        assert_eq!(
            fs::metadata(project.join(dir)).unwrap().mode() & 0o777,
            0o700,
            "{dir}"
        );
    }
}
