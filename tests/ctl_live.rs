//! batonctl against a running batond with a gobgpd peer: every command, human and `--json`,
//! compared with `tests/snapshots/live/` once what changes from run to run (uptimes, pids,
//! milliseconds, the build fingerprint, paths) is masked. `BATON_UPDATE_SNAPSHOTS=1` rewrites
//! the files. Also the exit status and the words of refusals: 1 for the daemon's, 2 for a bad
//! command line.
//!
//! The script runs twice, human then `--json`; each run undoes what it changes (a route added
//! is deleted, a neighbor added is deleted, a reset session comes back) and waits for the peers
//! to settle after a reset or an upgrade, so both runs start from the same state. A command's
//! snapshot is one line in [`script`].

mod common;

use std::net::IpAddr;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use baton::ctl::{client, Request};
use common::baton::{global_toml, peer_toml, Baton};
use common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use common::gr_lab::gr_toml;
use common::netns::{Host, Lab};
use common::snapshot::Snapshots;
use common::{poll, Family};

/// Session setup: gobgpd refuses connections for ~5 s after any loss, so be generous.
const SESSION_UP: Duration = Duration::from_secs(40);
const OUR_AS: u32 = 65001;
const PEER_AS: u32 = 65002;
/// The gobgpd peer (the lab's second host).
const PEER: &str = "198.18.0.2";
/// What the configuration file originates.
const OURS: &str = "198.19.255.0/24";
/// What gobgpd originates.
const THEIRS: [&str; 2] = ["198.19.10.0/24", "198.19.11.0/24"];

/// baton on `a`, gobgpd on `g`, graceful restart on both sides (so an upgrade is hitless).
struct Live {
    // Dropped last: the daemons go first.
    _lab: Lab,
    a: Host,
    gobgpd: Gobgpd,
    baton: Baton,
}

impl Live {
    fn new() -> Live {
        let lab = Lab::new();
        let (a, g) = (lab.host("baton"), lab.host("gobgp"));
        assert_eq!(g.ipv4.to_string(), PEER);
        let mut neighbor = GobgpNeighbor::new(a.ipv4.into(), OUR_AS);
        neighbor.graceful_restart = Some(120);
        let gobgpd = Gobgpd::start(
            &g,
            GobgpConfig {
                asn: PEER_AS,
                neighbors: vec![neighbor],
                ..GobgpConfig::default()
            },
        );
        gobgpd.global_rib_add(THEIRS[0], &["community", "65002:100", "med", "50"]);
        gobgpd.global_rib_add(THEIRS[1], &["aspath", "65010 65011"]);
        let paths = Baton::paths(&a);
        let mut toml = global_toml(
            &paths,
            OUR_AS,
            &a.ipv4.to_string(),
            &[format!("{}:179", a.ipv4)],
        );
        toml += &peer_toml(
            g.ipv4.into(),
            PEER_AS,
            "ipv4-unicast",
            "description = \"gobgpd in the lab\"",
        );
        toml += &gr_toml(120, "");
        toml += &format!("[[route]]\nprefix = \"{OURS}\"\ncommunities = [\"65001:100\"]\n\n");
        let baton = Baton::start(&a, &toml);
        let live = Live {
            _lab: lab,
            a,
            gobgpd,
            baton,
        };
        live.settle();
        live
    }

    /// Wait until the session is up and both sides hold exactly the routes of the start,
    /// fresh: what the script's outputs depend on.
    fn settle(&self) {
        let peer: IpAddr = PEER.parse().unwrap();
        self.gobgpd.wait_established(self.a.ipv4.into(), SESSION_UP);
        poll::until_true(SESSION_UP, "both tables as at the start, fresh", || {
            let n = self.baton.neighbor(peer);
            let adj_in = self.baton.ctl(&["neighbor", PEER, "adj-in"]);
            let adj_out = self.baton.ctl(&["neighbor", PEER, "adj-out"]);
            let fresh = |routes: &Value, want: &[&str]| {
                let routes = routes.as_array().cloned().unwrap_or_default();
                routes.len() == want.len()
                    && routes.iter().all(|r| {
                        r["stale"] == false && want.contains(&r["prefix"].as_str().unwrap_or(""))
                    })
            };
            let at_gobgpd = self.gobgpd.adj_in(self.a.ipv4.into(), Family::Ipv4Unicast);
            n["state"] == "Established"
                && n["graceful_restart"] == "Idle"
                && fresh(&adj_in, &THEIRS)
                && fresh(&adj_out, &[OURS])
                && at_gobgpd.len() == 1
                && at_gobgpd.iter().all(|r| r.prefix == OURS && !r.stale)
        });
    }

    /// `batonctl ARGS`, which must succeed.
    fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.baton.ctl_output(args);
        if !out.status.success() {
            self.baton.dump_logs();
            panic!(
                "batonctl {args:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8(out.stdout).expect("batonctl prints UTF-8")
    }
}

/// Runs batonctl and checks its output against the snapshots.
struct Script<'a> {
    live: &'a Live,
    snapshots: &'a mut Snapshots,
    /// Add `--json`.
    json: bool,
}

impl Script<'_> {
    /// `batonctl ARGS`, its output masked and checked as snapshot `name`.
    fn run(&mut self, name: &str, args: &[&str]) {
        self.run_masking(name, &[], args);
    }

    /// Like [`run`](Self::run), also masking JSON keys `keys`.
    fn run_masking(&mut self, name: &str, keys: &[&str], args: &[&str]) {
        self.run_filtered(name, keys, args, |_| true);
    }

    /// Like [`run_masking`](Self::run_masking), keeping only the output lines `keep` accepts.
    fn run_filtered(
        &mut self,
        name: &str,
        keys: &[&str],
        args: &[&str],
        keep: impl Fn(&str) -> bool,
    ) {
        let mut args = args.to_vec();
        if self.json {
            args.push("--json");
        }
        let out = self.live.ctl_ok(&args);
        let out: String = out
            .lines()
            .filter(|l| keep(l))
            .map(|l| l.to_string() + "\n")
            .collect();
        let (text, ext) = if self.json {
            (mask_json(&out, keys), "json")
        } else {
            (mask_text(&out), "txt")
        };
        self.snapshots.check(&format!("{name}.{ext}"), &text);
    }
}

/// The steps of an upgrade whose place depends on the peer's and the kernel's timing: gobgpd's
/// End-of-RIB (before or after ours, or after the upgrade is over) and the old speaker's exit
/// (it follows its `Quiesced` by a few ms, while the new speaker goes live).
fn timing_free(line: &str) -> bool {
    !(line.contains("End-of-RIB received")
        || line.contains("end-of-rib-received")
        || line.contains(" exited (")
        || line.contains("\"event\":\"exited\""))
}

/// Every command once; the peers settle after the commands that reset their sessions.
fn script(s: &mut Script) {
    s.run("status", &["status"]);
    s.run("neighbor-list", &["neighbor"]);
    s.run("neighbor", &["neighbor", PEER]);
    s.run("adj-in", &["neighbor", PEER, "adj-in"]);
    s.run(
        "adj-in-prefix",
        &["neighbor", PEER, "adj-in", THEIRS[0], "-a", "ipv4"],
    );
    s.run("adj-out", &["neighbor", PEER, "adj-out"]);
    s.run("rib", &["rib"]);
    s.run(
        "route-add",
        &[
            "route",
            "add",
            "198.19.1.0/24",
            "community",
            "65001:7",
            "med",
            "10",
        ],
    );
    s.run("route-del", &["route", "del", "198.19.1.0/24"]);
    // The reply comes as the new session starts: Idle or already Active.
    s.run_masking(
        "neighbor-add",
        &["state"],
        &[
            "neighbor",
            "add",
            "198.18.0.9",
            "as",
            "65009",
            "passive",
            "description",
            "added at run time",
        ],
    );
    s.run("neighbor-disable", &["neighbor", "disable", "198.18.0.9"]);
    s.run("neighbor-disabled", &["neighbor", "198.18.0.9"]);
    s.run("neighbor-enable", &["neighbor", "enable", "198.18.0.9"]);
    s.run("neighbor-del", &["neighbor", "del", "198.18.0.9"]);
    s.run(
        "neighbor-reset-soft",
        &["neighbor", "reset", PEER, "--soft"],
    );
    s.run("neighbor-reset", &["neighbor", "reset", PEER]);
    s.live.settle();
    s.run_filtered("upgrade", &[], &["upgrade"], timing_free);
    s.live.settle();
}

#[test]
fn every_command_against_a_running_daemon_prints_what_its_snapshots_say() {
    let live = Live::new();
    let mut snapshots = Snapshots::new("live");
    for json in [false, true] {
        script(&mut Script {
            live: &live,
            snapshots: &mut snapshots,
            json,
        });
    }
    refusals(&live);
    snapshots.finish();
}

/// Refusals: exit 1 with the daemon's words (naming the field), 2 for a bad command line.
fn refusals(live: &Live) {
    let failing = |args: &[&str], code: i32, words: &str| {
        let out: Output = live.baton.ctl_output(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "batonctl {args:?}: {stderr}");
        assert!(stderr.contains(words), "batonctl {args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "batonctl {args:?} printed something");
    };
    failing(
        &["neighbor", "198.18.0.77"],
        1,
        "no neighbor has the address 198.18.0.77",
    );
    failing(
        &["neighbor", "add", PEER, "as", "65002"],
        1,
        "already exists",
    );
    failing(
        &["neighbor", "del", PEER],
        1,
        "is in the configuration file",
    );
    failing(
        &["neighbor", "reset", "198.18.0.77", "--soft"],
        1,
        "no neighbor",
    );
    failing(
        &["neighbor", PEER, "adj-in", "198.19.10.1/24"],
        1,
        "prefix: ",
    );
    failing(&["neighbor", PEER, "adj-out", "-a", "ipv9"], 1, "family: ");
    failing(
        &[
            "neighbor",
            "add",
            "198.18.0.9",
            "as",
            "65009",
            "hold-time",
            "2",
        ],
        2,
        "`hold-time`: ",
    );
    failing(
        &["neighbor", "add", "198.18.0.9", "port", "1179"],
        2,
        "`as` is required",
    );
    failing(&["neighbor", "adj-in"], 2, "need the neighbor");
    failing(
        &["neighbor", "del", "not-an-address"],
        2,
        "invalid IP address",
    );

    // The socket takes any client's request: the daemon checks a peer as the config does.
    let mut peer = baton::config::Peer::new("198.18.0.9".parse().unwrap(), 65009);
    peer.local_address = Some("2001:db8::1".parse().unwrap());
    let socket = &live.baton.paths_of().control_socket;
    let refused = client::request(
        socket,
        &Request::NeighborAdd {
            peer: Box::new(peer),
        },
        SESSION_UP,
    );
    let e = refused.expect_err("a peer whose source address is of the other family");
    assert!(e.to_string().starts_with("local_address: "), "{e}");

    // Nothing of that changed anything.
    let all = live.baton.ctl(&["neighbor"]);
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
}

/// Keys whose values change from run to run (times, pids, builds, paths).
const VOLATILE: &[&str] = &[
    "uptime_secs",
    "speaker_uptime_secs",
    "supervisor_pid",
    "speaker_pid",
    "duration_ms",
    "established_ms",
    "end_of_rib_ms",
    "end_of_rib_sent_ms",
    "end_of_rib_received_ms",
    "version",
    "supervisor_version",
    "from_version",
    "to_version",
    "binary",
    // After the resets and the upgrade of the first pass, how the sessions came back depends
    // on gobgpd's timing (its idle hold may refuse our first reconnect, or not).
    "last_error",
    "established_count",
    // An upgrade's steps.
    "ms",
    "elapsed_ms",
    "pid",
];

/// The JSON output (one value, or one per line) with the values of [`VOLATILE`] keys and of
/// `keys` masked, each value pretty.
fn mask_json(text: &str, keys: &[&str]) -> String {
    fn mask(v: &mut Value, keys: &[&str]) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    let k = k.as_str();
                    if (VOLATILE.contains(&k) || keys.contains(&k)) && !v.is_null() {
                        *v = Value::from("<masked>");
                    } else {
                        mask(v, keys);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| mask(v, keys)),
            _ => {}
        }
    }
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| {
            let mut v = v.unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
            mask(&mut v, keys);
            serde_json::to_string_pretty(&v).unwrap() + "\n"
        })
        .collect()
}

/// The human output with times (`01:02:03`, `12 ms`), pids and build fingerprints masked.
fn mask_text(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = match line.split_once("pid ") {
                Some((label, _))
                    if label.ends_with("supervisor ") || label.ends_with("speaker ") =>
                {
                    format!("{label}pid <pid>")
                }
                _ => line.to_string(),
            };
            let line = mask_words(&line);
            // Masking may have shortened a column; compare without its alignment.
            collapse_spaces(&line) + "\n"
        })
        .collect()
}

/// `HH:MM:SS` → `<time>`, `N ms` → `<ms>`, `0.1.0+fingerprint` → `<version>`.
fn mask_words(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let bare = w.trim_matches(|c| c == '(' || c == ')' || c == ',');
        let masked = if is_clock(bare) {
            Some("<time>")
        } else if bare.starts_with(baton::version::PACKAGE_VERSION) && bare.len() > 5 {
            Some("<version>")
        } else if !bare.is_empty()
            && bare.bytes().all(|b| b.is_ascii_digit())
            && words
                .get(i + 1)
                .is_some_and(|n| n.trim_end_matches([',', ')']) == "ms")
        {
            Some("<ms>")
        } else {
            None
        };
        match masked {
            Some(m) => out.push(w.replace(bare, m)),
            None => out.push(w.to_string()),
        }
        i += 1;
    }
    out.join(" ")
}

fn is_clock(w: &str) -> bool {
    let parts: Vec<&str> = w.split(':').collect();
    parts.len() == 3
        && parts[0].len() >= 2
        && parts[1..].iter().all(|p| p.len() == 2)
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn collapse_spaces(line: &str) -> String {
    line.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn masking_hides_what_changes_between_runs_and_nothing_else() {
    let version = format!("{}+0a1b2c3d", baton::version::PACKAGE_VERSION);
    let text = format!(
        "supervisor pid      4242\nuptime  00:01:02\nversion  {version}\n198.18.0.2   1204 ms      1311 ms\nlast upgrade: ok (1375 ms)\n198.18.0.2  65002  123:00:01  Established  2/2/1\n"
    );
    assert_eq!(
        mask_text(&text),
        "supervisor pid <pid>\nuptime <time>\nversion <version>\n198.18.0.2 <ms> ms <ms> ms\nlast upgrade: ok (<ms> ms)\n198.18.0.2 65002 <time> Established 2/2/1\n"
    );
    assert_eq!(
        mask_json(
            r#"{"speaker_pid": 17, "peers": [{"end_of_rib_ms": 3, "peer": "198.18.0.2"}], "version": null}"#,
            &[]
        ),
        "{\n  \"peers\": [\n    {\n      \"end_of_rib_ms\": \"<masked>\",\n      \"peer\": \"198.18.0.2\"\n    }\n  ],\n  \"speaker_pid\": \"<masked>\",\n  \"version\": null\n}\n"
    );
}
