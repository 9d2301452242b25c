//! Reads of a remote tmux server through its own socket, forwarded to this
//! host over the shared ssh connection (`ssh -O forward -L here:there`). A
//! call through ssh costs an `ssh` process here and, on the host, a session,
//! a login shell and a tmux client: 8–10 ms on the loopback. Through the
//! forwarded socket a tmux client here talks to the server there itself: one
//! local process, 2–3 ms, and no new connection (the master carries it).
//!
//! Only reads go this way (`list-panes`, `list-clients`, `capture-pane`,
//! `display-message -p`). A read can be asked again through ssh, so any
//! failure here falls back to ssh, whose answer is the one that counts: the
//! forward never says that a server or a session is gone, and a key is
//! never typed twice. Only a silence (no answer within the timeout) is
//! taken as the host's, as ssh's own would be.
//!
//! The forward is set up after a call through ssh succeeded (the master is
//! then up): the server is asked once for its socket, version and pid; only
//! a tmux of the same version here may speak to it (client and server share
//! one protocol), and a read through the forward must reach that same pid.
//! Where it cannot work (no tmux here, another version, another server at
//! that path, forwarding refused by the host or by the operator's ssh
//! config), that is remembered beside the socket for ten minutes, so that a
//! run does not try it each time; `doctor` shows why.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::transport::{fnv64, wait_bounded, RunMemo, Waited};

/// The reads that may go through the forward: those a second asking
/// cannot change anything by.
const READS: &[&str] = &[
    "list-panes",
    "list-clients",
    "capture-pane",
    "display-message",
];

/// How long a "cannot work here" is believed.
const OFF_FOR: Duration = Duration::from_secs(600);

/// What the tmux client here may tell the server there of itself (a
/// client sends its whole environment): its locale and where to find
/// programs. The rest of agent-queue's environment stays here, as over ssh.
const CLIENT_ENV: &[&str] = &["PATH", "LANG", "LC_ALL", "LC_CTYPE"];

/// The longest socket path here: a `sockaddr_un` holds 104 bytes on the
/// BSDs and macOS, 108 on Linux, with its terminating NUL.
const SOCKET_PATH_MAX: usize = 100;

/// Forwards that failed in this run: asked through ssh from then on.
static BROKEN: RunMemo<PathBuf> = RunMemo::new();
/// Forwards set up, or tried, in this run: once each.
static TRIED: RunMemo<PathBuf> = RunMemo::new();

/// The forwarded socket of one remote tmux server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The socket here, which the shared connection's master listens on.
    local: PathBuf,
    /// ssh with its options, up to the host: to ask the master to forward.
    ssh: Vec<String>,
    host: String,
}

/// What a read through the forward gave.
pub enum Answer {
    Read(String),
    /// No answer within the timeout: the host is silent.
    Silent,
    /// The read failed through the forward: ask through ssh. (A failure
    /// ssh also gives, such as a pane that is gone, is the read's own; one
    /// that ssh does not give is the forward's, see `broken`.)
    Failed,
    /// No forward: ask through ssh.
    Unavailable,
}

/// How setting up a forward ended.
pub enum SetUp {
    Done,
    /// It cannot work here, or failed: reads go through ssh.
    NotUsed,
    /// The master did not answer within the timeout.
    Silent,
}

/// What the server says of itself through ssh, to set up its forward.
/// (`display-message` shows a tab as `_`; none of these holds a space but
/// the socket's path, which goes first.) The last word is a UTF-8 probe:
/// a client whose locale is not UTF-8 shows it as `_`.
pub const ABOUT: &str = "#{socket_path} #{version} #{pid} \u{e9}";

/// `args` (tmux commands split by `;`) only read.
pub fn only_reads(args: &[&str]) -> bool {
    // tmux also ends a command at an argument that ends in `;`.
    if args.iter().any(|a| *a != ";" && a.ends_with(';')) {
        return false;
    }
    args.split(|a| *a == ";").all(|command| match command {
        // Without -p, these write: a paste buffer, a status line message.
        ["capture-pane", rest @ ..] => rest.contains(&"-p"),
        ["display-message", rest @ ..] => rest.contains(&"-p") && !rest.contains(&"-I"),
        [name, ..] => READS.contains(name),
        [] => false,
    })
}

impl Forward {
    /// The forward of the server `tmux` on `host`, its socket in `dir` (the
    /// shared connections' folder); `None` when the path is one ssh would
    /// read otherwise (`:` splits a forward, `%` and `$` are expanded) or
    /// one too long for a socket.
    pub fn new(dir: &Path, ssh: Vec<String>, host: &str, tmux: &[String]) -> Option<Forward> {
        let key = [ssh.join("\0"), host.to_string(), tmux.join("\0")].join("\u{1}");
        let local = dir.join(format!("{:016x}.tmux", fnv64(key.bytes())));
        let text = local.to_str()?;
        if text.len() > SOCKET_PATH_MAX || !plain(text) {
            return None;
        }
        Some(Forward {
            local,
            ssh,
            host: host.to_string(),
        })
    }

    /// Runs the read `args` through the forward, if it is there.
    pub fn read(&self, args: &[&str], timeout: Duration) -> Answer {
        if BROKEN.contains(&self.local) || !self.local.exists() {
            return Answer::Unavailable;
        }
        match self.client(args, timeout) {
            Ran::Answered(out) if out.status.success() => {
                Answer::Read(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Ran::Answered(_) | Ran::NotRun => Answer::Failed,
            Ran::Silent => Answer::Silent,
        }
    }

    /// A read failed through the forward that ssh answered: the forward
    /// is not used again in this run (unless it is set up anew).
    pub fn broken(&self) {
        BROKEN.insert(self.local.clone());
    }

    /// The first call of this run to set it up, unless it cannot work.
    pub fn wants_setting_up(&self) -> bool {
        !self.is_off() && TRIED.insert(self.local.clone())
    }

    /// Forwards the socket here to the server described by `about` (its
    /// answer to [`ABOUT`] through ssh) through the master, and checks that
    /// a read through it reaches that same server.
    pub fn set_up(&self, about: &str, timeout: Duration) -> SetUp {
        let Some(About {
            socket,
            version,
            pid,
            utf8,
        }) = About::read(about)
        else {
            return self.off(&format!("tmux described itself as {about:?}"));
        };
        if !utf8 {
            // Its answers through ssh replace what is not ASCII by `_`
            // (its tmux did not take `-u`); a client here would not, and
            // session names could differ.
            return self.off(&format!(
                "the tmux client on {} does not answer in UTF-8",
                self.host
            ));
        }
        let Some(here) = local_version(timeout) else {
            return self.off("no tmux on this host");
        };
        if here != format!("tmux {version}") {
            return self.off(&format!("{here} here, tmux {version} on {}", self.host));
        }
        if !plain(socket) {
            return self.off(&format!("{socket}: a path ssh cannot forward"));
        }
        let spec = format!("{}:{socket}", self.local.display());
        if !self.local.exists() {
            // A master that forwarded it before and whose socket here was
            // removed takes the same forward as done: cancel it first.
            let _ = self.master(&["-O", "cancel", "-L", &spec], timeout);
        }
        match self.master(&["-O", "forward", "-L", &spec], timeout) {
            Ran::Answered(out) if out.status.success() => {}
            Ran::Answered(out) => {
                let err = String::from_utf8_lossy(&out.stderr);
                return self.off(&format!("ssh -O forward: {}", err.trim()));
            }
            Ran::NotRun => return self.off(&format!("`{}` could not be run", self.ssh[0])),
            Ran::Silent => {
                self.broken();
                return SetUp::Silent;
            }
        }
        BROKEN.remove(&self.local);
        match self.client(&["display-message", "-p", "#{pid}"], timeout) {
            Ran::Answered(out) if out.status.success() => {
                let through = String::from_utf8_lossy(&out.stdout);
                if through.trim() == pid {
                    return SetUp::Done;
                }
                // Another server at that path, as the forward sees it (the
                // tmux command may run in another mount namespace).
                self.off(&format!(
                    "{socket} through the forward is tmux pid {}, not {pid}",
                    through.trim()
                ))
            }
            Ran::Answered(out) => {
                let err = String::from_utf8_lossy(&out.stderr);
                self.off(&format!("a read through it failed: {}", err.trim()))
            }
            Ran::NotRun => self.off("no tmux client could be run here"),
            Ran::Silent => {
                self.broken();
                SetUp::Silent
            }
        }
    }

    /// Runs `ssh <options> <args> host`: a request to the master.
    fn master(&self, args: &[&str], timeout: Duration) -> Ran {
        let mut cmd = Command::new(&self.ssh[0]);
        cmd.args(&self.ssh[1..]).args(args).arg(&self.host);
        run_bounded(&mut cmd, timeout)
    }

    /// The tmux client here on the forwarded socket.
    fn client(&self, args: &[&str], timeout: Duration) -> Ran {
        let mut cmd = Command::new("tmux");
        cmd.env_clear();
        for name in CLIENT_ENV {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        // UTF-8, as every call through ssh asks (checked at set-up).
        cmd.arg("-u").arg("-S").arg(&self.local).args(args);
        run_bounded(&mut cmd, timeout)
    }

    /// How reads of this server go, for `doctor`.
    pub fn describe(&self) -> String {
        if self.is_off() {
            let why = std::fs::read_to_string(self.off_mark()).unwrap_or_default();
            return format!("reads go through ssh for now: {}", why.trim());
        }
        if !BROKEN.contains(&self.local) && self.local.exists() {
            return "reads go through its socket, forwarded over the shared connection".into();
        }
        "reads go through ssh".into()
    }

    fn off_mark(&self) -> PathBuf {
        self.local.with_extension("off")
    }

    fn is_off(&self) -> bool {
        std::fs::symlink_metadata(self.off_mark())
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| SystemTime::now().duration_since(at).ok())
            .is_some_and(|age| age < OFF_FOR)
    }

    /// Remembers why the forward cannot work; the reads go through ssh.
    fn off(&self, why: &str) -> SetUp {
        self.broken();
        let mark = self.off_mark();
        let _ = std::fs::remove_file(&mark);
        if let Ok(mut f) = crate::store::private::open(&mark, crate::store::private::Access::New) {
            use std::io::Write;
            let _ = writeln!(f, "{why}");
        }
        crate::output::report::debug(format!(
            "tmux on {}: reads go through ssh for {}: {why}",
            self.host,
            crate::clock::format_duration(OFF_FOR)
        ));
        SetUp::NotUsed
    }
}

/// A server's answer to [`ABOUT`].
#[derive(Debug, PartialEq, Eq)]
struct About<'a> {
    socket: &'a str,
    version: &'a str,
    pid: &'a str,
    /// The host's tmux client takes UTF-8.
    utf8: bool,
}

impl<'a> About<'a> {
    fn read(answer: &'a str) -> Option<About<'a>> {
        let mut words = answer.trim_end_matches('\n').rsplitn(4, ' ');
        let (probe, pid, version, socket) =
            (words.next()?, words.next()?, words.next()?, words.next()?);
        Some(About {
            socket,
            version,
            pid,
            utf8: probe == "\u{e9}",
        })
    }
}

/// What ssh takes as one path in `-L here:there`.
fn plain(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains([':', '%', '$', '[', ']'])
        && !path.contains(char::is_whitespace)
}

/// `tmux -V` of the tmux here, once per run.
fn local_version(timeout: Duration) -> Option<String> {
    static VERSION: OnceLock<Option<String>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let Ran::Answered(out) = run_bounded(Command::new("tmux").arg("-V"), timeout) else {
                return None;
            };
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .clone()
}

/// How a process run here, at most a timeout, ended.
enum Ran {
    Answered(Output),
    /// Killed at the timeout: whatever it talks to did not answer.
    Silent,
    /// It could not be started, or not waited for.
    NotRun,
}

/// Runs `cmd` (no input, its output read) for at most `timeout`.
fn run_bounded(cmd: &mut Command, timeout: Duration) -> Ran {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let Ok(child) = cmd.spawn() else {
        return Ran::NotRun;
    };
    match wait_bounded(child, timeout) {
        Ok(Waited::Done(out)) => Ran::Answered(out),
        Ok(Waited::TimedOut) => Ran::Silent,
        Err(_) => Ran::NotRun,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_go_through_the_forward() {
        assert!(only_reads(&[
            "list-panes",
            "-a",
            "-F",
            "x",
            ";",
            "list-clients"
        ]));
        assert!(only_reads(&[
            "capture-pane",
            "-p",
            "-t",
            "=a:",
            ";",
            "display-message",
            "-p",
            "x"
        ]));
        assert!(!only_reads(&["display-message", "hello"]));
        assert!(!only_reads(&[
            "capture-pane",
            "-p",
            ";",
            "send-keys",
            "-t",
            "=a:",
            "Enter"
        ]));
        assert!(!only_reads(&["load-buffer", "-"]));
        assert!(!only_reads(&[]));
        assert!(!only_reads(&["list-panes", ";"]));
        // What writes, though its name reads.
        assert!(!only_reads(&["capture-pane", "-t", "%1"]));
        assert!(!only_reads(&["display-message", "-p", "-I", "-t", "%1"]));
        // tmux ends a command at an argument that ends in `;`.
        assert!(!only_reads(&[
            "list-panes",
            "-F",
            "A;",
            "set-option",
            "-g",
            "@x",
            "y"
        ]));
    }

    #[test]
    fn a_server_describes_itself_socket_first() {
        assert_eq!(
            About::read("/tmp/tmux-0/default 3.3a 4242 \u{e9}\n"),
            Some(About {
                socket: "/tmp/tmux-0/default",
                version: "3.3a",
                pid: "4242",
                utf8: true
            })
        );
        let ascii = About::read("/tmp/tmux-0/default 3.3a 4242 _").unwrap();
        assert!(!ascii.utf8);
        // A path with a space is read whole (and then refused by `plain`).
        assert_eq!(About::read("/a b 3.3a 1 _").unwrap().socket, "/a b");
        assert_eq!(About::read("3.3a 1 _"), None);
    }

    #[test]
    fn a_path_ssh_would_read_otherwise_gets_no_forward() {
        let ssh = vec!["ssh".to_string()];
        let tmux = vec!["tmux".to_string()];
        assert!(Forward::new(Path::new("/run/aq/ssh"), ssh.clone(), "h", &tmux).is_some());
        for odd in ["/a:b", "/50%", "/$HOME", "/a b"] {
            assert!(
                Forward::new(Path::new(odd), ssh.clone(), "h", &tmux).is_none(),
                "{odd}"
            );
        }
        let long = format!("/{}", "d".repeat(90));
        assert!(Forward::new(Path::new(&long), ssh.clone(), "h", &tmux).is_none());
        let a = Forward::new(Path::new("/s"), ssh.clone(), "h", &tmux).unwrap();
        let b = Forward::new(
            Path::new("/s"),
            ssh,
            "h",
            &["tmux".into(), "-L".into(), "x".into()],
        )
        .unwrap();
        assert_ne!(a.local, b.local, "each server has its own socket");
    }
}
