//! The sockets the supervisor binds once and hands to every speaker: BGP listeners, the REST
//! API's listener and the control socket.
//!
//! They live apart from both the supervisor and the speaker because both need them: the
//! supervisor binds them at start (and when a reload adds a listen address), the speaker binds
//! them itself only when it runs without a supervisor. Binding is plain std/socket2 work so that
//! a socket can be passed to another process (see [`crate::handoff`]).

use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use tokio::net::UnixListener;

use tracing::info;

use crate::config::{Config, SocketGroup, SocketMode};

/// Why a socket could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// A listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The control socket could not be created.
    #[error("cannot create control socket {path}: {source}")]
    Control {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Create the control socket with `mode` and, if given, group `gid`, replacing a stale one.
/// The owner and mode are applied right after bind (no client can connect before `accept`
/// runs) and read back, so what the log says is what the file system holds.
pub fn bind_control_socket(
    path: &Path,
    mode: SocketMode,
    group: Option<&SocketGroup>,
) -> Result<UnixListener, BindError> {
    let err = |source| BindError::Control {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).map_err(err)?;
    if let Some(group) = group {
        std::os::unix::fs::chown(path, None, Some(group.gid)).map_err(err)?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode.0)).map_err(err)?;
    let meta = std::fs::metadata(path).map_err(err)?;
    let held = meta.permissions().mode() & 0o7777;
    if held != mode.0 || group.is_some_and(|g| g.gid != meta.gid()) {
        return Err(err(std::io::Error::other(format!(
            "it has mode {held:04o} group {} after asking for {mode} group {}",
            meta.gid(),
            group.map_or("-".to_string(), |g| g.gid.to_string())
        ))));
    }
    info!(path = %path.display(), mode = %format!("{held:04o}"), uid = meta.uid(), gid = meta.gid(), "control socket bound");
    Ok(listener)
}

/// Bind the REST API's listening socket, if `[api] listen` is set (like a BGP listener).
pub fn bind_api_listener(config: &Config) -> Result<Option<std::net::TcpListener>, BindError> {
    let Some(addr) = config.api.as_ref().and_then(|a| a.listen) else {
        return Ok(None);
    };
    Ok(bind_listeners(&[addr])?.pop())
}

/// Bind the BGP listening sockets (SO_REUSEADDR, IPv6 only on IPv6 addresses, non-blocking),
/// as plain std sockets so they can be handed to another process.
pub fn bind_listeners(addrs: &[SocketAddr]) -> Result<Vec<std::net::TcpListener>, BindError> {
    addrs
        .iter()
        .map(|addr| {
            let bind = || -> std::io::Result<std::net::TcpListener> {
                let domain = socket2::Domain::for_address(*addr);
                let s = socket2::Socket::new(domain, socket2::Type::STREAM, None)?;
                s.set_reuse_address(true)?;
                if addr.is_ipv6() {
                    s.set_only_v6(true)?;
                }
                s.set_nonblocking(true)?;
                s.bind(&(*addr).into())?;
                s.listen(1024)?;
                Ok(s.into())
            };
            bind().map_err(|source| BindError::Listen {
                addr: *addr,
                source,
            })
        })
        .collect()
}
