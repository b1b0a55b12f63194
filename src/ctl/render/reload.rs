//! `batonctl reload`: the plan of a reload, and whether it was applied.

use super::{table, upgrade};
use crate::ctl::ReloadView;

/// How many prefixes of each kind a reload plan lists before it says "and N more".
const PLAN_LIST: usize = 10;

/// A reload: what changes (or would, for a dry run), and the speaker restart if there was one.
pub fn reload(r: &ReloadView) -> String {
    let p = &r.plan;
    let verb = if r.dry_run {
        "would change"
    } else if r.applied {
        "applied"
    } else {
        "NOT applied"
    };
    if p.is_empty() {
        return format!("reload of {}: nothing to change\n", r.file);
    }
    let mut out = format!("reload of {} {verb}:\n", r.file);
    if !p.restart_speaker.is_empty() {
        out += &format!(
            "  restart the speaker gracefully (peers keep our routes): {}\n",
            p.restart_speaker.join(", ")
        );
    }
    if !p.peers.is_empty() {
        let rows = p
            .peers
            .iter()
            .map(|n| {
                vec![
                    n.address.to_string(),
                    format!("{:?}", n.action).to_lowercase(),
                    if n.changes.is_empty() {
                        "-".into()
                    } else {
                        n.changes.join(", ")
                    },
                    if n.session_reset { "yes" } else { "no" }.into(),
                ]
            })
            .collect();
        out += &table(&["Peer", "Action", "Changes", "Session reset"], rows);
    }
    let list = |name: &str, items: Vec<String>| -> String {
        if items.is_empty() {
            return String::new();
        }
        let more = items.len().saturating_sub(PLAN_LIST);
        let shown = items[..items.len().min(PLAN_LIST)].join(", ");
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!("  {name} {}: {shown}{more}\n", items.len())
    };
    out += &list("advertise", p.advertise.clone());
    out += &list("withdraw", p.withdraw.clone());
    out += &list(
        "update",
        p.update
            .iter()
            .map(|u| format!("{} ({})", u.prefix, u.changes.join(", ")))
            .collect(),
    );
    out += &format!(
        "  left as they are: peers {}, routes {}\n",
        p.peers_unchanged, p.routes_unchanged
    );
    if let Some(why) = &r.supervisor_not_replaced {
        out += &format!("  supervisor not re-executed: {why}\n");
    }
    if let Some(u) = &r.restart {
        out += &upgrade(u);
    }
    out
}
