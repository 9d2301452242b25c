//! What the operator paused: pools and sessions that take no new task, and
//! projects whose tasks stay in their inboxes, until `resume`. Kept in the
//! state so that every invocation that hands out work (scan, dispatch
//! without `--session`, free-session, a session's next task) sees it under
//! the same lock as the claim it decides.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub pools: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sessions: BTreeSet<String>,
    /// Absolute project folders, as the scan finds them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub projects: BTreeSet<PathBuf>,
}

/// What `pause` or `resume` names. Empty: everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub pools: Vec<String>,
    pub sessions: Vec<String>,
    pub projects: Vec<PathBuf>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.pools.is_empty() && self.sessions.is_empty() && self.projects.is_empty()
    }
}

/// Why a session takes no new task: it, or its pool, is paused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    Session,
    Pool(String),
}

impl Paused {
    pub fn is_empty(&self) -> bool {
        self.pools.is_empty() && self.sessions.is_empty() && self.projects.is_empty()
    }

    /// Whether `session` (of `pool`, if any) is held by a pause.
    pub fn hold(&self, session: &str, pool: Option<&str>) -> Option<Hold> {
        if self.sessions.contains(session) {
            return Some(Hold::Session);
        }
        pool.filter(|p| self.pools.contains(*p))
            .map(|p| Hold::Pool(p.to_string()))
    }

    pub fn project(&self, project: &Path) -> bool {
        self.projects.contains(project)
    }

    /// Adds what `sel` names; an empty selection is every pool of
    /// `all_pools`. Returns whether anything changed.
    pub fn pause(&mut self, sel: &Selection, all_pools: &[String]) -> bool {
        let before = self.clone();
        if sel.is_empty() {
            self.pools.extend(all_pools.iter().cloned());
        }
        self.pools.extend(sel.pools.iter().cloned());
        self.sessions.extend(sel.sessions.iter().cloned());
        self.projects.extend(sel.projects.iter().cloned());
        *self != before
    }

    /// Takes away what `sel` names; an empty selection is everything.
    pub fn resume(&mut self, sel: &Selection) -> bool {
        let before = self.clone();
        if sel.is_empty() {
            *self = Paused::default();
        }
        for p in &sel.pools {
            self.pools.remove(p);
        }
        for s in &sel.sessions {
            self.sessions.remove(s);
        }
        for p in &sel.projects {
            self.projects.remove(p);
        }
        *self != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pausing_everything_is_every_pool_and_resuming_one_keeps_the_rest() {
        let mut p = Paused::default();
        let all = ["default".to_string(), "far".to_string()];
        assert!(p.pause(&Selection::default(), &all));
        assert_eq!(
            p.hold("s1", Some("far")),
            Some(Hold::Pool("far".to_string()))
        );
        assert!(p.resume(&Selection {
            pools: vec!["far".into()],
            ..Default::default()
        }));
        assert_eq!(p.hold("s1", Some("far")), None);
        assert!(p.hold("s1", Some("default")).is_some());
        assert!(p.resume(&Selection::default()));
        assert!(p.is_empty());
        assert!(!p.resume(&Selection::default()), "nothing left to resume");
    }

    #[test]
    fn a_session_and_a_project_pause_alone() {
        let mut p = Paused::default();
        p.pause(
            &Selection {
                sessions: vec!["s2".into()],
                projects: vec!["/p/a".into()],
                ..Default::default()
            },
            &[],
        );
        assert_eq!(p.hold("s2", Some("default")), Some(Hold::Session));
        assert_eq!(p.hold("s1", Some("default")), None);
        assert!(p.project(Path::new("/p/a")));
        assert!(!p.project(Path::new("/p/b")));
        assert!(!p.pause(
            &Selection {
                sessions: vec!["s2".into()],
                ..Default::default()
            },
            &[]
        ));
    }

    #[test]
    fn an_old_state_without_pauses_reads_and_writes_none() {
        let p: Paused = serde_json::from_str("{}").unwrap();
        assert!(p.is_empty());
    }
}
