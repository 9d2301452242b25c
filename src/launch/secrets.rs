//! A profile's `env` holds secrets (a second account's API key), so its
//! values go only to the agent: through a tmux buffer its start script reads
//! and deletes, never through a command line, a pane, the state or the
//! journal. What agent-queue prints about them names them and never shows
//! them; an error that quotes the agent's screen has each value replaced by
//! its name, in case the agent printed one.

use std::collections::BTreeMap;

/// Values shorter than this are not looked for: replacing every `1` or
/// `yes` would garble messages, and such values are no secrets.
const SHORTEST: usize = 6;

/// `text` with every value of `env` (of `SHORTEST` characters or more)
/// replaced by `$NAME`.
pub fn redact(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    // Longest first: a value that holds another is replaced whole.
    let mut pairs: Vec<(&String, &String)> = env
        .iter()
        .filter(|(_, v)| v.chars().count() >= SHORTEST)
        .collect();
    pairs.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for (name, value) in pairs {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), &format!("${name}"));
        }
    }
    out
}

/// The names a profile sets, for messages: `ANTHROPIC_API_KEY, X`.
pub fn names(env: &BTreeMap<String, String>) -> String {
    env.keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_replaced_by_their_names_and_short_ones_are_left() {
        let env = BTreeMap::from([
            (
                "ANTHROPIC_API_KEY".to_string(),
                "sk-ant-secret-1".to_string(),
            ),
            ("LONGER".to_string(), "sk-ant-secret-1-and-more".to_string()),
            ("N".to_string(), "1".to_string()),
        ]);
        assert_eq!(
            redact("key sk-ant-secret-1 / sk-ant-secret-1-and-more at 1", &env),
            "key $ANTHROPIC_API_KEY / $LONGER at 1"
        );
        assert_eq!(names(&env), "ANTHROPIC_API_KEY, LONGER, N");
    }
}
