//! Tests of the intent keeper: changes saved, journaled, replayed and refused.

use super::*;

/// A configuration with a peer and a route, keeping its state in `dir`.
pub(in crate::speaker) fn config(dir: &std::path::Path) -> Config {
    let text = format!(
        "[global]\nasn = 65001\nrouter_id = \"198.18.0.1\"\nlisten = []\nstate_dir = {:?}\n\n\
         [[peer]]\naddress = \"198.18.0.2\"\nremote_as = 65002\n\n\
         [[route]]\nprefix = \"198.18.100.0/24\"\n",
        dir.display().to_string()
    );
    crate::config::parse(&text, "baton.toml").unwrap()
}

fn route(prefix: &str, med: Option<u32>) -> Route {
    let mut r: Route = serde_json::from_value(serde_json::json!({ "prefix": prefix })).unwrap();
    r.med = med;
    r
}

#[test]
fn route_changes_after_the_first_are_journaled_and_replayed_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let mut keeper = IntentKeeper::open(&config);
    keeper
        .announce(vec![route("198.18.7.0/24", Some(1))])
        .unwrap();
    let state = dir.path().join(crate::store::INTENT_FILE);
    let journal = dir.path().join(crate::store::INTENT_JOURNAL);
    let whole = std::fs::read(&state).unwrap();
    for i in 0..20u8 {
        keeper
            .announce(vec![route(&format!("198.18.{}.0/24", 100 + i), None)])
            .unwrap();
    }
    assert_eq!(
        keeper
            .withdraw(&[p("198.18.100.0/24"), p("198.18.100.0/24")])
            .unwrap(),
        1
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        whole,
        "the intent file is not rewritten"
    );
    let lines = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert_eq!(lines, 21, "one journal record per change");
    drop(keeper);

    let mut keeper = IntentKeeper::open(&config);
    assert!(keeper.problems.is_empty(), "{:?}", keeper.problems);
    let api = keeper
        .routes()
        .into_iter()
        .filter(|(_, s)| *s == RouteSource::Api)
        .count();
    assert_eq!(api, 20);
    // A whole save (a peer change) empties the journal and keeps everything.
    let mut added = Peer::new("198.18.0.9".parse().unwrap(), 65009);
    crate::config::complete_peer(&mut added);
    keeper.put_peer(added).unwrap();
    assert_eq!(std::fs::read(&journal).unwrap_or_default().len(), 0);
    drop(keeper);
    let keeper = IntentKeeper::open(&config);
    let api = keeper
        .routes()
        .into_iter()
        .filter(|(_, s)| *s == RouteSource::Api)
        .count();
    assert_eq!(api, 20);
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

#[test]
fn the_last_of_a_prefix_given_twice_wins_and_everything_is_kept_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let mut keeper = IntentKeeper::open(&config);
    keeper
        .announce(vec![
            route("198.18.7.0/24", Some(1)),
            route("198.18.8.0/24", None),
        ])
        .unwrap();
    keeper
        .announce(vec![
            route("198.18.7.0/24", Some(2)),
            route("198.18.7.0/24", Some(3)),
        ])
        .unwrap();
    let mut added = Peer::new("198.18.0.9".parse().unwrap(), 65009);
    crate::config::complete_peer(&mut added);
    keeper.put_peer(added.clone()).unwrap();
    keeper
        .set_enabled("198.18.0.2".parse().unwrap(), false)
        .unwrap();
    drop(keeper);

    let keeper = IntentKeeper::open(&config);
    let routes = keeper.routes();
    let meds: Vec<_> = routes
        .iter()
        .map(|(r, s)| (r.prefix.to_string(), r.med, *s))
        .collect();
    assert_eq!(
        meds,
        vec![
            ("198.18.7.0/24".to_string(), Some(3), RouteSource::Api),
            ("198.18.8.0/24".to_string(), None, RouteSource::Api),
            ("198.18.100.0/24".to_string(), None, RouteSource::Config),
        ]
    );
    let peers: Vec<_> = keeper
        .peers()
        .into_iter()
        .map(|(p, s, enabled)| (p.address.to_string(), s, enabled))
        .collect();
    assert_eq!(
        peers,
        vec![
            ("198.18.0.2".to_string(), PeerSource::Config, false),
            ("198.18.0.9".to_string(), PeerSource::Api, true),
        ]
    );
    assert_eq!(keeper.peer(added.address).unwrap().0, added);
}

#[test]
fn the_configuration_wins_over_a_run_time_peer_or_route_of_the_same_address() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let mut keeper = IntentKeeper::open(&config);
    keeper
        .put_peer(Peer::new("198.18.0.2".parse().unwrap(), 65111))
        .unwrap();
    keeper
        .announce(vec![route("198.18.100.0/24", Some(9))])
        .unwrap();
    let (peer, source, _) = keeper.peer("198.18.0.2".parse().unwrap()).unwrap();
    assert_eq!((peer.remote_as, source), (65002, PeerSource::Config));
    assert_eq!(keeper.peers().len(), 1);
    let prefix: Prefix = "198.18.100.0/24".parse().unwrap();
    assert_eq!(keeper.source_of(&prefix), Some(RouteSource::Config));
    assert_eq!(keeper.route_counts(), (1, 0));
    keeper.announce(vec![route("198.18.7.0/24", None)]).unwrap();
    assert_eq!(keeper.route_counts(), (1, 1));
    keeper.withdraw(&[p("198.18.7.0/24")]).unwrap();
    assert_eq!(keeper.originated().len(), 1);
    assert_eq!(keeper.originated()[0].med, None);
    // Removing the run-time peer leaves the configured one.
    keeper.remove_peer("198.18.0.2".parse().unwrap()).unwrap();
    assert_eq!(keeper.peers().len(), 1);
}

#[test]
fn a_change_the_state_directory_cannot_keep_is_refused_and_changes_nothing() {
    let top = tempfile::tempdir().unwrap();
    let path = top.path().join("state");
    let config = config(&path);
    let mut keeper = IntentKeeper::open(&config);
    keeper.announce(vec![route("198.18.7.0/24", None)]).unwrap();
    let moved = top.path().join("moved");
    std::fs::rename(&path, &moved).unwrap();
    let e = keeper
        .announce(vec![route("198.18.8.0/24", None)])
        .unwrap_err();
    assert!(
        matches!(&e, CommitError::Store(s) if s.not_writable().is_some()),
        "{e}"
    );
    assert!(e.to_string().starts_with("state not writable: "), "{e}");
    assert_eq!(
        keeper.originated().len(),
        2,
        "the refused route was applied"
    );
    assert!(keeper.state_dir().unwrap().not_writable().is_some());
    std::fs::rename(&moved, &path).unwrap();
    keeper.announce(vec![route("198.18.8.0/24", None)]).unwrap();
    let again = IntentKeeper::load(config.clone(), Ok(keeper.state_dir().unwrap()));
    assert_eq!(again.originated().len(), 3);
}

#[test]
fn rereading_the_run_time_intent_gives_only_what_another_keeper_changed_since() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let mut old = IntentKeeper::open(&config);
    let mut new = IntentKeeper::load(config.clone(), Ok(old.state_dir().unwrap()));
    assert_eq!(new.reread_run_time(), (vec![], vec![]));

    // The configured 198.18.100.0/24 shadows a run-time route for the same prefix.
    let x = route("198.18.7.0/24", Some(1));
    old.announce(vec![x.clone(), route("198.18.100.0/24", Some(9))])
        .unwrap();
    assert_eq!(new.reread_run_time(), (vec![x.clone()], vec![]));

    let (x2, y) = (
        route("198.18.7.0/24", Some(2)),
        route("198.18.8.0/24", None),
    );
    old.announce(vec![x2.clone()]).unwrap();
    old.announce(vec![y.clone()]).unwrap();
    let (mut announce, withdraw) = new.reread_run_time();
    announce.sort_by_key(|r| r.prefix);
    assert_eq!((announce, withdraw), (vec![x2, y.clone()], vec![]));

    old.withdraw(&[y.prefix]).unwrap();
    assert_eq!(new.reread_run_time(), (vec![], vec![y.prefix]));
    assert_eq!(new.originated(), old.originated());
}
