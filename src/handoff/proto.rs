//! The messages supervisor and speaker exchange, and how their versions are negotiated.
//!
//! Every message is a JSON object whose `"type"` field names it (`"hello"`, `"ready"`, …).
//!
//! # The sequence
//!
//! An upgrade, as the supervisor drives it (`S` supervisor, `N` the new speaker, `O` the old):
//!
//! ```text
//! S → N  Hello { versions, generation, paths, listeners }   + the listening sockets (SCM_RIGHTS)
//! N → S  HelloAck { version, build }     or Incompatible { reason }, and N exits 1
//!        N loads its configuration, intent and RIB snapshot and takes the listeners; it
//!        neither accepts nor connects yet
//! N → S  Ready { peers_up }              the sessions N holds: none (see "Later")
//! S → O  Quiesce                         O stops its API and its accepting, saves its RIB,
//!                                        closes every session without NOTIFICATION
//! O → S  Quiesced                        then O exits 0 (killed if it lingers)
//! S → N  Activate { expect }             the peers that were up at O
//! N → S  Progress { peer, family, established | end-of-rib-sent | end-of-rib-received,
//!                   elapsed_ms } …       as each step happens, for as long as N runs
//! N → S  Done { peers_up }               every expected peer is Established and has been sent
//!                                        End-of-RIB in each family: the upgrade is complete
//! S → N  Figures { restarts, upgrades }  (version 3) the supervisor's counts changed (the
//!                                        upgrade's outcome); sent to whichever speaker runs
//! ```
//!
//! The supervisor waits for each answer with a deadline and watches both processes' exits
//! meanwhile: if N exits or misses a deadline before `Ready`, it is killed and O never hears
//! of the upgrade; if O sends no `Quiesced` in time it is killed (peers see a lost connection,
//! which graceful restart covers the same way). A plain start or a crash restart is `Hello`,
//! `Ready`, `Activate { expect: [] }` (then `Done` at once). `Hello` carries the supervisor's
//! figures for the speaker's metrics (see [`super::figures`]). At any time after `HelloAck`:
//! `Request { id, body }` is answered by `Reply { id, body }`, and `Stop` makes the speaker send
//! Cease to every peer and exit 0.
//!
//! *Later*, for hitless session handoff: between `Quiesce` and `Quiesced` the old speaker will
//! pass each Established session (the socket by SCM_RIGHTS, the negotiated session state, the
//! bytes read but not yet parsed) through the supervisor to the new one, in new message types
//! of a new protocol version; `Ready`'s `peers_up` then lists the sessions taken over.
//!
//! # Versions
//!
//! Each build's speaker speaks a range of protocol versions, [`MIN_PROTOCOL_VERSION`] to
//! [`PROTOCOL_VERSION`]; its supervisor asks for [`SUPERVISOR_MIN_VERSION`] at least, because
//! it follows an upgrade by events that version 1 lacks. The supervisor's `Hello` carries its
//! range; the speaker picks the highest version both speak and answers `HelloAck { version }`,
//! or `Incompatible` if the ranges do not meet (and then exits non-zero). From then on both
//! sides send only what the agreed version allows: with version 1 (an older supervisor
//! starting this build) the speaker sends no `Progress` and no `Done`. How to change the
//! protocol later:
//!
//! - *Additive* (a new message type, a new field with `#[serde(default)]`): bump
//!   [`PROTOCOL_VERSION`], keep [`MIN_PROTOCOL_VERSION`], and send the new things only when the
//!   agreed version is high enough. Unknown fields are ignored; an unknown message type is a
//!   [`HandoffError::UnknownMessage`] naming it (never a panic), a request this build does not
//!   know is a [`HandoffError::BadRequest`] to answer, and the channel stays usable.
//! - *Breaking*: raise [`MIN_PROTOCOL_VERSION`] too; older peers are then refused at the
//!   handshake with a message that names both ranges.
//!
//! The handshake messages (`hello`, `hello_ack`, `incompatible`) keep their `type` and their
//! `version`/`min_version` fields forever, so that any two builds can at least tell each other
//! why they cannot talk.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Figures, HandoffError, Progress};
use crate::ctl::{Reply, Request};

/// The newest protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 3;

/// The oldest protocol version this build's speaker still speaks (to be started by the
/// supervisor of an older build).
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// The first version with `Progress`, `Done` and `Activate { expect }`.
pub const EVENTS_VERSION: u32 = 2;

/// The first version with `Figures` (the supervisor's counts, sent while the speaker runs).
pub const FIGURES_VERSION: u32 = 3;

/// The oldest version this build's supervisor accepts from a speaker: it needs the events.
pub const SUPERVISOR_MIN_VERSION: u32 = EVENTS_VERSION;

/// What a listening socket passed in a [`Hello`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerKind {
    /// Accepts BGP connections.
    Bgp,
    /// Serves the REST API.
    Api,
    /// A kind this build does not know (sent by a newer supervisor); the speaker should leave
    /// it alone.
    #[serde(other)]
    Other,
}

/// One listening socket in a [`Hello`]; its descriptor is attached at the same index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerInfo {
    /// The address it is bound to.
    pub addr: SocketAddr,
    /// What it is for.
    pub kind: ListenerKind,
}

/// Supervisor → speaker, first message: who the speaker is and what it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The newest protocol version the supervisor speaks.
    pub version: u32,
    /// The oldest protocol version the supervisor speaks.
    pub min_version: u32,
    /// The speaker generation, counting from 1 for the first speaker of this supervisor.
    pub generation: u64,
    /// The state directory (intent and RIB).
    pub state_dir: PathBuf,
    /// The configuration file, `None` for the embedded default configuration.
    pub config_path: Option<PathBuf>,
    /// The listening sockets, in the order of the attached descriptors.
    pub listeners: Vec<ListenerInfo>,
    /// The supervisor's counts, for the speaker's metrics (zeros from an older supervisor).
    #[serde(default)]
    pub figures: Figures,
}

impl Hello {
    /// A `Hello` carrying the range of versions this build's supervisor speaks.
    pub fn new(
        generation: u64,
        state_dir: PathBuf,
        config_path: Option<PathBuf>,
        listeners: Vec<ListenerInfo>,
    ) -> Self {
        Hello {
            version: PROTOCOL_VERSION,
            min_version: SUPERVISOR_MIN_VERSION,
            generation,
            state_dir,
            config_path,
            listeners,
            figures: Figures::default(),
        }
    }
}

/// Speaker → supervisor: the handshake succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloAck {
    /// The protocol version agreed on, within both sides' ranges.
    pub version: u32,
    /// The speaker's build (`CARGO_PKG_VERSION`, maybe more), for logs and `batonctl`.
    pub speaker_version: String,
}

/// A message on the handoff channel, in the order of the sequence (see the module
/// documentation). The doc of each variant says who sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    /// Supervisor → speaker, first message; the listening sockets are attached in order.
    Hello(Hello),
    /// Speaker → supervisor: answer to `Hello` when a common version exists.
    HelloAck(HelloAck),
    /// Speaker → supervisor: answer to `Hello` when no common version exists (or the `Hello`
    /// is unusable); the speaker then exits non-zero.
    Incompatible {
        /// Both sides' versions and what is wrong, for the operator.
        reason: String,
        /// The oldest version the speaker speaks.
        min_version: u32,
        /// The newest version the speaker speaks.
        version: u32,
    },
    /// Speaker → supervisor: state loaded and validated, listeners taken; it can take over.
    Ready {
        /// The peers whose sessions the speaker holds Established (none until sessions are
        /// handed over between speakers).
        peers_up: Vec<IpAddr>,
    },
    /// Supervisor → speaker: an upgrade is under way. Flush state, stop accepting, close every
    /// BGP session *without* NOTIFICATION, leave kernel routes, answer `Quiesced`, exit 0.
    Quiesce,
    /// Speaker → supervisor: the answer to `Quiesce`: the API and the accepting stopped, the
    /// RIB saved, every session closed without NOTIFICATION. The speaker exits next.
    Quiesced,
    /// Supervisor → speaker: go live (connect to and accept from peers). Sent right after
    /// `Ready` on a plain start; during an upgrade only once the old speaker has let go.
    Activate {
        /// The peers to be back for the takeover to be complete (those that were up at the
        /// old speaker): `Done` says when they are.
        #[serde(default)]
        expect: Vec<IpAddr>,
    },
    /// Speaker → supervisor (version 2): a step of one peer's session in one family.
    Progress(Progress),
    /// Speaker → supervisor (version 2): every expected peer is Established and has been sent
    /// End-of-RIB in each negotiated family.
    Done {
        /// The peers Established with End-of-RIB sent, expected or not.
        peers_up: Vec<IpAddr>,
    },
    /// Supervisor → speaker: a deliberate stop. Send Cease/Administrative Shutdown to every
    /// peer, then exit 0.
    Stop,
    /// Supervisor → speaker (version 3): the supervisor's counts, whole, after they changed.
    Figures(Figures),
    /// Supervisor → speaker: a control-socket request forwarded from `batonctl`.
    Request {
        /// Chosen by the supervisor; the `Reply` carries it back.
        id: u64,
        /// The request.
        body: Request,
    },
    /// Speaker → supervisor: the answer to a `Request`.
    Reply {
        /// The request's `id`.
        id: u64,
        /// The answer, relayed to `batonctl` as is.
        body: Reply,
    },
}

impl Msg {
    /// Every message type this build knows, as spelled on the wire.
    pub const TYPES: &'static [&'static str] = &[
        "hello",
        "hello_ack",
        "incompatible",
        "ready",
        "quiesce",
        "quiesced",
        "activate",
        "progress",
        "done",
        "stop",
        "figures",
        "request",
        "reply",
    ];

    /// The message type as spelled on the wire (the `"type"` field).
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Hello(_) => "hello",
            Msg::HelloAck(_) => "hello_ack",
            Msg::Incompatible { .. } => "incompatible",
            Msg::Ready { .. } => "ready",
            Msg::Quiesce => "quiesce",
            Msg::Quiesced => "quiesced",
            Msg::Activate { .. } => "activate",
            Msg::Progress(_) => "progress",
            Msg::Done { .. } => "done",
            Msg::Stop => "stop",
            Msg::Figures(_) => "figures",
            Msg::Request { .. } => "request",
            Msg::Reply { .. } => "reply",
        }
    }

    /// How many file descriptors travel with this message: one per listener for `Hello`,
    /// none otherwise.
    pub fn fd_count(&self) -> usize {
        match self {
            Msg::Hello(hello) => hello.listeners.len(),
            _ => 0,
        }
    }

    /// Encodes the message as JSON.
    pub fn encode(&self) -> Result<Vec<u8>, HandoffError> {
        serde_json::to_vec(self).map_err(|e| HandoffError::Malformed {
            kind: self.kind().to_string(),
            reason: e.to_string(),
        })
    }

    /// Decodes one message. A type this build does not know gives
    /// [`HandoffError::UnknownMessage`] naming it; a `request` with a usable `id` whose body
    /// this build cannot read (a command from a newer supervisor) gives
    /// [`HandoffError::BadRequest`], to be answered; anything else wrong gives
    /// [`HandoffError::Malformed`].
    pub fn decode(payload: &[u8]) -> Result<Msg, HandoffError> {
        serde_json::from_slice(payload).map_err(|e| {
            let kind = message_type(payload);
            match kind {
                Some(kind) if !Msg::TYPES.contains(&kind.as_str()) => {
                    HandoffError::UnknownMessage(kind)
                }
                Some(kind) if kind == "request" => match request_id(payload) {
                    Some(id) => HandoffError::BadRequest {
                        id,
                        reason: e.to_string(),
                    },
                    None => HandoffError::Malformed {
                        kind,
                        reason: e.to_string(),
                    },
                },
                kind => HandoffError::Malformed {
                    kind: kind.unwrap_or_else(|| "?".into()),
                    reason: e.to_string(),
                },
            }
        })
    }
}

/// The `"type"` of a JSON object, if it is one and has a string `type`.
pub(crate) fn message_type(payload: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Tag {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_slice::<Tag>(payload).ok().map(|t| t.kind)
}

/// The `"id"` of a JSON object, if it has a numeric one.
fn request_id(payload: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Id {
        id: u64,
    }
    serde_json::from_slice::<Id>(payload).ok().map(|i| i.id)
}

/// The version range announced by a `hello` frame, read without decoding the rest of it, so an
/// incompatible `Hello` from a far newer supervisor can still be answered. `None` if the
/// payload is not a `hello` with numeric `version` and `min_version`.
pub(crate) fn hello_range(payload: &[u8]) -> Option<(u32, u32)> {
    #[derive(Deserialize)]
    struct Range {
        #[serde(rename = "type")]
        kind: String,
        min_version: u32,
        version: u32,
    }
    let range: Range = serde_json::from_slice(payload).ok()?;
    (range.kind == "hello").then_some((range.min_version, range.version))
}

/// The version to use with a peer speaking `peer_min..=peer_max`: the highest both speak, or
/// why there is none.
pub fn negotiate(peer_min: u32, peer_max: u32) -> Result<u32, String> {
    let low = peer_min.max(MIN_PROTOCOL_VERSION);
    let high = peer_max.min(PROTOCOL_VERSION);
    if peer_min > peer_max || low > high {
        return Err(format!(
            "no common handoff protocol version: the supervisor speaks {peer_min}..={peer_max}, \
             this speaker {MIN_PROTOCOL_VERSION}..={PROTOCOL_VERSION}"
        ));
    }
    Ok(high)
}
