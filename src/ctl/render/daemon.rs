//! The daemon itself: `batonctl status` and `batonctl upgrade`.

use super::{fields, or_dash, table, uptime};
use crate::ctl::{SpeakerInfoView, StatusView, UpgradeView};

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
