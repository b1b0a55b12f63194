//! What build is running: the package version and a fingerprint of the executable's bytes.
//!
//! After an upgrade the operator wants to see that the new binary really runs. Two builds of the
//! same package version differ in their fingerprint, so `batonctl status` tells them apart.

use std::io::Read;
use std::path::Path;

/// Cargo's package version, e.g. `0.1.0`.
pub const PACKAGE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version a binary is built as: `BATON_VERSION` at build time, else Cargo's.
/// `bin/package --version X` builds packages whose binaries say X, so two packages of the same
/// code are still two builds that an upgrade tells apart. A macro, so that the variable is read
/// where the binary's `main` is compiled: another version recompiles the two small mains, not
/// this library. Each binary hands it to [`set_build`] first thing.
#[macro_export]
macro_rules! build_version {
    () => {
        match option_env!("BATON_VERSION") {
            Some(v) => v,
            None => $crate::version::PACKAGE_VERSION,
        }
    };
}

static BUILD: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Sets the version this binary was built as ([`build_version!`]); the first call wins.
pub fn set_build(version: &'static str) {
    let _ = BUILD.set(version);
}

/// The version this binary was built as: what `main` set, else Cargo's.
pub fn build() -> &'static str {
    BUILD.get().copied().unwrap_or(PACKAGE_VERSION)
}

/// `0.1.0+b3c4d5e6`: this build's version and a 32-bit fingerprint of the file at `exe`.
pub fn describe(exe: &Path) -> String {
    match fingerprint(exe) {
        Ok(f) => format!("{}+{f:08x}", build()),
        Err(_) => build().to_string(),
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
    // CRC-32 (crc32fast, carry-less multiplication where the CPU has it): the same bytes give
    // the same fingerprint on every build, at several GB/s. Every speaker and supervisor
    // computes it at its start, so it is on the path of every upgrade: SipHash, used before,
    // took a fifth of a speaker's start-up instructions for a 100 MB unstripped binary.
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize())
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
