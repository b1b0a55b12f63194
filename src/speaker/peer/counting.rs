//! Counting a peer's messages for the metrics: UPDATEs and NOTIFICATIONs each way, and flaps
//! (an Established session that went down). The counters are the registered ones
//! ([`crate::metrics::PeerCounters`]), atomics: counting takes no lock.

use super::*;

impl PeerTask {
    /// A message decoded from the peer.
    pub(super) fn count_received(&self, msg: &Message) {
        match msg {
            Message::Update(_) => self.counters.updates_received.inc(),
            Message::Notification(_) => self.counters.notifications_received.inc(),
            _ => return,
        };
    }

    /// A message the session writes.
    pub(super) fn count_sent(&self, msg: &Message) {
        match msg {
            Message::Update(_) => self.counters.updates_sent.inc(),
            Message::Notification(_) => self.counters.notifications_sent.inc(),
            _ => return,
        };
    }

    /// UPDATEs from the RIB, encoded back to back.
    pub(super) fn count_updates_written(&self, bytes: &[u8]) {
        self.counters.updates_sent.inc_by(messages_in(bytes));
    }
}

/// How many whole messages `bytes` holds, by their headers' length fields.
fn messages_in(mut bytes: &[u8]) -> u64 {
    // The widest context: the RIB encoded them for the session's own, which is no wider.
    let ctx = CodecContext {
        four_octet_as: true,
        extended_message: true,
    };
    let mut n = 0;
    while let Ok(Some(len)) = wire::frame_len(bytes, &ctx) {
        n += 1;
        bytes = &bytes[len..];
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_counted_by_their_headers() {
        let mut buf = BytesMut::new();
        let ctx = CodecContext::default();
        let eor = wire::Update::end_of_rib(wire::Family::IPV4_UNICAST);
        for _ in 0..3 {
            wire::encode(&Message::Update(eor.clone()), &ctx, &mut buf);
        }
        assert_eq!(messages_in(&buf), 3);
        assert_eq!(messages_in(&buf[..buf.len() - 1]), 2, "a torn last message");
        assert_eq!(messages_in(&[]), 0);
    }
}
