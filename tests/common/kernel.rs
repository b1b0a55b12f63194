//! A host's kernel routing table, read with iproute2 from outside the daemon
//! (`ip -n NS route show table T proto P`): what the kernel forwards with, not what baton says.

use super::netns::Host;
use super::tool;

/// The routes marked `proto` in `table` of `host`, both families, as `ip route` prints them
/// (without IPv6's `pref medium`), sorted. A table never used reads as empty.
pub fn routes(host: &Host, table: &str, proto: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for family in ["-4", "-6"] {
        let out = std::process::Command::new(tool("ip"))
            .args([
                "-n", &host.ns, family, "route", "show", "table", table, "proto", proto,
            ])
            .output()
            .unwrap_or_else(|e| panic!("cannot run ip: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            // IPv6 has no table until a route is put in it.
            assert!(
                stderr.contains("FIB table does not exist"),
                "ip -n {} route show table {table} proto {proto}: {stderr}",
                host.ns
            );
            continue;
        }
        lines.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| l.trim().replace(" pref medium", "")),
        );
    }
    lines.sort();
    lines
}

/// `ip -n NS ARGS…` on `host`; panics with its stderr if it fails.
pub fn ip(host: &Host, args: &str) {
    let mut cmd = std::process::Command::new(tool("ip"));
    cmd.args(["-n", &host.ns]).args(args.split_whitespace());
    super::check_output(&mut cmd);
}
