//! Multipath routes against the real kernel: equal routes give one route through every next
//! hop, IPv4 and IPv6; a change of the set replaces it in place; one left gives a plain route;
//! the kernel's dump of a multipath route reads back as the same route (no rewrite at each
//! run), and one deleted by hand is reinstalled whole.

use super::*;

/// The best route from 198.18.0.2 (or 2001:db8::2) and equal ones through `others`.
fn ecmp(prefix: &str, others: &[&str]) -> BestPathChange {
    let first = if prefix.contains(':') {
        "2001:db8::2"
    } else {
        "198.18.0.2"
    };
    let mut c = change(prefix, Some(learned(first, first)));
    c.equal = others.iter().map(|g| learned(g, g)).collect();
    c
}

/// `ip route` lines of ours in main, continuation lines (`nexthop via …`) joined to their
/// route, so a multipath route is one string.
fn joined() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in ["-4", "-6"] {
        let text = ip(&format!("{f} route show table main proto 200"));
        for line in text.lines() {
            let line = line.trim().replace(" pref medium", "");
            match out.last_mut() {
                Some(last) if line.starts_with("nexthop") => {
                    last.push_str(" | ");
                    last.push_str(&line);
                }
                _ => out.push(line),
            }
        }
    }
    out
}

const M4: &str = "198.18.5.0/24 metric 20 | nexthop via 198.18.0.2 dev d0 weight 1 | nexthop via 198.18.0.3 dev d0 weight 1";
const M6: &str = "2001:db8:6::/48 metric 20 | nexthop via 2001:db8::2 dev d0 weight 1 | nexthop via 2001:db8::3 dev d0 weight 1";

#[test]
fn equal_routes_are_one_multipath_route_replaced_in_place_and_reinstalled_whole() {
    in_namespace(|| async {
        let fib = Fib {
            multipath: true,
            ..fast()
        };
        let t = start(
            fib,
            true,
            None,
            vec![
                ecmp("198.18.5.0/24", &["198.18.0.3"]),
                ecmp("2001:db8:6::/48", &["2001:db8::3"]),
            ],
        );
        until(5, "both multipath routes installed", || {
            joined() == [M4, M6]
        })
        .await;

        // Two reconciliation runs later nothing was rewritten: the dump reads back the same.
        let runs = t.metrics.fib.reconcile_runs.get();
        until(5, "two more runs", || {
            t.metrics.fib.reconcile_runs.get() >= runs + 2
        })
        .await;
        assert_eq!(t.metrics.fib.installs.get(), 2);

        // Deleted by hand: back whole, one reinstall.
        ip("route del 198.18.5.0/24 proto 200");
        until(3, "the multipath route reinstalled", || {
            joined() == [M4, M6]
        })
        .await;
        until(2, "counted", || t.metrics.fib.reinstalls.get() == 1).await;

        // One next hop left: replaced by a plain route; then a third joins.
        t.feed
            .send(vec![ecmp("198.18.5.0/24", &[]), ecmp("2001:db8:6::/48", &[])].into())
            .unwrap();
        until(3, "single-path routes", || joined() == [R5, R6]).await;
        t.feed
            .send(vec![ecmp("198.18.5.0/24", &["198.18.0.4", "198.18.0.3"])].into())
            .unwrap();
        until(3, "three next hops", || {
            joined()[0]
                == "198.18.5.0/24 metric 20 | nexthop via 198.18.0.2 dev d0 weight 1 | nexthop via 198.18.0.3 dev d0 weight 1 | nexthop via 198.18.0.4 dev d0 weight 1"
        })
        .await;
        t.feed
            .send(
                vec![
                    change("198.18.5.0/24", None),
                    change("2001:db8:6::/48", None),
                ]
                .into(),
            )
            .unwrap();
        until(3, "withdrawn", || joined().is_empty()).await;
        assert_eq!(t.metrics.fib.install_failures.get(), 0);
        t.handle.stop(false).await;
    });
}

#[test]
fn with_multipath_off_equal_routes_give_the_best_route_alone() {
    in_namespace(|| async {
        let t = start(
            fast(),
            true,
            None,
            vec![ecmp("198.18.5.0/24", &["198.18.0.3"])],
        );
        until(5, "the best route installed", || joined() == [R5]).await;
        t.handle.stop(true).await;
        assert!(joined().is_empty());
    });
}
