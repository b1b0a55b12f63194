//! The peer task's side of martian next hops ([`crate::rib::martian`]): the routes are turned
//! into withdrawals before the UPDATE reaches the RIB, counted in the peer's status
//! (`martian_next_hops` in `batonctl neighbor ADDR` and the REST neighbor view), and logged
//! once per reason for the life of the peer task: a peer that keeps sending the same bad next
//! hop would otherwise fill the log with a line per UPDATE. A later, different reason is
//! logged once too; the count goes on for all.

use std::net::IpAddr;

use tracing::warn;

use super::status::StatusBoard;
use crate::rib::ignore_martian_routes;
use crate::wire::Update;

/// What one peer has been told off for already.
#[derive(Debug, Default)]
pub(super) struct MartianScreen {
    logged: Vec<&'static str>,
}

impl MartianScreen {
    /// Ignore the routes of `update` whose next hop is martian on a session with local addresses
    /// `local`, count them for `peer` and log each reason the first time.
    pub(super) fn screen(
        &mut self,
        update: &mut Update,
        local: &[IpAddr],
        status: &StatusBoard,
        peer: IpAddr,
    ) {
        let ignored = ignore_martian_routes(update, local);
        if ignored.is_empty() {
            return;
        }
        let routes: usize = ignored.iter().map(|i| i.routes).sum();
        status.update(peer, |s| s.martian_next_hops += routes as u64);
        for i in ignored {
            if self.logged.contains(&i.reason) {
                continue;
            }
            self.logged.push(i.reason);
            warn!(
                next_hop = %i.next_hop,
                reason = i.reason,
                routes = i.routes,
                "martian next hop: routes ignored as withdrawn (RFC 4271 §6.3, RFC 7606 §7.3); \
                 logged once per reason, later ones only counted in martian_next_hops"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::Ipv4Addr;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;
    use crate::wire::{Attributes, MpReach, Prefix};

    /// What the log said, as text.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn v4(next_hop: [u8; 4], prefixes: &[&str]) -> Update {
        Update {
            attributes: Some(Attributes {
                next_hop: Some(Ipv4Addr::from(next_hop)),
                ..Attributes::default()
            }),
            nlri: prefixes.iter().map(|s| p(s)).collect(),
            ..Update::default()
        }
    }

    #[test]
    fn martian_routes_are_counted_per_peer_and_each_reason_logged_once() {
        let log = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_ansi(false)
            .finish();
        let status = StatusBoard::default();
        let (peer, other) = ("198.18.0.2".parse().unwrap(), "198.18.0.3".parse().unwrap());
        let local = ["198.18.0.1".parse().unwrap()];
        tracing::subscriber::with_default(subscriber, || {
            let mut screen = MartianScreen::default();
            for _ in 0..5 {
                let mut u = v4([127, 0, 0, 1], &["203.0.113.0/24", "198.51.100.0/24"]);
                screen.screen(&mut u, &local, &status, peer);
                assert!(u.nlri.is_empty());
                assert_eq!(u.withdrawn.len(), 2);
            }
            // A good UPDATE is neither counted nor logged.
            let mut u = v4([198, 18, 0, 2], &["203.0.113.0/24"]);
            screen.screen(&mut u, &local, &status, peer);
            assert_eq!(u.nlri.len(), 1);
            // Another reason is logged once too.
            for _ in 0..3 {
                let mut u = Update {
                    mp_reach: Some(MpReach {
                        family: p("2001:db8:100::/48").family(),
                        next_hops: vec!["fe80::2".parse().unwrap()],
                        nlri: vec![p("2001:db8:100::/48")],
                    }),
                    ..Update::default()
                };
                screen.screen(&mut u, &local, &status, peer);
            }
            // Another peer has its own screen and counter.
            let mut u = v4([127, 0, 0, 1], &["203.0.113.0/24"]);
            MartianScreen::default().screen(&mut u, &local, &status, other);
        });
        let counts = status.snapshot();
        assert_eq!(counts[&peer].martian_next_hops, 5 * 2 + 3);
        assert_eq!(counts[&other].martian_next_hops, 1);
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].contains("next_hop=127.0.0.1") && lines[0].contains("loopback address"));
        assert!(lines[1].contains("next_hop=fe80::2") && lines[1].contains("link-local"));
        assert!(lines[2].contains("loopback address"));
    }
}
