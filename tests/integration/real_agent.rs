//! The real Claude Code CLI, offline: the launch, its dialogs and the Stop
//! hook's recycle, against the agent our operators run rather than the
//! stand-in. Claude Code talks to `fake_api.rs` (`ANTHROPIC_BASE_URL`), in a
//! HOME prepared as docs/real-agent-notes.md describes, under the default `[agent]`
//! config (its command and ready marker; only `resume_dir` is moved into the
//! test's folder).
//!
//! The CLI is installed by `contrib/install-claude-code.sh` (`.ci/run` runs
//! it) into `${XDG_CACHE_HOME:-~/.cache}/agent-queue/claude-code-<VERSION>/`;
//! `AGENT_QUEUE_CLAUDE=/path/to/claude` names another binary (a newer
//! version, to check the defaults against it). Without it every test here
//! says loudly that it was skipped, and passes; with
//! `AGENT_QUEUE_REQUIRE_REAL=1` (as `.ci/run` sets) it fails instead.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::env::{bin, expect_exit, json_lines, sh_quote, stderr, World};
use crate::fake_api::FakeApi;

/// The Claude Code version the defaults were checked against.
pub(crate) const VERSION: &str = "2.1.197";
/// Any key works with the stand-in API; Claude Code remembers its last 20
/// characters as approved or rejected.
pub(crate) const API_KEY: &str = "sk-ant-api03-fakefakefake-0123456789ABCDEFGHIJ";
/// How long a whole cycle may take, on a loaded machine.
pub(crate) const WAIT: Duration = Duration::from_secs(45);
/// A launch that stops at a dialog or an exit must fail about this fast
/// (ready_timeout is 30 s: failing by name must not wait it out).
const FAST: Duration = Duration::from_secs(10);
/// What `agent.message` adds after the body, by default.
const MESSAGE_TAIL: &str =
    "\n\nIMPORTANT: carry out the requested actions; do not only describe them.";

/// The claude binary: `$AGENT_QUEUE_CLAUDE`, else where the install script
/// puts it (the platform package's native `claude`).
fn claude() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("AGENT_QUEUE_CLAUDE").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("AGENT_QUEUE_CLAUDE={} is not a file", p.display()))
        };
    }
    claude_of(VERSION)
}

/// The claude binary of `version`, where the install script puts it.
pub(crate) fn claude_of(version: &str) -> Result<PathBuf, String> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    let dir = cache.join(format!(
        "agent-queue/claude-code-{version}/node_modules/@anthropic-ai"
    ));
    let found = fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("claude-code-"))
            .map(|e| e.path().join("claude"))
            .find(|p| p.is_file())
    });
    found.ok_or_else(|| {
        format!(
            "Claude Code {version} is not installed (nothing under {}); \
             run contrib/install-claude-code.sh {version}, or set AGENT_QUEUE_CLAUDE",
            dir.display()
        )
    })
}

/// The text that was pasted, from a prompt as Claude Code reports it:
/// 2.1.197 gives the text itself; 2.1.332 wraps a paste of several lines
/// in `\n\n<pasted_content id="…">\n…\n</pasted_content id="…">\n`, in its
/// hook and in its model turn alike.
pub(crate) fn pasted(prompt: &str) -> String {
    let Some(rest) = prompt
        .trim_start_matches('\n')
        .strip_prefix("<pasted_content id=")
    else {
        return prompt.to_string();
    };
    let Some((_, body)) = rest.split_once(">\n") else {
        return prompt.to_string();
    };
    match body.rfind("\n</pasted_content") {
        Some(end) => body[..end].to_string(),
        None => prompt.to_string(),
    }
}

/// The version `claude --version` reports (`2.1.332 (Claude Code)`).
pub(crate) fn version_of(claude: &Path) -> (u32, u32, u32) {
    let out = std::process::Command::new(claude)
        .arg("--version")
        .env("DISABLE_AUTOUPDATER", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// Says loudly, past the test harness's capture, that `test` did not run;
/// fails it instead where `AGENT_QUEUE_REQUIRE_REAL=1` says the real agent
/// must be there (CI, which installs it).
pub(crate) fn skipped(test: &str, why: &str) {
    if std::env::var_os("AGENT_QUEUE_REQUIRE_REAL").is_some_and(|v| v == "1") {
        panic!("real-agent test {test} cannot run, and AGENT_QUEUE_REQUIRE_REAL=1: {why}");
    }
    let line = "!".repeat(78);
    let _ = writeln!(
        std::io::stderr(),
        "\n{line}\nSKIPPED real-agent test {test}: {why}\n{line}"
    );
}

/// The claude binary, or `None` after saying loudly that `test` is skipped.
pub(crate) fn claude_or_skip(test: &str) -> Option<PathBuf> {
    match claude() {
        Ok(p) => Some(p),
        Err(why) => {
            skipped(test, &why);
            None
        }
    }
}

/// What the agent's HOME says before it starts.
#[derive(Clone)]
pub(crate) struct Home {
    /// `hasCompletedOnboarding`: no first-run screens.
    pub(crate) onboarded: bool,
    /// The key's suffix in `customApiKeyResponses`: `Some(true)` approved,
    /// `Some(false)` rejected, `None` never asked.
    pub(crate) key: Option<bool>,
    /// `skipDangerousModePermissionPrompt`: no bypass warning.
    pub(crate) skip_bypass: bool,
    /// The projects root is trusted (and so every project under it).
    pub(crate) trusted: bool,
    /// `IS_SANDBOX=1`, which root needs for `--dangerously-skip-permissions`.
    pub(crate) sandbox: bool,
    /// `[agent] command`, when not the default `claude …`.
    pub(crate) command: Option<String>,
}

impl Home {
    /// A HOME that goes straight to the prompt.
    pub(crate) fn ready() -> Home {
        Home {
            onboarded: true,
            key: Some(true),
            skip_bypass: true,
            trusted: true,
            sandbox: true,
            command: None,
        }
    }
}

/// A test world whose sessions run the real Claude Code against a stand-in
/// API.
pub(crate) struct Real {
    pub(crate) w: World,
    pub(crate) api: FakeApi,
    /// The projects root, as the agent sees it (no symlinks).
    pub(crate) root: PathBuf,
}

/// One hook call, as the witness hook logged it.
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    pub(crate) session: String,
    pub(crate) json: Value,
}

impl Real {
    pub(crate) fn new(claude: &Path, pool: u32, home: Home) -> Real {
        let mut w = World::new(pool);
        let api = FakeApi::start();
        fs::create_dir_all(w.path("projects")).unwrap();
        fs::create_dir_all(w.path("witness")).unwrap();
        let root = fs::canonicalize(w.path("projects")).unwrap();
        // On the sessions' PATH as `claude`, for the default agent command.
        std::os::unix::fs::symlink(claude, w.path("bin/claude")).unwrap();

        // Every hook call leaves a file: the event, the tmux session, the JSON.
        let witness = w.path("bin/witness.sh");
        fs::write(
            &witness,
            format!(
                "#!/bin/sh\n\
                 s=$(tmux display-message -p -t \"$TMUX_PANE\" '#{{session_name}}' 2>/dev/null) || s=unknown\n\
                 f={}/\"$1.$s.$(date +%s%N).$$\"\n\
                 cat > \"$f.tmp\" && mv \"$f.tmp\" \"$f.json\"\n",
                sh_quote(&w.path("witness").display().to_string())
            ),
        )
        .unwrap();
        World::make_executable(&witness);
        let witness = sh_quote(&witness.display().to_string());

        // The hooks as contrib/ ships them, with this build's binary, and
        // the witness beside them.
        let contrib: Value = serde_json::from_str(
            &fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/claude-code/settings.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let ours = |command: &Value| {
            let rest = command
                .as_str()
                .and_then(|c| c.strip_prefix("agent-queue "))
                .expect("the shipped settings call agent-queue");
            format!("{} {rest}", sh_quote(&bin().display().to_string()))
        };
        let mut hooks = contrib["hooks"].clone();
        for (event, groups) in hooks.as_object_mut().unwrap() {
            let groups = groups.as_array_mut().unwrap();
            for group in groups.iter_mut() {
                for hook in group["hooks"].as_array_mut().unwrap() {
                    hook["command"] = json!(ours(&hook["command"]));
                }
            }
            groups.push(
                json!({"hooks": [{"type": "command", "command": format!("{witness} {event}")}]}),
            );
        }
        // The status line too, its JSON kept in witness/statusline.*.json.
        let mut statusline = contrib["statusLine"].clone();
        let keep = format!(
            "f={}/statusline.$(date +%s%N).$$; tee \"$f.tmp\" | {}; mv \"$f.tmp\" \"$f.json\"",
            sh_quote(&w.path("witness").display().to_string()),
            ours(&statusline["command"])
        );
        statusline["command"] = json!(keep);
        let mut settings = json!({ "hooks": hooks, "statusLine": statusline });
        if home.skip_bypass {
            settings["skipDangerousModePermissionPrompt"] = json!(true);
        }
        fs::create_dir_all(w.home().join(".claude")).unwrap();
        fs::write(
            w.home().join(".claude/settings.json"),
            serde_json::to_string_pretty(&settings).unwrap(),
        )
        .unwrap();

        let suffix = &API_KEY[API_KEY.len() - 20..];
        let mut state = json!({
            "customApiKeyResponses": {
                "approved": if home.key == Some(true) { vec![suffix] } else { vec![] },
                "rejected": if home.key == Some(false) { vec![suffix] } else { vec![] },
            },
            "projects": {},
        });
        if home.onboarded {
            state["hasCompletedOnboarding"] = json!(true);
        }
        if home.trusted {
            state["projects"][root.display().to_string()] = json!({"hasTrustDialogAccepted": true});
        }
        fs::write(
            w.home().join(".claude.json"),
            serde_json::to_string_pretty(&state).unwrap(),
        )
        .unwrap();

        let path = format!(
            "{}:{}",
            w.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut env = BTreeMap::from([
            ("PATH", path),
            ("ANTHROPIC_BASE_URL", api.base_url()),
            ("ANTHROPIC_API_KEY", API_KEY.to_string()),
            ("DISABLE_AUTOUPDATER", "1".into()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
        ]);
        if home.sandbox {
            env.insert("IS_SANDBOX", "1".into());
        }
        for (k, v) in env {
            w.agent_env.insert(k.into(), v);
        }
        // The default [agent] section: the real command, the real marker.
        let resume = w.path("resume").display().to_string();
        let command = home
            .command
            .map(|c| format!("command = {c:?}\n"))
            .unwrap_or_default();
        w.config(&format!("[agent]\nresume_dir = {resume:?}\n{command}"));
        Real { w, api, root }
    }

    pub(crate) fn project(&self, name: &str) -> PathBuf {
        self.w.project(name);
        self.root.join(name)
    }

    /// The message the agent must receive for a task, as `agent.message`
    /// makes it by default.
    pub(crate) fn message(name: &str, body: &str) -> String {
        format!("[{name}] {}{MESSAGE_TAIL}", body.trim())
    }

    /// Every call of `event`'s hook so far, oldest first.
    pub(crate) fn hooks(&self, event: &str) -> Vec<Hook> {
        let mut out: Vec<(u128, Hook)> = Vec::new();
        for entry in fs::read_dir(self.w.path("witness")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            let parts: Vec<&str> = stem.split('.').collect();
            if parts.len() != 4 || parts[0] != event {
                continue;
            }
            let text = fs::read_to_string(self.w.path("witness").join(&name)).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name} is not JSON ({e}): {text}"));
            out.push((
                parts[2].parse().unwrap(),
                Hook {
                    session: parts[1].to_string(),
                    json,
                },
            ));
        }
        out.sort_by_key(|(at, _)| *at);
        out.into_iter().map(|(_, h)| h).collect()
    }

    /// The prompts the agents took (`UserPromptSubmit`), oldest first, as
    /// pasted (see [`pasted`]).
    pub(crate) fn prompts(&self) -> Vec<String> {
        self.hooks("UserPromptSubmit")
            .iter()
            .map(|h| pasted(h.json["prompt"].as_str().unwrap_or_default()))
            .collect()
    }

    /// `~/.claude.json` as the agents left it.
    pub(crate) fn claude_json(&self) -> Value {
        serde_json::from_str(&fs::read_to_string(self.w.home().join(".claude.json")).unwrap())
            .unwrap()
    }

    /// A Claude Code config folder of its own (`CLAUDE_CONFIG_DIR`), as a
    /// second account has it: what HOME holds, in it (`.claude.json`, with
    /// onboarding done and the projects root trusted; `settings.json`, with
    /// the hooks).
    pub(crate) fn config_dir(&self, name: &str) -> PathBuf {
        let dir = self.w.path("accounts").join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::copy(
            self.w.home().join(".claude/settings.json"),
            dir.join("settings.json"),
        )
        .unwrap();
        fs::copy(self.w.home().join(".claude.json"), dir.join(".claude.json")).unwrap();
        dir
    }

    pub(crate) fn trusted(&self, project: &Path) -> bool {
        self.claude_json()["projects"][project.display().to_string()]["hasTrustDialogAccepted"]
            == json!(true)
    }

    /// The world, the hooks and the model turns, for failure messages.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{}prompts: {:#?}\nturns: {:#?}\n",
            self.w.describe(),
            self.prompts(),
            self.api
                .turn_requests()
                .iter()
                .map(|r| (
                    r.body["model"].clone(),
                    r.credential.clone().unwrap_or_default(),
                    r.status,
                    r.last_user_text()
                ))
                .collect::<Vec<_>>()
        )
    }

    pub(crate) fn wait_until(&self, limit: Duration, what: &str, cond: impl FnMut() -> bool) {
        crate::env::poll_until(limit, what, cond, || self.describe());
    }

    /// Runs `agent-queue -v <args>` (every step on stderr, for failure
    /// messages), timed; it must exit `code` with `needle` in its stderr.
    #[track_caller]
    pub(crate) fn fails(
        &self,
        args: &[&str],
        code: i32,
        needle: &str,
    ) -> (std::process::Output, Duration) {
        let start = Instant::now();
        let out = self.w.cmd().arg("-v").args(args).output().unwrap();
        let took = start.elapsed();
        let what = format!("agent-queue -v {}", args.join(" "));
        expect_exit(&what, &out, code, needle, || self.describe());
        (out, took)
    }

    /// `fails` for a run that must exit 0.
    #[track_caller]
    pub(crate) fn ok(&self, args: &[&str]) -> (std::process::Output, Duration) {
        self.fails(args, 0, "")
    }

    /// `agent-queue -v <args>`, timed, whatever its exit status.
    pub(crate) fn run(&self, args: &[&str]) -> (std::process::Output, Duration) {
        let start = Instant::now();
        let out = self.w.cmd().arg("-v").args(args).output().unwrap();
        (out, start.elapsed())
    }

    /// The session still shows `text` (a dialog's last screen): after the
    /// failed launch its agent was stopped (two C-c leave the folder-trust
    /// screen; at the API-key question and the bypass warning Claude Code
    /// 2.1.197 stays, and its pane is respawned), and nothing was typed into
    /// the dialog.
    fn still_shows(&self, session: &str, text: &str) -> bool {
        self.w.screen(session).contains(text)
    }
}

impl Drop for Real {
    /// The agents write into HOME as they exit (their transcripts, history):
    /// the tmux server is killed first, and its agents and any recycle still
    /// running are let finish, so that the temp folder goes whole.
    fn drop(&mut self) {
        let panes = self
            .w
            .tmux_output(&["list-panes", "-a", "-F", "#{pane_pid}"]);
        let roots: Vec<u32> = String::from_utf8_lossy(&panes.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let config = self.w.config_path().display().to_string();
        let procs = processes();
        let mut ours: Vec<u32> = roots.clone();
        let mut i = 0;
        while i < ours.len() {
            let parent = ours[i];
            ours.extend(procs.iter().filter(|p| p.ppid == parent).map(|p| p.pid));
            i += 1;
        }
        ours.extend(
            procs
                .iter()
                .filter(|p| p.cmdline.contains(&config))
                .map(|p| p.pid),
        );
        let _ = self.w.tmux_output(&["kill-server"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && ours.iter().any(|&pid| alive(pid)) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct Proc {
    pid: u32,
    ppid: u32,
    cmdline: String,
}

/// Every process, from /proc.
fn processes() -> Vec<Proc> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parens.
            let after = &stat[stat.rfind(')')? + 1..];
            let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
            let cmdline = fs::read(e.path().join("cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            Some(Proc { pid, ppid, cmdline })
        })
        .collect()
}

/// The process runs (a zombie has finished).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = &stat[stat.rfind(')')? + 1..];
            after.split_whitespace().next().map(|s| s != "Z")
        })
        .unwrap_or(false)
}

pub(crate) fn task_file(project: &Path, name: &str, priority: &str, body: &str) -> PathBuf {
    let path = project.join(".agent-queue/inbox").join(name);
    fs::write(&path, format!("---\npriority: {priority}\n---\n{body}\n")).unwrap();
    path
}

#[test]
fn tasks_of_every_priority_go_through_two_real_agents_each_once_with_its_model() {
    let Some(claude) = claude_or_skip("tasks_of_every_priority_go_through_two_real_agents") else {
        return;
    };
    let mut r = Real::new(&claude, 2, Home::ready());
    // `high` is not the default's sonnet: the model follows the config.
    r.w.config("[agent.models]\ncritical = \"opus\"\nhigh = \"opus\"\ndefault = \"sonnet\"\nlow = \"sonnet\"\n");
    let p = r.project("app");
    // Short bodies show inline in the input box, long ones fold into
    // `[Pasted text #1 +N lines]`: both must be submitted exactly once.
    let long: String = (1..=30)
        .map(|i| format!("Step {i}:   keep \"quotes\", $HOME, `ticks` and  spaces."))
        .collect::<Vec<_>>()
        .join("\n");
    let tasks: Vec<(&str, &str, String, &str)> = vec![
        ("crit.md", "critical", "Fix the outage.".into(), "opus"),
        ("high.md", "high", long, "opus"),
        (
            "mid.md",
            "default",
            "Tidy the README.\n\nTwo paragraphs.".into(),
            "sonnet",
        ),
        ("low-a.md", "low", "Rename a variable.".into(), "sonnet"),
        ("low-b.md", "low", "Delete a comment.".into(), "sonnet"),
    ];
    for (name, priority, body, _) in &tasks {
        task_file(&p, name, priority, body);
    }
    r.w.start_pool();

    let (out, _) = r.ok(&["--json", "scan"]);
    // The scan fills both sessions, highest priority first (its rescan may
    // already find a session that its Stop hook recycled).
    let events = json_lines(&out);
    let dispatched: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "dispatched")
        .map(|e| {
            let task = Path::new(e["task"].as_str().unwrap());
            let name = task.file_name().unwrap().to_string_lossy();
            (
                name.trim_end_matches(".dispatched").to_string(),
                e["model"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(dispatched.len() >= 2, "{events:?}");
    let first: BTreeSet<&str> = dispatched[..2].iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(first, BTreeSet::from(["crit.md", "high.md"]), "{events:?}");
    for (name, model) in &dispatched {
        let want = tasks.iter().find(|t| t.0 == name).unwrap().3;
        assert_eq!(model, want, "{events:?}");
    }

    // The rest comes from the Stop hooks: mark-idle, /exit, the next task.
    r.wait_until(WAIT, "every task was taken and both agents exited", || {
        r.prompts().len() >= tasks.len() && r.w.all_idle_at_shell()
    });

    let prompts = r.prompts();
    let turns = r.api.turn_requests();
    for (name, _, body, model) in &tasks {
        let message = Real::message(name, body);
        let taken = prompts.iter().filter(|p| **p == message).count();
        assert_eq!(
            taken,
            1,
            "{name}: submitted {taken} times\n{}",
            r.describe()
        );
        let sent: Vec<_> = turns
            .iter()
            .filter(|t| t.last_user_text().map(|u| pasted(&u)).as_deref() == Some(message.as_str()))
            .collect();
        assert_eq!(
            sent.len(),
            1,
            "{name}: {} model turns\n{}",
            sent.len(),
            r.describe()
        );
        let asked = sent[0].body["model"].as_str().unwrap_or_default();
        assert!(
            asked.contains(model),
            "{name} asked for `{asked}`, not {model}\n{}",
            r.describe()
        );
    }
    assert_eq!(prompts.len(), tasks.len(), "{}", r.describe());
    assert_eq!(turns.len(), tasks.len(), "{}", r.describe());
    // The scan's two went first.
    let first: BTreeSet<&str> = prompts[..2].iter().map(String::as_str).collect();
    let want: BTreeSet<String> = tasks[..2]
        .iter()
        .map(|(n, _, b, _)| Real::message(n, b))
        .collect();
    assert_eq!(first, want.iter().map(String::as_str).collect());

    // Each task had an agent of its own (the session was recycled with
    // /exit), in the project's folder, and both sessions worked.
    let hooks = r.hooks("UserPromptSubmit");
    let ids: BTreeSet<&str> = hooks
        .iter()
        .map(|h| h.json["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), tasks.len(), "one agent per task: {hooks:#?}");
    assert!(hooks
        .iter()
        .all(|h| h.json["cwd"].as_str() == Some(p.to_str().unwrap())));
    let sessions: BTreeSet<&str> = hooks.iter().map(|h| h.session.as_str()).collect();
    assert_eq!(sessions.len(), 2, "{hooks:#?}");
    assert!(r.hooks("Stop").len() >= tasks.len());
    let mut inbox = r.w.inbox(&p);
    inbox.sort();
    let mut want: Vec<String> = tasks
        .iter()
        .map(|(n, ..)| format!("{n}.dispatched"))
        .collect();
    want.sort();
    assert_eq!(inbox, want);
}

#[test]
fn an_untrusted_project_fails_at_the_trust_dialog_by_name_unless_the_config_answers_it() {
    let Some(claude) = claude_or_skip("an_untrusted_project_fails_at_the_trust_dialog") else {
        return;
    };
    let mut r = Real::new(
        &claude,
        2,
        Home {
            trusted: false,
            ..Home::ready()
        },
    );
    let p = r.project("untrusted");
    let body = "Look around.";
    let task = task_file(&p, "t.md", "high", body);
    let task_arg = task.to_str().unwrap();
    r.w.start_pool();

    // `dispatch`: one launch (a scan would try the task again in the next
    // free session).
    let (out, took) = r.fails(&["dispatch", task_arg], 3, "");
    assert!(took < FAST, "failing took {took:?}");
    let err = stderr(&out);
    assert!(err.contains("folder trust dialog"), "{err}");
    assert!(task.exists(), "the task is back in its inbox: {err}");
    // Nothing was typed into it: the agent was interrupted at the dialog
    // (so the session comes back free), the folder is not trusted, and no
    // prompt reached the model.
    assert!(
        r.still_shows("ccl-auto-1", "Yes, I trust this folder"),
        "{}",
        r.describe()
    );
    assert!(!r.trusted(&p));
    assert!(r.prompts().is_empty() && r.api.turn_requests().is_empty());

    // Answered by the config (the option "Yes", wherever it is), the task
    // goes through; the first session is cooling down, the second takes it.
    r.w.config("[[agent.dialog]]\nname = \"folder trust\"\nmatch = \"Yes, I trust this folder\"\nchoose = \"Yes, I trust this folder\"\n");
    let (out, _) = r.ok(&["--json", "scan"]);
    assert_eq!(json_lines(&out)[0]["session"], "ccl-auto-2");
    r.wait_until(WAIT, "the task reached the agent", || {
        !r.prompts().is_empty()
    });
    assert_eq!(r.prompts(), [Real::message("t.md", body)]);
    assert!(r.trusted(&p), "the agent recorded the answer");
}

#[test]
fn the_api_key_question_and_the_bypass_warning_fail_by_name_and_pass_when_answered() {
    let Some(claude) = claude_or_skip("the_api_key_question_and_the_bypass_warning") else {
        return;
    };
    let mut r = Real::new(
        &claude,
        3,
        Home {
            key: None,
            skip_bypass: false,
            ..Home::ready()
        },
    );
    let p = r.project("app");
    let body = "Say hello.";
    let task = task_file(&p, "t.md", "high", body);
    r.w.start_pool();
    // Name, text on screen, the option that accepts (Enter alone would
    // not: on the API key it means "No", on the warning "No, exit").
    let dialogs = [
        ("API key", "Do you want to use this API key?", "Yes"),
        (
            "bypass warning",
            "running in Bypass Permissions mode",
            "Yes, I accept",
        ),
    ];
    let answer = |(name, matches, option): (&str, &str, &str)| {
        format!("[[agent.dialog]]\nname = {name:?}\nmatch = {matches:?}\nchoose = {option:?}\n")
    };

    let task_arg = task.to_str().unwrap();
    // Unanswered, the first one fails the launch, naming it (`dispatch`:
    // one launch, where a scan would try the next free session too).
    let (out, took) = r.fails(&["dispatch", task_arg], 3, "");
    assert!(took < FAST, "failing took {took:?}");
    let err = stderr(&out);
    let first = dialogs
        .iter()
        .position(|(name, ..)| err.contains(&format!("its {name} dialog")))
        .unwrap_or_else(|| panic!("names neither dialog: {err}"));
    let second = 1 - first;
    assert!(task.exists(), "{err}");
    // The failed launch stopped the agent it started, whatever its screen
    // (at the API-key question and the bypass warning two C-c do not do it,
    // and the pane is respawned).
    assert!(!r.w.agent_runs("ccl-auto-1"), "{}", r.describe());

    // The first answered, the launch goes on to the second and fails there.
    r.w.config(&answer(dialogs[first]));
    let (out, took) = r.fails(&["dispatch", task_arg], 3, "");
    assert!(took < FAST, "failing took {took:?}");
    let err = stderr(&out);
    assert!(err.contains("ccl-auto-2"), "{err}");
    assert!(
        err.contains(&format!("its {} dialog", dialogs[second].0)),
        "{err}"
    );
    assert!(task.exists(), "{err}");
    assert!(!r.w.agent_runs("ccl-auto-2"), "{}", r.describe());
    // Never answered by a stray Enter: no key was refused (checked below)
    // and the warning was not accepted.
    assert!(r.prompts().is_empty() && r.api.turn_requests().is_empty());
    assert!(r.prompts().is_empty() && r.api.turn_requests().is_empty());

    // Both answered, the task goes through.
    r.w.config(&answer(dialogs[second]));
    let (out, _) = r.ok(&["--json", "scan"]);
    assert_eq!(json_lines(&out)[0]["session"], "ccl-auto-3");
    r.wait_until(WAIT, "the task reached the agent", || {
        !r.prompts().is_empty()
    });
    assert_eq!(r.prompts(), [Real::message("t.md", body)]);
    let keys = &r.claude_json()["customApiKeyResponses"];
    assert_eq!(
        keys["approved"],
        json!([&API_KEY[API_KEY.len() - 20..]]),
        "{keys}"
    );
    assert_eq!(keys["rejected"], json!([]), "{keys}");
}

#[test]
fn a_first_run_and_a_refused_key_fail_the_launch_by_name() {
    let Some(claude) = claude_or_skip("a_first_run_and_a_refused_key_fail_the_launch_by_name")
    else {
        return;
    };
    for (home, name) in [
        (
            Home {
                onboarded: false,
                ..Home::ready()
            },
            "onboarding",
        ),
        // Someone pressed Enter on the API key question once: the agent
        // comes up at its prompt, logged out; a task given to it is lost.
        (
            Home {
                key: Some(false),
                ..Home::ready()
            },
            "not logged in",
        ),
    ] {
        let r = Real::new(&claude, 1, home);
        let p = r.project("app");
        let task = task_file(&p, "t.md", "high", "Say hello.");
        r.w.start_pool();
        if version_of(&claude) != (2, 1, 197) {
            // 2.1.332 given an API key shows its onboarding or (in some
            // runs) goes straight to its prompt, and uses a key whose
            // suffix was rejected: either the launch fails naming the
            // screen, or the agent takes the task; it is never lost.
            let (out, _) = r.run(&["scan"]);
            let err = stderr(&out);
            if out.status.success() {
                r.wait_until(WAIT, "the task reached the agent", || {
                    !r.prompts().is_empty()
                });
            } else {
                assert!(err.contains(&format!("its {name} dialog")), "{err}");
                assert!(task.exists(), "{err}");
            }
            continue;
        }
        let (out, took) = r.fails(&["scan"], 3, "");
        assert!(took < FAST, "{name}: failing took {took:?}");
        let err = stderr(&out);
        assert!(err.contains(&format!("its {name} dialog")), "{err}");
        assert!(task.exists(), "{err}");
        assert!(r.prompts().is_empty() && r.api.turn_requests().is_empty());
    }
}

#[test]
#[ignore = "needs root"]
fn as_root_without_is_sandbox_the_launch_fails_at_once_quoting_the_agent() {
    let test = "as_root_without_is_sandbox_the_launch_fails_at_once";
    let Some(claude) = claude_or_skip(test) else {
        return;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    assert_eq!(unsafe { libc::geteuid() }, 0, "run this test as root");
    let r = Real::new(
        &claude,
        1,
        Home {
            sandbox: false,
            ..Home::ready()
        },
    );
    let p = r.project("app");
    let task = task_file(&p, "t.md", "high", "Say hello.");
    r.w.start_pool();
    let (out, took) = r.fails(&["scan"], 3, "");
    assert!(took < FAST, "failing took {took:?}");
    let err = stderr(&out);
    assert!(
        err.contains("--dangerously-skip-permissions cannot be used with root/sudo privileges"),
        "the error quotes the agent: {err}"
    );
    assert!(task.exists(), "{err}");
    assert!(!r.w.agent_runs("ccl-auto-1"), "{}", r.describe());
}

#[test]
fn claude_code_started_through_a_wrapper_that_does_not_exec_it_takes_its_tasks() {
    let Some(claude) = claude_or_skip("claude_code_started_through_a_wrapper") else {
        return;
    };
    // A setup script as operators write them: it runs Claude Code as a
    // child, so tmux shows `bash` while the agent is up.
    let r = Real::new(
        &claude,
        1,
        Home {
            command: Some("claude-wrapper --model {model} --dangerously-skip-permissions".into()),
            ..Home::ready()
        },
    );
    let wrapper = r.w.path("bin/claude-wrapper");
    fs::write(
        &wrapper,
        "#!/usr/bin/env bash\nexport WRAPPED=1\nsleep 0.2\nclaude \"$@\"\nstatus=$?\nexit $status\n",
    )
    .unwrap();
    World::make_executable(&wrapper);
    let p = r.project("app");
    task_file(&p, "one.md", "high", "First task.");
    task_file(&p, "two.md", "low", "Second task.");
    r.w.start_pool();
    r.ok(&["--json", "scan"]);
    // The Stop hook recycles the session (`/exit` into Claude Code under its
    // wrapper) and hands it the second task.
    r.wait_until(WAIT, "both tasks reached the agent and it exited", || {
        r.prompts().len() >= 2 && r.w.idle_at_shell("ccl-auto-1")
    });
    assert_eq!(
        r.prompts(),
        [
            Real::message("one.md", "First task."),
            Real::message("two.md", "Second task.")
        ]
    );
    let state = r.w.state();
    assert!(
        state["sessions"]["ccl-auto-1"]["last_fail"].is_null(),
        "{state}"
    );
}

#[test]
fn real_hooks_send_receipts_and_ends_for_three_tasks_through_two_sessions() {
    let Some(claude) = claude_or_skip("real_hooks_send_receipts_and_ends") else {
        return;
    };
    let r = Real::new(&claude, 2, Home::ready());
    let p = r.project("app");
    let bodies = ["Say one.", "Say two.", "Say three."];
    for (i, body) in bodies.iter().enumerate() {
        task_file(&p, &format!("t{i}.md"), "high", body);
    }
    r.w.start_pool();
    r.ok(&["--json", "scan"]);
    r.wait_until(
        WAIT,
        "three tasks were taken and both agents exited",
        || r.prompts().len() >= 3 && r.w.all_idle_at_shell(),
    );
    let mut prompts = r.prompts();
    prompts.sort();
    let mut want: Vec<String> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| Real::message(&format!("t{i}.md"), b))
        .collect();
    want.sort();
    assert_eq!(prompts, want, "each task once");
    // The receipts carry Claude Code's own session id and transcript.
    let state = r.w.state();
    for i in 1..=2 {
        let s = &state["sessions"][r.w.pool_session(i)];
        assert_eq!(s["hooks"], true, "{state}");
        let receipt = &s["receipt"];
        let id = receipt["agent_session_id"].as_str().unwrap();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        let transcript = receipt["transcript_path"].as_str().unwrap();
        assert!(transcript.contains(id), "{transcript}");
        assert!(Path::new(transcript).exists(), "{transcript}");
    }
    // Each task's life in the history: dispatched, received (with Claude
    // Code's session and transcript), done (with its last message).
    for i in 0..bodies.len() {
        let name = format!("t{i}.md");
        let (out, _) = r.run(&["--json", "history", &name]);
        assert!(out.status.success(), "{}", stderr(&out));
        let lines = json_lines(&out);
        let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
        for want in ["dispatched", "received", "done"] {
            assert!(events.contains(&want), "{name}: {events:?}");
        }
        let received = lines.iter().find(|l| l["event"] == "received").unwrap();
        let transcript = received["transcript_path"].as_str().unwrap();
        assert!(Path::new(transcript).exists(), "{transcript}");
        let done = lines.iter().find(|l| l["event"] == "done").unwrap();
        assert_eq!(
            done["agent_session_id"], received["agent_session_id"],
            "{done}"
        );
        assert_eq!(
            done["message"], "Done.",
            "the stand-in API's answer: {done}"
        );
        let (out, _) = r.run(&["history", &name]);
        let life = crate::env::stdout(&out);
        assert!(
            life.contains("Done.") && life.contains(transcript),
            "{life}"
        );
    }
}
