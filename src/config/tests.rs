use super::*;

fn cfg(text: &str) -> anyhow::Result<Config> {
    parse(text, Path::new("/etc/agent-queue.toml"))
}

const MINIMAL: &str = "[projects]\npaths = [\"/srv/p/a\"]\n[pool]\n";

#[test]
fn minimal_config_gets_the_documented_defaults() {
    let c = cfg(MINIMAL).unwrap();
    assert_eq!(c.tmux_command, ["tmux"]);
    assert_eq!(c.pool.sessions().collect::<Vec<_>>().len(), 10);
    assert_eq!(c.pool.sessions().next().unwrap(), "ccl-auto-11");
    assert_eq!(c.pool.cooldown, Duration::from_secs(300));
    assert!(c.pool.recycle);
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
    assert!(c.pool.contains("ccl-auto-11"));
    assert!(c.pool.contains("ccl-auto-20"));
    assert!(!c.pool.contains("ccl-auto-21"));
    assert!(!c.pool.contains("ccl-auto-1"));
    assert!(!c.pool.contains("ccl-auto-011"));
    assert!(!c.pool.contains("ccl-auto-11x"));
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
