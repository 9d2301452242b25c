//! A private sshd on 127.0.0.1 for the tests of a host behind ssh: its own
//! host key, authorized key and config in a temp folder (never the system's
//! config), on a free port, killed when dropped. `ssh_prefix()` is what a
//! pool's `tmux` prefix starts with to reach it (the program is `ssh`, with a
//! client config of its own: this key, this known host, no prompt).
//!
//! The remote commands run in the user's login shell; `SHLVL=1` keeps bash
//! from reading the user's `~/.bashrc` for them (it does so for a command
//! that sshd starts at shell level 1), so nothing of the user's shell setup
//! slows down or breaks each tmux call.
//!
//! sshd refuses to start as root without its privilege separation folder
//! (`/run/sshd`, fixed when it was built); as root the fixture makes it.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Sshd {
    dir: TempDir,
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The name the client config gives the host.
const HOST: &str = "aq-test-host";

fn keygen(path: &Path) -> Result<(), String> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    out.status
        .success()
        .then_some(())
        .ok_or_else(|| format!("ssh-keygen: {}", String::from_utf8_lossy(&out.stderr)))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Sshd {
    /// Starts it, or says why it cannot run here.
    pub fn start() -> Result<Sshd, String> {
        let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or("no sshd (/usr/sbin/sshd) installed")?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
        }
        let dir = tempfile::Builder::new()
            .prefix("aq-sshd-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let p = |name: &str| dir.path().join(name);
        keygen(&p("host_key"))?;
        keygen(&p("id"))?;
        fs::copy(p("id.pub"), p("authorized_keys")).map_err(|e| e.to_string())?;
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| {
                // SAFETY: geteuid has no preconditions and cannot fail.
                if unsafe { libc::geteuid() } == 0 {
                    "root".into()
                } else {
                    String::new()
                }
            });
        let port = free_port();
        fs::write(
            p("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {host}\nPidFile none\n\
                 AuthorizedKeysFile {auth}\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\nLogLevel ERROR\nSetEnv SHLVL=1\n",
                host = p("host_key").display(),
                auth = p("authorized_keys").display(),
            ),
        )
        .map_err(|e| e.to_string())?;
        let host_pub = fs::read_to_string(p("host_key.pub")).map_err(|e| e.to_string())?;
        fs::write(p("known_hosts"), format!("[127.0.0.1]:{port} {host_pub}"))
            .map_err(|e| e.to_string())?;
        let user_line = if user.is_empty() {
            String::new()
        } else {
            format!("  User {user}\n")
        };
        fs::write(
            p("ssh_config"),
            format!(
                "Host {HOST}\n  HostName 127.0.0.1\n  Port {port}\n{user_line}  IdentityFile {id}\n\
                 \x20 IdentitiesOnly yes\n  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n\
                 \x20 BatchMode yes\n  LogLevel ERROR\n",
                id = p("id").display(),
                known = p("known_hosts").display(),
            ),
        )
        .map_err(|e| e.to_string())?;
        let child = Command::new(&sshd)
            .args(["-D", "-e", "-f"])
            .arg(p("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(p("sshd.log")).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("{}: {e}", sshd.display()))?;
        let mut me = Sshd { dir, child };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = me.child.try_wait() {
                let log = fs::read_to_string(me.dir.path().join("sshd.log")).unwrap_or_default();
                return Err(format!("sshd exited ({status}): {log}"));
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err("sshd did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = Command::new("ssh")
            .args(me.ssh_prefix()[1..].iter())
            .arg("true")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("ssh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ssh to the test sshd failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(me)
    }

    /// `ssh` with this fixture's client config, and the host: a command
    /// line to run there follows.
    pub fn ssh_prefix(&self) -> Vec<String> {
        vec![
            "ssh".into(),
            "-F".into(),
            self.dir.path().join("ssh_config").display().to_string(),
            HOST.into(),
        ]
    }
}
