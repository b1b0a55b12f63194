//! Output snapshots: plain text files under `tests/snapshots/<set>/` that a test's output must
//! equal, byte for byte. Run the tests with `BATON_UPDATE_SNAPSHOTS=1` to write them instead
//! (then review the diff in git).
//!
//! A [`Snapshots`] collects every mismatch and reports them all at [`Snapshots::finish`], which
//! also refuses files of the set that no check named (a command renamed or dropped), so the
//! directory always says exactly what the commands print.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

/// Set to `1` to write the snapshots instead of comparing with them.
pub const UPDATE_ENV: &str = "BATON_UPDATE_SNAPSHOTS";

/// One directory of snapshots, checked by one test.
pub struct Snapshots {
    dir: PathBuf,
    update: bool,
    checked: BTreeSet<String>,
    failures: Vec<String>,
}

impl Snapshots {
    /// The snapshots in `tests/snapshots/<set>/`.
    pub fn new(set: &str) -> Snapshots {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots")
            .join(set);
        let update = std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1");
        if update {
            fs::create_dir_all(&dir).expect("create the snapshot directory");
        }
        Snapshots {
            dir,
            update,
            checked: BTreeSet::new(),
            failures: Vec::new(),
        }
    }

    /// `actual` must equal the file `name` of the set (written instead when updating).
    pub fn check(&mut self, name: &str, actual: &str) {
        assert!(
            self.checked.insert(name.to_string()),
            "snapshot {name} checked twice"
        );
        let path = self.dir.join(name);
        let expected = fs::read_to_string(&path).ok();
        if expected.as_deref() == Some(actual) {
            return;
        }
        if self.update {
            fs::write(&path, actual).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            eprintln!("updated snapshot {}", path.display());
            return;
        }
        self.failures.push(match expected {
            None => format!("{name}: no snapshot yet; it would be:\n{actual}"),
            Some(expected) => format!("{name} differs:\n{}", diff(&expected, actual)),
        });
    }

    /// Panic with every mismatch, and with the files no check named (deleted when updating).
    pub fn finish(mut self) {
        let mut stale = Vec::new();
        for entry in fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !self.checked.contains(&name) {
                if self.update {
                    let _ = fs::remove_file(entry.path());
                } else {
                    stale.push(name);
                }
            }
        }
        if !stale.is_empty() {
            self.failures.push(format!(
                "snapshots no check names (remove them, or run with {UPDATE_ENV}=1): {}",
                stale.join(", ")
            ));
        }
        assert!(
            self.failures.is_empty(),
            "{} snapshot problem(s) in {} (run with {UPDATE_ENV}=1 to accept the new output):\n\n{}",
            self.failures.len(),
            self.dir.display(),
            self.failures.join("\n")
        );
    }
}

/// The lines that differ (a longest-common-subsequence line diff): `-` expected, `+` actual,
/// each with its line number in its file.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    // common[i][j]: the longest common subsequence of e[i..] and a[j..].
    let mut common = vec![vec![0usize; a.len() + 1]; e.len() + 1];
    for i in (0..e.len()).rev() {
        for j in (0..a.len()).rev() {
            common[i][j] = if e[i] == a[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < e.len() || j < a.len() {
        if i < e.len() && j < a.len() && e[i] == a[j] {
            (i, j) = (i + 1, j + 1);
        } else if i < e.len() && (j == a.len() || common[i + 1][j] >= common[i][j + 1]) {
            out += &format!("{:>4} - {}\n", i + 1, e[i]);
            i += 1;
        } else {
            out += &format!("{:>4} + {}\n", j + 1, a[j]);
            j += 1;
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out += "  (the final newline differs)\n";
    }
    out
}
