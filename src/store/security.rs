//! A task file is code execution: it is pasted into an agent that runs with
//! the operator's rights and skips its permission prompts. So whoever can
//! write a task, the config, the state or a resume id can act as the operator,
//! and agent-queue is as strict about who owns them as sshd's `StrictModes`:
//! only the running user, root, and uids or gids the config names as trusted.
//! These checks are pure functions of file metadata, so they are tested
//! without owning other users' files.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Deserialize;

use crate::error::bad_input;

/// `[security]`: who besides the running user may own task files and
/// inbox folders.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Security {
    pub trusted_uids: Vec<u32>,
    pub trusted_gids: Vec<u32>,
}

const GROUP_WRITE: u32 = 0o020;
const OTHER_WRITE: u32 = 0o002;
const STICKY: u32 = 0o1000;

/// What is checked: a folder may be world-writable when it is sticky.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    File,
    Folder,
}

/// Why a file or folder is not trusted, and the command that fixes it (the
/// scan's warning says both; `doctor` shows the fix on its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub why: String,
    pub fix: Option<String>,
}

impl Refused {
    /// A refusal with no command to fix it (a folder that cannot be read).
    pub fn unfixable(why: String) -> Refused {
        Refused { why, fix: None }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fix {
            Some(fix) => write!(f, "{}; fix: {fix}", self.why),
            None => f.write_str(&self.why),
        }
    }
}

/// Several refusals at once (every untrusted folder on the way to an
/// inbox, so that one round of fixes is enough), in one line.
pub fn joined(refusals: &[Refused]) -> String {
    refusals
        .iter()
        .map(Refused::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The running user's uid.
pub fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Whom the checks trust: the running user, root, and the config's lists.
#[derive(Debug, Clone)]
pub struct Trust {
    pub uid: u32,
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
}

impl Trust {
    pub fn new(security: &Security) -> Trust {
        Trust {
            uid: current_uid(),
            uids: security.trusted_uids.clone(),
            gids: security.trusted_gids.clone(),
        }
    }

    fn trusts_owner(&self, uid: u32) -> bool {
        uid == self.uid || uid == 0 || self.uids.contains(&uid)
    }

    /// Why `meta` (a task file) may not be dispatched, with the fix.
    pub fn refuse_file(&self, path: &Path, meta: &Metadata) -> Option<Refused> {
        self.refuse(path, meta.uid(), meta.gid(), meta.mode(), Node::File)
    }

    /// Why a folder on the way to the inbox makes its tasks untrusted.
    pub fn refuse_folder(&self, path: &Path, meta: &Metadata) -> Option<Refused> {
        self.refuse(path, meta.uid(), meta.gid(), meta.mode(), Node::Folder)
    }

    fn refuse(&self, path: &Path, uid: u32, gid: u32, mode: u32, node: Node) -> Option<Refused> {
        let folder = node == Node::Folder;
        let what = if folder { "folder" } else { "file" };
        let perm = mode & 0o7777;
        if !self.trusts_owner(uid) {
            return Some(Refused {
                why: format!(
                    "{what} {} is owned by uid {uid} (mode {perm:04o}), not by uid {} or a \
                     trusted uid",
                    path.display(),
                    self.uid,
                ),
                fix: Some(format!(
                    "chown {} {} (or add {uid} to [security] trusted_uids)",
                    self.uid,
                    quote_for_message(path),
                )),
            });
        }
        let sticky_folder = folder && perm & STICKY != 0;
        let group_ok = perm & GROUP_WRITE == 0 || self.gids.contains(&gid) || sticky_folder;
        let other_ok = perm & OTHER_WRITE == 0 || sticky_folder;
        if group_ok && other_ok {
            return None;
        }
        let who = if other_ok { "its group" } else { "every user" };
        let or_trust = if other_ok {
            format!(" (or add gid {gid} to [security] trusted_gids)")
        } else {
            String::new()
        };
        Some(Refused {
            why: format!(
                "{what} {} is writable by {who} (mode {perm:04o}, gid {gid})",
                path.display(),
            ),
            fix: Some(format!("chmod go-w {}{or_trust}", quote_for_message(path))),
        })
    }
}

fn quote_for_message(path: &Path) -> String {
    crate::shell::quote(&path.to_string_lossy())
}

/// The config says what runs in the operator's name: refused (exit 2) when
/// another user could have written it.
pub fn check_config_file(path: &Path) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path)
        .map_err(|e| bad_input(format!("reading config {}: {e}", path.display())))?;
    let trust = Trust::new(&Security::default());
    let mut why: Vec<String> = trust
        .refuse_file(path, &meta)
        .map(|r| r.to_string())
        .into_iter()
        .collect();
    // Whoever may write its folder may put another config in its place.
    let dir = std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    if let Some(dir) = dir {
        match std::fs::metadata(&dir) {
            Ok(m) => why.extend(trust.refuse_folder(&dir, &m).map(|r| r.to_string())),
            Err(e) => why.push(format!("{}: {e}", dir.display())),
        }
    }
    match why.is_empty() {
        true => Ok(()),
        false => Err(bad_input(format!("refusing config: {}", why.join("; ")))),
    }
}

/// The state and its lock must not be a symlink (which would make agent-queue
/// write wherever it points) nor belong to another user.
pub fn check_state_path(path: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(bad_input(format!("state {}: {e}", path.display()))),
    };
    if meta.file_type().is_symlink() {
        return Err(bad_input(format!(
            "refusing state {}: it is a symlink; point [state] file at the real path",
            path.display()
        )));
    }
    if meta.uid() != current_uid() {
        return Err(bad_input(format!(
            "refusing state {}: it is owned by uid {}, not by uid {} who runs agent-queue",
            path.display(),
            meta.uid(),
            current_uid()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust() -> Trust {
        Trust {
            uid: 1000,
            uids: vec![1001],
            gids: vec![50],
        }
    }

    fn refuse(uid: u32, gid: u32, mode: u32, node: Node) -> Option<Refused> {
        trust().refuse(Path::new("/p/it's here"), uid, gid, mode, node)
    }

    #[test]
    fn own_private_files_are_trusted() {
        assert_eq!(refuse(1000, 1000, 0o100644, Node::File), None);
        assert_eq!(refuse(0, 0, 0o100600, Node::File), None);
        assert_eq!(refuse(1001, 7, 0o100644, Node::File), None);
    }

    #[test]
    fn another_owner_is_refused_with_the_fix() {
        let r = refuse(65534, 65534, 0o100644, Node::File).unwrap();
        assert!(r.why.contains("owned by uid 65534"), "{r}");
        let fix = r.fix.as_deref().unwrap_or_default();
        assert!(fix.starts_with("chown 1000 '/p/it'\\''s here'"), "{r}");
        assert_eq!(r.to_string(), format!("{}; fix: {fix}", r.why));
    }

    #[test]
    fn writable_by_others_is_refused_unless_the_group_is_trusted() {
        assert!(refuse(1000, 1000, 0o100664, Node::File)
            .unwrap()
            .why
            .contains("its group"));
        assert!(refuse(1000, 1000, 0o100646, Node::File)
            .unwrap()
            .why
            .contains("every user"));
        assert_eq!(refuse(1000, 50, 0o100664, Node::File), None);
        let r = refuse(1000, 50, 0o100666, Node::File).unwrap();
        assert!(r.fix.unwrap_or_default().starts_with("chmod go-w "));
    }

    #[test]
    fn a_sticky_shared_folder_is_fine() {
        assert_eq!(refuse(0, 0, 0o41777, Node::Folder), None);
        assert!(refuse(1000, 1000, 0o40777, Node::Folder).is_some());
    }
}
