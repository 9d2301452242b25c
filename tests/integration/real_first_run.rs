//! The real Claude Code's first-run dialogs, answered by the README's own
//! `[[agent.dialog]] choose` config, on every version checked here: 2.1.197
//! (numbered options) and 2.1.332 (no numbers, the trust dialog's options
//! the other way round). A fresh project folder, onboarding done, the folder
//! not trusted, the key not approved, the bypass warning not accepted: the
//! task arrives, and the history shows the three answers. The key reaches
//! the agent through the profile's `env` (`[agent.env]`), as a second
//! account's would.

use std::fs;
use std::path::Path;

use crate::env::{events_named, stdout};
use crate::real_agent::{claude_of, skipped, task_file, Home, Real, API_KEY, WAIT};

/// The versions the first-run screens were checked against.
const VERSIONS: [&str; 2] = ["2.1.197", "2.1.332"];

/// The README's `[[agent.dialog]]` block.
fn readme_dialogs() -> String {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    readme
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.contains("[[agent.dialog]]"))
        .expect("the README shows an [[agent.dialog]] config")
        .to_string()
}

#[test]
fn the_readme_dialog_config_gets_a_fresh_project_through_the_first_run_on_every_version() {
    let dialogs = readme_dialogs();
    assert!(dialogs.contains("choose = "), "{dialogs}");
    for version in VERSIONS {
        let test = format!("first run on Claude Code {version}");
        let claude = match claude_of(version) {
            Ok(c) => c,
            Err(why) => {
                skipped(&test, &why);
                continue;
            }
        };
        let mut r = Real::new(
            &claude,
            1,
            Home {
                key: None,
                skip_bypass: false,
                trusted: false,
                ..Home::ready()
            },
        );
        r.w.agent_env.remove("ANTHROPIC_API_KEY");
        r.w.config(&dialogs);
        r.w.config(&format!("[agent.env]\nANTHROPIC_API_KEY = {API_KEY:?}\n"));
        let p = r.project("fresh");
        let body = "Say hello.";
        task_file(&p, "t.md", "high", body);
        r.w.start_pool();
        r.ok(&["scan"]);
        r.wait_until(WAIT, &format!("{test}: the task reached the agent"), || {
            !r.prompts().is_empty()
        });
        assert_eq!(r.prompts(), [Real::message("t.md", body)], "{test}");
        let journal = r.w.journal();
        let answered: Vec<(String, String)> = events_named(&journal, "answered")
            .iter()
            .map(|e| {
                (
                    e["dialog"].as_str().unwrap().to_string(),
                    e["option"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want = [
            ("folder trust", "Yes, I trust this folder"),
            ("API key", "Yes"),
            ("bypass warning", "Yes, I accept"),
        ]
        .map(|(d, o)| (d.to_string(), o.to_string()));
        assert_eq!(answered, want, "{test}\n{}", r.describe());
        // Claude Code recorded each answer.
        assert!(r.trusted(&p), "{test}");
        let keys = &r.claude_json()["customApiKeyResponses"];
        assert_eq!(
            keys["approved"],
            serde_json::json!([&API_KEY[API_KEY.len() - 20..]]),
            "{test}: {keys}"
        );
        let (out, _) = r.ok(&["history", "t.md"]);
        assert!(
            stdout(&out).contains("answered"),
            "{test}: {}",
            stdout(&out)
        );
    }
}
