#![no_main]
//! Arbitrary bytes into the task-file parser: it must never panic, and a task
//! it accepts must survive `render` and a second `parse` unchanged.

use agent_queue::queue::task::{parse, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(task) = parse(data) else {
        return;
    };
    let text = render(&task);
    let again = match parse(text.as_bytes()) {
        Ok(again) => again,
        Err(e) => panic!("render produced a file parse refuses ({e}): {text:?}"),
    };
    assert_eq!(again, task, "round trip changed the task; rendered as {text:?}");
});
