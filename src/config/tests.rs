use super::*;

fn cfg(text: &str) -> anyhow::Result<Config> {
    parse(text, Path::new("/etc/agent-queue.toml"))
}

const MINIMAL: &str = "[projects]\npaths = [\"/srv/p/a\"]\n[pool]\n";

#[test]
fn minimal_config_gets_the_documented_defaults() {
    let c = cfg(MINIMAL).unwrap();
    assert_eq!(c.tmux_command, ["tmux"]);
    assert_eq!(c.pools[0].sessions().collect::<Vec<_>>().len(), 10);
    assert_eq!(c.pools[0].sessions().next().unwrap(), "ccl-auto-11");
    assert_eq!(c.pools[0].cooldown, Duration::from_secs(300));
    assert!(c.pools[0].recycle);
    assert_eq!(c.agent.ready_timeout, Duration::from_secs(30));
    assert_eq!(c.agent.models.for_priority(Priority::Critical), "opus");
    assert_eq!(c.agent.models.for_priority(Priority::Low), "sonnet");
    assert_eq!(c.agent.dialogs, default_dialogs());
    assert_eq!(c.projects.max_depth, 3);
    assert_eq!(c.projects.settle, Duration::from_secs(2));
    let c = cfg("[projects]\nsettle = \"0s\"\n[pool]\n").unwrap();
    assert_eq!(c.projects.settle, Duration::ZERO);
}

#[test]
fn unknown_keys_are_errors_that_name_them() {
    let e = cfg(&format!("{MINIMAL}cooldwn = \"5m\"\n")).unwrap_err();
    assert!(crate::error::is_bad_input(&e));
    assert!(format!("{e:#}").contains("cooldwn"), "{e:#}");
    let e = cfg("[projects]\npaths=[]\n[pool]\n[agent.models]\nurgent = \"opus\"\n").unwrap_err();
    assert!(format!("{e:#}").contains("urgent"), "{e:#}");
}

#[test]
fn projects_and_pool_must_be_said() {
    assert!(format!("{:#}", cfg("[pool]\n").unwrap_err()).contains("[projects]"));
    assert!(format!("{:#}", cfg("[projects]\npaths=[]\n").unwrap_err()).contains("[pool]"));
}

#[test]
fn durations_read_like_operators_write_them() {
    assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
    assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_duration("12"), Some(Duration::from_secs(12)));
    assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
    assert_eq!(parse_duration("5 parsecs"), None);
    assert_eq!(parse_duration("-1s"), None);
    assert_eq!(parse_duration("99999999999999999999999h"), None);
    let e = cfg(&format!("{MINIMAL}cooldown = \"soon\"\n")).unwrap_err();
    assert!(format!("{e:#}").contains("soon"), "{e:#}");
}

#[test]
fn tilde_is_expanded() {
    let c = cfg("[state]\nfile = \"~/s.json\"\n[projects]\nroots = [\"~/p\"]\n[pool]\n").unwrap();
    assert_eq!(c.state_file, home().join("s.json"));
    assert_eq!(c.projects.roots, vec![home().join("p")]);
    assert_eq!(c.agent.resume_dir, home().join(".claude-context"));
}

#[test]
fn configured_dialogs_replace_defaults_by_name_and_add_the_rest() {
    let c = cfg(&format!(
        "{MINIMAL}[[agent.dialog]]\nname = \"Folder Trust\"\nmatch = \"Yes, I trust this folder\"\nanswer = [\"Enter\"]\n\
         [[agent.dialog]]\nname = \"survey\"\nmatch = \"How is Claude doing\"\nanswer = [\"0\"]\n"
    ))
    .unwrap();
    assert_eq!(c.agent.dialogs.len(), default_dialogs().len() + 1);
    assert_eq!(c.agent.dialogs[0].answer, ["Enter"]);
    assert_eq!(c.agent.dialogs.last().unwrap().name, "survey");
}

#[test]
fn pool_membership_is_exact() {
    let c = cfg(MINIMAL).unwrap();
    assert!(c.pools[0].contains("ccl-auto-11"));
    assert!(c.pools[0].contains("ccl-auto-20"));
    assert!(!c.pools[0].contains("ccl-auto-21"));
    assert!(!c.pools[0].contains("ccl-auto-1"));
    assert!(!c.pools[0].contains("ccl-auto-011"));
    assert!(!c.pools[0].contains("ccl-auto-11x"));
}

#[test]
fn a_dedicated_session_cannot_be_in_the_pool() {
    let e = cfg(&format!(
        "{MINIMAL}[[dedicated]]\nsession = \"ccl-auto-12\"\n"
    ))
    .unwrap_err();
    assert!(format!("{e:#}").contains("ccl-auto-12"));
}

#[test]
fn explicit_projects_include_dedicated_ones_once() {
    let c = cfg(
        "[projects]\npaths = [\"/p/a\", \"/p/b\"]\n[pool]\n\
         [[dedicated]]\nsession = \"ccl-1\"\nproject = \"/p/b\"\n[[dedicated]]\nsession = \"ccl-2\"\nproject = \"/p/c\"\n",
    )
    .unwrap();
    let want: Vec<PathBuf> = ["/p/a", "/p/b", "/p/c"].iter().map(PathBuf::from).collect();
    assert_eq!(c.explicit_projects(), want);
}

#[test]
fn relative_paths_are_relative_to_the_config_files_folder() {
    let c = cfg("[state]\nfile = \"state/s.json\"\n\
         [projects]\npaths = [\"p/a\", \"/abs\"]\nroots = [\"r\", \"~/x\"]\n[pool]\n\
         [[dedicated]]\nsession = \"ccl-1\"\nproject = \"../d\"\n\
         [agent]\nresume_dir = \"resume\"\n")
    .unwrap();
    assert_eq!(c.state_file, Path::new("/etc/state/s.json"));
    assert_eq!(c.projects.paths, [Path::new("/etc/p/a"), Path::new("/abs")]);
    assert_eq!(c.projects.roots, [Path::new("/etc/r"), &home().join("x")]);
    assert_eq!(
        c.dedicated[0].project.as_deref(),
        Some(Path::new("/etc/../d"))
    );
    assert_eq!(c.agent.resume_dir, Path::new("/etc/resume"));

    // A config named by a relative path: its folder as seen from here.
    let c = parse(
        "[state]\nfile = \"s.json\"\n[projects]\n[pool]\n",
        Path::new("conf/c.toml"),
    )
    .unwrap();
    let here = std::env::current_dir().unwrap();
    assert_eq!(c.state_file, here.join("conf/s.json"));
    assert_eq!(c.path, here.join("conf/c.toml"));
}

#[test]
fn history_max_size_reads_like_operators_write_it() {
    let c = cfg(MINIMAL).unwrap();
    assert_eq!(c.history.max_size, 16 * 1024 * 1024);
    assert_eq!(
        c.history_file(),
        c.state_file.parent().unwrap().join("history.jsonl")
    );
    for (text, bytes) in [
        ("\"16MiB\"", 16 << 20),
        ("\"500KiB\"", 500 << 10),
        ("\"10MB\"", 10_000_000),
        ("\"2 gib\"", 2 << 30),
        ("\"4096B\"", 4096),
        ("4096", 4096),
    ] {
        let c = cfg(&format!("{MINIMAL}[history]\nmax_size = {text}\n")).unwrap();
        assert_eq!(c.history.max_size, bytes, "{text}");
    }
    for bad in [
        "\"16 parsecs\"",
        "\"MiB\"",
        "0",
        "\"-1KiB\"",
        "\"99999999999GiB\"",
    ] {
        let e = cfg(&format!("{MINIMAL}[history]\nmax_size = {bad}\n")).unwrap_err();
        assert!(crate::error::is_bad_input(&e), "{bad}");
        assert!(format!("{e:#}").contains("max_size"), "{bad}: {e:#}");
    }
    let e = cfg(&format!("{MINIMAL}[history]\nmax_sise = 10\n")).unwrap_err();
    assert!(format!("{e:#}").contains("max_sise"), "{e:#}");
}

const POOLS: &str = "[projects]\npaths = [\"/p\"]\n\
    [pool]\nprefix = \"a-\"\nstart = 1\nsize = 2\n\
    [pools.zeta]\nprefix = \"z-\"\nstart = 1\nsize = 1\naccount = \"max-b\"\nagent = \"claude-b\"\n\
    tmux = [\"ssh\", \"box2\", \"tmux\"]\non_limit = \"leave\"\n\
    [pools.beta]\nprefix = \"b-\"\nstart = 1\nsize = 1\naccount = \"max-b\"\n\
    [agents.claude-b]\nenv = { CLAUDE_CONFIG_DIR = \"~/.claude-b\" }\n";

#[test]
fn pools_keep_config_order_with_their_accounts_agents_and_servers() {
    let c = cfg(POOLS).unwrap();
    let names: Vec<&str> = c.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["default", "zeta", "beta"],
        "[pool] first, then in order"
    );
    let (a, z, b) = (&c.pools[0], &c.pools[1], &c.pools[2]);
    assert_eq!(a.account, "default", "a pool's own name by default");
    assert_eq!((z.account.as_str(), b.account.as_str()), ("max-b", "max-b"));
    assert_eq!(z.agent_name, "claude-b");
    assert_eq!(z.agent.env["CLAUDE_CONFIG_DIR"], "~/.claude-b");
    assert!(a.agent.env.is_empty() && a.agent.claude_code);
    assert_eq!(z.tmux, ["ssh", "box2", "tmux"]);
    assert_eq!(b.tmux, ["tmux"], "[tmux] command by default");
    assert_eq!(z.on_limit, OnLimit::Leave);
    assert_eq!(a.on_limit, OnLimit::Stop);
    assert_eq!(c.pool_of("z-1").unwrap().name, "zeta");
    assert_eq!(c.tmux_for("z-1"), ["ssh", "box2", "tmux"]);
    assert_eq!(c.tmux_for("someone-else"), ["tmux"]);
}

#[test]
fn pools_without_a_lone_pool_table_are_enough() {
    let c = cfg("[projects]\npaths = []\n[pools.x]\nprefix = \"x-\"\n").unwrap();
    assert_eq!(c.pools.len(), 1);
    assert_eq!(c.pools[0].name, "x");
}

#[test]
fn pool_mistakes_are_errors_that_name_the_table() {
    let base = "[projects]\npaths = []\n[pool]\nprefix = \"a-\"\nstart = 1\nsize = 3\n";
    for (extra, needle) in [
        (
            "[pools.x]\nprefix = \"a-\"\nstart = 3\n",
            "share session names",
        ),
        (
            "[pools.x]\nprefix = \"x-\"\nagent = \"nope\"\n",
            "no [agents.nope] profile",
        ),
        ("[pools.x]\nprefix = \"x-\"\nsize_ = 1\n", "[pools.x]"),
        ("[pools.default]\nprefix = \"x-\"\n", "name of [pool]"),
        (
            "[pools.x]\nprefix = \"x-\"\non_limit = \"wait\"\n",
            "[pools.x]",
        ),
        (
            "[agents.b]\nenv = { \"A-B\" = \"1\" }\n",
            "[agents.b] env: `A-B`",
        ),
        (
            "[agents.b]\nready_marker = \" \"\n",
            "[agents.b] ready_marker",
        ),
        ("[[dedicated]]\nsession = \"a-2\"\n", "pool `default`"),
    ] {
        let e = cfg(&format!("{base}{extra}")).unwrap_err();
        assert!(crate::error::is_bad_input(&e), "{extra}");
        assert!(format!("{e:#}").contains(needle), "{extra}: {e:#}");
    }
}

#[test]
fn values_that_load_but_cannot_work_are_errors_that_name_them() {
    let base = "[projects]\npaths = []\n[pool]\nprefix = \"a-\"\nstart = 1\nsize = 3\n";
    for (extra, needle) in [
        (
            "[agents.b]\nlimit_patterns = [\"\"]\n",
            "[agents.b] limit_patterns: \"\" matches an empty line",
        ),
        (
            "[agent]\nlimit_patterns = [\"limit\", \"x*\"]\n",
            "[agent] limit_patterns: \"x*\" matches an empty line",
        ),
        (
            "[pools.x]\nprefix = \"x:\"\n",
            "[pools.x] prefix = \"x:\": tmux replaces",
        ),
        (
            "[pools.x]\nprefix = \"x.y-\"\n",
            "[pools.x] prefix = \"x.y-\": tmux replaces",
        ),
        (
            "[pools.x]\nprefix = \"x-\"\nsize = 0\n",
            "[pools.x] size = 0",
        ),
        (
            "[pools.x]\nprefix = \"x-\"\nstart = 4294967295\nsize = 2\n",
            "[pools.x] start = 4294967295, size = 2",
        ),
        (
            "[pools.x]\nprefix = \"x-\"\naccount = \"\"\n",
            "[pools.x] account is empty",
        ),
        (
            "[[dedicated]]\nsession = \"mine\"\nproject = \"/p/a\"\n\
             [[dedicated]]\nsession = \"mine\"\nproject = \"/p/b\"\n",
            "[[dedicated]] session `mine` is listed twice (/p/a and /p/b)",
        ),
        (
            "[[dedicated]]\nsession = \"my.work\"\n",
            "[[dedicated]] session = \"my.work\": tmux replaces",
        ),
    ] {
        let e = cfg(&format!("{base}{extra}")).unwrap_err();
        assert!(crate::error::is_bad_input(&e), "{extra}");
        assert!(format!("{e:#}").contains(needle), "{extra}: {e:#}");
    }
    // The last session's number may be u32::MAX itself.
    let c = cfg(&format!(
        "{base}[pools.x]\nprefix = \"x-\"\nstart = 4294967295\nsize = 1\n"
    ))
    .unwrap();
    assert!(c.pools[1].contains("x-4294967295"));
}

#[test]
fn accounts_routing_and_statusline_read_and_check_their_values() {
    let base = "[projects]\npaths = [\"/p\"]\n[pool]\naccount = \"max-a\"\n";
    let c = parse(
        &format!(
            "{base}[accounts.max-a]\nhold_at = 95\n[routing]\nprefer = \"headroom\"\n\
             [statusline]\ncommand = \"ccstatusline\"\n"
        ),
        Path::new("/c.toml"),
    )
    .unwrap();
    assert_eq!(c.hold_at("max-a"), Some(95.0));
    assert_eq!(c.hold_at("max-b"), None);
    assert_eq!(c.routing.prefer, Prefer::Headroom);
    assert_eq!(c.statusline.command.as_deref(), Some("ccstatusline"));
    let d = parse(base, Path::new("/c.toml")).unwrap();
    assert_eq!(d.routing.prefer, Prefer::Config);
    assert!(d.statusline.command.is_none());
    for (extra, needle) in [
        (
            "[accounts.max-x]\nhold_at = 95\n",
            "[accounts.max-x]: no pool uses",
        ),
        ("[accounts.max-a]\nhold_at = 0\n", "hold_at = 0"),
        ("[accounts.max-a]\nhold_at = 120\n", "hold_at = 120"),
        ("[accounts.max-a]\nhold = 95\n", "unknown field `hold`"),
        ("[routing]\nprefer = \"fastest\"\n", "fastest"),
        ("[statusline]\ncmd = \"x\"\n", "unknown field `cmd`"),
    ] {
        let err = parse(&format!("{base}{extra}"), Path::new("/c.toml")).unwrap_err();
        assert!(crate::error::is_bad_input(&err), "{err:#}");
        assert!(format!("{err:#}").contains(needle), "{needle}: {err:#}");
    }
}

#[test]
fn a_pool_on_a_host_runs_plain_tmux_there_through_ssh() {
    let c = cfg(&format!(
        "{MINIMAL}[tmux]\ncommand = [\"tmux\", \"-L\", \"here\"]\n\
         [ssh]\ncommand = [\"tsh\", \"ssh\"]\nopenssh = false\ntimeout = \"3s\"\n\
         [pools.far]\nprefix = \"far-\"\nhost = \"agent@box2\"\n\
         [pools.near]\nprefix = \"near-\"\nhost = \"box3\"\ntmux = [\"tmux\", \"-L\", \"a\"]\n"
    ))
    .unwrap();
    let (far, near) = (&c.pools[1], &c.pools[2]);
    assert_eq!(far.host.as_deref(), Some("agent@box2"));
    assert_eq!(far.tmux, ["tmux"], "not this host's [tmux] command");
    assert_eq!(near.tmux, ["tmux", "-L", "a"]);
    assert_eq!(c.pools[0].host, None);
    assert_eq!(c.ssh.command, ["tsh", "ssh"]);
    assert!(!c.ssh.openssh);
    assert_eq!(c.ssh.timeout, Duration::from_secs(3));
    let d = cfg(MINIMAL).unwrap().ssh;
    assert_eq!((d.command, d.openssh), (vec!["ssh".to_string()], true));
}

#[test]
fn ssh_mistakes_are_errors_that_name_the_key() {
    for (extra, needle) in [
        ("[ssh]\ncommand = []\n", "[ssh] command is empty"),
        ("[ssh]\ntimeout = \"1ms\"\n", "[ssh] timeout"),
        ("[ssh]\nhost = \"x\"\n", "host"),
        (
            "[pools.x]\nprefix = \"x-\"\nhost = \"-oProxyCommand=x\"\n",
            "[pools.x] host",
        ),
        (
            "[pools.x]\nprefix = \"x-\"\nhost = \"a b\"\n",
            "[pools.x] host",
        ),
    ] {
        let e = cfg(&format!("{MINIMAL}{extra}")).unwrap_err();
        assert!(crate::error::is_bad_input(&e), "{extra}");
        assert!(format!("{e:#}").contains(needle), "{extra}: {e:#}");
    }
}
