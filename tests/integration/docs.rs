//! The man pages and completions committed under man/ and completions/ are
//! what `agent-queue generate-docs` renders from the clap definitions today,
//! and the man pages render with groff without a single warning; the
//! README's config snippets load.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::env::{bin, expect_exit, stderr};

const REGENERATE: &str =
    "run `cargo run -- generate-docs` in the repository and commit man/ and completions/";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir/man` and `dir/completions`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["man", "completions"] {
        let Ok(entries) = fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            out.insert(format!("{sub}/{name}"), fs::read(entry.path()).unwrap());
        }
    }
    out
}

#[test]
fn committed_man_pages_and_completions_are_up_to_date() {
    let tmp = tempfile::Builder::new()
        .prefix("aq-docs-")
        .tempdir()
        .unwrap();
    let out = Command::new(bin())
        .arg("generate-docs")
        .arg(tmp.path())
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    expect_exit("agent-queue generate-docs", &out, 0, "", String::new);
    let fresh = files(tmp.path());
    assert!(
        fresh.contains_key("man/agent-queue.1")
            && ["agent-queue.bash", "_agent-queue", "agent-queue.fish"]
                .iter()
                .all(|f| fresh.contains_key(&format!("completions/{f}"))),
        "generate-docs rendered only {:?}",
        fresh.keys().collect::<Vec<_>>()
    );
    let committed = files(&repo());
    let mut problems = Vec::new();
    for (rel, bytes) in &fresh {
        match committed.get(rel) {
            None => problems.push(format!("{rel} is missing")),
            Some(old) if old != bytes => problems.push(format!("{rel} is stale")),
            Some(_) => {}
        }
    }
    for rel in committed.keys().filter(|rel| !fresh.contains_key(*rel)) {
        problems.push(format!("{rel} is no longer generated: remove it"));
    }
    assert!(problems.is_empty(), "{}\n{REGENERATE}", problems.join("\n"));
}

#[test]
#[ignore = "needs groff"]
fn man_pages_render_with_groff_without_a_warning() {
    let mut pages: Vec<PathBuf> = fs::read_dir(repo().join("man"))
        .unwrap_or_else(|e| panic!("man/: {e}; {REGENERATE}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "no man pages in man/; {REGENERATE}");
    let mut problems = Vec::new();
    for page in &pages {
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(page)
            .env("LC_ALL", "C")
            .output()
            .expect("groff runs");
        if !out.status.success() || !out.stderr.is_empty() {
            problems.push(format!(
                "{}: {}\n{}",
                page.display(),
                out.status,
                stderr(&out)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "groff -man -ww -z:\n{}",
        problems.join("\n")
    );
}

/// The ```toml blocks of `text`, with the line each starts on.
fn toml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.trim_start()) {
            (None, "```toml") => open = Some((i + 1, String::new())),
            (Some(_), "```") => blocks.extend(open.take()),
            (Some((_, block)), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(open.is_none(), "a ```toml block is never closed");
    blocks
}

/// `snippet` over `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, snippet: toml::Table) {
    for (key, value) in snippet {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(s)) => merge(b, s),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Every config snippet of the README loads with the real loader. Most show
/// a few keys ("`[pool]` as above, plus:"), so each is read over the least
/// config that loads: one project root and one pool.
#[test]
fn every_toml_block_of_the_readme_loads_as_a_config() {
    const BASE: &str = "[projects]\nroots = [\"/srv/p\"]\n\
        [pool]\nprefix = \"ccl-auto-\"\nstart = 1\nsize = 2\n";
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks = toml_blocks(&readme);
    assert!(blocks.len() >= 3, "only {} ```toml blocks", blocks.len());
    agent_queue::config::parse(BASE, Path::new("base.toml")).expect("the base loads");
    for (line, block) in blocks {
        let snippet: toml::Table = toml::from_str(&block)
            .unwrap_or_else(|e| panic!("README.md line {line}: not TOML: {e}\n{block}"));
        let mut config: toml::Table = toml::from_str(BASE).unwrap();
        merge(&mut config, snippet);
        let text = toml::to_string(&config).unwrap();
        if let Err(e) = agent_queue::config::parse(&text, &repo().join("README.md")) {
            panic!("README.md line {line}: the config does not load: {e:#}\n{block}");
        }
    }
}
