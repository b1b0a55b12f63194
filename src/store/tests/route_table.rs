//! The run-time route table: whole routes in, whole routes out, and equal attributes held once.

use crate::config::Route;
use crate::store::RouteTable;
use crate::wire::Prefix;

fn route(prefix: &str, med: Option<u32>) -> Route {
    Route {
        med,
        ..Route::new(prefix.parse::<Prefix>().unwrap())
    }
}

/// Whether the routes of `a` and `b` in `table` share one copy of their attributes.
fn shared(table: &RouteTable, a: &str, b: &str) -> bool {
    let attrs = |p: &str| {
        let p: Prefix = p.parse().unwrap();
        table.iter().find(|(q, _)| **q == p).unwrap().1 as *const Route
    };
    std::ptr::eq(attrs(a), attrs(b))
}

#[test]
fn routes_come_back_whole_with_their_own_prefix() {
    let mut table = RouteTable::default();
    let mut with_all = route("2001:db8:1::/48", Some(7));
    with_all.next_hop = Some("2001:db8::9".parse().unwrap());
    with_all.communities = vec!["65001:100".parse().unwrap()];
    with_all.large_communities = vec!["65001:1:1".parse().unwrap()];
    with_all.local_pref = Some(200);
    with_all.as_path_prepend = 3;
    table.extend([route("198.18.0.0/24", None), with_all.clone()]);

    assert_eq!(table.len(), 2);
    assert_eq!(table.get(&with_all.prefix), Some(with_all.clone()));
    let all: Vec<Route> = table.routes().collect();
    assert_eq!(all, vec![route("198.18.0.0/24", None), with_all.clone()]);
    assert_eq!(
        table.insert(route("2001:db8:1::/48", None)),
        Some(with_all),
        "insert gives back the route it replaced"
    );
    assert_eq!(
        table.remove(&"198.18.0.0/24".parse().unwrap()),
        Some(route("198.18.0.0/24", None))
    );
    assert_eq!(table.remove(&"198.18.0.0/24".parse().unwrap()), None);
    assert_eq!(
        table.keys().collect::<Vec<_>>(),
        vec![&"2001:db8:1::/48".parse::<Prefix>().unwrap()]
    );
}

#[test]
fn equal_attributes_are_held_once() {
    let batch = ["198.18.0.0/24", "198.18.1.0/24", "198.18.2.0/24"];
    let mut table: RouteTable = batch.iter().map(|p| route(p, Some(1))).collect();
    assert!(shared(&table, "198.18.0.0/24", "198.18.2.0/24"));

    // Added one at a time next to a prefix with the same attributes: shared too.
    table.insert(route("198.18.3.0/24", Some(1)));
    assert!(shared(&table, "198.18.3.0/24", "198.18.0.0/24"));
    // Other attributes, or the same attributes in the other family: a set of their own.
    table.insert(route("198.18.4.0/24", Some(2)));
    assert!(!shared(&table, "198.18.4.0/24", "198.18.3.0/24"));
    table.extend([route("2001:db8::/48", Some(1))]);
    assert!(!shared(&table, "2001:db8::/48", "198.18.0.0/24"));
    assert_eq!(
        table.get(&"198.18.4.0/24".parse().unwrap()).unwrap().med,
        Some(2)
    );
}

#[test]
fn tables_compare_by_their_routes_however_they_were_built() {
    let routes = [
        route("198.18.2.0/24", Some(1)),
        route("198.18.0.0/24", None),
        route("198.18.1.0/24", Some(1)),
        route("2001:db8::/48", None),
    ];
    let collected: RouteTable = routes.iter().cloned().collect();
    let mut one_by_one = RouteTable::default();
    for r in routes.iter().rev() {
        one_by_one.insert(r.clone());
    }
    assert_eq!(collected, one_by_one);
    one_by_one.insert(route("198.18.0.0/24", Some(5)));
    assert_ne!(collected, one_by_one);
}

#[test]
fn a_prefix_given_twice_keeps_its_last_route() {
    let twice = [
        route("198.18.0.0/24", Some(1)),
        route("198.18.0.0/24", Some(2)),
    ];
    let collected: RouteTable = twice.iter().cloned().collect();
    let mut extended = RouteTable::default();
    extended.extend(twice);
    for table in [collected, extended] {
        assert_eq!(table.len(), 1);
        assert_eq!(
            table.get(&"198.18.0.0/24".parse().unwrap()).unwrap().med,
            Some(2)
        );
    }
}
