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

fn batonctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_batonctl"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn batonctl_exits_1_when_the_daemon_cannot_be_reached_and_2_on_a_bad_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("none.sock");
    let socket = socket.to_str().unwrap();
    let out = batonctl(&["--socket", socket, "neighbor", "198.18.0.2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
    for (args, words) in [
        (&["neighbor", "add", "198.18.0.9", "as", "0"][..], "`as`: "),
        (
            &[
                "neighbor",
                "add",
                "198.18.0.9",
                "as",
                "1",
                "local-address",
                "2001:db8::1",
            ],
            "`local-address`: ",
        ),
        (
            &["neighbor", "198.18.0.2", "reset", "198.18.0.2"],
            "the address goes after the verb",
        ),
        (&["neighbor", "adj-out"], "need the neighbor"),
        (&["neighbor", "reset"], "<ADDRESS>"),
        (&["route", "add", "198.19.0.1/24"], "host bits"),
        (&["bogus"], "unrecognized subcommand"),
    ] {
        let mut all = vec!["--socket", socket];
        all.extend_from_slice(args);
        let out = batonctl(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: batonctl"), "{args:?}: {stderr}");
    }
}

#[test]
fn every_batonctl_command_has_examples_in_its_help() {
    for args in [
        &[][..],
        &["neighbor"],
        &["neighbor", "adj-in"],
        &["neighbor", "adj-out"],
        &["neighbor", "add"],
        &["neighbor", "del"],
        &["neighbor", "enable"],
        &["neighbor", "disable"],
        &["neighbor", "reset"],
        &["rib"],
        &["route", "add"],
        &["route", "del"],
        &["status"],
        &["upgrade"],
        &["reload"],
        &["completions"],
    ] {
        let mut all = args.to_vec();
        all.push("--help");
        let out = batonctl(&all);
        assert!(out.status.success(), "{all:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        let examples = help.split_once("Example").map_or("", |(_, e)| e);
        assert!(
            examples.lines().any(|l| l.starts_with("  batonctl ")),
            "batonctl {all:?} has no example:\n{help}"
        );
    }
}
