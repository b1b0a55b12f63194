//! The control socket's neighbor requests (`batonctl neighbor ADDR`, `adj-in`, `adj-out`,
//! `add`, `del`, `enable`, `disable`, `reset`), answered by the REST API's operations: one
//! implementation of each operation, whichever way the operator asks.
//!
//! A refusal becomes the reply's error text, prefixed with the field to blame when there is
//! one (`families[1]: ipv4-unicast is listed twice`).

use std::net::IpAddr;

use serde_json::Value;

use super::super::intent::PeerSource;
use super::super::ops::Ops;
use super::to_json;
use crate::api::{Backend, BackendError, SOURCE_API, SOURCE_CONFIG};
use crate::config::{self, FieldPath};
use crate::ctl::{NeighborChange, NeighborChangeView, NeighborDetailView, Request, RouteView};
use crate::wire::{Family, Prefix};

/// Carry out a neighbor request through the REST API's own operations.
pub(super) async fn execute(ops: &Ops, req: Request) -> Result<Value, String> {
    let changed = |address, change| to_json(NeighborChangeView { address, change });
    match req {
        Request::Neighbor { address } => to_json(detail(ops, address).await?),
        Request::AdjIn {
            address,
            family,
            prefix,
        } => {
            let (family, prefix) = filters(family, prefix)?;
            let routes = ops.adj_in(address, prefix).await.map_err(refusal)?;
            to_json(of_family(routes, family))
        }
        Request::AdjOut {
            address,
            family,
            prefix,
        } => {
            let (family, prefix) = filters(family, prefix)?;
            let routes = ops.adj_out(address, prefix).await.map_err(refusal)?;
            to_json(of_family(routes, family))
        }
        Request::NeighborAdd { mut peer } => {
            // batonctl checked it too, but the socket takes any client's request.
            config::complete_peer(&mut peer);
            config::check_peer(&peer, FieldPath::default())
                .map_err(|(field, message)| blame(Some(field.to_string()), message))?;
            to_json(ops.add_neighbor(*peer).await.map_err(refusal)?)
        }
        Request::NeighborDel { address } => {
            ops.delete_neighbor(address).await.map_err(refusal)?;
            changed(address, NeighborChange::Deleted)
        }
        Request::NeighborEnable { address } => {
            ops.set_enabled(address, true).await.map_err(refusal)?;
            changed(address, NeighborChange::Enabled)
        }
        Request::NeighborDisable { address } => {
            ops.set_enabled(address, false).await.map_err(refusal)?;
            changed(address, NeighborChange::Disabled)
        }
        Request::NeighborReset {
            address,
            soft: true,
        } => {
            ops.soft_reset(address).await.map_err(refusal)?;
            changed(address, NeighborChange::SoftReset)
        }
        Request::NeighborReset {
            address,
            soft: false,
        } => {
            ops.hard_reset(address).await.map_err(refusal)?;
            changed(address, NeighborChange::Reset)
        }
        other => Err(format!("not a neighbor request: {other:?}")),
    }
}

/// One neighbor: the view the API gives, with its settings and negotiated hold time.
async fn detail(ops: &Ops, address: IpAddr) -> Result<NeighborDetailView, String> {
    let status = ops.neighbor(address).await.map_err(refusal)?;
    let (config, source, enabled) = ops
        .intent()
        .peer(address)
        .ok_or_else(|| BackendError::UnknownNeighbor(address).to_string())?;
    let negotiated_hold_time = ops
        .status
        .snapshot()
        .get(&address)
        .and_then(|s| s.hold_time);
    Ok(NeighborDetailView {
        status,
        source: match source {
            PeerSource::Config => SOURCE_CONFIG,
            PeerSource::Api => SOURCE_API,
        }
        .to_string(),
        enabled,
        negotiated_hold_time,
        config,
    })
}

/// The `family` and `prefix` filters, checked as the configuration checks them.
fn filters(
    family: Option<String>,
    prefix: Option<String>,
) -> Result<(Option<Family>, Option<Prefix>), String> {
    let family = family
        .map(|f| config::parse_text::<Family>(&f))
        .transpose()
        .map_err(|m| blame(Some("family".into()), m))?;
    let prefix = prefix
        .map(|p| config::parse_text::<Prefix>(&p))
        .transpose()
        .map_err(|m| blame(Some("prefix".into()), m))?;
    Ok((family, prefix))
}

fn of_family(mut routes: Vec<RouteView>, family: Option<Family>) -> Vec<RouteView> {
    if let Some(family) = family {
        routes.retain(|r| r.prefix.parse::<Prefix>().map(|p| p.family()) == Ok(family));
    }
    routes
}

/// A backend refusal in words, naming the field when it has one.
pub(super) fn refusal(e: BackendError) -> String {
    match e {
        BackendError::Invalid { field, message } | BackendError::Conflict { field, message } => {
            blame(field, message)
        }
        other => other.to_string(),
    }
}

/// `field: message`, or the message alone.
pub(super) fn blame(field: Option<String>, message: String) -> String {
    match field.filter(|f| !f.is_empty()) {
        Some(f) => format!("{f}: {message}"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_field_when_there_is_one() {
        let e = BackendError::Invalid {
            field: Some("hold_time".into()),
            message: "must be 0 or at least 3".into(),
        };
        assert_eq!(refusal(e), "hold_time: must be 0 or at least 3");
        let e = BackendError::Conflict {
            field: None,
            message: "neighbor 198.18.0.2 is disabled".into(),
        };
        assert_eq!(refusal(e), "neighbor 198.18.0.2 is disabled");
        let addr = "198.18.0.9".parse().unwrap();
        assert_eq!(
            refusal(BackendError::UnknownNeighbor(addr)),
            "no neighbor has the address 198.18.0.9"
        );
    }

    #[test]
    fn filters_are_checked_and_named() {
        assert!(filters(Some("ipv6".into()), Some("2001:db8::/32".into())).is_ok());
        let e = filters(Some("ipv9".into()), None).unwrap_err();
        assert!(e.starts_with("family: "), "{e}");
        let e = filters(None, Some("198.18.0.1/24".into())).unwrap_err();
        assert!(e.starts_with("prefix: ") && e.contains("host bits"), "{e}");
    }
}
