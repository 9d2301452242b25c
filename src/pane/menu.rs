//! Reading a menu on an agent's screen, to pick an option by its text
//! (`[[agent.dialog]] choose`): key presses name a position, and positions
//! change between versions (Claude Code 2.1.197 numbers its options, 2.1.332
//! does not and lists the trust dialog's the other way round), while the
//! text of an option stays.
//!
//! A menu is the line that starts with the cursor (`❯` and a plain space;
//! the input prompt has a no-break space) and the lines around it whose text
//! starts in the same column; a line indented further belongs to the option
//! above it, a blank line or one indented less ends the menu. Pure: tested
//! on screens captured from both versions.

/// The options of the menu on a screen, and where the cursor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// Each option's text, without its number (`1. `).
    pub options: Vec<String>,
    pub cursor: usize,
}

/// What to do to pick an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// The cursor is on it: confirm (Enter).
    Confirm,
    /// Press `Down` (positive) or `Up` (negative) this many times.
    Move(i32),
    /// No option holds the text; the options, for the message.
    NotFound(Vec<String>),
    /// Several options hold it and none is it exactly.
    Ambiguous(Vec<String>),
}

/// The menu on `text` whose cursor is `marker`, if one shows.
pub fn read(text: &str, marker: &str) -> Option<Menu> {
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let cursor_prefix: Vec<char> = format!("{marker} ").chars().collect();
    let at = lines.iter().rposition(|l| {
        let start = l.iter().take_while(|c| **c == ' ').count();
        l[start..].starts_with(&cursor_prefix)
    })?;
    let line = &lines[at];
    let column = line.iter().take_while(|c| **c == ' ').count() + cursor_prefix.len();
    let kind = |l: &[char]| -> Line {
        let indent = l.iter().take_while(|c| c.is_whitespace()).count();
        if indent == l.len() {
            Line::End
        } else if indent == column {
            Line::Option
        } else if indent > column {
            Line::More
        } else {
            Line::End
        }
    };
    let mut first = at;
    while first > 0 && kind(&lines[first - 1]) != Line::End {
        first -= 1;
    }
    // A block that starts with a continuation is cut to its first option.
    while first < at && kind(&lines[first]) != Line::Option {
        first += 1;
    }
    let mut options = Vec::new();
    let mut cursor = 0;
    for (i, l) in lines.iter().enumerate().skip(first) {
        let is_cursor = i == at;
        if !is_cursor && i > at && kind(l) == Line::End {
            break;
        }
        if is_cursor || kind(l) == Line::Option {
            if is_cursor {
                cursor = options.len();
            }
            let text: String = l[column..].iter().collect();
            options.push(unnumbered(text.trim()).to_string());
        }
    }
    Some(Menu { options, cursor })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Option,
    More,
    End,
}

/// `1. Yes` → `Yes`.
fn unnumbered(text: &str) -> &str {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    match text[digits..].strip_prefix(". ") {
        Some(rest) if digits > 0 => rest.trim_start(),
        _ => text,
    }
}

impl Menu {
    /// The option to pick for `choose`: the one that reads exactly so, else
    /// the only one that holds the text.
    fn target(&self, choose: &str) -> Result<usize, Pick> {
        if let Some(i) = self.options.iter().position(|o| o == choose) {
            return Ok(i);
        }
        let holding: Vec<usize> = (0..self.options.len())
            .filter(|&i| self.options[i].contains(choose))
            .collect();
        match holding[..] {
            [i] => Ok(i),
            [] => Err(Pick::NotFound(self.options.clone())),
            _ => Err(Pick::Ambiguous(
                holding.iter().map(|&i| self.options[i].clone()).collect(),
            )),
        }
    }

    pub fn pick(&self, choose: &str) -> Pick {
        match self.target(choose) {
            Ok(i) if i == self.cursor => Pick::Confirm,
            Ok(i) => Pick::Move(i as i32 - self.cursor as i32),
            Err(p) => p,
        }
    }

    /// The option under the cursor.
    pub fn current(&self) -> &str {
        &self.options[self.cursor]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pane::screen::real_screens::*;

    #[test]
    fn the_options_of_2_1_197_are_read_without_their_numbers() {
        let m = read(REAL_TRUST, "❯").unwrap();
        assert_eq!(m.options, ["Yes, I trust this folder", "No, exit"]);
        assert_eq!(m.cursor, 0);
        assert_eq!(m.pick("Yes, I trust this folder"), Pick::Confirm);
        let m = read(REAL_API_KEY, "❯").unwrap();
        assert_eq!(m.options, ["Yes", "No (recommended)"]);
        assert_eq!((m.cursor, m.pick("Yes")), (1, Pick::Move(-1)));
        let m = read(REAL_BYPASS, "❯").unwrap();
        assert_eq!(m.pick("Yes, I accept"), Pick::Move(1));
        let m = read(REAL_ONBOARDING, "❯").unwrap();
        assert_eq!(
            m.options,
            ["Auto (match terminal)", "Dark mode ✔", "Light mode"]
        );
        assert_eq!(m.cursor, 1);
    }

    #[test]
    fn the_unnumbered_reversed_options_of_2_1_332_are_found_by_text() {
        let m = read(REAL_332_TRUST, "❯").unwrap();
        assert_eq!(m.options, ["No, exit", "Yes, I trust this folder"]);
        assert_eq!(m.pick("Yes, I trust this folder"), Pick::Move(1));
        let moved = REAL_332_TRUST
            .replace(" ❯ No, exit", "   No, exit")
            .replace("   Yes, I trust", " ❯ Yes, I trust");
        assert_eq!(
            read(&moved, "❯").unwrap().pick("Yes, I trust"),
            Pick::Confirm
        );
        let m = read(REAL_332_API_KEY, "❯").unwrap();
        assert_eq!((m.options.len(), m.pick("Yes")), (2, Pick::Move(-1)));
        let m = read(REAL_332_BYPASS, "❯").unwrap();
        assert_eq!(m.current(), "No, exit");
        assert_eq!(m.pick("Yes, I accept"), Pick::Move(1));
    }

    #[test]
    fn a_text_that_no_option_or_several_hold_is_no_pick() {
        let m = read(REAL_332_TRUST, "❯").unwrap();
        assert!(matches!(m.pick("Maybe"), Pick::NotFound(o) if o.len() == 2));
        let m = Menu {
            options: vec!["Yes, once".into(), "Yes, always".into()],
            cursor: 0,
        };
        assert!(matches!(m.pick("Yes"), Pick::Ambiguous(o) if o.len() == 2));
        assert_eq!(m.pick("Yes, always"), Pick::Move(1));
    }

    #[test]
    fn the_prompt_and_a_description_line_are_no_options() {
        let prompt = real_prompt("❯\u{a0} ", "");
        assert_eq!(read(&prompt, "❯"), None);
        let described = "  ❯ 1. Yes\n       and remember\n    2. No\n\n  Enter to confirm\n";
        let m = read(described, "❯").unwrap();
        assert_eq!(m.options, ["Yes", "No"]);
    }
}
