//! The diff on values: identity, ownership, held-back deletions, and the re-check that keeps
//! a withdrawn route from coming back.

use std::collections::HashSet;

use super::*;
use crate::config::Fib;
use crate::fib::testutil::{change, wanted};
use crate::fib::Via;

const OURS: Owner = Owner {
    table: 254,
    protocol: 200,
};

fn route(prefix: &str, next_hop: &str, src: Option<&str>) -> KernelRoute {
    KernelRoute {
        table: 254,
        prefix: prefix.parse().unwrap(),
        via: Via::One(next_hop.parse().unwrap()),
        src: src.map(|s| s.parse().unwrap()),
        metric: 20,
    }
}

fn found(route: KernelRoute, protocol: u8) -> Found {
    Found { route, protocol }
}

fn none() -> HashSet<Prefix> {
    HashSet::new()
}

fn installs(plan: &Plan) -> Vec<String> {
    plan.install
        .iter()
        .map(|i| i.wanted.route.to_string())
        .collect()
}

fn removes(plan: &Plan) -> Vec<String> {
    plan.remove.iter().map(|r| r.to_string()).collect()
}

#[test]
fn a_missing_route_is_installed_and_a_present_one_left_alone() {
    let (_, w) = wanted(
        &Fib::default(),
        &[
            ("198.18.5.0/24", "198.18.0.2"),
            ("198.18.6.0/24", "198.18.0.2"),
        ],
    );
    let kernel = [found(route("198.18.5.0/24", "198.18.0.2", None), 200)];
    let plan = diff(&w, &kernel, OURS, &none(), true);
    assert_eq!(
        installs(&plan),
        ["198.18.6.0/24 via 198.18.0.2 metric 20 table 254"]
    );
    assert_eq!(plan.install[0].replaces, None);
    assert!(plan.remove.is_empty());
}

#[test]
fn our_route_through_another_next_hop_is_replaced_in_place_not_deleted() {
    let (_, w) = wanted(&Fib::default(), &[("198.18.5.0/24", "198.18.0.3")]);
    let old = route("198.18.5.0/24", "198.18.0.2", None);
    let plan = diff(&w, &[found(old.clone(), 200)], OURS, &none(), true);
    assert_eq!(
        installs(&plan),
        ["198.18.5.0/24 via 198.18.0.3 metric 20 table 254"]
    );
    assert_eq!(plan.install[0].replaces, Some(old));
    assert!(plan.remove.is_empty(), "{plan:?}");
}

#[test]
fn unwanted_routes_of_ours_are_removed_only_when_deletions_are_allowed() {
    let (_, w) = wanted(&Fib::default(), &[]);
    let kernel = [found(route("198.18.5.0/24", "198.18.0.2", None), 200)];
    assert!(diff(&w, &kernel, OURS, &none(), false).is_empty());
    assert_eq!(
        removes(&diff(&w, &kernel, OURS, &none(), true)),
        ["198.18.5.0/24 via 198.18.0.2 metric 20 table 254"]
    );
}

#[test]
fn routes_of_another_protocol_or_table_are_never_touched() {
    let (_, w) = wanted(&Fib::default(), &[("198.18.5.0/24", "198.18.0.2")]);
    let mut elsewhere = route("198.18.7.0/24", "198.18.0.2", None);
    elsewhere.table = 100;
    let kernel = [
        // The very route we want, but the operator's (proto static): not ours, so the
        // wanted one is still missing, and theirs is never deleted.
        found(route("198.18.5.0/24", "198.18.0.2", None), 4),
        // Unwanted, but BIRD's, and one of ours in another table.
        found(route("198.18.6.0/24", "198.18.0.2", None), 12),
        found(elsewhere, 200),
    ];
    let plan = diff(&w, &kernel, OURS, &none(), true);
    assert_eq!(
        installs(&plan),
        ["198.18.5.0/24 via 198.18.0.2 metric 20 table 254"]
    );
    assert_eq!(plan.install[0].replaces, None, "theirs is not replaced");
    assert!(plan.remove.is_empty(), "{plan:?}");
}

#[test]
fn two_routes_differing_only_by_source_are_reconciled_independently() {
    let fib = Fib {
        src_v4: Some("198.18.0.1".parse().unwrap()),
        ..Fib::default()
    };
    let (_, w) = wanted(&fib, &[("198.18.5.0/24", "198.18.0.2")]);
    let kept = route("198.18.5.0/24", "198.18.0.2", Some("198.18.0.1"));
    let other = route("198.18.5.0/24", "198.18.0.2", Some("198.18.0.9"));
    let kernel = [found(kept, 200), found(other, 200)];
    let plan = diff(&w, &kernel, OURS, &none(), true);
    assert!(plan.install.is_empty(), "{plan:?}");
    assert_eq!(
        removes(&plan),
        ["198.18.5.0/24 via 198.18.0.2 src 198.18.0.9 metric 20 table 254"]
    );

    // Only the other one present: ours is missing (it takes the slot in place).
    let plan = diff(&w, &kernel[1..], OURS, &none(), true);
    assert_eq!(
        installs(&plan),
        ["198.18.5.0/24 via 198.18.0.2 src 198.18.0.1 metric 20 table 254"]
    );
    assert_eq!(plan.install[0].replaces, Some(kernel[1].route.clone()));
    assert!(plan.remove.is_empty());
}

#[test]
fn a_route_of_ours_with_another_metric_is_another_route() {
    let (_, w) = wanted(&Fib::default(), &[("198.18.5.0/24", "198.18.0.2")]);
    let mut old = route("198.18.5.0/24", "198.18.0.2", None);
    old.metric = 30;
    let plan = diff(&w, &[found(old, 200)], OURS, &none(), true);
    assert_eq!(plan.install.len(), 1);
    assert_eq!(plan.install[0].replaces, None, "another slot: added beside");
    assert_eq!(
        removes(&plan),
        ["198.18.5.0/24 via 198.18.0.2 metric 30 table 254"]
    );
}

#[test]
fn prefixes_written_since_the_dump_are_left_alone() {
    let (_, w) = wanted(&Fib::default(), &[("198.18.5.0/24", "198.18.0.2")]);
    let kernel = [found(route("198.18.6.0/24", "198.18.0.2", None), 200)];
    let touched: HashSet<Prefix> = [
        "198.18.5.0/24".parse().unwrap(),
        "198.18.6.0/24".parse().unwrap(),
    ]
    .into_iter()
    .collect();
    assert!(diff(&w, &kernel, OURS, &touched, true).is_empty());
}

#[test]
fn a_withdrawal_between_the_dump_and_the_write_is_not_undone() {
    let fib = Fib::default();
    let (policy, mut w) = wanted(
        &fib,
        &[
            ("198.18.5.0/24", "198.18.0.2"),
            ("198.18.6.0/24", "198.18.0.2"),
        ],
    );
    // The dump found both routes missing (someone deleted them) and an unwanted one.
    let kernel = [found(route("198.18.7.0/24", "198.18.0.2", None), 200)];
    let plan = diff(&w, &kernel, OURS, &none(), true);
    assert_eq!(plan.install.len(), 2);
    assert_eq!(plan.remove.len(), 1);

    // Held here: 198.18.5.0/24 is withdrawn, 198.18.7.0/24 becomes wanted again.
    w.apply(&policy, &change("198.18.5.0/24", None));
    w.apply(
        &policy,
        &change(
            "198.18.7.0/24",
            Some(crate::fib::testutil::learned("198.18.0.2", "198.18.0.2")),
        ),
    );
    let now = plan.still_wanted(&w, &none());
    assert_eq!(
        installs(&now),
        ["198.18.6.0/24 via 198.18.0.2 metric 20 table 254"]
    );
    assert!(now.remove.is_empty(), "{now:?}");

    // A write for the prefix while held also wins over the plan.
    let plan = diff(&w, &[], OURS, &none(), true);
    let touched: HashSet<Prefix> = ["198.18.6.0/24".parse().unwrap()].into_iter().collect();
    assert_eq!(
        installs(&plan.still_wanted(&w, &touched)),
        ["198.18.7.0/24 via 198.18.0.2 metric 20 table 254"]
    );
}
