use super::*;
use crate::queue::task::Priority;

fn p(name: &str, priority: Priority, mtime: u64) -> Pending {
    Pending {
        path: PathBuf::from("/p").join(name),
        project: "/p".into(),
        name: name.into(),
        mtime: SystemTime::UNIX_EPOCH + Duration::from_secs(mtime),
        task: Task {
            priority,
            ..Task::default()
        },
    }
}

#[test]
fn a_file_settles_once_left_alone_for_the_settle_time() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
    let s = |secs: f64| now - Duration::from_secs(1000) + Duration::from_secs_f64(secs);
    let settle = Duration::from_secs(2);
    assert_eq!(settles_at(s(999.5), now, settle), Some(s(1001.5)));
    assert_eq!(settles_at(s(998.0), now, settle), None);
    assert_eq!(settles_at(s(10.0), now, settle), None);
    // Written by a clock a little ahead: waits; far ahead: does not.
    assert_eq!(settles_at(s(1001.0), now, settle), Some(s(1003.0)));
    assert_eq!(settles_at(s(5000.0), now, settle), None);
    assert_eq!(settles_at(s(1000.0), now, Duration::ZERO), None);
}

#[test]
fn order_is_priority_then_age_then_name() {
    let mut v = [
        p("b-low-old", Priority::Low, 1),
        p("z-default", Priority::Default, 5),
        p("a-default", Priority::Default, 5),
        p("high-new", Priority::High, 9),
        p("high-old", Priority::High, 2),
        p("crit", Priority::Critical, 10),
    ];
    v.sort_by(order);
    let names: Vec<&str> = v.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "crit",
            "high-old",
            "high-new",
            "a-default",
            "z-default",
            "b-low-old"
        ]
    );
}
