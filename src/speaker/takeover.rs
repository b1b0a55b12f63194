//! The speaker's account of taking over from the previous one, for the supervisor: each session
//! step becomes a [`Progress`] message per family, timed from the activation, and [`Msg::Done`]
//! follows once every peer the supervisor expects back is Established and has been sent
//! End-of-RIB in each family it negotiated. Pure: the caller feeds steps and sends the
//! messages, so the rules are plain unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Instant;

use super::status::SessionStep;
use crate::handoff::{Msg, Progress, ProgressKind};
use crate::wire::Family;

/// One peer's current session: the families it negotiated, and those sent End-of-RIB.
#[derive(Debug, Default)]
struct Session {
    families: BTreeSet<Family>,
    end_of_rib_sent: BTreeSet<Family>,
}

impl Session {
    /// Established, with our whole table and End-of-RIB sent in every family.
    fn back(&self) -> bool {
        !self.families.is_empty() && self.families.is_subset(&self.end_of_rib_sent)
    }
}

/// The takeover as the speaker sees it.
#[derive(Debug, Default)]
pub struct Takeover {
    activated: Option<Instant>,
    expect: BTreeSet<IpAddr>,
    sessions: BTreeMap<IpAddr, Session>,
    done: bool,
}

impl Takeover {
    /// The peers Established with End-of-RIB sent in each family.
    pub fn peers_up(&self) -> Vec<IpAddr> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.back())
            .map(|(peer, _)| *peer)
            .collect()
    }

    /// The speaker went live at `at`, the supervisor expecting `expect` back: `Done` at once
    /// when nothing is expected.
    pub fn activate(&mut self, expect: Vec<IpAddr>, at: Instant) -> Vec<Msg> {
        self.activated = Some(at);
        self.expect = expect.into_iter().collect();
        self.done_if_complete().into_iter().collect()
    }

    /// A session step: its `Progress` messages, then `Done` if it completed the takeover.
    pub fn step(&mut self, step: SessionStep) -> Vec<Msg> {
        let session = self.sessions.entry(step.peer).or_default();
        match step.kind {
            ProgressKind::Established => {
                // A new session: its End-of-RIB is still to be sent.
                session.families = step.families.iter().copied().collect();
                session.end_of_rib_sent.clear();
            }
            ProgressKind::EndOfRibSent => session.end_of_rib_sent.extend(&step.families),
            ProgressKind::EndOfRibReceived => {}
        }
        let elapsed_ms = self.activated.map_or(0, |a| {
            step.at.saturating_duration_since(a).as_millis() as u64
        });
        let mut out: Vec<Msg> = step
            .families
            .iter()
            .map(|family| {
                Msg::Progress(Progress {
                    peer: step.peer,
                    family: *family,
                    kind: step.kind,
                    elapsed_ms,
                })
            })
            .collect();
        out.extend(self.done_if_complete());
        out
    }

    /// `Done`, the first time every expected peer is back after the activation.
    fn done_if_complete(&mut self) -> Option<Msg> {
        if self.done || self.activated.is_none() {
            return None;
        }
        let back = |p: &IpAddr| self.sessions.get(p).is_some_and(Session::back);
        if !self.expect.iter().all(back) {
            return None;
        }
        self.done = true;
        Some(Msg::Done {
            peers_up: self.peers_up(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const V4: Family = Family::IPV4_UNICAST;
    const V6: Family = Family::IPV6_UNICAST;

    fn peer(last: u8) -> IpAddr {
        IpAddr::from([198, 18, 0, last])
    }

    fn step(peer: IpAddr, families: &[Family], kind: ProgressKind, at: Instant) -> SessionStep {
        SessionStep {
            peer,
            families: families.to_vec(),
            kind,
            at,
        }
    }

    /// The kinds of messages, `progress:KIND:FAMILY` or the type.
    fn kinds(msgs: &[Msg]) -> Vec<String> {
        msgs.iter()
            .map(|m| match m {
                Msg::Progress(p) => format!("progress:{:?}:{}", p.kind, p.family),
                Msg::Done { peers_up } => format!("done:{peers_up:?}"),
                other => other.kind().to_string(),
            })
            .collect()
    }

    #[test]
    fn done_follows_the_last_end_of_rib_of_the_last_expected_peer() {
        let t0 = Instant::now();
        let mut t = Takeover::default();
        assert!(t.activate(vec![peer(2), peer(3)], t0).is_empty());
        use ProgressKind::*;
        let ms = |n| t0 + Duration::from_millis(n);
        assert_eq!(
            kinds(&t.step(step(peer(2), &[V4, V6], Established, ms(5)))),
            [
                "progress:Established:ipv4-unicast",
                "progress:Established:ipv6-unicast"
            ]
        );
        assert_eq!(t.step(step(peer(3), &[V4], Established, ms(6))).len(), 1);
        assert_eq!(
            t.step(step(peer(2), &[V4, V6], EndOfRibSent, ms(7))).len(),
            2
        );
        assert_eq!(t.peers_up(), vec![peer(2)]);
        let received = t.step(step(peer(3), &[V4], EndOfRibReceived, ms(8)));
        assert_eq!(kinds(&received), ["progress:EndOfRibReceived:ipv4-unicast"]);
        let last = t.step(step(peer(3), &[V4], EndOfRibSent, ms(9)));
        assert_eq!(
            kinds(&last),
            [
                "progress:EndOfRibSent:ipv4-unicast".to_string(),
                format!("done:{:?}", [peer(2), peer(3)])
            ]
        );
        let Msg::Progress(p) = &last[0] else { panic!() };
        assert_eq!(p.elapsed_ms, 9, "timed from the activation");
        // Done once; steps are still reported.
        assert_eq!(
            kinds(&t.step(step(peer(2), &[V4], EndOfRibReceived, ms(10)))),
            ["progress:EndOfRibReceived:ipv4-unicast"]
        );
    }

    #[test]
    fn nothing_expected_is_done_at_activation_and_not_before() {
        let mut t = Takeover::default();
        let early = t.step(step(
            peer(2),
            &[V4],
            ProgressKind::Established,
            Instant::now(),
        ));
        assert_eq!(kinds(&early), ["progress:Established:ipv4-unicast"]);
        assert_eq!(kinds(&t.activate(vec![], Instant::now())), ["done:[]"]);
    }

    #[test]
    fn a_new_session_must_send_its_end_of_rib_again() {
        let t0 = Instant::now();
        let mut t = Takeover::default();
        t.activate(vec![peer(2)], t0);
        use ProgressKind::*;
        t.step(step(peer(2), &[V4], Established, t0));
        t.step(step(peer(7), &[V4], Established, t0));
        // The first session went down before our End-of-RIB; the next one negotiated more.
        t.step(step(peer(2), &[V4, V6], Established, t0));
        let half = t.step(step(peer(2), &[V4], EndOfRibSent, t0));
        assert_eq!(kinds(&half), ["progress:EndOfRibSent:ipv4-unicast"]);
        let all = t.step(step(peer(2), &[V6], EndOfRibSent, t0));
        assert_eq!(
            kinds(&all),
            [
                "progress:EndOfRibSent:ipv6-unicast".to_string(),
                format!("done:{:?}", [peer(2)])
            ],
            "an unexpected peer still on its way does not hold it up"
        );
    }
}
