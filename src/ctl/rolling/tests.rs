use std::path::PathBuf;

use super::*;

fn options(max_unavailable: usize, continue_on_error: bool) -> Options {
    Options {
        binary: None,
        timeout_secs: 60,
        peer_timeout_secs: 30,
        settle_secs: 5,
        max_unavailable,
        continue_on_error,
        remote_batonctl: "batonctl".into(),
        ssh_options: Vec::new(),
    }
}

fn three() -> Vec<Target> {
    ["/run/a.sock", "/run/b.sock", "/run/c.sock"]
        .iter()
        .map(|t| Target::parse(t).unwrap())
        .collect()
}

fn upgraded() -> Outcome {
    Outcome::Upgraded {
        from_version: Some("1".into()),
        to_version: Some("2".into()),
    }
}

#[test]
fn one_at_a_time_in_order_and_stop_at_the_first_failure() {
    let mut roll = Roll::new(&three(), &options(1, false));
    assert_eq!(roll.start_next(0), Some(0));
    assert_eq!(roll.start_next(1), None, "one at a time");
    roll.finish(0, upgraded(), 10);
    assert_eq!(roll.start_next(11), Some(1));
    let reason = "the new speaker exited: exit status: 3".to_string();
    roll.finish(1, Outcome::RolledBack { reason }, 20);
    assert_eq!(roll.start_next(21), None, "stopped");
    assert_eq!(roll.in_flight(), 0);
    let report = roll.report();
    assert!(!report.ok);
    let words: Vec<_> = report.targets.iter().map(|t| t.outcome.word()).collect();
    assert_eq!(words, ["upgraded", "rolled back", "untouched"]);
    assert_eq!(report.targets[1].started_ms, Some(11));
    assert_eq!(report.targets[2].started_ms, None);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["targets"][1]["outcome"], "rolled-back");
    assert_eq!(json["targets"][2]["outcome"], "untouched");
    let table = render(&report);
    assert!(table.starts_with("rolling upgrade FAILED\n"), "{table}");
    assert!(table.contains("rolled back"), "{table}");
    assert!(table.contains("exit status: 3"), "{table}");
}

#[test]
fn continue_on_error_goes_on_and_max_unavailable_overlaps() {
    let mut roll = Roll::new(&three(), &options(1, true));
    assert_eq!(roll.start_next(0), Some(0));
    roll.finish(0, Outcome::Failed { reason: "x".into() }, 1);
    assert_eq!(roll.start_next(2), Some(1));
    roll.finish(1, upgraded(), 3);
    assert_eq!(roll.start_next(4), Some(2));
    roll.finish(2, upgraded(), 5);
    assert_eq!(roll.start_next(6), None);
    assert!(!roll.report().ok);

    let mut roll = Roll::new(&three(), &options(2, false));
    assert_eq!(roll.start_next(0), Some(0));
    assert_eq!(roll.start_next(0), Some(1));
    assert_eq!(roll.start_next(0), None);
    roll.finish(1, upgraded(), 1);
    assert_eq!(roll.start_next(1), Some(2));
    roll.finish(0, upgraded(), 2);
    roll.finish(2, upgraded(), 3);
    assert!(roll.report().ok);
}

#[test]
fn targets_parse_and_print_back() {
    assert_eq!(
        Target::parse("/run/baton/batond.sock").unwrap(),
        Target::Socket(PathBuf::from("/run/baton/batond.sock"))
    );
    for text in [
        "ssh://edge1",
        "ssh://ops@edge1:2222",
        "ssh://ops@[2001:db8::1]:22/run/baton/batond.sock",
        "ssh://198.18.0.1/run/b.sock",
    ] {
        assert_eq!(Target::parse(text).unwrap().to_string(), text);
    }
    assert_eq!(
        Target::parse("ssh://ops@edge1:2222").unwrap(),
        Target::Ssh(SshTarget {
            user: Some("ops".into()),
            host: "edge1".into(),
            port: Some(2222),
            socket: None
        })
    );
    for bad in [
        "",
        "ssh://",
        "ssh://@h",
        "ssh://h:0",
        "ssh://h:http",
        "ssh://-oProxyCommand=x",
        "ssh://[2001:db8::1",
    ] {
        assert!(Target::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn the_ssh_command_line_runs_the_remote_batonctl_in_batch_mode() {
    let mut o = options(1, false);
    o.binary = Some(PathBuf::from("/usr/sbin/batond new"));
    o.timeout_secs = 90;
    let t = Target::parse("ssh://ops@edge1:2222/run/baton/batond.sock").unwrap();
    assert_eq!(
        t.upgrade_argv(&o),
        [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-p",
            "2222",
            "ops@edge1",
            "batonctl --json --socket /run/baton/batond.sock upgrade --binary '/usr/sbin/batond new' --timeout 90"
        ]
    );
    let t = Target::parse("ssh://edge2").unwrap();
    o.ssh_options = vec!["IdentityFile=/etc/baton/id".into()];
    assert_eq!(
        t.neighbors_argv(&o),
        [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentityFile=/etc/baton/id",
            "edge2",
            "batonctl --json neighbor"
        ]
    );
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
}

#[test]
fn the_plan_lists_targets_in_order_with_their_command() {
    let mut targets = three();
    targets.push(Target::parse("ssh://edge1").unwrap());
    let text = plan(&targets, &options(1, false));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].contains("4 target(s), 1 at a time, stopping at the first failure"));
    assert_eq!(
        lines[1],
        "  1. /run/a.sock: batonctl --json --socket /run/a.sock upgrade --timeout 60"
    );
    assert_eq!(
        lines[4],
        "  4. ssh://edge1: ssh -o BatchMode=yes edge1 'batonctl --json upgrade --timeout 60'"
    );
}

#[test]
fn healthy_means_established_with_end_of_rib_both_ways() {
    let view = |state, sent: Option<u64>, received: Option<u64>| -> crate::ctl::NeighborView {
        serde_json::from_value(serde_json::json!({
            "address": "198.18.0.2", "remote_as": 65002, "state": state,
            "end_of_rib_sent_ms": sent, "end_of_rib_received_ms": received,
            "established_count": 1, "families": []
        }))
        .unwrap()
    };
    assert!(unhealthy(&[view("Established", Some(3), Some(5))]).is_empty());
    assert_eq!(
        unhealthy(&[view("Active", None, None)]),
        ["198.18.0.2 is Active"]
    );
    assert_eq!(
        unhealthy(&[view("Established", None, Some(5))]),
        ["198.18.0.2 has not been sent End-of-RIB"]
    );
    assert_eq!(
        unhealthy(&[view("Established", Some(3), None)]),
        ["198.18.0.2 has not sent End-of-RIB"]
    );
}
