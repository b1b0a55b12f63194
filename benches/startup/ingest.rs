//! Table 6, receiving a full table: the wire-speed injector (`injector.rs`) writes N IPv4 and
//! M IPv6 routes in one burst to baton, bird2 and gobgpd, one after the other, each in its own
//! namespace of one lab and each fed the same bytes, and we time how long each takes to hold
//! them all.
//!
//! Per receiver: seconds from the first UPDATE octet until its counters show all N + M routes
//! (baton: its Loc-RIB prefix gauges, through the control socket; bird2: imported routes of `show
//! protocols all`; gobgpd: `accepted` of `gobgp -j neighbor`), the peak RSS of all its processes
//! (baton: supervisor and speaker), their CPU time during the ingest, and how fast it answers a
//! status query meanwhile (a thread asking again and again). For baton also the speaker's peak
//! RSS once all routes are held and after the next RIB snapshot save, which is when a RIB
//! serialised in one piece would show. The receivers are passive, so the injector's connection
//! is the only one.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use baton::ctl::{client, Request};
use serde_json::Value;

use super::common::baton::{global_toml, Baton};
use super::common::bird::{Bird, BirdConfig, BirdPeer};
use super::common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use super::common::http::{http, API_PORT};
use super::common::netns::{Host, Lab};
use super::common::Family;
use super::injector::{self, Burst, INJECTOR_AS, NEXT_HOP4, NEXT_HOP6};
use super::machine::{cpu_time, peak_rss_kib};
use super::options::Options;
use super::watch::{bird_protocol, bird_view, gobgp_routes, watch, Held, Routes};
use super::{upgrade, SETUP};

/// The receivers' AS.
const RECEIVER_AS: u32 = 65020;
/// bird2's name for its session with the injector.
const BIRD_PROTOCOL: &str = "injector";
/// Pause between two status queries of the responsiveness probe.
const PROBE_PAUSE: Duration = Duration::from_millis(50);
/// How long to wait for baton's RIB snapshot with every route after it holds them.
const SNAPSHOT: Duration = Duration::from_secs(180);

/// The receivers, in the order of the table.
pub const RECEIVERS: [&str; 3] = ["baton", "bird2", "gobgpd"];

/// What one receiver measured in one run (`None`: timeout or not measured).
#[derive(Default)]
pub struct Ingest {
    /// First UPDATE octet written to all N + M routes held.
    pub held: Option<Duration>,
    /// First UPDATE octet to the receiver's socket having taken the last one.
    pub taken: Option<Duration>,
    /// Peak RSS of all its processes, KiB.
    pub rss_kib: Option<u64>,
    /// CPU time of all its processes from the session up to all held.
    pub cpu: Option<Duration>,
    /// Status queries answered during the ingest, and how long each took.
    pub status: Vec<Duration>,
    /// baton only: `GET /v1/neighbors` answer times during the ingest.
    pub rest: Vec<Duration>,
    /// baton only: the speaker's peak RSS when all routes were held, and after the next
    /// RIB snapshot save, KiB.
    pub snapshot_rss_kib: Option<(u64, u64)>,
}

/// A receiver as the measurement sees it.
struct Receiver<'a> {
    /// Its address (the injector connects to port 179).
    addr: IpAddr,
    /// Its processes.
    pids: Vec<u32>,
    /// What it holds from the injector.
    held: &'a (dyn Fn() -> Held + Sync),
    /// Status queries whose answer times are recorded during the ingest (one thread each): the
    /// status query of the table, then baton's REST one.
    probes: Vec<&'a (dyn Fn() + Sync)>,
}

/// Table 6's runs, and the burst they were fed (`None` when not run): the burst encoded once
/// and checked against baton's decoder first.
pub fn bench_all(options: &Options) -> (Vec<[Ingest; 3]>, Option<Burst>) {
    if !options.parts.ingest {
        return (Vec::new(), None);
    }
    let (v4, v6) = options.ingest;
    let encoding = Instant::now();
    let burst = injector::encode(v4, v6, NEXT_HOP4, NEXT_HOP6);
    let encoded = encoding.elapsed();
    injector::check_burst(&burst, v4, v6, (NEXT_HOP4, NEXT_HOP6));
    println!(
        "  ingest: {} UPDATEs encoded in {encoded:.2?}, decoded back as encoded",
        burst.messages
    );
    let deadline = options.timeout.unwrap_or(Duration::from_secs(
        120 + u64::try_from((v4 + v6) / 2000).expect("fits"),
    ));
    let runs = (1..=options.runs)
        .map(|run| {
            println!("ingest run {run}/{}", options.runs);
            bench_ingest(&burst, (v4, v6), deadline)
        })
        .collect();
    (runs, Some(burst))
}

/// One run: a lab with the injector and the three receivers in turn, each stopped before the
/// next starts. `deadline` bounds each receiver's ingest.
fn bench_ingest(burst: &Burst, (v4, v6): (usize, usize), deadline: Duration) -> [Ingest; 3] {
    let total = (v4 + v6) as u64;
    let lab = Lab::new();
    let inj = lab.host("injector");
    assert_eq!(
        (inj.ipv4, inj.ipv6),
        (NEXT_HOP4, NEXT_HOP6),
        "the burst's next hops"
    );
    let from = IpAddr::from(inj.ipv4);
    println!("  ingest into baton");
    let baton = ingest_baton(&lab, &inj, burst, total, deadline);
    println!("  ingest into bird2");
    let host = lab.host("bird");
    let mut peer = BirdPeer::new(BIRD_PROTOCOL, from, INJECTOR_AS);
    (peer.passive, peer.ipv6) = (true, true);
    let bird = Bird::start(
        &host,
        BirdConfig {
            router_id: None,
            asn: RECEIVER_AS,
            protocols: vec![peer],
            static_routes: Vec::new(),
            extra_config: String::new(),
        },
    );
    let held = || bird_held(&bird);
    let status = || drop(bird.birdc(&["show", "protocols"]));
    let rx = Receiver {
        addr: host.ipv4.into(),
        pids: vec![bird.pid()],
        held: &held,
        probes: vec![&status],
    };
    // Untimed, once all are counted and the session is still up: what its tables hold.
    let bird_row = ingest(&inj, burst, total, deadline, &rx, || {
        let count = bird.cli(&["show", "route", "count"]);
        let total = count.lines().filter(|l| l.starts_with("Total:"));
        println!(
            "  check: bird2 holds {}",
            one_line(&total.collect::<String>())
        );
        None
    });
    drop(bird);

    println!("  ingest into gobgpd");
    let host = lab.host("gobgp");
    let mut neighbor = GobgpNeighbor::new(from, INJECTOR_AS);
    neighbor.passive = true;
    neighbor.families = vec![Family::Ipv4Unicast, Family::Ipv6Unicast];
    let gobgpd = Gobgpd::start(
        &host,
        GobgpConfig {
            asn: RECEIVER_AS,
            neighbors: vec![neighbor],
            ..GobgpConfig::default()
        },
    );
    let held = || gobgp_held(&gobgpd, from);
    let status = || drop(gobgpd.gobgp(&["neighbor"]));
    let rx = Receiver {
        addr: host.ipv4.into(),
        pids: vec![gobgpd.pid()],
        held: &held,
        probes: vec![&status],
    };
    let gobgpd_row = ingest(&inj, burst, total, deadline, &rx, || {
        for family in ["ipv4", "ipv6"] {
            let rib = gobgpd.cli(&["global", "rib", "summary", "-a", family]);
            println!("  check: gobgpd holds {}", one_line(&rib));
        }
        None
    });
    [baton, bird_row, gobgpd_row]
}

/// baton with one passive eBGP peer, the injector, for both families, and its REST API.
fn ingest_baton(lab: &Lab, inj: &Host, burst: &Burst, total: u64, deadline: Duration) -> Ingest {
    let host = lab.host("baton");
    let paths = Baton::paths(&host);
    let mut toml = global_toml(
        &paths,
        RECEIVER_AS,
        &host.ipv4.to_string(),
        &[format!("{}:179", host.ipv4)],
    );
    toml += &format!(
        "[api]\nlisten = \"127.0.0.1:{API_PORT}\"\n\n[[peer]]\naddress = \"{}\"\n\
         remote_as = {INJECTOR_AS}\nfamilies = [\"ipv4-unicast\", \"ipv6-unicast\"]\n\
         passive = true\n",
        inj.ipv4
    );
    let baton = Baton::start(&host, &toml);
    let speaker = poll_speaker(&baton);
    let socket = paths.control_socket.clone();
    let held = || baton_held(&socket);
    let ctl = || drop(client::request(&socket, &Request::Neighbors, SETUP));
    let rest = || {
        drop(std::panic::catch_unwind(|| {
            http(&host, "GET", "/v1/neighbors", None, None)
        }))
    };
    let rx = Receiver {
        addr: host.ipv4.into(),
        pids: [Some(baton.pid()), speaker].into_iter().flatten().collect(),
        held: &held,
        probes: vec![&ctl, &rest],
    };
    let row = ingest(inj, burst, total, deadline, &rx, || {
        let speaker = speaker?;
        let at_held = peak_rss_kib(speaker)?;
        if !snapshot_saved(&baton, total) {
            println!("  no RIB snapshot of {total} routes within {SNAPSHOT:?}");
            return None;
        }
        Some((at_held, peak_rss_kib(speaker)?))
    });
    if row.held.is_none() {
        baton.dump_logs();
    }
    row
}

/// The speaker's pid, once the supervisor has started it.
fn poll_speaker(baton: &Baton) -> Option<u32> {
    super::common::poll::within(SETUP, || upgrade::status(baton)["speaker_pid"].as_u64())
        .and_then(|p| u32::try_from(p).ok())
}

/// Injects `burst` into `rx` and measures it until it holds `total` routes or `deadline`
/// passes; then, while the session is still up, `after` checks what it holds or (baton)
/// measures the speaker's RSS around the next snapshot.
fn ingest(
    inj: &Host,
    burst: &Burst,
    total: u64,
    deadline: Duration,
    rx: &Receiver,
    after: impl FnOnce() -> Option<(u64, u64)>,
) -> Ingest {
    let cpu = |pids: &[u32]| pids.iter().map(|&p| cpu_time(p)).sum::<Option<Duration>>();
    let cpu_before = cpu(&rx.pids);
    let (stop, abort, done) = (
        AtomicBool::new(false),
        AtomicBool::new(false),
        AtomicBool::new(false),
    );
    let mut row = Ingest::default();
    let (tx, first) = mpsc::channel();
    std::thread::scope(|s| {
        let injecting = s.spawn(|| {
            let sent = injector::inject(inj, rx.addr, burst, &stop, |t| {
                let _ = tx.send(t);
            });
            if let Err(e) = &sent {
                eprintln!("  injector: {e}");
                abort.store(true, Ordering::SeqCst);
            }
            sent.ok()
        });
        let Ok(start) = first.recv_timeout(SETUP * 2) else {
            stop.store(true, Ordering::SeqCst);
            return;
        };
        let probes: Vec<_> = rx
            .probes
            .iter()
            .map(|probe| s.spawn(|| answer_times(probe, &done)))
            .collect();
        let times = watch(
            start,
            deadline,
            &abort,
            rx.held,
            |h| h.routes.total() >= total,
            |_| false,
        );
        done.store(true, Ordering::SeqCst);
        row.held = times.all;
        row.rss_kib = rx.pids.iter().map(|&p| peak_rss_kib(p)).sum();
        row.cpu = cpu(&rx.pids)
            .zip(cpu_before)
            .map(|(now, before)| now.saturating_sub(before));
        let mut answers = probes.into_iter().map(|p| p.join().expect("status probe"));
        row.status = answers.next().unwrap_or_default();
        row.rest = answers.next().unwrap_or_default();
        if row.held.is_some() {
            row.snapshot_rss_kib = after();
        }
        stop.store(true, Ordering::SeqCst);
        row.taken = injecting.join().expect("injector");
    });
    row
}

/// A CLI's answer on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs `probe` again and again, `PROBE_PAUSE` apart, until `done`; how long each took.
fn answer_times(probe: &(dyn Fn() + Sync), done: &AtomicBool) -> Vec<Duration> {
    let mut times = Vec::new();
    while !done.load(Ordering::SeqCst) {
        let asked = Instant::now();
        probe();
        times.push(asked.elapsed());
        std::thread::sleep(PROBE_PAUSE);
    }
    times
}

/// What baton holds in its Loc-RIB, both families: the `baton_rib_prefixes` gauges (prefixes
/// with a best route), read with the control socket's `metrics` request, which like
/// `neighbor` is answered from the status board, not by the RIB task.
fn baton_held(socket: &std::path::Path) -> Held {
    let Ok(v) = client::request(socket, &Request::Metrics, SETUP) else {
        return Held::default();
    };
    let text = v.as_str().unwrap_or_default();
    let gauge = |family: &str| {
        let name = format!("baton_rib_prefixes{{family=\"{family}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&name)?.trim().parse().ok())
            .unwrap_or(0)
    };
    Held {
        routes: Routes {
            v4: gauge("ipv4-unicast"),
            v6: gauge("ipv6-unicast"),
        },
        ..Held::default()
    }
}

/// What bird2 imported from the injector, both channels.
fn bird_held(bird: &Bird) -> Held {
    bird_view(&bird_protocol(bird, BIRD_PROTOCOL))
}

/// What gobgpd accepted from `from`, both families.
fn gobgp_held(gobgpd: &Gobgpd, from: IpAddr) -> Held {
    let Some(v) = gobgpd.neighbor_json(from) else {
        return Held::default();
    };
    let count = |a: &Value| {
        a["state"]["accepted"]
            .as_u64()
            .or(a["state"]["received"].as_u64())
    };
    let established = v["state"]["session_state"].as_u64() == Some(6);
    Held {
        routes: gobgp_routes(&v, count),
        established,
        fresh: established,
    }
}

/// Waits until baton's log says a RIB snapshot of at least `total` routes was saved.
fn snapshot_saved(baton: &Baton, total: u64) -> bool {
    super::common::poll::within(SNAPSHOT, || {
        baton
            .log()
            .lines()
            .filter(|l| l.contains("RIB snapshot saved"))
            .filter_map(|l| {
                l.split("routes=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .any(|n| n >= total)
            .then_some(())
    })
    .is_some()
}
