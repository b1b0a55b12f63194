//! What a reload would change: the difference between the configuration the speaker runs and
//! the one now on disk, as a plan an operator can read before anything happens
//! (`batonctl reload --dry-run`) and the speaker then carries out.
//!
//! The point of a declarative reload is to touch only what changed. So the plan names every
//! changed field, and says for each peer whether its session must be reset (what we put in
//! our OPEN changed: AS, hold time, families, graceful restart, source address) or not (a
//! description, a connect-retry interval, a port: they matter at the next connection only).
//! Routes are diffed by prefix; a changed attribute re-advertises that route alone, it never
//! resets a session. Changes to who we are (AS, router id) or where we listen restart the
//! speaker through the graceful path, like an upgrade to the same binary; what the supervisor
//! itself owns (state directory, control socket, API listener) cannot change while it runs.
//!
//! Pure: no I/O, so it is tested on values.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Config, Peer, Route};

/// Peer fields whose change takes effect at the next connection, without a session reset.
/// (`passive` is not one: a peer task that never dials would have to start dialing.)
const PEER_FIELDS_WITHOUT_RESET: &[&str] = &["description", "connect_retry", "port"];

/// Fields that restart the speaker (gracefully: peers keep our routes meanwhile); so does
/// every key of `[fib]`, whose installer is set up once per speaker.
const RESTART_FIELDS: &[&str] = &[
    "global.asn",
    "global.router_id",
    "global.listen",
    "api.token_file",
    "api.rate_limit",
    "api.rate_burst",
    "api.tls_cert",
    "api.tls_key",
];

/// Fields only a restart of batond itself can change: the supervisor owns them.
pub const FIXED_FIELDS: &[&str] = &[
    "global.state_dir",
    "global.control_socket",
    "global.control_socket_mode",
    "global.control_socket_group",
    "api.listen",
];

/// What a reload does to one peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerAction {
    /// A new peer: its session starts.
    Add,
    /// A peer no longer configured: Cease "peer de-configured" (6/3), its routes forgotten.
    Remove,
    /// Settings changed.
    Update,
}

/// One peer in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerPlan {
    /// The peer.
    pub address: IpAddr,
    /// Add, remove or update.
    pub action: PeerAction,
    /// The changed fields (`hold_time`, `graceful_restart.restart_time`); empty for add/remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// Whether the session is reset (Cease "other configuration change", 6/6) to apply it.
    pub session_reset: bool,
}

/// One originated route whose attributes changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePlan {
    /// The prefix.
    pub prefix: String,
    /// The changed fields (`med`, `communities`).
    pub changes: Vec<String>,
}

/// Everything a reload changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Changed fields that restart the speaker gracefully (`global.asn`, `global.listen`).
    pub restart_speaker: Vec<String>,
    /// Peers added, removed or updated, by address.
    pub peers: Vec<PeerPlan>,
    /// Peers left as they are.
    pub peers_unchanged: usize,
    /// Prefixes newly originated.
    pub advertise: Vec<String>,
    /// Prefixes no longer originated.
    pub withdraw: Vec<String>,
    /// Prefixes re-advertised with new attributes.
    pub update: Vec<RoutePlan>,
    /// Originated routes left as they are.
    pub routes_unchanged: usize,
}

impl Plan {
    /// The plan from what runs (`old`) to what is wanted (`new`): the configurations for the
    /// global settings, and the effective peers and routes (the configuration's plus those
    /// added at run time that it does not shadow).
    pub fn between(old: (&Config, &[Peer], &[Route]), new: (&Config, &[Peer], &[Route])) -> Plan {
        let mut plan = Plan {
            restart_speaker: global_changes(old.0, new.0)
                .into_iter()
                .filter(|f| RESTART_FIELDS.contains(&f.as_str()) || f.starts_with("fib."))
                .collect(),
            ..Plan::default()
        };
        plan.diff_peers(old.1, new.1);
        plan.diff_routes(old.2, new.2);
        plan
    }

    /// Whether the reload changes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.restart_speaker.is_empty()
            && self.peers.is_empty()
            && self.advertise.is_empty()
            && self.withdraw.is_empty()
            && self.update.is_empty()
    }

    fn diff_peers(&mut self, old: &[Peer], new: &[Peer]) {
        let old: BTreeMap<IpAddr, &Peer> = old.iter().map(|p| (p.address, p)).collect();
        let new: BTreeMap<IpAddr, &Peer> = new.iter().map(|p| (p.address, p)).collect();
        for (addr, before) in &old {
            let Some(after) = new.get(addr) else {
                self.peers.push(PeerPlan {
                    address: *addr,
                    action: PeerAction::Remove,
                    changes: Vec::new(),
                    session_reset: true,
                });
                continue;
            };
            let mut changes = changed_fields(before, after);
            // Never serialized, so compared here: a new password needs new keys, a reset.
            if before.password != after.password {
                changes.push("password".into());
                changes.sort();
            }
            if changes.is_empty() {
                self.peers_unchanged += 1;
                continue;
            }
            let session_reset = changes.iter().any(|f| {
                let top = f.split('.').next().unwrap_or(f);
                !PEER_FIELDS_WITHOUT_RESET.contains(&top)
            });
            self.peers.push(PeerPlan {
                address: *addr,
                action: PeerAction::Update,
                changes,
                session_reset,
            });
        }
        for addr in new.keys().filter(|a| !old.contains_key(a)) {
            self.peers.push(PeerPlan {
                address: *addr,
                action: PeerAction::Add,
                changes: Vec::new(),
                session_reset: false,
            });
        }
        self.peers.sort_by_key(|p| p.address);
    }

    fn diff_routes(&mut self, old: &[Route], new: &[Route]) {
        let old: BTreeMap<_, &Route> = old.iter().map(|r| (r.prefix, r)).collect();
        let new: BTreeMap<_, &Route> = new.iter().map(|r| (r.prefix, r)).collect();
        for (prefix, before) in &old {
            match new.get(prefix) {
                None => self.withdraw.push(prefix.to_string()),
                Some(after) => {
                    let changes = changed_fields(before, after);
                    if changes.is_empty() {
                        self.routes_unchanged += 1;
                    } else {
                        self.update.push(RoutePlan {
                            prefix: prefix.to_string(),
                            changes,
                        });
                    }
                }
            }
        }
        self.advertise = new
            .keys()
            .filter(|p| !old.contains_key(p))
            .map(|p| p.to_string())
            .collect();
    }
}

/// The changed fields of `[global]`, `[api]` and `[fib]`, as `global.asn`, `api.listen`, …
pub fn global_changes(old: &Config, new: &Config) -> Vec<String> {
    let mut out: Vec<String> = changed_fields(&old.global, &new.global)
        .into_iter()
        .map(|f| format!("global.{f}"))
        .collect();
    let api = |c: &Config| c.api.clone().unwrap_or_default();
    out.extend(
        changed_fields(&api(old), &api(new))
            .into_iter()
            .map(|f| format!("api.{f}")),
    );
    // The kernel route installer is set up once per speaker: the next one adopts the routes
    // this one left in the kernel.
    out.extend(
        changed_fields(&old.fib, &new.fib)
            .into_iter()
            .map(|f| format!("fib.{f}")),
    );
    out
}

/// The dotted paths of the fields that differ between `a` and `b` (objects are compared key
/// by key, anything else as a whole).
fn changed_fields<T: Serialize>(a: &T, b: &T) -> Vec<String> {
    let (a, b) = (to_value(a), to_value(b));
    let mut out = Vec::new();
    diff_values("", &a, &b, &mut out);
    out
}

fn to_value<T: Serialize>(v: &T) -> Value {
    // Config types serialize to plain JSON (strings, numbers, lists, maps) and cannot fail.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn diff_values(at: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                let none = Value::Null;
                diff_values(
                    &path,
                    x.get(k).unwrap_or(&none),
                    y.get(k).unwrap_or(&none),
                    out,
                );
            }
        }
        _ if a != b => out.push(at.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let base =
            "[global]\nasn = 65001\nrouter_id = \"198.18.0.1\"\nlisten = [\"198.18.0.1:179\"]\n";
        crate::config::parse(&format!("{base}{text}"), "t.toml").unwrap()
    }

    fn plan(old: &str, new: &str) -> Plan {
        let (a, b) = (config(old), config(new));
        Plan::between((&a, &a.peers, &a.routes), (&b, &b.peers, &b.routes))
    }

    const P2: &str = "[[peer]]\naddress = \"198.18.0.2\"\nremote_as = 65002\n";
    const P3: &str = "[[peer]]\naddress = \"198.18.0.3\"\nremote_as = 65003\n";

    #[test]
    fn the_same_config_plans_nothing() {
        let text = format!("{P2}{P3}[[route]]\nprefix = \"192.0.2.0/24\"\nmed = 10\n");
        let p = plan(&text, &text);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!((p.peers_unchanged, p.routes_unchanged), (2, 1));
    }

    #[test]
    fn peers_added_and_removed() {
        let p = plan(P2, P3);
        assert_eq!(p.peers.len(), 2);
        assert_eq!(p.peers[0].action, PeerAction::Remove);
        assert!(p.peers[0].session_reset);
        assert_eq!(p.peers[1].action, PeerAction::Add);
        assert_eq!(p.peers[1].address.to_string(), "198.18.0.3");
    }

    #[test]
    fn hold_time_resets_the_session_description_does_not() {
        let p = plan(P2, &format!("{P2}hold_time = 30\n"));
        assert_eq!(p.peers[0].changes, ["hold_time"]);
        assert!(p.peers[0].session_reset);
        let p = plan(
            P2,
            &format!("{P2}description = \"core\"\nconnect_retry = 2\n"),
        );
        assert_eq!(p.peers[0].changes, ["connect_retry", "description"]);
        assert!(!p.peers[0].session_reset);
    }

    #[test]
    fn graceful_restart_fields_are_named_and_reset() {
        let p = plan(
            P2,
            &format!("{P2}[peer.graceful_restart]\nenabled = true\nrestart_time = 120\n"),
        );
        assert_eq!(p.peers[0].changes, ["graceful_restart.enabled"]);
        assert!(p.peers[0].session_reset);
    }

    #[test]
    fn routes_advertised_withdrawn_and_updated() {
        let old = "[[route]]\nprefix = \"192.0.2.0/24\"\nmed = 10\n[[route]]\nprefix = \"198.51.100.0/24\"\n";
        let new = "[[route]]\nprefix = \"192.0.2.0/24\"\nmed = 20\n[[route]]\nprefix = \"203.0.113.0/24\"\n";
        let p = plan(old, new);
        assert_eq!(p.advertise, ["203.0.113.0/24"]);
        assert_eq!(p.withdraw, ["198.51.100.0/24"]);
        assert_eq!(
            p.update,
            [RoutePlan {
                prefix: "192.0.2.0/24".into(),
                changes: vec!["med".into()]
            }]
        );
        assert!(p.peers.is_empty() && p.restart_speaker.is_empty());
    }

    #[test]
    fn who_we_are_and_where_we_listen_restart_the_speaker() {
        let a = config("");
        let mut b = a.clone();
        b.global.asn = 65009;
        b.global.listen.push("198.18.0.1:1179".parse().unwrap());
        let p = Plan::between((&a, &[], &[]), (&b, &[], &[]));
        assert_eq!(p.restart_speaker, ["global.asn", "global.listen"]);
        let mut c = a.clone();
        c.global.state_dir = "/elsewhere".into();
        assert_eq!(global_changes(&a, &c), ["global.state_dir"]);
        assert!(Plan::between((&a, &[], &[]), (&c, &[], &[])).is_empty());
    }

    #[test]
    fn kernel_route_settings_restart_the_speaker() {
        let a = config("");
        let mut b = a.clone();
        b.fib.enabled = true;
        b.fib.reconcile_interval = 3;
        let p = Plan::between((&a, &[], &[]), (&b, &[], &[]));
        assert_eq!(p.restart_speaker, ["fib.enabled", "fib.reconcile_interval"]);
    }
}
