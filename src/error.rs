//! Exit codes are part of the contract (0 done, 1 nothing found, 2 bad input,
//! 3 runtime failure), so an error has to carry which of the last two it is
//! all the way up to `main`. Errors are plain `anyhow` chains; the ones that
//! are the operator's to fix (bad usage, bad config, bad task file, bad
//! state file) are rooted in, or wrapped by, a `BadInput`.

use std::fmt;

/// What a subcommand reports when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// Exit 1: nothing found where something was asked for.
    NothingFound,
}

/// An error that is the operator's to fix: exit 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Builds an exit-2 error from a message.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

pub fn is_bad_input(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<BadInput>().is_some())
}

/// The process exit code for an error.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if is_bad_input(err) {
        2
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn bad_input_is_found_under_context() {
        let err = Err::<(), _>(bad_input("unknown key `x`"))
            .context("reading /etc/c.toml")
            .unwrap_err();
        assert_eq!(exit_code(&err), 2);
        assert_eq!(format!("{err:#}"), "reading /etc/c.toml: unknown key `x`");
    }

    #[test]
    fn other_errors_are_runtime_failures() {
        let io = std::io::Error::other("disk full");
        let err = anyhow::Error::new(io).context("writing state");
        assert_eq!(exit_code(&err), 3);
    }
}
