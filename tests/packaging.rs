//! What the packages ship, checked without installing them: the systemd unit verifies
//! (`systemd-analyze verify`, with the binaries and man pages this build made), the packaged
//! configuration is valid and names the directories the unit creates, the man pages render and
//! the completion scripts parse. Installing and upgrading the packages is `tests/package.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIT: &str = "packaging/baton.service";
const CONFIG: &str = "packaging/baton.toml";
const HOOK: &str = "packaging/package-hook";

/// Runs `program args…`; panics naming the tool when it is not installed (bin/test installs
/// them all).
fn run(program: &str, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): install it (bin/test does: apt-get install systemd man-db)")
    })
}

/// `BATON_GENERATE=what BINARY`: the binary's own man page or completion script.
fn generated(binary: &str, what: &str) -> Vec<u8> {
    let out = Command::new(binary)
        .env("BATON_GENERATE", what)
        .output()
        .expect("run the binary");
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "BATON_GENERATE={what} {binary}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

const BINARIES: [(&str, &str); 2] = [
    ("batond", env!("CARGO_BIN_EXE_batond")),
    ("batonctl", env!("CARGO_BIN_EXE_batonctl")),
];

/// A MANPATH holding this build's section-8 pages.
fn manpath(dir: &Path) -> PathBuf {
    let man8 = dir.join("man").join("man8");
    std::fs::create_dir_all(&man8).unwrap();
    for (name, binary) in BINARIES {
        std::fs::write(man8.join(format!("{name}.8")), generated(binary, "man")).unwrap();
    }
    dir.join("man")
}

/// The value of `key=` in the unit (the first line setting it).
fn unit_value(unit: &str, key: &str) -> String {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{UNIT} sets no {key}="))
        .to_string()
}

#[test]
fn the_systemd_unit_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(UNIT)
        .unwrap()
        .replace("/usr/sbin/batond", env!("CARGO_BIN_EXE_batond"))
        .replace("/usr/bin/batonctl", env!("CARGO_BIN_EXE_batonctl"));
    let path = dir.path().join("baton.service");
    std::fs::write(&path, unit).unwrap();
    // verify also runs `man` for each Documentation=man: page.
    let manpath = manpath(dir.path());
    let out = run(
        "systemd-analyze",
        &["verify", path.to_str().unwrap()],
        &[
            ("MANPATH", &manpath),
            ("SYSTEMD_LOG_LEVEL", Path::new("warning")),
        ],
    );
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

#[test]
fn the_unit_keeps_the_supervisor_main_and_is_hardened_without_losing_the_handoff() {
    let unit = std::fs::read_to_string(UNIT).unwrap();
    for line in [
        "Type=notify",
        "NotifyAccess=main",
        "KillMode=mixed",
        "User=baton",
        "Group=baton",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "StateDirectory=baton",
        "RuntimeDirectory=baton",
        "ConfigurationDirectory=baton",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_NET_RAW",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_NET_RAW",
    ] {
        assert!(unit.lines().any(|l| l == line), "{UNIT} lacks {line}");
    }
    // The speaker binary is executed again at every upgrade: nothing may forbid that.
    for forbidden in [
        "NoExecPaths",
        "ExecPaths",
        "SystemCallFilter",
        "ReadOnlyPaths",
    ] {
        assert!(!unit.contains(forbidden), "{UNIT} sets {forbidden}");
    }
    // ExecReload is batonctl, which waits for the outcome and exits non-zero on failure (not
    // a signal, which returns at once).
    assert!(unit_value(&unit, "ExecReload").starts_with("/usr/bin/batonctl --socket "));
}

#[test]
fn the_packaged_config_is_valid_and_names_the_units_directories() {
    let config = baton::config::load(Path::new(CONFIG)).unwrap_or_else(|e| panic!("{e}"));
    let unit = std::fs::read_to_string(UNIT).unwrap();
    let global = &config.global;
    // systemd creates /var/lib/NAME and /run/NAME, owned by User=, writable under
    // ProtectSystem=strict; nothing else is writable.
    let state = format!("/var/lib/{}", unit_value(&unit, "StateDirectory"));
    let runtime = format!("/run/{}", unit_value(&unit, "RuntimeDirectory"));
    assert_eq!(global.state_dir, PathBuf::from(&state));
    assert_eq!(global.control_socket.parent(), Some(Path::new(&runtime)));
    let socket = global.control_socket.display().to_string();
    assert_eq!(
        unit_value(&unit, "ExecReload"),
        format!("/usr/bin/batonctl --socket {socket} reload")
    );
    assert_eq!(
        unit_value(&unit, "ExecStart"),
        format!("/usr/sbin/batond --config /etc/baton/{}", "baton.toml")
    );
    let hook = std::fs::read_to_string(HOOK).unwrap();
    assert!(
        hook.lines().any(|l| l == format!("SOCKET={socket}")),
        "{HOOK} does not use {socket}"
    );
    // The FILES section of the man pages says the same.
    for path in [state.as_str(), socket.as_str(), "/etc/baton/baton.toml"] {
        assert!(
            baton::manual::PACKAGED_FILES
                .iter()
                .any(|(p, _)| *p == path),
            "{path} missing from baton::manual::PACKAGED_FILES"
        );
    }
    // No API listening by default: batonctl needs none.
    assert!(config.api.is_none(), "the packaged config turns the API on");
}

#[test]
fn the_man_pages_render_and_the_completion_scripts_parse() {
    let dir = tempfile::tempdir().unwrap();
    let manpath = manpath(dir.path());
    for (name, binary) in BINARIES {
        let page = manpath.join("man8").join(format!("{name}.8"));
        let out = run(
            "man",
            &["--warnings", "-l", page.to_str().unwrap()],
            &[("MANWIDTH", Path::new("100"))],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "man -l {name}.8: {warnings}");
        assert!(warnings.trim().is_empty(), "man -l {name}.8: {warnings}");
        for section in [
            "NAME", "SYNOPSIS", "OPTIONS", "COMMANDS", "FILES", "SEE ALSO",
        ] {
            assert!(
                text.lines().any(|l| l == section),
                "{name}.8 has no {section}:\n{text}"
            );
        }
        let bash = dir.path().join(format!("{name}.bash"));
        std::fs::write(&bash, generated(binary, "bash")).unwrap();
        let out = run("bash", &["-n", bash.to_str().unwrap()], &[]);
        assert!(
            out.status.success(),
            "{name}'s bash completion: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for shell in ["zsh", "fish"] {
            let script = String::from_utf8(generated(binary, shell)).unwrap();
            assert!(script.contains(name), "{name}'s {shell} completion");
        }
    }
    // Every batonctl command is in its page (`batonctl --help` lists the same).
    let page = String::from_utf8(generated(env!("CARGO_BIN_EXE_batonctl"), "man")).unwrap();
    for command in ["neighbor add", "route add", "reload", "status", "upgrade"] {
        assert!(
            page.contains(&format!("batonctl {command}")),
            "batonctl.8 lacks {command}"
        );
    }
}

#[test]
fn an_unknown_generation_request_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_batonctl"))
        .env("BATON_GENERATE", "tcsh")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BATON_GENERATE=tcsh"));
}

#[test]
fn the_maintainer_scripts_parse_and_never_restart_baton() {
    let scripts = [
        HOOK,
        "packaging/deb/postinst",
        "packaging/deb/prerm",
        "packaging/deb/postrm",
        "packaging/rpm/post_install.sh",
        "packaging/rpm/pre_uninstall.sh",
        "packaging/rpm/post_uninstall.sh",
    ];
    for script in scripts {
        let out = run("sh", &["-n", script], &[]);
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(script).unwrap();
        let code = text.lines().filter(|l| !l.trim_start().starts_with('#'));
        for line in code {
            assert!(!line.contains("restart"), "{script} restarts baton: {line}");
        }
    }
    // cargo-deb's systemd-units would add scripts that stop baton before an upgrade and
    // restart it after: the packages use their own (the hook) instead.
    let manifest = std::fs::read_to_string("Cargo.toml").unwrap();
    assert!(!manifest.contains("systemd-units"));
    let hook = std::fs::read_to_string(HOOK).unwrap();
    assert!(hook.contains("systemctl reload \"$UNIT\""));
    assert!(hook.contains("\"$BATONCTL\" --socket \"$SOCKET\" reload"));
}
