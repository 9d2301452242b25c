//! `[[agent.dialog]] choose`: a menu answered by the text of its option,
//! wherever the cursor starts and whatever the options' order, as Claude
//! Code 2.1.332 draws its trust dialog (the stand-in's `AQ_AGENT_DIALOG=menu`:
//! no numbers, the cursor on "No, exit"); an option that is not there, or a
//! cursor that does not move, fails the launch naming the dialog, with no
//! Enter pressed; each answer is in the history and on stderr.

use std::time::Duration;

use crate::env::{events_named, stderr, World};

const WAIT: Duration = Duration::from_secs(30);

fn world(choose: &str) -> World {
    let mut w = World::new(1);
    w.agent_env.insert("AQ_AGENT_DIALOG".into(), "menu".into());
    w.config(&format!(
        "[[agent.dialog]]\nname = \"folder trust\"\nmatch = \"Yes, I trust this folder\"\n\
         choose = {choose:?}\n"
    ));
    w
}

#[test]
fn a_menu_is_answered_by_the_text_of_its_option_and_the_answer_is_in_the_history() {
    let w = world("Yes, I trust this folder");
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "Trusted work.");
    w.start_pool();
    let out = w.ok(&["dispatch", task.to_str().unwrap()]);
    let got = w.wait_received(1, WAIT);
    assert!(got[0].text.contains("Trusted work."), "{got:?}");
    let err = stderr(&out);
    assert!(
        err.contains("answered the agent's folder trust dialog with `Yes, I trust this folder`"),
        "{err}"
    );
    let journal = w.journal();
    let answered = events_named(&journal, "answered");
    assert_eq!(answered.len(), 1, "{journal:?}");
    assert_eq!(answered[0]["dialog"], "folder trust");
    assert_eq!(answered[0]["option"], "Yes, I trust this folder");
    assert_eq!(answered[0]["session"], "ccl-auto-1");
    assert!(answered[0]["task"]
        .as_str()
        .unwrap()
        .ends_with("t.md.dispatched"));
    // `history` shows it in the task's life.
    let life = crate::env::stdout(&w.ok(&["history", "t.md"]));
    assert!(life.contains("answered"), "{life}");
}

#[test]
fn an_option_that_is_not_there_fails_the_launch_naming_the_dialog_and_its_options() {
    let w = world("Always trust");
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let out = w.fails(
        &["dispatch", task.to_str().unwrap()],
        3,
        "folder trust dialog",
    );
    let err = stderr(&out);
    assert!(
        err.contains(
            "has no option `Always trust` (it offers: No, exit / Yes, I trust this folder)"
        ),
        "{err}"
    );
    assert!(task.exists(), "back in its inbox");
    assert!(w.received().is_empty());
    assert!(events_named(&w.journal(), "answered").is_empty());
}

#[test]
fn a_cursor_that_does_not_land_fails_the_launch_without_enter() {
    let mut w = world("Yes, I trust this folder");
    w.agent_env.insert("AQ_AGENT_MENU_STUCK".into(), "1".into());
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let out = w.fails(&["dispatch", task.to_str().unwrap()], 3, "");
    let err = stderr(&out);
    assert!(
        err.contains(
            "the cursor did not land on `Yes, I trust this folder` in the folder trust dialog; \
             Enter was not pressed"
        ),
        "{err}"
    );
    assert!(task.exists());
    assert!(w.received().is_empty());
}

#[test]
fn key_answers_still_work_and_are_recorded_as_the_keys() {
    let mut w = World::new(1);
    w.agent_env.insert("AQ_AGENT_DIALOG".into(), "menu".into());
    w.config(
        "[[agent.dialog]]\nname = \"folder trust\"\nmatch = \"Yes, I trust this folder\"\n\
         answer = [\"Down\", \"Enter\"]\n",
    );
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "By keys.");
    w.start_pool();
    w.ok(&["dispatch", task.to_str().unwrap()]);
    w.wait_received(1, WAIT);
    let journal = w.journal();
    let answered = events_named(&journal, "answered");
    assert_eq!(answered.len(), 1, "{journal:?}");
    assert_eq!(answered[0]["option"], "Down Enter");
}

#[test]
fn choose_and_answer_together_are_a_config_error_naming_the_dialog() {
    let mut w = World::new(1);
    w.config(
        "[[agent.dialog]]\nname = \"folder trust\"\nmatch = \"Yes, I trust this folder\"\n\
         answer = [\"1\"]\nchoose = \"Yes, I trust this folder\"\n",
    );
    w.fails(&["status"], 2, "dialog `folder trust`");
}

#[test]
fn the_no_service_screen_says_what_to_do() {
    let mut w = World::new(1);
    w.agent_env.insert(
        "AQ_AGENT_EXIT".into(),
        " Unable to connect to Anthropic services".into(),
    );
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let out = w.fails(
        &["dispatch", task.to_str().unwrap()],
        3,
        "at its no service screen",
    );
    let err = stderr(&out);
    assert!(err.contains("\"hasCompletedOnboarding\": true"), "{err}");
    assert!(
        err.contains("run `claude` once by hand and log in"),
        "{err}"
    );
    assert!(!err.contains("which the config does not answer"), "{err}");
}

#[test]
fn an_unanswered_built_in_dialog_names_the_choose_that_accepts_it() {
    let mut w = World::new(1);
    w.agent_env.insert("AQ_AGENT_DIALOG".into(), "menu".into());
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    w.fails(
        &["dispatch", task.to_str().unwrap()],
        3,
        "the agent stopped at its folder trust dialog, which the config does not answer \
         ([[agent.dialog]] name = \"folder trust\", match = \"Yes, I trust this folder\", \
         choose = \"Yes, I trust this folder\" accepts it)",
    );
    assert!(task.exists());
}
