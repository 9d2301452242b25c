//! A pool on another host whose ssh stops answering (exits 255, or hangs)
//! while its agents work: its sessions are unknown, never dead, so their
//! tasks stay with them and no other pool runs them again; and no scan that
//! waits on that host holds the state's lock meanwhile.

use std::time::{Duration, Instant};

use crate::env::{json_lines, stdout, World};
use crate::pools::Server;

const WAIT: Duration = Duration::from_secs(60);

/// A program with ssh's convention under another name (as a wrapper or
/// `tsh ssh` is): the host, then every other argument joined into one
/// command line for a shell. A host gone silent exits 255 (`<dir>/silent`) or
/// never answers (`<dir>/hang`, noting in `<dir>/asked` that it was asked).
fn ssh_that_can_go_silent(w: &World) -> std::path::PathBuf {
    let ssh = w.path("bin/reach");
    let dir = w.path("host");
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\n\
             if [ -e {d}/hang ]; then : > {d}/asked; exec sleep 60; fi\n\
             if [ -e {d}/silent ]; then\n\
             echo 'ssh: connect to host box2 port 22: Connection timed out' >&2; exit 255\n\
             fi\n\
             shift\nexec sh -c \"$*\"\n"
        ),
    )
    .unwrap();
    World::make_executable(&ssh);
    ssh
}

#[test]
fn a_silent_hosts_tasks_stay_with_its_agents_and_run_once() {
    let mut w = World::new(2);
    // Agents that work long past the test: their tasks are under way.
    w.agent_env.insert("AQ_AGENT_WORK".into(), "600".into());
    let far = Server(format!("{}-far", w.socket));
    let ssh = ssh_that_can_go_silent(&w);
    w.config(&format!(
        "[ssh]\ncommand = [{:?}]\nopenssh = false\n\
         [pools.b]\nprefix = \"b-\"\nstart = 1\nsize = 2\naccount = \"max-b\"\nhost = \"box2\"\n\
         tmux = [\"tmux\", \"-L\", {:?}, \"-f\", \"/dev/null\"]\n",
        ssh.display().to_string(),
        far.0
    ));
    let p = w.project("p");
    w.task(&p, "t1.md", "high", "one");
    w.task(&p, "t2.md", "high", "two");
    // Only the far host's sessions exist: both tasks go there.
    w.start_session_on(&far.0, "b-1");
    w.start_session_on(&far.0, "b-2");
    w.ok(&["scan"]);
    let got = w.wait_received(2, WAIT);
    assert!(got.iter().all(|r| r.session.starts_with("b-")), "{got:?}");
    // The local pool can take tasks now; then the host goes silent.
    w.start_session(&w.pool_session(1));
    w.start_session(&w.pool_session(2));
    std::fs::write(w.path("host/silent"), "").unwrap();
    for _ in 0..10 {
        let out = w.ok(&["--json", "scan"]);
        let events = json_lines(&out);
        assert!(
            events.iter().all(|e| e["event"] != "recovered"),
            "{events:?}\n{}",
            w.describe()
        );
        let err = crate::env::stderr(&out);
        assert!(
            err.contains("its sessions are left as they are until it answers"),
            "{err}"
        );
    }
    assert_eq!(
        w.received_first_lines(),
        ["[t1.md] one", "[t2.md] two"],
        "{}",
        w.describe()
    );
    assert_eq!(w.inbox(&p), ["t1.md.dispatched", "t2.md.dispatched"]);
    for s in ["b-1", "b-2"] {
        assert_eq!(w.session_state(s), "working", "{}", w.describe());
    }
    // `status` says the host does not answer, rather than that the
    // sessions are gone.
    let text = stdout(&w.ok(&["status"]));
    assert!(text.contains("unknown (host unreachable)"), "{text}");
    assert!(text.contains("(unreachable: it does not answer)"), "{text}");
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&w.ok(&["--json", "status"]))).unwrap();
    let b1 = status["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session"] == "b-1")
        .unwrap();
    assert_eq!(
        (b1["reachable"].clone(), b1["state"].clone()),
        (false.into(), "working".into())
    );

    // Now it hangs: a scan waits out the tmux answer limit for it, and a
    // hook of another session meanwhile does not wait for that scan.
    std::fs::write(w.path("host/hang"), "").unwrap();
    let mut scan = Guard(w.std_cmd().arg("scan").spawn().unwrap());
    w.wait_until(WAIT, "the scan asks the hanging host", || {
        w.path("host/asked").exists()
    });
    let nonce = w.state()["sessions"]["b-1"]["started"]["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let start = Instant::now();
    let mut hook = w.cmd();
    hook.arg("hook").env("AGENT_QUEUE_RUN", &nonce).write_stdin(
        r#"{"hook_event_name":"UserPromptSubmit","session_id":"s","prompt":"a word from the operator"}"#,
    );
    w.ok_cmd(&mut hook);
    let took = start.elapsed();
    eprintln!("the hook took {took:?} while a scan waited on a hanging host");
    assert!(
        took < Duration::from_millis(1500),
        "the hook took {took:?} while a scan waited on a silent host"
    );
    let status = scan.0.wait().unwrap();
    assert!(status.success(), "{status}");
    std::fs::remove_file(w.path("host/hang")).unwrap();
    std::fs::remove_file(w.path("host/silent")).unwrap();
    // Back: the tasks are still where they were, and nothing ran twice
    // (the scan back sends and recovers nothing).
    let events = json_lines(&w.ok(&["--json", "scan"]));
    for name in ["dispatched", "recovered"] {
        assert!(
            crate::env::events_named(&events, name).is_empty(),
            "{events:?}"
        );
    }
    assert_eq!(w.received_first_lines(), ["[t1.md] one", "[t2.md] two"]);
    for s in ["b-1", "b-2"] {
        assert_eq!(w.session_state(s), "working", "{}", w.describe());
    }
}

/// Kills the child if the test fails before it is waited for.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
