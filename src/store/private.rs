//! Files and folders that only the running user may touch: the state, its
//! locks, the history journal, the recycle log and a task being submitted.
//! Each is opened 0600 and never through a symlink (`O_NOFOLLOW`: a link
//! planted where the file belongs would make agent-queue write through it),
//! in folders made 0700; and a file agent-queue only reads (a task, the
//! journal) is opened without following a link or waiting on a FIFO, and
//! refused unless it is a regular file.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// How a private file is opened; each creates it 0600 when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Lines added at the end (read too, to see how the file ends).
    Append,
    /// Read and written in place, never truncated (a lock file).
    Update,
    /// A new file, written once: an existing one is an error.
    New,
}

/// Opens `path` for the running user alone, never through a symlink.
pub fn open(path: &Path, access: Access) -> io::Result<File> {
    let mut options = OpenOptions::new();
    match access {
        Access::Append => options.read(true).append(true).create(true),
        Access::Update => options.read(true).write(true).create(true).truncate(false),
        Access::New => options.write(true).create_new(true),
    };
    options
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Makes `dir` and the folders above it, 0700, where they are missing.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Opens a file to read it, refusing a symlink (said as such) and anything
/// that is not a regular file, without blocking on a FIFO.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => io::Error::other("is a symlink"),
            _ => e,
        })?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_folders_are_the_users_alone() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_dir(&sub).unwrap();
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        for (name, access) in [
            ("append", Access::Append),
            ("update", Access::Update),
            ("new", Access::New),
        ] {
            let path = sub.join(name);
            open(&path, access).unwrap();
            assert_eq!(mode(&path), 0o600, "{name}");
        }
        assert!(open(&sub.join("new"), Access::New).is_err());
    }

    #[test]
    fn a_symlink_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for access in [Access::Append, Access::Update, Access::New] {
            assert!(open(&link, access).is_err(), "{access:?}");
        }
        assert!(!target.exists());
        std::fs::write(&target, "x").unwrap();
        let err = open_regular(&link).unwrap_err();
        assert_eq!(err.to_string(), "is a symlink");
        assert_eq!(
            open_regular(dir.path()).unwrap_err().to_string(),
            "not a regular file"
        );
        assert!(open_regular(&target).is_ok());
    }
}
