//! Reading the configuration in this optimised build: N originated routes written as `[[route]]`
//! tables of the TOML file, and the same N as lines of a `[global] routes_file`, each loaded by
//! `baton::config::load` (what batond and every new speaker run at start) in a fresh copy of
//! this bench: the load's time and that process's peak RSS (VmHWM).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use super::prefix_addr;

/// One load of one form.
#[derive(Clone, Copy, Default)]
pub struct LoadTimes {
    /// Bytes of the files read.
    pub bytes: u64,
    /// `batond check-config`, start to exit.
    pub load: Duration,
    /// Its peak RSS, MiB.
    pub peak_mib: f64,
}

const HEAD: &str = "[global]\nasn = 65001\nrouter_id = \"198.18.0.1\"\nlisten = []\n";

/// (TOML `[[route]]` tables, routes file) for `n` routes with one community each.
pub fn bench_config(n: usize) -> (LoadTimes, LoadTimes) {
    let dir = super::store::scratch_place()
        .0
        .join(format!("config-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    let (mut toml, mut lines) = (String::from(HEAD), String::new());
    for i in 0..n {
        let (addr, len) = prefix_addr(i);
        let _ = write!(
            toml,
            "\n[[route]]\nprefix = \"{addr}/{len}\"\ncommunities = [\"65001:100\"]\n"
        );
        let _ = writeln!(lines, "{addr}/{len} community 65001:100");
    }
    let tables = dir.join("tables.toml");
    std::fs::write(&tables, &toml).expect("write the TOML");
    let routes = dir.join("routes.txt");
    std::fs::write(&routes, &lines).expect("write the routes file");
    let with_file = dir.join("with-file.toml");
    std::fs::write(
        &with_file,
        format!(
            "[global]\nrouter_id = \"198.18.0.1\"\nasn = 65001\nlisten = []\nroutes_file = {:?}\n",
            routes.display().to_string()
        ),
    )
    .expect("write the TOML");
    drop((toml, lines));
    let a = load(&tables, n, size(&tables));
    let b = load(&with_file, n, size(&with_file) + size(&routes));
    let _ = std::fs::remove_dir_all(&dir);
    (a, b)
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Set (to a config file) in the environment of a copy of this bench that only loads it.
pub const LOAD_ONLY: &str = "BATON_BENCH_LOAD_CONFIG";

/// In the copy started by [`load`]: load the file, print "seconds peak-KiB routes", exit.
pub fn load_only(path: &Path) {
    let t = Instant::now();
    let config = baton::config::load(path).expect("the bench's configuration loads");
    let secs = t.elapsed().as_secs_f64();
    let peak = super::machine::peak_rss_kib(std::process::id()).unwrap_or(0);
    println!("{secs} {peak} {}", config.routes.len());
}

/// Load `path` in a fresh copy of this bench (so that the peak RSS is the load's alone).
fn load(path: &Path, n: usize, bytes: u64) -> LoadTimes {
    let out = std::process::Command::new(std::env::current_exe().expect("the bench's path"))
        .env(LOAD_ONLY, path)
        .output()
        .expect("start a copy of the bench");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<f64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        out.status.success() && fields.len() == 3 && fields[2] as usize == n,
        "loading {}: {text}{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    LoadTimes {
        bytes,
        load: Duration::from_secs_f64(fields[0]),
        peak_mib: fields[1] / 1024.0,
    }
}

/// The table: one row per form and N, each a list of runs.
pub fn print_config_table(rows: &[(usize, Vec<(LoadTimes, LoadTimes)>)], runs: usize) {
    let table = super::figures::table("config");
    let w = if runs > 1 { 20 } else { 10 };
    println!("configuration load (baton::config::load, this optimised build):");
    println!(
        "{:<34} {:>8} {:>9} {:>w$} {:>w$}",
        "form", "routes", "file MB", "load s", "peak MiB"
    );
    for (n, times) in rows {
        for (kind, pick) in [
            (
                "[[route]] tables in the TOML",
                (|t: &(LoadTimes, LoadTimes)| t.0) as fn(&_) -> LoadTimes,
            ),
            ("[global] routes_file", |t: &(LoadTimes, LoadTimes)| t.1),
        ] {
            let row = format!("{kind}, N = {n}");
            let cell = |column: &str, unit: &str, f: &dyn Fn(LoadTimes) -> f64, precision| {
                let values: Vec<Option<f64>> = times.iter().map(|t| Some(f(pick(t)))).collect();
                table.figure(&row, column, unit, &values, precision)
            };
            println!(
                "{kind:<34} {n:>8} {:>9} {:>w$} {:>w$}",
                cell("file MB", "MB", &|t| t.bytes as f64 / 1e6, 1),
                cell("load s", "s", &|t| t.load.as_secs_f64(), 3),
                cell("peak MiB", "MiB", &|t| t.peak_mib, 0),
            );
        }
    }
    println!(
        "load s and peak MiB: baton::config::load; peak MiB: the peak RSS of a process that did only that."
    );
}
