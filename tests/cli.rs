//! The command-line surface without any network: `batond check-config` and the embedded default.

use std::process::Command;

fn batond() -> Command {
    Command::new(env!("CARGO_BIN_EXE_batond"))
}

#[test]
fn check_config_accepts_the_shipped_configs() {
    for file in ["config/default.toml", "config/example.toml"] {
        let out = batond()
            .args(["check-config", "--config", file])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn check_config_names_file_line_and_field_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[global]\nasn = 65001\nrouter_id = \"198.18.0.1\"\nlisten = []\n\n[[peer]]\naddress = \"198.18.0.2\"\nremote_as = 0\n",
    )
    .unwrap();
    let out = batond()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:8:"), "{err}");
    assert!(err.contains("peer[0].remote_as"), "{err}");
}

#[test]
fn run_refuses_an_invalid_config_before_doing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[global]\nasn = \"x\"\n").unwrap();
    let out = batond().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("global.asn"));
}

#[test]
fn embedded_default_runs_without_root_and_answers_batonctl() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = batond()
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let socket = dir.path().join("state/batond.sock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let neighbors = loop {
        let out = Command::new(env!("CARGO_BIN_EXE_batonctl"))
            .arg("--socket")
            .arg(&socket)
            .args(["neighbor", "--json"])
            .output()
            .unwrap();
        if out.status.success() {
            break serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "batond did not answer on {socket:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(neighbors[0]["address"], "127.0.0.2");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn batonctl_prints_shell_completions() {
    let out = Command::new(env!("CARGO_BIN_EXE_batonctl"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("_batonctl") && script.contains("upgrade"));
}
