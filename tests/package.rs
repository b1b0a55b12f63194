//! The packages on a real machine: `bin/package` builds a .deb and an .rpm twice from this
//! code, as versions A and B; the .deb of A installs with `dpkg -i`, and both list their
//! binaries, unit, conffile, man pages and completions; the man pages render; a batond started
//! as the unit starts it (the baton user, only the unit's capabilities) holds a gobgpd peer's
//! routes while B's .deb is installed over A, whose maintainer script hands over to the new
//! binary without the peer ever missing a route; purging stops baton (the peer withdraws) and
//! leaves nothing behind.
//!
//! Installing packages is machine-wide, so one test function does the whole sequence (no
//! other test installs anything); a baton package already installed is purged first, and the
//! test purges what it installed even when it fails. This machine runs no systemd as PID 1, as
//! in a container: the maintainer scripts then reload and stop batond through its control
//! socket, the fallback the packages have for machines without systemd.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::gobgp::{GobgpConfig, Gobgpd};
use common::monitor::Monitor;
use common::netns::{is_root, Host, Lab};
use common::process::Daemon;
use common::{poll, Family};
use serde_json::Value;

/// Routes baton originates.
const N: usize = 1_000;
/// What the .deb installs that matters, as `dpkg -L` names it.
const DEB_FILES: &[&str] = &[
    "/usr/sbin/batond",
    "/usr/bin/batonctl",
    "/lib/systemd/system/baton.service",
    "/etc/baton/baton.toml",
    "/usr/share/man/man8/batond.8.gz",
    "/usr/share/man/man8/batonctl.8.gz",
    "/usr/share/bash-completion/completions/batond",
    "/usr/share/bash-completion/completions/batonctl",
    "/usr/share/zsh/vendor-completions/_batond",
    "/usr/share/zsh/vendor-completions/_batonctl",
    "/usr/share/fish/vendor_completions.d/batond.fish",
    "/usr/share/fish/vendor_completions.d/batonctl.fish",
    "/usr/share/doc/baton/README.md",
    "/usr/share/doc/baton/example.toml",
    "/usr/libexec/baton/package-hook",
];
/// The same for the .rpm, whose unit and zsh directories differ.
const RPM_FILES: &[&str] = &[
    "/usr/sbin/batond",
    "/usr/bin/batonctl",
    "/usr/lib/systemd/system/baton.service",
    "/etc/baton/baton.toml",
    "/usr/share/man/man8/batond.8.gz",
    "/usr/share/man/man8/batonctl.8.gz",
    "/usr/share/bash-completion/completions/batond",
    "/usr/share/bash-completion/completions/batonctl",
    "/usr/share/zsh/site-functions/_batond",
    "/usr/share/zsh/site-functions/_batonctl",
    "/usr/share/fish/vendor_completions.d/batond.fish",
    "/usr/share/fish/vendor_completions.d/batonctl.fish",
    "/usr/share/doc/baton/README.md",
    "/usr/share/doc/baton/example.toml",
    "/usr/libexec/baton/package-hook",
];
/// The packaged configuration's paths (tests/packaging.rs checks they are the unit's).
const CONFIG: &str = "/etc/baton/baton.toml";
const STATE_DIR: &str = "/var/lib/baton";
const RUNTIME_DIR: &str = "/run/baton";
const SOCKET: &str = "/run/baton/batond.sock";
/// The unit's capabilities: CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13).
const UNIT_CAPS: u64 = (1 << 10) | (1 << 12) | (1 << 13);

/// Runs `cmd` with its output in files, killing it if it outlives `deadline`.
fn run_bounded(mut cmd: Command, deadline: Duration) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let status = poll::within(deadline, || child.try_wait().unwrap()).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("{cmd:?} still running after {deadline:?}")
    });
    Output {
        status,
        stdout: std::fs::read(out).unwrap(),
        stderr: std::fs::read(err).unwrap(),
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `program args…` to success and returns its stdout.
fn ok(program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(common::tool(program));
    cmd.args(args);
    let out = run_bounded(cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `dpkg ARGS`, waiting (bounded) while another package tool holds dpkg's lock.
fn dpkg(args: &[&str]) -> Output {
    poll::until(Duration::from_secs(300), "dpkg's lock", || {
        let mut cmd = Command::new(common::tool("dpkg"));
        cmd.args(args);
        let out = run_bounded(cmd, Duration::from_secs(300));
        (!String::from_utf8_lossy(&out.stderr).contains("lock")).then_some(out)
    })
}

fn installed() -> bool {
    dpkg(&["-s", "baton"]).status.success()
}

/// The two package files of one version.
struct Built {
    deb: PathBuf,
    rpm: PathBuf,
}

/// `bin/package --version VERSION`.
fn package(version: &str) -> Built {
    let start = Instant::now();
    let mut cmd = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("bin/package"));
    cmd.args(["--version", version]);
    let out = run_bounded(cmd, Duration::from_secs(30 * 60));
    assert!(out.status.success(), "bin/package failed:\n{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let paths: Vec<&str> = stdout.lines().collect();
    let [deb, rpm] = paths[..] else {
        panic!("bin/package printed {stdout:?}, not two paths")
    };
    eprintln!("bin/package --version {version}: {:.1?}", start.elapsed());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Built {
        deb: root.join(deb),
        rpm: root.join(rpm),
    }
}

/// Purges baton if a failed run left it installed; on drop, purges it again if the test
/// failed half-way, so the machine is left as it was found.
struct Cleanup;

impl Cleanup {
    fn new() -> Cleanup {
        if installed() {
            eprintln!("baton is installed (a previous run?): purging it first");
            let out = dpkg(&["--purge", "baton"]);
            assert!(out.status.success(), "{}", text(&out));
        }
        Cleanup
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if std::thread::panicking() && installed() {
            let _ = dpkg(&["--purge", "baton"]);
        }
    }
}

fn check_tools() {
    assert!(
        is_root(),
        "installing packages needs root: run bin/test as root"
    );
    for tool in ["dpkg", "rpm", "man", "setpriv", "getent"] {
        assert!(
            common::tool(tool).is_file(),
            "{tool} is missing: bin/test installs it (apt-get install dpkg rpm man-db util-linux)"
        );
    }
}

/// `batonctl --socket SOCKET --json ARGS` with the installed batonctl.
fn ctl(args: &[&str]) -> Value {
    let mut all = vec!["--socket", SOCKET, "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok("/usr/bin/batonctl", &all)).expect("batonctl JSON")
}

/// The uid and effective capabilities of process `pid`.
fn credentials(pid: u64) -> (u32, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> String {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
            .trim()
            .to_string()
    };
    let uid = field("Uid:")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let caps = u64::from_str_radix(&field("CapEff:"), 16).unwrap();
    (uid, caps)
}

/// The configuration the test puts in place of the packaged one: a gobgpd peer, N routes,
/// the packaged state directory and control socket.
fn lab_config(a: &Host, gobgp: IpAddr) -> String {
    let mut toml = format!(
        "[global]\nasn = 65001\nrouter_id = \"{a}\"\nlisten = [\"{a}:179\"]\n\
         state_dir = \"{STATE_DIR}\"\ncontrol_socket = \"{SOCKET}\"\n\n\
         [[peer]]\naddress = \"{gobgp}\"\nremote_as = 65002\nconnect_retry = 1\n\
         [peer.graceful_restart]\nenabled = true\nrestart_time = 120\n\n",
        a = a.ipv4
    );
    for i in 0..N {
        toml += &format!(
            "[[route]]\nprefix = \"198.19.{}.{}/32\"\n",
            i / 256,
            i % 256
        );
    }
    toml
}

/// Starts the installed batond as the unit does: the baton user, only the unit's
/// capabilities (bounding and ambient), no new privileges, in `host`'s namespace; the state
/// and runtime directories made as systemd makes them (StateDirectory=, RuntimeDirectory=).
fn start_as_the_unit_does(host: &Host, log: &Path) -> Daemon {
    ok(
        "install",
        &["-d", "-m", "0700", "-o", "baton", "-g", "baton", STATE_DIR],
    );
    ok(
        "install",
        &[
            "-d",
            "-m",
            "0755",
            "-o",
            "baton",
            "-g",
            "baton",
            RUNTIME_DIR,
        ],
    );
    let caps = "net_bind_service,+net_admin,+net_raw";
    let mut cmd = host.command("setpriv");
    cmd.args([
        "--reuid=baton",
        "--regid=baton",
        "--clear-groups",
        &format!("--inh-caps=-all,+{caps}"),
        &format!("--ambient-caps=-all,+{caps}"),
        &format!("--bounding-set=-all,+{caps}"),
        "--no-new-privs",
        "/usr/sbin/batond",
        "--config",
        CONFIG,
    ]);
    let mut daemon = Daemon::spawn(&format!("packaged batond in {}", host.ns), cmd, log);
    poll::until(Duration::from_secs(20), "batond's control socket", || {
        daemon.assert_running("while starting");
        std::os::unix::net::UnixStream::connect(SOCKET).ok()
    });
    daemon
}

/// True when `status[field]` is a build of `version` (`VERSION+fingerprint`).
fn runs(status: &Value, field: &str, version: &str) -> bool {
    status[field]
        .as_str()
        .is_some_and(|v| v.starts_with(&format!("{version}+")))
}

/// Both packages list the binaries, unit, conffile, man pages and completions; the .deb
/// installs them, creates the baton user, enables nothing, and its man pages render.
fn install_and_check_what_is_shipped(built: &Built, version: &str) {
    let rpm = built.rpm.to_str().unwrap();
    let rpm_list = ok("rpm", &["-qlp", rpm]);
    for file in RPM_FILES {
        assert!(
            rpm_list.lines().any(|l| l == *file),
            "{file} not in the rpm:\n{rpm_list}"
        );
    }
    // %config(noreplace): flags "cn".
    let flags = ok(
        "rpm",
        &["-qp", "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\\n]", rpm],
    );
    let config: Vec<&str> = flags.lines().filter(|l| l.starts_with('c')).collect();
    assert_eq!(config, [format!("cn {CONFIG}")], "the rpm's %config files");
    let scripts = ok("rpm", &["-qp", "--scripts", rpm]);
    assert!(scripts.contains("package-hook upgrade"), "{scripts}");

    let install = dpkg(&["-i", built.deb.to_str().unwrap()]);
    assert!(install.status.success(), "dpkg -i: {}", text(&install));
    let deb_list = ok("dpkg", &["-L", "baton"]);
    for file in DEB_FILES {
        assert!(
            deb_list.lines().any(|l| l == *file),
            "{file} not in the deb:\n{deb_list}"
        );
        assert!(Path::new(file).exists(), "{file} not installed");
    }
    let conffiles = ok("dpkg-query", &["-W", "-f=${Conffiles}", "baton"]);
    assert!(conffiles.contains(CONFIG), "conffiles: {conffiles}");
    let user = ok("getent", &["passwd", "baton"]);
    assert!(
        user.trim_end()
            .ends_with(":/var/lib/baton:/usr/sbin/nologin"),
        "{user}"
    );
    assert!(
        !Path::new("/etc/systemd/system/multi-user.target.wants/baton.service").exists(),
        "installing enabled the service"
    );
    for page in ["batond", "batonctl"] {
        let shown = ok("man", &["-l", &format!("/usr/share/man/man8/{page}.8.gz")]);
        assert!(
            shown.contains(&format!("{page}(8)")),
            "man -l {page}.8.gz:\n{shown}"
        );
    }
    let said = ok("/usr/sbin/batond", &["--version"]);
    assert_eq!(said.trim(), format!("batond {version}"));
    ok("/usr/sbin/batond", &["check-config", "--config", CONFIG]);
}

/// Purges the package: batond stops (Cease: the peer withdraws at once) and nothing is left.
fn purge_and_check_nothing_is_left(batond: &mut Daemon, held: impl Fn() -> usize) {
    let purge = dpkg(&["--purge", "baton"]);
    assert!(purge.status.success(), "dpkg --purge: {}", text(&purge));
    batond.wait_exit(Duration::from_secs(40));
    poll::until_true(
        Duration::from_secs(10),
        "gobgpd to withdraw our routes",
        || held() == 0,
    );
    for file in DEB_FILES
        .iter()
        .chain(&[STATE_DIR, RUNTIME_DIR, "/etc/baton"])
    {
        assert!(
            !Path::new(file).exists(),
            "{file} is still there after purge"
        );
    }
    assert!(!installed(), "dpkg still knows baton");
    let user = Command::new("getent").args(["passwd", "baton"]).output();
    assert!(
        !user.unwrap().status.success(),
        "the baton user is still there"
    );
}

#[test]
fn deb_installs_upgrades_by_handing_over_without_a_flap_and_purges_clean() {
    check_tools();
    let _cleanup = Cleanup::new();
    let base = baton::version::PACKAGE_VERSION;
    let (version_a, version_b) = (format!("{base}~pkgtest1"), format!("{base}~pkgtest2"));
    let a_built = package(&version_a);
    let b_built = package(&version_b);
    install_and_check_what_is_shipped(&a_built, &version_a);

    // Version A runs, as the unit runs it, with a gobgpd peer holding its routes.
    let lab = Lab::new();
    let (a, g) = (lab.host("baton"), lab.host("gobgp"));
    let gobgpd = Gobgpd::start(
        &g,
        GobgpConfig::one_gr_neighbor(65002, a.ipv4.into(), 65001, 120),
    );
    std::fs::write(CONFIG, lab_config(&a, g.ipv4.into())).unwrap();
    let mut batond = start_as_the_unit_does(&a, &lab.dir().join("batond.log"));
    let held = || gobgpd.adj_in_count(a.ipv4.into(), Family::Ipv4Unicast);
    poll::until_true(Duration::from_secs(90), "gobgpd to hold our routes", || {
        held() >= N
    });
    let before = ctl(&["status"]);
    let baton_uid: u32 = ok("id", &["-u", "baton"]).trim().parse().unwrap();
    for role in ["supervisor_pid", "speaker_pid"] {
        let pid = before[role].as_u64().unwrap();
        assert_eq!(credentials(pid), (baton_uid, UNIT_CAPS), "{role} {pid}");
    }
    assert!(runs(&before, "version", &version_a), "{before}");

    // B's .deb over A: the postinst reloads, the speaker is replaced, the peer keeps every route.
    let monitor = Monitor::new();
    let (upgrade, took) = std::thread::scope(|s| {
        s.spawn(|| {
            monitor.run(Duration::from_millis(100), || {
                let n = held();
                (n < N).then(|| format!("gobgpd held {n} of {N}"))
            })
        });
        let start = Instant::now();
        let upgrade = dpkg(&["-i", b_built.deb.to_str().unwrap()]);
        let took = start.elapsed();
        poll::until_true(
            Duration::from_secs(90),
            "our routes fresh at gobgpd",
            || {
                let routes = gobgpd.adj_in(a.ipv4.into(), Family::Ipv4Unicast);
                routes.len() >= N && routes.iter().all(|r| !r.stale)
            },
        );
        monitor.stop();
        (upgrade, took)
    });
    assert!(upgrade.status.success(), "dpkg -i B: {}", text(&upgrade));
    let said = text(&upgrade);
    assert!(said.contains("hands over to the new batond"), "{said}");
    monitor.assert_no_gap("our routes at gobgpd while B's package was installed");
    let after = ctl(&["status"]);
    eprintln!(
        "dpkg -i B took {took:.1?}; status after: supervisor {} (pid {}), speaker {} (pid {}, \
         generation {})",
        after["supervisor_version"],
        after["supervisor_pid"],
        after["version"],
        after["speaker_pid"],
        after["generation"]
    );
    assert!(
        runs(&after, "version", &version_b),
        "speaker not B: {after}"
    );
    assert_eq!(after["supervisor_pid"], before["supervisor_pid"], "{after}");
    let generation = before["generation"].as_u64().unwrap();
    assert_eq!(
        after["generation"].as_u64(),
        Some(generation + 1),
        "{after}"
    );
    // The supervisor re-executed itself in place (same pid, above): B too.
    assert!(
        runs(&after, "supervisor_version", &version_b),
        "supervisor not B: {after}"
    );
    let said = ok("/usr/sbin/batond", &["--version"]);
    assert_eq!(said.trim(), format!("batond {version_b}"));
    // The test's configuration was kept: a conffile the admin changed is never replaced.
    assert!(std::fs::read_to_string(CONFIG)
        .unwrap()
        .contains("198.19.0.0/32"));

    purge_and_check_nothing_is_left(&mut batond, held);
}
