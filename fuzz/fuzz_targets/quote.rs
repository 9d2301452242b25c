#![no_main]
//! `shell::quote` checked structurally (no shell is spawned, so it runs at
//! full speed): the output is one word that a POSIX shell and fish both read
//! back as the input. The word is decoded here the way both shells decode it
//! under the quoter's rules: outside quotes only `\'` and `\\` may appear (as
//! escapes), inside single quotes no `\` may appear (fish would read `\\` and
//! `\'` there as escapes) and nothing ends the quote but `'`; a word that is
//! not quoted at all must consist of characters special to neither shell,
//! and must not be `%self`, which fish 3 expands to its own PID.

use agent_queue::shell::quote;
use libfuzzer_sys::fuzz_target;

const PLAIN: &[u8] = b"-_./=:,+@%";

fn decode(word: &str) -> Result<String, String> {
    if word.is_empty() {
        return Err("empty output: the shell would see no word at all".into());
    }
    let mut out = String::new();
    if word == "%self" {
        return Err("bare `%self`: fish expands it to its PID".into());
    }
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next() {
                    None => return Err("unterminated single quote".into()),
                    Some('\'') => break,
                    Some('\\') => {
                        return Err("backslash inside single quotes (fish escapes it)".into())
                    }
                    Some(c) => out.push(c),
                }
            },
            '\\' => match chars.next() {
                Some(e @ ('\'' | '\\')) => out.push(e),
                other => return Err(format!("unexpected escape \\{other:?} outside quotes")),
            },
            c if c.is_ascii_alphanumeric() || (c.is_ascii() && PLAIN.contains(&(c as u8))) => {
                out.push(c)
            }
            c => return Err(format!("unquoted special character {c:?}")),
        }
    }
    Ok(out)
}

fuzz_target!(|s: &str| {
    let q = quote(s);
    match decode(&q) {
        Ok(back) => assert_eq!(back, s, "quote({s:?}) = {q:?} reads back differently"),
        Err(why) => panic!("quote({s:?}) = {q:?}: {why}"),
    }
});
