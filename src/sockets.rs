//! The sockets the supervisor binds once and hands to every speaker: BGP listeners, the REST
//! API's listener and the control socket.
//!
//! They live apart from both the supervisor and the speaker because both need them: the
//! supervisor binds them at start (and when a reload adds a listen address), the speaker binds
//! them itself only when it runs without a supervisor. Binding is plain std/socket2 work so that
//! a socket can be passed to another process (see [`crate::handoff`]).

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::net::UnixListener;

use crate::config::Config;

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

/// Create the control socket (mode 0600), replacing a stale one.
pub fn bind_control_socket(path: &Path) -> Result<UnixListener, BindError> {
    let err = |source| BindError::Control {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
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
