//! The only module of baton with `unsafe` code: moving file descriptors between processes.
//!
//! Three things need it, each a few lines with its own `// SAFETY:` note:
//! - taking ownership of descriptors the kernel installed for us with `SCM_RIGHTS`
//!   (`recvmsg` hands back raw numbers; nix has no `OwnedFd` variant);
//! - the `pre_exec` hook that lets exactly one descriptor, the child's end of the handoff socket
//!   pair, survive `exec` into a new speaker;
//! - taking ownership, in the speaker, of that inherited descriptor from its number.
//!
//! Sending and receiving are driven by tokio readiness (`UnixStream::async_io`), so each
//! `sendmsg`/`recvmsg` runs only when the socket is ready and `EAGAIN` just waits again.
#![allow(unsafe_code)] // the one module allowed to (CONTRIBUTING.md); every block says why it holds

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{
    self, recvmsg, sendmsg, sockopt, ControlMessage, ControlMessageOwned, MsgFlags, SockType,
    UnixAddr,
};
use tokio::io::Interest;
use tokio::net::UnixStream;
use tracing::debug;

use super::HandoffError;

/// The most descriptors Linux accepts in one `SCM_RIGHTS` message (`SCM_MAX_FD`).
pub const MAX_FDS_PER_FRAME: usize = 253;

/// Sends `bytes` (or a prefix of them) with `fds` attached, waiting until the socket is
/// writable. Returns how many bytes were sent; the descriptors travel with the first byte.
///
/// `MSG_NOSIGNAL`: a peer that went away gives `EPIPE`, not a `SIGPIPE` that kills us.
pub async fn send_with_fds(
    stream: &UnixStream,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    if fds.len() > MAX_FDS_PER_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} descriptors, at most {MAX_FDS_PER_FRAME}", fds.len()),
        ));
    }
    let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let fd = stream.as_raw_fd();
    stream
        .async_io(Interest::WRITABLE, || {
            let iov = [IoSlice::new(bytes)];
            let rights = [ControlMessage::ScmRights(&raw)];
            let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &rights };
            sendmsg::<UnixAddr>(fd, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None)
                .map_err(io::Error::from)
        })
        .await
}

/// Receives into `buf`, waiting until the socket is readable, with room for up to `max_fds`
/// descriptors. Returns the byte count (0 at end of stream) and the descriptors that came
/// with these bytes, owned and close-on-exec (`MSG_CMSG_CLOEXEC`).
///
/// If the kernel truncated the control data (`MSG_CTRUNC`: more descriptors than room), the
/// ones that did arrive are closed and [`HandoffError::FdsTruncated`] is returned: the others
/// are lost, and the frame they belonged to cannot be trusted.
pub async fn recv_with_fds(
    stream: &UnixStream,
    buf: &mut [u8],
    max_fds: usize,
) -> Result<(usize, Vec<OwnedFd>), HandoffError> {
    let space = control_space(max_fds.clamp(1, MAX_FDS_PER_FRAME));
    let fd = stream.as_raw_fd();
    let outcome = stream
        .async_io(Interest::READABLE, || {
            // Zero the whole capacity first, so that after a truncation its bytes can be read
            // back (see `adopt_truncated`).
            // (`vec![0; n]` has capacity exactly n: see `Vec`'s guarantees.)
            let mut cmsg = vec![0u8; space];
            cmsg.clear();
            let mut iov = [IoSliceMut::new(buf)];
            let msg =
                recvmsg::<UnixAddr>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)
                    .map_err(io::Error::from)?;
            let bytes = msg.bytes;
            if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
                return Ok(Received::Truncated(adopt_truncated(cmsg)));
            }
            let mut raw = Vec::new();
            for c in msg.cmsgs().map_err(io::Error::from)? {
                match c {
                    ControlMessageOwned::ScmRights(fds) => raw.extend(fds),
                    // Nothing else carries descriptors (and nothing else is asked for).
                    other => debug!(?other, "ignored control message on the handoff socket"),
                }
            }
            Ok(Received::Data(bytes, adopt(raw)))
        })
        .await?;
    match outcome {
        Received::Data(n, fds) => Ok((n, fds)),
        Received::Truncated(fds) => Err(HandoffError::FdsTruncated { closed: fds.len() }),
    }
}

/// What one `recvmsg` produced.
enum Received {
    /// Bytes and descriptors.
    Data(usize, Vec<OwnedFd>),
    /// `MSG_CTRUNC`: the descriptors that did arrive, to be closed.
    Truncated(Vec<OwnedFd>),
}

const WORD: usize = std::mem::size_of::<usize>();
const INT: usize = std::mem::size_of::<RawFd>();
/// `CMSG_LEN(0)` on Linux: `cmsghdr { size_t len; int level; int type; }` rounded to `size_t`.
const CMSG_HEADER: usize = (WORD + 2 * INT).next_multiple_of(WORD);

/// `CMSG_SPACE` for `n` descriptors: the control buffer that holds one `SCM_RIGHTS` with `n`.
pub(crate) const fn control_space(n: usize) -> usize {
    CMSG_HEADER + (n * INT).next_multiple_of(WORD)
}

/// Takes ownership of descriptors the kernel just installed in this process for us.
fn adopt(raw: Vec<RawFd>) -> Vec<OwnedFd> {
    raw.into_iter()
        // SAFETY: each number was installed into our descriptor table by this very `recvmsg`
        // (SCM_RIGHTS); nothing else in the process knows it, so we are its only owner.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect()
}

/// After `MSG_CTRUNC`, nix refuses to iterate the control messages, but the kernel has still
/// installed the descriptors that fit. Read the `SCM_RIGHTS` header by hand to find and own
/// them (so they get closed rather than leak).
fn adopt_truncated(mut cmsg: Vec<u8>) -> Vec<OwnedFd> {
    // SAFETY: every byte of the capacity was initialised (zeroed) before `recvmsg`, which may
    // only have overwritten some of them; `u8` has no invalid values.
    unsafe { cmsg.set_len(cmsg.capacity()) };
    rights_in_control_buffer(&cmsg)
        .into_iter()
        // SAFETY: as in `adopt`: the kernel installed these numbers for this `recvmsg`.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect()
}

/// The descriptor numbers in the `SCM_RIGHTS` messages of a (possibly truncated) control buffer
/// in the Linux layout: `cmsghdr { size_t len; int level; int type; }`, data, padding to
/// `size_t`. A zero length ends the walk (the buffer was zeroed).
pub(crate) fn rights_in_control_buffer(buf: &[u8]) -> Vec<RawFd> {
    let header = CMSG_HEADER;
    let mut fds = Vec::new();
    let mut at = 0;
    while at + header <= buf.len() {
        let word = |i: usize| buf[i..i + WORD].try_into().map(usize::from_ne_bytes);
        let int = |i: usize| buf[i..i + INT].try_into().map(i32::from_ne_bytes);
        let (Ok(len), Ok(level), Ok(kind)) = (word(at), int(at + WORD), int(at + WORD + INT))
        else {
            break;
        };
        if len < header || at + len > buf.len() {
            break;
        }
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            for i in 0..(len - header) / INT {
                if let Ok(fd) = int(at + header + i * INT) {
                    fds.push(fd);
                }
            }
        }
        at += len.next_multiple_of(WORD);
    }
    fds
}

/// Arranges for `fd` to be the one descriptor, besides 0, 1 and 2, that a child spawned from
/// `cmd` inherits, at the same number, which is returned (pass it to the child, e.g. as
/// `--handoff-fd N`).
///
/// In the forked child, just before `exec`: every descriptor from 3 up is marked close-on-exec
/// (`close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`, or one `fcntl` per number up to `RLIMIT_NOFILE`
/// on kernels before 5.11), so even descriptors this process inherited without close-on-exec
/// do not leak; then close-on-exec is cleared on `fd` alone. The parent's copy of `fd` stays
/// close-on-exec, so no *other* child spawned concurrently can inherit it.
///
/// `fd` is owned by `cmd` from now on and closed when `cmd` is dropped: drop it right after
/// spawning, or the parent keeps the child's end open and never sees end-of-stream when the
/// child dies.
pub fn pass_fd_to_child(cmd: &mut tokio::process::Command, fd: OwnedFd) -> RawFd {
    pass_fd_to_child_via(cmd, fd, Sweep::CloseRange)
}

/// How the child marks its descriptors close-on-exec.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sweep {
    /// `close_range(2)` with `CLOSE_RANGE_CLOEXEC`, falling back to `Fcntl` if unavailable.
    CloseRange,
    /// One `fcntl` per number below `RLIMIT_NOFILE` (the fallback, selectable for tests).
    #[cfg_attr(not(test), allow(dead_code))] // only tests force the fallback
    Fcntl,
}

/// [`pass_fd_to_child`] with the sweep chosen.
pub(crate) fn pass_fd_to_child_via(
    cmd: &mut tokio::process::Command,
    fd: OwnedFd,
    sweep: Sweep,
) -> RawFd {
    let raw = fd.as_raw_fd();
    let hook = move || -> io::Result<()> {
        let keep = fd.as_raw_fd();
        cloexec_from_3(sweep)?;
        fcntl(keep, FcntlArg::F_SETFD(FdFlag::empty()))?;
        Ok(())
    };
    // SAFETY: the hook runs in the forked child of a possibly multi-threaded process, where only
    // async-signal-safe calls are allowed. It calls close_range/getrlimit/fcntl (system calls)
    // and builds `io::Error` from an errno, which does not allocate; it takes no lock and
    // touches no shared state. The descriptor it uses is owned by the hook, so it is open.
    unsafe {
        cmd.pre_exec(hook);
    }
    raw
}

/// Marks every descriptor from 3 up close-on-exec (see [`pass_fd_to_child`]).
/// Async-signal-safe: system calls only, no allocation.
fn cloexec_from_3(sweep: Sweep) -> io::Result<()> {
    if let Sweep::CloseRange = sweep {
        if close_range_cloexec() {
            return Ok(());
        }
    }
    let (soft, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)?;
    // Bounded: no descriptor can have a number at or above the soft limit.
    let end = RawFd::try_from(soft).unwrap_or(RawFd::MAX);
    for fd in 3..end {
        match fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)) {
            Ok(_) | Err(Errno::EBADF) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`; false if the kernel lacks it (before 5.11).
fn close_range_cloexec() -> bool {
    // SAFETY: close_range(2) takes three integers and touches no memory of ours; on kernels
    // without it (or without CLOSE_RANGE_CLOEXEC) it fails with ENOSYS/EINVAL and changes nothing.
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    done == 0
}

/// Set once the inherited handoff descriptor has been taken, so it can never have two owners.
static HANDOFF_FD_CLAIMED: AtomicBool = AtomicBool::new(false);

/// Speaker side: takes ownership of the handoff descriptor inherited from the supervisor, given
/// by number (`--handoff-fd N`). Checks that it is open and is a unix stream socket, and sets
/// close-on-exec on it again so it does not leak into the speaker's own children.
///
/// Can succeed at most once per process.
pub fn claim_inherited_fd(fd: RawFd) -> Result<OwnedFd, HandoffError> {
    let bad = |reason: String| HandoffError::BadHandoffFd { fd, reason };
    if fd < 3 {
        return Err(bad("0, 1 and 2 are the standard streams".into()));
    }
    fcntl(fd, FcntlArg::F_GETFD).map_err(|e| bad(format!("not open: {e}")))?;
    socket::getsockname::<UnixAddr>(fd).map_err(|e| bad(format!("not a unix socket: {e}")))?;
    if HANDOFF_FD_CLAIMED.swap(true, Ordering::SeqCst) {
        return Err(bad("the handoff descriptor was already claimed".into()));
    }
    // SAFETY: `fd` is an open unix socket (checked above) and was inherited across exec from the supervisor,
    // which left exactly this one descriptor open for us and told us its number; nothing else
    // in this process was given it, and the flag above makes this conversion happen at most
    // once, so the `OwnedFd` is its only owner.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    fcntl(owned.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map_err(|e| bad(format!("cannot set close-on-exec: {e}")))?;
    match socket::getsockopt(&owned, sockopt::SockType) {
        Ok(SockType::Stream) => {}
        Ok(other) => return Err(bad(format!("socket of type {other:?}, not a stream"))),
        Err(e) => return Err(bad(format!("cannot read the socket type: {e}"))),
    }
    Ok(owned)
}

/// After the supervisor re-executed itself: takes ownership of a descriptor its previous image
/// left open for it (listeners, control socket, state-dir lock, a speaker's channel and
/// standard error), named by number in `BATON_REEXEC`, and makes it close-on-exec again.
/// `seen` holds the numbers already claimed, so that no number gets two owners.
pub fn claim_reexec_fd(fd: RawFd, seen: &mut Vec<RawFd>) -> Result<OwnedFd, HandoffError> {
    let bad = |reason: String| HandoffError::BadHandoffFd { fd, reason };
    if fd < 3 {
        return Err(bad("0, 1 and 2 are the standard streams".into()));
    }
    if seen.contains(&fd) {
        return Err(bad("named twice".into()));
    }
    fcntl(fd, FcntlArg::F_GETFD).map_err(|e| bad(format!("not open: {e}")))?;
    seen.push(fd);
    // SAFETY: `fd` is open (checked above) and was inherited across exec from this process's
    // previous image, which cleared close-on-exec on exactly the descriptors it named in
    // `BATON_REEXEC` and owned nothing else by those numbers; each number is claimed at most
    // once (`seen`), so the `OwnedFd` is its only owner.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    fcntl(owned.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map_err(|e| bad(format!("cannot set close-on-exec: {e}")))?;
    Ok(owned)
}
