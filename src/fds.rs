//! File descriptors: the process's limit and how many are left.
//!
//! Every BGP session, listener, state file and API connection holds one. Linux starts a
//! process with a soft `RLIMIT_NOFILE` of 1024 whatever the hard limit, and a process at its
//! limit cannot accept a BGP connection ("Too many open files"). So batond raises the soft
//! limit to the hard one at start ([`raise_limit`]), and the REST API sizes its connection cap
//! to what the limit leaves after a [`RESERVE`] kept for BGP ([`available`]): a flood of API
//! connections runs into the API's cap, never into the process's limit.

use std::path::Path;

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
use tracing::{info, warn};

/// File descriptors the API leaves free for everything else: BGP sessions (two during a
/// connection collision), listeners, the control socket, state files being saved.
pub const RESERVE: u64 = 256;

/// The kernel's ceiling on any process's limit, for a hard limit of "unlimited".
const NR_OPEN: &str = "/proc/sys/fs/nr_open";

/// Raise the soft `RLIMIT_NOFILE` to the hard limit and log both; returns the soft limit in
/// force afterwards (`None` if it cannot be read).
pub fn raise_limit() -> Option<u64> {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            warn!(error = %e, "cannot read the file descriptor limit (RLIMIT_NOFILE)");
            return None;
        }
    };
    let target = if hard == RLIM_INFINITY {
        std::fs::read_to_string(NR_OPEN)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(soft)
    } else {
        hard
    };
    if target <= soft {
        info!(
            soft,
            hard, "file descriptor limit (RLIMIT_NOFILE) already at its hard limit"
        );
        return Some(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
        Ok(()) => {
            info!(
                from = soft,
                to = target,
                hard,
                "file descriptor limit (RLIMIT_NOFILE) raised"
            );
            Some(target)
        }
        Err(e) => {
            warn!(soft, hard, error = %e, "cannot raise the file descriptor limit (RLIMIT_NOFILE)");
            Some(soft)
        }
    }
}

/// The soft `RLIMIT_NOFILE` in force.
pub fn limit() -> Option<u64> {
    getrlimit(Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// How many file descriptors this process has open now (`None` without `/proc`).
pub fn open_count() -> Option<u64> {
    count_entries(Path::new("/proc/self/fd"))
}

/// The file descriptors a process holds (`/proc/PID/fd`), for tests and diagnostics.
pub fn open_count_of(pid: u32) -> Option<u64> {
    count_entries(&Path::new("/proc").join(pid.to_string()).join("fd"))
}

fn count_entries(dir: &Path) -> Option<u64> {
    // Reading the directory opens one more descriptor, which is listed too.
    let n = std::fs::read_dir(dir).ok()?.count() as u64;
    Some(n.saturating_sub(1))
}

/// How many more descriptors can be opened while keeping [`RESERVE`] free: the limit less
/// those open now and the reserve (`None` if either cannot be read).
pub fn available() -> Option<u64> {
    Some(limit()?.saturating_sub(open_count()? + RESERVE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_the_soft_limit_to_the_hard_one_and_counts_what_is_open() {
        let soft = raise_limit().unwrap();
        let (now, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(soft, now);
        assert!(hard == RLIM_INFINITY || now == hard, "{now} < {hard}");
        // Other tests open and close descriptors meanwhile: only bounds hold.
        let open = open_count().unwrap();
        assert!(open >= 3, "stdin, stdout and stderr at least: {open}");
        assert!(open_count_of(std::process::id()).unwrap() >= 3);
        assert!(available().unwrap() <= now - RESERVE);
    }
}
