//! `[global] routes_file`: a large static route set in a compact file of its own, one route per
//! line in the words `batonctl route add` takes:
//!
//! ```text
//! # prefix       attributes (all optional)
//! 198.51.100.0/24 nexthop 198.18.0.1 community 65001:100,no-export med 10
//! 2001:db8:100::/48 large-community 65001:1:1 local-pref 200 prepend 2
//! ```
//!
//! Why not `[[route]]` tables: a full table in TOML costs a generic value tree, then typed
//! structs, seconds of parsing and hundreds of MiB at a million routes. Here a buffered reader
//! takes one line at a time into one reused buffer and parses each word straight into the route
//! (no intermediate tree), so a million lines take a fraction of a second.
//!
//! Errors name the file, line and column of the offending word, like the TOML's, and nothing is
//! applied: the whole configuration is refused.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

use super::error::{ConfigError, Position};
use super::schema::Route;
use super::validate::check_route;
use super::FieldPath;
use crate::wire::{Community, LargeCommunity, Prefix};

/// The most extra copies of our AS a route may ask to prepend.
pub const MAX_PREPEND: u8 = 10;

/// A word that is not a valid route: the word's index on the line (0 is the prefix), the
/// attribute it belongs to, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordError {
    /// Index of the offending word.
    pub word: usize,
    /// The attribute (`prefix`, `med`, ...).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn error(word: usize, field: &'static str, message: impl Into<String>) -> WordError {
    WordError {
        word,
        field,
        message: message.into(),
    }
}

/// Build a route from its prefix and `keyword value` pairs (communities may repeat or be
/// comma-separated), with the checks a `[[route]]` table gets.
pub fn route_from_words(words: &[&str]) -> Result<Route, WordError> {
    let Some(prefix) = words.first() else {
        return Err(error(0, "prefix", "the line has no prefix"));
    };
    let prefix = prefix
        .parse::<Prefix>()
        .map_err(|e| error(0, "prefix", e.to_string()))?;
    let mut route = Route::new(prefix);
    let mut i = 1;
    while i < words.len() {
        let key = words[i];
        let value = *words
            .get(i + 1)
            .ok_or_else(|| error(i, "attribute", format!("`{key}` needs a value")))?;
        let at = i + 1;
        match key {
            "nexthop" | "next-hop" => {
                route.next_hop = Some(value.parse().map_err(|_| {
                    error(at, "next_hop", format!("`{value}` is not an IP address"))
                })?)
            }
            "community" => {
                for c in value.split(',') {
                    let c = c
                        .parse::<Community>()
                        .map_err(|e| error(at, "communities", e.to_string()))?;
                    route.communities.push(c);
                }
            }
            "large-community" => {
                for c in value.split(',') {
                    let c = c
                        .parse::<LargeCommunity>()
                        .map_err(|e| error(at, "large_communities", e.to_string()))?;
                    route.large_communities.push(c);
                }
            }
            "med" => route.med = Some(number(at, "med", value)?),
            "local-pref" => route.local_pref = Some(number(at, "local_pref", value)?),
            "prepend" => {
                let n = number(at, "as_path_prepend", value)?;
                route.as_path_prepend = u8::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_PREPEND)
                    .ok_or_else(|| {
                        error(
                            at,
                            "as_path_prepend",
                            format!("{n} prepends is too many (at most {MAX_PREPEND})"),
                        )
                    })?;
            }
            other => {
                return Err(error(
                    i,
                    "attribute",
                    format!(
                        "unknown attribute `{other}` (expected nexthop, community, \
                         large-community, med, local-pref, prepend)"
                    ),
                ))
            }
        }
        i += 2;
    }
    // The one check across attributes: the next hop's family.
    check_route(&route, FieldPath::default()).map_err(|(_, message)| {
        let key = words
            .iter()
            .position(|w| *w == "nexthop" || *w == "next-hop");
        error(key.map_or(0, |k| k + 1), "next_hop", message)
    })?;
    Ok(route)
}

fn number(word: usize, field: &'static str, value: &str) -> Result<u32, WordError> {
    value.parse().map_err(|_| {
        error(
            word,
            field,
            format!("`{value}` is not a number 0..=4294967295"),
        )
    })
}

/// Read the routes file at `path`; every prefix at most once, and none of those in `taken`
/// (the `[[route]]` tables).
pub fn read(path: &Path, taken: &HashSet<Prefix>) -> Result<Vec<Route>, ConfigError> {
    let file_name = path.display().to_string();
    let io = |source| ConfigError::Io {
        file: file_name.clone(),
        source,
    };
    // A first pass counts the lines, so that the routes are allocated once, at their size:
    // growing a vector of a million routes would hold two copies at its last doubling.
    let lines = count_lines(open(path).map_err(io)?).map_err(io)?;
    parse(open(path).map_err(io)?, &file_name, taken, lines)
}

/// Check the routes file at `path` as [`read`] does, keeping none of its routes: the
/// supervisor validates what a speaker will read without holding a copy of the table (only the
/// set of prefixes, to find duplicates).
pub fn check(path: &Path, taken: &HashSet<Prefix>) -> Result<(), ConfigError> {
    let file_name = path.display().to_string();
    let reader = open(path).map_err(|source| ConfigError::Io {
        file: file_name.clone(),
        source,
    })?;
    visit(reader, &file_name, taken, 0, |_| {})
}

fn open(path: &Path) -> std::io::Result<std::io::BufReader<std::fs::File>> {
    std::fs::File::open(path).map(|f| std::io::BufReader::with_capacity(1 << 20, f))
}

fn count_lines(mut reader: impl BufRead) -> std::io::Result<usize> {
    let mut lines = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(lines);
        }
        lines += buf.iter().filter(|b| **b == b'\n').count();
        let n = buf.len();
        reader.consume(n);
    }
}

/// [`read`] over any reader; `file_name` names it in errors, `lines` (a hint) sizes the result.
pub fn parse(
    reader: impl BufRead,
    file_name: &str,
    taken: &HashSet<Prefix>,
    lines: usize,
) -> Result<Vec<Route>, ConfigError> {
    let mut routes = Vec::with_capacity(lines);
    visit(reader, file_name, taken, lines, |r| routes.push(r))?;
    Ok(routes)
}

/// Parse every line of `reader`, handing each valid route to `each`; the first bad line is the
/// error. `lines` (a hint) sizes the duplicate check.
fn visit(
    mut reader: impl BufRead,
    file_name: &str,
    taken: &HashSet<Prefix>,
    lines: usize,
    mut each: impl FnMut(Route),
) -> Result<(), ConfigError> {
    // foldhash: a million inserts with std's SipHash were a fifth of the load.
    let mut seen: foldhash::HashSet<Prefix> =
        foldhash::HashSet::with_capacity_and_hasher(lines, Default::default());
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|source| ConfigError::Io {
                file: file_name.to_string(),
                source,
            })?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let text = line.split('#').next().unwrap_or_default();
        let ws: Vec<&str> = text.split_ascii_whitespace().collect();
        if ws.is_empty() {
            continue;
        }
        let invalid = |word: usize, field: &str, message: String| ConfigError::Invalid {
            file: file_name.to_string(),
            position: Some(Position {
                line: number,
                column: column_of(&line, ws.get(word).copied()),
            }),
            field: Some(field.to_string()),
            message,
        };
        let route = route_from_words(&ws).map_err(|e| invalid(e.word, e.field, e.message))?;
        if !taken.is_empty() && taken.contains(&route.prefix) {
            let message = format!("{} is also originated by a [[route]] table", route.prefix);
            return Err(invalid(0, "prefix", message));
        }
        if !seen.insert(route.prefix) {
            let message = format!("{} is listed twice", route.prefix);
            return Err(invalid(0, "prefix", message));
        }
        each(route);
    }
}

/// The 1-based column (in characters) where `word`, a slice of `line`, starts.
fn column_of(line: &str, word: Option<&str>) -> usize {
    let offset = word.map_or(0, |w| w.as_ptr() as usize - line.as_ptr() as usize);
    line[..offset].chars().count() + 1
}

#[cfg(test)]
mod tests;
