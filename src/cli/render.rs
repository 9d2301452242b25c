//! Man pages and shell completions, rendered from the clap definitions so
//! that they always say what the binary parses. Committed under `man/` and
//! `completions/`; `agent-queue generate-docs` writes them and a test fails
//! when the committed copies are stale.

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use crate::cli::Cli;
use crate::error::Exit;

/// (term, description) pairs of a man page section.
type Items = &'static [(&'static str, &'static str)];

const FILES: Items = &[
    ("~/.config/agent-queue/config.toml", "The config (TOML). See contrib/config.example.toml for every key and its default."),
    ("~/.local/state/agent-queue/state.json", "Which session holds which task. Written atomically; read and written under the lock file state.json.lock beside it. Launches in flight hold state.json.launches/<session>.lock."),
    ("~/.local/state/agent-queue/history.jsonl", "The history journal: every event agent-queue reported, one JSON object per line with its time. Past [history] max_size (16MiB) it is renamed history.jsonl.1, replacing the older one. Read it with agent-queue history."),
    ("~/.local/state/agent-queue/recycle.log", "What mark-idle did in the background after a Stop hook (the /exit and the next dispatch)."),
    ("<project>/.agent-queue/inbox/", "Pending tasks: regular files named *.md, not starting with a dot. Dispatched tasks are renamed *.md.dispatched, rejected ones *.md.rejected."),
    ("<project>/.agent-queue/tmp/", "Where submit stages a task before renaming it into the inbox."),
    ("~/.claude-context/<session>-resume-id.txt", "A session id to resume (--resume) at the next launch in that session; removed once that launch worked."),
];

const ENVIRONMENT: Items = &[
    ("AGENT_QUEUE_CONFIG", "The config file, when --config is not given."),
    ("XDG_CONFIG_HOME, XDG_STATE_HOME, HOME", "Where the default config and state live."),
    ("TMUX_PANE, TMUX", "Set by tmux inside a pane: mark-idle and hook without a session name act on the session holding this pane, when TMUX names a configured tmux server."),
    (crate::pane::RUN_VAR, "Set by the script agent-queue starts an agent with, for the agent and its hooks: which start they belong to. hook and mark-idle find their session by it first (it also works through ssh)."),
    ("JOURNAL_STREAM", "Set by systemd: when it names stderr, log lines carry <N> priority prefixes for journald."),
];

const EXAMPLES: Items = &[
    (
        "agent-queue scan --dry-run",
        "Show which task would go to which session, changing nothing.",
    ),
    (
        "agent-queue submit ~/src/shop --priority high --title 'Fix login' < task.md",
        "Write a task into a project's inbox safely.",
    ),
    (
        "agent-queue scan --json | jq -r 'select(.event==\"dispatched\") | .session'",
        "Dispatch, and list the sessions that got a task.",
    ),
    (
        "agent-queue dispatch ~/src/shop/.agent-queue/inbox/fix.md --session ccl-1-shop",
        "Hand one task to a dedicated session by hand.",
    ),
    (
        "agent-queue mark-idle",
        "In a Claude Code Stop hook: end the task of the session this runs in.",
    ),
    (
        "agent-queue history fix-login.md",
        "The life of one task: when it was dispatched, received and done, in which session, and the agent's last message.",
    ),
    (
        "agent-queue history --session ccl-auto-11 --since 2h",
        "What one session did in the last two hours.",
    ),
    (
        "agent-queue status --json | jq '.projects[] | select(.pending > 0)'",
        "Projects with work waiting.",
    ),
];

fn section(roff: &mut Roff, title: &str, items: Items) {
    roff.control("SH", [title]);
    for (term, text) in items {
        roff.control("TP", []);
        roff.text([bold(*term)]);
        roff.text([roman(*text)]);
    }
}

fn render_man(cmd: clap::Command, main: bool) -> std::io::Result<Vec<u8>> {
    let man = Man::new(cmd)
        .date("")
        .source(concat!("agent-queue ", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if main {
        man.render_subcommands_section(&mut out)?;
        let mut roff = Roff::new();
        roff.control("SH", ["EXIT STATUS"]);
        for e in Exit::ALL {
            roff.control("TP", []);
            roff.text([bold(e.code().to_string())]);
            roff.text([roman(e.meaning())]);
        }
        section(&mut roff, "FILES", FILES);
        section(&mut roff, "ENVIRONMENT", ENVIRONMENT);
        section(&mut roff, "EXAMPLES", EXAMPLES);
        roff.control("SH", ["SEE ALSO"]);
        roff.text([roman("tmux(1), systemd.path(5), systemd.timer(5)")]);
        roff.to_writer(&mut out)?;
        man.render_version_section(&mut out)?;
    }
    Ok(out)
}

/// Every generated file, as (path relative to the repository, content).
pub fn render() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut files = vec![(
        "man/agent-queue.1".to_string(),
        render_man(cmd.clone(), true)?,
    )];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("agent-queue-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).display_name(name.clone());
        files.push((format!("man/{name}.1"), render_man(page, false)?));
    }
    // clap_complete offers hidden subcommands too: complete a copy of the
    // command that has only the visible ones.
    let full = Cli::command();
    let mut visible = clap::Command::new("agent-queue")
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    for (shell, file) in [
        (Shell::Bash, "agent-queue.bash"),
        (Shell::Zsh, "_agent-queue"),
        (Shell::Fish, "agent-queue.fish"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut visible, "agent-queue", &mut out);
        if shell == Shell::Bash {
            out = fix_bash(&String::from_utf8(out)?, "agent-queue")?.into_bytes();
        }
        files.push((format!("completions/{file}"), out));
    }
    Ok(files)
}

/// clap_complete's bash script finds the subcommand being completed in a
/// loop that sets `cmd` to the program's name with `-` escaped as `__`, then
/// each subcommand's, joined by `__subcmd__` (`agent__queue__subcmd__scan`);
/// but it labels the `case "${cmd}"` branches that offer each subcommand's
/// flags with the program's `-` escaped as `__subcmd__` too
/// (`agent__subcmd__queue__subcmd__scan`). For a program whose name holds a
/// hyphen no branch matches, and `agent-queue scan --<TAB>` offers nothing.
/// This spells the labels as the loop does (where clap_complete already
/// does, it changes nothing), then checks that every `cmd` the loop can set
/// has its branch.
fn fix_bash(script: &str, bin: &str) -> anyhow::Result<String> {
    let wrong = format!("{}__subcmd__", bin.replace('-', "__subcmd__"));
    let right = format!("{}__subcmd__", bin.replace('-', "__"));
    let mut fixed = String::with_capacity(script.len());
    for line in script.split_inclusive('\n') {
        let label = line.trim();
        if label.starts_with(&wrong) && label.ends_with(')') {
            fixed.push_str(&line.replacen(&wrong, &right, 1));
        } else {
            fixed.push_str(line);
        }
    }
    let labels: std::collections::BTreeSet<&str> = fixed
        .lines()
        .filter_map(|l| l.trim().strip_suffix(')'))
        .collect();
    for line in fixed.lines() {
        if let Some(cmd) = line
            .trim()
            .strip_prefix("cmd=\"")
            .and_then(|c| c.strip_suffix('"'))
        {
            if !cmd.is_empty() && !labels.contains(cmd) {
                anyhow::bail!("the bash completion has no branch for `{cmd}`");
            }
        }
    }
    Ok(fixed)
}

#[cfg(test)]
mod tests {
    use super::fix_bash;

    const SCRIPT: &str = "    for i in \"${COMP_WORDS[@]:0:COMP_CWORD}\"
    do
        case \"${cmd},${i}\" in
            \",$1\")
                cmd=\"my__app\"
                ;;
            my__app,free-session)
                cmd=\"my__app__subcmd__free__subcmd__session\"
                ;;
        esac
    done
    case \"${cmd}\" in
        my__app)
            ;;
        my__subcmd__app__subcmd__free__subcmd__session)
            ;;
    esac
";

    #[test]
    fn bash_branches_are_labelled_as_the_loop_spells_cmd() {
        let fixed = fix_bash(SCRIPT, "my-app").unwrap();
        assert!(fixed.contains("\n        my__app__subcmd__free__subcmd__session)\n"));
        assert!(!fixed.contains("my__subcmd__app"));
        assert_eq!(fix_bash(&fixed, "my-app").unwrap(), fixed);
    }

    #[test]
    fn a_cmd_without_its_branch_is_an_error() {
        let broken = SCRIPT.replace("        my__app)\n", "");
        let err = fix_bash(&broken, "my-app").unwrap_err().to_string();
        assert!(err.contains("`my__app`"), "{err}");
    }
}
