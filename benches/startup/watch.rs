//! Watching the receivers: what gobgpd and bird2 hold from the originator, of each family,
//! asked through their CLIs in a thread each, and when they first showed the session up, 99 % of
//! the routes, and all of them (N IPv4 and M IPv6).

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::common::bird::Bird;
use super::common::gobgp::Gobgpd;
use super::common::process::Daemon;
use super::common::Family;
use super::machine::{cpu_time, peak_rss_kib};
use super::{check_gobgpd, Row, BIRD_PROTOCOL, MAX_PAUSE, MIN_PAUSE};

/// Runs `originate` (on this thread) while both receivers are watched from `start`, as
/// [`watch_receivers`] does; `originate` gets the abort flag and returns `None` when the
/// originator failed, which stops the watchers. Then fills `row` with the receivers' times and
/// the originator's CPU time and peak RSS (and dumps its logs when a receiver missed routes),
/// and checks what gobgpd holds while the originator still runs.
pub fn originate_watched<D: std::ops::Deref<Target = Daemon>>(
    row: &mut Row,
    (start, deadline): (Instant, Duration),
    (gobgpd, bird): (&Gobgpd, &Bird),
    (from, want): (IpAddr, Routes),
    originate: impl FnOnce(&AtomicBool) -> Option<D>,
) {
    let abort = AtomicBool::new(false);
    let (g, b, originator) = std::thread::scope(|s| {
        let abort = &abort;
        let watchers = s.spawn(move || {
            watch_receivers(start, deadline, gobgpd, bird, from, want, false, abort)
        });
        let originator = originate(abort);
        if originator.is_none() {
            abort.store(true, Ordering::SeqCst);
        }
        let (g, b) = watchers.join().expect("receiver watchers");
        (g, b, originator)
    });
    row.set_times(g, b);
    if let Some(daemon) = originator {
        row.cpu = cpu_time(daemon.pid());
        row.rss_kib = peak_rss_kib(daemon.pid());
        if g.all.is_none() || b.all.is_none() {
            daemon.dump_logs();
        } else {
            check_gobgpd(gobgpd, from, want, "the originator's start");
        }
    }
}

/// Watches both receivers, a thread each, from `start` until each holds all `want` routes from
/// `from`, both families (fresh ones when `fresh`); `None` for one that did not by `deadline` or when `abort`
/// is set (the originator died).
#[allow(clippy::too_many_arguments)] // one call per scenario; a struct would only rename these
pub fn watch_receivers(
    start: Instant,
    deadline: Duration,
    gobgpd: &Gobgpd,
    bird: &Bird,
    from: IpAddr,
    want: Routes,
    fresh: bool,
    abort: &AtomicBool,
) -> (Times, Times) {
    let done = |h: Held| h.routes == want && (!fresh || h.fresh);
    // Stale routes count too, so "99 %" means something only on a first start.
    let most = |h: Held| !fresh && h.routes.total() * 100 >= want.total() * 99;
    let gobgp = || gobgp_held(gobgpd, from);
    let bird = || bird_held(bird);
    std::thread::scope(|s| {
        let g = s.spawn(move || watch(start, deadline, abort, gobgp, done, most));
        let b = s.spawn(move || watch(start, deadline, abort, bird, done, most));
        (
            g.join().expect("gobgpd watcher"),
            b.join().expect("bird watcher"),
        )
    })
}

/// Routes of each family, held or announced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Routes {
    pub v4: u64,
    pub v6: u64,
}

impl Routes {
    pub fn total(self) -> u64 {
        self.v4 + self.v6
    }

    /// The families a session carries for them: IPv4 unicast, and IPv6 unicast if any.
    pub fn families(self) -> &'static [Family] {
        if self.v6 > 0 {
            &[Family::Ipv4Unicast, Family::Ipv6Unicast]
        } else {
            &[Family::Ipv4Unicast]
        }
    }
}

/// What a receiver holds from the originator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Routes it holds, per family (stale ones included).
    pub routes: Routes,
    /// Session Established.
    pub established: bool,
    /// Session Established and no graceful restart of the originator pending.
    pub fresh: bool,
}

/// When a receiver first showed the session Established, held 99 % of the routes, and all.
#[derive(Clone, Copy, Default)]
pub struct Times {
    pub up: Option<Duration>,
    pub most: Option<Duration>,
    pub all: Option<Duration>,
}

/// Polls `held` until `done`, returning the times from `start` when the answers came back
/// that first showed `most` and `done`; `None` after `deadline` or once `abort` is set. Pauses three times as long as the last query
/// took (gobgpd walks its table to count), within [`MIN_PAUSE`, `MAX_PAUSE`].
pub fn watch(
    start: Instant,
    deadline: Duration,
    abort: &AtomicBool,
    mut held: impl FnMut() -> Held,
    done: impl Fn(Held) -> bool,
    most: impl Fn(Held) -> bool,
) -> Times {
    let mut times = Times::default();
    loop {
        let asked = Instant::now();
        let h = held();
        let answered = start.elapsed();
        if times.up.is_none() && h.established {
            times.up = Some(answered);
        }
        if times.most.is_none() && most(h) {
            times.most = Some(answered);
        }
        if done(h) {
            times.all = Some(answered);
            return times;
        }
        if abort.load(Ordering::SeqCst) {
            return times;
        }
        if answered >= deadline {
            eprintln!("timeout: still {h:?} after {answered:.1?}");
            return times;
        }
        let pause = (asked.elapsed() * 3).clamp(MIN_PAUSE, MAX_PAUSE);
        std::thread::sleep(pause.min(deadline - answered));
    }
}

/// What gobgpd holds from `from`, as [`gobgp_view`] reads it.
pub fn gobgp_held(gobgpd: &Gobgpd, from: IpAddr) -> Held {
    gobgpd
        .neighbor_json(from)
        .map(|v| gobgp_view(&v))
        .unwrap_or_default()
}

/// What `gobgp -j neighbor ADDR` says the neighbor gave: its received counters per family
/// (stale routes included), and whether the session is Established with End-of-RIB received on
/// every family (gobgpd drops the stale routes it still holds when End-of-RIB comes; its
/// neighbor JSON shows no "peer restarting" state).
pub fn gobgp_view(v: &Value) -> Held {
    let families = v["afi_safis"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let established = v["state"]["session_state"].as_u64() == Some(6);
    let end_of_rib = !families.is_empty()
        && families
            .iter()
            .all(|a| a["mp_graceful_restart"]["state"]["end_of_rib_received"] == true);
    Held {
        routes: gobgp_routes(v, |a| a["state"]["received"].as_u64()),
        established,
        fresh: established && end_of_rib,
    }
}

/// `count` of each family's entry in gobgpd's neighbor JSON `v` (IPv4 is AFI 1, IPv6 AFI 2;
/// 0 for a family it lacks).
pub fn gobgp_routes(v: &Value, count: impl Fn(&Value) -> Option<u64>) -> Routes {
    let of = |afi: u64| {
        v["afi_safis"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["state"]["family"]["afi"].as_u64() == Some(afi))
            .and_then(&count)
            .unwrap_or(0)
    };
    Routes {
        v4: of(1),
        v6: of(2),
    }
}

/// UPDATE messages gobgpd has received from `from`, over every session so far.
pub fn gobgp_updates(gobgpd: &Gobgpd, from: IpAddr) -> Option<u64> {
    gobgpd.neighbor_json(from)?["state"]["messages"]["received"]["update"].as_u64()
}

/// Fills in what the receivers show after a scenario: their peak RSS, and how many UPDATE
/// messages gobgpd received since it had counted `updates_before`.
pub fn receiver_stats(row: &mut Row, gobgpd: &Gobgpd, bird: &Bird, from: IpAddr, before: u64) {
    row.gobgpd_rss_kib = peak_rss_kib(gobgpd.pid());
    row.bird_rss_kib = peak_rss_kib(bird.pid());
    row.gobgpd_updates = gobgp_updates(gobgpd, from).map(|u| u.saturating_sub(before));
}

/// What bird holds from the originator, as [`bird_view`] reads it.
pub fn bird_held(bird: &Bird) -> Held {
    bird_view(&bird_protocol(bird, BIRD_PROTOCOL))
}

/// `birdc show protocols all NAME`.
pub fn bird_protocol(bird: &Bird, name: &str) -> String {
    let out = bird.birdc(&["show", "protocols", "all", name]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a `show protocols all` answer of one BGP session says: the imported count of each
/// channel ("Channel ipv4", "Channel ipv6", each with a line "Routes: N imported, …"), and
/// whether the session is Established with no graceful restart pending.
pub fn bird_view(text: &str) -> Held {
    let mut routes = Routes::default();
    let mut ipv6 = false;
    for line in text.lines().map(str::trim_start) {
        if let Some(channel) = line.strip_prefix("Channel ") {
            ipv6 = channel.trim() == "ipv6";
        } else if let Some(count) = line.strip_prefix("Routes:") {
            let count = count.split_whitespace().next().and_then(|c| c.parse().ok());
            *(if ipv6 { &mut routes.v6 } else { &mut routes.v4 }) = count.unwrap_or(0);
        }
    }
    let established = text
        .lines()
        .any(|l| l.trim_start().starts_with("BGP state:") && l.contains("Established"));
    Held {
        routes,
        established,
        fresh: established && !text.contains("graceful restart active"),
    }
}
