//! What the benchmark reads about processes (/proc: peak RSS, CPU time) and prints about the
//! machine and the daemons' versions.

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use super::common::tool;

/// Peak resident set size (VmHWM) of `pid`, KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// User + system CPU time of `pid` (all its threads), from /proc/PID/stat.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3, "state".
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture we run on.
    Some(Duration::from_millis(ticks * 10))
}

/// Waits until each of `pids` used less than a tenth of a core over a second, at most `bound`;
/// how long that took, or `None` if they were still busy.
pub fn wait_quiet(pids: &[u32], bound: Duration) -> Option<Duration> {
    const WINDOW: Duration = Duration::from_secs(1);
    let start = Instant::now();
    loop {
        let before: Vec<Option<Duration>> = pids.iter().map(|&p| cpu_time(p)).collect();
        std::thread::sleep(WINDOW);
        let busy = pids
            .iter()
            .zip(&before)
            .any(|(&p, b)| match (cpu_time(p), b) {
                (Some(now), Some(b)) => now.saturating_sub(*b) >= WINDOW / 10,
                _ => false,
            });
        if !busy {
            return Some(start.elapsed());
        }
        if start.elapsed() >= bound {
            return None;
        }
    }
}

/// Cores, CPU, memory, kernel, and the versions of the three daemons.
pub fn print_machine() {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("unknown CPU", |m| m.trim_start_matches([' ', '\t', ':']));
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "machine: nproc {cores}, {model}, {mem_gib:.1} GiB RAM, Linux {}",
        kernel.trim()
    );
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| format!(", git {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default();
    println!(
        "versions: batond {}{git} ({}), {}, {}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_BIN_EXE_batond"),
        version_of("gobgpd"),
        version_of("bird")
    );
}

/// First line of `PROGRAM --version` (bird prints it on stderr).
pub fn version_of(program: &str) -> String {
    let Ok(out) = Command::new(tool(program)).arg("--version").output() else {
        return format!("{program}: not found");
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines().next().unwrap_or(program).trim().to_string()
}
