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
//! structs, seconds of parsing and hundreds of MiB at a million routes. Here each line is parsed
//! where it lies in the reader's buffer, word by word straight into the route (no intermediate
//! tree, no allocation per line but the route's), so a million lines take about 0.2 s.
//!
//! Errors name the file, line and column of the offending word, like the TOML's, and nothing is
//! applied: the whole configuration is refused.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

use smallvec::SmallVec;

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
    reader: impl BufRead,
    file_name: &str,
    taken: &HashSet<Prefix>,
    lines: usize,
    mut each: impl FnMut(Route),
) -> Result<(), ConfigError> {
    let mut seen = Seen::new(lines);
    let mut number = 0;
    let io = |source| ConfigError::Io {
        file: file_name.to_string(),
        source,
    };
    for_each_line(reader, io, |bytes| {
        number += 1;
        let invalid = |column: usize, field: Option<&str>, message: String| ConfigError::Invalid {
            file: file_name.to_string(),
            position: Some(Position {
                line: number,
                column,
            }),
            field: field.map(str::to_string),
            message,
        };
        let line = std::str::from_utf8(bytes).map_err(|e| {
            let column = column_of_byte(bytes, e.valid_up_to());
            invalid(column, None, "the line is not valid UTF-8".to_string())
        })?;
        let text = line.split('#').next().unwrap_or_default();
        // The words of a line on the stack: no allocation per line but the route's own.
        let ws: SmallVec<[&str; 16]> = text.split_ascii_whitespace().collect();
        if ws.is_empty() {
            return Ok(());
        }
        let at = |word: usize| column_of(line, ws.get(word).copied());
        let route =
            route_from_words(&ws).map_err(|e| invalid(at(e.word), Some(e.field), e.message))?;
        if !taken.is_empty() && taken.contains(&route.prefix) {
            let message = format!("{} is also originated by a [[route]] table", route.prefix);
            return Err(invalid(at(0), Some("prefix"), message));
        }
        if !seen.insert(route.prefix) {
            let message = format!("{} is listed twice", route.prefix);
            return Err(invalid(at(0), Some("prefix"), message));
        }
        each(route);
        Ok(())
    })
}

/// The prefixes read so far, to refuse a second line for one. A file written in prefix order
/// (what a generator produces) cannot repeat one while each prefix is greater than the last,
/// so until the order breaks a line costs one comparison with the last prefix and a push onto
/// a vector (a million random inserts into a hash set were a quarter of the load). The first
/// line out of order builds the hash set from that vector.
struct Seen {
    sorted: Vec<Prefix>,
    set: Option<foldhash::HashSet<Prefix>>,
}

impl Seen {
    fn new(lines: usize) -> Seen {
        Seen {
            sorted: Vec::with_capacity(lines),
            set: None,
        }
    }

    /// False if `prefix` was seen before.
    fn insert(&mut self, prefix: Prefix) -> bool {
        if let Some(set) = &mut self.set {
            return set.insert(prefix);
        }
        if self.sorted.last().is_none_or(|last| *last < prefix) {
            self.sorted.push(prefix);
            return true;
        }
        let mut set: foldhash::HashSet<Prefix> =
            std::mem::take(&mut self.sorted).into_iter().collect();
        let new = set.insert(prefix);
        self.set = Some(set);
        new
    }
}

/// Hand `line` every line of `reader` (with its newline, if it has one) straight from the
/// reader's buffer; only a line split across two reads is copied.
fn for_each_line<E>(
    mut reader: impl BufRead,
    io: impl Fn(std::io::Error) -> E,
    mut line: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut carry = Vec::new();
    loop {
        let buf = reader.fill_buf().map_err(&io)?;
        if buf.is_empty() {
            return if carry.is_empty() {
                Ok(())
            } else {
                line(&carry)
            };
        }
        let read = buf.len();
        let mut rest = buf;
        if !carry.is_empty() {
            let Some(end) = rest.iter().position(|b| *b == b'\n') else {
                carry.extend_from_slice(rest);
                reader.consume(read);
                continue;
            };
            carry.extend_from_slice(&rest[..=end]);
            line(&carry)?;
            carry.clear();
            rest = &rest[end + 1..];
        }
        let whole = rest.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        for l in rest[..whole].split_inclusive(|b| *b == b'\n') {
            line(l)?;
        }
        carry.extend_from_slice(&rest[whole..]);
        reader.consume(read);
    }
}

/// The 1-based column (in characters) of the byte at `offset`, all valid UTF-8 before it.
fn column_of_byte(bytes: &[u8], offset: usize) -> usize {
    String::from_utf8_lossy(&bytes[..offset]).chars().count() + 1
}

/// The 1-based column (in characters) where `word`, a slice of `line`, starts.
fn column_of(line: &str, word: Option<&str>) -> usize {
    let offset = word.map_or(0, |w| w.as_ptr() as usize - line.as_ptr() as usize);
    line[..offset].chars().count() + 1
}

#[cfg(test)]
mod tests;
