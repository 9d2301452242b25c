//! Whether the agent command is found on a pool pane's `PATH`: the `PATH`
//! of the pane's login shell, not `doctor`'s own. Nothing may be typed into
//! the pane (it may be in use), and `tmux run-shell` cannot be used: with
//! no client attached it shows its output in the target pane's view mode,
//! which changes the pane. So the pane's shell is asked the way it would
//! start again: its own executable (`/proc/<pid>/exe`), started as an
//! interactive login shell (`-l -i`, reading the profile and rc files an
//! operator puts `PATH` in) with the environment tmux gave it
//! (`/proc/<pid>/environ`) in its folder, runs `command -v <program>`.
//! That needs the pane's processes on this host: a pool on another host
//! says so as a warning.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

/// What the pane's login shell said of the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Where `command -v` found it.
    At(String),
    /// Not on its PATH; the shell that was asked.
    Missing(String),
    /// Could not be told, and why.
    Unknown(String),
}

/// How long a login shell may take to read its profile and answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

pub fn on_pane_path(pid: u32, program: &str) -> Found {
    let proc = format!("/proc/{pid}");
    let shell = match std::fs::read_link(format!("{proc}/exe")) {
        Ok(p) => p,
        Err(e) => return Found::Unknown(format!("reading {proc}/exe: {e}")),
    };
    let environ = match std::fs::read(format!("{proc}/environ")) {
        Ok(e) => e,
        Err(e) => return Found::Unknown(format!("reading {proc}/environ: {e}")),
    };
    let mut cmd = Command::new(&shell);
    cmd.env_clear();
    for var in environ.split(|&b| b == 0).filter(|v| !v.is_empty()) {
        if let Some(eq) = var.iter().position(|&b| b == b'=') {
            cmd.env(
                OsString::from_vec(var[..eq].to_vec()),
                OsString::from_vec(var[eq + 1..].to_vec()),
            );
        }
    }
    if let Ok(cwd) = std::fs::read_link(format!("{proc}/cwd")) {
        cmd.current_dir(cwd);
    }
    cmd.args(["-l", "-i", "-c"])
        .arg(format!("command -v {}", crate::shell::quote(program)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Found::Unknown(format!("starting {}: {e}", shell.display())),
    };
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(mut s) = stdout {
            let _ = std::io::Read::read_to_end(&mut s, &mut out);
        }
        out
    });
    let status = match child.wait_timeout(ANSWER_WITHIN) {
        Ok(Some(s)) => s,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Found::Unknown(format!(
                "{} -l -i did not answer within {}",
                shell.display(),
                crate::clock::format_duration(ANSWER_WITHIN)
            ));
        }
        Err(e) => return Found::Unknown(format!("waiting for {}: {e}", shell.display())),
    };
    let out = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    // A profile may print lines of its own: the answer is the last one.
    let last = out.lines().map(str::trim).rfind(|l| !l.is_empty());
    match (status.success(), last) {
        (true, Some(at)) => Found::At(at.to_string()),
        _ => Found::Missing(shell.display().to_string()),
    }
}

/// A variable of the environment tmux gave the pane's shell (this host).
pub fn pane_env(pid: u32, name: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{name}=");
    environ
        .split(|&b| b == 0)
        .find_map(|v| v.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}
