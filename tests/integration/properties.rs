//! Property tests of the two pure parts the rest relies on: a task survives
//! `render` then `parse`, and `shell::quote` hands any string back exactly
//! from a real shell (`sh`; and `fish`, in tests `#[ignore]`d for needing it,
//! which `.ci/run` installs and runs).
//!
//! What a task file cannot carry, found by generating far wider than below
//! (any `char`, 20 000 cases each for title, tags and body) and kept out of
//! the generators on purpose:
//! - a title that is empty or all whitespace (`str::trim`) parses back as no
//!   title, by design; every other title round-trips, newlines, `\r`, NUL,
//!   `---` lines, `#`, quotes, YAML keywords and U+2028 included;
//! - a body is trimmed, by design;
//! - a body holding `\r` comes back with `\n`: the parser reads CRLF and a
//!   lone CR as line ends, so a CR is not generated in a body.
//!
//! Tags carry any string. Failures are not persisted to a regressions file;
//! proptest prints the shrunk case.

use std::process::Command;

use agent_queue::queue::task::{parse, render, Priority, Task};
use agent_queue::queue::worktree::Isolation;
use agent_queue::shell::quote;
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::env::expect_exit;

/// Mostly printable ASCII, often a character YAML or a shell treats
/// specially, sometimes any `char` at all.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range(' ', '~'),
        3 => proptest::sample::select(vec![
            '\n', '\r', '\t', ' ', '\'', '"', '\\', ':', '#', '-', '|', '>', '{', '}', '[', ']',
            '&', '*', '!', '%', '@', '`', '$', '?', ',', '~', ';', '(', ')', '<', '=',
            '\u{85}', '\u{a0}', '\u{feff}', '\u{2028}', '\u{1b}', 'é', '漢', '🦀',
        ]),
        1 => any::<char>(),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any_char(), 0..max).prop_map(String::from_iter)
}

/// Whole lines that look like a header fence or YAML, spliced into text.
fn lines(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => text(24),
            1 => proptest::sample::select(vec![
                "---", "--- ", "...", "title: x", "priority: high", "# comment", "- item", "",
            ])
            .prop_map(String::from),
        ],
        0..max,
    )
    .prop_map(|l| l.join("\n"))
}

fn task() -> impl Strategy<Value = Task> {
    let title = proptest::option::of(
        lines(3).prop_filter("a blank title parses as none", |t| !t.trim().is_empty()),
    );
    let body = lines(6)
        .prop_map(|b| b.trim().to_string())
        .prop_filter("a CR in a body is a line end, read as \\n", |b| {
            !b.contains('\r')
        });
    (
        title,
        proptest::sample::select(Priority::ALL.to_vec()),
        proptest::collection::vec(text(12), 0..4),
        any::<bool>(),
        proptest::option::of(
            text(12).prop_filter("a blank pool parses as none", |p| !p.trim().is_empty()),
        ),
        body,
        proptest::option::of(proptest::sample::select(vec![
            Isolation::None,
            Isolation::Worktree,
        ])),
    )
        .prop_map(
            |(title, priority, tags, needs_claude_code, pool, body, isolation)| Task {
                title,
                priority,
                tags,
                needs_claude_code,
                pool,
                isolation,
                body,
            },
        )
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    #[test]
    fn a_rendered_task_parses_back_to_itself(t in task()) {
        let file = render(&t);
        let back = parse(file.as_bytes());
        prop_assert_eq!(back, Ok(t), "rendered as {:?}", file);
    }
}

#[test]
fn what_a_task_file_cannot_carry_is_normalised_as_documented() {
    let blank_title = Task {
        title: Some(" \t\n".into()),
        body: "b".into(),
        ..Task::default()
    };
    assert_eq!(parse(render(&blank_title).as_bytes()).unwrap().title, None);
    let padded_body = Task {
        body: "\n  indented\r\nbody  \n".into(),
        ..Task::default()
    };
    assert_eq!(
        parse(render(&padded_body).as_bytes()).unwrap().body,
        "indented\nbody"
    );
}

/// `printf %s WORD` through `shell -c`, with the word quoted by `quote`.
fn through(shell: &str, args: &[&str], s: &str) -> String {
    let script = format!("printf %s {}", quote(s));
    let out = Command::new(shell)
        .args(args)
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("running {shell}: {e}"));
    let what = format!("{shell} -c {script:?}");
    expect_exit(&what, &out, 0, "", String::new);
    String::from_utf8(out.stdout).expect("printf echoes UTF-8 back")
}

const WHOLE_WORDS: &[&str] = &[
    "%self", "%1", "%", "~", "~root", "~/p", "-n", "--", "a=b", "*", "?", "[a]", "{a,b}", "$HOME",
    "$", "!", "#", "a#b", "a b", "", "it's", "\\", "\\'",
];

/// Argv cannot hold NUL, so neither can a word typed into a shell.
fn word() -> impl Strategy<Value = String> {
    let chars = proptest::collection::vec(
        any_char().prop_filter("no NUL in argv", |&c| c != '\0'),
        0..24,
    )
    .prop_map(String::from_iter);
    let whole = proptest::sample::select(WHOLE_WORDS).prop_map(String::from);
    prop_oneof![6 => chars, 1 => whole]
}

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    #[test]
    fn sh_reads_a_quoted_word_back_exactly(s in word()) {
        prop_assert_eq!(through("sh", &[], &s), s);
    }

    #[test]
    #[ignore = "needs fish"]
    fn fish_reads_a_quoted_word_back_exactly(s in word()) {
        prop_assert_eq!(through("fish", &["--no-config"], &s), s);
    }
}

/// Words a shell treats specially as a whole, which random characters
/// rarely spell: fish 3 expands a bare `%self` to its PID, `~` is a home
/// directory, `-n` an option to a careless `echo`.
#[test]
fn whole_words_a_shell_expands_come_back_literally() {
    for s in WHOLE_WORDS {
        assert_eq!(through("sh", &[], s), *s, "sh, quoted as {}", quote(s));
    }
}

#[test]
#[ignore = "needs fish"]
fn whole_words_fish_expands_come_back_literally() {
    for s in WHOLE_WORDS {
        let back = through("fish", &["--no-config"], s);
        assert_eq!(back, *s, "fish, quoted as {}", quote(s));
    }
}
