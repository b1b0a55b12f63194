//! The benchmark's command line: how many routes, how many runs, which parts.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use super::injector::MAX_INJECTED;
use super::watch::Routes;
use super::MAX_ROUTES;

/// Routes originated when `--routes` is not given.
pub const DEFAULT_ROUTES: usize = 100_000;
/// Routes announced one per request in the API table when `--api-routes` is not given.
pub const DEFAULT_API_ROUTES: usize = 2_000;
/// Routes in the state store's files when `--store-routes` is not given.
pub const DEFAULT_STORE_ROUTES: [usize; 2] = [100_000, 1_000_000];
/// IPv4 and IPv6 routes the injector sends when `--ingest-routes` and `--ingest-v6` are not
/// given.
pub const DEFAULT_INGEST_ROUTES: usize = 1_000_000;
pub const DEFAULT_INGEST_V6: usize = 100_000;
/// Routes installed into the kernel when `--fib-routes` is not given.
pub const DEFAULT_FIB_ROUTES: [usize; 2] = [100_000, 1_000_000];

/// Command-line options.
pub struct Options {
    /// N: how many IPv4 routes the originator announces.
    pub routes: usize,
    /// M: how many IPv6 routes it announces besides (`--v6`, N / 10 unless given); the API
    /// table's batches carry them too.
    pub v6: usize,
    /// How many times to run every scenario (each time in a fresh lab).
    pub runs: usize,
    /// How long one scenario may take before it is reported as a timeout.
    pub deadline: Duration,
    /// Which parts to run.
    pub parts: Parts,
    /// Count the routes at gobgpd while the speaker is replaced.
    pub count_gobgpd: bool,
    /// Route counts for the state store's table: N IPv4 each, and N / 10 IPv6 besides.
    pub store_routes: Vec<usize>,
    /// M: routes announced one per request (or per `gobgp` process) in the API table.
    pub api_routes: usize,
    /// Route counts for the kernel routes table.
    pub fib_routes: Vec<usize>,
    /// IPv4 and IPv6 routes the injector writes in the ingest table.
    pub ingest: (usize, usize),
    /// `--timeout`, if given.
    pub timeout: Option<Duration>,
    /// `--json FILE`: where to write every printed figure as JSON.
    pub json: Option<PathBuf>,
}

impl Options {
    /// The options as the JSON output gives them.
    pub fn to_json(&self) -> Value {
        json!({
            "routes": self.routes,
            "v6": self.v6,
            "runs": self.runs,
            "deadline_s": self.deadline.as_secs_f64(),
            "parts": self.parts,
            "count_gobgpd": self.count_gobgpd,
            "store_routes": self.store_routes,
            "api_routes": self.api_routes,
            "fib_routes": self.fib_routes,
            "ingest_routes": self.ingest.0,
            "ingest_v6": self.ingest.1,
        })
    }

    /// What the originator of tables 1 and 2 announces: N IPv4 and M IPv6 routes.
    pub fn originated(&self) -> Routes {
        Routes {
            v4: self.routes as u64,
            v6: self.v6 as u64,
        }
    }
}

/// The parts of the benchmark `--only` chooses from.
#[derive(Clone, Copy, Serialize)]
pub struct Parts {
    /// baton's scenarios: first start, restarts, upgrade (tables 1 and 2).
    pub baton: bool,
    /// bird2 originating (table 1).
    pub bird: bool,
    /// gobgpd originating (table 1).
    pub gobgpd: bool,
    /// The state store (table 3).
    pub store: bool,
    /// Announcing through the API, baton's REST next to gobgpd's CLI and gRPC (table 4).
    pub api: bool,
    /// Kernel route installation (table 5).
    pub fib: bool,
    /// Receiving a full table from the injector (table 6).
    pub ingest: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        baton: true,
        bird: true,
        gobgpd: true,
        store: true,
        api: true,
        fib: true,
        ingest: true,
    };
}

pub fn parse_args() -> Options {
    let mut routes = DEFAULT_ROUTES;
    let mut v6 = None;
    let mut runs = 1;
    let mut deadline = None;
    let mut parts = Parts::ALL;
    let mut store_routes = DEFAULT_STORE_ROUTES.to_vec();
    let mut count_gobgpd = true;
    let mut api_routes = DEFAULT_API_ROUTES;
    let mut fib_routes = DEFAULT_FIB_ROUTES.to_vec();
    let mut ingest = (DEFAULT_INGEST_ROUTES, DEFAULT_INGEST_V6);
    let mut json = None;
    let mut args = std::env::args().skip(1);
    let number = |name: &str, v: &str| -> usize {
        v.replace('_', "")
            .parse()
            .unwrap_or_else(|_| usage(&format!("{name} {v}: not a number")))
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> String {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--routes" => routes = number("--routes", &value("--routes")),
            "--v6" => v6 = Some(number("--v6", &value("--v6"))),
            "--runs" => runs = number("--runs", &value("--runs")).max(1),
            "--timeout" => {
                let secs = number("--timeout", &value("--timeout"));
                deadline = Some(Duration::from_secs(secs as u64));
            }
            "--only" => {
                parts = Parts {
                    baton: false,
                    bird: false,
                    gobgpd: false,
                    store: false,
                    api: false,
                    fib: false,
                    ingest: false,
                };
                for part in value("--only").split(',') {
                    match part.trim() {
                        "baton" => parts.baton = true,
                        "bird" | "bird2" => parts.bird = true,
                        "gobgpd" | "gobgp" => parts.gobgpd = true,
                        "store" => parts.store = true,
                        "api" => parts.api = true,
                        "fib" => parts.fib = true,
                        "ingest" => parts.ingest = true,
                        other => usage(&format!("--only: unknown part {other:?}")),
                    }
                }
            }
            "--store-routes" => {
                store_routes = value("--store-routes")
                    .split(',')
                    .map(|v| number("--store-routes", v.trim()))
                    .collect();
                if store_routes.iter().any(|&r| r == 0 || r > MAX_ROUTES) {
                    usage(&format!("--store-routes: each must be 1..={MAX_ROUTES}"));
                }
            }
            "--fib-routes" => {
                fib_routes = value("--fib-routes")
                    .split(',')
                    .map(|v| number("--fib-routes", v.trim()))
                    .collect();
                if fib_routes.iter().any(|&r| r == 0 || r > MAX_ROUTES) {
                    usage(&format!("--fib-routes: each must be 1..={MAX_ROUTES}"));
                }
            }
            "--ingest-routes" => ingest.0 = number("--ingest-routes", &value("--ingest-routes")),
            "--ingest-v6" => ingest.1 = number("--ingest-v6", &value("--ingest-v6")),
            "--api-routes" => api_routes = number("--api-routes", &value("--api-routes")),
            "--no-gobgpd-count" => count_gobgpd = false,
            "--json" => json = Some(PathBuf::from(value("--json"))),
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if routes == 0 || routes > MAX_ROUTES {
        usage(&format!(
            "--routes must be 1..={MAX_ROUTES} (the /28s of 10.0.0.0/8)"
        ));
    }
    let v6 = v6.unwrap_or(routes / 10);
    if v6 > MAX_ROUTES {
        usage(&format!(
            "--v6 must be 0..={MAX_ROUTES} (/64s of 2001:db8:1000::/36)"
        ));
    }
    if api_routes == 0 || api_routes > MAX_ROUTES {
        usage(&format!("--api-routes must be 1..={MAX_ROUTES}"));
    }
    if ingest.0 > MAX_INJECTED || ingest.1 > MAX_INJECTED || ingest.0 + ingest.1 == 0 {
        usage(&format!(
            "--ingest-routes and --ingest-v6 must be 0..={MAX_INJECTED}, not both 0"
        ));
    }
    let timeout = deadline;
    // Generous: the point is to measure, not to give up. 100k + 10k: 175 s, 1M + 100k: 670 s.
    let deadline = deadline.unwrap_or(Duration::from_secs(
        120 + u64::try_from((routes + v6) / 2000).expect("fits"),
    ));
    Options {
        routes,
        v6,
        runs,
        deadline,
        parts,
        count_gobgpd,
        store_routes,
        api_routes,
        fib_routes,
        ingest,
        timeout,
        json,
    }
}

fn usage(error: &str) -> ! {
    if !error.is_empty() {
        eprintln!("bench: {error}");
    }
    eprintln!(
        "usage: cargo bench --bench startup -- [--routes N] [--v6 M] [--runs R] [--timeout SECONDS] \
         [--only PARTS] [--store-routes N,N] [--api-routes M] [--fib-routes N,N] \
         [--ingest-routes N] [--ingest-v6 M] [--no-gobgpd-count] [--json FILE]\n  \
         --routes N          routes to originate (default {DEFAULT_ROUTES}, at most {MAX_ROUTES})\n  \
         --v6 M              IPv6 routes originated besides, in the start-up and replacement \
         tables and the API table's batches (default N / 10; 0: IPv4 only)\n  \
         --runs R            run every scenario R times, each in a fresh lab; print the median \
         and range (default 1)\n  \
         --timeout S         give up on a scenario after S seconds (default 120 + (N + M)/2000)\n  \
         --only PARTS        run only these, comma-separated: baton (start-up, restarts, \
         upgrade), bird, gobgpd, store, api, fib, ingest (default: all)\n  \
         --store-routes L    IPv4 route counts for the state store table, each with N / 10 \
         IPv6 besides (default 100000,1000000)\n  \
         --fib-routes L      route counts for the kernel routes table (default 100000,1000000)\n  \
         --ingest-routes N   IPv4 routes the injector writes to each receiver in the ingest \
         table (default {DEFAULT_INGEST_ROUTES})\n  \
         --ingest-v6 M       IPv6 routes it writes after them (default {DEFAULT_INGEST_V6})\n  \
         --api-routes M      routes announced one per request in the API table (default \
         {DEFAULT_API_ROUTES}, IPv4; the batches there carry N + M)\n  \
         --no-gobgpd-count   do not count gobgpd's routes while the speaker is replaced (each \
         count walks its table, which slows it down at a million routes)\n  \
         --json FILE         also write every figure printed, with each run's value, the \
         machine and these options, as JSON to FILE (relative to the repository's root)"
    );
    std::process::exit(if error.is_empty() { 0 } else { 2 });
}
