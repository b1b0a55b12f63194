//! The control socket: `batonctl` asks, the speaker answers (see [`crate::ctl`]).
//!
//! A thin translation of each request onto the one operations core ([`Ops`]): the neighbor
//! and route requests run the REST API's own code (`neighbor.rs`), so both behave the same.

mod neighbor;

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::oneshot;

use super::ops::Ops;
use super::rib_task::RibCmd;
use crate::api::Backend;
use crate::ctl::{Reply, Request, RouteAddView, RouteDelView, SpeakerInfoView};
use crate::wire::{Family, Prefix};

/// Answer requests on the unix socket until the process ends (standalone speaker).
pub async fn serve(listener: UnixListener, ops: Arc<Ops>) {
    while let Ok((stream, _)) = listener.accept().await {
        let ops = ops.clone();
        tokio::spawn(async move {
            let _ = answer(stream, &ops).await;
        });
    }
}

async fn answer(stream: UnixStream, ops: &Ops) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    BufReader::new(rd).read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Err(e) => Reply::Error {
            error: format!("bad request: {e}"),
        },
        Ok(req) => execute(ops, req).await,
    };
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    wr.write_all(&out).await?;
    wr.shutdown().await
}

/// Carry out one request.
pub async fn execute(ops: &Ops, req: Request) -> Reply {
    match execute_inner(ops, req).await {
        Ok(v) => Reply::Ok(v),
        Err(error) => Reply::Error { error },
    }
}

async fn execute_inner(ops: &Ops, req: Request) -> Result<serde_json::Value, String> {
    let rib = &ops.rib;
    let gone = |_| "the RIB task is not running".to_string();
    match req {
        Request::Neighbors => {
            let views = ops.neighbor_views().await?;
            to_json(views)
        }
        // The same announce and withdraw as the REST API's (a prefix the file owns is
        // refused the same way), checked the same way first.
        Request::RouteAdd { routes } => {
            crate::config::check_routes(&routes, "routes")
                .map_err(|(field, message)| neighbor::blame(Some(field.to_string()), message))?;
            let announced = routes.len();
            ops.announce(routes).await.map_err(neighbor::refusal)?;
            to_json(RouteAddView { announced })
        }
        Request::RouteDel { prefixes } => {
            let prefixes = prefixes
                .iter()
                .map(|p| p.parse::<Prefix>().map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let report = ops.withdraw(prefixes).await.map_err(neighbor::refusal)?;
            to_json(RouteDelView {
                withdrawn: report.withdrawn,
            })
        }
        Request::SpeakerInfo => {
            let state_not_writable = ops.probe_state().await;
            let intent = ops.intent();
            let (config_routes, api_routes) = intent.route_counts();
            let view = SpeakerInfoView {
                version: ops.version.clone(),
                state_problems: intent.problems.clone(),
                state_not_writable,
                config_routes,
                api_routes,
            };
            to_json(view)
        }
        req @ (Request::Neighbor { .. }
        | Request::AdjIn { .. }
        | Request::AdjOut { .. }
        | Request::NeighborAdd { .. }
        | Request::NeighborDel { .. }
        | Request::NeighborEnable { .. }
        | Request::NeighborDisable { .. }
        | Request::NeighborReset { .. }) => {
            neighbor::execute(ops, req).await
        }
        Request::Reload { dry_run } => {
            let view = ops.reload(dry_run).await?;
            to_json(view)
        }
        Request::Metrics => to_json(ops.metrics_text().await?),
        Request::Fib => {
            let fib = ops.fib.get().ok_or(
                "kernel routes are not installed ([fib] enabled = false, or no netlink socket)",
            )?;
            to_json(fib.show().await.map_err(|e| e.to_string())?)
        }
        Request::Status | Request::Upgrade { .. } => {
            Err("status and upgrade are answered by the supervisor (batond --config), not by a standalone speaker".into())
        }
        Request::Rib { family, prefix } => {
            let family = family
                .map(|f| f.parse::<Family>())
                .transpose()
                .map_err(|e| e.to_string())?;
            let prefix = prefix
                .map(|p| p.parse::<Prefix>())
                .transpose()
                .map_err(|e| e.to_string())?;
            let (tx, rx) = oneshot::channel();
            rib.send(RibCmd::Dump {
                family,
                prefix,
                reply: tx,
            })
            .map_err(|_| gone(()))?;
            let view = rx.await.map_err(|_| gone(()))?;
            to_json(view)
        }
    }
}

fn to_json(view: impl serde::Serialize) -> Result<serde_json::Value, String> {
    serde_json::to_value(view).map_err(|e| e.to_string())
}
