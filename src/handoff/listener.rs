//! Listening sockets across the channel: describing a bound listener for a `Hello`, and turning
//! a received descriptor back into a tokio listener after checking what it is.

use std::net::TcpListener as StdTcpListener;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use socket2::{Domain, SockRef, Type};
use tokio::net::TcpListener;

use super::{HandoffError, ListenerInfo, ListenerKind};

/// Describes a bound, listening std listener for a `Hello`, with the descriptor to attach at
/// the same index. The listener stays open in the supervisor (it never closes it).
pub fn listener_to_send(
    listener: &StdTcpListener,
    kind: ListenerKind,
) -> std::io::Result<(ListenerInfo, BorrowedFd<'_>)> {
    let addr = listener.local_addr()?;
    Ok((ListenerInfo { addr, kind }, listener.as_fd()))
}

/// Turns a received descriptor into a tokio listener: checks that it is a listening IPv4 or
/// IPv6 TCP socket, and makes it non-blocking (the received descriptor shares the
/// supervisor's file description, so this affects the supervisor's copy too, which only holds
/// it). Needs a tokio runtime.
pub fn listener_from_fd(fd: OwnedFd) -> Result<TcpListener, HandoffError> {
    let sock = SockRef::from(&fd);
    let not = |what: String| HandoffError::NotAListener(what);
    match sock.domain() {
        Ok(d) if d == Domain::IPV4 || d == Domain::IPV6 => {}
        Ok(d) => return Err(not(format!("address family {d:?}"))),
        Err(e) => return Err(not(format!("not a socket ({e})"))),
    }
    match sock.r#type() {
        Ok(t) if t == Type::STREAM => {}
        Ok(t) => return Err(not(format!("socket type {t:?}"))),
        Err(e) => return Err(not(e.to_string())),
    }
    if !sock.is_listener().map_err(|e| not(e.to_string()))? {
        return Err(not("the socket is not listening".into()));
    }
    let std = StdTcpListener::from(fd);
    std.set_nonblocking(true)?;
    Ok(TcpListener::from_std(std)?)
}
