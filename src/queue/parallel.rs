//! `[projects] max_parallel`: how many tasks of one project sessions may
//! hold at once. Counted from the state, under its lock, as each task is
//! claimed (a claim records its project at once), so racing scans never
//! pass the cap between them; a task of a full project simply waits, and
//! the tasks after it, of other projects, still go in their order.

use std::path::Path;

use crate::config::Config;
use crate::store::state::State;

/// Why a project takes no more tasks now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    pub held: usize,
    pub max: usize,
}

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "its project already has {} task(s) under way ([projects] max_parallel = {})",
            self.held, self.max
        )
    }
}

/// How many tasks of `project` sessions hold.
pub fn held(state: &State, project: &Path) -> usize {
    state
        .sessions
        .values()
        .filter(|s| s.task.is_some() && s.project.as_deref() == Some(project))
        .count()
}

/// `Err` when `project` holds as many tasks as `max_parallel` allows.
pub fn room(config: &Config, state: &State, project: &Path) -> Result<(), Full> {
    room_with(config, state, project, 0)
}

/// [`room`], counting `planned` more tasks of `project` as held (what a
/// dry run would have sent before).
pub fn room_with(
    config: &Config,
    state: &State,
    project: &Path,
    planned: usize,
) -> Result<(), Full> {
    let Some(max) = config.projects.max_parallel else {
        return Ok(());
    };
    let held = held(state, project) + planned;
    if held >= max {
        Err(Full { held, max })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::state::Phase;

    fn config(max: &str) -> Config {
        crate::config::parse(
            &format!("[projects]\npaths=[\"/p\"]\n{max}\n[pool]\nsize=3\n"),
            Path::new("c.toml"),
        )
        .unwrap()
    }

    #[test]
    fn a_project_is_full_at_its_cap_and_others_are_not() {
        let c = config("max_parallel = 1");
        let mut state = State::default();
        assert_eq!(room(&c, &state, Path::new("/a")), Ok(()));
        state.set("s1", Phase::Working, 0);
        state.entry("s1").task = Some("/a/.agent-queue/inbox/x.md.dispatched".into());
        state.entry("s1").project = Some("/a".into());
        assert_eq!(
            room(&c, &state, Path::new("/a")),
            Err(Full { held: 1, max: 1 })
        );
        assert_eq!(room(&c, &state, Path::new("/b")), Ok(()));
        // The task ended: the session is idle and holds nothing.
        state.set("s1", Phase::Idle, 1);
        assert_eq!(room(&c, &state, Path::new("/a")), Ok(()));
    }

    #[test]
    fn no_cap_by_default() {
        let c = config("");
        let mut state = State::default();
        for s in ["s1", "s2", "s3"] {
            state.entry(s).task = Some("/a/x".into());
            state.entry(s).project = Some("/a".into());
        }
        assert_eq!(room(&c, &state, Path::new("/a")), Ok(()));
    }
}
