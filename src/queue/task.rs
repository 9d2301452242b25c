//! A task file is Markdown with an optional YAML header. Parsed best-effort,
//! a broken header would silently become part of the prompt; so the parser
//! is strict, pure (bytes in, task or error out) and names the line
//! at fault, and the one function that touches the disk refuses anything that
//! is not a small regular file before reading a byte of it.

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

mod keys;

/// Larger files are refused: a task is a prompt, not a payload.
pub const MAX_TASK_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Critical,
    High,
    Default,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Critical, Self::High, Self::Default, Self::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Default => "default",
            Self::Low => "low",
        }
    }

    /// Case-insensitive, as operators write `High` as often as `high`.
    pub fn parse(s: &str) -> Option<Priority> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    pub title: Option<String>,
    pub priority: Priority,
    pub tags: Vec<String>,
    /// Only pools whose agent is Claude Code may take it (the default).
    pub needs_claude_code: bool,
    /// Only this pool may take it.
    pub pool: Option<String>,
    /// Where it runs, when not as its project says (`isolation:`);
    /// `parse` shows it only when the header sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<crate::queue::worktree::Isolation>,
    pub body: String,
}

impl Default for Task {
    fn default() -> Self {
        Task {
            title: None,
            priority: Priority::Default,
            tags: Vec::new(),
            needs_claude_code: true,
            pool: None,
            isolation: None,
            body: String::new(),
        }
    }
}

/// Why a task file does not parse; `line` is 1-based in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for TaskError {}

fn error(line: Option<usize>, message: impl Into<String>) -> TaskError {
    TaskError {
        line,
        message: message.into(),
    }
}

/// The header as written; every field optional so that `key:` (null) means
/// "default" rather than a type error.
#[derive(Deserialize, Serialize, Default)]
struct Header {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    needs_claude_code: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    isolation: Option<String>,
}

/// Parses a task file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Task, TaskError> {
    if bytes.len() as u64 > MAX_TASK_BYTES {
        return Err(error(
            None,
            format!("file is {} bytes, over the 1 MiB limit", bytes.len()),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        error(Some(line), "not UTF-8 text")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // CRLF and lone CR line ends both become LF, so that what `render`
    // writes reads back the same.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");

    let Some((header, body)) = split_header(&text)? else {
        return Ok(Task {
            body: text.trim().to_string(),
            ..Task::default()
        });
    };
    let fields = parse_header(header)?;
    let priority = match fields.priority.as_deref() {
        None => Priority::Default,
        Some(p) => Priority::parse(p).ok_or_else(|| {
            error(
                key_line(header, "priority"),
                format!("unknown priority `{p}` (expected critical, high, default or low)"),
            )
        })?,
    };
    let isolation = match fields.isolation.as_deref() {
        None => None,
        Some(i) => Some(crate::queue::worktree::Isolation::parse(i).ok_or_else(|| {
            error(
                key_line(header, "isolation"),
                format!("unknown isolation `{i}` (expected worktree or none)"),
            )
        })?),
    };
    Ok(Task {
        title: fields.title.filter(|t| !t.trim().is_empty()),
        isolation,
        priority,
        tags: fields.tags.unwrap_or_default(),
        needs_claude_code: fields.needs_claude_code.unwrap_or(true),
        pool: fields.pool.filter(|p| !p.trim().is_empty()),
        body: body.trim().to_string(),
    })
}

/// Splits `---\n<yaml>\n---\n<body>`; `None` when there is no header at all.
fn split_header(text: &str) -> Result<Option<(&str, &str)>, TaskError> {
    let mut lines = text.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return Ok(None);
    };
    if !is_fence(first) {
        return Ok(None);
    }
    let start = first.len();
    let mut pos = start;
    for line in lines {
        if is_fence(line) {
            return Ok(Some((&text[start..pos], &text[pos + line.len()..])));
        }
        pos += line.len();
    }
    Err(error(
        Some(1),
        "unterminated frontmatter: the header opened by `---` has no closing `---` line",
    ))
}

fn is_fence(line: &str) -> bool {
    line.trim_end_matches([' ', '\t', '\n']) == "---"
}

/// Deeper `[`/`{` nesting than this is refused before the YAML parser sees
/// it: its time grows with the square of the depth (64,000 levels: 7 s).
const MAX_NESTING: usize = 64;
/// A header is a few short lines; this bounds the parser's work.
const MAX_HEADER_BYTES: usize = 64 * 1024;

fn check_header_shape(yaml: &str) -> Result<(), TaskError> {
    if yaml.len() > MAX_HEADER_BYTES {
        return Err(error(
            Some(2),
            format!("the header is {} bytes, over the 64 KiB limit", yaml.len()),
        ));
    }
    let (mut depth, mut line) = (0usize, 2usize);
    for c in yaml.chars() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            '\n' => line += 1,
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(error(
                Some(line),
                format!("invalid header: nested deeper than {MAX_NESTING} levels"),
            ));
        }
    }
    Ok(())
}

fn parse_header(yaml: &str) -> Result<Header, TaskError> {
    check_header_shape(yaml)?;
    let blank = yaml
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if blank {
        return Ok(Header::default());
    }
    let header = serde_norway::from_str::<Header>(yaml).map_err(|e| {
        // +1: the opening `---` is line 1 of the file.
        let line = e.location().map(|l| l.line() + 1);
        let mut message = e.to_string();
        if let Some(at) = message.find(" at line ") {
            message.truncate(at);
        }
        if message.contains("expected struct Header") {
            message = "the header is not a mapping of `key: value` lines".to_string();
        }
        error(line, format!("invalid header: {message}"))
    })?;
    // Parsed as a Header, the text is a mapping: its keys, as written.
    let keys: Vec<String> = serde_norway::from_str::<serde_norway::Mapping>(yaml)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for key in keys {
        if let Some(meant) = keys::near_miss(&key) {
            return Err(error(
                key_line(yaml, &key),
                format!(
                    "unknown header key `{key}`: did you mean `{meant}`? (other unknown keys \
                     are allowed, for other tools)"
                ),
            ));
        }
    }
    Ok(header)
}

/// The file line of a top-level header key, for errors serde cannot place.
fn key_line(header: &str, key: &str) -> Option<usize> {
    header
        .lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        // +2: the header starts on line 2, after the opening `---`.
        .map(|i| i + 2)
}

/// Renders a task as a file that [`parse`] reads back to the same task.
pub fn render(task: &Task) -> String {
    let header = Header {
        title: task.title.clone(),
        priority: Some(task.priority.as_str().to_string()),
        tags: (!task.tags.is_empty()).then(|| task.tags.clone()),
        needs_claude_code: (!task.needs_claude_code).then_some(false),
        pool: task.pool.clone(),
        isolation: task.isolation.map(|i| i.as_str().to_string()),
    };
    let yaml = serde_norway::to_string(&header).expect("a header always serialises");
    let file = format!("---\n{yaml}---\n{}\n", task.body.trim());
    // The emitter writes some values in a form its own parser reads
    // otherwise (a pool ending in U+2028 runs into the closing `---`):
    // those headers go double-quoted, every character that is not plainly
    // printable as an escape.
    match parse(file.as_bytes()) {
        Ok(back) if header_of(&back) == header_of(task) => file,
        _ => format!("---\n{}---\n{}\n", quoted(&header), task.body.trim()),
    }
}

/// What a task's header says, to compare a rendering with its task.
fn header_of(task: &Task) -> impl PartialEq + '_ {
    (
        &task.title,
        task.priority,
        &task.tags,
        task.needs_claude_code,
        &task.pool,
        task.isolation,
    )
}

/// `header` with every string double-quoted (`yaml_string`).
fn quoted(header: &Header) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: String| out.push_str(&format!("{key}: {value}\n"));
    if let Some(v) = &header.title {
        line("title", yaml_string(v));
    }
    if let Some(v) = &header.priority {
        line("priority", yaml_string(v));
    }
    if let Some(tags) = &header.tags {
        let tags: Vec<String> = tags.iter().map(|t| yaml_string(t)).collect();
        line("tags", format!("[{}]", tags.join(", ")));
    }
    if let Some(v) = header.needs_claude_code {
        line("needs_claude_code", v.to_string());
    }
    if let Some(v) = &header.pool {
        line("pool", yaml_string(v));
    }
    if let Some(v) = &header.isolation {
        line("isolation", yaml_string(v));
    }
    out
}

/// A YAML double-quoted scalar of `s`: `"` and `\` escaped, and every
/// character YAML does not take as printable, or reads as a line break
/// (U+0085, U+2028, U+2029), as `\u`/`\U`.
fn yaml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        let plain = matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{2027}' | '\u{202a}'..='\u{d7ff}' | '\u{e000}'..='\u{fefe}' | '\u{ff00}'..='\u{fffd}' | '\u{10000}'..);
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if plain => out.push(c),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// Reads and parses a task file without following a symlink or blocking on
/// a FIFO: the file is opened `O_NOFOLLOW | O_NONBLOCK` and checked to be a
/// regular file through the open descriptor, so a swap between a check and the
/// read cannot fool it.
pub fn read(path: &Path) -> Result<Task, ReadError> {
    let bytes = read_bytes(path)?;
    parse(&bytes).map_err(ReadError::Invalid)
}

#[derive(Debug)]
pub enum ReadError {
    /// Not a regular file, or could not be read: not the file's fault.
    Io(std::io::Error),
    /// The file's content is wrong.
    Invalid(TaskError),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => e.fmt(f),
            ReadError::Invalid(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {}

pub fn read_bytes(path: &Path) -> Result<Vec<u8>, ReadError> {
    let file = crate::store::private::open_regular(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if meta.len() > MAX_TASK_BYTES {
        return Err(ReadError::Invalid(error(
            None,
            format!("file is {} bytes, over the 1 MiB limit", meta.len()),
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_TASK_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests;
