//! `demo`: the real scan / mark-idle cycle on an embedded example, with
//! nothing to configure. It builds a throwaway world in a temp folder (two
//! projects with sample tasks, a config, a state file), starts its own tmux
//! server on a private socket with a pool of three sessions, and runs the
//! stand-in agent from `tests/` in them: the agent's Stop hook calls
//! `agent-queue mark-idle`, exactly as Claude Code's would. It shows each
//! dispatch and completion as it happens, prints the status table, and
//! removes its server and files, whatever happens.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};

use super::{Ctx, Run};
use crate::error::Outcome;
use crate::shell::quote;
use crate::store::state::{Phase, State, Store};

pub struct Demo;

const AGENT_SCRIPT: &str = include_str!("../../contrib/stand-in-agent.sh");
const POOL: [&str; 3] = ["demo-1", "demo-2", "demo-3"];
const LIMIT: Duration = Duration::from_secs(20);

/// (project, file, priority, body)
const TASKS: [(&str, &str, &str, &str); 7] = [
    (
        "webapp",
        "fix-login-redirect.md",
        "high",
        "Fix the login redirect loop after a session expires.",
    ),
    (
        "webapp",
        "update-deps.md",
        "low",
        "Update the front-end dependencies.",
    ),
    (
        "webapp",
        "outage.md",
        "critical",
        "Checkout returns 500 for every user: find and fix the cause.",
    ),
    (
        "webapp",
        "docs-typo.md",
        "low",
        "Fix the typo in the README's install section.",
    ),
    (
        "api",
        "rate-limit.md",
        "default",
        "Add a per-key rate limit to the public API.",
    ),
    (
        "api",
        "flaky-test.md",
        "high",
        "Make the orders test stop failing one run in ten.",
    ),
    (
        "api",
        "changelog.md",
        "default",
        "Write the changelog entry for 2.4.",
    ),
];

/// Removes the demo's tmux server and folder when dropped.
struct World {
    dir: PathBuf,
    tmux: Vec<String>,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = Command::new(&self.tmux[0])
            .args(&self.tmux[1..])
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Run for Demo {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let started = Instant::now();
        check_tmux()?;
        let exe = std::env::current_exe().context("finding the agent-queue executable")?;
        let world = build_world()?;
        let config = world.dir.join("config.toml");
        println!("agent-queue demo: a pool of {} sessions on a private tmux server, {} tasks in 2 projects", POOL.len(), TASKS.len());
        println!("(world in {}; removed at the end)\n", world.dir.display());
        start_pool(&world, &exe, &config)?;

        let aq = |args: &[&str]| -> anyhow::Result<std::process::Output> {
            Command::new(&exe)
                .arg("--config")
                .arg(&config)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .with_context(|| format!("running agent-queue {}", args.join(" ")))
        };
        let scan = aq(&["-q", "scan"])?;
        if !scan.status.success() {
            return Err(anyhow!(
                "scan failed: {}",
                String::from_utf8_lossy(&scan.stderr).trim()
            ));
        }
        watch(&world, started)?;
        // The last agents are still exiting after their last task: the
        // table is shown once every session is free again (a few hundred
        // ms), or after 5 s as it is.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && !all_free(&aq(&["--json", "status"])?.stdout) {
            std::thread::sleep(Duration::from_millis(50));
        }

        let status = aq(&["status"])?;
        println!("\n{}", String::from_utf8_lossy(&status.stdout));
        println!(
            "all {} tasks done in {:.1}s",
            TASKS.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(Outcome::Done)
    }
}

fn check_tmux() -> anyhow::Result<()> {
    match Command::new("tmux").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(anyhow!("tmux -V failed ({s}): the demo needs a working tmux")),
        Err(e) => Err(anyhow!("tmux is not installed ({e}): the demo runs its sessions in tmux; install it (e.g. apt-get install tmux)")),
    }
}

fn build_world() -> anyhow::Result<World> {
    let dir = std::env::temp_dir().join(format!("agent-queue-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let socket = format!("agent-queue-demo-{}", std::process::id());
    let world = World {
        tmux: vec![
            "tmux".into(),
            "-L".into(),
            socket,
            "-f".into(),
            "/dev/null".into(),
        ],
        dir,
    };
    let d = &world.dir;
    let write = |rel: &str, text: &str| -> anyhow::Result<PathBuf> {
        let path = d.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent"))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    let script = write("agent/stand-in-agent.sh", AGENT_SCRIPT)?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    for (project, file, priority, body) in TASKS {
        write(
            &format!("projects/{project}/.agent-queue/inbox/{file}"),
            &format!(
                "---\ntitle: {}\npriority: {priority}\n---\n{body}\n",
                file.trim_end_matches(".md")
            ),
        )?;
    }
    std::fs::create_dir_all(d.join("log"))?;
    let q = |p: PathBuf| toml_str(&p.display().to_string());
    let config = format!(
        "[state]\nfile = {state}\n\n[tmux]\ncommand = [{tmux}]\n\n[projects]\npaths = [{web}, {api}]\nsettle = \"0s\"\n\n\
         [pool]\nprefix = \"demo-\"\nstart = 1\nsize = {size}\ncooldown = \"10s\"\n\n\
         [agent]\ncommand = {command}\nresume_dir = {resume}\nready_timeout = \"10s\"\n",
        state = q(d.join("state/state.json")),
        tmux = world.tmux.iter().map(|a| toml_str(a)).collect::<Vec<_>>().join(", "),
        web = q(d.join("projects/webapp")),
        api = q(d.join("projects/api")),
        size = POOL.len(),
        command = toml_str(&format!(
            "{} --model {{model}}",
            quote(&script.display().to_string())
        )),
        resume = q(d.join("resume")),
    );
    write("config.toml", &config)?;
    Ok(world)
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

fn start_pool(world: &World, exe: &Path, config: &Path) -> anyhow::Result<()> {
    let hook = format!("{} -q mark-idle", quote(&exe.display().to_string()));
    for session in POOL {
        let status = Command::new(&world.tmux[0])
            .args(&world.tmux[1..])
            .args([
                "new-session",
                "-d",
                "-s",
                session,
                "-x",
                "120",
                "-y",
                "30",
                "/bin/sh",
            ])
            .env("AGENT_QUEUE_CONFIG", config)
            .env("AQ_AGENT_LOG", world.dir.join("log"))
            .env("AQ_AGENT_WORK", "0.6")
            .env("AQ_STOP_HOOK", &hook)
            .env("PS1", "$ ")
            .env("ENV", "/dev/null")
            .status()
            .context("starting the demo's tmux server")?;
        if !status.success() {
            return Err(anyhow!("tmux new-session -s {session} failed ({status})"));
        }
    }
    Ok(())
}

/// Prints each dispatch and completion as the state shows it, until every
/// task is done.
fn watch(world: &World, started: Instant) -> anyhow::Result<()> {
    let store = Store::new(world.dir.join("state/state.json"));
    let mut holding: BTreeMap<&str, PathBuf> = BTreeMap::new();
    let mut done = 0;
    let say = |session: &str, what: &str, task: &Path| {
        let (label, priority) = describe(task);
        println!(
            "{:5.1}s  {session}  {what:<4}  {label:<30} {priority}",
            started.elapsed().as_secs_f64()
        );
    };
    while done < TASKS.len() {
        if started.elapsed() > LIMIT {
            return Err(anyhow!(
                "the demo did not finish within {} ({done} of {} tasks done)",
                crate::clock::format_duration(LIMIT),
                TASKS.len()
            ));
        }
        let state: State = store.read()?;
        for session in POOL {
            let entry = state.sessions.get(session);
            let working = entry
                .filter(|s| s.phase == Phase::Working)
                .and_then(|s| s.task.clone());
            let launching = entry.is_some_and(|s| s.phase == Phase::Launching);
            if launching || holding.get(session) == working.as_ref() {
                continue;
            }
            if let Some(old) = holding.remove(session) {
                done += 1;
                say(session, "done", &old);
            }
            if let Some(new) = working {
                say(session, "got", &new);
                holding.insert(session, new);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// `webapp/outage.md` and `critical` for a dispatched demo task.
fn describe(task: &Path) -> (String, &'static str) {
    let name = task.file_name().unwrap_or_default().to_string_lossy();
    let name = crate::queue::inbox::original_name(&name).to_string();
    let project = crate::queue::inbox::project_of(task)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let priority = TASKS
        .iter()
        .find(|t| t.1 == name)
        .map(|t| t.2)
        .unwrap_or("");
    (format!("{project}/{name}"), priority)
}

/// Whether `status --json` says every session is free.
fn all_free(status_json: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(status_json).is_ok_and(|v| {
        v["sessions"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s["free"] == true))
    })
}
