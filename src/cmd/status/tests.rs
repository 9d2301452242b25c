use super::*;

fn row(session: &str, state: &'static str, held_secs: Option<u64>) -> SessionRow {
    SessionRow {
        session: session.into(),
        kind: "pool",
        pool: Some("default".into()),
        alive: true,
        reachable: true,
        state,
        task: held_secs.map(|_| "/p/.agent-queue/inbox/x.md.dispatched".into()),
        since: Some("2026-11-24T03:14:00Z".into()),
        held_secs,
        cooldown_left: 0,
        command: Some("sh".into()),
        free: false,
        busy: None,
        paused: false,
        last_line: None,
        operator: None,
    }
}

#[test]
fn held_shows_how_long_a_busy_session_has_had_its_task() {
    let r = Report {
        pools: Vec::new(),
        accounts: Vec::new(),
        sessions: vec![
            row("a", "working", Some(11_100)),
            row("b", "launching", Some(4)),
            row("c", "idle", None),
        ],
        projects: Vec::new(),
    };
    let text = render(&r);
    let lines: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("SESSION"))
        .collect();
    let at = lines[0].find("HELD").unwrap();
    let held: Vec<&str> = lines[1..4]
        .iter()
        .map(|l| l[at..].split_whitespace().next().unwrap())
        .collect();
    assert_eq!(held, ["3h05m", "4s", "-"]);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["sessions"][0]["held_secs"], 11_100);
    assert_eq!(json["sessions"][2]["held_secs"], serde_json::Value::Null);
}
