//! What the benchmark reads about processes (/proc: peak RSS, CPU time) and prints about the
//! machine and the daemons' versions.

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;

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

/// The machine and the daemons' versions, printed at the top and written with `--json`.
#[derive(Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_gib: f64,
    pub kernel: String,
    /// The 1, 5 and 15 minute load averages when the run began.
    pub load: [f64; 3],
    /// baton's version and the batond binary measured.
    pub batond: String,
    pub batond_binary: String,
    pub git: Option<String>,
    pub gobgpd: String,
    pub bird: String,
}

impl Machine {
    /// Cores, CPU, memory, kernel, load, and the versions of the three daemons.
    pub fn read() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let loadavg = fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let mut load = loadavg.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
        let git = Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map_or("unknown CPU", |m| m.trim_start_matches([' ', '\t', ':']))
                .to_string(),
            memory_gib: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0 / 1024.0),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            load: [(); 3].map(|()| load.next().unwrap_or(0.0)),
            batond: env!("CARGO_PKG_VERSION").into(),
            batond_binary: env!("CARGO_BIN_EXE_batond").into(),
            git,
            gobgpd: version_of("gobgpd"),
            bird: version_of("bird"),
        }
    }

    pub fn print(&self) {
        let Machine { cores, cpu, .. } = self;
        let [l1, l5, l15] = self.load;
        println!(
            "machine: nproc {cores}, {cpu}, {:.1} GiB RAM, Linux {}, load average {l1:.2} \
             {l5:.2} {l15:.2}",
            self.memory_gib, self.kernel
        );
        let (version, path) = (&self.batond, &self.batond_binary);
        let git = self
            .git
            .as_ref()
            .map(|g| format!(", git {g}"))
            .unwrap_or_default();
        println!(
            "versions: batond {version}{git} ({path}), {}, {}",
            self.gobgpd, self.bird
        );
    }
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
