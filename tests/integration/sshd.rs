//! Hosts for tests: a private OpenSSH server per "host" on a loopback port,
//! each with its own `sshd_config`, a host key and an authorized client key
//! made for the test in a temp folder (never the system's config or keys),
//! and an `ssh_config` for the client that names every host (`Host box1`…)
//! with that key and a known-hosts file of its own. Every host is this
//! machine, as the same user: a tmux server the test starts on a socket is
//! "on" whichever host the pool names. The servers are killed when the
//! `Hosts` value is dropped, pass or fail, and with them every connection
//! (a shared ssh connection ends with its server).
//!
//! The user's login shell runs each command. Bash, started by sshd, reads
//! the user's `~/.bashrc` first unless it is a nested shell: `SHLVL=1`
//! makes it one, so the machine's own rc files (which may do anything,
//! slowly) stay out of the tests, as the system's sshd config does.
//!
//! `silence` stops a host's server and every process it forked (its
//! connections included) with SIGSTOP: a host that no longer answers, as
//! one whose network went away; `wake` lets it go on.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's openssh-server puts the daemon (`.ci/run` installs it);
/// sshd wants to be started by its absolute path.
const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub name: String,
    pub port: u16,
    child: Child,
    log: PathBuf,
}

pub struct Hosts {
    dir: PathBuf,
    hosts: Vec<Sshd>,
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            for pid in h.processes() {
                signal(pid, libc::SIGKILL);
            }
            let _ = h.child.kill();
            let _ = h.child.wait();
        }
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill has no memory preconditions; a pid gone meanwhile only
    // makes it fail.
    unsafe {
        libc::kill(pid, sig);
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Hosts {
    /// One sshd per name, each on its own loopback port, under `dir`.
    pub fn start(dir: &Path, names: &[&str]) -> Hosts {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (.ci/run does)"
        );
        // Started as root, sshd needs its privilege separation folder,
        // which the package's service unit would make.
        if unsafe { libc::geteuid() } == 0 {
            let _ = fs::create_dir_all("/run/sshd");
        }
        let dir = dir.join("ssh-hosts");
        fs::create_dir_all(&dir).unwrap();
        for key in ["host_key", "client_key"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", key, "-f"])
                .arg(dir.join(key)));
        }
        fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        let host_pub = fs::read_to_string(dir.join("host_key.pub")).unwrap();
        let mut known = String::new();
        let mut client = String::new();
        let mut hosts = Vec::new();
        for name in names {
            let port = free_port();
            let config = dir.join(format!("sshd_config.{name}"));
            fs::write(
                &config,
                format!(
                    "ListenAddress 127.0.0.1\nHostKey {dir}/host_key\nPidFile none\n\
                     AuthorizedKeysFile {dir}/authorized_keys\nPubkeyAuthentication yes\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                     StrictModes no\nPermitUserRC no\nPermitRootLogin prohibit-password\n\
                     MaxStartups 100\nMaxSessions 100\nLogLevel VERBOSE\n\
                     SetEnv SHLVL=1 TMUX_TMPDIR={tmux}\n",
                    dir = dir.display(),
                    tmux = Hosts::tmux_tmpdir_in(&dir, name).display()
                ),
            )
            .unwrap();
            // Each host's tmux servers live in a socket folder of its own:
            // a tmux call that ran here instead of on the host finds none.
            let tmux = Hosts::tmux_tmpdir_in(&dir, name);
            fs::create_dir_all(&tmux).unwrap();
            fs::set_permissions(&tmux, fs::Permissions::from_mode(0o700)).unwrap();
            let log = dir.join(format!("sshd.{name}.log"));
            let child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .args(["-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).unwrap())
                .spawn()
                .expect("sshd starts");
            known.push_str(&format!("[127.0.0.1]:{port} {host_pub}"));
            client.push_str(&format!(
                "Host {name}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n\
                 IdentityFile {dir}/client_key\n  IdentitiesOnly yes\n\
                 UserKnownHostsFile {dir}/known_hosts\n  GlobalKnownHostsFile /dev/null\n\
                 StrictHostKeyChecking yes\n  LogLevel ERROR\n",
                user = user(),
                dir = dir.display()
            ));
            hosts.push(Sshd {
                name: name.to_string(),
                port,
                child,
                log,
            });
        }
        fs::write(dir.join("known_hosts"), known).unwrap();
        fs::write(dir.join("ssh_config"), client).unwrap();
        let hosts = Hosts { dir, hosts };
        for h in &hosts.hosts {
            h.wait_listening();
        }
        hosts
    }

    /// `$TMUX_TMPDIR` of the commands that `name` runs for ssh.
    pub fn tmux_tmpdir(&self, name: &str) -> PathBuf {
        Hosts::tmux_tmpdir_in(&self.dir, name)
    }

    fn tmux_tmpdir_in(dir: &Path, name: &str) -> PathBuf {
        dir.join(format!("tmux.{name}"))
    }

    /// The client's config: every host by name, with the test's key.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// `ssh -F <the test's ssh_config>`, as an argv.
    pub fn ssh_command(&self) -> Vec<String> {
        vec![
            "ssh".into(),
            "-F".into(),
            self.ssh_config().display().to_string(),
        ]
    }

    pub fn host(&self, name: &str) -> &Sshd {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name}"))
    }
}

impl Sshd {
    fn wait_listening(&self) {
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sshd {} never listened on port {}: {}",
                self.name,
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many ssh connections this host has accepted so far.
    pub fn connections(&self) -> usize {
        self.log_text().matches("Accepted publickey").count()
    }

    /// The server and every process it forked, found through /proc.
    fn processes(&self) -> Vec<i32> {
        let mut parents: Vec<(i32, i32)> = Vec::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // The parent is the second field after the command's `)`.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            parents.push((pid, ppid));
        }
        let mut tree = vec![self.child.id() as i32];
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            tree.extend(
                parents
                    .iter()
                    .filter(|(_, pp)| *pp == parent)
                    .map(|(p, _)| *p),
            );
            i += 1;
        }
        tree
    }

    /// The host stops answering: its server and its connections stop.
    pub fn silence(&self) {
        for pid in self.processes() {
            signal(pid, libc::SIGSTOP);
        }
    }

    /// The host answers again.
    pub fn wake(&self) {
        for pid in self.processes() {
            signal(pid, libc::SIGCONT);
        }
    }
}
