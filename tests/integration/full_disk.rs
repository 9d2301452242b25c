//! No state of agent-queue's own strands a task: a claim whose state write
//! fails (a full disk) is undone before the command exits, and a claim the
//! state never learned of (the process died between the rename and the
//! write) is put back by the next scan, which names it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::env::{stderr, World};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn a_claim_the_state_never_recorded_is_put_back_by_the_next_scan() {
    use std::os::unix::fs::MetadataExt;
    let w = World::new(1);
    let p = w.project("p");
    // A finished task's record, which must stay as it is.
    std::fs::write(p.join(".agent-queue/inbox/old.md.dispatched"), "done").unwrap();
    let task = w.task(&p, "t.md", "high", "stranded");
    // What a scan killed between its rename and its state write leaves:
    // the renamed task, and the claim noted in the session's launch lock.
    let ino = std::fs::metadata(&task).unwrap().ino();
    let dispatched = PathBuf::from(format!("{}.dispatched", task.display()));
    std::fs::rename(&task, &dispatched).unwrap();
    let launches = PathBuf::from(format!("{}.launches", w.state_path().display()));
    std::fs::create_dir_all(&launches).unwrap();
    let mut note = format!("claim {ino}\n").into_bytes();
    note.extend_from_slice(task.as_os_str().as_encoded_bytes());
    std::fs::write(launches.join("ccl-auto-1.lock"), note).unwrap();
    w.start_pool();
    let out = w.ok(&["scan"]);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: claimed, but no session in the state holds it",
            dispatched.display()
        )),
        "{err}"
    );
    w.ok(&["scan"]);
    w.wait_received(1, WAIT);
    assert_eq!(
        w.received_first_lines(),
        ["[t.md] stranded"],
        "{}",
        w.describe()
    );
    assert_eq!(w.inbox(&p), ["old.md.dispatched", "t.md.dispatched"]);
    // Put back once: the note is gone with it.
    let lock = std::fs::read(launches.join("ccl-auto-1.lock")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&lock).contains("claim "),
        "{}",
        String::from_utf8_lossy(&lock)
    );
    let again = w.ok(&["scan"]);
    assert!(
        !stderr(&again).contains("claimed, but"),
        "{}",
        stderr(&again)
    );
}

/// A small tmpfs, unmounted when the test ends, pass or fail.
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills a file system with `filler` until `pages` 4 KiB pages are left.
fn fill(filler: &Path, pages: u64) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(filler)
        .unwrap();
    let page = [0u8; 4096];
    while f.write_all(&page).is_ok() {}
    let _ = f.sync_all();
    let len = std::fs::metadata(filler).unwrap().len();
    f.set_len((len / 4096).saturating_sub(pages) * 4096)
        .unwrap();
}

#[test]
#[ignore = "needs root: it mounts a small tmpfs for the state folder and fills it"]
fn a_full_disk_strands_no_claimed_task() {
    let mut w = World::new(4);
    let mnt = w.path("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount needs root");
    let _mount = Tmpfs(mnt.clone());
    w.config(&format!(
        "[state]\nfile = {:?}\n",
        mnt.join("state.json").display().to_string()
    ));
    let p = w.project("p");
    for i in 1..=4 {
        w.task(&p, &format!("t{i}.md"), "high", &format!("task {i}"));
    }
    w.start_pool();
    let all_pending = ["t1.md", "t2.md", "t3.md", "t4.md"];
    let filler = mnt.join("filler");

    // Full to the last page: nothing can even be noted, so nothing is
    // claimed.
    fill(&filler, 0);
    w.fails(&["scan"], 3, "No space left on device");
    assert_eq!(w.inbox(&p), all_pending);

    // Room for the claims' notes but not for the state: the claims are
    // undone before scan exits.
    std::fs::remove_file(&filler).unwrap();
    fill(&filler, 4);
    w.fails(
        &["scan"],
        3,
        "claiming 4 task(s): undone, every one is back in its inbox",
    );
    assert_eq!(w.inbox(&p), all_pending);
    assert!(w.received().is_empty());

    // Space again: every task runs, once.
    std::fs::remove_file(&filler).unwrap();
    w.ok(&["scan"]);
    w.wait_received(4, WAIT);
    assert_eq!(
        w.received_first_lines(),
        [
            "[t1.md] task 1",
            "[t2.md] task 2",
            "[t3.md] task 3",
            "[t4.md] task 4"
        ]
    );
    assert_eq!(
        w.inbox(&p),
        [
            "t1.md.dispatched",
            "t2.md.dispatched",
            "t3.md.dispatched",
            "t4.md.dispatched"
        ]
    );
}
