//! A hook's JSON, read leniently where it is valid grammar, into the few
//! fields agent-queue uses, each cleaned for where it goes: ids and paths
//! lose every control character (a newline in one would forge a row wherever
//! it is shown), the agent's last message keeps newlines and tabs.

use std::borrow::Cow;

use serde_json::Value;

/// How much of the agent's last message is kept.
const MAX_MESSAGE: usize = 4096;

/// The hook events agent-queue acts on, by `hook_event_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HookEvent {
    UserPromptSubmit,
    Stop,
    /// The turn ended on an API error (`error`).
    StopFailure(ApiError),
    /// Any other: nothing to do.
    Other(String),
}

/// A `StopFailure`'s `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ApiError {
    /// `rate_limit`: the account hit its usage limit.
    RateLimit,
    Other,
}

impl HookEvent {
    fn read(name: &str, error: Option<&str>) -> HookEvent {
        match name {
            "UserPromptSubmit" => HookEvent::UserPromptSubmit,
            "Stop" => HookEvent::Stop,
            "StopFailure" => HookEvent::StopFailure(match error {
                Some("rate_limit") => ApiError::RateLimit,
                _ => ApiError::Other,
            }),
            other => HookEvent::Other(clean_id(other, 100)),
        }
    }
}

/// The fields agent-queue reads; everything else in the JSON is ignored.
#[derive(Debug)]
pub(super) struct Input {
    pub(super) event: HookEvent,
    pub(super) agent_session_id: Option<String>,
    pub(super) transcript_path: Option<String>,
    pub(super) prompt: Option<String>,
    pub(super) last_message: Option<String>,
    pub(super) error: Option<String>,
}

pub(super) fn parse(bytes: &[u8]) -> anyhow::Result<Input> {
    let value: Value = serde_json::from_slice(&lone_surrogates_replaced(bytes))
        .map_err(|e| anyhow::anyhow!("its input is not JSON ({e})"))?;
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    let name = text("hook_event_name")
        .ok_or_else(|| anyhow::anyhow!("its input has no hook_event_name"))?;
    let error = text("error").map(|s| clean_id(s, 200));
    Ok(Input {
        event: HookEvent::read(name, error.as_deref()),
        agent_session_id: text("session_id").map(|s| clean_id(s, 200)),
        transcript_path: text("transcript_path").map(|s| clean_id(s, 4096)),
        prompt: text("prompt").map(str::to_string),
        last_message: text("last_assistant_message").map(|s| clean(s, MAX_MESSAGE)),
        error,
    })
}

/// JSON as a JavaScript string cut inside a surrogate pair serialises it
/// (`"\ud83d"` alone): valid grammar that serde_json refuses. Each `\u`
/// escape of a lone surrogate becomes `\ufffd`, U+FFFD, so the rest of the
/// hook is read. Escapes are only read inside strings, where `\` always
/// starts one, so a `\\u` (an escaped backslash, then `u`) is left alone.
fn lone_surrogates_replaced(bytes: &[u8]) -> Cow<'_, [u8]> {
    let hex = |at: usize| -> Option<u16> {
        let digits = bytes.get(at + 2..at + 6)?;
        (bytes.get(at..at + 2) == Some(b"\\u".as_slice()))
            .then(|| u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok())
            .flatten()
    };
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            if let Some(o) = out.as_mut() {
                o.push(bytes[i]);
            }
            i += 1;
            continue;
        }
        let (len, lone) = match hex(i) {
            Some(0xD800..=0xDBFF) => match hex(i + 6) {
                Some(0xDC00..=0xDFFF) => (12, false),
                _ => (6, true),
            },
            Some(0xDC00..=0xDFFF) => (6, true),
            Some(_) => (6, false),
            None => (2, false),
        };
        let end = (i + len).min(bytes.len());
        if lone {
            out.get_or_insert_with(|| bytes[..i].to_vec())
                .extend_from_slice(b"\\ufffd");
        } else if let Some(o) = out.as_mut() {
            o.extend_from_slice(&bytes[i..end]);
        }
        i = end;
    }
    out.map_or(Cow::Borrowed(bytes), Cow::Owned)
}

/// At most `max` bytes (on a character boundary), control characters other
/// than newline and tab removed: what is recorded is shown in terminals.
fn clean(s: &str, max: usize) -> String {
    bounded(s, max, |c| c.is_control() && c != '\n' && c != '\t')
}

/// An id or a path: every control character removed (a newline in one
/// would forge a row wherever it is shown).
fn clean_id(s: &str, max: usize) -> String {
    bounded(s, max, char::is_control)
}

fn bounded(s: &str, max: usize, drop: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    for c in s.chars().filter(|&c| !drop(c)) {
        if out.len() + c.len_utf8() > max {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_stop_payload_reads() {
        let input = parse(
            br#"{"session_id":"b6960bbd-4532-4ba7-9db8-bd485b898ee3","transcript_path":"/h/.claude/projects/-tmp-aqr/b6960bbd-4532-4ba7-9db8-bd485b898ee3.jsonl","cwd":"/tmp/aqr","prompt_id":"2d72f502","permission_mode":"bypassPermissions","effort":{"level":"high"},"hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"Done.","background_tasks":[],"session_crons":[]}"#,
        )
        .unwrap();
        assert_eq!(input.event, HookEvent::Stop);
        assert_eq!(
            input.agent_session_id.as_deref(),
            Some("b6960bbd-4532-4ba7-9db8-bd485b898ee3")
        );
        assert_eq!(input.last_message.as_deref(), Some("Done."));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(parse(b"{ torn").is_err());
        assert!(parse(b"[1, 2]").is_err());
        assert!(parse(br#"{"session_id": 5}"#).is_err());
        let odd = parse(br#"{"hook_event_name":"Stop","session_id":5,"prompt":null}"#).unwrap();
        assert_eq!(odd.agent_session_id, None);
    }

    #[test]
    fn a_lone_surrogate_reads_as_a_replacement_character() {
        let input = parse(
            br#"{"hook_event_name":"Stop","session_id":"s","last_assistant_message":"Fixed it \ud83d"}"#,
        )
        .unwrap();
        assert_eq!(input.last_message.as_deref(), Some("Fixed it \u{fffd}"));
        let table: [(&[u8], &str); 6] = [
            (br#""\ud83d\ude00""#, "\u{1f600}"),
            (br#""a\udc00b""#, "a\u{fffd}b"),
            (br#""\ud83d\u0041""#, "\u{fffd}A"),
            (br#""\\ud83d""#, "\\ud83d"),
            (br#""\ud83d""#, "\u{fffd}"),
            (br#""\""#, ""),
        ];
        for (json, want) in table {
            let fixed = lone_surrogates_replaced(json);
            let got: Result<String, _> = serde_json::from_slice(&fixed);
            match got {
                Ok(got) => assert_eq!(got, want, "{}", String::from_utf8_lossy(json)),
                // Torn input stays torn: it is refused, not repaired.
                Err(_) => assert_eq!(want, "", "{}", String::from_utf8_lossy(json)),
            }
        }
    }

    #[test]
    fn ids_and_paths_lose_every_control_character() {
        let input = parse(
            b"{\"hook_event_name\":\"Stop\",\"session_id\":\"abc\\ndone fake\\t\\u001b[2J\",\
              \"transcript_path\":\"/t\\n/x\",\"error\":\"rate_limit\\n\"}",
        )
        .unwrap();
        assert_eq!(input.agent_session_id.as_deref(), Some("abcdone fake[2J"));
        assert_eq!(input.transcript_path.as_deref(), Some("/t/x"));
        assert_eq!(input.error.as_deref(), Some("rate_limit"));
        assert_eq!(
            HookEvent::read("StopFailure", Some("server_error")),
            HookEvent::StopFailure(ApiError::Other)
        );
    }

    #[test]
    fn messages_are_bounded_and_lose_control_characters() {
        assert_eq!(clean("a\u{1b}[31mb\nc\td\u{7}", 100), "a[31mb\nc\td");
        let long = "é".repeat(5000);
        let kept = clean(&long, MAX_MESSAGE);
        assert!(kept.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(kept.ends_with('…'));
    }
}
