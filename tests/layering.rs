//! The module structure holds: no import circles among the files of `src/`, and the
//! dependencies that must point one way do (`docs/architecture.md`, "The layers").
//!
//! The check reads the source text, not the compiler's view: every `use` statement (braces
//! expanded) and every `crate::…` / `super::…` path in a file is resolved to the file that
//! defines the module it names. A child module using its own ancestors' items does not count
//! (that is what a child is for); sibling files that import each other, directly or around a
//! longer loop, do. An inline `#[cfg(test)] mod tests { … }` at the end of a file is left out:
//! test code is not part of the structure.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path below `crate`, e.g. `["speaker", "peer"]`.
type ModPath = Vec<String>;

/// Every library source file by its module path (binaries are separate crates).
fn modules(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            let rel = path.strip_prefix(src).expect("below src").to_path_buf();
            if rel.starts_with("bin") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let mut segs: ModPath = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if segs.last().is_some_and(|s| s == "mod" || s == "lib") {
                segs.pop();
            }
            out.insert(segs, path);
        }
    }
    out
}

/// The text of `use` statements, with braces expanded into one path per leaf.
fn expand_use(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = format!("{prefix}{}", &tree[..open]);
        let close = tree.rfind('}').filter(|c| *c > open).unwrap_or(tree.len());
        let body = &tree[open + 1..close];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_use(&body[start..i], &head, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand_use(&body[start..], &head, out);
    } else if !tree.is_empty() {
        out.push(format!("{prefix}{tree}"));
    }
}

/// Every path a file names: its `use` statements and inline `crate::`/`super::` paths.
fn named_paths(text: &str) -> Vec<String> {
    // Drop comments so that doc examples do not count, and an inline test module: tests may
    // use whatever helps them, and are not part of the structure.
    let mut code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(at) = code.find("#[cfg(test)]\nmod tests {") {
        code.truncate(at);
    }
    let mut out = Vec::new();
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        let t = t.strip_prefix("pub ").unwrap_or(t);
        let t = match t.strip_prefix("pub(") {
            Some(rest) => rest.split_once(") ").map_or(t, |(_, r)| r),
            None => t,
        };
        let Some(mut stmt) = t.strip_prefix("use ").map(str::to_string) else {
            continue;
        };
        while !stmt.contains(';') {
            match lines.next() {
                Some(more) => stmt.push_str(more),
                None => break,
            }
        }
        let stmt: String = stmt
            .split(';')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        expand_use(&stmt, "", &mut out);
    }
    for key in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(key) {
            let start = from + at;
            let path: String = code[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path);
            from = start + key.len();
        }
    }
    out
}

/// The module a path names, relative to the module `here`, if it is one of ours.
fn resolve(path: &str, here: &ModPath, mods: &BTreeMap<ModPath, PathBuf>) -> Option<ModPath> {
    let segs: Vec<&str> = path
        .split("::")
        .map(|s| s.split(" as ").next().unwrap_or(s).trim())
        .filter(|s| !s.is_empty() && *s != "*")
        .collect();
    let (mut base, rest): (ModPath, &[&str]) = match segs.first()? {
        &"crate" => (Vec::new(), &segs[1..]),
        &"self" => (here.clone(), &segs[1..]),
        &"super" => {
            let mut base = here.clone();
            let mut i = 0;
            while segs.get(i) == Some(&"super") {
                base.pop();
                i += 1;
            }
            (base, &segs[i..])
        }
        first => {
            let mut local = here.clone();
            local.push(first.to_string());
            if !mods.contains_key(&local) {
                return None; // an external crate or an item, not a module of ours
            }
            (here.clone(), &segs[..])
        }
    };
    let mut best = base.clone();
    for seg in rest {
        base.push(seg.to_string());
        if mods.contains_key(&base) {
            best = base.clone();
        } else {
            break;
        }
    }
    Some(best)
}

/// The import graph among files: an edge for each module another file names, child-to-ancestor
/// edges left out.
fn graph() -> (
    BTreeMap<ModPath, PathBuf>,
    BTreeMap<ModPath, BTreeSet<ModPath>>,
) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (here, file) in &mods {
        let text = fs::read_to_string(file).expect("read source");
        let targets = edges.entry(here.clone()).or_default();
        for path in named_paths(&text) {
            if let Some(to) = resolve(&path, here, &mods) {
                let is_ancestor = here.starts_with(&to);
                if !is_ancestor {
                    targets.insert(to);
                }
            }
        }
    }
    (mods, edges)
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<ModPath, usize>,
        low: BTreeMap<ModPath, usize>,
        stack: Vec<ModPath>,
        on_stack: BTreeSet<ModPath>,
        found: Vec<Vec<ModPath>>,
    }
    impl Walk<'_> {
        fn visit(&mut self, v: &ModPath) {
            let i = self.index.len();
            self.index.insert(v.clone(), i);
            self.low.insert(v.clone(), i);
            self.stack.push(v.clone());
            self.on_stack.insert(v.clone());
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut scc = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(&w);
                    let done = &w == v;
                    scc.push(w);
                    if done {
                        break;
                    }
                }
                if scc.len() > 1 {
                    scc.sort();
                    self.found.push(scc);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_import_circles_among_source_files() {
    let (_, edges) = graph();
    let found = circles(&edges);
    let text: Vec<String> = found
        .iter()
        .map(|scc| scc.iter().map(name).collect::<Vec<_>>().join(" <-> "))
        .collect();
    assert!(text.is_empty(), "import circles:\n  {}", text.join("\n  "));
}

/// Modules under `from` that name anything under `to`.
fn imports_between(from: &str, to: &str) -> Vec<String> {
    let (_, edges) = graph();
    let mut bad = Vec::new();
    for (here, targets) in &edges {
        if here.first().map(String::as_str) != Some(from) {
            continue;
        }
        for t in targets {
            if t.first().map(String::as_str) == Some(to) {
                bad.push(format!("{} -> {}", name(here), name(t)));
            }
        }
    }
    bad
}

#[test]
fn the_supervisor_does_not_import_the_speaker() {
    let bad = imports_between("supervisor", "speaker");
    assert!(
        bad.is_empty(),
        "supervisor imports speaker:\n  {}",
        bad.join("\n  ")
    );
}

#[test]
fn the_rib_does_not_import_the_store() {
    let bad = imports_between("rib", "store");
    assert!(bad.is_empty(), "rib imports store:\n  {}", bad.join("\n  "));
}

#[test]
fn the_wire_codec_imports_no_other_module() {
    let (_, edges) = graph();
    let bad: Vec<String> = edges
        .iter()
        .filter(|(here, _)| here.first().map(String::as_str) == Some("wire"))
        .flat_map(|(here, ts)| {
            ts.iter()
                .filter(|t| t.first().map(String::as_str) != Some("wire"))
                .map(move |t| format!("{} -> {}", name(here), name(t)))
        })
        .collect();
    assert!(bad.is_empty(), "wire imports:\n  {}", bad.join("\n  "));
}
