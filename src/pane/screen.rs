//! Reading an agent's screen: is it at its prompt, at a dialog, or still
//! holding the text it was given. Pure functions of the captured text, so
//! each rule is tested on screens copied from the real agent (Claude Code
//! 2.1.197 under tmux 3.3a, `capture-pane -p -J`).

use crate::config::Dialog;

/// A line that starts with the marker (leading spaces aside) and is not a
/// menu option: Claude Code draws `❯ 1. Yes, I trust this folder` on its
/// dialogs with the same `❯` as its input prompt.
pub fn is_ready(text: &str, marker: &str) -> bool {
    text.lines().any(|line| marker_rest(line, marker).is_some())
}

/// What follows the marker on a prompt line (not a menu option), or `None`
/// when the line is no prompt line.
fn marker_rest<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    // `trim_start` also drops U+00A0: Claude Code's input box is `❯` + NBSP.
    line.trim_start()
        .strip_prefix(marker)
        .filter(|rest| !is_menu_option(rest))
}

fn is_menu_option(rest: &str) -> bool {
    let rest = rest.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with('.')
}

/// The first configured dialog whose text is on the screen.
pub fn dialog<'a>(text: &str, dialogs: &'a [Dialog]) -> Option<&'a Dialog> {
    dialogs
        .iter()
        .find(|d| !d.matches.is_empty() && text.contains(&d.matches))
}

/// The agent's input as the screen shows it: the last prompt line (a line
/// that starts with the marker and is not a menu option) and what is below
/// it up to the input box's closing rule.
///
/// Claude Code draws its input box as a `❯`+NBSP line between two `───`
/// rules, with its footer under the lower rule: the box holds the text until
/// Enter is taken, then it is empty again (`❯ ` with the text moved up into
/// the transcript). A line-oriented agent (the stand-in) echoes the text on
/// its prompt line and, once Enter is taken, prints below it. Either way the
/// input was taken when this changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// What follows the marker on the last prompt line, trimmed (NBSP too).
    pub line: String,
    /// The non-blank lines below it, up to a line of `─` (Claude Code's
    /// lower rule, after which only its footer follows).
    pub below: Vec<String>,
}

impl Input {
    /// Nothing typed on the prompt line.
    pub fn is_empty(&self) -> bool {
        self.line.is_empty()
    }
}

/// The input on the screen, `None` when no prompt line shows.
pub fn input(text: &str, marker: &str) -> Option<Input> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| marker_rest(l, marker).is_some())?;
    let line = marker_rest(lines[at], marker)
        .unwrap_or_default()
        .trim()
        .to_string();
    let below = lines[at + 1..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with('─'))
        .map(|l| l.trim_end())
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    Some(Input { line, below })
}

/// The first line holding `needle`, trimmed.
pub fn line_with<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines().find(|l| l.contains(needle)).map(str::trim)
}

/// At most `n` characters of `text`, `…` marking a cut.
pub fn clip(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The last `n` non-blank lines, for error messages that quote the agent.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

/// Screens of Claude Code 2.1.197 under tmux 3.3a, as captured
/// (`capture-pane -p -J`), for the tests of everything that reads screens.
#[cfg(test)]
pub(crate) mod real_screens {

    pub(crate) const NBSP: &str = "\u{a0}";
    pub(crate) const PROMPT: &str = "╭───╮\n────────────────\n❯ \n────────────────\n  ⏵⏵ bypass permissions on (shift+tab to cycle)\n";
    pub(crate) const TRUST: &str = " Quick safety check: Is this a project you created or one you trust?\n\n ❯ 1. Yes, I trust this folder\n   2. No, exit\n";

    /// Claude Code 2.1.197's ready screen, as captured (the box line is `❯`
    /// + NBSP, `capture-pane -J` keeps a trailing space).
    pub(crate) fn real_prompt(box_line: &str, transcript: &str) -> String {
        format!(
            "╭─── Claude Code v2.1.197 ──────────────────────────────╮\n\
             │           Welcome back!          │ Tips for getting  │\n\
             │   Sonnet 5 · API Usage Billing   │                   │\n\
             ╰───────────────────────────────────────────────────────╯\n\
             {transcript}\n\
             ────────────────────────────────────────────────────────\n\
             {box_line}\n\
             ────────────────────────────────────────────────────────\n  \
             ⏵⏵ bypass permissions on (shift+tab to cycle) · ← for agents          ● high · /effort\n\n\n"
        )
    }

    pub(crate) const REAL_TRUST: &str = "────────────────────────────────────────────────────────\n \
        Accessing workspace:\n\n /tmp/aqr\n\n \
        Quick safety check: Is this a project you created or one you trust? (Like your own code, a well-known open source\n \
        project, or work from your team). If not, take a moment to review what's in this folder first.\n\n \
        Claude Code'll be able to read, edit, and execute files here.\n\n \
        Security guide\n\n \
        ❯ 1. Yes, I trust this folder\n   \
        2. No, exit\n\n \
        Enter to confirm · Esc to cancel\n";

    pub(crate) const REAL_API_KEY: &str =
        "────────────────────────────────────────────────────────\n  \
        Detected a custom API key in your environment\n\n  \
        ANTHROPIC_API_KEY: sk-ant-...0123456789ABCDEFGHIJ\n\n  \
        Do you want to use this API key?\n\n    \
        1. Yes\n  \
        ❯ 2. No (recommended)\n\n  \
        Enter to confirm · Esc to cancel\n";

    pub(crate) const REAL_BYPASS: &str = "────────────────────────────────────────────────────────\n  \
        WARNING: Claude Code running in Bypass Permissions mode\n\n  \
        In Bypass Permissions mode, Claude Code will not ask for your approval before running potentially dangerous\n  \
        commands.\n\n  \
        https://code.claude.com/docs/en/security\n\n  \
        ❯ 1. No, exit\n    \
        2. Yes, I accept\n\n  \
        Enter to confirm · Esc to cancel\n";

    pub(crate) const REAL_ONBOARDING: &str = "Welcome to Claude Code v2.1.197\n\n \
        Let's get started.\n\n \
        Choose the text style that looks best with your terminal\n \
        To change this later, run /theme\n\n   \
        1. Auto (match terminal)\n \
        ❯ 2. Dark mode ✔\n   \
        3. Light mode\n";

    /// Claude Code 2.1.332's trust dialog: no numbers, "No, exit" first
    /// and under the cursor.
    pub(crate) const REAL_332_TRUST: &str = "────────────────────────────────────────────────────────\n \
        Accessing workspace:\n\n /tmp/aq18cap/proj\n\n \
        Quick safety check: Is this a project you created or one you trust? (Like your own code, a well-known open source project, or work from your team). If not,\n \
        take a moment to review what's in this folder first.\n\n \
        Claude Code'll be able to read, edit, and execute files here.\n\n \
        Security guide\n\n \
        ❯ No, exit\n   \
        Yes, I trust this folder\n\n \
        Enter to confirm · Esc to cancel\n";

    pub(crate) const REAL_332_API_KEY: &str =
        "────────────────────────────────────────────────────────\n  \
        Detected a custom API key in your environment\n\n  \
        ANTHROPIC_API_KEY: sk-ant-...0123456789ABCDEFGHIJ\n\n  \
        Do you want to use this API key?\n\n    \
        Yes\n  \
        ❯ No (recommended)\n\n  \
        Enter to confirm · Esc to cancel\n";

    pub(crate) const REAL_332_BYPASS: &str = "────────────────────────────────────────────────────────\n  \
        WARNING: Claude Code running in Bypass Permissions mode\n\n  \
        In Bypass Permissions mode, Claude Code will not ask for your approval before running potentially dangerous commands.\n  \
        https://code.claude.com/docs/en/security\n\n  \
        ❯ No, exit\n    \
        Yes, I accept\n\n  \
        Enter to confirm · Esc to cancel\n";

    pub(crate) const REAL_NO_SERVICE: &str =
        "# cd /tmp/aqx/proj && claude --model sonnet --dangerously-skip-permissions\n\
        Welcome to Claude Code v2.1.197\n\
        .......█ █   █ █..........................................\n \
        Unable to connect to Anthropic services\n \
        Failed to connect to api.anthropic.com: ENOTFOUND\n \
        Please check your internet connection and network settings.\n#\n";
}

#[cfg(test)]
mod tests {
    use super::real_screens::*;
    use super::*;

    #[test]
    fn the_prompt_is_ready_and_a_menu_is_not() {
        assert!(is_ready(PROMPT, "❯"));
        assert!(!is_ready(TRUST, "❯"));
        assert!(!is_ready("$ claude --model opus\n", "❯"));
        assert!(
            is_ready("  ❯ 10 files changed\n", "❯"),
            "a number without a dot is not a menu option"
        );
    }

    #[test]
    fn the_real_agent_is_ready_at_its_nbsp_box_and_not_at_its_dialogs() {
        assert!(is_ready(&real_prompt(&format!("❯{NBSP} "), ""), "❯"));
        assert!(is_ready(&real_prompt(&format!("❯{NBSP}"), ""), "❯"));
        for dialog in [REAL_TRUST, REAL_API_KEY, REAL_BYPASS, REAL_ONBOARDING] {
            assert!(!is_ready(dialog, "❯"), "{dialog}");
        }
    }

    #[test]
    fn dialogs_are_found_by_their_text() {
        let dialogs = crate::config::default_dialogs();
        let name = |t: &str| dialog(t, &dialogs).map(|d| d.name.clone());
        assert_eq!(name(TRUST).as_deref(), Some("folder trust"));
        assert_eq!(name(REAL_TRUST).as_deref(), Some("folder trust"));
        assert_eq!(name(REAL_API_KEY).as_deref(), Some("API key"));
        assert_eq!(name(REAL_BYPASS).as_deref(), Some("bypass warning"));
        assert_eq!(name(REAL_ONBOARDING).as_deref(), Some("onboarding"));
        assert_eq!(name(REAL_NO_SERVICE).as_deref(), Some("no service"));
        assert_eq!(
            name("--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n").as_deref(),
            Some("as root")
        );
        let logged_out = real_prompt(&format!("❯{NBSP} "), "").replace(
            "● high · /effort",
            "Not logged in · Run /login\n                    ● high · /effort",
        );
        assert_eq!(name(&logged_out).as_deref(), Some("not logged in"));
        assert!(name(PROMPT).is_none());
        assert!(name(&real_prompt(&format!("❯{NBSP} "), "")).is_none());
    }

    #[test]
    fn the_input_is_the_last_prompt_line_and_what_follows_it_inside_the_box() {
        // Ready: the box is empty, old prompts in the transcript do not count.
        let ready = real_prompt(&format!("❯{NBSP} "), "❯ say hello\n\n● Done.\n");
        assert_eq!(
            input(&ready, "❯"),
            Some(Input {
                line: String::new(),
                below: vec![]
            })
        );
        // A long paste, folded.
        let folded = real_prompt(&format!("❯{NBSP}[Pasted text #1 +4 lines]"), "");
        let got = input(&folded, "❯").unwrap();
        assert_eq!(got.line, "[Pasted text #1 +4 lines]");
        assert!(got.below.is_empty());
        // A short paste is shown as it is, over several lines.
        let inline = real_prompt(&format!("❯{NBSP}[t.md] a\n  b\n  c"), "");
        let got = input(&inline, "❯").unwrap();
        assert_eq!(got.line, "[t.md] a");
        assert_eq!(got.below, ["  b", "  c"]);
        // Taken: the text moved up into the transcript, the box is empty.
        let taken = real_prompt(&format!("❯{NBSP} "), "❯ [t.md] a\n  b\n  c\n\n● Done.\n");
        assert!(input(&taken, "❯").unwrap().is_empty());
        assert!(input("$ claude\n", "❯").is_none());
        assert!(input(REAL_TRUST, "❯").is_none());
    }

    #[test]
    fn a_line_agent_shows_its_input_taken_by_what_it_prints_below() {
        let pasted = "stand-in agent (model sonnet) in /p\n❯ [t.md] x\n\nIMPORTANT: do it.\n";
        let taken = format!("{pasted}working on: [t.md] x\n");
        let a = input(pasted, "❯").unwrap();
        let b = input(&taken, "❯").unwrap();
        assert_eq!(a.line, "[t.md] x");
        assert_ne!(a, b);
    }

    #[test]
    fn tail_quotes_the_last_lines() {
        assert_eq!(tail("a\n\nb\nc  \n\n", 2), "b / c");
        assert_eq!(
            line_with(REAL_API_KEY, "use this API key"),
            Some("Do you want to use this API key?")
        );
    }
}
