use super::*;

fn ok(text: &str) -> Task {
    parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

fn err(bytes: &[u8]) -> TaskError {
    parse(bytes).expect_err("should be refused")
}

#[test]
fn full_header() {
    let t = ok("---\ntitle: Fix the login redirect\npriority: high\ntags: [auth, bug]\nneeds_claude_code: true\n---\nThe body.\n");
    assert_eq!(t.title.as_deref(), Some("Fix the login redirect"));
    assert_eq!(t.priority, Priority::High);
    assert_eq!(t.tags, vec!["auth", "bug"]);
    assert!(t.needs_claude_code);
    assert_eq!(t.body, "The body.");
}

#[test]
fn no_header_is_all_body_with_defaults() {
    let t = ok("  just do it\n\n");
    assert_eq!(
        t,
        Task {
            body: "just do it".into(),
            ..Task::default()
        }
    );
}

#[test]
fn priority_is_case_insensitive() {
    assert_eq!(
        ok("---\npriority: CRITICAL\n---\nx").priority,
        Priority::Critical
    );
    assert_eq!(ok("---\npriority: Low\n---\nx").priority, Priority::Low);
}

#[test]
fn null_and_empty_headers_mean_defaults() {
    assert_eq!(
        ok("---\n---\nbody"),
        Task {
            body: "body".into(),
            ..Task::default()
        }
    );
    assert_eq!(
        ok("---\n# only a comment\n---\nbody").priority,
        Priority::Default
    );
    let t = ok("---\ntitle:\npriority:\ntags:\n---\nbody");
    assert_eq!(
        (t.title, t.priority, t.tags.len()),
        (None, Priority::Default, 0)
    );
}

#[test]
fn unknown_keys_are_ignored() {
    assert_eq!(ok("---\nowner: ci-bot\nx-trace: [1, 2]\n---\nb").body, "b");
}

#[test]
fn crlf_and_bom_are_accepted() {
    let t = ok("\u{feff}---\r\ntitle: T\r\npriority: low\r\n---\r\nline one\r\nline two\r\n");
    assert_eq!(t.title.as_deref(), Some("T"));
    assert_eq!(t.priority, Priority::Low);
    assert_eq!(t.body, "line one\nline two");
}

#[test]
fn empty_file_has_empty_body() {
    assert_eq!(ok(""), Task::default());
}

#[test]
fn a_rule_in_the_body_is_body() {
    let t = ok("---\ntitle: T\n---\nabove\n---\nbelow\n");
    assert_eq!(t.body, "above\n---\nbelow");
}

#[test]
fn unterminated_header_is_an_error_not_body() {
    let e = err(b"---\ntitle: T\nbody without a closing fence\n");
    assert_eq!(e.line, Some(1));
    assert!(e.message.contains("unterminated"), "{e}");
    assert!(err(b"---").message.contains("unterminated"));
}

#[test]
fn invalid_yaml_names_its_line() {
    let e = err(b"---\ntitle: T\ntags: [a, b\n---\nbody\n");
    assert!(e.message.starts_with("invalid header"), "{e}");
    assert!(matches!(e.line, Some(3..=5)), "{e:?}");
}

#[test]
fn wrong_type_names_its_line() {
    let e = err(b"---\ntitle: T\nneeds_claude_code: maybe\n---\nbody\n");
    assert_eq!(e.line, Some(3), "{e}");
    let e = err(b"---\ntags: auth\n---\nbody\n");
    assert_eq!(e.line, Some(2), "{e}");
    let e = err(b"---\n- a list\n---\nbody\n");
    assert!(e.message.contains("mapping"), "{e}");
}

#[test]
fn unknown_priority_names_its_line() {
    let e = err(b"---\ntitle: T\npriority: urgent\n---\nbody\n");
    assert_eq!(e.line, Some(3));
    assert!(e.message.contains("urgent"), "{e}");
}

#[test]
fn non_utf8_is_refused_with_its_line() {
    let e = err(b"---\ntitle: ok\n---\nline\n\xff\xfe\n");
    assert_eq!(e.line, Some(5));
    assert!(e.message.contains("UTF-8"));
}

#[test]
fn over_one_mib_is_refused() {
    let big = vec![b'a'; MAX_TASK_BYTES as usize + 1];
    assert!(err(&big).message.contains("1 MiB"));
    assert!(parse(&vec![b'a'; MAX_TASK_BYTES as usize]).is_ok());
}

#[test]
fn render_reads_back() {
    let task = Task {
        title: Some("a: \"quoted\" # title".into()),
        priority: Priority::Critical,
        tags: vec!["x y".into(), "- z".into()],
        needs_claude_code: false,
        pool: Some("max-b".into()),
        isolation: Some(crate::queue::worktree::Isolation::Worktree),
        body: "---\nbody with a rule\n---".into(),
    };
    assert_eq!(ok(&render(&task)), task);
    assert_eq!(ok(&render(&Task::default())), Task::default());
}

#[test]
fn lone_carriage_returns_are_line_ends_too() {
    let t = ok("x\r\r\ny\rz");
    assert_eq!(t.body, "x\n\ny\nz");
    assert_eq!(ok(&render(&t)), t);
}

#[test]
fn deep_nesting_and_huge_headers_are_refused_quickly() {
    let deep = format!("---\ntags: {}\n---\nx", "[".repeat(20_000));
    let start = std::time::Instant::now();
    let e = err(deep.as_bytes());
    assert!(start.elapsed() < std::time::Duration::from_millis(100));
    assert!(e.message.contains("nested deeper"), "{e}");
    let huge = format!("---\ntitle: {}\n---\nx", "a".repeat(70 * 1024));
    assert!(err(huge.as_bytes()).message.contains("64 KiB"));
    let shallow = format!("---\nx-extra: {}{}\n---\nx", "[".repeat(10), "]".repeat(10));
    assert_eq!(ok(&shallow).body, "x", "ten levels are fine");
}

#[test]
fn isolation_is_read_and_a_wrong_one_names_its_line() {
    use crate::queue::worktree::Isolation;
    assert_eq!(
        ok("---\nisolation: Worktree\n---\nx").isolation,
        Some(Isolation::Worktree)
    );
    assert_eq!(
        ok("---\nisolation: none\n---\nx").isolation,
        Some(Isolation::None)
    );
    assert_eq!(ok("x").isolation, None);
    let e = parse(b"---\ntitle: t\nisolation: branch\n---\nx").unwrap_err();
    assert_eq!(e.line, Some(3));
    assert!(
        e.message.contains("unknown isolation `branch`"),
        "{}",
        e.message
    );
}

#[test]
fn a_near_miss_of_a_known_key_is_an_error_naming_both_and_other_keys_pass() {
    let e = err(b"---\ntitle: x\nprioirty: high\n---\nbody\n");
    assert_eq!(e.line, Some(3));
    assert!(
        e.message
            .contains("unknown header key `prioirty`: did you mean `priority`?"),
        "{e}"
    );
    for (key, meant) in [
        ("titel", "title"),
        ("tag", "tags"),
        ("need_claude_code", "needs_claude_code"),
        ("pools", "pool"),
    ] {
        let e = err(format!("---\n{key}: x\n---\nbody\n").as_bytes());
        assert!(
            e.message.contains(&format!("did you mean `{meant}`")),
            "{e}"
        );
        assert_eq!(e.line, Some(2));
    }
    let t = ok("---\nauthor: me\nstatus: open\npriority: low\n---\nbody\n");
    assert_eq!(t.priority, Priority::Low);
}

#[test]
fn a_value_the_yaml_emitter_writes_unreadably_goes_double_quoted() {
    // The emitter ends a block scalar at a trailing U+2028 and runs the
    // closing `---` into it.
    let t = Task {
        title: Some("a \"quoted\" \\ title\u{85}".into()),
        priority: Priority::Critical,
        tags: vec!["x\u{2029}".into(), "\u{feff}y".into()],
        pool: Some("\n!\u{2028}".into()),
        ..Task::default()
    };
    let file = render(&t);
    assert!(file.contains("pool: \"\\n!\\u2028\"\n"), "{file}");
    assert_eq!(parse(file.as_bytes()), Ok(t));
    // A plain one keeps the emitter's plain form.
    let plain = Task {
        pool: Some("fast".into()),
        ..Task::default()
    };
    assert!(render(&plain).contains("pool: fast\n"));
}
