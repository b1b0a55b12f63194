//! Concurrent single-route POSTs against a real batond, which is killed with SIGKILL while they
//! are in flight: after a restart, a real gobgpd holds every route that was acknowledged.
//! Concurrent requests share fsyncs (group commit), and none is acknowledged before the fsync
//! that keeps it returned.
//!
//! Requests are plain HTTP/1.1 written by hand (`common::http`), one connection each.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::api_lab::{ApiLab, SESSION_UP};
use common::baton::Baton;
use common::http::{parse_reply, request_bytes, spawn_in_namespace, API_PORT};
use common::{poll, Family};

/// Clients posting at once, and the most routes each posts.
const CLIENTS: usize = 16;
const EACH: usize = 60;
/// Acknowledged routes before the kill.
const BEFORE_KILL: usize = 200;

/// One POST of one route on a connection of its own: `Some(status)`, or `None` if the daemon
/// did not answer (it was killed).
fn post_route(prefix: &str) -> Option<u16> {
    let api = SocketAddr::from(([127, 0, 0, 1], API_PORT));
    let body = format!("{{\"prefix\":\"{prefix}\"}}");
    let request = request_bytes(api, "POST", "/v1/routes", Some(body.as_bytes()), None);
    let mut stream = TcpStream::connect_timeout(&api, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    stream.write_all(&request).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    parse_reply(&raw).ok().map(|r| r.status)
}

#[test]
fn every_route_acknowledged_to_concurrent_clients_survives_kill_9_of_the_daemon() {
    let mut t = ApiLab::new();
    let (a, gobgpd) = (t.a.clone(), &t.gobgpd);
    let speaker = t.baton.ctl(&["status"])["speaker_pid"]
        .as_u64()
        .expect("speaker pid") as i32;

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (acked, answered) = (acked.clone(), answered.clone());
            spawn_in_namespace(&a, move || {
                for i in 0..EACH {
                    let prefix = format!("198.19.{c}.{i}/32");
                    match post_route(&prefix) {
                        Some(200) => acked.lock().unwrap().push(prefix),
                        Some(status) => panic!("POST {prefix}: {status}"),
                        None => return,
                    }
                    answered.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    poll::until_true(
        Duration::from_secs(120),
        &format!("{BEFORE_KILL} routes to be acknowledged"),
        || answered.load(Ordering::SeqCst) >= BEFORE_KILL,
    );
    // Killed while requests are in flight: what was acknowledged must be kept.
    t.baton.kill();
    poll::until_true(
        Duration::from_secs(5),
        "the speaker to die with its supervisor",
        || nix::sys::signal::kill(nix::unistd::Pid::from_raw(speaker), None).is_err(),
    );
    for c in clients {
        c.join().expect("a client");
    }
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "{} of {} routes acknowledged before the kill",
        acked.len(),
        CLIENTS * EACH
    );
    assert!(acked.len() >= BEFORE_KILL);
    poll::until_true(SESSION_UP, "gobgpd to lose the session", || {
        gobgpd.neighbor_state(a.ipv4.into()).as_deref() != Some("established")
    });

    t.baton = Baton::spawn_at(&a, Baton::paths(&a), &t.toml, &[]);
    t.baton.wait_ready(Duration::from_secs(30));
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    poll::until_true(
        Duration::from_secs(60),
        "gobgpd to hold every acknowledged route",
        || {
            let held: std::collections::HashSet<String> = gobgpd
                .adj_in(a.ipv4.into(), Family::Ipv4Unicast)
                .into_iter()
                .map(|r| r.prefix)
                .collect();
            acked.iter().all(|p| held.contains(p))
        },
    );
}
