//! The daemon itself: `batonctl status` and `batonctl upgrade` (its steps as they come, then
//! the outcome).

use std::net::IpAddr;

use super::{fields, or_dash, table, uptime};
use crate::ctl::{SpeakerInfoView, StatusView, UpgradeEvent, UpgradeStep, UpgradeView};

/// `batonctl status`.
pub fn status(s: &StatusView) -> String {
    let crashes = format!(
        "{}{}",
        s.crashes,
        if s.crash_loop {
            format!(
                ", {} in a row (crash loop: restarts delayed)",
                s.consecutive_crashes
            )
        } else {
            String::new()
        }
    );
    let restart = match (s.restart_in_ms, s.next_restart_delay_ms) {
        (Some(ms), _) => format!("in {ms} ms"),
        (None, 0) => "at once if the speaker dies".to_string(),
        (None, ms) => format!("{ms} ms after the speaker dies"),
    };
    // Known from the running speaker only.
    let state = match (&s.state_not_writable, s.speaker_pid) {
        (Some(_), _) => "NOT WRITABLE: run-time changes are refused",
        (None, Some(_)) => "writable",
        (None, None) => "-",
    };
    let mut out = fields(vec![
        ("supervisor pid", s.supervisor_pid.to_string()),
        ("supervisor version", s.supervisor_version.clone()),
        ("uptime", uptime(Some(s.uptime_secs))),
        ("speaker pid", or_dash(s.speaker_pid)),
        ("generation", s.generation.to_string()),
        ("version", or_dash(s.version.clone())),
        ("speaker uptime", uptime(s.speaker_uptime_secs)),
        ("crashes", crashes),
        ("next restart", restart),
        ("state", state.to_string()),
        ("upgrading", s.upgrading.to_string()),
    ]);
    if let Some(u) = &s.last_upgrade {
        out.push_str(&format!(
            "last upgrade: {} ({} ms){}\n",
            if u.ok { "ok" } else { "FAILED" },
            u.duration_ms,
            because(&u.reason)
        ));
    }
    out + &state_lines(&s.state_not_writable, &s.state_problems)
}

/// `batonctl upgrade`: the outcome and per-peer timings.
pub fn upgrade(u: &UpgradeView) -> String {
    let mut out = format!(
        "upgrade {}: generation {} ({}) -> {} ({}) in {} ms{}\n",
        if u.ok { "complete" } else { "FAILED" },
        u.from_generation,
        or_dash(u.from_version.clone()),
        u.to_generation,
        or_dash(u.to_version.clone()),
        u.duration_ms,
        because(&u.reason)
    );
    if !u.peers.is_empty() {
        let rows = u
            .peers
            .iter()
            .map(|p| {
                vec![
                    p.peer.to_string(),
                    or_dash(p.established_ms.map(|m| format!("{m} ms"))),
                    or_dash(p.end_of_rib_ms.map(|m| format!("{m} ms"))),
                ]
            })
            .collect();
        out.push_str(&table(&["Peer", "Established", "End-of-RIB sent"], rows));
    }
    out
}

/// What `batonctl upgrade` prints for one step as it arrives: its line of text, or its JSON
/// object on one line with `json` (also for a step this build does not know, which has no text).
pub fn event_output(event: &Result<UpgradeEvent, serde_json::Value>, json: bool) -> String {
    match (event, json) {
        (Ok(e), false) => upgrade_event(e),
        (Ok(e), true) => serde_json::to_string(e).unwrap_or_default() + "\n",
        (Err(v), true) => v.to_string() + "\n",
        (Err(_), false) => String::new(),
    }
}

/// One step of `batonctl upgrade`, as it arrives: `  1204 ms  198.18.0.2 ipv4-unicast: Established`.
pub fn upgrade_event(e: &UpgradeEvent) -> String {
    use UpgradeStep as S;
    let text = match &e.step {
        S::Started {
            generation, pid, ..
        } => format!("generation {generation} started: speaker pid {pid}"),
        S::Hello {
            generation,
            version,
            protocol,
        } => format!(
            "generation {generation} answered the handoff: version {version}, protocol {protocol}"
        ),
        S::Ready {
            generation,
            peers_up,
        } => format!(
            "generation {generation} is ready: state loaded, listening sockets taken{}",
            match peers_up.as_slice() {
                [] => String::new(),
                up => format!(", holding {}", list(up)),
            }
        ),
        S::Quiesce { generation } => format!("generation {generation} asked to let go"),
        S::Quiesced { generation } => format!(
            "generation {generation} let go: sessions closed without NOTIFICATION, state saved"
        ),
        S::Exited { generation, how } => format!("generation {generation} exited ({how})"),
        S::Killed { generation, why } => format!("generation {generation} killed: {why}"),
        S::Activated { generation, expect } => format!(
            "generation {generation} is live, expecting back: {}",
            match expect.as_slice() {
                [] => "no peer".to_string(),
                peers => list(peers),
            }
        ),
        S::Progress { progress: p, .. } => {
            format!("{} {}: {}", p.peer, p.family, p.kind.describe())
        }
        S::Done {
            generation,
            peers_up,
        } => format!(
            "generation {generation}: every expected peer is back ({})",
            match peers_up.as_slice() {
                [] => "none was expected".to_string(),
                up => list(up),
            }
        ),
    };
    format!("{:>7} ms  {text}\n", e.ms)
}

fn list(peers: &[IpAddr]) -> String {
    let peers: Vec<String> = peers.iter().map(|p| p.to_string()).collect();
    peers.join(", ")
}

/// The speaker's own state (asked by the supervisor for `status`; printed for completeness).
pub fn speaker_info(s: &SpeakerInfoView) -> String {
    let out = fields(vec![
        ("version", s.version.clone()),
        ("config routes", s.config_routes.to_string()),
        ("api routes", s.api_routes.to_string()),
    ]);
    out + &state_lines(&s.state_not_writable, &s.state_problems)
}

/// What is wrong with the state directory, a line each.
fn state_lines(not_writable: &Option<String>, problems: &[String]) -> String {
    let not_writable = not_writable
        .iter()
        .map(|why| format!("state not writable: {why}\n"));
    let problems = problems.iter().map(|p| format!("state problem: {p}\n"));
    not_writable.chain(problems).collect()
}

fn because(reason: &Option<String>) -> String {
    reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}
