//! Children that must outlive the process that starts them: the recycle a
//! Stop hook hands its work to, and `[notify]` commands. Claude Code ends a
//! hook's process group when the hook returns or times out, so such a child
//! starts a session of its own (`setsid`) before it runs.

use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `cmd` start in a session of its own; `keep` names a descriptor it
/// inherits across `exec` (close-on-exec cleared), such as a held lock.
pub fn in_own_session(cmd: &mut Command, keep: Option<RawFd>) {
    // SAFETY: setsid and fcntl are async-signal-safe, as a pre_exec hook
    // must be; nothing here allocates or takes a lock.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            if let Some(fd) = keep {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
                }
            }
            Ok(())
        });
    }
}
