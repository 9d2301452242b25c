//! How one tmux command reaches its server: run as a process of this host,
//! or through `[ssh] command` to a pool's `host`, with every argument quoted
//! for the remote shell that parses the command line again (whatever the
//! program is called: remote is what the config says, not a file name).
//!
//! Every tmux call to a host shares one ssh connection: OpenSSH's
//! `ControlMaster`, with its control socket in the state folder, so a
//! dispatch's twenty-odd calls cost one round trip each, not one handshake
//! each. A host that does not answer within `[ssh] timeout` is remembered as
//! silent for the rest of the invocation: the calls after the first fail at
//! once, so a silent host costs one bounded wait, not one per session.
//! Reads go through the server's own socket, forwarded over that connection,
//! where that works (see `forward`).

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, Context};
use wait_timeout::ChildExt;

use super::forward::{self, Answer, Forward};
use crate::config::Ssh;

/// How long a tmux call on this host may take: far more than a local
/// server ever needs, and short enough that a hung server is named before
/// a hook times out.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(8);

/// How long a shared connection outlives its last use: a scan every minute
/// keeps it.
const PERSIST: &str = "10m";

/// The room ssh needs in a `sockaddr_un` path (108 bytes on Linux, 104 on
/// the BSDs): the control path plus the `.` and 16 random characters of
/// the temporary name the master listens on before it renames it.
const SUN_PATH: usize = 104 - 18;

/// The hosts that did not answer in this invocation.
static SILENT: RunMemo<String> = RunMemo::new();

/// What this invocation learnt about a host or a socket, kept until it
/// ends (a silent host, a forward that failed or was tried).
pub(super) struct RunMemo<T>(Mutex<Vec<T>>);

impl<T: PartialEq> RunMemo<T> {
    pub(super) const fn new() -> RunMemo<T> {
        RunMemo(Mutex::new(Vec::new()))
    }

    fn items(&self) -> std::sync::MutexGuard<'_, Vec<T>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers `item`; whether it was new.
    pub(super) fn insert(&self, item: T) -> bool {
        let mut items = self.items();
        if items.contains(&item) {
            return false;
        }
        items.push(item);
        true
    }

    pub(super) fn remove<Q: ?Sized>(&self, item: &Q)
    where
        T: PartialEq<Q>,
    {
        self.items().retain(|i| i != item);
    }

    pub(super) fn contains<Q: ?Sized>(&self, item: &Q) -> bool
    where
        T: PartialEq<Q>,
    {
        self.items().iter().any(|i| i == item)
    }
}

/// Where a tmux command runs, and how its arguments get there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// Everything before tmux's own arguments.
    prefix: Vec<String>,
    /// The host, when the server is on another one: the arguments are then
    /// quoted for its shell, and a silence is remembered under this name.
    host: Option<String>,
    timeout: Duration,
    /// The server's socket forwarded here, for reads.
    forward: Option<Forward>,
}

/// How a bounded wait for a process ended.
pub(super) enum Waited {
    Done(Output),
    TimedOut,
}

impl Transport {
    /// A `[tmux] command` prefix run here. A prefix whose program is named
    /// `ssh` (the way a remote pool was written before `host`) keeps
    /// working: its arguments are quoted for the remote shell.
    pub fn local(argv: Vec<String>) -> Transport {
        let legacy_ssh = argv
            .iter()
            .any(|a| Path::new(a).file_name().is_some_and(|n| n == "ssh"));
        Transport {
            host: legacy_ssh.then(|| argv.join(" ")),
            prefix: argv,
            timeout: ANSWER_WITHIN,
            forward: None,
        }
    }

    /// The tmux `tmux` (an argv) on `host`, through `ssh`; `control` is the
    /// folder of the shared connections' sockets, if there is one.
    pub fn remote(ssh: &Ssh, host: &str, tmux: &[String], control: Option<&Path>) -> Transport {
        let mut prefix = ssh.command.clone();
        let mut forward = None;
        if ssh.openssh {
            let secs = ssh.timeout.as_secs().max(1);
            let mut opts = vec![
                "BatchMode=yes".to_string(),
                format!("ConnectTimeout={secs}"),
                format!("ServerAliveInterval={secs}"),
                "ServerAliveCountMax=2".to_string(),
            ];
            let dir = control.and_then(|dir| Some((dir, control_path(dir, &ssh.command, host)?)));
            if let Some((_, path)) = &dir {
                opts.push("ControlMaster=auto".into());
                opts.push(format!("ControlPath={path}"));
                opts.push(format!("ControlPersist={PERSIST}"));
                // The master forwards the tmux server's socket (see
                // `forward`); a socket a dead master left is replaced.
                opts.push("StreamLocalBindUnlink=yes".into());
            }
            for o in opts {
                prefix.push("-o".into());
                prefix.push(o);
            }
            forward = dir.and_then(|(dir, _)| Forward::new(dir, prefix.clone(), host, tmux));
        }
        prefix.push(host.to_string());
        prefix.extend(tmux.iter().map(|a| crate::shell::quote(a)));
        Transport {
            prefix,
            host: Some(host.to_string()),
            timeout: ssh.timeout,
            forward,
        }
    }

    pub fn argv(&self) -> &[String] {
        &self.prefix
    }

    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    pub fn describe(&self) -> String {
        self.prefix.join(" ")
    }

    /// Runs tmux with `args` (and `stdin`), returning what it printed.
    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<String> {
        let name = args.first().copied().unwrap_or("");
        if let Some(host) = self.host.as_deref().filter(|h| is_silent(h)) {
            return Err(anyhow!(
                "tmux (`{} {name}`): {host} did not answer earlier in this run",
                self.describe()
            ));
        }
        let Some(fwd) = self
            .forward
            .as_ref()
            .filter(|_| stdin.is_none() && forward::only_reads(args))
        else {
            return self.run_here(args, stdin);
        };
        let failed_through = match fwd.read(args, self.timeout) {
            Answer::Read(out) => return Ok(out),
            Answer::Silent => {
                self.silenced();
                return Err(anyhow!(
                    "tmux (`{} {name}`, through its forwarded socket) did not answer within {}",
                    self.describe(),
                    crate::clock::format_duration(self.timeout)
                ));
            }
            Answer::Failed => true,
            Answer::Unavailable => false,
        };
        let out = self.run_here(args, None)?;
        if failed_through {
            // ssh answered what the forward could not.
            fwd.broken();
        }
        if fwd.wants_setting_up() {
            // The master is up now: ask the server about itself.
            let about = self.run_here(&["display-message", "-p", forward::ABOUT], None);
            if let Ok(about) = about {
                if let forward::SetUp::Silent = fwd.set_up(&about, self.timeout) {
                    self.silenced();
                }
            }
        }
        Ok(out)
    }

    /// How reads reach a server on another host (`None` here): through its
    /// forwarded socket, or through ssh and why.
    pub fn reads(&self) -> Option<String> {
        self.host.as_ref()?;
        Some(match &self.forward {
            Some(fwd) => fwd.describe(),
            None => "every call goes through ssh (no shared connection)".into(),
        })
    }

    /// Runs tmux with `args` as the prefix says: here, or through ssh.
    fn run_here(&self, args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<String> {
        let name = args.first().copied().unwrap_or("");
        let (program, prefix) = self
            .prefix
            .split_first()
            .expect("config checks it is not empty");
        let mut cmd = Command::new(program);
        // `-u`: tmux answers in UTF-8 whatever the locale it runs in (a
        // timer's, a host's login without one), not with `_` for every
        // character that is not ASCII, so a session's name reads the same
        // from everywhere, and through a forwarded socket (`forward`).
        cmd.args(prefix).arg("-u");
        match self.host {
            Some(_) => cmd.args(args.iter().map(|a| crate::shell::quote(a))),
            None => cmd.args(args),
        };
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound && self.host.is_some() {
                anyhow!("`{program}` was not found: set [ssh] command, or install it")
            } else if e.kind() == std::io::ErrorKind::NotFound {
                anyhow!("tmux is not installed: `{program}` was not found (set [tmux] command, or install tmux)")
            } else {
                anyhow!("running tmux (`{}`): {e}", self.describe())
            }
        })?;
        if let Some(bytes) = stdin {
            let mut pipe = child.stdin.take().expect("piped");
            pipe.write_all(bytes)
                .with_context(|| format!("writing to tmux (`{}`)", self.describe()))?;
        }
        let out = self.wait(child, name)?;
        if !out.status.success() {
            // ssh's own failures (no connection, refused key) exit 255.
            if out.status.code() == Some(255) {
                self.silenced();
            }
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(anyhow!(
                "tmux (`{} {name}`) failed: {}",
                self.describe(),
                if err.is_empty() {
                    out.status.to_string()
                } else {
                    err
                }
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Waits for a tmux process, at most the timeout: the state's lock may
    /// be held meanwhile, and a host that does not answer must not hold up
    /// every other invocation.
    fn wait(&self, child: Child, name: &str) -> anyhow::Result<Output> {
        match wait_bounded(child, self.timeout)
            .with_context(|| format!("waiting for tmux (`{}`)", self.describe()))?
        {
            Waited::Done(out) => Ok(out),
            Waited::TimedOut => {
                self.silenced();
                Err(anyhow!(
                    "tmux (`{} {name}`) did not answer within {}",
                    self.describe(),
                    crate::clock::format_duration(self.timeout)
                ))
            }
        }
    }

    fn silenced(&self) {
        if let Some(host) = &self.host {
            SILENT.insert(host.clone());
        }
    }
}

/// Waits for `child` at most `timeout`, reading its output meanwhile; one
/// that takes longer is killed.
pub(super) fn wait_bounded(mut child: Child, timeout: Duration) -> std::io::Result<Waited> {
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let Some(status) = child.wait_timeout(timeout)? else {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(Waited::TimedOut);
    };
    Ok(Waited::Done(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }))
}

fn is_silent(host: &str) -> bool {
    SILENT.contains(host)
}

/// Reads a child's pipe to its end on a thread of its own, so that neither
/// pipe fills while the other is read.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// The folder of the shared connections' sockets, `ssh/` beside the state
/// file, made private (0700) if it is not yet there; `None` (no sharing,
/// said once) when it cannot be made or is not this user's alone.
pub fn control_dir(state_file: &Path) -> Option<PathBuf> {
    let dir = state_file.parent()?.join("ssh");
    let made = crate::store::private::create_dir(&dir);
    let why = match (made, std::fs::symlink_metadata(&dir)) {
        (Err(e), _) | (_, Err(e)) => e.to_string(),
        (Ok(()), Ok(m)) if !m.is_dir() => "it is not a folder".into(),
        (Ok(()), Ok(m)) if m.uid() != crate::store::security::current_uid() => {
            "another user owns it".into()
        }
        (Ok(()), Ok(m)) if m.permissions().mode() & 0o077 != 0 => {
            format!("its mode is {:o}, not 700", m.permissions().mode() & 0o777)
        }
        (Ok(()), Ok(_)) => return Some(dir),
    };
    say_once(format!(
        "{}: {why}; each tmux call to a host opens its own ssh connection",
        dir.display()
    ));
    None
}

/// The control socket of the connection to `host` through `command`: a
/// short hash, since a socket's path must fit in 104 bytes; `%` doubled
/// (ssh expands `%` tokens in it) and quoted when it holds a space.
fn control_path(dir: &Path, command: &[String], host: &str) -> Option<String> {
    let hash = fnv64(command.join("\0").bytes().chain([0]).chain(host.bytes()));
    let path = dir.join(format!("{hash:016x}"));
    let path = path.to_str()?;
    if path.len() > SUN_PATH {
        say_once(format!(
            "{}: too long a path for a socket; each tmux call to a host opens its own ssh connection",
            dir.display()
        ));
        return None;
    }
    let path = path.replace('%', "%%");
    Some(if path.contains(char::is_whitespace) {
        format!("\"{path}\"")
    } else {
        path
    })
}

/// FNV-1a, 64 bits: a short, stable name for a socket from what it
/// stands for.
pub(super) fn fnv64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn say_once(message: String) {
    static SAID: Mutex<bool> = Mutex::new(false);
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !*said {
        *said = true;
        crate::output::report::warn(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh() -> Ssh {
        Ssh::default()
    }

    #[test]
    fn remote_is_what_the_config_says_not_a_program_name() {
        let t = Transport::remote(
            &Ssh {
                command: vec!["ssh-box".into(), "-q".into()],
                openssh: false,
                ..ssh()
            },
            "agent@box2",
            &["tmux".into(), "-L".into(), "a b".into()],
            None,
        );
        assert_eq!(
            t.argv(),
            ["ssh-box", "-q", "agent@box2", "tmux", "-L", "'a b'"]
        );
        assert_eq!(t.host(), Some("agent@box2"));
        assert_eq!(Transport::local(vec!["tmux".into()]).host(), None);
        // The way a remote pool was written before `host`.
        let legacy = Transport::local(vec!["/usr/bin/ssh".into(), "b".into(), "tmux".into()]);
        assert!(legacy.host().is_some());
    }

    #[test]
    fn openssh_gets_one_shared_connection_per_host() {
        let dir = Path::new("/run/aq/ssh");
        let t = Transport::remote(&ssh(), "box2", &["tmux".into()], Some(dir));
        let argv = t.argv().join(" ");
        assert!(
            argv.starts_with("ssh -o BatchMode=yes -o ConnectTimeout=8"),
            "{argv}"
        );
        assert!(
            argv.contains("-o ControlMaster=auto -o ControlPath=/run/aq/ssh/"),
            "{argv}"
        );
        assert!(argv.ends_with(" box2 tmux"), "{argv}");
        let other = Transport::remote(&ssh(), "box3", &["tmux".into()], Some(dir));
        assert_ne!(
            control_path(dir, &ssh().command, "box2"),
            control_path(dir, &ssh().command, "box3")
        );
        assert_ne!(t, other);
    }

    #[test]
    fn a_control_path_fits_in_a_socket_address_or_is_not_used() {
        let long = PathBuf::from(format!("/{}", "d".repeat(80)));
        assert_eq!(control_path(&long, &ssh().command, "h"), None);
        let odd = control_path(Path::new("/a b/50%"), &ssh().command, "h").unwrap();
        assert!(
            odd.starts_with("\"/a b/50%%/") && odd.ends_with('"'),
            "{odd}"
        );
    }

    #[test]
    fn the_control_folder_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = control_dir(&tmp.path().join("state.json")).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(control_dir(&tmp.path().join("state.json")), None);
    }
}
