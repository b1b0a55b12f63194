//! baton with its REST API on `a` and a gobgpd on `g`, their session up, and a route the
//! configuration file originates: the lab of the API tests.

use std::time::Duration;

use serde_json::Value;

use super::baton::{global_toml, peer_toml, Baton};
use super::gobgp::{GobgpConfig, GobgpNeighbor, GobgpRoute, Gobgpd};
use super::gr_lab::gr_toml;
use super::http::{http, Reply, API_PORT};
use super::netns::{Host, Lab};
use super::{poll, Family};

/// Session setup: gobgpd refuses connections for ~5 s after any loss, so be generous.
pub const SESSION_UP: Duration = Duration::from_secs(30);
/// How long an announced route may take to reach gobgpd.
pub const ROUTE_ARRIVES: Duration = Duration::from_secs(20);

/// baton's AS, and gobgpd's.
pub const OUR_AS: u32 = 65001;
pub const PEER_AS: u32 = 65002;
/// A route the configuration file originates.
pub const CONFIG_PREFIX: &str = "198.19.255.0/24";

/// baton on `a` with a gobgpd on `g`, the session up.
pub struct ApiLab {
    // Dropped last: the daemons go first.
    _lab: Lab,
    pub a: Host,
    pub g: Host,
    pub gobgpd: Gobgpd,
    pub baton: Baton,
    pub toml: String,
}

impl ApiLab {
    /// Without graceful restart: gobgpd drops our routes as soon as the session goes.
    pub fn new() -> ApiLab {
        ApiLab::with(false)
    }

    /// With graceful restart on both sides (needed for an upgrade without a flap), or not.
    pub fn with(graceful_restart: bool) -> ApiLab {
        let lab = Lab::new();
        let (a, g) = (lab.host("baton"), lab.host("gobgp"));
        let mut neighbor = GobgpNeighbor::new(a.ipv4.into(), OUR_AS);
        if graceful_restart {
            neighbor.graceful_restart = Some(120);
        }
        let gobgpd = Gobgpd::start(
            &g,
            GobgpConfig {
                asn: PEER_AS,
                neighbors: vec![neighbor],
                ..GobgpConfig::default()
            },
        );
        let paths = Baton::paths(&a);
        let mut toml = global_toml(
            &paths,
            OUR_AS,
            &a.ipv4.to_string(),
            &[format!("{}:179", a.ipv4)],
        );
        toml += &format!("[api]\nlisten = \"127.0.0.1:{API_PORT}\"\n\n");
        toml += &peer_toml(g.ipv4.into(), PEER_AS, "ipv4-unicast", "");
        if graceful_restart {
            toml += &gr_toml(120, "");
        }
        toml += &format!("[[route]]\nprefix = \"{CONFIG_PREFIX}\"\n\n");
        let baton = Baton::start(&a, &toml);
        gobgpd.wait_established(a.ipv4.into(), SESSION_UP);
        baton.wait_established(g.ipv4.into(), SESSION_UP);
        let lab = ApiLab {
            _lab: lab,
            a,
            g,
            gobgpd,
            baton,
            toml,
        };
        lab.route_at_gobgpd(CONFIG_PREFIX);
        lab
    }

    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        http(&self.a, method, path, body, None)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None)
    }

    /// The route gobgpd holds from baton for `prefix`, if any.
    pub fn at_gobgpd(&self, prefix: &str) -> Option<GobgpRoute> {
        self.gobgpd
            .adj_in(self.a.ipv4.into(), Family::Ipv4Unicast)
            .into_iter()
            .find(|r| r.prefix == prefix)
    }

    /// Waits until gobgpd holds `prefix` from baton, and returns the route.
    pub fn route_at_gobgpd(&self, prefix: &str) -> GobgpRoute {
        poll::until(ROUTE_ARRIVES, &format!("gobgpd to hold {prefix}"), || {
            self.at_gobgpd(prefix)
        })
    }

    /// How many prefixes gobgpd holds from baton.
    pub fn count_at_gobgpd(&self) -> usize {
        self.gobgpd
            .adj_in_count(self.a.ipv4.into(), Family::Ipv4Unicast)
    }
}
