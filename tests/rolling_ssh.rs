//! `batonctl upgrade --rolling ssh://…`: the roll through the system's `ssh` against a real
//! `sshd` (OpenSSH, Debian's openssh-server) in the target's namespace, with a host key and an
//! authorized key generated for the test; the remote side is the same `batonctl`, run by sshd.
//! batonctl runs in another namespace of the lab, as an operator's machine would.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::baton::host_global_toml;
use common::process::Daemon;
use common::{check_output, poll, tool, Baton, Lab};
use serde_json::Value;

/// The port sshd listens on.
const SSH_PORT: u16 = 2222;
/// How long sshd may take to accept a login.
const SSHD_START: Duration = Duration::from_secs(15);
/// Where Debian's sshd wants its privilege-separation directory.
const PRIVSEP_DIR: &str = "/run/sshd";

/// An ed25519 key pair at `path` (and `path.pub`).
fn keygen(path: &Path) {
    check_output(
        Command::new(tool("ssh-keygen"))
            .args(["-q", "-t", "ed25519", "-N", ""])
            .arg("-f")
            .arg(path),
    );
}

#[test]
fn a_rolling_upgrade_over_ssh_upgrades_the_remote_instance() {
    let sshd = tool("sshd");
    assert!(
        sshd.is_file(),
        "sshd is missing: install openssh-server (bin/test does)"
    );
    let lab = Lab::new();
    let (ops, edge) = (lab.host("ops"), lab.host("edge"));
    let mut toml = host_global_toml(&edge, 65001);
    toml += "[[route]]\nprefix = \"198.19.254.0/24\"\n";
    let baton = Baton::start(&edge, &toml);
    poll::until_true(SSHD_START, "baton's speaker running", || {
        !baton.ctl(&["status"])["speaker_pid"].is_null()
    });

    let dir = edge.dir().join("ssh");
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(PRIVSEP_DIR).expect("create sshd's privilege-separation directory");
    let (host_key, id) = (dir.join("host_key"), dir.join("id"));
    keygen(&host_key);
    keygen(&id);
    let authorized = dir.join("authorized_keys");
    fs::copy(id.with_extension("pub"), &authorized).unwrap();
    let known_hosts = dir.join("known_hosts");
    let host_pub = fs::read_to_string(host_key.with_extension("pub")).unwrap();
    fs::write(
        &known_hosts,
        format!("[{}]:{SSH_PORT} {host_pub}", edge.ipv4),
    )
    .unwrap();
    let config = dir.join("sshd_config");
    fs::write(
        &config,
        format!(
            "Port {SSH_PORT}\nListenAddress {}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile none\n\
             StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n",
            edge.ipv4,
            host_key.display(),
            authorized.display()
        ),
    )
    .unwrap();
    let mut cmd = edge.command(sshd.to_str().unwrap());
    cmd.args(["-D", "-e", "-f"]).arg(&config);
    let _sshd = Daemon::spawn("sshd", cmd, &dir.join("sshd.log"));

    let ssh_options: Vec<String> = [
        format!("IdentityFile={}", id.display()),
        format!("UserKnownHostsFile={}", known_hosts.display()),
        "GlobalKnownHostsFile=/dev/null".to_string(),
        "ConnectTimeout=5".to_string(),
    ]
    .into();
    let login = |args: &[&str]| {
        let mut c = ops.command("ssh");
        c.args(["-o", "BatchMode=yes", "-p", &SSH_PORT.to_string()]);
        for o in &ssh_options {
            c.args(["-o", o]);
        }
        c.arg(format!("root@{}", edge.ipv4)).args(args);
        c.output().expect("run ssh")
    };
    poll::until_true(SSHD_START, "sshd to accept our key", || {
        login(&["true"]).status.success()
    });

    let target = format!(
        "ssh://root@{}:{SSH_PORT}{}",
        edge.ipv4,
        baton.paths_of().control_socket.display()
    );
    let mut cmd = ops.command(env!("CARGO_BIN_EXE_batonctl"));
    cmd.args(["--json", "upgrade", "--rolling", &target, "--settle", "0"])
        .args(["--remote-batonctl", env!("CARGO_BIN_EXE_batonctl")]);
    for o in &ssh_options {
        cmd.args(["--ssh-option", o]);
    }
    let out = cmd.output().expect("run batonctl");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let report = lines.last().expect("a report");
    assert_eq!(report["ok"], true, "{text}");
    assert_eq!(report["targets"][0]["target"], target.as_str(), "{text}");
    assert_eq!(report["targets"][0]["outcome"], "upgraded", "{text}");
    // The remote batonctl's steps came through, under the target.
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "done" && l["target"] == target.as_str()),
        "{text}"
    );
    assert_eq!(baton.ctl(&["status"])["generation"], 2, "{text}");
}
