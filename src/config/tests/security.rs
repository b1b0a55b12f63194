//! Session security keys of a peer: TCP-MD5 password (never shown), GTSM, max-prefix; every
//! refused value named at its line, and a secret readable by others refused.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::config::{MaxPrefixes, MaxPrefixesAction};

#[test]
fn security_keys_parse_with_their_defaults() {
    let config = parse_ok(&format!("{GLOBAL}{PEER}"));
    let p = &config.peers[0];
    assert_eq!((p.password.as_ref(), p.ttl_security), (None, 0));
    assert_eq!(p.max_prefixes, None);
    assert_eq!(p.max_prefixes_warning, 75);
    assert_eq!(p.max_prefixes_action, MaxPrefixesAction::Cease);

    let text = format!(
        "{GLOBAL}{PEER}password = \"s3cret\"\nttl_security = true\nmax_prefixes = 1000\n\
         max_prefixes_warning = 90\nmax_prefixes_action = \"warn\"\n\
         max_prefixes_restart_after = 60\n"
    );
    let p = parse_ok(&text).peers.remove(0);
    assert_eq!(p.md5_password().unwrap().unwrap().as_bytes(), b"s3cret");
    assert_eq!(p.ttl_security, 1);
    assert_eq!(p.max_prefixes, Some(MaxPrefixes::All(1000)));
    assert_eq!(
        p.max_prefixes.unwrap().limit(Family::IPV6_UNICAST),
        Some(1000)
    );
    assert_eq!(
        (
            p.max_prefixes_warning,
            p.max_prefixes_action,
            p.max_prefixes_restart_after
        ),
        (90, MaxPrefixesAction::Warn, Some(60))
    );

    let text = format!(
        "{GLOBAL}{PEER}families = [\"ipv4-unicast\", \"ipv6-unicast\"]\nttl_security = 3\n\
         max_prefixes = {{ ipv6-unicast = 20 }}\n"
    );
    let p = parse_ok(&text).peers.remove(0);
    assert_eq!(p.ttl_security, 3);
    let limits = p.max_prefixes.unwrap();
    assert_eq!(limits.limit(Family::IPV6_UNICAST), Some(20));
    assert_eq!(limits.limit(Family::IPV4_UNICAST), None);
}

#[test]
fn the_password_is_never_written_out() {
    let text = format!("{GLOBAL}{PEER}password = \"hunter2-secret\"\n");
    let config = parse_ok(&text);
    let shown = [
        format!("{config:?}"),
        format!("{config:#?}"),
        toml::to_string(&config).unwrap(),
        serde_json::to_string(&config).unwrap(),
    ];
    for s in shown {
        assert!(!s.contains("hunter2"), "{s}");
    }
}

#[test]
fn a_password_file_is_read_and_must_be_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("md5.key");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"from-a-file\n")
        .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = format!("{GLOBAL}{PEER}password_file = \"{}\"\n", path.display());
    let p = parse_ok(&text).peers.remove(0);
    assert_eq!(
        p.md5_password().unwrap().unwrap().as_bytes(),
        b"from-a-file"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = parse(&text, "config/baton.toml").unwrap_err().to_string();
    assert!(
        err.starts_with("config/baton.toml:8:17: peer[0].password_file: the password file"),
        "{err}"
    );
    assert!(
        err.contains("readable by group or others (mode 0640)"),
        "{err}"
    );
}

#[test]
fn a_config_file_with_a_password_must_be_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.toml");
    let text = format!("{GLOBAL}{PEER}password = \"s3cret\"\n");
    std::fs::write(&path, &text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = load(&path).unwrap_err().to_string();
    assert!(
        err.contains(":8:12: peer[0].password: the configuration file"),
        "{err}"
    );
    assert!(err.contains("chmod 600"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(load(&path).is_ok());
    // Without a password, a readable file is fine.
    std::fs::write(&path, format!("{GLOBAL}{PEER}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(load(&path).is_ok());
}

#[test]
fn a_changed_password_resets_the_session() {
    let a = parse_ok(&format!("{GLOBAL}{PEER}password = \"one\"\n"));
    let b = parse_ok(&format!("{GLOBAL}{PEER}password = \"two\"\n"));
    let plan = Plan::between((&a, &a.peers, &a.routes), (&b, &b.peers, &b.routes));
    assert_eq!(plan.peers[0].changes, vec!["password".to_string()]);
    assert!(plan.peers[0].session_reset);
}

#[test]
fn a_peer_added_at_run_time_takes_a_password_file_not_a_password() {
    let mut peer = Peer::new(ip("198.18.0.9"), 65009);
    peer.password = Some(crate::config::Password::new("x").unwrap());
    let (field, message) = check_peer(&peer, Default::default()).unwrap_err();
    assert_eq!(field.to_string(), "password");
    assert!(message.contains("takes `password_file`"), "{message}");
}

/// The cases of [`super::every_mistake_names_file_line_and_field`] for the security keys.
#[rustfmt::skip]
pub(super) fn cases() -> Vec<Case> {
    let peer = |line: &str| format!("{GLOBAL}{PEER}{line}\n");
    let long = "x".repeat(81);
    vec![
        case("password empty", peer("password = \"\""), 8, Some("peer[0].password"), "the password is empty"),
        case("password too long", peer(&format!("password = \"{long}\"")), 8, Some("peer[0].password"), "81 bytes long; TCP-MD5 keys are at most 80"),
        case("password and file", peer("password = \"a\"\npassword_file = \"/nonexistent\""), 9, Some("peer[0].password_file"), "either password or password_file"),
        case("password file missing", peer("password_file = \"/nonexistent/md5\""), 8, Some("peer[0].password_file"), "cannot read the password file /nonexistent/md5"),
        case("ttl_security 0", peer("ttl_security = 0"), 8, Some("peer[0].ttl_security"), "0 is out of range 1..=254"),
        case("ttl_security 255", peer("ttl_security = 255"), 8, Some("peer[0].ttl_security"), "255 is out of range 1..=254"),
        case("ttl_security text", peer("ttl_security = \"yes\""), 8, Some("peer[0].ttl_security"), "true, false or a hop count"),
        case("max_prefixes 0", peer("max_prefixes = 0"), 8, Some("peer[0].max_prefixes"), "0 is out of range 1..=4294967295"),
        case("max_prefixes negative", peer("max_prefixes = -3"), 8, Some("peer[0].max_prefixes"), "out of range"),
        case("max_prefixes family", peer("max_prefixes = { ipv5 = 3 }"), 8, Some("peer[0].max_prefixes"), "\"ipv5\" is not an address family"),
        case("max_prefixes other family", peer("max_prefixes = { ipv6-unicast = 3 }"), 8, Some("peer[0].max_prefixes.ipv6-unicast"), "ipv6-unicast is not one of the peer's families"),
        case("max_prefixes empty table", peer("max_prefixes = {}"), 8, Some("peer[0].max_prefixes"), "the table is empty"),
        case("warning 0", peer("max_prefixes_warning = 0"), 8, Some("peer[0].max_prefixes_warning"), "0 is out of range 1..=100"),
        case("warning 101", peer("max_prefixes_warning = 101"), 8, Some("peer[0].max_prefixes_warning"), "101 is out of range 1..=100"),
        case("action", peer("max_prefixes_action = \"drop\""), 8, Some("peer[0].max_prefixes_action"), "unknown variant `drop`, expected `cease` or `warn`"),
        case("restart_after 0", peer("max_prefixes_restart_after = 0"), 8, Some("peer[0].max_prefixes_restart_after"), "0 is out of range 1..=86400"),
    ]
}
