//! What ships in `contrib/`: the systemd user units pass
//! `systemd-analyze --user verify` without a word, the example config loads
//! (with and without its commented-out examples), and the Claude Code Stop
//! hooks call `agent-queue hook`, never fail the agent, and work as shipped.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use crate::env::{bin, expect_exit, stderr, stdout, World};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

/// `key=value` lines of a unit file, comments and section headers aside.
fn directives(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn has(dirs: &[(String, String)], key: &str, value: &str) -> bool {
    dirs.iter().any(|(k, v)| k == key && v == value)
}

const SERVICE: &str = "agent-queue-scan.service";
const TIMER: &str = "agent-queue-scan.timer";
const PATH_UNIT: &str = "agent-queue-inbox@.path";

#[test]
fn the_systemd_units_say_what_an_operator_relies_on() {
    let dir = repo().join("contrib/systemd");
    let read = |name: &str| {
        fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("contrib/systemd/{name}: {e}"))
    };
    let service = directives(&read(SERVICE));
    assert!(has(&service, "Type", "oneshot"), "{service:?}");
    assert!(
        service.iter().any(|(k, _)| k == "TimeoutStartSec"),
        "{service:?}"
    );
    let exec = service
        .iter()
        .find(|(k, _)| k == "ExecStart")
        .map(|(_, v)| v.clone())
        .expect("ExecStart=");
    assert!(exec.ends_with("/agent-queue scan"), "ExecStart={exec}");

    let timer = directives(&read(TIMER));
    for key in ["OnBootSec", "OnUnitActiveSec"] {
        assert!(
            timer.iter().any(|(k, _)| k == key),
            "{key}= missing: {timer:?}"
        );
    }
    assert!(has(&timer, "WantedBy", "timers.target"), "{timer:?}");

    let path = directives(&read(PATH_UNIT));
    assert!(
        has(&path, "PathChanged", "%f/.agent-queue/inbox"),
        "{path:?}"
    );
    assert!(has(&path, "MakeDirectory", "yes"), "{path:?}");
    assert!(has(&path, "Unit", SERVICE), "{path:?}");
    assert!(has(&path, "WantedBy", "paths.target"), "{path:?}");
    // Level-triggered watches restart the scan while an inbox keeps a task
    // no session can take, until systemd gives up on the units.
    for level in ["DirectoryNotEmpty", "PathExists", "PathExistsGlob"] {
        assert!(
            !path.iter().any(|(k, _)| k == level),
            "{level}= is level-triggered: {path:?}"
        );
    }
}

/// `systemd-analyze --user verify` needs no user manager, only a runtime
/// folder of its own (`$XDG_RUNTIME_DIR`, here a temp folder: as root, or
/// anywhere without a login session, there is none). `%h` is `$HOME`, so the
/// service's `%h/.cargo/bin/agent-queue` is made to exist in a temp HOME as a
/// link to the binary under test: verify checks that ExecStart= is
/// executable. `Documentation=man:...` is checked too, against the man pages
/// committed under man/, by `man` with `$MANPATH`. verify exits 0 after
/// warnings such as an unknown key, so any output at all is a failure.
#[test]
#[ignore = "needs systemd-analyze and man"]
fn the_systemd_units_pass_systemd_analyze_verify_silently() {
    let tmp = tempdir("aq-units-");
    let home = tmp.path().join("home");
    let runtime = tmp.path().join("runtime");
    let units = tmp.path().join("units");
    let cargo_bin = home.join(".cargo/bin");
    for d in [&runtime, &units, &cargo_bin] {
        fs::create_dir_all(d).unwrap();
    }
    fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(bin(), cargo_bin.join("agent-queue")).unwrap();

    let mut files = Vec::new();
    for entry in fs::read_dir(repo().join("contrib/systemd")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        // A template is verified as an instance: /srv/p/x, escaped.
        let copy = name.replacen("@.", "@srv-p-x.", 1);
        fs::copy(
            repo().join("contrib/systemd").join(&name),
            units.join(&copy),
        )
        .unwrap();
        files.push(units.join(copy));
    }
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");

    let mut cmd = Command::new("systemd-analyze");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("LC_ALL", "C")
        .current_dir(&units)
        .args(["--user", "verify"]);
    let man1 = tmp.path().join("man/man1");
    fs::create_dir_all(&man1).unwrap();
    for entry in fs::read_dir(repo().join("man")).expect("man/ (run `cargo run -- generate-docs`)")
    {
        let path = entry.unwrap().path();
        fs::copy(&path, man1.join(path.file_name().unwrap())).unwrap();
    }
    cmd.env("MANPATH", tmp.path().join("man"));
    let out = cmd.args(&files).output().expect("systemd-analyze runs");
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "systemd-analyze --user verify {files:?}: {}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
}

/// Runs `agent-queue --config <copy of text> free-session` in a temp HOME,
/// with a tmux socket folder of its own, so no real tmux server is asked.
fn free_session_with(text: &str) -> Output {
    let tmp = tempdir("aq-example-");
    let config = tmp.path().join("config.toml");
    fs::write(&config, text).unwrap();
    // Not group- or world-writable, or agent-queue refuses it.
    fs::set_permissions(&config, fs::Permissions::from_mode(0o600)).unwrap();
    Command::new(bin())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", tmp.path())
        .env("TMUX_TMPDIR", tmp.path())
        .arg("--config")
        .arg(&config)
        .arg("free-session")
        .output()
        .unwrap()
}

fn assert_config_loads(text: &str, what: &str) {
    let out = free_session_with(text);
    // 0 or 1: a session was free or none was; 3: no tmux server to ask.
    // 2 would mean the config is bad.
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 3)),
        "{what}: free-session exited {}: {}",
        out.status,
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("config"),
        "{what}: free-session complained about the config: {}",
        stderr(&out)
    );
}

#[test]
fn the_example_config_loads_as_it_is() {
    let text = fs::read_to_string(repo().join("contrib/config.example.toml")).unwrap();
    assert_config_loads(&text, "contrib/config.example.toml");
}

/// Its examples (`[[dedicated]]`, a dialog answer) and written-out defaults
/// are commented out as `#key = value`, prose as `# text`: with every such
/// line uncommented it must still load.
#[test]
fn the_example_config_loads_with_every_commented_out_line_in() {
    let text = fs::read_to_string(repo().join("contrib/config.example.toml")).unwrap();
    let mut uncommented = 0;
    let all: String = text
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if !rest.is_empty() && !rest.starts_with([' ', '#', '!']) => {
                uncommented += 1;
                format!("{rest}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    assert!(uncommented >= 20, "only {uncommented} commented-out keys");
    for key in [
        "file",
        "command",
        "max_depth",
        "session",
        "project",
        "resume_dir",
        "ready_marker",
        "ready_timeout",
        "shells",
        "message",
        "empty_body",
        "choose",
        "critical",
        "low",
        "trusted_uids",
        "trusted_gids",
        "max_size",
    ] {
        assert!(
            all.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "the example does not show `{key}`"
        );
    }
    assert_config_loads(&all, "contrib/config.example.toml, uncommented");
}

/// The commands of one hook event, from contrib/claude-code/settings.json.
fn hook_commands(event: &str) -> Vec<String> {
    let path = repo().join("contrib/claude-code/settings.json");
    let text = fs::read_to_string(&path).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let groups = json["hooks"][event]
        .as_array()
        .unwrap_or_else(|| panic!("hooks.{event} is an array"));
    let mut out = Vec::new();
    for g in groups {
        for h in g["hooks"]
            .as_array()
            .unwrap_or_else(|| panic!("hooks.{event}[].hooks is an array"))
        {
            assert_eq!(h["type"], "command", "{h}");
            out.push(h["command"].as_str().expect("a command string").to_string());
        }
    }
    out
}

const EVENTS: [&str; 3] = ["UserPromptSubmit", "Stop", "StopFailure"];

#[test]
fn the_claude_code_hooks_call_agent_queue_hook() {
    for event in EVENTS {
        let commands = hook_commands(event);
        assert_eq!(commands.len(), 1, "{event}: {commands:?}");
        let words: Vec<&str> = commands[0].split_whitespace().collect();
        assert_eq!(
            words.first().map(|w| w.rsplit('/').next().unwrap()),
            Some("agent-queue"),
            "{commands:?}"
        );
        let at = words.iter().position(|w| *w == "hook").expect("hook");
        assert!(
            words[1..at].iter().all(|w| w.starts_with('-')),
            "{commands:?}"
        );
        assert_eq!(at + 1, words.len(), "nothing after `hook`: {commands:?}");
    }
}

/// Exit 2 from a Stop hook is Claude Code's "do not stop": it feeds stderr
/// to the model as its next instruction, and the turn never ends; any other
/// failure is shown in the operator's own sessions. So the hooks exit 0 and
/// say on stderr what they could not do, even without a config or tmux.
#[test]
fn the_claude_code_hooks_exit_0_where_there_is_nothing_to_do() {
    let tmp = tempdir("aq-hook-");
    let bindir = tmp.path().join("bin");
    fs::create_dir_all(&bindir).unwrap();
    std::os::unix::fs::symlink(bin(), bindir.join("agent-queue")).unwrap();
    let path = std::env::join_paths(
        std::iter::once(bindir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    for event in EVENTS {
        for command in hook_commands(event) {
            let input = format!(
                "{{\"session_id\":\"s\",\"transcript_path\":\"/t.jsonl\",\"cwd\":\"/\",\"hook_event_name\":\"{event}\"}}"
            );
            // No config, no $TMUX_PANE.
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(&command)
                .env_clear()
                .env("PATH", &path)
                .env("HOME", tmp.path())
                .env("TMUX_TMPDIR", tmp.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            // It says why it did nothing.
            expect_exit(&command, &out, 0, "no config", String::new);
        }
    }
}

/// The hooks exactly as shipped, run by the stand-in agent as Claude Code
/// runs them: the pool session is recycled and given the next task.
#[test]
fn the_claude_code_hooks_as_shipped_hand_over_the_next_task() {
    let commands = hook_commands("Stop");
    assert_eq!(commands, hook_commands("UserPromptSubmit"));
    let mut w = World::new(1);
    std::os::unix::fs::symlink(bin(), w.path("bin/agent-queue")).unwrap();
    // tmux gives a new session the PATH of the client that made it, not one
    // passed with -e, so the hook puts `agent-queue` on its PATH itself.
    let hook = format!(
        "PATH={}:\"$PATH\"; {}",
        crate::env::sh_quote(&w.path("bin").display().to_string()),
        commands[0]
    );
    w.no_stop_hook();
    w.agent_env.insert("AQ_HOOK".into(), hook);
    // A turn that takes a second, like a real one: an agent that finishes
    // before its launcher has settled races the launcher's state update.
    w.agent_env.insert("AQ_AGENT_WORK".into(), "1".into());
    let p = w.project("p");
    w.task(&p, "first.md", "high", "first");
    w.task(&p, "second.md", "low", "second");
    w.start_pool();
    w.ok(&["scan"]);
    let session = w.pool_session(1);
    let got = w.wait_received(2, Duration::from_secs(30));
    assert!(got[0].text.starts_with("[first.md]"), "{got:?}");
    assert!(got[1].text.starts_with("[second.md]"), "{got:?}");
    // The state, the screens and recycle.log are shown if it never is.
    w.wait_until(
        Duration::from_secs(30),
        &format!("{session} is idle again"),
        || w.session_state(&session) == "idle",
    );
    assert_eq!(
        w.inbox(&p),
        ["first.md.dispatched", "second.md.dispatched"],
        "{:?}",
        w.inbox(&p)
    );
}

/// The status line is shipped with the hooks, with a refresh interval so
/// that idle agents keep reporting, as the README shows it.
#[test]
fn the_claude_code_settings_install_the_status_line_with_a_refresh_interval() {
    let path = repo().join("contrib/claude-code/settings.json");
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    use agent_queue::accounts::usage::{statusline_setting, StatusLineSetting};
    let StatusLineSetting::Installed {
        refresh_interval: Some(every),
    } = statusline_setting(&json)
    else {
        panic!("not agent-queue's status line with a refreshInterval: {json}");
    };
    assert!((1.0..=30.0).contains(&every), "{json}");
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let line = serde_json::to_string(&json["statusLine"]).unwrap();
    let shown = readme
        .lines()
        .find(|l| l.contains("\"statusLine\""))
        .expect("the README shows the status line");
    let shown: serde_json::Value =
        serde_json::from_str(&format!("{{{}}}", shown.trim().trim_end_matches(','))).unwrap();
    assert_eq!(shown["statusLine"], json["statusLine"], "README vs {line}");
}
