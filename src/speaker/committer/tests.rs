//! Tests of group commit: real state directories, real threads; a test that needs requests to
//! pile up holds the intent's lock (as a batch being written does) and waits until they are
//! queued, rather than counting on timing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::*;
use crate::config::{Config, Peer, Route};
use crate::speaker::intent::RouteSource;
use crate::store::{SaveKind, SaveObserver};
use crate::wire::Prefix;

/// Counts journal appends and whole saves of the intent.
#[derive(Default)]
struct Saves {
    journal: AtomicUsize,
    whole: AtomicUsize,
}

impl SaveObserver for Saves {
    fn saved(&self, kind: SaveKind, _: Duration, _: u64) {
        match kind {
            SaveKind::Journal => self.journal.fetch_add(1, Ordering::SeqCst),
            SaveKind::Intent => self.whole.fetch_add(1, Ordering::SeqCst),
            SaveKind::Rib => 0,
        };
    }
    fn failed(&self, _: SaveKind) {}
}

impl Saves {
    fn counts(&self) -> (usize, usize) {
        let n = |c: &AtomicUsize| c.load(Ordering::SeqCst);
        (n(&self.journal), n(&self.whole))
    }
}

/// A speaker's intent and committer, with what the RIB is told.
struct Rig {
    config: Config,
    intent: Arc<Mutex<IntentKeeper>>,
    committer: Arc<Committer>,
    rib: UnboundedReceiver<RibCmd>,
    saves: Arc<Saves>,
}

fn rig(state: &std::path::Path) -> Rig {
    let config = crate::speaker::intent::tests::config(state);
    let keeper = IntentKeeper::open(&config);
    let saves = Arc::new(Saves::default());
    assert!(keeper.state_dir().unwrap().observe(saves.clone()));
    let intent = Arc::new(Mutex::new(keeper));
    let (tx, rib) = unbounded_channel();
    let committer = Arc::new(Committer::start(intent.clone(), tx).unwrap());
    Rig {
        config,
        intent,
        committer,
        rib,
        saves,
    }
}

impl Rig {
    /// Hold the intent as a batch being written does, until the guard is dropped.
    fn hold(&self) -> MutexGuard<'_, IntentKeeper> {
        self.intent.lock().unwrap()
    }

    /// Wait (bounded) until `n` requests were queued in all.
    fn wait_queued(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.committer.submitted() < n {
            assert!(
                Instant::now() < deadline,
                "{n} requests were not queued in 20 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The run-time routes as kept on disk: read again by a keeper of its own.
    fn on_disk(&self) -> Vec<Prefix> {
        api_prefixes(&IntentKeeper::open(&self.config))
    }

    fn in_memory(&self) -> Vec<Prefix> {
        api_prefixes(&self.intent.lock().unwrap())
    }

    /// The prefixes the RIB was told to announce, in order.
    fn rib_announced(&mut self) -> Vec<Prefix> {
        let mut told = Vec::new();
        while let Ok(cmd) = self.rib.try_recv() {
            if let RibCmd::ChangeOriginated { announce, .. } = cmd {
                told.extend(announce.iter().map(|r| r.prefix));
            }
        }
        told
    }
}

fn api_prefixes(keeper: &IntentKeeper) -> Vec<Prefix> {
    let routes = keeper.routes().into_iter();
    let api = routes.filter(|(_, s)| *s == RouteSource::Api);
    api.map(|(r, _)| r.prefix).collect()
}

fn route(prefix: &str) -> Route {
    serde_json::from_value(serde_json::json!({ "prefix": prefix })).unwrap()
}

/// Announce `prefix` the way the API does: refused if the configuration originates it.
fn announce(prefix: String) -> impl Change<()> {
    move |keeper| {
        let r = route(&prefix);
        keeper.announce(vec![r.clone()])?;
        if keeper.source_of(&r.prefix) == Some(super::super::intent::RouteSource::Config) {
            // Checked after the change on purpose: the batch takes it back.
            return Err(BackendError::Conflict {
                field: Some("prefix".into()),
                message: format!("{prefix} is originated by the configuration file"),
            });
        }
        let cmd = RibCmd::ChangeOriginated {
            announce: vec![r],
            withdraw: Vec::new(),
        };
        Ok(((), Some(cmd)))
    }
}

/// Queue one announce per prefix, each from a thread of its own; the answers in order.
fn announce_from_threads(rig: &Rig, prefixes: &[&str]) -> Vec<Result<(), BackendError>> {
    let waiting: Vec<_> = prefixes
        .iter()
        .map(|p| {
            let (committer, p) = (rig.committer.clone(), p.to_string());
            std::thread::spawn(move || committer.submit(announce(p)).blocking_recv().unwrap())
        })
        .collect();
    waiting.into_iter().map(|t| t.join().unwrap()).collect()
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

#[test]
fn many_concurrent_announces_are_all_acknowledged_and_all_kept_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = rig(dir.path());
    let (threads, each) = (64, 50);
    let clients: Vec<_> = (0..threads)
        .map(|t| {
            let committer = rig.committer.clone();
            std::thread::spawn(move || {
                for i in 0..each {
                    let prefix = format!("198.19.{t}.{i}/32");
                    committer
                        .submit(announce(prefix))
                        .blocking_recv()
                        .unwrap()?;
                }
                Ok::<_, BackendError>(())
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap().unwrap();
    }
    let requests = threads * each;
    assert_eq!(rig.in_memory().len(), requests);
    assert_eq!(rig.rib_announced().len(), requests, "the RIB hears of each");
    let on_disk = rig.on_disk();
    assert_eq!(on_disk.len(), requests);
    assert_eq!(on_disk, rig.in_memory());
    let (journal, whole) = rig.saves.counts();
    assert!(
        journal + whole < requests,
        "{requests} requests took {journal} journal appends and {whole} whole saves"
    );
}

#[test]
fn requests_queued_while_a_batch_is_written_share_one_journal_append() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = rig(dir.path());
    // The first change saves the intent whole; the next are journaled.
    let first = announce_from_threads(&rig, &["198.19.0.0/24"]);
    assert_eq!(first, vec![Ok(())]);
    let before = rig.saves.counts();
    let prefixes: Vec<String> = (0..32).map(|i| format!("198.19.1.{i}/32")).collect();
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let answers = {
        let held = rig.hold();
        std::thread::scope(|s| {
            let asked = s.spawn(|| announce_from_threads(&rig, &prefixes));
            rig.wait_queued(1 + prefixes.len());
            drop(held);
            asked.join().unwrap()
        })
    };
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    let after = rig.saves.counts();
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 0),
        "32 queued requests: one journal append, no whole save"
    );
    assert_eq!(rig.rib_announced().len(), 33);
    assert_eq!(rig.on_disk().len(), 33);
}

#[test]
fn a_batch_the_disk_refuses_fails_every_request_of_it_and_keeps_none() {
    let top = tempfile::tempdir().unwrap();
    let path = top.path().join("state");
    let mut rig = rig(&path);
    assert_eq!(
        announce_from_threads(&rig, &["198.19.0.0/24"]),
        vec![Ok(())]
    );
    let moved = top.path().join("moved");
    let peer: std::net::IpAddr = "198.18.0.2".parse().unwrap();
    let (answers, disabled) = {
        let held = rig.hold();
        std::fs::rename(&path, &moved).unwrap();
        std::thread::scope(|s| {
            let asked =
                s.spawn(|| announce_from_threads(&rig, &["198.19.1.0/24", "198.19.2.0/24"]));
            // A peer change in the batch: the batch is saved whole, and that fails too.
            let disabled = rig.committer.submit(move |keeper| {
                keeper.set_enabled(peer, false)?;
                Ok(((), None))
            });
            rig.wait_queued(4);
            drop(held);
            (asked.join().unwrap(), disabled.blocking_recv().unwrap())
        })
    };
    for answer in answers.iter().chain([&disabled]) {
        assert!(
            matches!(answer, Err(BackendError::StateNotWritable(_))),
            "{answer:?}"
        );
    }
    assert_eq!(rig.in_memory(), vec![p("198.19.0.0/24")]);
    assert!(
        rig.intent.lock().unwrap().peer(peer).unwrap().2,
        "still enabled"
    );
    assert_eq!(rig.rib_announced(), vec![p("198.19.0.0/24")]);
    std::fs::rename(&moved, &path).unwrap();
    assert_eq!(rig.on_disk(), vec![p("198.19.0.0/24")]);
    // Writable again: the next batch is kept.
    assert_eq!(
        announce_from_threads(&rig, &["198.19.3.0/24"]),
        vec![Ok(())]
    );
    let kept = vec![p("198.19.0.0/24"), p("198.19.3.0/24")];
    assert_eq!(rig.on_disk(), kept);
    assert_eq!(rig.in_memory(), kept);
}

#[test]
fn a_request_refused_by_its_checks_fails_alone_and_the_rest_of_its_batch_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = rig(dir.path());
    assert_eq!(
        announce_from_threads(&rig, &["198.19.0.0/24"]),
        vec![Ok(())]
    );
    let answers = {
        let held = rig.hold();
        std::thread::scope(|s| {
            // One at a time into the queue, so the batch holds them in this order.
            let mut asked = Vec::new();
            for (n, prefix) in ["198.19.1.0/24", "198.18.100.0/24", "198.19.2.0/24"]
                .into_iter()
                .enumerate()
            {
                let rx = rig.committer.submit(announce(prefix.to_string()));
                rig.wait_queued(2 + n);
                asked.push(s.spawn(move || rx.blocking_recv().unwrap()));
            }
            drop(held);
            asked
                .into_iter()
                .map(|a| a.join().unwrap())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(answers[0], Ok(()));
    assert!(
        matches!(&answers[1], Err(BackendError::Conflict { field: Some(f), .. }) if f == "prefix"),
        "{:?}",
        answers[1]
    );
    assert_eq!(answers[2], Ok(()));
    let kept = vec![p("198.19.0.0/24"), p("198.19.1.0/24"), p("198.19.2.0/24")];
    assert_eq!(rig.in_memory(), kept);
    assert_eq!(rig.on_disk(), kept);
    assert_eq!(
        rig.rib_announced(),
        kept,
        "the RIB hears in the order they were kept"
    );
    let keeper = rig.intent.lock().unwrap();
    assert_eq!(
        keeper.source_of(&p("198.18.100.0/24")),
        Some(RouteSource::Config)
    );
    assert_eq!(keeper.originated().len(), 4);
}

#[test]
fn a_peer_added_in_a_batch_of_route_changes_is_kept_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(dir.path());
    assert_eq!(
        announce_from_threads(&rig, &["198.19.0.0/24"]),
        vec![Ok(())]
    );
    let mut added = Peer::new("198.18.0.9".parse().unwrap(), 65009);
    crate::config::complete_peer(&mut added);
    let answers = {
        let held = rig.hold();
        let first = rig.committer.submit(announce("198.19.1.0/24".into()));
        let peer = added.clone();
        let put = rig
            .committer
            .submit(move |keeper| Ok((keeper.put_peer(peer)?, None)));
        let withdrawn = rig
            .committer
            .submit(|keeper| Ok((keeper.withdraw(&[p("198.19.0.0/24")])?, None)));
        rig.wait_queued(4);
        drop(held);
        (
            first.blocking_recv().unwrap(),
            put.blocking_recv().unwrap(),
            withdrawn.blocking_recv().unwrap(),
        )
    };
    assert_eq!(answers, (Ok(()), Ok(()), Ok(1)));
    assert_eq!(rig.on_disk(), vec![p("198.19.1.0/24")]);
    let reopened = IntentKeeper::open(&rig.config);
    assert_eq!(reopened.peer(added.address).unwrap().0, added);
}

/// What a command list says, for comparison: each change as (announced, withdrawn), a
/// replacement of all originated routes as `None`.
type Said = Vec<Option<(Vec<Prefix>, Vec<Prefix>)>>;

fn said(cmds: Vec<RibCmd>) -> Said {
    cmds.into_iter()
        .map(|cmd| match cmd {
            RibCmd::ChangeOriginated { announce, withdraw } => {
                Some((announce.iter().map(|r| r.prefix).collect(), withdraw))
            }
            _ => None,
        })
        .collect()
}

fn change(announce: &[&str], withdraw: &[&str]) -> RibCmd {
    RibCmd::ChangeOriginated {
        announce: announce.iter().map(|p| route(p)).collect(),
        withdraw: withdraw.iter().map(|p| p.parse().unwrap()).collect(),
    }
}

fn prefixes(ps: &[&str]) -> Vec<Prefix> {
    ps.iter().map(|p| p.parse().unwrap()).collect()
}

#[test]
fn changes_of_different_prefixes_reach_the_rib_as_one() {
    let cmds = vec![
        change(&["198.18.1.0/24"], &[]),
        change(&["198.18.2.0/24"], &[]),
        change(&[], &["198.18.9.0/24"]),
        change(&["198.18.3.0/24"], &[]),
    ];
    let one = prefixes(&["198.18.1.0/24", "198.18.2.0/24", "198.18.3.0/24"]);
    assert_eq!(
        said(coalesce(cmds)),
        vec![Some((one, prefixes(&["198.18.9.0/24"])))]
    );
}

#[test]
fn a_prefix_changed_again_starts_another_command_in_order() {
    // Merged, the withdrawal would apply before the announcement and the route would stay.
    let cmds = vec![
        change(&["198.18.1.0/24"], &[]),
        change(&[], &["198.18.1.0/24"]),
        change(&["198.18.2.0/24"], &[]),
        change(&["198.18.1.0/24"], &[]),
    ];
    assert_eq!(
        said(coalesce(cmds)),
        vec![
            Some((prefixes(&["198.18.1.0/24"]), vec![])),
            Some((prefixes(&["198.18.2.0/24"]), prefixes(&["198.18.1.0/24"]))),
            Some((prefixes(&["198.18.1.0/24"]), vec![])),
        ]
    );
}

#[test]
fn other_commands_keep_their_place() {
    let cmds = vec![
        change(&["198.18.1.0/24"], &[]),
        RibCmd::SetOriginated(Default::default()),
        change(&["198.18.2.0/24"], &[]),
        change(&["198.18.3.0/24"], &[]),
    ];
    assert_eq!(
        said(coalesce(cmds)),
        vec![
            Some((prefixes(&["198.18.1.0/24"]), vec![])),
            None,
            Some((prefixes(&["198.18.2.0/24", "198.18.3.0/24"]), vec![])),
        ]
    );
}
