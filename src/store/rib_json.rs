//! The RIB snapshot's payload, written by hand: the very bytes `serde_json` makes of a
//! [`RibSnapshot`] (its `Serialize`, in `types.rs`), at a fraction of the cost.
//!
//! A full table's snapshot is 1.1M routes of `["prefix", set index]`. Through serde each one
//! looked its set's number up in a hash map, took and dropped a reference to the set, and went
//! through `fmt` for its prefix: 0.37 s to save 1M IPv4 + 100k IPv6 routes, over the 0.3 s a
//! save may take. Here a set's number is looked up once per set, and a prefix is a few appends
//! to one buffer, handed to the file a MiB at a time. The attribute sets (a few thousand) and
//! the kernel routes still go through serde. The unit tests compare both encoders byte for
//! byte, so a file written by either reads back in any baton.

use std::io::Write;
use std::sync::Arc;

use super::intent_json::{push_addr, push_prefix, push_u32, CHUNK};
use super::types::SetIndex;
use super::RibSnapshot;

/// Write `rib` as the JSON its `Serialize` makes, byte for byte.
pub(super) fn write_rib(rib: &RibSnapshot, out: &mut dyn Write) -> serde_json::Result<()> {
    let RibSnapshot {
        adj_in,
        kernel_routes,
    } = rib;
    let mut index = SetIndex::default();
    index.index_all(adj_in);
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    buf.extend_from_slice(b"{\"attr_sets\":");
    serde_json::to_writer(&mut buf, &index.sets)?;
    buf.extend_from_slice(b",\"adj_out\":[],\"adj_in\":[");
    for (n, (peer, routes)) in adj_in.iter().enumerate() {
        if n > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"peer\":\"");
        push_addr(&mut buf, *peer);
        buf.extend_from_slice(b"\",\"routes\":[");
        let mut first = true;
        for (attrs, prefixes) in routes.by_attrs() {
            let set = index.by_ptr[&Arc::as_ptr(attrs)];
            for prefix in prefixes {
                if !first {
                    buf.push(b',');
                }
                first = false;
                buf.extend_from_slice(b"[\"");
                push_prefix(&mut buf, &prefix);
                buf.extend_from_slice(b"\",");
                push_u32(&mut buf, set);
                buf.push(b']');
                if buf.len() >= CHUNK {
                    out.write_all(&buf).map_err(serde_json::Error::io)?;
                    buf.clear();
                }
            }
        }
        buf.extend_from_slice(b"]}");
    }
    buf.extend_from_slice(b"],\"kernel_routes\":");
    serde_json::to_writer(&mut buf, kernel_routes)?;
    buf.push(b'}');
    out.write_all(&buf).map_err(serde_json::Error::io)
}
