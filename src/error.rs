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

/// The exit statuses, for every subcommand: what `main` returns, and what
/// the help text and the man page say, from this one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done = 0,
    NothingFound = 1,
    BadInput = 2,
    Failure = 3,
}

impl Exit {
    pub const ALL: [Exit; 4] = [
        Exit::Done,
        Exit::NothingFound,
        Exit::BadInput,
        Exit::Failure,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the status means, in a sentence.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Done => "Done. A scan that found nothing to do, or no free session, is done.",
            Exit::NothingFound => {
                "Nothing found where something was asked for: free-session with no free \
                 session; dispatch with no free session (the task stays untouched in its \
                 inbox); history with no matching line; cancel or requeue of an unknown task \
                 or session, or of a task a session still holds (requeue); doctor with a \
                 failed check."
            }
            Exit::BadInput => {
                "Bad usage, bad config, bad task file or unreadable state file; the message \
                 names what is wrong."
            }
            Exit::Failure => {
                "A runtime failure (tmux missing or unreachable, the agent never showed its \
                 ready marker, stopped at a dialog or hit its usage limit, an I/O error); every \
                 task involved is back in its inbox."
            }
        }
    }

    /// The exit status of a subcommand's result.
    pub fn of(result: &anyhow::Result<Outcome>) -> Exit {
        match result {
            Ok(Outcome::Done) => Exit::Done,
            Ok(Outcome::NothingFound) => Exit::NothingFound,
            Err(e) if is_bad_input(e) => Exit::BadInput,
            Err(_) => Exit::Failure,
        }
    }
}

/// The help text's closing lines: every exit status and its meaning.
pub fn exit_help() -> String {
    let mut out = String::from("Exit status:");
    for e in Exit::ALL {
        out.push_str(&format!("\n  {}  {}", e.code(), e.meaning()));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn bad_input_is_found_under_context() {
        let err = Err::<(), _>(bad_input("unknown key `x`"))
            .context("reading /etc/c.toml")
            .unwrap_err();
        assert_eq!(Exit::of(&Err(err.context("x"))), Exit::BadInput);
        let err = Err::<(), _>(bad_input("unknown key `x`"))
            .context("reading /etc/c.toml")
            .unwrap_err();
        assert_eq!(format!("{err:#}"), "reading /etc/c.toml: unknown key `x`");
    }

    #[test]
    fn other_errors_are_runtime_failures() {
        let io = std::io::Error::other("disk full");
        let err = anyhow::Error::new(io).context("writing state");
        assert_eq!(Exit::of(&Err(err)), Exit::Failure);
    }
}
