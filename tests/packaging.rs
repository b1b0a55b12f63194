//! The systemd unit is valid (`systemd-analyze verify`, with the binaries this build made).

use std::process::Command;

#[test]
fn the_systemd_unit_verifies() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed here: unit not verified");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string("packaging/baton.service")
        .unwrap()
        .replace("/usr/sbin/batond", env!("CARGO_BIN_EXE_batond"))
        .replace("/usr/bin/batonctl", env!("CARGO_BIN_EXE_batonctl"));
    let path = dir.path().join("baton.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let complaints: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("baton.service"))
        .collect();
    assert!(out.status.success() && complaints.is_empty(), "{text}");
}
