//! How a launch fails. The kind decides what the caller does with the
//! session: a usage limit moves the task to another account, a person at
//! the agent leaves the session alone with no cooldown, anything else cools
//! the session down. The words always name the session and what it showed.

/// Why a launch failed, in words that name the session and what it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchError {
    /// Anything but a usage limit: the session cools down.
    Failed(String),
    /// The agent's account hit its usage limit: `line` is the agent's own.
    Limit { message: String, line: String },
    /// A person was found at the agent: not the session's fault, so no
    /// cooldown.
    Person { message: String, person: Person },
}

/// What showed that a person is at the agent a launch was about to paste
/// into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Person {
    /// Its input box holds text agent-queue did not type.
    Draft(String),
    /// An operator is at its session (its pane in a mode, or a client's
    /// recent input).
    Operator(crate::dispatch::hands_off::Hold),
}

impl LaunchError {
    pub fn new(message: String) -> LaunchError {
        LaunchError::Failed(message)
    }

    pub fn message(&self) -> &str {
        match self {
            LaunchError::Failed(message)
            | LaunchError::Limit { message, .. }
            | LaunchError::Person { message, .. } => message,
        }
    }

    /// Its words, to change them (a secret's value never leaves a launch).
    pub(super) fn message_mut(&mut self) -> &mut String {
        match self {
            LaunchError::Failed(message)
            | LaunchError::Limit { message, .. }
            | LaunchError::Person { message, .. } => message,
        }
    }
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for LaunchError {}
