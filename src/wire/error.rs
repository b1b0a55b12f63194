//! Decode errors and the RFC 7606 error-handling outcomes.

use super::Notification;

/// A message that cannot be accepted: the session must send this NOTIFICATION and close
/// (RFC 4271 §6, RFC 7606 "session reset").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (NOTIFICATION {code}/{subcode})")]
pub struct DecodeError {
    /// NOTIFICATION error code to send.
    pub code: u8,
    /// NOTIFICATION error subcode to send.
    pub subcode: u8,
    /// NOTIFICATION data to send (e.g. the offending attribute).
    pub data: Vec<u8>,
    /// What was wrong, for the log.
    pub reason: String,
}

impl DecodeError {
    /// The NOTIFICATION the session must send for this error.
    pub fn notification(&self) -> Notification {
        Notification {
            code: self.code,
            subcode: self.subcode,
            data: self.data.clone(),
        }
    }
}

/// What RFC 7606 says to do about one malformed attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrErrorAction {
    /// Drop the attribute and keep going ("attribute discard", RFC 7606 §2).
    Discard,
    /// Treat every prefix in the UPDATE as withdrawn (RFC 7606 §2).
    TreatAsWithdraw,
}

/// One tolerated error in an UPDATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrError {
    /// The attribute type code at fault.
    pub code: u8,
    /// What was done about it.
    pub action: AttrErrorAction,
    /// What was wrong, for the log.
    pub reason: String,
}

/// The errors an UPDATE decode tolerated (RFC 7606).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateErrors(pub Vec<AttrError>);

impl UpdateErrors {
    /// True when some error demands treat-as-withdraw: the UPDATE's NLRI must be withdrawn
    /// rather than installed.
    pub fn treat_as_withdraw(&self) -> bool {
        self.0
            .iter()
            .any(|e| e.action == AttrErrorAction::TreatAsWithdraw)
    }

    /// True when nothing was wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
