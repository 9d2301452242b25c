//! The shell completions committed under completions/ complete in the real
//! shells: each is loaded as an operator's shell loads it, asked to complete
//! a command line, and must offer each subcommand's own flags. bash is
//! always there; the zsh and fish tests are `#[ignore]`d for needing those
//! shells (`.ci/run` installs both and runs them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env::{expect_exit, stdout};

/// A command line as typed before TAB, what must be offered, and what must
/// not (another subcommand's flag, a hidden subcommand).
const CASES: &[(&str, &[&str], &[&str])] = &[
    (
        "agent-queue ",
        &["scan", "mark-idle", "free-session", "submit", "history"],
        &["recycle", "generate-docs"],
    ),
    (
        "agent-queue --",
        &["--json", "--config", "--version"],
        &["--dry-run"],
    ),
    (
        "agent-queue scan --",
        &["--dry-run", "--json"],
        &["--no-next"],
    ),
    (
        "agent-queue mark-idle --",
        &["--no-next", "--quiet"],
        &["--dry-run"],
    ),
    ("agent-queue free-session --", &["--pool"], &["--dry-run"]),
    (
        "agent-queue submit --",
        &["--create", "--priority", "--tag", "--title"],
        &["--no-next"],
    ),
    (
        "agent-queue history --",
        &["--since", "--session", "--project"],
        &["--create"],
    ),
    (
        "agent-queue --json dispatch --",
        &["--session"],
        &["--pool"],
    ),
];

fn completions(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(file)
}

/// Runs `complete` on every case and checks what it offered.
fn check(shell: &str, complete: impl Fn(&str) -> Vec<String>) {
    let mut problems = Vec::new();
    for (line, want, unwanted) in CASES {
        let got = complete(line);
        let missing: Vec<_> = want
            .iter()
            .filter(|w| !got.iter().any(|g| g == *w))
            .collect();
        let extra: Vec<_> = unwanted
            .iter()
            .filter(|u| got.iter().any(|g| g == *u))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            problems.push(format!(
                "{line:?}<TAB>: missing {missing:?}, offered {extra:?} too; offered {got:?}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{shell} completion:\n{}",
        problems.join("\n")
    );
}

fn run(what: &str, cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.timeout(Duration::from_secs(30)).output().unwrap();
    expect_exit(what, &out, 0, "", String::new);
    stdout(&out)
}

/// Sources the script, finds the function it registered for `agent-queue`
/// (`complete -p`) and calls it as bash's programmable completion does.
const BASH: &str = r#"
source "$1" || exit 3
spec=$(complete -p agent-queue) || exit 4
f=${spec#*-F }
f=${f%% *}
shift
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
"$f" agent-queue "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;

#[test]
fn bash_completes_each_subcommands_flags() {
    let script = completions("agent-queue.bash");
    check("bash", |line| {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        if line.ends_with(' ') {
            words.push("");
        }
        let out = run(
            &format!("bash completion of {line:?}"),
            assert_cmd::Command::new("bash")
                .args(["--norc", "--noprofile", "-c", BASH, "bash"])
                .arg(&script)
                .args(&words),
        );
        out.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    });
}

#[test]
#[ignore = "needs fish"]
fn fish_completes_each_subcommands_flags() {
    let script = completions("agent-queue.fish");
    check("fish", |line| {
        let out = run(
            &format!("fish completion of {line:?}"),
            assert_cmd::Command::new("fish")
                .args([
                    "--no-config",
                    "-c",
                    "source $argv[1]; and complete -C $argv[2]",
                ])
                .arg(&script)
                .arg(line),
        );
        // `candidate<TAB>description`
        out.lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .collect()
    });
}

/// zsh completes only in its line editor: an interactive `zsh -f` on a
/// pseudo-terminal (zpty) loads `_agent-queue` with compinit, records every
/// match added with compadd, and is typed the line and TAB once its line
/// editor waits for input (what is typed before, zsh does not complete); a
/// marker command typed after it ends the record.
const ZSH: &str = r#"
zmodload zsh/zpty || exit 3
dir=$1 out=$2 line=$3
zpty z zsh -f -i
zpty -w z "PS1='%% '; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "compadd() { if (( \${@[(I)-[OAD]]} )); then builtin compadd \"\$@\"; return; fi; local -a m; builtin compadd -O m \"\$@\"; (( \$#m )) && print -rl -- \$m >> ${(q)out}; builtin compadd \"\$@\"; }"
zpty -w z "print -r -- set''up-done"
# Once set up, and back in the line editor (bracketed paste turned on).
ready=$'\e[?2004h'
zpty -r z junk "*setup-done*${(b)ready}" || exit 4
zpty -w -n z "$line"$'\t'$'\C-u'
zpty -w z "print -r -- done. >> ${(q)out}"
for i in {1..400}; do
  [[ -f $out && $(<$out) == *done.* ]] && break
  zpty -rt z junk 2>/dev/null
  sleep 0.05
done
zpty -d z
[[ -f $out && $(<$out) == *done.* ]] || exit 5
"#;

#[test]
#[ignore = "needs zsh"]
fn zsh_completes_each_subcommands_flags() {
    let tmp = tempfile::Builder::new()
        .prefix("aq-zsh-")
        .tempdir()
        .unwrap();
    let fpath = tmp.path().join("functions");
    std::fs::create_dir_all(&fpath).unwrap();
    std::fs::copy(completions("_agent-queue"), fpath.join("_agent-queue")).unwrap();
    check("zsh", |line| {
        let out = tmp.path().join("matches");
        let _ = std::fs::remove_file(&out);
        run(
            &format!("zsh completion of {line:?}"),
            assert_cmd::Command::new("zsh")
                .args(["-f", "-c", ZSH, "zsh"])
                .arg(&fpath)
                .arg(&out)
                .arg(line)
                .env("HOME", tmp.path()),
        );
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .filter(|l| *l != "done.")
            .map(str::to_string)
            .collect()
    });
}
