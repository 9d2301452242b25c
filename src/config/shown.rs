//! How the config speaks of what it holds, when a profile's `env` value may
//! be a secret (an API key): toml quotes the line at fault in an error, and
//! such a line is named by its number, never quoted, with the strings in
//! the message masked (every other error reads as toml wrote it); and a
//! config that sets `env` values and that others may read is warned about.

use regex::Regex;

/// A config whose profiles set `env` values (API keys, often) should be
/// readable by its owner alone: said on every run until it is.
pub fn warn_if_secrets_readable(config: &super::Config) {
    use std::os::unix::fs::PermissionsExt;
    let profiles = std::iter::once(&config.agent).chain(config.pools.iter().map(|p| &p.agent));
    let names: std::collections::BTreeSet<&str> = profiles
        .flat_map(|a| a.env.keys().map(String::as_str))
        .collect();
    let Ok(meta) = std::fs::metadata(&config.path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if !names.is_empty() && mode & 0o044 != 0 {
        crate::output::report::warn(format!(
            "config {} sets env values ({}) and others may read it (mode {mode:04o}): \
             chmod 600 {}",
            config.path.display(),
            names.into_iter().collect::<Vec<_>>().join(", "),
            config.path.display()
        ));
    }
}

/// A parse error of the config text, as it is shown.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return e.to_string().trim_end().to_string();
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    if !in_env(text, line_no) {
        return e.to_string().trim_end().to_string();
    }
    format!(
        "TOML parse error at line {line_no}, in an env table (the line is not shown: it may \
         hold a secret): {}",
        mask_strings(e.message().trim_end())
    )
}

/// An error about a profile table read without its text (`[agents.NAME]`):
/// its quoted strings may be `env` values.
pub fn table_error(message: &str) -> String {
    mask_strings(message.trim_end())
}

/// Whether line `line_no` (from 1) of `text` sets an `env` value: `env =`
/// or `env.NAME =`, or any line of an `[….env]` table.
fn in_env(text: &str, line_no: usize) -> bool {
    let key = Regex::new(r"^\s*env\s*[.=]").expect("a valid pattern");
    let header = Regex::new(r"^\s*\[\s*([^\]]*?)\s*\]").expect("a valid pattern");
    let mut table_is_env = false;
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = header.captures(line) {
            let name = &c[1];
            table_is_env = name == "env" || name.ends_with(".env");
        }
        if i + 1 == line_no {
            return table_is_env || key.is_match(line);
        }
    }
    false
}

/// `"…"` and `'…'` in a message, their contents replaced.
fn mask_strings(message: &str) -> String {
    let quoted = Regex::new(r#""(?:[^"\\]|\\.)*"|'[^']*'"#).expect("a valid pattern");
    quoted.replace_all(message, "\"…\"").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        let e = toml::from_str::<toml::Table>(text)
            .err()
            .or_else(|| {
                #[derive(serde::Deserialize, Debug)]
                #[allow(dead_code)]
                struct T {
                    agent: A,
                }
                #[derive(serde::Deserialize, Debug)]
                #[allow(dead_code)]
                struct A {
                    env: std::collections::BTreeMap<String, String>,
                }
                toml::from_str::<T>(text).err()
            })
            .expect("an error");
        toml_error(text, &e)
    }

    #[test]
    fn an_env_line_is_never_quoted_and_other_lines_are() {
        for text in [
            "[agent]\nenv = { K = \"sk-ant-SECRET\", N = 1 }\n",
            "[agent]\nenv = { K = \"sk-ant-SECRET }\n",
            "[agent.env]\nK = \"sk-ant-SECRET\"\nN = 1\n",
            "[agent]\nenv.K = \"sk-ant-SECRET\"\nenv.N = 2\n",
            "[agent]\nenv = \"sk-ant-SECRET\"\n",
        ] {
            let shown = error(text);
            assert!(!shown.contains("SECRET"), "{text}: {shown}");
            assert!(
                shown.contains("line 2") || shown.contains("line 3"),
                "{shown}"
            );
        }
        let shown = error("[agent]\nenv = { K = \"v\" }\ncommand = [1\n");
        assert!(shown.contains("command = [1"), "{shown}");
        assert_eq!(
            table_error("invalid type: string \"sk-ant-SECRET\", expected a map"),
            "invalid type: string \"…\", expected a map"
        );
    }
}
