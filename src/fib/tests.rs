//! The installer against the real kernel: each test moves its thread into a network namespace
//! of its own (`unshare(CLONE_NEWNET)`, so root is needed), gives it a veth pair with
//! addresses from 198.18.0.0/15 and 2001:db8::/32, runs the installer on a single-threaded
//! runtime there, plays the Loc-RIB's part on the feed, and checks with `ip route`.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};

use super::installer::{self, FibHandle, Options};
use super::testutil::{change, learned};
use super::writes::{Batch, Hold};
use crate::config::Fib;
use crate::metrics::Metrics;
use crate::rib::BestPathChange;

/// Run `test` in a fresh network namespace, on a current-thread runtime.
fn in_namespace<F: std::future::Future<Output = ()>>(test: impl FnOnce() -> F) {
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET) {
        panic!("these tests need root to create a network namespace (unshare: {e})");
    }
    for args in [
        "link set lo up",
        "link add d0 type veth peer name d1",
        "link set d0 up",
        "link set d1 up",
        "addr add 198.18.0.1/24 dev d0",
        "-6 addr add 2001:db8::1/64 dev d0 nodad",
    ] {
        ip(args);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test());
}

/// `ip ARGS` in the test's namespace; panics with its error if it fails.
fn ip(args: &str) -> String {
    ip_or(args, "")
}

/// `ip ARGS`, whose failure saying `absent` means an empty answer.
fn ip_or(args: &str, absent: &str) -> String {
    let out = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .unwrap_or_else(|e| panic!("these tests need iproute2's `ip`: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && !absent.is_empty() && stderr.contains(absent) {
        return String::new();
    }
    assert!(out.status.success(), "ip {args}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The routes of `proto` in `table`, both families, one `ip route` line each, sorted.
fn routes(table: &str, proto: &str) -> Vec<String> {
    let mut lines: Vec<String> = ["-4", "-6"]
        .iter()
        .flat_map(|f| {
            // A table nothing was ever put in does not exist for IPv6.
            ip_or(
                &format!("{f} route show table {table} proto {proto}"),
                "FIB table does not exist",
            )
            .lines()
            .map(|l| l.trim().replace(" pref medium", ""))
            .collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    lines
}

/// Poll `f` until it holds, for at most `secs` seconds.
async fn until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Running {
    feed: mpsc::UnboundedSender<Batch>,
    deletes: watch::Sender<bool>,
    metrics: Arc<Metrics>,
    handle: FibHandle,
}

fn start(fib: Fib, deletes: bool, hold: Option<Hold>, table: Vec<BestPathChange>) -> Running {
    let (feed, rx) = mpsc::unbounded_channel();
    let (gate, gate_rx) = watch::channel(deletes);
    let metrics = Arc::new(Metrics::new());
    let handle = installer::spawn(
        Options {
            fib,
            metrics: metrics.clone(),
            deletes: gate_rx,
            hold,
        },
        rx,
    )
    .expect("open netlink");
    feed.send(table.into()).unwrap();
    Running {
        feed,
        deletes: gate,
        metrics,
        handle,
    }
}

fn fast() -> Fib {
    Fib {
        enabled: true,
        reconcile_interval: 1,
        ..Fib::default()
    }
}

fn v4(prefix: &str) -> BestPathChange {
    change(prefix, Some(learned("198.18.0.2", "198.18.0.2")))
}

fn v6(prefix: &str) -> BestPathChange {
    change(prefix, Some(learned("2001:db8::2", "2001:db8::2")))
}

const R5: &str = "198.18.5.0/24 via 198.18.0.2 dev d0 metric 20";
const R6: &str = "2001:db8:6::/48 via 2001:db8::2 dev d0 metric 20";

#[test]
fn routes_are_installed_withdrawn_and_a_deleted_one_is_back_with_one_reinstall() {
    in_namespace(|| async {
        let t = start(
            fast(),
            true,
            None,
            vec![v4("198.18.5.0/24"), v6("2001:db8:6::/48")],
        );
        until(5, "both routes installed", || {
            routes("main", "200") == [R5, R6]
        })
        .await;

        ip("route del 198.18.5.0/24 via 198.18.0.2 proto 200");
        assert_eq!(routes("main", "200"), [R6]);
        // Back within one interval (1 s) plus the run itself.
        until(3, "the deleted route reinstalled", || {
            routes("main", "200") == [R5, R6]
        })
        .await;
        // The count follows the kernel's answer, a moment after the route shows.
        until(2, "the reinstall counted", || {
            t.metrics.fib.reinstalls.get() >= 1
        })
        .await;
        assert_eq!(t.metrics.fib.reinstalls.get(), 1);
        assert_eq!(t.metrics.fib.installs.get(), 3);

        t.feed
            .send(vec![change("198.18.5.0/24", None)].into())
            .unwrap();
        until(3, "the withdrawn route deleted", || {
            routes("main", "200") == [R6]
        })
        .await;
        t.feed
            .send(vec![change("2001:db8:6::/48", None)].into())
            .unwrap();
        until(3, "the IPv6 route deleted", || {
            routes("main", "200").is_empty()
        })
        .await;
        assert_eq!(t.metrics.fib.deletes.get(), 2);
        assert_eq!(t.metrics.fib.reinstalls.get(), 1);
        t.handle.stop(false).await;
    });
}

#[test]
fn a_withdrawal_while_a_run_is_held_between_dump_and_write_is_not_undone() {
    in_namespace(|| async {
        let (reached_tx, mut reached) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let hold: Hold = {
            let release = release.clone();
            Arc::new(move || {
                let (reached_tx, release) = (reached_tx.clone(), release.clone());
                Box::pin(async move {
                    let _ = reached_tx.send(());
                    release.notified().await;
                })
            })
        };
        let t = start(fast(), true, Some(hold), vec![v4("198.18.5.0/24")]);
        until(5, "the route installed", || routes("main", "200") == [R5]).await;
        // Someone deletes it; the next run's dump finds it missing and plans to reinstall it,
        // and is held there.
        ip("route del 198.18.5.0/24 via 198.18.0.2 proto 200");
        loop {
            reached.recv().await.expect("a run reaches the hold");
            if !routes("main", "200").contains(&R5.to_string()) {
                break;
            }
            // A run that dumped before the delete: let it go, and hold the next.
            release.notify_one();
        }
        // Meanwhile the route is withdrawn (and another announced, to see the batch done).
        t.feed
            .send(vec![change("198.18.5.0/24", None), v4("198.18.7.0/24")].into())
            .unwrap();
        until(3, "the batch written", || {
            routes("main", "200") == ["198.18.7.0/24 via 198.18.0.2 dev d0 metric 20"]
        })
        .await;
        let runs = t.metrics.fib.reconcile_runs.get();
        release.notify_one();
        until(3, "the held run done", || {
            t.metrics.fib.reconcile_runs.get() > runs
        })
        .await;
        assert_eq!(
            routes("main", "200"),
            ["198.18.7.0/24 via 198.18.0.2 dev d0 metric 20"],
            "the withdrawn route came back"
        );
        assert_eq!(t.metrics.fib.reinstalls.get(), 0);
        drop(reached);
        release.notify_waiters();
        t.handle.stop(false).await;
    });
}

#[test]
fn other_protocols_and_tables_are_never_touched_and_deletions_wait_for_the_gate() {
    in_namespace(|| async {
        // The operator's route in our table, one of ours in another table, the operator's
        // route in the very slot we want, and a leftover of ours nobody wants any more.
        ip("route add 198.18.7.0/24 via 198.18.0.3 proto static metric 20");
        ip("route add 198.18.8.0/24 via 198.18.0.2 table 100 proto 200 metric 20");
        ip("route add 198.18.9.0/24 via 198.18.0.3 proto static metric 20");
        ip("route add 198.18.10.0/24 via 198.18.0.2 proto 200 metric 20");
        let theirs = routes("main", "static");
        let t = start(
            fast(),
            false,
            None,
            vec![v4("198.18.5.0/24"), v4("198.18.9.0/24")],
        );
        let leftover = "198.18.10.0/24 via 198.18.0.2 dev d0 metric 20";
        until(5, "our route installed beside the leftover", || {
            routes("main", "200") == [leftover, R5]
        })
        .await;
        // The slot of 198.18.9.0/24 is the operator's: refused, counted, retried each run.
        until(5, "a second refused attempt", || {
            t.metrics.fib.install_failures.get() >= 2
        })
        .await;
        assert_eq!(
            routes("main", "200"),
            [leftover, R5],
            "deleted before the gate"
        );

        t.deletes.send(true).unwrap();
        until(3, "the leftover deleted once the gate opens", || {
            routes("main", "200") == [R5]
        })
        .await;
        assert_eq!(routes("main", "static"), theirs);
        assert_eq!(
            routes("100", "200"),
            ["198.18.8.0/24 via 198.18.0.2 dev d0 metric 20"]
        );
        t.handle.stop(true).await;
        assert!(routes("main", "200").is_empty());
        assert_eq!(routes("main", "static"), theirs);
        assert_eq!(routes("100", "200").len(), 1);
    });
}

#[test]
fn a_silent_stop_leaves_our_routes_and_the_next_installer_adopts_them_without_a_write() {
    in_namespace(|| async {
        let table = || vec![v4("198.18.5.0/24"), v6("2001:db8:6::/48")];
        let t = start(fast(), true, None, table());
        until(5, "routes installed", || routes("main", "200") == [R5, R6]).await;
        t.handle.stop(false).await;
        assert_eq!(routes("main", "200"), [R5, R6], "a silent stop keeps them");

        // The next speaker: same table, one route gone meanwhile, deletions held back.
        let t = start(fast(), false, None, vec![v4("198.18.5.0/24")]);
        until(5, "the first run done", || {
            t.metrics.fib.reconcile_runs.get() >= 1
        })
        .await;
        assert_eq!(t.metrics.fib.installs.get(), 0, "adopted, not rewritten");
        assert_eq!(routes("main", "200"), [R5, R6], "nothing deleted yet");
        t.deletes.send(true).unwrap();
        until(3, "the unwanted route deleted", || {
            routes("main", "200") == [R5]
        })
        .await;
        t.handle.stop(true).await;
        assert!(
            routes("main", "200").is_empty(),
            "a deliberate stop removes them"
        );
    });
}

#[test]
fn a_route_of_ours_differing_only_by_source_is_another_route() {
    in_namespace(|| async {
        // Left by a run with another `src_v4`; this run wants 198.18.0.1.
        ip("addr add 198.18.0.9/32 dev d0");
        ip("route add 198.18.5.0/24 via 198.18.0.2 src 198.18.0.9 proto 200 metric 20");
        let fib = Fib {
            src_v4: Some("198.18.0.1".parse().unwrap()),
            ..fast()
        };
        let t = start(fib, true, None, vec![v4("198.18.5.0/24")]);
        let ours = "198.18.5.0/24 via 198.18.0.2 dev d0 src 198.18.0.1 metric 20";
        until(5, "ours in place of the other", || {
            routes("main", "200") == [ours]
        })
        .await;
        // Deleted by hand (named by its source): back, counted once.
        ip("route del 198.18.5.0/24 via 198.18.0.2 src 198.18.0.1 proto 200");
        until(3, "ours back", || routes("main", "200") == [ours]).await;
        until(2, "one reinstall", || t.metrics.fib.reinstalls.get() == 1).await;
        t.handle.stop(true).await;
    });
}

mod failures;
mod multipath;
