use super::*;
use crate::tmux::Pane;
use std::path::Path;

fn config() -> Config {
    crate::config::parse(
        "[projects]\npaths=[\"/p\"]\n[pool]\nprefix=\"ccl-auto-\"\nstart=1\nsize=3\ncooldown=\"5m\"\n\
         [[dedicated]]\nsession=\"mine\"\n",
        Path::new("c.toml"),
    )
    .unwrap()
}

fn snapshot(panes: &[(&str, &str)]) -> Snapshot {
    let mut s = Snapshot::default();
    for (name, cmd) in panes {
        s.sessions.insert(
            name.to_string(),
            Pane {
                id: "%0".into(),
                pid: 1,
                mark: None,
                command: cmd.to_string(),
                mode: None,
            },
        );
    }
    s
}

#[test]
fn free_means_alive_idle_cool_and_at_a_shell() {
    let c = config();
    let snap = snapshot(&[
        ("ccl-auto-1", "bash"),
        ("ccl-auto-2", "claude"),
        ("ccl-auto-10", "bash"),
        ("mine", "bash"),
    ]);
    let state = State::default();
    assert_eq!(
        free_pool(&c, &c.pools[0], &snap, &state, 1000),
        vec!["ccl-auto-1"]
    );
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-3", 1000, Chooser::Automatic),
        Err(Busy::Missing)
    );
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-2", 1000, Chooser::Automatic),
        Err(Busy::Running("claude".into()))
    );
    assert_eq!(
        check(&c, &snap, &state, "mine", 1000, Chooser::Automatic),
        Err(Busy::Dedicated)
    );
    assert_eq!(
        check(&c, &snap, &state, "mine", 1000, Chooser::Operator),
        Ok(())
    );
}

#[test]
fn a_live_longer_name_never_stands_for_a_missing_one() {
    let c = config();
    let snap = snapshot(&[("ccl-auto-10", "bash"), ("ccl-auto-11", "bash")]);
    assert!(free_pool(&c, &c.pools[0], &snap, &State::default(), 0).is_empty());
}

#[test]
fn held_and_cooling_sessions_are_not_free() {
    let c = config();
    let snap = snapshot(&[("ccl-auto-1", "bash"), ("ccl-auto-2", "-zsh")]);
    let mut state = State::default();
    state.set("ccl-auto-1", Phase::Working, 0);
    state.entry("ccl-auto-2").last_fail = Some(1000);
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-1", 2000, Chooser::Automatic),
        Err(Busy::Held(Phase::Working))
    );
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-2", 1100, Chooser::Automatic),
        Err(Busy::Cooling(Duration::from_secs(200)))
    );
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-2", 1100, Chooser::Operator),
        Ok(()),
        "by hand ignores the cooldown"
    );
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-2", 1300, Chooser::Automatic),
        Ok(())
    );
}

#[test]
fn a_session_whose_started_agent_runs_is_not_free_whatever_its_pane_is_called() {
    let c = config();
    // A wrapper script that does not exec its agent shows as a shell.
    let mut snap = snapshot(&[("ccl-auto-1", "bash"), ("ccl-auto-2", "bash")]);
    for (name, mark) in [("ccl-auto-1", "n1 run"), ("ccl-auto-2", "n2 done 0")] {
        snap.sessions.get_mut(name).unwrap().mark = Mark::parse(mark);
    }
    let mut state = State::default();
    for (name, nonce) in [("ccl-auto-1", "n1"), ("ccl-auto-2", "n2")] {
        state.entry(name).started = Some(Started {
            pane: "%0".into(),
            pid: 1,
            nonce: nonce.into(),
        });
    }
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-1", 0, Chooser::Automatic),
        Err(Busy::Started)
    );
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-2", 0, Chooser::Automatic),
        Ok(())
    );
    // The state forgot it: the pane's word is enough.
    assert_eq!(
        check(
            &c,
            &snap,
            &State::default(),
            "ccl-auto-1",
            0,
            Chooser::Automatic
        ),
        Err(Busy::Started)
    );
    // The pane was made again (tmux restarted): the old record says
    // nothing about the new shell.
    snap.sessions.get_mut("ccl-auto-1").unwrap().pid = 2;
    snap.sessions.get_mut("ccl-auto-1").unwrap().mark = None;
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-1", 0, Chooser::Automatic),
        Ok(())
    );
}

#[test]
fn a_session_an_operator_holds_is_not_free_unless_the_operator_names_it() {
    let c = config();
    let mut snap = snapshot(&[("ccl-auto-1", "bash"), ("ccl-auto-2", "bash")]);
    snap.attached.insert("ccl-auto-1".into(), 990);
    snap.sessions.get_mut("ccl-auto-2").unwrap().mode = Some("copy-mode".into());
    let state = State::default();
    assert!(matches!(
        check(&c, &snap, &state, "ccl-auto-1", 1000, Chooser::Automatic),
        Err(Busy::Operator(Hold::Input { ago: 10, .. }))
    ));
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-2", 1000, Chooser::Automatic),
        Err(Busy::Operator(Hold::Mode("copy-mode".into())))
    );
    assert!(free_pool(&c, &c.pools[0], &snap, &state, 1000).is_empty());
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-1", 1000, Chooser::Operator),
        Ok(())
    );
    // Two minutes later the client's input is old.
    assert_eq!(
        free_pool(&c, &c.pools[0], &snap, &state, 1110),
        vec!["ccl-auto-1"]
    );
}

#[test]
fn an_account_held_near_its_limit_has_no_free_session_until_its_window_resets() {
    use crate::accounts::usage::{Known, Reading, Tenths, Window};
    let mut c = config();
    c.accounts.insert(
        c.pools[0].account.clone(),
        crate::config::AccountSettings {
            hold_at: Some(95.0),
        },
    );
    let snap = snapshot(&[("ccl-auto-1", "bash")]);
    let mut state = State::default();
    let mut k = Known::new(&c.pools[0].account);
    let five_hour = Some(Window {
        used: Tenths(960),
        resets_at: 2000,
    });
    k.record(
        &Reading {
            five_hour,
            seven_day: None,
        },
        1000,
    );
    state.usage.insert(c.pools[0].account.clone(), k);
    let busy = check(&c, &snap, &state, "ccl-auto-1", 1000, Chooser::Automatic).unwrap_err();
    assert!(
        matches!(&busy, Busy::NearLimit { hold, .. } if hold.until == 2000),
        "{busy:?}"
    );
    assert!(
        busy.to_string().contains("96% of its five-hour usage"),
        "{busy}"
    );
    assert_eq!(
        check(&c, &snap, &state, "ccl-auto-1", 2000, Chooser::Automatic),
        Ok(())
    );
}

#[test]
fn shells_are_matched_by_name() {
    let shells: Vec<String> = ["bash", "sh"].map(String::from).to_vec();
    assert!(is_shell("bash", &shells));
    assert!(is_shell("-bash", &shells));
    assert!(is_shell("/bin/sh", &shells));
    assert!(!is_shell("claude", &shells));
    assert!(!is_shell("bashful", &shells));
}
