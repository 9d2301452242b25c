//! Input that would have gone through wrong is refused and named: an empty
//! task from a producer that failed, an unreadable standard input, a header
//! key that is a typo of a known one, and a task that does not parse, which
//! every scan names (not only `-v`) with when it will be rejected.

use std::fs;
use std::process::Stdio;

use crate::env::{stderr, World};

fn names(dir: &std::path::Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn submit_refuses_an_empty_body_unless_allowed_and_writes_nothing() {
    let w = World::new(1);
    let p = w.project("p");
    for input in ["", "   \n\n", "---\ntitle: only a header\n---\n\n"] {
        let out = w.fails_cmd(
            w.cmd()
                .args(["submit", p.to_str().unwrap(), "--title", "t"])
                .write_stdin(input),
            2,
            "the task's body is empty",
        );
        assert!(stderr(&out).contains("--allow-empty"), "{}", stderr(&out));
    }
    assert!(w.inbox(&p).is_empty());
    assert!(names(&p.join(".agent-queue/tmp")).is_empty());
    w.ok_cmd(
        w.cmd()
            .args(["submit", p.to_str().unwrap(), "--allow-empty"])
            .write_stdin(""),
    );
    assert_eq!(w.inbox(&p).len(), 1);
}

#[test]
fn a_standard_input_that_cannot_be_read_writes_nothing_not_even_the_project() {
    let w = World::new(1);
    let fresh = w.path("projects/fresh");
    // A folder as standard input: every read fails (EISDIR).
    let out = w
        .std_cmd()
        .args(["submit", "--create", fresh.to_str().unwrap()])
        .stdin(fs::File::open(w.path("log")).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("reading the task from standard input"),
        "{err}"
    );
    assert!(!fresh.exists(), "nothing was made");
}

#[test]
fn a_header_key_that_is_a_typo_is_an_error_everywhere_it_is_read() {
    let w = World::new(1);
    let p = w.project("p");
    let file = w.path("typo.md");
    fs::write(&file, "---\nprioirty: high\nauthor: me\n---\nDo it.\n").unwrap();
    let out = w.fails(&["parse", file.to_str().unwrap()], 2, "line 2");
    assert!(
        stderr(&out).contains("unknown header key `prioirty`: did you mean `priority`?"),
        "{}",
        stderr(&out)
    );
    w.fails(
        &["submit", p.to_str().unwrap(), file.to_str().unwrap()],
        2,
        "did you mean `priority`",
    );
    assert!(w.inbox(&p).is_empty());
    // Another tool's key is fine.
    fs::write(&file, "---\npriority: high\nauthor: me\n---\nDo it.\n").unwrap();
    w.ok(&["parse", file.to_str().unwrap()]);
}

#[test]
fn every_scan_names_a_young_task_that_does_not_parse_and_when_it_is_rejected() {
    let w = World::new(1);
    let p = w.project("p");
    let broken = p.join(".agent-queue/inbox/broken.md");
    fs::write(&broken, "---\ntitel: oops\n---\nbody\n").unwrap();
    w.start_pool();
    for _ in 0..2 {
        let err = stderr(&w.ok(&["scan"]));
        assert!(err.contains(&broken.display().to_string()), "{err}");
        assert!(err.contains("did you mean `title`"), "{err}");
        assert!(
            err.contains("renames it .rejected unless it is fixed"),
            "{err}"
        );
        assert!(broken.exists());
    }
    // `-q` silences it; past the minute it is rejected.
    assert!(stderr(&w.ok(&["-q", "scan"])).is_empty());
    w.set_age(&broken, std::time::Duration::from_secs(120));
    let err = stderr(&w.ok(&["scan"]));
    assert!(err.contains("rejected"), "{err}");
    assert_eq!(w.inbox(&p), ["broken.md.rejected"]);
}
