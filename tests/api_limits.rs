//! The REST API of a running batond under abuse: thousands of idle connections cannot keep a
//! BGP peer (a real gobgpd) from connecting, and every refusal of the HTTP layer, down to a
//! request line that is not HTTP, is JSON with a stable code.
//!
//! batond runs with its descriptor limit set low (soft and hard, so it cannot raise it), so that
//! without the API's connection cap the flood would exhaust it: the same test against an
//! uncapped API fails, with "Too many open files" on the BGP listener.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::baton::{global_toml, host_global_toml_at, peer_toml, Baton};
use common::gobgp::{GobgpConfig, Gobgpd};
use common::http::{exchange, http, parse_reply, spawn_in_namespace, Reply, API_PORT};
use common::netns::{Host, Lab};
use common::poll;

const OUR_AS: u32 = 65001;
const PEER_AS: u32 = 65002;
/// batond's RLIMIT_NOFILE, soft and hard: far below the flood.
const FD_LIMIT: u64 = 512;
/// Idle connections the test opens and keeps open.
const FLOOD: usize = 5000;
/// `[api] idle_timeout` and `header_timeout` in the test, in seconds.
const TIMEOUT_SECS: u64 = 3;
/// Opening the flood: thousands of connects through a debug build's accept loop.
const FLOOD_TIME: Duration = Duration::from_secs(120);
/// gobgpd waits a few seconds after a loss before it connects again.
const SESSION_UP: Duration = Duration::from_secs(60);

/// What became of one connection of the flood.
#[derive(Debug)]
enum Outcome {
    /// Answered 503 `too_many_connections` and closed.
    Refused,
    /// Closed without a word after this long: the idle timeout.
    Idle(Duration),
    /// Anything else: a reset, another reply.
    Other(String),
}

/// One connection of the flood, never sending a byte.
struct Held {
    stream: TcpStream,
    opened: Instant,
    got: Vec<u8>,
}

impl Held {
    fn open(addr: SocketAddr) -> Option<Held> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        stream.set_nonblocking(true).ok()?;
        Some(Held {
            stream,
            opened: Instant::now(),
            got: Vec::new(),
        })
    }

    /// `Some` once the server has closed it.
    fn check(&mut self) -> Option<Outcome> {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return Some(self.outcome()),
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
                Err(e) => return Some(Outcome::Other(format!("{e}"))),
            }
        }
    }

    fn outcome(&self) -> Outcome {
        if self.got.is_empty() {
            return Outcome::Idle(self.opened.elapsed());
        }
        match parse_reply(&self.got) {
            Ok(Reply {
                status: 503, body, ..
            }) if body["code"] == "too_many_connections" => Outcome::Refused,
            _ => Outcome::Other(String::from_utf8_lossy(&self.got).into_owned()),
        }
    }
}

/// The flood's progress, shared with the test.
#[derive(Default)]
struct Progress {
    /// Set by the test to end the flood.
    stop: AtomicBool,
    /// Set by the flood once [`FLOOD`] connections are open, or connecting stalled.
    wave_done: AtomicBool,
    /// Connections opened so far.
    opened: AtomicU64,
}

/// Connects that fail in a row before the flood counts as stalled (an uncapped API's listen
/// queue full, the kernel dropping SYNs).
const STALLED: usize = 10;

/// The flood: opens [`FLOOD`] connections, then keeps that many open (opening a new one for
/// each the server closes) until told to stop; returns what became of every closed one, how
/// many connects failed, and those still open.
fn flood(
    host: &Host,
    progress: Arc<Progress>,
) -> std::thread::JoinHandle<(Vec<Outcome>, usize, Vec<Held>)> {
    spawn_in_namespace(host, move || {
        let addr = SocketAddr::from(([127, 0, 0, 1], API_PORT));
        let started = Instant::now();
        let (mut held, mut outcomes, mut failed, mut in_a_row) = (Vec::new(), Vec::new(), 0, 0);
        while !progress.stop.load(Ordering::SeqCst) && started.elapsed() < FLOOD_TIME * 2 {
            held.retain_mut(|h: &mut Held| match h.check() {
                Some(outcome) => {
                    outcomes.push(outcome);
                    false
                }
                None => true,
            });
            // Top up, a batch at a time so that closures are noticed as they happen; once
            // stalled, one connect at a time so that a stop is noticed.
            let batch = if in_a_row >= STALLED { 1 } else { 200 };
            for _ in 0..(FLOOD - held.len()).min(batch) {
                if in_a_row >= STALLED && batch > 1 {
                    break;
                }
                match Held::open(addr) {
                    Some(h) => {
                        held.push(h);
                        in_a_row = 0;
                        progress.opened.fetch_add(1, Ordering::SeqCst);
                    }
                    None => {
                        failed += 1;
                        in_a_row += 1;
                    }
                }
            }
            let opened = progress.opened.load(Ordering::SeqCst);
            if opened >= FLOOD as u64 || in_a_row >= STALLED {
                progress.wave_done.store(true, Ordering::SeqCst);
            }
            if held.len() == FLOOD || in_a_row >= STALLED {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        (outcomes, failed, held)
    })
}

/// Raises this test process's own descriptor limit: it holds the flood's sockets.
fn raise_own_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    let want = hard.max(FLOOD as u64 * 2 + 1024);
    setrlimit(Resource::RLIMIT_NOFILE, want, want)
        .unwrap_or_else(|e| panic!("cannot raise RLIMIT_NOFILE to {want} (root needed): {e}"));
}

/// How many descriptors the process `pid` holds now.
fn fd_count(pid: u32) -> u64 {
    baton::fds::open_count_of(pid).unwrap_or(0)
}

#[test]
fn five_thousand_idle_api_connections_do_not_keep_a_bgp_peer_from_connecting() {
    raise_own_fd_limit();
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("gobgp"));
    let mut gobgpd = Gobgpd::start(
        &g,
        GobgpConfig::one_neighbor(PEER_AS, a.ipv4.into(), OUR_AS),
    );
    let mut toml = host_global_toml_at(&Baton::paths(&a), OUR_AS, &a);
    toml += &format!(
        "[api]\nlisten = \"127.0.0.1:{API_PORT}\"\nheader_timeout = {TIMEOUT_SECS}\nidle_timeout = {TIMEOUT_SECS}\n\n"
    );
    // Passive: the session can only come back through an accept.
    toml += &peer_toml(g.ipv4.into(), PEER_AS, "ipv4-unicast", "passive = true");
    let baton = Baton::start_with_fd_limit(&a, &toml, FD_LIMIT);
    let peer: IpAddr = g.ipv4.into();
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    let speaker = baton.ctl(&["status"])["speaker_pid"]
        .as_u64()
        .expect("speaker pid") as u32;
    let baseline = fd_count(speaker);

    // The speaker's descriptors, sampled while the flood runs.
    let progress = Arc::new(Progress::default());
    let max_fds = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (progress, max_fds) = (progress.clone(), max_fds.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            while !progress.stop.load(Ordering::SeqCst) && started.elapsed() < FLOOD_TIME * 2 {
                max_fds.fetch_max(fd_count(speaker), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let flooding = flood(&a, progress.clone());
    poll::until_true(FLOOD_TIME, "the flood's first wave", || {
        progress.wave_done.load(Ordering::SeqCst)
    });

    // Under the flood: the peer loses the session and connects again; batond must accept.
    gobgpd.kill();
    gobgpd.restart(false);
    gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
    baton.wait_established(peer, SESSION_UP);
    let opened = progress.opened.load(Ordering::SeqCst);
    assert!(
        opened >= FLOOD as u64,
        "connecting to the API stalled after {opened} connections"
    );

    // Under the flood: an API request is answered at once, 200 or 503 JSON.
    let started = Instant::now();
    let reply = http(&a, "GET", "/v1/status", None, None);
    let took = started.elapsed();
    assert!(
        reply.status == 200 || reply.body["code"] == "too_many_connections",
        "{} {}",
        reply.status,
        reply.body
    );
    assert!(
        took < Duration::from_secs(5),
        "the API answered in {took:?}"
    );

    progress.stop.store(true, Ordering::SeqCst);
    let (outcomes, failed, mut held) = flooding.join().expect("flood thread");
    sampler.join().expect("sampler thread");

    // Every connection still open is closed by the idle timeout.
    let deadline = Duration::from_secs(TIMEOUT_SECS + 10);
    let mut last = Vec::new();
    poll::until_true(deadline, "the idle connections to be closed", || {
        held.retain_mut(|h| match h.check() {
            Some(outcome) => {
                last.push(outcome);
                false
            }
            None => true,
        });
        held.is_empty()
    });

    let all: Vec<&Outcome> = outcomes.iter().chain(&last).collect();
    let refused = all.iter().filter(|o| matches!(o, Outcome::Refused)).count();
    let idle: Vec<Duration> = all
        .iter()
        .filter_map(|o| match o {
            Outcome::Idle(d) => Some(*d),
            _ => None,
        })
        .collect();
    let other: Vec<&str> = all
        .iter()
        .filter_map(|o| match o {
            Outcome::Other(what) => Some(what.as_str()),
            _ => None,
        })
        .collect();
    let max = max_fds.load(Ordering::SeqCst);
    eprintln!(
        "flood: {} connections, {refused} answered 503, {} closed idle (shortest {:?}), {failed} connects failed; speaker descriptors {baseline} before, at most {max} (limit {FD_LIMIT})",
        all.len(),
        idle.len(),
        idle.iter().min()
    );
    assert!(
        other.is_empty(),
        "{} closed otherwise, e.g. {:?}",
        other.len(),
        other.first()
    );
    assert!(refused > 0, "none was answered 503");
    assert!(!idle.is_empty(), "none was served and then closed idle");
    let shortest = idle.iter().min().copied().unwrap_or_default();
    assert!(
        shortest >= Duration::from_millis(TIMEOUT_SECS * 1000 - 500),
        "a served connection was closed after {shortest:?}, before the idle timeout"
    );
    assert!(
        max <= FD_LIMIT - baton::fds::RESERVE + 32,
        "the speaker held {max} descriptors: the reserve for BGP was eaten into"
    );

    // The flood gone, the API serves again.
    let reply = http(&a, "GET", "/v1/status", None, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(baton.neighbor(peer)["state"], "Established");
}

/// One request the HTTP layer refuses, and the status and code it must get.
struct Refusal {
    name: &'static str,
    request: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: baton\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn every_refusal_of_a_running_daemon_is_json_with_a_stable_code() {
    let lab = Lab::new();
    let a = lab.host("baton");
    let paths = Baton::paths(&a);
    let mut toml = global_toml(&paths, OUR_AS, &a.ipv4.to_string(), &[]);
    toml += &format!("[api]\nlisten = \"127.0.0.1:{API_PORT}\"\n\n");
    let _baton = Baton::start(&a, &toml);
    poll::until_true(Duration::from_secs(10), "the API to answer", || {
        http(&a, "GET", "/v1/status", None, None).status == 200
    });

    let get = |target: String| {
        format!("GET {target} HTTP/1.1\r\nHost: baton\r\nConnection: close\r\n\r\n").into_bytes()
    };
    let refusals = [
        Refusal {
            name: "request line not HTTP",
            request: b"HELLO\r\n\r\n".to_vec(),
            status: 400,
            code: "malformed_request",
        },
        Refusal {
            name: "unknown HTTP version",
            request: b"GET /v1/status HTTP/7.0\r\n\r\n".to_vec(),
            status: 400,
            code: "malformed_request",
        },
        Refusal {
            name: "10 KB target",
            request: get(format!("/v1/rib/ipv4?prefix={}", "9".repeat(10 << 10))),
            status: 414,
            code: "uri_too_long",
        },
        Refusal {
            name: "200 KB header",
            request: format!(
                "GET /v1/status HTTP/1.1\r\nHost: baton\r\nX-Big: {}\r\n\r\n",
                "h".repeat(200 << 10)
            )
            .into_bytes(),
            status: 431,
            code: "headers_too_large",
        },
        Refusal {
            name: "17 MB body",
            request: post("/v1/routes", &" ".repeat(17 << 20)),
            status: 413,
            code: "body_too_large",
        },
        Refusal {
            name: "key given twice",
            request: post(
                "/v1/routes",
                r#"{"prefix": "198.18.7.0/24", "med": 1, "med": 2}"#,
            ),
            status: 400,
            code: "duplicate_key",
        },
        Refusal {
            name: "prefix length 08",
            request: post("/v1/routes", r#"{"prefix": "10.0.0.0/08"}"#),
            status: 400,
            code: "invalid_value",
        },
        Refusal {
            name: "port 70000",
            request: post(
                "/v1/neighbors",
                r#"{"address": "198.18.0.9", "remote_as": 65009, "port": 70000}"#,
            ),
            status: 400,
            code: "invalid_value",
        },
        Refusal {
            name: "no such endpoint",
            request: get("/v2/status".into()),
            status: 404,
            code: "not_found",
        },
    ];
    for r in refusals {
        let raw = exchange(&a, r.request);
        let reply = parse_reply(&raw).unwrap_or_else(|e| {
            panic!(
                "{}: not an HTTP reply ({e}): {:?}",
                r.name,
                String::from_utf8_lossy(&raw)
            )
        });
        assert_eq!(reply.status, r.status, "{}: {}", r.name, reply.body);
        assert_eq!(reply.body["code"], r.code, "{}: {}", r.name, reply.body);
        let error = reply.body["error"].as_str().unwrap_or_default();
        assert!(
            !error.is_empty() && error.len() < 2048,
            "{}: {error:?}",
            r.name
        );
        match r.name {
            "key given twice" => assert_eq!(reply.body["field"], "med"),
            "prefix length 08" => assert!(error.contains("did you mean 10.0.0.0/8?"), "{error}"),
            "port 70000" => {
                assert_eq!(reply.body["field"], "port");
                assert!(error.contains("70000 is out of range 1..=65535"), "{error}");
            }
            _ => {}
        }
    }

    // Nothing was applied.
    let rib = http(&a, "GET", "/v1/rib/ipv4", None, None);
    assert_eq!(rib.body["routes"], json!([]), "{}", rib.body);
    let neighbors = http(&a, "GET", "/v1/neighbors", None, None);
    assert_eq!(
        neighbors.body["neighbors"],
        Value::Array(vec![]),
        "{}",
        neighbors.body
    );
}
