//! What needs no tmux: `parse`, config errors, usage errors, the demo.

use std::fs;

use crate::env::{expect_exit, stderr, stdout, World};

#[test]
fn parse_prints_the_task_as_json_without_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fix.md");
    fs::write(&file, "\u{feff}---\r\ntitle: Fix it\r\npriority: HIGH\r\ntags: [auth]\r\nneeds_claude_code: true\r\nowner: bot\r\n---\r\n  Body  \r\n").unwrap();
    let out = assert_cmd::Command::cargo_bin("agent-queue")
        .unwrap()
        .env_clear()
        .env("HOME", dir.path())
        .args(["parse"])
        .arg(&file)
        .output()
        .unwrap();
    expect_exit("agent-queue parse fix.md", &out, 0, "", String::new);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"path": file.display().to_string(), "title": "Fix it", "priority": "high",
            "tags": ["auth"], "needs_claude_code": true, "pool": null, "body": "Body"})
    );
}

#[test]
fn parse_refuses_bad_files_with_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 6] = [
        (
            "unterminated.md",
            b"---\ntitle: x\nbody\n",
            "line 1: unterminated",
        ),
        ("yaml.md", b"---\ntitle: [x\n---\nb\n", "invalid header"),
        (
            "type.md",
            b"---\ntitle: ok\nneeds_claude_code: perhaps\n---\nb\n",
            "line 3: invalid header",
        ),
        (
            "prio.md",
            b"---\n\npriority: urgent\n---\nb\n",
            "line 3: unknown priority `urgent`",
        ),
        ("latin1.md", b"caf\xe9\n", "line 1: not UTF-8"),
        ("big.md", &[b'a'; 1024 * 1024 + 1], "over the 1 MiB limit"),
    ];
    for (name, bytes, want) in cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let out = assert_cmd::Command::cargo_bin("agent-queue")
            .unwrap()
            .arg("parse")
            .arg(&path)
            .output()
            .unwrap();
        expect_exit(
            &format!("agent-queue parse {name}"),
            &out,
            2,
            want,
            String::new,
        );
        let err = stderr(&out);
        assert!(err.contains(&path.display().to_string()), "{name}: {err}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn parse_does_not_hang_on_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x.md");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let out = assert_cmd::Command::cargo_bin("agent-queue")
        .unwrap()
        .arg("parse")
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(10))
        .output()
        .unwrap();
    expect_exit(
        "agent-queue parse <fifo>",
        &out,
        2,
        "not a regular file",
        String::new,
    );
}

#[test]
fn a_missing_config_is_exit_2_naming_the_path_looked_at() {
    let w = World::new(1);
    fs::remove_file(w.config_path()).unwrap();
    let out = w.fails(&["scan"], 2, "");
    let err = stderr(&out);
    assert!(
        err.contains(&w.config_path().display().to_string()),
        "{err}"
    );
    assert!(err.contains("config.example.toml"), "{err}");
}

#[test]
fn an_unknown_config_key_is_exit_2_naming_it() {
    let mut w = World::new(1);
    w.config("[security]\ntrusted_users = [1]\n");
    w.fails(&["status"], 2, "trusted_users");
}

#[test]
fn config_values_that_cannot_work_are_exit_2_naming_them() {
    w_fails(
        "[pools.b]\nprefix = \"b.\"\n",
        "[pools.b] prefix = \"b.\": tmux replaces",
    );
    w_fails(
        "[pools.b]\nprefix = \"b-\"\nsize = 0\n",
        "[pools.b] size = 0",
    );
    w_fails(
        "[agents.x]\nlimit_patterns = [\"\"]\n",
        "[agents.x] limit_patterns: \"\" matches an empty line",
    );
    w_fails(
        "[pools.b]\nprefix = \"b-\"\naccount = \"\"\n",
        "[pools.b] account is empty",
    );
    w_fails(
        "[[dedicated]]\nsession = \"me\"\nproject = \"/a\"\n[[dedicated]]\nsession = \"me\"\nproject = \"/b\"\n",
        "session `me` is listed twice",
    );
}

fn w_fails(toml: &str, needle: &str) {
    let mut w = World::new(1);
    w.config(toml);
    w.fails(&["status"], 2, needle);
}

#[test]
fn config_comes_from_the_flag_then_the_environment() {
    let w = World::new(1);
    w.start_pool();
    let elsewhere = w.path("elsewhere.toml");
    fs::rename(w.config_path(), &elsewhere).unwrap();
    w.fails(&["status"], 2, "");
    w.ok_cmd(w.cmd().arg("--config").arg(&elsewhere).arg("status"));
    w.ok_cmd(w.cmd().env("AGENT_QUEUE_CONFIG", &elsewhere).arg("status"));
}

#[test]
fn bad_usage_is_exit_2() {
    let w = World::new(1);
    w.fails(&["scan", "--no-such-flag"], 2, "");
    w.fails(&["no-such-command"], 2, "");
}

#[test]
fn demo_runs_the_cycle_and_leaves_nothing_behind() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("agent-queue")
        .unwrap()
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("HOME", home.path())
        .env("TMPDIR", tmp.path())
        .arg("demo")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    expect_exit("agent-queue demo", &out, 0, "", String::new);
    let text = stdout(&out);
    assert!(text.contains("all 7 tasks done"), "{text}");
    assert_eq!(text.matches("  got   ").count(), 7, "{text}");
    assert_eq!(text.matches("  done  ").count(), 7, "{text}");
    assert!(
        text.contains("SESSION") && text.contains("PROJECT"),
        "{text}"
    );
    let first_got = text.lines().find(|l| l.contains("  got   ")).unwrap();
    assert!(
        first_got.contains("outage.md"),
        "the critical task goes first: {first_got}"
    );
    assert_eq!(
        fs::read_dir(home.path()).unwrap().count(),
        0,
        "the demo wrote into HOME"
    );
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "the demo left files behind"
    );
}

#[test]
fn demo_without_tmux_says_so_and_exits_3() {
    let empty = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("agent-queue")
        .unwrap()
        .env("PATH", empty.path())
        .arg("demo")
        .output()
        .unwrap();
    expect_exit(
        "agent-queue demo, no tmux on PATH",
        &out,
        3,
        "tmux is not installed",
        String::new,
    );
}
