use super::*;
use std::path::Path;

fn entries(lines: &[&str]) -> Vec<Entry> {
    lines
        .iter()
        .map(|l| Entry::parse(l.as_bytes()).unwrap())
        .collect()
}

const NOW: u64 = 1_795_490_040; // 2026-11-24T03:14:00Z

const LIFE: [&str; 6] = [
    r#"{"time":"2026-11-24T03:13:55Z","event":"submitted","task":"/p/.agent-queue/inbox/fix.md","project":"/p","priority":"high"}"#,
    r#"{"time":"2026-11-24T03:14:00Z","event":"dispatched","session":"ccl-auto-1","task":"/p/.agent-queue/inbox/fix.md.dispatched","project":"/p","priority":"high","model":"sonnet"}"#,
    r#"{"time":"2026-11-24T03:14:02Z","event":"received","task":"/p/.agent-queue/inbox/fix.md.dispatched","session":"ccl-auto-1","agent_session_id":"5c1e","transcript_path":"/t/5c1e.jsonl"}"#,
    r#"{"time":"2026-11-24T03:20:02Z","event":"done","task":"/p/.agent-queue/inbox/fix.md.dispatched","session":"ccl-auto-1","agent_session_id":"5c1e","message":"Fixed the redirect.\nTests pass."}"#,
    r#"{"time":"2026-11-24T03:20:03Z","event":"idle","session":"ccl-auto-1","task":"/p/.agent-queue/inbox/fix.md.dispatched"}"#,
    r#"{"time":"2026-11-24T03:30:00Z","event":"dispatched","session":"ccl-auto-2","task":"/q/.agent-queue/inbox/other.md.dispatched","project":"/q","priority":"low","model":"sonnet"}"#,
];

#[test]
fn since_reads_times_dates_and_spans_back_from_now() {
    assert_eq!(parse_since("2026-11-24T03:14:00Z", 0).unwrap(), NOW);
    assert_eq!(parse_since("2026-11-24T04:14:00+01:00", 0).unwrap(), NOW);
    assert_eq!(
        parse_since("2026-11-24", 0).unwrap(),
        NOW - (3 * 3600 + 14 * 60)
    );
    assert_eq!(parse_since("2h", NOW).unwrap(), NOW - 7200);
    assert_eq!(parse_since("30m", NOW).unwrap(), NOW - 1800);
    assert_eq!(parse_since("1d", NOW).unwrap(), NOW - 86_400);
    assert_eq!(parse_since("90s", NOW).unwrap(), NOW - 90);
    assert_eq!(parse_since("100000d", NOW).unwrap(), 0);
    for bad in ["yesterday", "2026", "12", "2026-13-01", "5 parsecs", ""] {
        let err = parse_since(bad, NOW).unwrap_err();
        assert!(crate::error::is_bad_input(&err), "{bad}");
        assert!(format!("{err}").contains(&format!("`{bad}`")), "{err}");
    }
}

#[test]
fn the_table_shows_time_event_session_task_name_and_detail() {
    let all = entries(&LIFE);
    let refs: Vec<&Entry> = all.iter().collect();
    let text = render_table(&refs);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["TIME", "EVENT", "SESSION", "TASK", "DETAIL"]);
    let cols: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        cols,
        [
            "2026-11-24T03:14:00Z",
            "dispatched",
            "ccl-auto-1",
            "fix.md.dispatched",
            "high,",
            "model",
            "sonnet"
        ]
    );
    assert!(
        lines[1].contains("submitted") && lines[1].contains(" - "),
        "{text}"
    );
    assert!(
        lines[4].ends_with("Fixed the redirect. Tests pass."),
        "{text}"
    );
    // Columns line up.
    let at = lines[0].find("EVENT").unwrap();
    assert!(lines.iter().skip(1).all(|l| l[at - 2..at] == *"  "));
}

#[test]
fn steps_reported_in_one_second_are_put_in_their_order() {
    let all = entries(&[
        r#"{"time":"2026-11-24T03:13:59Z","event":"submitted","task":"/p/i/x.md","project":"/p","priority":"high"}"#,
        r#"{"time":"2026-11-24T03:14:00Z","event":"idle","session":"s","task":"/p/i/x.md.dispatched"}"#,
        r#"{"time":"2026-11-24T03:14:00Z","event":"idle","session":"t","task":"/p/i/y.md.dispatched"}"#,
        r#"{"time":"2026-11-24T03:14:00Z","event":"received","session":"s","task":"/p/i/x.md.dispatched"}"#,
        r#"{"time":"2026-11-24T03:14:00Z","event":"dispatched","session":"s","task":"/p/i/x.md.dispatched","project":"/p","priority":"high","model":"m"}"#,
        r#"{"time":"2026-11-24T03:14:00Z","event":"dispatched","session":"u","task":"/p/i/z.md.dispatched","project":"/p","priority":"high","model":"m"}"#,
        r#"{"time":"2026-11-24T03:14:01Z","event":"idle","session":"u","task":"/p/i/z.md.dispatched"}"#,
    ]);
    let mut refs: Vec<&Entry> = all.iter().collect();
    in_order(&mut refs);
    let events: Vec<(&str, &str)> = refs.iter().map(|e| (e.name(), e.str("session"))).collect();
    assert_eq!(
        events,
        [
            ("submitted", ""),
            ("dispatched", "s"),
            ("received", "s"),
            ("idle", "t"),
            ("idle", "s"),
            ("dispatched", "u"),
            ("idle", "u")
        ]
    );
}

#[test]
fn a_dispatch_reported_after_its_receipt_goes_before_it() {
    let all = entries(&[
        r#"{"time":"2026-11-24T03:13:59Z","event":"received","session":"s","task":"/p/i/x.md.dispatched"}"#,
        r#"{"time":"2026-11-24T03:13:59Z","event":"failed","session":"s","task":"/p/i/x.md.dispatched","reason":"r"}"#,
        r#"{"time":"2026-11-24T03:14:05Z","event":"received","session":"s","task":"/p/i/x.md.dispatched"}"#,
        r#"{"time":"2026-11-24T03:14:05Z","event":"submitted","task":"/p/i/y.md","project":"/p","priority":"high"}"#,
        r#"{"time":"2026-11-24T03:14:06Z","event":"done","session":"s","task":"/p/i/x.md.dispatched"}"#,
        r#"{"time":"2026-11-24T03:14:06Z","event":"dispatched","session":"s","task":"/p/i/x.md.dispatched","project":"/p","priority":"high","model":"m"}"#,
        r#"{"time":"2026-11-24T03:14:07Z","event":"idle","session":"s","task":"/p/i/x.md.dispatched"}"#,
    ]);
    let mut refs: Vec<&Entry> = all.iter().collect();
    in_order(&mut refs);
    let events: Vec<&str> = refs.iter().map(|e| e.name()).collect();
    assert_eq!(
        events,
        [
            "received",
            "failed",
            "dispatched",
            "received",
            "submitted",
            "done",
            "idle"
        ]
    );
    let x: Vec<&Entry> = refs
        .into_iter()
        .filter(|e| e.str("task").contains("x.md"))
        .collect();
    let life = render_life(&x[2..], &[]);
    let offsets: Vec<&str> = life
        .lines()
        .skip(1)
        .take(4)
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(offsets, ["+0s", "+0s", "+0s", "+1s"], "{life}");
}

#[test]
fn long_details_are_cut_on_one_line() {
    let long = "word ".repeat(40);
    let s = shorten(&format!("{long}\nsecond line"), DETAIL_WIDTH);
    assert_eq!(s.chars().count(), DETAIL_WIDTH);
    assert!(s.ends_with('…') && !s.contains('\n'));
    assert_eq!(shorten(" a\n b ", DETAIL_WIDTH), "a b");
}

#[test]
fn one_tasks_life_has_offsets_from_its_dispatch_and_a_summary() {
    let all = entries(&LIFE);
    let m = TaskMatch::new(Path::new("/p/.agent-queue/inbox/fix.md.dispatched"));
    let mine: Vec<&Entry> = all
        .iter()
        .filter(|e| e.path("task").is_some_and(|t| m.matches(&t)))
        .collect();
    assert_eq!(mine.len(), 5);
    assert!(single_task(&mine));
    let text = render_life(&mine, &[]);
    assert!(text.starts_with("/p/.agent-queue/inbox/fix.md\n"), "{text}");
    for (event, off) in [
        ("submitted", "-5s"),
        ("dispatched", "+0s"),
        ("received", "+2s"),
        ("done", "+6m02s"),
        ("idle", "+6m03s"),
    ] {
        let line = text.lines().find(|l| l.contains(event)).unwrap();
        assert!(line.contains(&format!(" {off} ")), "{event}: {line}");
    }
    for (key, value) in [
        ("session", "ccl-auto-1"),
        ("agent session id", "5c1e"),
        ("transcript", "/t/5c1e.jsonl"),
        ("received after", "2s"),
        ("done after", "6m02s"),
    ] {
        let line = text.lines().find(|l| l.starts_with(key)).unwrap();
        assert!(line.ends_with(&format!(" {value}")), "{key}: {line}");
    }
    assert!(
        text.ends_with("last message:\n  Fixed the redirect.\n  Tests pass.\n"),
        "{text}"
    );
}

#[test]
fn a_task_is_matched_by_any_of_its_names_or_its_file_name() {
    let t = Path::new("/p/.agent-queue/inbox/x.md.2.dispatched");
    for given in [
        "/p/.agent-queue/inbox/x.md",
        "/p/.agent-queue/inbox/x.md.dispatched",
        "/p/.agent-queue/inbox/x.md.2.dispatched",
        "/p/.agent-queue/inbox/x.md.rejected",
        "x.md",
        "x.md.dispatched",
    ] {
        assert!(TaskMatch::new(Path::new(given)).matches(t), "{given}");
    }
    for other in [
        "/q/.agent-queue/inbox/x.md",
        "y.md",
        "/p/.agent-queue/inbox/xx.md",
    ] {
        assert!(!TaskMatch::new(Path::new(other)).matches(t), "{other}");
    }
}

#[test]
fn two_tasks_of_one_name_are_not_one_life() {
    let all = entries(&[
        r#"{"time":"2026-11-24T03:14:00Z","event":"dispatched","session":"s","task":"/p/i/x.md.dispatched","project":"/p","priority":"high","model":"m"}"#,
        r#"{"time":"2026-11-24T03:15:00Z","event":"dispatched","session":"s","task":"/p/i/x.md.2.dispatched","project":"/p","priority":"high","model":"m"}"#,
    ]);
    let refs: Vec<&Entry> = all.iter().collect();
    assert!(!single_task(&refs));
    assert!(single_task(&refs[..1]));
}

#[test]
fn filters_by_session_project_and_since() {
    let all = entries(&LIFE);
    let count = |f: Filter| all.iter().filter(|e| f.matches(e)).count();
    let none = || Filter {
        task: None,
        session: None,
        project: None,
        since: None,
    };
    assert_eq!(count(none()), 6);
    assert_eq!(
        count(Filter {
            session: Some("ccl-auto-2".into()),
            ..none()
        }),
        1
    );
    assert_eq!(
        count(Filter {
            project: Some("/p".into()),
            ..none()
        }),
        5
    );
    assert_eq!(
        count(Filter {
            since: Some(NOW + 1),
            ..none()
        }),
        4
    );
}
