//! Reads of a remote tmux server (what `status` and a scan look at) go
//! through its socket, forwarded over the shared ssh connection: no command
//! runs on the host for them once that is up, and what only ssh can say (no
//! server runs there) is still what is shown. A master that ends leaves its
//! forwarded socket behind; the next one replaces it. Where the forward cannot work
//! (another tmux version here), every read goes through ssh, and why is
//! written down.

use std::process::Command;

use crate::env::{sh_quote, stderr, World};
use crate::hosts::{two_hosts, Reach};
use crate::sshd::Hosts;

/// `status --json`'s sessions of `names`: (name, alive, reachable).
fn seen(w: &World, names: &[&str]) -> Vec<(String, bool, bool)> {
    let out = w.ok(&["--json", "status"]);
    let status: serde_json::Value = serde_json::from_str(&crate::env::stdout(&out)).unwrap();
    let mut rows: Vec<(String, bool, bool)> = status["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| names.contains(&s["session"].as_str().unwrap()))
        .map(|s| {
            (
                s["session"].as_str().unwrap().to_string(),
                s["alive"].as_bool().unwrap(),
                s["reachable"].as_bool().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// How many sessions (commands run) the host's sshd has started so far.
fn remote_commands(hosts: &Hosts, host: &str) -> usize {
    hosts
        .host(host)
        .log_text()
        .matches("Starting session")
        .count()
}

#[test]
fn reads_go_through_the_forwarded_tmux_socket_and_a_gone_server_is_still_seen() {
    let (w, hosts, remotes) = two_hosts(2, Reach::Ssh);
    for s in ["b1-1", "b1-2"] {
        remotes[0].start(&w, s);
    }
    remotes[1].start(&w, "b2-1");
    let names = ["b1-1", "b1-2", "b2-1"];
    let all_up: Vec<(String, bool, bool)> =
        names.iter().map(|s| (s.to_string(), true, true)).collect();
    // The first status reaches each host through ssh and forwards its
    // tmux server's socket over the shared connection.
    assert_eq!(seen(&w, &names), all_up);
    let before = [
        remote_commands(&hosts, "box1"),
        remote_commands(&hosts, "box2"),
    ];
    assert!(before.iter().all(|n| *n > 0), "{before:?}");
    // From then on, a status reads the servers through their sockets: the
    // same answer, and no command run on either host.
    assert_eq!(seen(&w, &names), all_up);
    assert_eq!(
        [
            remote_commands(&hosts, "box1"),
            remote_commands(&hosts, "box2")
        ],
        before,
        "{}",
        hosts.host("box1").log_text()
    );
    // doctor says how each host's server is read.
    let doctor = crate::env::stdout(&w.run(&["doctor"]));
    let reads: Vec<&str> = doctor
        .lines()
        .filter(|l| l.contains("tmux server `box"))
        .collect();
    assert_eq!(reads.len(), 2, "{doctor}");
    for line in reads {
        assert!(
            line.starts_with("ok ")
                && line.ends_with(
                    "answers; reads go through its socket, forwarded over the shared connection"
                ),
            "{doctor}"
        );
    }
    // The server on box2 goes away. The forward cannot reach it; ssh can,
    // and it is ssh's answer that is shown: no server runs there, so its
    // sessions are unknown until one does (never taken as dead).
    remotes[1].tmux(&["kill-server"]);
    assert_eq!(
        seen(&w, &names),
        [
            ("b1-1".to_string(), true, true),
            ("b1-2".to_string(), true, true),
            ("b2-1".to_string(), false, false),
        ]
    );
    let err = stderr(&w.ok(&["status"]));
    assert!(
        err.contains("box2 is unreachable") && err.contains("no server running"),
        "{err}"
    );
    assert!(remote_commands(&hosts, "box2") > before[1]);
    assert_eq!(hosts.host("box1").connections(), 1);
    assert_eq!(hosts.host("box2").connections(), 1);
}

#[test]
fn with_another_tmux_version_here_reads_go_through_ssh_and_say_why() {
    let (w, hosts, remotes) = two_hosts(1, Reach::Ssh);
    remotes[0].start(&w, "b1-1");
    // The tmux here is another version than the host's: its client cannot
    // speak to that server, so the socket is never forwarded.
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v tmux"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let bin = w.path("old-tmux");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("tmux"),
        format!(
            "#!/bin/sh\n[ \"$1\" = -V ] && {{ echo 'tmux 1.8'; exit 0; }}\nexec {} \"$@\"\n",
            sh_quote(real.trim())
        ),
    )
    .unwrap();
    World::make_executable(&bin.join("tmux"));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let status = |w: &World| {
        let out = w.ok_cmd(w.cmd().env("PATH", &path).args(["--json", "status"]));
        let v: serde_json::Value = serde_json::from_str(&crate::env::stdout(&out)).unwrap();
        v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["session"] == "b1-1" && s["alive"] == true)
    };
    assert!(status(&w));
    let why: Vec<String> = std::fs::read_dir(w.state_path().parent().unwrap().join("ssh"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "off"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(why[0].starts_with("tmux 1.8 here, tmux "), "{why:?}");
    // Every read is asked through ssh, and answered; doctor says why.
    let before = remote_commands(&hosts, "box1");
    assert!(status(&w));
    let doctor = crate::env::stdout(&w.cmd().env("PATH", &path).arg("doctor").output().unwrap());
    assert!(
        doctor.contains("answers; reads go through ssh for now: tmux 1.8 here, tmux "),
        "{doctor}"
    );
    assert!(remote_commands(&hosts, "box1") > before);
    assert_eq!(hosts.host("box1").connections(), 1);
}

#[test]
fn a_master_that_ends_leaves_a_stale_socket_that_the_next_one_replaces() {
    let (w, hosts, remotes) = two_hosts(1, Reach::Ssh);
    remotes[0].start(&w, "b1-1");
    let up = vec![("b1-1".to_string(), true, true)];
    assert_eq!(seen(&w, &["b1-1"]), up);
    // The shared connections end (as after ten idle minutes, or a network
    // change): their forwarded sockets stay behind, with nothing on them.
    let dir = w.state_path().parent().unwrap().join("ssh");
    let masters: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_none())
        .collect();
    assert_eq!(masters.len(), 2, "{masters:?}");
    for (master, host) in masters.iter().zip(["box1", "box2"]) {
        let out = Command::new("ssh")
            .arg("-F")
            .arg(hosts.ssh_config())
            .arg("-o")
            .arg(format!("ControlPath={}", master.display()))
            .args(["-O", "exit", host])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    w.wait_until(
        std::time::Duration::from_secs(10),
        "the masters are gone",
        || masters.iter().all(|m| !m.exists()),
    );
    let stale: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "tmux"))
        .collect();
    // (box2 runs no tmux server: nothing was forwarded there.)
    assert_eq!(stale.len(), 1, "the forwarded socket stays behind");
    // The next status finds nothing on the stale socket, asks through ssh
    // (a new connection each), and forwards the socket anew; the one after
    // it reads through the new forward, with no command on the host.
    assert_eq!(seen(&w, &["b1-1"]), up);
    assert_eq!(hosts.host("box1").connections(), 2);
    let before = remote_commands(&hosts, "box1");
    assert_eq!(seen(&w, &["b1-1"]), up);
    assert_eq!(remote_commands(&hosts, "box1"), before);
    assert_eq!(hosts.host("box1").connections(), 2);
}

#[test]
fn a_session_named_beyond_ascii_reads_the_same_through_ssh_and_the_forward() {
    let (w, hosts, remotes) = two_hosts(1, Reach::Ssh);
    // Neither agent-queue here (run with no locale, as from a timer) nor
    // the host's login (sshd passes none) has a UTF-8 locale.
    let config = std::fs::read_to_string(w.config_path()).unwrap();
    assert!(config.contains("prefix = \"b1-\""), "{config}");
    std::fs::write(
        w.config_path(),
        config.replace("prefix = \"b1-\"", "prefix = \"café-\""),
    )
    .unwrap();
    remotes[0].start(&w, "café-1");
    let up = vec![("café-1".to_string(), true, true)];
    // Through ssh, then through the forwarded socket: the same name.
    assert_eq!(seen(&w, &["café-1"]), up);
    let before = remote_commands(&hosts, "box1");
    assert_eq!(seen(&w, &["café-1"]), up);
    assert_eq!(
        remote_commands(&hosts, "box1"),
        before,
        "read through the forward"
    );
}

#[test]
fn a_run_with_no_tmux_here_reads_through_ssh_and_the_host_stays_reachable() {
    let (w, hosts, remotes) = two_hosts(1, Reach::Ssh);
    remotes[0].start(&w, "b1-1");
    let up = vec![("b1-1".to_string(), true, true)];
    assert_eq!(seen(&w, &["b1-1"]), up);
    // A later run (a timer's, a hook's) whose PATH has ssh but no tmux:
    // the forward's client cannot start, which says nothing of the host.
    let bin = w.path("only-ssh");
    std::fs::create_dir_all(&bin).unwrap();
    let ssh = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v ssh"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::os::unix::fs::symlink(ssh.trim(), bin.join("ssh")).unwrap();
    let before = remote_commands(&hosts, "box1");
    let out = w.ok_cmd(w.cmd().env("PATH", &bin).args(["--json", "status"]));
    let status: serde_json::Value = serde_json::from_str(&crate::env::stdout(&out)).unwrap();
    let b1 = status["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session"] == "b1-1")
        .cloned()
        .unwrap();
    assert_eq!(
        (b1["alive"].clone(), b1["reachable"].clone()),
        (true.into(), true.into()),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("box1 is unreachable"),
        "{}",
        stderr(&out)
    );
    assert!(remote_commands(&hosts, "box1") > before, "read through ssh");
}
