//! The intent file's payload read back: its list of routes by hand, in the exact shape
//! [`write_intent`](super::intent_json::write_intent) writes, and everything else by serde.
//!
//! At a million routes serde spent about 150 ns a route on the list: a field name matched
//! through a visitor for each field, each value through its own small deserializer. The writer
//! always writes the same shape (no whitespace, fields in declaration order, no escapes), so
//! here a route is a few byte comparisons and the `FromStr` of each value, the very parsers
//! serde's adapters call (`Prefix`, `IpAddr`, `Community`, `LargeCommunity`).
//!
//! Only the list is read by hand. The configuration, the peers and the file's outline still go
//! through the [`Intent`] serde derive, on a copy of the payload with the list cut out (a few
//! KiB), so every check of theirs holds as it did.
//!
//! Anything this reader does not expect (whitespace, another field order, an escape, `null`,
//! an unknown field, a value its parser refuses) is not an error here: the whole payload is
//! then read by serde, as before. So any JSON serde accepts, from this baton or an older one,
//! still loads, to the same intent; and a damaged payload is refused with serde's message,
//! which names what is wrong and where.

use super::json_cursor::{by_hand_or_serde, prefix, Cursor, Unusual};
use super::{Intent, RouteTableBuilder};
use crate::config::Route;

/// Read an intent payload as serde would.
pub(super) fn read_intent(payload: &[u8]) -> serde_json::Result<Intent> {
    by_hand_or_serde(payload, "intent payload", read_usual)
}

/// The intent, if its payload is in the writer's shape.
pub(super) fn read_usual(payload: &[u8]) -> Result<Intent, Unusual> {
    let mut c = Cursor::new(payload);
    c.expect(b"{\"config\":", "{\"config\": at the start")?;
    c.skip_value()?;
    c.expect(
        b",\"api_routes\":",
        "\"api_routes\" after the configuration",
    )?;
    // The list's content, between its `[` and its `]`.
    let list_start = c.at + 1;
    let mut routes = RouteTableBuilder::default();
    c.list(|c| c.route().map(|r| routes.push(r)))?;
    let list_end = c.at - 1;
    // The rest, with an empty list of routes, through serde.
    let mut rest = Vec::with_capacity(payload.len() - (list_end - list_start));
    rest.extend_from_slice(&payload[..list_start]);
    rest.extend_from_slice(&payload[list_end..]);
    let mut intent: Intent = serde_json::from_slice(&rest).map_err(|_| Unusual {
        at: list_end,
        expected: "configuration and peers that serde reads",
    })?;
    // As serde's reader does: keyed as they come, a prefix listed twice (never written so) keeps
    // its last route.
    intent.api_routes = routes.finish();
    Ok(intent)
}

impl Cursor<'_> {
    /// One route: its fields in declaration order, those at their default left out (as
    /// `skip_serializing_if` leaves them out; `as_path_prepend` too, as serde allows). The
    /// route is built field by field, so that a field added to [`Route`] stops the build here
    /// until this reader reads it.
    fn route(&mut self) -> Result<Route, Unusual> {
        self.expect(b"{\"prefix\":", "a route, {\"prefix\": first")?;
        let prefix = self.parsed("a prefix", prefix)?;
        let next_hop = self.field(b",\"next_hop\":", |c| c.text("an address"))?;
        let communities = self.field(b",\"communities\":", |c| c.text_list("a community"))?;
        let large_communities = self.field(b",\"large_communities\":", |c| {
            c.text_list("a large community")
        })?;
        let med = self.field(b",\"med\":", Self::number)?;
        let local_pref = self.field(b",\"local_pref\":", Self::number)?;
        let as_path_prepend = self.field(b",\"as_path_prepend\":", Self::prepends)?;
        self.expect(
            b"}",
            "the next field of a route in declaration order, or `}`",
        )?;
        Ok(Route {
            prefix,
            next_hop,
            communities: communities.unwrap_or_default(),
            large_communities: large_communities.unwrap_or_default(),
            med,
            local_pref,
            as_path_prepend: as_path_prepend.unwrap_or(0),
        })
    }

    /// The number of extra prepends of our AS: at most 10, as the configuration allows.
    fn prepends(&mut self) -> Result<u8, Unusual> {
        let at = self.at;
        match u8::try_from(self.number()?) {
            Ok(n @ 0..=10) => Ok(n),
            _ => Err(Unusual {
                at,
                expected: "at most 10 prepends",
            }),
        }
    }
}
