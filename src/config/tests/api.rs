//! `[api]` access: the token file's permissions, the token required beyond loopback, the rate
//! limit's keys; and a reload that would expose the API without a token.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

/// Write `text` to `path`, readable by its owner only, as a token file must be.
pub(super) fn write_secret(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn api_toml(listen: &str, token_file: Option<&Path>) -> String {
    let mut text = format!("{GLOBAL}[api]\nlisten = \"{listen}\"\n");
    if let Some(file) = token_file {
        text += &format!("token_file = {:?}\n", file.display().to_string());
    }
    text
}

#[test]
fn a_token_file_its_group_or_others_can_access_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    write_secret(&file, "s3cret\n");
    for mode in [0o640, 0o604, 0o660, 0o601] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = parse(&api_toml("127.0.0.1:8179", Some(&file)), "baton.toml").unwrap_err();
        assert_eq!(err.field(), Some("api.token_file"), "{err}");
        assert_eq!(err.position().map(|p| p.line), Some(7), "{err}");
        let text = err.to_string();
        assert!(text.contains(&format!("has mode {mode:04o}")), "{text}");
        assert!(text.contains("chmod 600"), "{text}");
    }
    for mode in [0o600, 0o400] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let api = parse_ok(&api_toml("127.0.0.1:8179", Some(&file)))
            .api
            .unwrap();
        assert_eq!(api.read_token(), Ok(Some("s3cret".to_string())));
    }
}

#[test]
fn an_api_beyond_loopback_needs_a_token() {
    for listen in [
        "198.18.0.1:8179",
        "0.0.0.0:8179",
        "[::]:8179",
        "[2001:db8::1]:8179",
    ] {
        let err = parse(&api_toml(listen, None), "baton.toml").unwrap_err();
        assert_eq!(err.field(), Some("api.listen"), "{listen}: {err}");
        assert_eq!(err.position().map(|p| p.line), Some(6), "{err}");
        let text = err.to_string();
        assert!(text.contains("not a loopback address"), "{text}");
        assert!(text.contains("[api] token_file"), "{text}");
    }
    for listen in [
        "127.0.0.1:8179",
        "127.3.2.1:8179",
        "[::1]:8179",
        "[::ffff:127.0.0.1]:8179",
    ] {
        let api = parse_ok(&api_toml(listen, None)).api.unwrap();
        assert!(!api.reachable_beyond_host(), "{listen}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    write_secret(&file, "s3cret\n");
    let api = parse_ok(&api_toml("198.18.0.1:8179", Some(&file)))
        .api
        .unwrap();
    assert!(api.reachable_beyond_host());
    // No listen: no API, nothing to protect.
    parse_ok(&format!("{GLOBAL}[api]\n"));
}

#[test]
fn a_reload_that_drops_the_token_of_an_api_beyond_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    write_secret(&token, "s3cret\n");
    let path = dir.path().join("baton.toml");
    let with_token = api_toml("198.18.0.1:8179", Some(&token));
    std::fs::write(&path, &with_token).unwrap();
    let running = load(&path).unwrap();
    std::fs::write(&path, api_toml("198.18.0.1:8179", None)).unwrap();
    let err = load_for_reload(&path, &running).unwrap_err();
    assert_eq!(err.field(), Some("api.listen"), "{err}");
    assert!(err.to_string().contains("[api] token_file"), "{err}");
    // Nor may the token file become readable by others.
    std::fs::write(&path, &with_token).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = load_for_reload(&path, &running).unwrap_err();
    assert_eq!(err.field(), Some("api.token_file"), "{err}");
}

#[test]
fn the_rate_limit_and_its_burst() {
    let api = parse_ok(&format!("{GLOBAL}[api]\n")).api.unwrap();
    assert_eq!((api.rate_limit, api.burst()), (0, 0));
    let api = parse_ok(&format!("{GLOBAL}[api]\nrate_limit = 20\n"))
        .api
        .unwrap();
    assert_eq!((api.rate_limit, api.burst()), (20, 40));
    let api = parse_ok(&format!("{GLOBAL}[api]\nrate_limit = 20\nrate_burst = 5\n"))
        .api
        .unwrap();
    assert_eq!(api.burst(), 5);
    let err = parse(&format!("{GLOBAL}[api]\nrate_burst = 5\n"), "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("api.rate_burst"), "{err}");
    let err = parse(
        &format!("{GLOBAL}[api]\nrate_limit = 2000000\n"),
        "baton.toml",
    )
    .unwrap_err();
    assert_eq!(err.field(), Some("api.rate_limit"), "{err}");
    assert!(
        err.to_string().contains("out of range 0..=1000000"),
        "{err}"
    );
}

/// A self-signed certificate and its key for `names`, written as PEM files in `dir`.
pub(crate) fn self_signed(dir: &Path, names: &[&str]) -> (std::path::PathBuf, std::path::PathBuf) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    let (cert, key) = (dir.join("api.crt"), dir.join("api.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    write_secret(&key, &certified.key_pair.serialize_pem());
    (cert, key)
}

#[test]
fn tls_needs_a_readable_certificate_and_its_key_at_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), &["localhost", "127.0.0.1"]);
    let with = |cert: &Path, key: &Path| {
        format!(
            "{GLOBAL}[api]\nlisten = \"127.0.0.1:8179\"\ntls_cert = {:?}\ntls_key = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        )
    };
    let api = parse_ok(&with(&cert, &key)).api.unwrap();
    assert!(api.tls_config().unwrap().is_some());
    assert!(Api::default().tls_config().unwrap().is_none());

    let missing = dir.path().join("missing.pem");
    let err = parse(&with(&missing, &key), "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("api.tls_cert"), "{err}");
    assert_eq!(err.position().map(|p| p.line), Some(7), "{err}");
    assert!(
        err.to_string().contains("cannot read the certificate file"),
        "{err}"
    );
    let err = parse(&with(&cert, &missing), "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("api.tls_key"), "{err}");
    assert_eq!(err.position().map(|p| p.line), Some(8), "{err}");
    // The files swapped: no certificate in the key file, no key in the certificate file.
    let err = parse(&with(&key, &cert), "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("api.tls_cert"), "{err}");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    // A key of another certificate.
    let other = tempfile::tempdir().unwrap();
    let (_, other_key) = self_signed(other.path(), &["localhost"]);
    let err = parse(&with(&cert, &other_key), "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("api.tls_key"), "{err}");

    // One without the other.
    let only_cert = format!(
        "{GLOBAL}[api]\ntls_cert = {:?}\n",
        cert.display().to_string()
    );
    let err = parse(&only_cert, "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("api.tls_cert"), "{err}");
    assert!(err.to_string().contains("needs [api] tls_key"), "{err}");
    let only_key = format!("{GLOBAL}[api]\ntls_key = {:?}\n", key.display().to_string());
    let err = parse(&only_key, "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("api.tls_key"), "{err}");
}
