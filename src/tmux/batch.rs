//! Screen reads of concurrent launches, gathered into one tmux call. Eight
//! launches into one server poll their panes every 20 ms each: eight tmux
//! processes per tick, on a machine that is also starting eight agents.
//! Here a read that comes while another read of the same server is under
//! way waits for it to end, and then one call reads every pane asked for
//! meanwhile. A screen is never older than its request: each comes from a
//! call started after it was asked for.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use anyhow::anyhow;

use super::{Screen, Tmux};

/// One server's reads.
#[derive(Default)]
struct Server {
    /// A call is under way.
    busy: bool,
    /// How many calls have started.
    started: u64,
    /// The targets asked for since the call under way started.
    next: Vec<String>,
    /// The last answer for each target, and the call it came from.
    answers: HashMap<String, (u64, Result<Screen, String>)>,
}

static SERVERS: Mutex<Option<HashMap<Vec<String>, Server>>> = Mutex::new(None);
static DONE: Condvar = Condvar::new();

/// The screen of `target`, read by a call that started after this was asked.
pub fn screen(tmux: &Tmux, target: &str) -> anyhow::Result<Screen> {
    let key = tmux.argv().to_vec();
    let mut all = SERVERS.lock().unwrap_or_else(|e| e.into_inner());
    // Calls that started before this request cannot answer it.
    let asked_after = {
        let s = all
            .get_or_insert_with(HashMap::new)
            .entry(key.clone())
            .or_default();
        if !s.next.iter().any(|t| t == target) {
            s.next.push(target.to_string());
        }
        s.started
    };
    loop {
        let s = all
            .get_or_insert_with(HashMap::new)
            .get_mut(&key)
            .expect("entered above");
        if let Some((call, answer)) = s.answers.get(target) {
            if *call > asked_after {
                return answer.clone().map_err(|e| anyhow!(e));
            }
        }
        if s.busy {
            all = DONE.wait(all).unwrap_or_else(|e| e.into_inner());
            continue;
        }
        // This thread makes the next call, for every target waiting.
        s.busy = true;
        s.started += 1;
        let call = s.started;
        let targets = std::mem::take(&mut s.next);
        drop(all);
        let answers = read(tmux, &targets);
        all = SERVERS.lock().unwrap_or_else(|e| e.into_inner());
        let s = all
            .get_or_insert_with(HashMap::new)
            .get_mut(&key)
            .expect("entered above");
        for (t, answer) in targets.into_iter().zip(answers) {
            s.answers.insert(t, (call, answer));
        }
        s.busy = false;
        DONE.notify_all();
    }
}

/// Reads `targets` in one call; when it fails (one pane is gone and tmux
/// stops at the failing command), each on its own, so that each gets its
/// own answer.
fn read(tmux: &Tmux, targets: &[String]) -> Vec<Result<Screen, String>> {
    let one = |t: &str| tmux.screen_now(t).map_err(|e| format!("{e:#}"));
    if targets.len() == 1 {
        return vec![one(&targets[0])];
    }
    match tmux.screens_now(targets) {
        Ok(screens) => screens.into_iter().map(Ok).collect(),
        Err(_) => targets.iter().map(|t| one(t)).collect(),
    }
}
