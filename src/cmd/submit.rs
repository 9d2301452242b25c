//! `submit <project> [FILE|-]`: the safe way to write a task. A scan may run
//! at any moment, so a task must appear in the inbox whole or not at all: it
//! is written under a unique name in `.agent-queue/tmp/` (same file system),
//! flushed, and renamed into the inbox without replacing anything, the way
//! Maildir delivers mail. Being whole when it lands, it is dated back by the
//! settle time, so that a scan sends it at once instead of waiting for a
//! writer that is already done.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;

use super::{Ctx, Run};
use crate::cli::SubmitArgs;
use crate::config;
use crate::error::{bad_input, Outcome};
use crate::output::report::{self, Event};
use crate::queue::inbox::{self, rename_noreplace, STAGING};
use crate::queue::pending;
use crate::queue::pending::Refusal;
use crate::queue::task::{self, Priority};
use crate::store::private::{self, Access};
use crate::store::security::Trust;

impl Run for SubmitArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        // The task is read, and checked, before anything is made: a failed
        // producer upstream (an empty or unreadable input) writes nothing.
        let task = self.task()?;
        let project = std::path::absolute(&self.project).unwrap_or_else(|_| self.project.clone());
        let inbox = inbox::inbox_of(&project);
        let staging = project.join(STAGING);
        if !inbox.is_dir() {
            if !self.create {
                return Err(bad_input(format!(
                    "{} has no inbox ({}): pass --create to make one",
                    project.display(),
                    inbox.display()
                )));
            }
            let new_project = !project.exists();
            make_dir(&inbox)?;
            report::info(if new_project {
                format!(
                    "created the project folder {} and its inbox {}",
                    project.display(),
                    inbox.display()
                )
            } else {
                format!("created the inbox {}", inbox.display())
            });
        }
        make_dir(&staging)?;

        let text = task::render(&task);
        let name = file_name(task.title.as_deref());
        // submit works without a config; with one, it follows its settle
        // and trusts whom it trusts.
        let config = ctx.config().ok();
        if let Some(config) = &config {
            crate::store::journal::open(config);
        }
        let settle = config
            .as_ref()
            .map_or(config::DEFAULT_SETTLE, |c| c.projects.settle);
        let staged = write_staged(&staging, &name, text.as_bytes(), settle)?;
        let path = deliver(&staged, &inbox, &name)?;
        if let Some(c) = &config {
            if !inbox::projects(c).contains(&project) {
                report::warn(format!(
                    "{} is under no [projects] paths or roots entry of {}: its tasks will not \
                     be dispatched until it is (add it to paths, or put it under a root)",
                    project.display(),
                    c.path.display()
                ));
            }
        }
        let security = config
            .as_ref()
            .map(|c| c.security.clone())
            .unwrap_or_default();
        if let Err(Refusal::Untrusted(why)) = pending::read_named(&path, &Trust::new(&security)) {
            report::warn(format!(
                "{} will not be dispatched until this is fixed: {why}",
                path.display()
            ));
        }
        let submitted = Event::Submitted {
            task: path.clone(),
            project,
            priority: task.priority,
        };
        report::record(&submitted);
        if report::json() {
            report::print_json(&submitted);
        } else {
            // The bytes themselves: scripts take this line as the path.
            let mut line = path.into_os_string().into_vec();
            line.push(b'\n');
            std::io::stdout()
                .write_all(&line)
                .context("writing the task's path")?;
        }
        Ok(Outcome::Done)
    }
}

impl SubmitArgs {
    /// The task: what the input says (it may have its own header), with the
    /// flags taking precedence.
    fn task(&self) -> anyhow::Result<task::Task> {
        let (label, bytes) = match self.file.as_deref() {
            None => ("standard input".to_string(), read_stdin()?),
            Some(p) if p == Path::new("-") => ("standard input".to_string(), read_stdin()?),
            Some(p) => (
                p.display().to_string(),
                task::read_bytes(p).map_err(|e| bad_input(format!("{}: {e}", p.display())))?,
            ),
        };
        let mut task = task::parse(&bytes).map_err(|e| bad_input(format!("{label}: {e}")))?;
        if task.body.is_empty() && !self.allow_empty {
            return Err(bad_input(format!(
                "{label}: the task's body is empty (did the command that writes it fail?); \
                 nothing was written. Pass --allow-empty to send the agent [agent] empty_body"
            )));
        }
        if let Some(p) = &self.priority {
            task.priority = Priority::parse(p).ok_or_else(|| {
                bad_input(format!(
                    "unknown priority `{p}` (expected critical, high, default or low)"
                ))
            })?;
        }
        if let Some(t) = &self.title {
            task.title = Some(t.clone()).filter(|t| !t.trim().is_empty());
        }
        task.tags.extend(self.tags.iter().cloned());
        Ok(task)
    }
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(task::MAX_TASK_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("reading the task from standard input")?;
    Ok(bytes)
}

fn make_dir(dir: &Path) -> anyhow::Result<()> {
    private::create_dir(dir).with_context(|| format!("creating {}", dir.display()))
}

/// `20261124T031400-fix-the-login-redirect-4242.md`: sortable, readable,
/// and unique enough that the no-replace rename rarely has to try again.
fn file_name(title: Option<&str>) -> String {
    let stamp = crate::clock::format_utc(crate::clock::now()).replace([':', '-'], "");
    let stamp = stamp.trim_end_matches('Z');
    let mut slug: String = title
        .unwrap_or("task")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug = slug
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    slug.truncate(48);
    if slug.is_empty() {
        slug = "task".into();
    }
    format!(
        "{stamp}-{}-{}.md",
        slug.trim_end_matches('-'),
        std::process::id()
    )
}

fn write_staged(
    staging: &Path,
    name: &str,
    bytes: &[u8],
    settle: Duration,
) -> anyhow::Result<PathBuf> {
    let path = staging.join(name);
    let mut file = private::open(&path, Access::New)
        .with_context(|| format!("creating {}", path.display()))?;
    let written = file
        .write_all(bytes)
        .and_then(|_| match SystemTime::now().checked_sub(settle) {
            Some(settled) => file.set_modified(settled),
            None => Ok(()),
        })
        .and_then(|_| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(path)
}

fn deliver(staged: &Path, inbox: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let stem = name.trim_end_matches(".md");
    for n in 1..1000 {
        let to = if n == 1 {
            inbox.join(name)
        } else {
            inbox.join(format!("{stem}-{n}.md"))
        };
        match rename_noreplace(staged, &to) {
            Ok(()) => {
                File::open(inbox)
                    .and_then(|d| d.sync_all())
                    .with_context(|| format!("flushing {}", inbox.display()))?;
                return Ok(to);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                let _ = std::fs::remove_file(staged);
                return Err(e).with_context(|| {
                    format!("moving {} into {}", staged.display(), inbox.display())
                });
            }
        }
    }
    let _ = std::fs::remove_file(staged);
    anyhow::bail!("no free name for {name} in {}", inbox.display())
}
