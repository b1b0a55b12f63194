//! What build is running: the package version and a fingerprint of the executable's bytes.
//!
//! After an upgrade the operator wants to see that the new binary really runs. Two builds of the
//! same package version differ in their fingerprint, so `batonctl status` tells them apart.

use std::hash::Hasher;
use std::io::Read;
use std::path::Path;

/// The package version, e.g. `0.1.0`: Cargo's, or `BATON_VERSION` when set at build time
/// (`bin/package --version X` builds packages whose binaries say X, so two packages built from
/// the same code are still two builds that an upgrade can tell apart).
pub const PACKAGE_VERSION: &str = match option_env!("BATON_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

/// `0.1.0+b3c4d5e6`: the package version and a 32-bit fingerprint of the file at `exe`.
pub fn describe(exe: &Path) -> String {
    match fingerprint(exe) {
        Ok(f) => format!("{PACKAGE_VERSION}+{f:08x}"),
        Err(_) => PACKAGE_VERSION.to_string(),
    }
}

/// The running executable's version (read once through `/proc/self/exe`, which names the
/// inode this process runs even after the file was replaced).
pub fn current() -> String {
    static CURRENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CURRENT
        .get_or_init(|| describe(Path::new("/proc/self/exe")))
        .clone()
}

fn fingerprint(path: &Path) -> std::io::Result<u32> {
    let mut file = std::fs::File::open(path)?;
    // SipHash with fixed keys (std's DefaultHasher::new): the same bytes give the same
    // fingerprint for a given toolchain, and it runs at memory speed even in debug builds.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.write(&buf[..n]);
    }
    let h = hasher.finish();
    Ok((h ^ (h >> 32)) as u32)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_different_files_have_different_versions_and_one_file_a_stable_one() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"one build").unwrap();
        std::fs::write(&b, b"another build").unwrap();
        assert_ne!(describe(&a), describe(&b));
        assert_eq!(describe(&a), describe(&a));
        assert!(describe(&a).starts_with(PACKAGE_VERSION));
    }
}
