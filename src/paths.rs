//! Paths in JSON, losslessly. JSON strings must be UTF-8 and file names
//! need not be, so every path that agent-queue writes as JSON (the state
//! file, the history journal, `--json` lines) goes through [`escape_path`],
//! and what it wrote reads back through [`unescape_path`]. Storage and
//! output both use it, so it belongs to neither.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serializer};

/// A path as JSON shows it, losslessly: the UTF-8 parts as they are, except
/// that `\` is doubled, and every byte that is not part of valid UTF-8 as
/// `\xHH` (two lowercase hex digits). So an ordinary path reads as itself,
/// two different paths never read the same, and `printf '%b'` turns the
/// text back into the bytes.
pub fn escape_path(path: &Path) -> String {
    escape_bytes(path.as_os_str().as_bytes())
}

pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The path [`escape_path`] was given. A `\` that starts neither `\\` nor
/// `\xHH` stands for itself, so that a path written before paths were
/// escaped reads back as it was.
pub fn unescape_path(text: &str) -> PathBuf {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
            let hex = bytes
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok());
            if bytes.get(i + 1) == Some(&b'x') {
                if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Serde for a path field shown with [`escape_path`]:
/// `#[serde(with = "crate::paths::json_path")]`.
pub mod json_path {
    use super::*;

    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&escape_path(path))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        Ok(unescape_path(&String::deserialize(d)?))
    }
}

/// [`json_path`] for an optional path.
pub mod json_path_opt {
    use super::*;

    pub fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
        match path {
            Some(p) => s.serialize_some(&escape_path(p)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(|t| unescape_path(&t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_json_are_escaped_losslessly_and_ordinary_ones_unchanged() {
        let p = |b: &[u8]| PathBuf::from(OsString::from_vec(b.to_vec()));
        for ordinary in ["/srv/p/a b/.agent-queue/inbox/x.md", "/p/café ❯.md", ""] {
            assert_eq!(escape_path(Path::new(ordinary)), ordinary);
        }
        assert_eq!(escape_path(&p(b"/p/caf\xe9.md")), "/p/caf\\xe9.md");
        assert_eq!(escape_path(Path::new("a\\b")), "a\\\\b");
        // Names that a naive escaping would print alike.
        let names: Vec<PathBuf> = [
            &b"caf\xe9.md"[..],
            b"caf\\xe9.md",
            b"caf\\\xe9.md",
            b"caf\xc3\xa9.md",
            b"caf\xef\xbf\xbd.md",
            b"\\",
            b"\\\\",
            b"\\x",
            b"\xff\xfe",
            b"\xc3",
        ]
        .iter()
        .map(|b| p(b))
        .collect();
        let shown: std::collections::HashSet<String> =
            names.iter().map(|n| escape_path(n)).collect();
        assert_eq!(shown.len(), names.len(), "{shown:?}");
        for n in &names {
            assert_eq!(&unescape_path(&escape_path(n)), n);
        }
        assert_eq!(
            unescape_path("old \\ path \\q"),
            Path::new("old \\ path \\q")
        );
    }

    proptest::proptest! {
        #[test]
        fn escaping_round_trips_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let path = PathBuf::from(OsString::from_vec(bytes));
            proptest::prop_assert_eq!(unescape_path(&escape_path(&path)), path);
        }
    }
}
