//! The topology the graceful-restart and supervisor tests share: baton on host `a`, a gobgpd
//! on `g` (an IPv4 and an IPv6 session) and a bird2 on `r` (IPv4), both graceful-restart
//! helpers, and baton originating `routes` host routes per family.

use std::net::IpAddr;

use super::baton::{global_toml, peer_toml, Baton, BatonPaths};
use super::bird::{Bird, BirdConfig, BirdPeer};
use super::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use super::monitor::Monitor;
use super::netns::{Host, Lab};
use super::Family;

/// The i-th originated IPv4 route: a /32 in 198.19.0.0/16 (the hosts live in 198.18.0.0/24).
pub fn v4_prefix(i: usize) -> String {
    format!("198.19.{}.{}/32", i / 256, i % 256)
}

/// The i-th originated IPv6 route: a /128 in 2001:db8:1::/64.
pub fn v6_prefix(i: usize) -> String {
    format!("2001:db8:1::{:x}/128", i)
}

fn ours(prefix: &str) -> bool {
    prefix.starts_with("198.19.") || prefix.starts_with("2001:db8:1:")
}

/// `[peer.graceful_restart]` with `extra` lines.
pub fn gr_toml(restart_time: u16, extra: &str) -> String {
    format!("[peer.graceful_restart]\nenabled = true\nrestart_time = {restart_time}\n{extra}\n")
}

/// What the peers hold of our routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// gobgpd, IPv4 session.
    pub gobgp_v4: usize,
    /// gobgpd, IPv6 session.
    pub gobgp_v6: usize,
    /// gobgpd, marked stale.
    pub gobgp_stale: usize,
    /// bird, IPv4 session.
    pub bird_v4: usize,
}

/// Three hosts, two helpers running, baton's config written (not started).
pub struct GrLab {
    /// The lab (dropping it cleans everything up).
    pub lab: Lab,
    /// baton's host.
    pub a: Host,
    /// gobgpd's host.
    pub g: Host,
    /// bird's host.
    pub r: Host,
    /// The gobgpd helper.
    pub gobgpd: Gobgpd,
    /// The bird helper.
    pub bird: Bird,
    /// baton's files.
    pub paths: BatonPaths,
    /// baton's config.
    pub toml: String,
    /// Routes per family.
    pub routes: usize,
}

impl GrLab {
    /// baton advertises `baton_restart_time`; the helpers are configured with `peer_restart_time`.
    pub fn new(routes: usize, baton_restart_time: u16, peer_restart_time: u16) -> GrLab {
        let lab = Lab::new();
        let (a, g, r) = (lab.host("baton"), lab.host("gobgp"), lab.host("bird"));
        let neighbor = |addr: IpAddr| {
            let mut n = GobgpNeighbor::new(addr, 65001);
            n.graceful_restart = Some(peer_restart_time);
            n
        };
        let gobgpd = Gobgpd::start(
            &g,
            GobgpConfig {
                asn: 65002,
                neighbors: vec![neighbor(a.ipv4.into()), neighbor(a.ipv6.into())],
                ..GobgpConfig::default()
            },
        );
        let mut p = BirdPeer::new("baton4", a.ipv4.into(), 65001);
        p.ipv6 = false;
        p.graceful_restart = Some(peer_restart_time);
        let bird = Bird::start(
            &r,
            BirdConfig {
                router_id: None,
                asn: 65003,
                protocols: vec![p],
                static_routes: Vec::new(),
                extra_config: String::new(),
            },
        );
        let paths = Baton::paths(&a);
        let mut toml = global_toml(
            &paths,
            65001,
            &a.ipv4.to_string(),
            &[format!("{}:179", a.ipv4), format!("[{}]:179", a.ipv6)],
        );
        for (addr, family, asn) in [
            (IpAddr::from(g.ipv4), "ipv4-unicast", 65002),
            (IpAddr::from(g.ipv6), "ipv6-unicast", 65002),
            (IpAddr::from(r.ipv4), "ipv4-unicast", 65003),
        ] {
            toml += &peer_toml(addr, asn, family, "");
            toml += &gr_toml(baton_restart_time, "");
        }
        for i in 0..routes {
            for p in [v4_prefix(i), v6_prefix(i)] {
                toml += &format!("[[route]]\nprefix = \"{p}\"\ncommunities = [\"65001:100\"]\n\n");
            }
        }
        GrLab {
            lab,
            a,
            g,
            r,
            gobgpd,
            bird,
            paths,
            toml,
            routes,
        }
    }

    /// Starts batond with the lab's config and waits for its control socket.
    pub fn start_baton(&self) -> Baton {
        Baton::start(&self.a, &self.toml)
    }

    /// Starts batond and waits (at most `deadline`) until both peers hold every route.
    pub fn start_baton_held(&self, deadline: std::time::Duration) -> Baton {
        let baton = self.start_baton();
        super::poll::until_true(deadline, "peers to hold every route", || {
            self.all_held(&self.held())
        });
        baton
    }

    /// Starts batond again on the same state directory (after a kill).
    pub fn restart_baton(&self) -> Baton {
        let mut b = Baton::spawn_at(&self.a, self.paths.clone(), &self.toml, &[]);
        b.wait_ready(std::time::Duration::from_secs(30));
        b
    }

    /// What the peers hold of our routes now, counted cheaply (fit for a monitor polling a
    /// large table); `gobgp_stale` is not counted here (see [`held_in_detail`](Self::held_in_detail)).
    pub fn held(&self) -> Held {
        Held {
            gobgp_v4: self
                .gobgpd
                .adj_in_count(self.a.ipv4.into(), Family::Ipv4Unicast),
            gobgp_v6: self
                .gobgpd
                .adj_in_count(self.a.ipv6.into(), Family::Ipv6Unicast),
            gobgp_stale: 0,
            bird_v4: self.bird.route_count("master4"),
        }
    }

    /// What the peers hold, reading every route at gobgpd (to count stale ones): slow with a
    /// large table.
    pub fn held_in_detail(&self) -> Held {
        let v4 = self.gobgpd.adj_in(self.a.ipv4.into(), Family::Ipv4Unicast);
        let v6 = self.gobgpd.adj_in(self.a.ipv6.into(), Family::Ipv6Unicast);
        Held {
            gobgp_v4: v4.iter().filter(|r| ours(&r.prefix)).count(),
            gobgp_v6: v6.iter().filter(|r| ours(&r.prefix)).count(),
            gobgp_stale: v4.iter().chain(&v6).filter(|r| r.stale).count(),
            bird_v4: self.bird.route_count("master4"),
        }
    }

    /// True when both peers hold every route (stale or not); routes a test added at run time
    /// may come on top.
    pub fn all_held(&self, h: &Held) -> bool {
        h.gobgp_v4 >= self.routes && h.gobgp_v6 >= self.routes && h.bird_v4 >= self.routes
    }

    /// True when both peers hold every route, none stale at gobgpd, and bird is out of
    /// graceful restart.
    pub fn all_fresh(&self) -> bool {
        let h = self.held_in_detail();
        self.all_held(&h)
            && h.gobgp_stale == 0
            && !self
                .bird
                .protocol_info("baton4")
                .contains("graceful restart active")
    }

    /// Runs `monitor` on what the peers hold until it is stopped (from a thread of its own): a
    /// sample in which they miss some of our routes is a gap.
    pub fn monitor_held(&self, monitor: &Monitor) {
        monitor.run(std::time::Duration::from_millis(100), || {
            let h = self.held();
            (!self.all_held(&h)).then(|| format!("{h:?}"))
        })
    }

    /// True when neither peer holds any of our routes.
    pub fn none_held(&self) -> bool {
        let h = self.held();
        h.gobgp_v4 == 0 && h.gobgp_v6 == 0 && h.bird_v4 == 0
    }
}
