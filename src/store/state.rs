//! The state file is the only thing overlapping invocations share, besides the
//! inbox renames. It says which session holds which task. It is read and
//! written under an exclusive flock on a separate lock file (the state file
//! itself is replaced on every write, so a lock on it would be a lock on a
//! file that is no longer there), and written by temp file, fsync, rename and
//! fsync of the folder, so a reader never sees half of it.
//!
//! A launch in flight is known by a second lock, one file per session, that
//! the launching process holds until it is done: the kernel drops it when the
//! process dies, which a PID check cannot tell apart from PID reuse.

use std::collections::BTreeMap;
use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::error::bad_input;
use crate::pane::Started;
use crate::store::paused::Paused;
use crate::store::private::{self, Access};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    #[default]
    Idle,
    /// Reserved for a launch that may still be in flight.
    Launching,
    /// The agent has its task.
    Working,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Launching => "launching",
            Phase::Working => "working",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    /// Written `phase`; files of earlier versions wrote `state`.
    #[serde(alias = "state")]
    pub phase: Phase,
    /// The task's path after its claim (`….md.dispatched`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::paths::json_path_opt"
    )]
    pub task: Option<PathBuf>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::paths::json_path_opt"
    )]
    pub project: Option<PathBuf>,
    /// Unix seconds of the last change of `state`.
    #[serde(default)]
    pub since: u64,
    /// Unix seconds of the last failed launch: the cooldown runs from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fail: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The program agent-queue last started here, kept after its task
    /// ends: whether it still runs decides if `/exit` may be typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Started>,
    /// What the agent's hooks said when it took its last task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// A receipt came from this session's agent before: its hooks are
    /// installed, and a launch waits for one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hooks: bool,
    /// A `cancel` owns this session's task: it stops the agent and ends
    /// the task, and nothing else ends or hands it on meanwhile. Live only
    /// while that `cancel` holds the session's launch lock.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelling: bool,
    /// The worktree of the task it holds (`isolation = "worktree"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<crate::queue::worktree::Worktree>,
    /// The nonce of the start whose recycle waited for an operator to
    /// leave the session: a later scan sends that agent `/exit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recycle_deferred: Option<String>,
}

/// A delivery receipt: the agent's `UserPromptSubmit` hook saw the task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The start it belongs to (`AGENT_QUEUE_RUN`), empty when the agent
    /// was not started by agent-queue (a dedicated session).
    pub nonce: String,
    #[serde(with = "crate::paths::json_path")]
    pub task: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_path: Option<String>,
    pub at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The file's schema. A file without one was written before the schema
    /// had a number, in the shape of version 1. A newer version than this
    /// build knows is refused, never misread or rewritten.
    #[serde(default = "first_version")]
    pub version: u32,
    #[serde(default)]
    pub sessions: BTreeMap<String, SessionState>,
    /// Accounts that hit their usage limit, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, AccountState>,
    /// What the operator paused (`pause`, `resume`).
    #[serde(default, skip_serializing_if = "Paused::is_empty")]
    pub paused: Paused,
    /// Each account's usage before its limit, by name: kept in files of
    /// its own beside the state (`accounts::usage::book`), read with it.
    #[serde(skip)]
    pub usage: BTreeMap<String, crate::accounts::usage::Known>,
}

/// An account's usage limit: no session of its pools gets a task before
/// `limited_until` (its reset plus a margin).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub limited_until: u64,
    /// The agent's words (its limit line), or the hook's error.
    pub reason: String,
    /// When the limit was seen.
    pub since: u64,
    /// No reset could be read: `limited_until` is `limit_wait` from then,
    /// and the first report that names a reset replaces it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guessed: bool,
}

/// The state file's schema this build reads and writes.
pub const VERSION: u32 = 2;

fn first_version() -> u32 {
    1
}

impl Default for State {
    fn default() -> State {
        State {
            version: VERSION,
            sessions: BTreeMap::new(),
            accounts: BTreeMap::new(),
            paused: Paused::default(),
            usage: BTreeMap::new(),
        }
    }
}

impl State {
    /// Until when `account` is limited, if it is at `now`.
    pub fn limited_until(&self, account: &str, now: u64) -> Option<u64> {
        self.accounts
            .get(account)
            .map(|a| a.limited_until)
            .filter(|&until| until > now)
    }

    pub fn phase(&self, session: &str) -> Phase {
        self.sessions
            .get(session)
            .map(|s| s.phase)
            .unwrap_or_default()
    }

    pub fn entry(&mut self, session: &str) -> &mut SessionState {
        self.sessions.entry(session.to_string()).or_default()
    }

    /// Puts `session` in `phase` from now on, clearing its task when idle.
    pub fn set(&mut self, session: &str, phase: Phase, now: u64) {
        let s = self.entry(session);
        s.phase = phase;
        s.since = now;
        if phase == Phase::Idle {
            s.task = None;
            s.project = None;
            s.cancelling = false;
            s.worktree = None;
        }
    }
}

/// The state file, its lock file and its folder of launch locks.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

/// The state, read under the lock; the lock is held until this is dropped.
pub struct Locked {
    _lock: File,
    path: PathBuf,
    pub state: State,
}

impl Store {
    pub fn new(path: PathBuf) -> Store {
        Store { path }
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    fn lock_path(&self) -> PathBuf {
        suffixed(&self.path, ".lock")
    }

    /// Where every session's launch and recycle locks are.
    pub(crate) fn launches_dir(&self) -> PathBuf {
        suffixed(&self.path, ".launches")
    }

    pub(crate) fn launch_lock_path(&self, session: &str) -> PathBuf {
        self.session_lock_path(session, "lock")
    }

    /// `<state>.launches/<session>.<kind>`; `file_safe` escapes every `.`
    /// of the session name, so kinds never collide.
    fn session_lock_path(&self, session: &str, kind: &str) -> PathBuf {
        suffixed(&self.path, ".launches").join(format!("{}.{kind}", file_safe(session)))
    }

    /// Creates the state folder (0700) if needed and refuses a state path
    /// that another user could have planted.
    fn prepare(&self) -> anyhow::Result<()> {
        let dir = self.dir();
        private::create_dir(dir)
            .with_context(|| format!("creating state folder {}", dir.display()))?;
        crate::store::security::check_state_path(&self.path)?;
        crate::store::security::check_state_path(&self.lock_path())?;
        Ok(())
    }

    /// Takes the exclusive lock and reads the state (blocks while another
    /// invocation holds it; holders never wait on anything slow).
    pub fn lock(&self) -> anyhow::Result<Locked> {
        self.prepare()?;
        let lock_path = self.lock_path();
        let lock = private::open(&lock_path, Access::Update)
            .with_context(|| format!("opening state lock {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("locking {}", lock_path.display()))?;
        let state = self.read()?;
        Ok(Locked {
            _lock: lock,
            path: self.path.clone(),
            state,
        })
    }

    /// Reads the state without the lock: a consistent snapshot, since writes
    /// are atomic renames, but possibly stale by the time it is used.
    pub fn read(&self) -> anyhow::Result<State> {
        crate::store::security::check_state_path(&self.path)?;
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    usage: self.usage(),
                    ..State::default()
                })
            }
            Err(e) => {
                return Err(e).with_context(|| format!("reading state {}", self.path.display()))
            }
        };
        let mut state: State = serde_json::from_str(&text).map_err(|e| {
            bad_input(format!(
                "state file {} does not parse ({e}); it was left as it is: \
                 repair it, or move it aside to start from an empty state",
                self.path.display()
            ))
        })?;
        if state.version > VERSION {
            return Err(bad_input(format!(
                "state file {} has schema version {}, and this agent-queue knows {VERSION} at \
                 most: it was written by a newer agent-queue; run that one (the file was left \
                 as it is)",
                self.path.display(),
                state.version
            )));
        }
        // Read in an older shape, written in this one.
        state.version = VERSION;
        state.usage = self.usage();
        Ok(state)
    }

    /// Each account's usage, from its own files beside the state.
    fn usage(&self) -> BTreeMap<String, crate::accounts::usage::Known> {
        crate::accounts::usage::book::Book::of(&self.path).read_all()
    }

    /// Tries to take `session`'s launch lock without waiting: `None` when a
    /// live process holds it (a launch is in flight there).
    pub fn try_launch_lock(&self, session: &str) -> anyhow::Result<Option<File>> {
        try_lock(&self.launch_lock_path(session))
    }

    /// Takes `session`'s launch lock, waiting while a launch there is in
    /// flight (launches end within their ready timeout). Never called with
    /// the state's lock held: a launch takes that lock to settle.
    pub fn wait_launch_lock(&self, session: &str) -> anyhow::Result<File> {
        let path = self.launch_lock_path(session);
        let file = try_lock(&path)?;
        if let Some(file) = file {
            return Ok(file);
        }
        let file = private::open(&path, Access::Update)
            .with_context(|| format!("opening {}", path.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(file)
    }

    /// Whether a `cancel` that is still running owns `session`'s task: its
    /// mark is in the state and its launch lock is held. A mark left by a
    /// `cancel` that died is no longer live.
    pub fn cancel_in_flight(&self, state: &State, session: &str) -> bool {
        state.sessions.get(session).is_some_and(|s| s.cancelling)
            && matches!(self.try_launch_lock(session), Ok(None))
    }

    /// Tries to take `session`'s recycle lock: `None` while another process
    /// recycles it (sends `/exit` and waits), so that one `/exit` is typed
    /// however many `mark-idle` run at once.
    pub fn try_recycle_lock(&self, session: &str) -> anyhow::Result<Option<File>> {
        try_lock(&self.session_lock_path(session, "recycle.lock"))
    }
}

pub(crate) fn try_lock(path: &Path) -> anyhow::Result<Option<File>> {
    if let Some(dir) = path.parent() {
        private::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = private::open(path, Access::Update)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

impl Locked {
    /// Writes the state: temp file beside it, fsync, rename, fsync of the
    /// folder. On any failure (a full disk) the old state is left whole.
    pub fn save(&self) -> anyhow::Result<()> {
        write_atomic(&self.path, &serde_json::to_vec_pretty(&self.state)?)
            .with_context(|| format!("writing state {}", self.path.display()))
    }
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_replacing(path, bytes, Durable::Synced)
}

/// Whether a replacing write waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durable {
    /// The file and its folder are fsynced: it survives a crash.
    Synced,
    /// Readers see the old or the new file whole, but a crash may lose the
    /// write (or, on some file systems, leave the file empty): for records
    /// that the next report brings again.
    Unsynced,
}

/// Writes `path` by a temp file beside it and a rename.
pub fn write_replacing(path: &Path, bytes: &[u8], durable: Durable) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = suffixed(path, &format!(".tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = private::open(&tmp, Access::New)?;
        f.write_all(bytes)?;
        f.write_all(b"\n")?;
        if durable == Durable::Unsynced {
            return std::fs::rename(&tmp, path);
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })?
        .sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

pub(crate) fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A session name as a file name: tmux allows `/`, `.` and more in names.
pub(crate) fn file_safe(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests;
