//! Table 4, announcing through an API: baton's `POST /v1/routes`, one route per request (from
//! one client, and from 64 at once, with and without a large intent held already) and in
//! batches, next to gobgpd taking the same routes from `gobgp global rib add` (one process per
//! route, as a script would call it) and from its gRPC `AddPathStream`. For each: the rate at
//! which the originator acknowledges the routes, and the time until both receivers hold them all,
//! so that the rate is end to end and not only a count of replies.
//!
//! The batches carry N IPv4 and M IPv6 routes (`--routes`, `--v6`: tables 1 and 2's prefixes,
//! mixed evenly in the order posted) and both receivers must hold both families; the
//! single-route rows are IPv4 only (one route a request is about the request's cost, not the
//! family's).
//!
//! Every row runs in a fresh lab: the originator (batond with `[api]`, or gobgpd) and table 1's
//! two receivers, sessions Established before the clock starts. The clock starts when the client
//! sends its first request, everything it sends being encoded already; the clients themselves
//! are in `api_client.rs`.
//!
//! baton answers a `POST` only once the change is fsynced to its state directory; gobgpd keeps
//! routes in memory only, so the two acknowledge different things. That is the point of the
//! comparison: what a controller pays for routes that survive a crash.

use std::fs;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::api_client::{self, Reply, API_PORT};
use super::common::baton::{global_toml, Baton};
use super::common::bird::Bird;
use super::common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use super::common::netns::{Host, Lab};
use super::gobgp_origin;
use super::machine::{cpu_time, peak_rss_kib};
use super::options::Options;
use super::watch::{watch_receivers, Routes, Times};
use super::{
    baton_peer, grouped, originated, start_receivers, upgrade, BIRD_AS, BIRD_PROTOCOL, GOBGP_AS,
    ORIGIN_AS, RESTART_TIME, SETUP,
};

/// Routes per request in the "batch" row that splits N + M.
const PER_BATCH: usize = 1000;
/// At most this many routes in one request, and at most [`MAX_BODY`] bytes of their JSON
/// (≈30 bytes an IPv4 route, ≈60 an IPv6 one with its next hop): below baton's default body
/// limit of 16 MiB.
const MAX_PER_REQUEST: usize = 400_000;
const MAX_BODY: usize = 14 << 20;
/// Clients posting single routes at once in the concurrent rows, over as many connections.
const CLIENTS: usize = 64;
/// The concurrent rows post this many times M routes.
const CONCURRENT_TIMES: usize = 10;

/// How a row's routes reach the originator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    /// baton: `POST /v1/routes` over `clients` keep-alive connections at once, this many
    /// routes per request.
    Http { per_request: usize, clients: usize },
    /// gobgpd: one `gobgp global rib add` process per route.
    Cli,
    /// gobgpd: one `AddPathStream` call of pre-encoded requests, through `gobgp_inject.py`.
    Grpc,
}

/// Prefixes as address and length, in the order posted.
type Prefixes = Vec<(IpAddr, u8)>;

/// One row of the table.
pub struct Scenario {
    name: String,
    /// The routes timed, per family.
    routes: Routes,
    client: Client,
    /// IPv4 routes the originator already holds (posted before the clock starts, the receivers
    /// holding them too): what a change costs with a large intent.
    preload: usize,
}

impl Scenario {
    /// All the routes timed, both families.
    fn total(&self) -> usize {
        self.routes.total() as usize
    }

    /// Requests the client sends (HTTP requests, processes, or messages on the one stream).
    fn requests(&self) -> usize {
        match self.client {
            Client::Http { per_request, .. } => self.total().div_ceil(per_request),
            Client::Cli => self.total(),
            Client::Grpc => self.total().div_ceil(gobgp_origin::PATHS_PER_REQUEST),
        }
    }

    /// The prefixes timed, in the order posted, and those preloaded: the timed IPv4 ones spread
    /// evenly among the preloaded ones, so that each lands amid the intent, not at its end; the
    /// IPv6 ones spread evenly among the timed IPv4 ones, so that every batch carries both
    /// families in the same proportion.
    fn prefixes(&self) -> (Prefixes, Prefixes) {
        let v4 = self.routes.v4 as usize;
        let total = v4 + self.preload;
        let stride = total / v4;
        let (timed, preloaded): (Vec<usize>, Vec<usize>) =
            (0..total).partition(|i| i % stride == 0 && i / stride < v4);
        let all = Routes {
            v4: total as u64,
            v6: self.routes.v6,
        };
        let prefixes: Prefixes = originated(all).collect();
        let pick = |numbers: Vec<usize>| numbers.into_iter().map(|i| prefixes[i]).collect();
        let v6 = prefixes[total..].to_vec();
        (spread(pick(timed), v6), pick(preloaded))
    }
}

/// `a` and `b` merged, each keeping its order, `b`'s items spread evenly among `a`'s.
fn spread<T>(a: Vec<T>, b: Vec<T>) -> Vec<T> {
    let (na, nb) = (a.len() as u64, b.len() as u64);
    let mut merged: Vec<(u64, T)> = Vec::with_capacity(a.len() + b.len());
    // Item i of n sits at (2i + 1) / 2n of the way: compared over the common denominator.
    merged.extend(
        a.into_iter()
            .enumerate()
            .map(|(i, x)| ((2 * i as u64 + 1) * nb, x)),
    );
    merged.extend(
        b.into_iter()
            .enumerate()
            .map(|(i, x)| ((2 * i as u64 + 1) * na, x)),
    );
    merged.sort_by_key(|(at, _)| *at);
    merged.into_iter().map(|(_, x)| x).collect()
}

/// The rows: M single announces (10 × M from 64 clients, alone and amid N held routes), IPv4
/// only, and N IPv4 + M IPv6 (`--v6`) in batches, for baton and for gobgpd.
pub fn scenarios(options: &Options) -> Vec<Scenario> {
    let (m, n) = (options.api_routes, options.routes);
    let ipv4 = |n: usize| Routes {
        v4: n as u64,
        v6: 0,
    };
    let batches = options.originated();
    let http = |per_request, clients| Client::Http {
        per_request,
        clients,
    };
    let concurrent = (m * CONCURRENT_TIMES).min(super::MAX_ROUTES / 2);
    let mut rows = vec![
        Scenario {
            name: "baton single (POST/route)".into(),
            routes: ipv4(m),
            client: http(1, 1),
            preload: 0,
        },
        Scenario {
            name: format!("baton single, {CLIENTS} clients"),
            routes: ipv4(concurrent),
            client: http(1, CLIENTS),
            preload: 0,
        },
    ];
    let preload = n.min(super::MAX_ROUTES - concurrent);
    rows.push(Scenario {
        name: format!("  same, {}k held", preload / 1000),
        routes: ipv4(concurrent),
        client: http(1, CLIENTS),
        preload,
    });
    let total = batches.total() as usize;
    if total > PER_BATCH {
        rows.push(Scenario {
            name: format!("baton batch ({PER_BATCH}/POST)"),
            routes: batches,
            client: http(PER_BATCH, 1),
            preload: 0,
        });
    }
    // As few requests as the body limit allows: one up to 400,000 routes (fewer with IPv6,
    // whose JSON is about twice as long; the families are mixed evenly in every request).
    let body = batches.v4 as usize * 31 + batches.v6 as usize * 62;
    let requests = total.div_ceil(MAX_PER_REQUEST).max(body.div_ceil(MAX_BODY));
    let per_request = total.div_ceil(requests);
    rows.push(Scenario {
        name: format!("baton batch ({per_request}/POST)"),
        routes: batches,
        client: http(per_request, 1),
        preload: 0,
    });
    rows.push(Scenario {
        name: "gobgpd single (CLI/route)".into(),
        routes: ipv4(m),
        client: Client::Cli,
        preload: 0,
    });
    rows.push(Scenario {
        name: "gobgpd batch (gRPC stream)".into(),
        routes: batches,
        client: Client::Grpc,
        preload: 0,
    });
    rows
}

/// What one row measured (`None`: a timeout, a failure, or not run).
#[derive(Default)]
pub struct ApiRow {
    /// First request sent to the last one acknowledged.
    acked: Option<Duration>,
    /// First request sent to all routes held at gobgpd, at bird2.
    gobgpd: Option<Duration>,
    bird: Option<Duration>,
    /// The originator's peak RSS (VmHWM) once the receivers held everything, KiB.
    rss_kib: Option<u64>,
    /// The originator's CPU time (user + system) from the first request until then.
    cpu: Option<Duration>,
}

/// One run of every scenario, each in a fresh lab; the gRPC row is skipped when `grpc` says
/// why it cannot run.
pub fn bench_api(options: &Options, grpc: &Option<String>) -> Vec<ApiRow> {
    scenarios(options)
        .iter()
        .map(|s| {
            if s.client == Client::Grpc && grpc.is_some() {
                return ApiRow::default();
            }
            println!("  {}: {} + {} routes", s.name, s.routes.v4, s.routes.v6);
            match s.client {
                Client::Http { .. } => bench_baton(options, s),
                Client::Cli | Client::Grpc => bench_gobgpd(options, s),
            }
        })
        .collect()
}

/// batond with its API on the namespace's loopback and no configured route; `s.routes` routes
/// posted to it.
fn bench_baton(options: &Options, s: &Scenario) -> ApiRow {
    let Client::Http {
        per_request,
        clients,
    } = s.client
    else {
        unreachable!("an HTTP scenario");
    };
    let lab = Lab::new();
    let origin = lab.host("origin");
    let (gobgpd, bird) = start_receivers(&lab, &origin, s.routes.families());
    let from = IpAddr::from(origin.ipv4);

    let paths = Baton::paths(&origin);
    let mut toml = global_toml(
        &paths,
        ORIGIN_AS,
        &origin.ipv4.to_string(),
        &[format!("{}:179", origin.ipv4)],
    );
    toml += &format!("[api]\nlisten = \"127.0.0.1:{API_PORT}\"\n\n");
    let v6 = s.routes.v6 > 0;
    toml += &baton_peer(gobgpd.host().ipv4.into(), GOBGP_AS, v6);
    toml += &baton_peer(bird.host().ipv4.into(), BIRD_AS, v6);
    let baton = Baton::start(&origin, &toml);
    wait_sessions(&gobgpd, &bird, from);

    let (timed, preloaded) = s.prefixes();
    let requests: Vec<Vec<u8>> = timed
        .chunks(per_request)
        .map(|chunk| api_client::post_routes(&routes_json(chunk, per_request == 1, origin.ipv6)))
        .collect();
    let deadline = options.deadline;
    if s.preload > 0 {
        // Posted in as few requests as the body limit allows, held by both receivers before
        // the clock starts.
        let requests: Vec<Vec<u8>> = preloaded
            .chunks(MAX_PER_REQUEST)
            .map(|chunk| api_client::post_routes(&routes_json(chunk, false, origin.ipv6)))
            .collect();
        let held = Routes {
            v4: s.preload as u64,
            v6: 0,
        };
        let (acked, g, b) = measure(&origin, held, deadline, &gobgpd, &bird, |go| {
            api_client::send_http(&requests, 1, deadline, go, &|_| {})
        });
        if acked.is_none() || g.all.is_none() || b.all.is_none() {
            eprintln!("  the {} routes to hold first did not arrive", s.preload);
            baton.dump_logs();
            return ApiRow::default();
        }
    }
    // batond is a supervisor and its speaker (which serves the API): count both.
    let mut pids = vec![baton.pid()];
    if let Some(speaker) = upgrade::status(&baton)["speaker_pid"].as_u64() {
        pids.push(u32::try_from(speaker).expect("a pid"));
    }
    let cpu_before: Option<Duration> = pids.iter().map(|&p| cpu_time(p)).sum();

    let added = AtomicU64::new(0);
    let total = Routes {
        v4: s.preload as u64 + s.routes.v4,
        v6: s.routes.v6,
    };
    let (acked, g, b) = measure(&origin, total, deadline, &gobgpd, &bird, |go| {
        api_client::send_http(&requests, clients, deadline, go, &|reply: &Reply| {
            let n = reply.body["added"].as_u64().unwrap_or(0);
            added.fetch_add(n, Ordering::Relaxed);
        })
    });
    let added = added.into_inner();
    if acked.is_some() && added != s.routes.total() {
        eprintln!(
            "  baton acknowledged {} routes as added, not {}",
            added,
            s.routes.total()
        );
    }
    let mut row = ApiRow {
        acked,
        gobgpd: g.all,
        bird: b.all,
        ..ApiRow::default()
    };
    row.rss_kib = pids.iter().map(|&p| peak_rss_kib(p)).sum();
    let cpu_after: Option<Duration> = pids.iter().map(|&p| cpu_time(p)).sum();
    row.cpu = cpu_after.zip(cpu_before).map(|(a, b)| a.saturating_sub(b));
    if row.acked.is_none() || g.all.is_none() || b.all.is_none() {
        baton.dump_logs();
    }
    row
}

/// The JSON body of `POST /v1/routes` for the prefixes `chunk`: one route object when
/// `single`, else `{"routes": [...]}`. IPv6 routes carry `next_hop6`, as the routes file of
/// tables 1 and 2 does (baton has no IPv6 address of its own on an IPv4 session).
fn routes_json(chunk: &[(IpAddr, u8)], single: bool, next_hop6: Ipv6Addr) -> String {
    let route = |&(addr, len): &(IpAddr, u8)| match addr {
        IpAddr::V4(_) => format!("{{\"prefix\":\"{addr}/{len}\"}}"),
        IpAddr::V6(_) => {
            format!("{{\"prefix\":\"{addr}/{len}\",\"next_hop\":\"{next_hop6}\"}}")
        }
    };
    if single {
        return chunk.iter().map(route).collect();
    }
    let routes: Vec<String> = chunk.iter().map(route).collect();
    format!("{{\"routes\":[{}]}}", routes.join(","))
}

/// gobgpd with the same two receivers; `s.routes` routes given to it by its CLI or gRPC API.
fn bench_gobgpd(options: &Options, s: &Scenario) -> ApiRow {
    let lab = Lab::new();
    let origin = lab.host("origin");
    let families = s.routes.families();
    let (gobgpd, bird) = start_receivers(&lab, &origin, families);
    let from = IpAddr::from(origin.ipv4);

    let mut neighbors = Vec::new();
    for (host, asn) in [(gobgpd.host(), GOBGP_AS), (bird.host(), BIRD_AS)] {
        let mut neighbor = GobgpNeighbor::new(host.ipv4.into(), asn);
        neighbor.graceful_restart = Some(RESTART_TIME);
        neighbor.families = families.to_vec();
        neighbors.push(neighbor);
    }
    let originator = Gobgpd::start(
        &origin,
        GobgpConfig {
            asn: ORIGIN_AS,
            neighbors,
            ..GobgpConfig::default()
        },
    );
    wait_sessions(&gobgpd, &bird, from);
    let api = format!("127.0.0.1:{}", originator.config().api_port);
    let cpu_before = cpu_time(originator.pid());

    let deadline = options.deadline;
    let requests = origin.dir().join("add-path-stream.bin");
    let (acked, g, b) = match s.client {
        Client::Cli => {
            assert_eq!(s.routes.v6, 0, "the CLI row adds IPv4 routes only");
            let prefixes: Vec<String> = originated(s.routes)
                .map(|(addr, len)| format!("{addr}/{len}"))
                .collect();
            let next_hop = origin.ipv4.to_string();
            measure(&origin, s.routes, deadline, &gobgpd, &bird, |go| {
                api_client::gobgp_cli(&api, &prefixes, &next_hop, deadline, go)
            })
        }
        _ => {
            let encoded = gobgp_origin::encode_requests(s.routes, (origin.ipv4, origin.ipv6));
            fs::write(&requests, encoded).expect("write the requests");
            measure(&origin, s.routes, deadline, &gobgpd, &bird, |go| {
                api_client::gobgp_grpc(&api, &requests, deadline, go)
            })
        }
    };
    let _ = fs::remove_file(&requests);
    let row = ApiRow {
        acked,
        gobgpd: g.all,
        bird: b.all,
        rss_kib: peak_rss_kib(originator.pid()),
        cpu: cpu_time(originator.pid())
            .zip(cpu_before)
            .map(|(a, b)| a.saturating_sub(b)),
    };
    if row.acked.is_none() || g.all.is_none() || b.all.is_none() {
        originator.dump_logs();
    }
    row
}

/// Waits until both receivers have their session with the originator at `from` Established.
fn wait_sessions(gobgpd: &Gobgpd, bird: &Bird, from: IpAddr) {
    gobgpd.wait_established(from, SETUP);
    bird.wait_established(BIRD_PROTOCOL, SETUP);
}

/// Runs `client` in a thread inside `origin`'s network namespace. The client calls `go` just
/// before its first request (which starts the clock) and returns when the last one is
/// acknowledged (`None` on a failure or past the deadline). Meanwhile watchers wait for both
/// receivers to hold all `want` routes, of both families. Returns the acknowledgement time and
/// the receivers' times, all from `go`.
fn measure(
    origin: &Host,
    want: Routes,
    deadline: Duration,
    gobgpd: &Gobgpd,
    bird: &Bird,
    client: impl FnOnce(&dyn Fn() -> Instant) -> Option<Instant> + Send,
) -> (Option<Duration>, Times, Times) {
    let from = IpAddr::from(origin.ipv4);
    let ns = origin.ns.clone();
    let abort = AtomicBool::new(false);
    let (started, start_rx) = mpsc::channel::<Instant>();
    std::thread::scope(|s| {
        let client = s.spawn(move || {
            api_client::enter_namespace(&ns);
            let go = move || {
                let now = Instant::now();
                let _ = started.send(now);
                now
            };
            client(&go)
        });
        // The client either starts or ends (dropping the sender) within its own bounds.
        let Ok(start) = start_rx.recv() else {
            let _ = client.join();
            return (None, Times::default(), Times::default());
        };
        let abort = &abort;
        let watchers = s.spawn(move || {
            watch_receivers(start, deadline, gobgpd, bird, from, want, false, abort)
        });
        let done = client.join().unwrap_or(None);
        if done.is_none() {
            abort.store(true, Ordering::SeqCst);
        }
        let (g, b) = watchers.join().expect("receiver watchers");
        (done.map(|t| t - start), g, b)
    })
}

/// Table 4: each scenario's routes, acknowledged rate, receivers' times and the originator's
/// cost, then what the figures mean.
pub fn print_api_table(options: &Options, runs: &[Vec<ApiRow>], grpc: &Option<String>) {
    let rows = scenarios(options);
    let values = |s: usize, f: &dyn Fn(&ApiRow) -> Option<f64>| -> Vec<Option<f64>> {
        runs.iter().map(|r| f(&r[s])).collect()
    };
    let table = super::figures::table("api");
    let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    let w = if options.runs > 1 { 22 } else { 10 };
    let batches = options.originated();
    println!(
        "announcing through an API: single-route rows {} IPv4 routes (IPv4 only: a request's \
         cost is the same for either family); batch rows {} IPv4 + {} IPv6, both receivers \
         holding both families:",
        grouped(options.api_routes as u64),
        grouped(batches.v4),
        grouped(batches.v6)
    );
    println!(
        "{:<28} {:>7} {:>7} {:>8} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$}",
        "scenario",
        "IPv4",
        "IPv6",
        "requests",
        "acked s",
        "acked r/s",
        "gobgpd s",
        "bird2 s",
        "held r/s",
        "RSS MiB",
        "CPU s"
    );
    for (i, s) in rows.iter().enumerate() {
        let cell = |column: &str, unit: &str, f: &dyn Fn(&ApiRow) -> Option<f64>, precision| {
            table.figure(&s.name, column, unit, &values(i, f), precision)
        };
        let head = format!(
            "{:<28} {:>7} {:>7} {:>8}",
            s.name,
            cell("IPv4", "routes", &|_| Some(s.routes.v4 as f64), 0),
            cell("IPv6", "routes", &|_| Some(s.routes.v6 as f64), 0),
            s.requests()
        );
        if let (Client::Grpc, Some(why)) = (s.client, grpc) {
            println!("{head}  {why}");
            continue;
        }
        let routes = s.total() as f64;
        let rate = |d: Option<Duration>| d.map(|d| routes / d.as_secs_f64().max(1e-9));
        println!(
            "{head} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$} {:>w$}",
            cell("acked s", "s", &|r| secs(r.acked), 2),
            cell("acked r/s", "routes/s", &|r| rate(r.acked), 0),
            cell("gobgpd s", "s", &|r| secs(r.gobgpd), 2),
            cell("bird2 s", "s", &|r| secs(r.bird), 2),
            cell(
                "held r/s",
                "routes/s",
                &|r| rate(r.gobgpd.zip(r.bird).map(|(g, b)| g.max(b))),
                0
            ),
            cell(
                "RSS MiB",
                "MiB",
                &|r| r.rss_kib.map(|k| k as f64 / 1024.0),
                1
            ),
            cell("CPU s", "s", &|r| secs(r.cpu), 2),
        );
    }
    if options.runs > 1 {
        println!("(median, then min–max over {} runs)", options.runs);
    }
    println!();
    println!(
        "Each row in a fresh lab, the originator's sessions with both receivers Established \
         first. Seconds from the first request: \"acked\" until the last one is acknowledged, \
         gobgpd and bird2 until the receiver's query first shows all the routes, both \
         families (as in table 1); \"held r/s\" is the routes (IPv4 + IPv6) over the later of \
         the two. RSS: the originator's peak \
         (batond: supervisor and speaker added up); CPU: its user+system time from the first \
         request until both receivers held everything."
    );
    println!(
        "baton: HTTP/1.1 requests over one keep-alive connection from the originator's \
         namespace ({CLIENTS} connections at once in the \"clients\" rows, {} routes spread \
         among {} held already in the \"held\" row), JSON encoded beforehand; the batches mix \
         the IPv6 routes (next hop the originator's address on the lab's link) evenly among the IPv4 ones; each is answered once the change is fsynced to the state directory's journal (requests \
         arriving together share one fsync; every 10,000 changes the intent is saved whole). \
         gobgpd keeps routes in \
         memory only. Its CLI row runs `gobgp global rib add -a ipv4 PREFIX nexthop ADDR`, one \
         process (and gRPC connection) per route, in sequence; the CLI processes' own CPU is \
         not counted. Its gRPC row streams AddPathStream requests of {} paths, encoded \
         beforehand (the IPv4 paths, then the IPv6 ones with their next hop in \
         NextHopAttribute), through benches/startup/gobgp_inject.py, timed from the connected \
         client's first request to the end of the call. The single-route rows stay IPv4: they \
         measure a request's cost, the same for either family.",
        rows[2].routes.v4,
        rows[2].preload,
        gobgp_origin::PATHS_PER_REQUEST
    );
}
