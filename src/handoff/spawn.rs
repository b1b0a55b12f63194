//! Starting a speaker with its end of the channel, and finding that end again in the speaker.
//!
//! The supervisor makes a socket pair with both ends close-on-exec, and the child's end becomes
//! inheritable only inside the forked child, just before `exec` (see
//! [`pass_fd_to_child`](super::pass_fd_to_child)), where every other descriptor from 3 up is
//! also made close-on-exec. The speaker thus starts with exactly 0, 1, 2 and the handoff socket,
//! whose number it is told as `--handoff-fd N`.

use std::os::fd::{OwnedFd, RawFd};

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};

use super::fdpass::{claim_inherited_fd, pass_fd_to_child_via, Sweep};
use super::{Channel, HandoffError};

/// The argument that tells the speaker its handoff descriptor: `--handoff-fd N`.
pub const HANDOFF_FD_ARG: &str = "--handoff-fd";

/// A connected unix stream socket pair, both ends close-on-exec: the parent's end ready for
/// tokio (non-blocking; needs a runtime), and the child's end to give to
/// [`pass_fd_to_child`](super::pass_fd_to_child).
pub fn socketpair_for_child() -> std::io::Result<(UnixStream, OwnedFd)> {
    let (parent, child) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    let parent = std::os::unix::net::UnixStream::from(parent);
    parent.set_nonblocking(true)?;
    Ok((UnixStream::from_std(parent)?, child))
}

/// Spawns `cmd` as a speaker with a handoff channel: appends `--handoff-fd N` to its
/// arguments, lets the child inherit its end of a fresh socket pair at number `N` and nothing
/// else besides 0, 1 and 2, and returns the child with the supervisor's end of the channel.
/// `cmd` is consumed so that the parent's copy of the child's end is closed once spawned (then
/// the channel reports [`HandoffError::Closed`] when the speaker dies).
///
/// Set up `cmd` fully (program, `speaker` subcommand, stdio, `kill_on_drop`, …) first. Needs a
/// tokio runtime.
pub fn spawn_with_handoff(cmd: Command) -> Result<(Child, Channel), HandoffError> {
    spawn_with_handoff_via(cmd, Sweep::CloseRange)
}

/// [`spawn_with_handoff`] with the descriptor sweep chosen (tests exercise both).
pub(crate) fn spawn_with_handoff_via(
    mut cmd: Command,
    sweep: Sweep,
) -> Result<(Child, Channel), HandoffError> {
    let (parent, child_end) = socketpair_for_child()?;
    let fd = pass_fd_to_child_via(&mut cmd, child_end, sweep);
    cmd.arg(HANDOFF_FD_ARG).arg(fd.to_string());
    let child = cmd.spawn()?;
    drop(cmd);
    Ok((child, Channel::new(parent)))
}

impl Channel {
    /// Speaker side: the channel on the descriptor inherited from the supervisor, given as
    /// `--handoff-fd N`. Checks that it is an open unix stream socket, makes it
    /// close-on-exec again (the speaker's own children must not get it). At most once per
    /// process. Needs a tokio runtime.
    pub fn from_handoff_fd(fd: RawFd) -> Result<Channel, HandoffError> {
        let owned = claim_inherited_fd(fd)?;
        let stream = std::os::unix::net::UnixStream::from(owned);
        stream.set_nonblocking(true)?;
        Ok(Channel::new(UnixStream::from_std(stream)?))
    }
}
