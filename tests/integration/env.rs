//! The test world: a temp folder that is HOME and every XDG folder, projects
//! with inboxes, a config, and a private tmux server (`tmux -L <unique> -f
//! /dev/null`) whose sessions run a POSIX shell and, when a task arrives, the
//! stand-in agent from `contrib/stand-in-agent.sh`. The server is killed when
//! the world is dropped, pass or fail.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use assert_cmd::cargo::CommandCargoExt;
use tempfile::TempDir;

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("agent-queue")
}

pub fn stand_in_agent() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/stand-in-agent.sh")
}

/// One message as the stand-in agent logged it.
#[derive(Debug, Clone)]
pub struct Received {
    pub session: String,
    pub model: String,
    pub resume: String,
    pub cwd: PathBuf,
    pub text: String,
    pub at: SystemTime,
}

/// Variables of the test run's own environment that a tmux server started
/// by a test must not pass on to its panes.
const OUTSIDE_ENV: [&str; 9] = [
    "AGENT_QUEUE_CONFIG",
    "AGENT_QUEUE_RUN",
    "TMUX",
    "TMUX_PANE",
    "EDITOR",
    "VISUAL",
    "CLAUDE_CONFIG_DIR",
    "XDG_RUNTIME_DIR",
    "XDG_DATA_DIRS",
];

pub struct World {
    pub dir: TempDir,
    pub socket: String,
    /// Extra TOML appended to the generated config.
    config_extra: String,
    /// Extra keys of the `[pool]` table.
    pool_extra: String,
    /// Extra keys of the `[projects]` table.
    projects_extra: String,
    pool_prefix: String,
    pool_size: u32,
    /// The agent's environment, per session started after it is set (a
    /// `PATH` here is the sessions' PATH).
    pub agent_env: BTreeMap<String, String>,
    /// The world's tmux server's socket folder (`$TMUX_TMPDIR`), when it
    /// is "on" a host of its own (see `sshd`); tmux's default otherwise.
    pub tmux_tmpdir: Option<PathBuf>,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.tmux_output(&["kill-server"]);
    }
}

impl World {
    /// A world with a pool `ccl-auto-1 .. ccl-auto-<size>` and the stand-in
    /// agent configured; no tmux server runs until a session is started.
    pub fn new(pool_size: u32) -> World {
        let dir = tempfile::Builder::new()
            .prefix("aq-test-")
            .tempdir()
            .unwrap();
        let socket = format!(
            "aq-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let w = World {
            dir,
            socket,
            config_extra: String::new(),
            pool_extra: String::new(),
            projects_extra: String::new(),
            pool_prefix: "ccl-auto-".into(),
            pool_size,
            agent_env: BTreeMap::new(),
            tmux_tmpdir: None,
        };
        for sub in ["home", "config", "state", "cache", "data", "log", "bin"] {
            fs::create_dir_all(w.path(sub)).unwrap();
        }
        let mut w = w;
        w.agent_env
            .insert("AQ_AGENT_LOG".into(), w.path("log").display().to_string());
        w.agent_env.insert(
            "AQ_STOP_HOOK".into(),
            format!("{} -q mark-idle", sh_quote(&bin().display().to_string())),
        );
        w.write_config();
        w
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("config/agent-queue/config.toml")
    }

    pub fn state_path(&self) -> PathBuf {
        self.path("state/agent-queue/state.json")
    }

    pub fn pool_session(&self, i: u32) -> String {
        format!("{}{i}", self.pool_prefix)
    }

    /// Adds TOML to the config (sections the default config does not have,
    /// or that replace nothing it has). An `[agent]` section replaces the
    /// stand-in agent's, leaving every key it does not set at its default.
    pub fn config(&mut self, toml: &str) -> &mut World {
        self.config_extra.push_str(toml);
        self.config_extra.push('\n');
        self.write_config();
        self
    }

    /// Adds a key to the `[pool]` table, e.g. `recycle = false`.
    pub fn pool_config(&mut self, toml: &str) -> &mut World {
        self.pool_extra.push_str(toml);
        self.pool_extra.push('\n');
        self.write_config();
        self
    }

    /// Adds a key to the `[projects]` table, e.g. `max_parallel = 1`.
    pub fn projects_config(&mut self, toml: &str) -> &mut World {
        self.projects_extra.push_str(toml);
        self.projects_extra.push('\n');
        self.write_config();
        self
    }

    /// Adds a `[[dedicated]]` session working in `project`.
    pub fn dedicated(&mut self, session: &str, project: &Path) -> &mut World {
        self.config(&format!(
            "[[dedicated]]\nsession = {session:?}\nproject = {:?}\n",
            project.display().to_string()
        ))
    }

    fn write_config(&self) {
        let agent = self.agent_command();
        let has_agent = self.config_extra.contains("[agent]");
        let mut text = format!(
            "[tmux]\ncommand = [\"tmux\", \"-L\", {socket:?}, \"-f\", \"/dev/null\"]\n\n\
             [projects]\nroots = [{root:?}]\nsettle = \"0s\"\n{projects_extra}\n",
            socket = self.socket,
            root = self.path("projects").display().to_string(),
            projects_extra = self.projects_extra,
        );
        // A world of no local pool session has no `[pool]` at all (a pool
        // holds one session at least): its pools are in `config_extra`.
        if self.pool_size > 0 {
            text.push_str(&format!(
                "[pool]\nprefix = {prefix:?}\nstart = 1\nsize = {size}\ncooldown = \"1m\"\n{pool_extra}\n",
                prefix = self.pool_prefix,
                size = self.pool_size,
                pool_extra = self.pool_extra,
            ));
        }
        if !has_agent {
            text.push_str(&format!(
                "[agent]\ncommand = {agent:?}\nready_timeout = \"10s\"\nresume_dir = {:?}\n\n",
                self.path("resume").display().to_string()
            ));
        }
        text.push_str(&self.config_extra);
        let path = self.config_path();
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
    }

    /// The stand-in agent command line, for configs that write their own
    /// `[agent]` section. It is a `#!/bin/sh` script, so tmux shows its
    /// pane as running `sh`, like a shell: agent-queue must not care.
    pub fn agent_command(&self) -> String {
        format!(
            "{} --model {{model}}",
            sh_quote(&stand_in_agent().display().to_string())
        )
    }

    /// A project folder with an inbox, under the configured root.
    pub fn project(&self, name: &str) -> PathBuf {
        let p = self.path("projects").join(name);
        fs::create_dir_all(p.join(".agent-queue/inbox")).unwrap();
        p
    }

    /// Writes a task into a project's inbox, its mtime `age` in the past.
    pub fn task(&self, project: &Path, name: &str, priority: &str, body: &str) -> PathBuf {
        let path = project.join(".agent-queue/inbox").join(name);
        fs::write(&path, format!("---\npriority: {priority}\n---\n{body}\n")).unwrap();
        path
    }

    pub fn set_age(&self, path: &Path, age: Duration) {
        let f = fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    /// Starts a session running a plain POSIX shell, with the stand-in
    /// agent's environment.
    pub fn start_session(&self, name: &str) {
        self.start_session_on(&self.socket, name);
    }

    /// Starts a session as `start_session` does, on the tmux server of
    /// another socket (a second server, or a "remote host"); that server is
    /// the caller's to kill.
    pub fn start_session_on(&self, socket: &str, name: &str) {
        self.start_session_running(socket, name, &["/bin/sh"]);
    }

    /// Starts a session as `start_session_on` does, its pane running
    /// `shell` (a program and its arguments) instead of `/bin/sh`.
    pub fn start_session_running(&self, socket: &str, name: &str, shell: &[&str]) {
        self.start_session_at(self.tmux_tmpdir.as_deref(), socket, name, shell);
    }

    /// Starts a session as `start_session_running` does, on a server whose
    /// socket folder is `tmux_tmpdir` (`$TMUX_TMPDIR`: a "host" of its own,
    /// which a tmux run here without it cannot reach).
    pub fn start_session_at(
        &self,
        tmux_tmpdir: Option<&Path>,
        socket: &str,
        name: &str,
        shell: &[&str],
    ) {
        let mut args: Vec<String> = ["new-session", "-d", "-s", name, "-x", "160", "-y", "40"]
            .map(String::from)
            .to_vec();
        let mut env = self.agent_env.clone();
        env.insert("HOME".into(), self.home().display().to_string());
        env.insert(
            "XDG_CONFIG_HOME".into(),
            self.path("config").display().to_string(),
        );
        env.insert(
            "XDG_STATE_HOME".into(),
            self.path("state").display().to_string(),
        );
        env.insert("PS1".into(), "$ ".into());
        env.insert("ENV".into(), "/dev/null".into());
        for (k, v) in &env {
            args.push("-e".into());
            args.push(format!("{k}={v}"));
        }
        args.extend(shell.iter().map(|a| a.to_string()));
        let program = Path::new(shell[0]).file_name().unwrap().to_string_lossy();
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", socket, "-f", "/dev/null"])
            .env("HOME", self.home());
        // The server started here gives its environment to every pane: none
        // of the person's running the tests (their config, their editor's
        // copy-mode keys, a tmux they are inside) may reach the agents or
        // their hooks.
        for name in OUTSIDE_ENV {
            cmd.env_remove(name);
        }
        cmd.env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_DATA_HOME", self.path("data"));
        if let Some(dir) = tmux_tmpdir {
            cmd.env("TMUX_TMPDIR", dir);
        }
        // tmux gives a new session's first pane the PATH of the client that
        // made it, whatever `-e PATH=` says.
        if let Some(path) = env.get("PATH") {
            cmd.env("PATH", path);
        }
        let out = cmd.args(&args).output().expect("tmux runs");
        expect_exit(&format!("tmux new-session {name}"), &out, 0, "", || {
            self.describe()
        });
        self.wait_until(
            Duration::from_secs(5),
            &format!("{name} runs its shell"),
            || {
                let mut cmd = Command::new("tmux");
                if let Some(dir) = tmux_tmpdir {
                    cmd.env("TMUX_TMPDIR", dir);
                }
                let out = cmd
                    .args(["-L", socket, "-f", "/dev/null", "display-message", "-p"])
                    .args(["-t", &format!("={name}:"), "#{pane_current_command}"])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).trim() == program
            },
        );
    }

    pub fn start_pool(&self) {
        for i in 1..=self.pool_size {
            self.start_session(&self.pool_session(i));
        }
    }

    /// `tmux` on this world's server, without arguments yet.
    pub fn tmux_command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"])
            .env("HOME", self.home());
        if let Some(dir) = &self.tmux_tmpdir {
            cmd.env("TMUX_TMPDIR", dir);
        }
        cmd
    }

    pub fn tmux_output(&self, args: &[&str]) -> Output {
        self.tmux_command().args(args).output().expect("tmux runs")
    }

    /// `tmux <args>` on this world's server, which must exit 0.
    #[track_caller]
    pub fn tmux_ok(&self, args: &[&str]) -> Output {
        let out = self.tmux_output(args);
        expect_exit(&format!("tmux {}", args.join(" ")), &out, 0, "", || {
            self.describe()
        });
        out
    }

    pub fn pane_command(&self, session: &str) -> Option<String> {
        let out = self.tmux_output(&[
            "display-message",
            "-p",
            "-t",
            &format!("={session}:"),
            "#{pane_current_command}",
        ]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// What the script agent-queue starts in a pane reports there
    /// (`<nonce> run <pid>`, `<nonce> done <status>`), if anything.
    pub fn pane_mark(&self, session: &str) -> Option<String> {
        let out = self.tmux_output(&[
            "display-message",
            "-p",
            "-t",
            &format!("={session}:"),
            "#{@agent-queue}",
        ]);
        let mark = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !mark.is_empty()).then_some(mark)
    }

    /// Whether an agent agent-queue started runs in the session's pane.
    pub fn agent_runs(&self, session: &str) -> bool {
        self.pane_mark(session)
            .is_some_and(|m| m.split_whitespace().nth(1) == Some("run"))
    }

    /// Idle in the state, and no started agent runs in its pane.
    pub fn idle_at_shell(&self, session: &str) -> bool {
        self.session_state(session) == "idle" && !self.agent_runs(session)
    }

    /// Whether a detached `agent-queue recycle` of this world still runs:
    /// until it ends, it may still hand its session the next pending task.
    pub fn recycling(&self) -> bool {
        let config = self.config_path().into_os_string().into_vec();
        let Ok(procs) = fs::read_dir("/proc") else {
            return false;
        };
        procs.flatten().any(|p| {
            fs::read(p.path().join("cmdline")).is_ok_and(|line| {
                let args: Vec<&[u8]> = line.split(|b| *b == 0).collect();
                args.contains(&&b"recycle"[..]) && args.contains(&config.as_slice())
            })
        })
    }

    /// The stand-in agents call `agent-queue hook` as Claude Code's hooks
    /// do (receipts, the Stop hook's end of the task).
    pub fn hooked(&mut self) -> &mut World {
        let hook = format!("{} -q hook", sh_quote(&bin().display().to_string()));
        self.agent_env.insert("AQ_HOOK".into(), hook);
        self
    }

    /// The agents run no Stop hook: a session keeps its task until the
    /// test ends it.
    pub fn no_stop_hook(&mut self) -> &mut World {
        self.agent_env.insert("AQ_STOP_HOOK".into(), String::new());
        self
    }

    /// A pool of one whose agent holds a task (`projects/p`'s `t.md`,
    /// dispatched and received) and keeps it: no Stop hook.
    pub fn holding_a_task() -> World {
        let mut w = World::new(1);
        w.no_stop_hook();
        let p = w.project("p");
        let task = w.task(&p, "t.md", "high", "x");
        w.start_pool();
        w.ok(&["dispatch", task.to_str().unwrap()]);
        w.wait_received(1, Duration::from_secs(60));
        w
    }

    /// Every pool session is idle at its shell.
    pub fn all_idle_at_shell(&self) -> bool {
        (1..=self.pool_size).all(|i| self.idle_at_shell(&self.pool_session(i)))
    }

    /// Runs `loops` threads, each running `agent-queue <args>` again and
    /// again (the next as the last ends, as overlapping timers would) while
    /// `wait` waits for what the test expects; then stops them and returns
    /// every run's output. A `wait` that fails fails the test once the
    /// loops have stopped.
    pub fn while_looping(&self, loops: usize, args: &[&str], wait: impl FnOnce()) -> Vec<Output> {
        let done = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..loops)
            .map(|_| {
                let done = done.clone();
                let mut cmd = self.std_cmd();
                cmd.args(args);
                std::thread::spawn(move || {
                    let mut outputs = Vec::new();
                    while !done.load(Ordering::SeqCst) {
                        outputs.push(cmd.output().unwrap());
                    }
                    outputs
                })
            })
            .collect();
        let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(wait));
        done.store(true, Ordering::SeqCst);
        let outputs = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        if let Err(panic) = waited {
            std::panic::resume_unwind(panic);
        }
        outputs
    }

    /// Waits until every pool session is idle at its shell.
    pub fn wait_all_idle(&self, limit: Duration) {
        self.wait_until(limit, "every pool session is idle at its shell", || {
            self.all_idle_at_shell()
        });
    }

    pub fn screen(&self, session: &str) -> String {
        let out = self.tmux_output(&["capture-pane", "-p", "-J", "-t", &format!("={session}:")]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `agent-queue` with HOME and the XDG folders in this world, as a
    /// plain process (for tests that run it in the background or kill it).
    pub fn std_cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("agent-queue").unwrap();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_DATA_HOME", self.path("data"))
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// `agent-queue` with HOME and the XDG folders in this world.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd());
        cmd.timeout(Duration::from_secs(60));
        cmd
    }

    /// Runs `agent-queue <args>` and returns its output, whatever its status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs `agent-queue <args>`, which must exit 0.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Output {
        self.fails(args, 0, "")
    }

    /// Runs `agent-queue <args>`, which must exit `code` with `needle` in
    /// its stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str], code: i32, needle: &str) -> Output {
        let out = self.run(args);
        expect_exit(&shown(args), &out, code, needle, || self.describe());
        out
    }

    /// Runs a command made by `cmd()` (with a stdin, an environment, or
    /// arguments that are not UTF-8), which must exit 0.
    #[track_caller]
    pub fn ok_cmd(&self, cmd: &mut assert_cmd::Command) -> Output {
        self.fails_cmd(cmd, 0, "")
    }

    /// Runs a command made by `cmd()`, which must exit `code` with `needle`
    /// in its stderr.
    #[track_caller]
    pub fn fails_cmd(&self, cmd: &mut assert_cmd::Command, code: i32, needle: &str) -> Output {
        let out = cmd.output().unwrap();
        expect_exit(&shown_cmd(cmd), &out, code, needle, || self.describe());
        out
    }

    /// Polls `cond` every 20 ms until it holds; fails the test naming `what`.
    pub fn wait_until(&self, limit: Duration, what: &str, cond: impl FnMut() -> bool) {
        poll_until(limit, what, cond, || self.describe());
    }

    /// The sessions' screens and the state, for failure messages.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "state: {}\n",
            fs::read_to_string(self.state_path()).unwrap_or_default()
        );
        let list = self.tmux_output(&["list-sessions", "-F", "#{session_name}"]);
        for session in String::from_utf8_lossy(&list.stdout).lines() {
            out.push_str(&format!(
                "--- {session} ({}, {}):\n{}\n",
                self.pane_command(session).unwrap_or_default(),
                self.pane_mark(session).unwrap_or_default(),
                self.screen(session).trim_end()
            ));
        }
        out.push_str(&format!("received: {}\n", self.received().len()));
        if let Ok(log) = fs::read_to_string(self.path("state/agent-queue/recycle.log")) {
            out.push_str(&format!("recycle.log:\n{log}"));
        }
        out
    }

    /// Every message the stand-in agents received, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.path("log")).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("msg") {
                continue;
            }
            let text = fs::read_to_string(&path).unwrap();
            let (head, body) = text.split_once("\n---\n").expect("a header");
            let field = |k: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}=")))
                    .unwrap_or_default()
                    .to_string()
            };
            out.push(Received {
                session: field("session"),
                model: field("model"),
                resume: field("resume"),
                cwd: PathBuf::from(field("cwd")),
                text: body.trim_end_matches('\n').to_string(),
                at: entry.metadata().unwrap().modified().unwrap(),
            });
        }
        out.sort_by_key(|r| r.at);
        out
    }

    pub fn wait_received(&self, n: usize, limit: Duration) -> Vec<Received> {
        self.wait_until(
            limit,
            &format!("the agents received {n} message(s)"),
            || self.received().len() >= n,
        );
        self.received()
    }

    /// The state file as JSON.
    pub fn state(&self) -> serde_json::Value {
        match fs::read_to_string(self.state_path()) {
            Ok(t) => serde_json::from_str(&t).expect("the state file parses"),
            Err(_) => serde_json::json!({"sessions": {}}),
        }
    }

    pub fn session_state(&self, session: &str) -> String {
        self.state()["sessions"][session]["phase"]
            .as_str()
            .unwrap_or("idle")
            .to_string()
    }

    /// Names in a project's inbox, sorted.
    pub fn inbox(&self, project: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(project.join(".agent-queue/inbox"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    pub fn make_executable(path: &Path) {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Polls `cond` every 20 ms until it holds; past `limit` the test fails,
/// naming `what` and showing `describe()`.
pub fn poll_until(
    limit: Duration,
    what: &str,
    mut cond: impl FnMut() -> bool,
    describe: impl Fn() -> String,
) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > limit {
            panic!(
                "timed out after {limit:?} waiting until {what}\n{}",
                describe()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `agent-queue <args>`, as a failure message shows it.
fn shown(args: &[&str]) -> String {
    let mut line = String::from("agent-queue");
    for a in args {
        line.push(' ');
        if !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
        {
            line.push_str(a);
        } else {
            line.push_str(&sh_quote(a));
        }
    }
    line
}

/// A command made by `World::cmd()`, as a failure message shows it (its
/// environment is the world's).
fn shown_cmd(cmd: &assert_cmd::Command) -> String {
    let debug = format!("{cmd:?}");
    let program = format!("{:?}", bin().display().to_string());
    match debug.find(&program) {
        Some(at) => {
            let rest = &debug[at + program.len()..];
            format!(
                "agent-queue{}",
                rest.split(", stdin:").next().unwrap_or(rest)
            )
        }
        None => debug,
    }
}

/// Fails the test unless `out` (of `what`) exited with `code` and its
/// stderr contains `needle`, showing the command, how it ended, its stderr
/// and stdout, and `describe()`.
#[track_caller]
pub fn expect_exit(
    what: &str,
    out: &Output,
    code: i32,
    needle: &str,
    describe: impl FnOnce() -> String,
) {
    let err = stderr(out);
    let wrong = if out.status.code() != Some(code) {
        format!("{} (want exit status: {code})", out.status)
    } else if !err.contains(needle) {
        format!("exited {code} but its stderr lacks {needle:?}")
    } else {
        return;
    };
    panic!(
        "{what}\n{wrong}\n--- stderr:\n{err}\n--- stdout:\n{}\n--- world:\n{}",
        stdout(out),
        describe()
    );
}

/// Now, in epoch seconds.
pub fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// JSON lines of stdout.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// The JSON lines of `events` whose `event` is `name`.
pub fn events_named<'a>(events: &'a [serde_json::Value], name: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

impl World {
    /// The first line of every message the agents received, sorted: which
    /// tasks arrived, however the sessions shared them.
    pub fn received_first_lines(&self) -> Vec<String> {
        let mut firsts: Vec<String> = self
            .received()
            .iter()
            .map(|r| r.text.lines().next().unwrap_or_default().to_string())
            .collect();
        firsts.sort();
        firsts
    }

    /// An account as `status --json` shows it. The accounts come from the
    /// state alone: with no tmux server running, status still prints them
    /// (and exits 3, saying that no server answered).
    pub fn account(&self, name: &str) -> serde_json::Value {
        let out = self.run(&["--json", "status"]);
        let code = out.status.code();
        assert!(
            code == Some(0)
                || (code == Some(3) && stderr(&out).contains("no tmux server answered")),
            "status: {code:?}\n{}",
            stderr(&out)
        );
        let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        status["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["account"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no account {name}: {status}"))
    }
}

impl World {
    /// The history journal beside the default state file.
    pub fn history_path(&self) -> PathBuf {
        self.path("state/agent-queue/history.jsonl")
    }

    /// Every line of the history journal (`.1` first), each of which must
    /// be a JSON object.
    pub fn journal(&self) -> Vec<serde_json::Value> {
        let current = self.history_path();
        let rotated = PathBuf::from(format!("{}.1", current.display()));
        let mut out = Vec::new();
        for path in [rotated, current] {
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            for (i, line) in text.lines().enumerate() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("{} line {}: not JSON: {line:?}: {e}", path.display(), i + 1)
                });
                assert!(v.is_object(), "{line}");
                out.push(v);
            }
        }
        out
    }
}
