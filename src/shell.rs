//! Everything agent-queue types into a pane is read by the operator's shell.
//! A project path or a model name is put there as one single-quoted word, so
//! no character in it (space, quote, `;`, `$(…)`, backtick, newline) can end
//! the word or start a command.

/// Quotes `s` as one POSIX shell word (also read right by bash, zsh and fish).
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@".contains(&b));
    if safe {
        return s.to_string();
    }
    // Backslashes go outside the quotes too: fish, unlike POSIX sh, reads
    // `\\` and `\'` inside single quotes as escapes.
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            '\\' => out.push_str("'\\\\'"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sh_echo(word: &str) -> String {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote(word)))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn plain_words_stay_plain() {
        assert_eq!(quote("/srv/p/file-secure_2"), "/srv/p/file-secure_2");
        assert_eq!(quote("opus"), "opus");
    }

    #[test]
    fn hostile_words_come_back_literally_from_a_real_shell() {
        for word in [
            "",
            "a b",
            "it's",
            "x; touch pwned",
            "$(touch pwned)",
            "`touch pwned`",
            "a\nb",
            "\\'\\",
            "-n",
            "~/p",
            "*",
        ] {
            assert_eq!(sh_echo(word), word, "quoted as {}", quote(word));
        }
    }
}
