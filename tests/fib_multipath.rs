//! Multipath kernel routes against two real gobgpd peers, each in a namespace of its own, both
//! announcing the same prefix with equal attributes (AS path length 1, origin IGP, eBGP): with
//! `[fib] multipath = true` baton's kernel table holds one route through both next hops, and a
//! single-path route once one peer withdraws; with multipath off (the default), the best
//! route's next hop alone. Read with `ip -n NS route show table main proto 200`.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::baton::{global_toml_on, peer_toml, Baton};
use common::gobgp::{GobgpConfig, Gobgpd};
use common::kernel::routes;
use common::netns::{Host, Lab};
use common::poll;

const SESSION_UP: Duration = Duration::from_secs(30);
const ROUTE_ARRIVES: Duration = Duration::from_secs(15);
const PREFIX: &str = "198.18.100.0/24";

/// baton on `a`, gobgpd AS 65002 on `g1` and AS 65003 on `g2`, both announcing [`PREFIX`].
struct EcmpLab {
    a: Host,
    g1: Host,
    g2: Host,
    gobgpds: Vec<Gobgpd>,
    _baton: Baton,
    /// Last: dropped after the daemons.
    _lab: Lab,
}

impl EcmpLab {
    fn new(fib: &str) -> EcmpLab {
        let lab = Lab::new();
        let (a, g1, g2) = (lab.host("baton"), lab.host("gobgp1"), lab.host("gobgp2"));
        let mut toml = global_toml_on(&Baton::paths(&a), &a, 65001);
        toml += &format!("[fib]\nenabled = true\nreconcile_interval = 1\n{fib}\n\n");
        let mut gobgpds = Vec::new();
        for (g, asn) in [(&g1, 65002), (&g2, 65003)] {
            gobgpds.push(Gobgpd::start(
                g,
                GobgpConfig::one_neighbor(asn, a.ipv4.into(), 65001),
            ));
            toml += &peer_toml(IpAddr::from(g.ipv4), asn, "ipv4-unicast", "");
        }
        let baton = Baton::start(&a, &toml);
        for g in [&g1, &g2] {
            baton.wait_established(g.ipv4.into(), SESSION_UP);
        }
        for gobgpd in &gobgpds {
            gobgpd.global_rib_add(PREFIX, &[]);
        }
        EcmpLab {
            a,
            g1,
            g2,
            gobgpds,
            _baton: baton,
            _lab: lab,
        }
    }

    fn wait_for(&self, want: &[String], what: &str) {
        poll::until_true(ROUTE_ARRIVES, what, || {
            routes(&self.a, "main", "200") == want
        });
    }

    fn single(&self, g: &Host) -> Vec<String> {
        vec![format!("{PREFIX} via {} dev eth0 metric 20", g.ipv4)]
    }
}

#[test]
fn two_equal_paths_give_one_multipath_route_and_a_withdrawal_leaves_one_path() {
    let t = EcmpLab::new("multipath = true");
    // `ip route` prints a multipath route on three lines (sorted here: the route, then its
    // next hops in address order).
    let both = vec![
        format!("{PREFIX} metric 20"),
        format!("nexthop via {} dev eth0 weight 1", t.g1.ipv4),
        format!("nexthop via {} dev eth0 weight 1", t.g2.ipv4),
    ];
    t.wait_for(&both, "a multipath route through both peers");

    t.gobgpds[0].global_rib_del(PREFIX);
    t.wait_for(
        &t.single(&t.g2),
        "a single-path route through the peer left",
    );
    t.gobgpds[0].global_rib_add(PREFIX, &[]);
    t.wait_for(&both, "the multipath route again");
    // A longer AS path from the second peer: no longer equal.
    t.gobgpds[1].global_rib_add(PREFIX, &["aspath", "65003,65003"]);
    t.wait_for(&t.single(&t.g1), "the better route alone");
}

#[test]
fn with_multipath_off_two_equal_paths_give_the_best_route_alone() {
    let t = EcmpLab::new("");
    // The lower router id (g1's address) breaks the tie.
    t.wait_for(&t.single(&t.g1), "the best route alone");
    poll::always(Duration::from_secs(2), "still one path", || {
        routes(&t.a, "main", "200") == t.single(&t.g1)
    });
}
