//! Reading an agent's screen: is it at its prompt, at a dialog, or still
//! holding a paste that was not submitted. Pure functions of the captured
//! text, so each rule is tested on screens copied from the real agent.

use crate::config::Dialog;

/// A line that starts with the marker (leading spaces aside) and is not a
/// menu option: Claude Code draws `❯ 1. Yes, I trust this folder` on its
/// dialogs with the same `❯` as its input prompt.
pub fn is_ready(text: &str, marker: &str) -> bool {
    text.lines().any(|line| {
        line.trim_start()
            .strip_prefix(marker)
            .is_some_and(|rest| !is_menu_option(rest))
    })
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

/// The input line still holds a folded paste (`❯ [Pasted text #1 +4 lines]`):
/// Enter was not taken.
pub fn paste_waiting(text: &str, marker: &str) -> bool {
    text.lines().any(|line| {
        line.trim_start()
            .strip_prefix(marker)
            .is_some_and(|rest| rest.trim_start().starts_with("[Pasted text"))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "╭───╮\n────────────────\n❯ \n────────────────\n  ⏵⏵ bypass permissions on (shift+tab to cycle)\n";
    const TRUST: &str = " Quick safety check: Is this a project you created or one you trust?\n\n ❯ 1. Yes, I trust this folder\n   2. No, exit\n";

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
    fn dialogs_are_found_by_their_text() {
        let dialogs = crate::config::default_dialogs();
        assert_eq!(dialog(TRUST, &dialogs).unwrap().name, "folder trust");
        assert!(dialog(PROMPT, &dialogs).is_none());
    }

    #[test]
    fn a_folded_paste_on_the_input_line_is_waiting() {
        assert!(paste_waiting(
            "────\n❯ [Pasted text #1 +4 lines]\n────\n",
            "❯"
        ));
        assert!(!paste_waiting("> [Pasted text #1 +4 lines]\n❯ \n", "❯"));
        assert!(!paste_waiting(PROMPT, "❯"));
    }

    #[test]
    fn tail_quotes_the_last_lines() {
        assert_eq!(tail("a\n\nb\nc  \n\n", 2), "b / c");
    }
}
