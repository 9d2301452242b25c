use super::*;

const NBSP: &str = "\u{a0}";

fn at(s: &str) -> Zoned {
    s.parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A Wednesday morning in Berlin: 2026-07-15 10:00 CEST, 08:00 UTC.
fn berlin() -> Zoned {
    at("2026-07-15T10:00:00[Europe/Berlin]")
}

fn reset(text: &str, now: &Zoned) -> Option<String> {
    reset_time(text, now).map(|t| t.to_string())
}

/// Claude Code 2.1.197's screen at a subscription's session limit, as
/// captured offline (docs/real-agent-notes.md): the limit
/// line, a spinner's last frame, the `/rate-limit-options` it types
/// itself, then its menu.
const REAL_SESSION_LIMIT: &str =
    "❯ Say hello.\n  ⎿ \u{a0}You've hit your session limit · resets 3:17am (UTC)\n\n\
    ✻ Cogitated for 0s\n\n❯ /rate-limit-options\n\n\
    ────────────────────────────────────────────────────────────────\n  \
    What do you want to do?\n\n  ❯ 1. Stop and wait for limit to reset\n    \
    2. Upgrade your plan\n\n  Enter to confirm · Esc to cancel\n";

#[test]
fn the_real_limit_screen_gives_its_limit_line_past_the_command_it_typed() {
    let line = Patterns::default().find(REAL_SESSION_LIMIT);
    assert_eq!(
        line,
        Some("You've hit your session limit · resets 3:17am (UTC)")
    );
    let now = at("2026-11-25T03:05:40[UTC]");
    assert_eq!(
        reset(line.unwrap(), &now).as_deref(),
        Some("2026-11-25T03:17:00Z")
    );
}

#[test]
fn the_api_key_spinner_gives_the_reset_in_its_parentheses() {
    let now = berlin();
    assert_eq!(
        reset(
            "✻ Session limit reached · Retrying in 26s (12:30pm) · attempt 1/10",
            &now
        )
        .as_deref(),
        Some("2026-07-15T10:30:00Z"),
        "12:30pm local, Berlin (UTC+2)"
    );
    assert_eq!(
        reset(
            "Session limit reached · Retrying in 1s (3:18am) · attempt 1/10",
            &now
        )
        .as_deref(),
        Some("2026-07-16T01:18:00Z"),
        "already past today: tomorrow"
    );
}

#[test]
fn every_quoted_text_resets_at_its_instant() {
    let now = berlin();
    let cases = [
        (
            "Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).",
            "2026-07-15T15:00:00Z",
        ),
        ("Claude AI usage limit reached|1755615600", "2025-08-19T15:00:00Z"),
        // No zone: Berlin's; 3am is past, so tomorrow's.
        ("5-hour limit reached ∙ resets 3am", "2026-07-16T01:00:00Z"),
        // 04:00 in Toronto: 2am is past.
        (
            "5-hour limit reached · resets 2am (America/Toronto) · /upgrade to Max 20x or turn on /extra-usage",
            "2026-07-16T06:00:00Z",
        ),
        // After Berlin's clocks went back on Oct 25: CET, +01.
        ("Opus weekly limit reached ∙ resets Oct 31, 9am", "2026-10-31T08:00:00Z"),
        ("You've hit your limit · resets 2am (Europe/Berlin)", "2026-07-16T00:00:00Z"),
        (
            "You've hit your session limit · resets 10:30pm (Europe/Berlin)",
            "2026-07-15T20:30:00Z",
        ),
        ("You've hit your weekly limit · resets Jul 31, 2am (UTC)", "2026-07-31T02:00:00Z"),
        // May 5 is past this year: next year's, in EDT.
        (
            "You've hit your weekly limit · resets May 5 at 9pm (America/New_York)",
            "2027-05-06T01:00:00Z",
        ),
        ("…resets May 5 at 9pm (America/New_York)", "2027-05-06T01:00:00Z"),
        ("You're out of extra usage · resets 3pm", "2026-07-15T13:00:00Z"),
        (
            "You've hit your weekly limit · resets Nov 27, 11:41pm (UTC)",
            "2026-11-27T23:41:00Z",
        ),
        (
            "⎿  You've hit your session limit · resets 12:32am (UTC)",
            "2026-07-16T00:32:00Z",
        ),
        ("Weekly limit reached · resets Dec 2, 7pm (Europe/Moscow) ·", "2026-12-02T16:00:00Z"),
        ("You've hit your limit · resets Feb 16, 11am (Europe/Berlin)", "2027-02-16T10:00:00Z"),
        ("Session limit reached ∙ resets 9:30pm", "2026-07-15T19:30:00Z"),
        ("Claude usage limit reached. Your limit will reset at 1pm (Etc/GMT+5).", "2026-07-15T18:00:00Z"),
        ("You've hit your session limit · resets 3:20am (Asia/Calcutta)", "2026-07-15T21:50:00Z"),
    ];
    for (text, want) in cases {
        assert_eq!(reset(text, &now).as_deref(), Some(want), "{text}");
    }
}

#[test]
fn the_session_limit_of_2_1_197_resets_in_minutes() {
    let now = at("2026-07-15T00:20:00[UTC]");
    assert_eq!(
        reset("You've hit your session limit · resets 12:32am (UTC)", &now).as_deref(),
        Some("2026-07-15T00:32:00Z")
    );
}

#[test]
fn curly_apostrophes_and_either_dot_read_alike() {
    let now = berlin();
    let want = Some("2026-07-16T00:00:00Z".to_string());
    for text in [
        "You've hit your limit · resets 2am (Europe/Berlin)",
        "You’ve hit your limit · resets 2am (Europe/Berlin)",
        "You've hit your limit ∙ resets 2am (Europe/Berlin)",
        "You’ve hit your limit ∙ resets 2AM (Europe/Berlin)",
        "You've hit your limit · resets 2 a.m. (Europe/Berlin)",
    ] {
        assert_eq!(reset(text, &now), want, "{text}");
    }
    assert_eq!(
        reset("You’re out of extra usage ∙ resets 3pm", &now),
        reset("You're out of extra usage · resets 3pm", &now)
    );
}

#[test]
fn a_time_already_past_today_is_tomorrows() {
    let now = at("2026-07-15T14:00:00[Europe/Berlin]");
    assert_eq!(
        reset("You've hit your session limit · resets 9am", &now).as_deref(),
        Some("2026-07-16T07:00:00Z")
    );
    assert_eq!(
        reset("You've hit your session limit · resets 2:01pm", &now).as_deref(),
        Some("2026-07-15T12:01:00Z")
    );
    // Over midnight into a new month and year.
    let eve = at("2026-12-31T23:00:00[UTC]");
    assert_eq!(
        reset("resets 1am (UTC)", &eve).as_deref(),
        Some("2027-01-01T01:00:00Z")
    );
}

#[test]
fn a_time_just_past_is_that_time_not_tomorrows() {
    // Shown as 12:32am for 00:32:40, read at 00:33: the reset, not a day's wait.
    let line = "You've hit your session limit · resets 12:32am (UTC)";
    assert_eq!(
        reset(line, &at("2026-07-15T00:33:00[UTC]")).as_deref(),
        Some("2026-07-15T00:32:00Z")
    );
    assert_eq!(
        reset(line, &at("2026-07-15T00:38:00[UTC]")).as_deref(),
        Some("2026-07-16T00:32:00Z")
    );
}

#[test]
fn a_date_already_past_this_year_is_next_years() {
    let now = at("2026-07-15T10:00:00[UTC]");
    assert_eq!(
        reset(
            "You've hit your weekly limit · resets Jul 14, 2am (UTC)",
            &now
        )
        .as_deref(),
        Some("2027-07-14T02:00:00Z")
    );
    assert_eq!(
        reset(
            "You've hit your weekly limit · resets Jul 15, 11am (UTC)",
            &now
        )
        .as_deref(),
        Some("2026-07-15T11:00:00Z")
    );
    assert_eq!(
        reset("resets Jan 2, 9am (UTC)", &at("2026-12-30T12:00:00[UTC]")).as_deref(),
        Some("2027-01-02T09:00:00Z")
    );
    // Feb 29 waits for a leap year.
    assert_eq!(
        reset("resets Feb 29, 9am (UTC)", &now).as_deref(),
        Some("2028-02-29T09:00:00Z")
    );
}

#[test]
fn without_a_zone_the_time_is_nows_zone() {
    let text = "5-hour limit reached ∙ resets 3pm";
    assert_eq!(
        reset(text, &at("2026-07-15T10:00:00[Europe/Berlin]")).as_deref(),
        Some("2026-07-15T13:00:00Z")
    );
    assert_eq!(
        reset(text, &at("2026-07-15T10:00:00[America/Los_Angeles]")).as_deref(),
        Some("2026-07-15T22:00:00Z")
    );
    // "Today" is the zone's today: 23:30 UTC is already tomorrow in Tokyo.
    assert_eq!(
        reset(
            "resets 9am",
            &at("2026-07-15T23:30:00+00:00[UTC]").with_time_zone(tz("Asia/Tokyo"))
        )
        .as_deref(),
        Some("2026-07-16T00:00:00Z")
    );
}

#[test]
fn a_named_zone_wins_over_nows_zone() {
    let text = "You've hit your limit · resets 3pm (America/Los_Angeles)";
    assert_eq!(
        reset(text, &berlin()),
        reset(text, &at("2026-07-15T01:00:00[America/Los_Angeles]"))
    );
    assert_eq!(
        reset(text, &berlin()).as_deref(),
        Some("2026-07-15T22:00:00Z")
    );
}

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

#[test]
fn new_york_spring_forward_takes_the_earlier_reading() {
    // 2026-03-08: 2:00 EST jumps to 3:00 EDT; 2:30 never shows on a clock.
    let now = at("2026-03-07T12:00:00[America/New_York]");
    assert_eq!(
        reset("resets Mar 8, 2:30am (America/New_York)", &now).as_deref(),
        Some("2026-03-08T06:30:00Z")
    );
    let night = at("2026-03-08T00:30:00[America/New_York]");
    assert_eq!(
        reset(
            "You've hit your session limit · resets 2:30am (America/New_York)",
            &night
        )
        .as_deref(),
        Some("2026-03-08T06:30:00Z")
    );
    // Past the change, the day's times are EDT.
    assert_eq!(
        reset("resets 4am (America/New_York)", &night).as_deref(),
        Some("2026-03-08T08:00:00Z")
    );
}

#[test]
fn new_york_fall_back_takes_the_first_then_the_second() {
    // 2026-11-01: 2:00 EDT goes back to 1:00 EST; 1:30 happens twice.
    let line = "You've hit your session limit · resets 1:30am (America/New_York)";
    let before = at("2026-11-01T00:10:00-04:00[America/New_York]");
    assert_eq!(
        reset(line, &before).as_deref(),
        Some("2026-11-01T05:30:00Z")
    );
    // 1:45 EDT: the first 1:30 is over, the second (EST) is still to come.
    let between = at("2026-11-01T01:45:00-04:00[America/New_York]");
    assert_eq!(
        reset(line, &between).as_deref(),
        Some("2026-11-01T06:30:00Z")
    );
    // A date across the change: 5pm EST.
    let october = at("2026-10-20T12:00:00[America/New_York]");
    assert_eq!(
        reset(
            "You've hit your weekly limit · resets Nov 2, 5pm (America/New_York)",
            &october
        )
        .as_deref(),
        Some("2026-11-02T22:00:00Z")
    );
}

#[test]
fn berlin_transitions_follow_the_zone_rules() {
    // 2026-03-29: 2:00 CET jumps to 3:00 CEST.
    let march = at("2026-03-28T12:00:00[Europe/Berlin]");
    assert_eq!(
        reset("resets Mar 29, 2:30am (Europe/Berlin)", &march).as_deref(),
        Some("2026-03-29T00:30:00Z")
    );
    assert_eq!(
        reset("resets Mar 29, 9am (Europe/Berlin)", &march).as_deref(),
        Some("2026-03-29T07:00:00Z")
    );
    // 2026-10-25: 3:00 CEST goes back to 2:00 CET; 2:30 happens twice.
    let october = at("2026-10-24T12:00:00[Europe/Berlin]");
    assert_eq!(
        reset("resets Oct 25, 2:30am (Europe/Berlin)", &october).as_deref(),
        Some("2026-10-25T00:30:00Z")
    );
    // Local Berlin, no zone named: 2:30am tomorrow is the first 2:30.
    assert_eq!(
        reset("5-hour limit reached ∙ resets 2:30am", &october).as_deref(),
        Some("2026-10-25T00:30:00Z")
    );
    let between = at("2026-10-25T02:50:00+02:00[Europe/Berlin]");
    assert_eq!(
        reset("5-hour limit reached ∙ resets 2:30am", &between).as_deref(),
        Some("2026-10-25T01:30:00Z")
    );
}

#[test]
fn the_epoch_form_is_exact() {
    let now = berlin();
    for text in [
        "Claude AI usage limit reached|1755615600",
        "Error: Claude AI usage limit reached|1755615600",
        "API Error: Claude AI usage limit reached|1755615600 internal",
        "claude ai usage limit reached | 1755615600",
    ] {
        assert_eq!(
            reset(text, &now).as_deref(),
            Some("2025-08-19T15:00:00Z"),
            "{text}"
        );
    }
    assert_eq!(
        reset_time("Claude AI usage limit reached|1755615600000", &now),
        Some(ts("2025-08-19T15:00:00Z"))
    );
    assert_eq!(
        reset_time("Claude AI usage limit reached|99999999999999999", &now),
        None
    );
}

#[test]
fn relative_and_date_only_forms() {
    let now = berlin();
    assert_eq!(
        reset("You've hit your session limit · resets in 4hr 29min", &now).as_deref(),
        Some("2026-07-15T12:29:00Z")
    );
    assert_eq!(
        reset("Usage limit reached · resets in 5m", &now).as_deref(),
        Some("2026-07-15T08:05:00Z")
    );
    assert_eq!(
        reset("Weekly limit reached ∙ resets Oct 14", &now).as_deref(),
        Some("2026-10-13T22:00:00Z")
    );
    assert_eq!(
        reset("Weekly limit reached ∙ resets Sep 26 at 9am", &now).as_deref(),
        Some("2026-09-26T07:00:00Z")
    );
    assert_eq!(
        reset("Limit reached, resets at 17:30 (UTC)", &now).as_deref(),
        Some("2026-07-15T17:30:00Z")
    );
}

#[test]
fn no_readable_time_is_none() {
    let now = berlin();
    for text in [
        "",
        "   ",
        "garbage",
        "You've hit your session limit",
        "API Error: Request rejected (429) · this may be a temporary capacity issue.",
        "1. Stop and wait for limit to reset",
        "resets",
        "resets soon",
        "resets 3",
        "resets 0am",
        "resets 13pm",
        "resets 25:00",
        "resets 9:75am",
        "resets Feb 30, 9am (UTC)",
        "resets Foo 3, 9am",
        "resets 3pm (Mars/Olympus_Mons)",
        "resets in",
        "resets in 99999999999999999999h",
        "usage limit reached|",
        "Claude AI usage limit reached|99999999999999999999999",
        "\u{0}\u{feff}resets \u{a0}",
    ] {
        assert_eq!(reset_time(text, &now), None, "{text:?}");
    }
}

#[test]
fn dates_at_the_ends_of_time_do_not_panic() {
    for now in [
        Timestamp::MIN.to_zoned(TimeZone::UTC),
        Timestamp::MAX.to_zoned(TimeZone::UTC),
        Timestamp::MAX.to_zoned(tz("Pacific/Kiritimati")),
    ] {
        for text in [
            "resets 3pm",
            "resets Dec 31, 11:59pm (Pacific/Kiritimati)",
            "resets Jan 1, 12am (Etc/GMT+12)",
            "resets in 3d",
        ] {
            let _ = reset_time(text, &now);
        }
    }
}

// Screens, built as Claude Code 2.1.197 draws them under tmux
// (`capture-pane -p -J`): its banner, the transcript, the input box
// (`❯` + NBSP between two rules), and below it what the case adds.

const BANNER: &str = "╭─── Claude Code v2.1.197 ──────────────────────────────╮\n\
    │           Welcome back!          │ Tips for getting  │\n\
    │   Sonnet 5 · Claude Max          │                   │\n\
    ╰───────────────────────────────────────────────────────╯\n\n";
const RULE: &str = "────────────────────────────────────────────────────────";
const MENU: &str = " What do you want to do?\n\n \
    ❯ 1. Stop and wait for limit to reset\n   \
    2. Upgrade your plan\n\n \
    Enter to confirm · Esc to cancel\n";

fn screen(transcript: &str, after_box: &str) -> String {
    format!(
        "{BANNER}{transcript}\n{RULE}\n❯{NBSP}\n{RULE}\n  \
         ⏵⏵ bypass permissions on (shift+tab to cycle)          ● high · /effort\n{after_box}"
    )
}

fn found(screen: &str) -> Option<&str> {
    Patterns::default().find(screen)
}

const TRANSCRIPT: &str = "❯ [t.md] Fix the flaky test in src/pool.rs\n\n\
    ● I'll look at the test first.\n\n\
    ● Read(src/pool.rs)\n  ⎿  Read 120 lines\n\n\
    ● Update(src/pool.rs)\n  ⎿  Updated src/pool.rs with 3 additions\n";

#[test]
fn the_2_1_197_limit_screen_gives_its_limit_line() {
    let limit = "  ⎿  You've hit your session limit · resets 12:32am (UTC)\n\n";
    // The limit line under the prompt line, the menu in place of the box.
    let real = format!("{BANNER}{TRANSCRIPT}\n{RULE}\n❯{NBSP}continue\n{limit}{RULE}\n{MENU}");
    assert_eq!(
        found(&real),
        Some("You've hit your session limit · resets 12:32am (UTC)")
    );
    // With the input box still drawn between the transcript and the menu.
    let boxed = screen(&format!("{TRANSCRIPT}{limit}"), &format!("{RULE}\n{MENU}"));
    assert_eq!(
        found(&boxed),
        Some("You've hit your session limit · resets 12:32am (UTC)")
    );
    // ⎿ followed by NBSP, as some captures have it; the weekly form.
    let weekly = screen(
        &format!(
            "{TRANSCRIPT}  ⎿{NBSP} You’ve hit your weekly limit · resets Nov 27, 11:41pm (UTC)\n"
        ),
        "",
    );
    let line = found(&weekly).unwrap();
    assert_eq!(
        line,
        "You’ve hit your weekly limit · resets Nov 27, 11:41pm (UTC)"
    );
    assert_eq!(
        reset_time(line, &berlin()),
        Some(ts("2026-11-27T23:41:00Z"))
    );
}

#[test]
fn the_menu_alone_gives_the_line_above_it() {
    // A wording no pattern knows yet, above the menu.
    let unknown = format!(
        "{BANNER}{TRANSCRIPT}  ⎿  You've used up this week's Fable allowance · resets Jul 20, 9am (UTC)\n\n{RULE}\n{MENU}"
    );
    assert_eq!(
        found(&unknown),
        Some("You've used up this week's Fable allowance · resets Jul 20, 9am (UTC)")
    );
    // Nothing above it but the transcript: the menu line itself.
    let bare = format!("{BANNER}{TRANSCRIPT}\n{RULE}\n{MENU}");
    assert_eq!(found(&bare), Some("1. Stop and wait for limit to reset"));
    // A menu the cursor has left is not recognised on its own.
    let moved = bare
        .replace("❯ 1.", "  1.")
        .replace("   2. Upgrade", " ❯ 2. Upgrade");
    assert_eq!(found(&moved), None);
}

#[test]
fn the_api_key_account_screens() {
    let spinning = screen(
        TRANSCRIPT,
        "",
    )
    .replace(
        &format!("\n{RULE}\n❯{NBSP}\n"),
        &format!(
            "\n✻ Session limit reached · Retrying in 26s (12:30am) · attempt 1/10\n\n{RULE}\n❯{NBSP}\n"
        ),
    );
    assert_eq!(
        found(&spinning),
        Some("Session limit reached · Retrying in 26s (12:30am) · attempt 1/10")
    );
    // Other spinner frames.
    for glyph in ["·", "✢", "✳", "✶", "✽", "*"] {
        let other = spinning.replace('✻', glyph);
        assert!(found(&other).is_some(), "{glyph}");
    }
    let failed = screen(
        &format!(
            "{TRANSCRIPT}\n● API Error: Request rejected (429) · this may be a temporary capacity issue. If it persists, check https://status.claude.com.\n"
        ),
        "",
    );
    assert_eq!(
        found(&failed),
        Some("API Error: Request rejected (429) · this may be a temporary capacity issue. If it persists, check https://status.claude.com.")
    );
}

#[test]
fn the_older_versions_screens() {
    let cases = [
        (
            "  ⎿  Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).\n\n      • /upgrade to increase your usage limit.\n",
            "Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).",
        ),
        (
            "  ⎿  5-hour limit reached ∙ resets 3am\n     /upgrade to increase your usage limit.\n",
            "5-hour limit reached ∙ resets 3am",
        ),
        (
            "  ⎿  5-hour limit reached · resets 2am (America/Toronto) · /upgrade to Max 20x or turn on /extra-usage\n",
            "5-hour limit reached · resets 2am (America/Toronto) · /upgrade to Max 20x or turn on /extra-usage",
        ),
        (
            "  ⎿  Opus weekly limit reached ∙ resets Oct 31, 9am\n",
            "Opus weekly limit reached ∙ resets Oct 31, 9am",
        ),
        (
            "  ⎿  Session limit reached ∙ resets 9:30pm\n     /upgrade to increase your usage limit.\n",
            "Session limit reached ∙ resets 9:30pm",
        ),
        (
            "  ⎿  You've hit your limit · resets 2am (Europe/Berlin)\n",
            "You've hit your limit · resets 2am (Europe/Berlin)",
        ),
        (
            "  ⎿  You’ve hit your limit ∙ resets 2am (Europe/Berlin)\n",
            "You’ve hit your limit ∙ resets 2am (Europe/Berlin)",
        ),
        (
            "  ⎿  You've hit your session limit · resets 10:30pm (Europe/Berlin)\n     /usage-credits to finish what you’re working on.\n",
            "You've hit your session limit · resets 10:30pm (Europe/Berlin)",
        ),
        (
            "  ⎿  You've hit your weekly limit · resets Jul 31, 2am (UTC)\n",
            "You've hit your weekly limit · resets Jul 31, 2am (UTC)",
        ),
        (
            "  ⎿  You've hit your weekly limit · resets May 5 at 9pm (America/New_York)\n",
            "You've hit your weekly limit · resets May 5 at 9pm (America/New_York)",
        ),
        (
            "  ⎿  You're out of extra usage · resets 3pm\n",
            "You're out of extra usage · resets 3pm",
        ),
        (
            "  ⎿  You’re out of extra usage ∙ resets 3pm\n",
            "You’re out of extra usage ∙ resets 3pm",
        ),
        (
            "  ⎿  Claude AI usage limit reached|1755615600\n",
            "Claude AI usage limit reached|1755615600",
        ),
        (
            "Error: Claude AI usage limit reached|1755615600\n",
            "Error: Claude AI usage limit reached|1755615600",
        ),
    ];
    for (limit, want) in cases {
        let s = screen(&format!("{TRANSCRIPT}{limit}"), "");
        assert_eq!(found(&s), Some(want), "{limit}");
        // macOS draws the answer and tool bullet as ⏺.
        let mac = s.replace('●', "⏺");
        assert_eq!(found(&mac), Some(want), "{limit}");
        assert!(reset_time(want, &berlin()).is_some(), "{want}");
    }
}

#[test]
fn a_wrapped_limit_line_keeps_its_zone() {
    let s = screen(
        &format!(
            "{TRANSCRIPT}  ⎿  You've hit your session limit · resets 4:30am\n     (Asia/Tokyo)\n     /usage-credits to finish what you’re working\n     on.\n"
        ),
        "",
    );
    let line = found(&s).unwrap();
    assert_eq!(
        line,
        "You've hit your session limit · resets 4:30am\n     (Asia/Tokyo)"
    );
    assert_eq!(
        reset_time(line, &berlin()),
        Some(ts("2026-07-15T19:30:00Z"))
    );
}

#[test]
fn the_lowest_limit_line_is_the_current_one() {
    let s = screen(
        &format!(
            "  ⎿  You've hit your session limit · resets 3am (UTC)\n\n❯ continue\n{TRANSCRIPT}  ⎿  You've hit your session limit · resets 8am (UTC)\n"
        ),
        "",
    );
    assert_eq!(
        found(&s),
        Some("You've hit your session limit · resets 8am (UTC)")
    );
}

#[test]
fn the_models_own_words_are_no_limit() {
    let answers = [
        "● You've hit your session limit · resets 3pm\n",
        "⏺ You've hit your session limit · resets 3pm\n",
        "● When the account runs out, Claude Code prints\n  You've hit your session limit · resets 3pm (Europe/Berlin)\n  and opens a menu:\n  1. Stop and wait for limit to reset\n  2. Upgrade your plan\n",
        "● The detector must handle these lines:\n\n  You’ve hit your weekly limit ∙ resets Jul 31, 2am (UTC)\n  5-hour limit reached ∙ resets 3am\n  Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).\n  You're out of extra usage · resets 3pm\n  ✻ Session limit reached · Retrying in 26s (12:30am) · attempt 1/10\n",
        "● Fixed. The message \"You've hit your session limit · resets 3pm\" is now parsed,\n  and so is \"Claude AI usage limit reached|1755615600\".\n",
        "● API Error: Request rejected (429) is what an API key sees; I handled it.\n",
    ];
    for answer in answers {
        let s = screen(&format!("{TRANSCRIPT}\n{answer}"), "");
        assert_eq!(found(&s), None, "{answer}");
    }
    // The task's own text, echoed as the prompt, is no limit either.
    let prompt = screen(
        "❯ [t.md] Detect \"You've hit your session limit · resets 3pm\" on screen\n  and \"5-hour limit reached ∙ resets 3am\" too\n\n● On it.\n",
        "",
    );
    assert_eq!(found(&prompt), None);
    // Nor is the Approaching warning.
    let warning = screen(TRANSCRIPT, "  Approaching 5-hour limit · resets 3am\n");
    assert_eq!(found(&warning), None);
}

#[test]
fn server_throttling_and_overload_are_no_usage_limit() {
    for line in [
        "  ⎿  API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited\n",
        "● API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited\n",
        "  ⎿  Server is temporarily limiting requests (not your usage limit)\n",
        "● API Error: Repeated 529 Overloaded errors · check status.claude.com\n",
        "✻ 529 Overloaded · Retrying in 8s · attempt 3/10\n",
        "✻ 429 Rate limited · Retrying in 0s · attempt 5/300\n",
    ] {
        let s = screen(&format!("{TRANSCRIPT}{line}"), "");
        assert_eq!(found(&s), None, "{line}");
    }
}

#[test]
fn screens_without_a_limit_find_nothing() {
    assert_eq!(found(""), None);
    assert_eq!(found("\n\n\n"), None);
    assert_eq!(found(&screen(TRANSCRIPT, "")), None);
    assert_eq!(
        Patterns::new(&[]).unwrap().find(&screen(TRANSCRIPT, "")),
        None
    );
}

#[test]
fn configured_patterns_replace_the_defaults() {
    let p = Patterns::new(&["^Quota exhausted".to_string()]).unwrap();
    assert_eq!(
        p.find("ok\nQuota exhausted until 3pm\n"),
        Some("Quota exhausted until 3pm")
    );
    let real = screen(
        &format!("{TRANSCRIPT}  ⎿  You've hit your limit · resets 2am\n"),
        "",
    );
    assert_eq!(p.find(&real), None);
}

#[test]
fn a_bad_pattern_is_named() {
    let err = Patterns::new(&["^ok$".to_string(), "resets (\\d+".to_string()]).unwrap_err();
    assert!(err.contains("\"resets (\\\\d+\""), "{err}");
    assert!(err.contains("does not compile"), "{err}");
}

#[test]
fn the_defaults_compile_one_per_form() {
    let defaults = default_patterns();
    assert_eq!(defaults.len(), DEFAULT_PATTERNS.len());
    Patterns::new(&defaults).unwrap();
}

proptest::proptest! {
    #[test]
    fn reading_any_text_never_panics(text in "\\PC*") {
        let now = berlin();
        let _ = reset_time(&text, &now);
        let _ = Patterns::default().find(&text);
    }

    #[test]
    fn reading_any_reset_clause_never_panics(
        lead in proptest::sample::select(vec!["resets ", "reset at ", "resets in ", "resets on ", "⎿  You've hit your limit · resets "]),
        mon in proptest::sample::select(vec!["", "Jan ", "Feb ", "May ", "Sept. ", "December "]),
        day in 0u32..40,
        sep in proptest::sample::select(vec!["", ", ", " at ", " "]),
        h in 0u32..30,
        m in 0u32..100,
        ap in proptest::sample::select(vec!["", "am", "pm", " a.m.", "PM"]),
        zone in proptest::sample::select(vec!["", " (UTC)", " (Europe/Berlin)", " (America/New_York)", " (Nowhere/City)", " ()", " (Pacific/Apia)"]),
        secs in proptest::num::i64::ANY,
    ) {
        let text = format!("{lead}{mon}{day}{sep}{h}:{m:02}{ap}{zone}");
        let now = Timestamp::from_second(secs.rem_euclid(253_402_300_799)).unwrap().to_zoned(tz("America/New_York"));
        let _ = reset_time(&text, &now);
        let _ = reset_time(&format!("{lead}{mon}{day}{sep}{h}{ap}{zone}"), &now);
        let _ = reset_time(&format!("Claude AI usage limit reached|{secs}"), &now);
        let _ = Patterns::default().find(&text);
    }
}
