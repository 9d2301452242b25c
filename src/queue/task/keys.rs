//! Header keys that are almost a known one. Unknown keys are allowed (other
//! tools add their own), so a typo (`prioirty: high`) would otherwise parse
//! as a task at its defaults without a word; a key that is a near miss of a
//! known one is an error that names both.

/// The keys a task header knows.
pub const KNOWN: [&str; 5] = ["title", "priority", "tags", "needs_claude_code", "pool"];

/// Plural and singular slips that an edit distance would not catch.
const SLIPS: [(&str, &str); 6] = [
    ("tag", "tags"),
    ("pools", "pool"),
    ("need_claude_code", "needs_claude_code"),
    ("titles", "title"),
    ("priorities", "priority"),
    ("needs_claude", "needs_claude_code"),
];

/// The known key that `key` is a near miss of, if any: the same but for
/// case or `-` for `_`, a known slip, or one edit away (two for keys of
/// six letters or more; swapping two neighbours is one edit).
pub fn near_miss(key: &str) -> Option<&'static str> {
    if KNOWN.contains(&key) {
        return None;
    }
    let norm = key.trim().to_lowercase().replace('-', "_");
    if let Some(k) = KNOWN.iter().find(|k| **k == norm) {
        return Some(k);
    }
    if let Some((_, k)) = SLIPS.iter().find(|(slip, _)| *slip == norm) {
        return Some(k);
    }
    KNOWN
        .iter()
        .map(|k| (k, distance(&norm, k)))
        .filter(|(k, d)| *d <= if k.len() >= 6 { 2 } else { 1 })
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| *k)
}

/// Edits (insert, delete, replace, swap two neighbours) from `a` to `b`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_slips_name_the_key_meant() {
        for (key, meant) in [
            ("prioirty", "priority"),
            ("priorty", "priority"),
            ("titel", "title"),
            ("tag", "tags"),
            ("need_claude_code", "needs_claude_code"),
            ("needs-claude-code", "needs_claude_code"),
            ("pools", "pool"),
            ("Priority", "priority"),
            ("tittle", "title"),
        ] {
            assert_eq!(near_miss(key), Some(meant), "{key}");
        }
    }

    #[test]
    fn known_keys_and_other_tools_keys_pass() {
        for key in KNOWN.iter().chain(&[
            "author", "status", "type", "date", "time", "model", "labels", "owner", "id",
            "project", "tools", "estimate",
        ]) {
            assert_eq!(near_miss(key), None, "{key}");
        }
    }
}
