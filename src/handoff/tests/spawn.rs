//! The speaker's end of the channel in a real child process, and nothing else.

use std::collections::BTreeSet;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::process::Stdio;

use super::pipe;
use crate::handoff::fdpass::Sweep;
use crate::handoff::spawn::spawn_with_handoff_via;
use crate::handoff::*;

#[tokio::test]
async fn handoff_fd_is_checked_and_claimed_once() {
    let bad =
        |r: Result<Channel, HandoffError>| matches!(r, Err(HandoffError::BadHandoffFd { .. }));
    assert!(bad(Channel::from_handoff_fd(1)));
    assert!(bad(Channel::from_handoff_fd(1_000_000)), "not open");
    let (_r, w) = pipe();
    assert!(bad(Channel::from_handoff_fd(w.as_raw_fd())), "not a socket");

    let (parent, child) = socketpair_for_child().unwrap();
    let mut speaker = Channel::from_handoff_fd(child.into_raw_fd()).unwrap();
    let mut supervisor = Channel::new(parent);
    speaker.send(&Msg::Quiesced, &[]).await.unwrap();
    assert_eq!(supervisor.recv().await.unwrap().0, Msg::Quiesced);

    let (_other_parent, other_child) = socketpair_for_child().unwrap();
    let err = Channel::from_handoff_fd(other_child.as_raw_fd()).unwrap_err();
    assert!(err.to_string().contains("already claimed"), "{err}");
}

/// Lists the descriptors open in the shell itself (a builtin `[` per number: nothing extra
/// is opened while scanning), then what the handoff descriptor (`$2`) is.
const LIST_FDS: &str = r#"n=0
while [ $n -lt 4096 ]; do
  [ -e /proc/$$/fd/$n ] && echo $n
  n=$((n+1))
done
echo "handoff=$2 $(readlink /proc/$$/fd/$2)""#;

/// Spawns the descriptor-listing shell with the given sweep and checks what it had open.
async fn child_inherits_only_stdio_and_the_handoff_fd(sweep: Sweep) {
    // A descriptor this process holds *without* close-on-exec must not leak either.
    let (leaky_r, leaky_w) = nix::unistd::pipe().unwrap();
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c").arg(LIST_FDS).arg("sh");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd.kill_on_drop(true);
    let (child, mut channel) = spawn_with_handoff_via(cmd, sweep).unwrap();
    drop((leaky_r, leaky_w));
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let text = String::from_utf8(out.stdout).unwrap();
    let (numbers, last) = text.trim_end().rsplit_once('\n').unwrap();
    let (handoff, target) = last
        .strip_prefix("handoff=")
        .unwrap()
        .split_once(' ')
        .unwrap();
    let handoff: u32 = handoff.parse().unwrap();
    let open: BTreeSet<u32> = numbers.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(
        open,
        BTreeSet::from([0, 1, 2, handoff]),
        "child's open descriptors"
    );
    assert!(target.starts_with("socket:"), "{target}");
    // The parent holds no copy of the child's end: the child's exit closes the channel.
    assert!(matches!(channel.recv().await, Err(HandoffError::Closed)));
}

#[tokio::test]
async fn spawned_child_inherits_only_stdio_and_the_handoff_fd() {
    child_inherits_only_stdio_and_the_handoff_fd(Sweep::CloseRange).await;
}

#[tokio::test]
async fn spawned_child_inherits_only_stdio_and_the_handoff_fd_without_close_range() {
    child_inherits_only_stdio_and_the_handoff_fd(Sweep::Fcntl).await;
}
