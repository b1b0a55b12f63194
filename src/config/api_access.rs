//! Who may use the REST API: the bearer token of `[api] token_file`, and the rule that an API
//! reachable beyond this host has one.
//!
//! Anyone who can reach the API can change the routes a site announces. On loopback that is
//! this host's users, whom the operator already trusts; on any other address it is whoever can
//! route to it. So an `[api] listen` that is not loopback without a token is a configuration
//! error: batond refuses to start with it, and a reload to it is refused with nothing applied.
//! The token file is a secret like an SSH key: one that its group or others can read is
//! refused too, as is an empty one.

use std::os::unix::fs::MetadataExt;

use super::error::FieldPath;
use super::schema::Api;

/// Permission bits a token file must not have: any for its group or others.
const SHARED_BITS: u32 = 0o077;

impl Api {
    /// The bearer token in [`token_file`](Self::token_file), without surrounding whitespace;
    /// `Ok(None)` when no file is set. Errs (with the path) if the file cannot be read, is
    /// accessible to its group or others, is not UTF-8, or holds nothing but whitespace.
    pub fn read_token(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?
            .mode();
        if mode & SHARED_BITS != 0 {
            return Err(format!(
                "the token file {} has mode {:04o}: a secret must be accessible to its owner \
                 only (chmod 600 it)",
                path.display(),
                mode & 0o7777
            ));
        }
        let token = text.trim();
        if token.is_empty() {
            return Err(format!("the token file {} is empty", path.display()));
        }
        Ok(Some(token.to_string()))
    }

    /// True if the API listens on an address other hosts may reach: anything but 127.0.0.0/8
    /// and ::1 (IPv4-mapped loopback counts as loopback).
    pub fn reachable_beyond_host(&self) -> bool {
        self.listen
            .is_some_and(|addr| !addr.ip().to_canonical().is_loopback())
    }

    /// The token bucket's size for [`rate_limit`](Self::rate_limit): `rate_burst`, or twice
    /// the rate when it is 0.
    pub fn burst(&self) -> u32 {
        match self.rate_burst {
            0 => self.rate_limit.saturating_mul(2),
            burst => burst,
        }
    }
}

/// The checks of `[api]`: a readable private token, required beyond loopback; usable TLS
/// files when given.
pub(super) fn check(api: &Api) -> Result<(), (FieldPath, String)> {
    let token = api
        .read_token()
        .map_err(|message| (FieldPath::key("api").field("token_file"), message))?;
    if token.is_none() && api.reachable_beyond_host() {
        let listen = api.listen.map(|l| l.to_string()).unwrap_or_default();
        return Err((
            FieldPath::key("api").field("listen"),
            format!(
                "{listen} is not a loopback address, so the API needs a bearer token: set \
                 [api] token_file (anyone who can reach the API could otherwise change the \
                 routes), or listen on 127.0.0.1 or ::1"
            ),
        ));
    }
    api.tls_config()
        .map_err(|(key, message)| (FieldPath::key("api").field(key), message))?;
    if api.rate_burst != 0 && api.rate_limit == 0 {
        return Err((
            FieldPath::key("api").field("rate_burst"),
            "has no effect without [api] rate_limit".into(),
        ));
    }
    Ok(())
}
