//! Config errors that say where: file, line, column and the field's path (`peer[1].remote_as`).
//!
//! Two sources feed [`ConfigError::Invalid`]: the TOML deserializer (syntax errors and the value
//! checks of [`super::value`]), whose errors carry a byte span and, through
//! `serde_path_to_error`, the field path; and the cross-field checks of [`super::validate`],
//! which know the path and look the position up in a span-keeping parse of the same text.

use std::fmt;
use std::io;
use std::ops::Range;

/// A place in a config file: 1-based line, and 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text` (clamped to the text, rounded down to a char).
    pub fn of_offset(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a configuration was refused. `Display` is one line:
/// `config/baton.toml:12:13: peer[1].remote_as: AS 0 is not a valid AS number (RFC 7607)`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the configuration: {source}")]
    Io {
        /// The file, as the caller named it.
        file: String,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The text is not TOML, or not a valid configuration.
    #[error("{file}{}: {}{message}", at(.position), field_prefix(.field))]
    Invalid {
        /// The file, as the caller named it.
        file: String,
        /// Where in the file, when known.
        position: Option<Position>,
        /// The field's path, e.g. `peer[1].remote_as`; `None` for TOML syntax errors.
        field: Option<String>,
        /// What is wrong, in one line.
        message: String,
    },
}

fn at(position: &Option<Position>) -> String {
    position.map(|p| format!(":{p}")).unwrap_or_default()
}

fn field_prefix(field: &Option<String>) -> String {
    field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default()
}

impl ConfigError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            ConfigError::Io { file, .. } | ConfigError::Invalid { file, .. } => file,
        }
    }

    /// Where in the file, when known.
    pub fn position(&self) -> Option<Position> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Invalid { position, .. } => *position,
        }
    }

    /// The field's path (`peer[1].remote_as`), when the error is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Invalid { field, .. } => field.as_deref(),
        }
    }
}

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    /// A key of a table.
    Key(String),
    /// An element of an array or array of tables.
    Index(usize),
}

/// The path of a field from the top of the file, displayed as `peer[1].families[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The path of a top-level key.
    pub(crate) fn key(key: &str) -> FieldPath {
        FieldPath(vec![Segment::Key(key.to_string())])
    }

    /// This path followed by `key`.
    pub(crate) fn field(mut self, key: &str) -> FieldPath {
        self.0.push(Segment::Key(key.to_string()));
        self
    }

    /// This path followed by element `index`.
    pub(crate) fn at(mut self, index: usize) -> FieldPath {
        self.0.push(Segment::Index(index));
        self
    }

    fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    fn from_serde(path: &serde_path_to_error::Path) -> FieldPath {
        use serde_path_to_error::Segment as S;
        FieldPath(
            path.iter()
                .filter_map(|s| match s {
                    S::Seq { index } => Some(Segment::Index(*index)),
                    S::Map { key } | S::Enum { variant: key } => Some(Segment::Key(key.clone())),
                    S::Unknown => None,
                })
                .collect(),
        )
    }

    /// The span of the deepest item along this path that `text` has: the value itself, or the
    /// table it was left out of.
    fn span_in(&self, text: &str) -> Option<Range<usize>> {
        let doc = toml_edit::ImDocument::parse(text).ok()?;
        let mut node = Node::Item(doc.as_item());
        let mut span = None;
        for segment in &self.0 {
            match node.child(segment) {
                Some(child) => {
                    span = child.span().or(span);
                    node = child;
                }
                None => break,
            }
        }
        span
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A step through a span-keeping parse of the file.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a toml_edit::Item),
    Table(&'a toml_edit::Table),
    Value(&'a toml_edit::Value),
}

impl<'a> Node<'a> {
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Item(item) => item.span(),
            Node::Table(table) => table.span(),
            Node::Value(value) => value.span(),
        }
    }

    fn child(self, segment: &Segment) -> Option<Node<'a>> {
        use toml_edit::{Item, Value};
        match (self, segment) {
            (Node::Item(Item::Table(t)), _) => Node::Table(t).child(segment),
            (Node::Item(Item::Value(v)), _) => Node::Value(v).child(segment),
            (Node::Item(Item::ArrayOfTables(a)), Segment::Index(n)) => a.get(*n).map(Node::Table),
            (Node::Table(t), Segment::Key(k)) => t.get(k).map(Node::Item),
            (Node::Value(Value::InlineTable(t)), Segment::Key(k)) => t.get(k).map(Node::Value),
            (Node::Value(Value::Array(a)), Segment::Index(n)) => a.get(*n).map(Node::Value),
            _ => None,
        }
    }
}

/// The error for a TOML text that failed to deserialize.
pub(super) fn from_toml(
    text: &str,
    file: &str,
    error: serde_path_to_error::Error<toml::de::Error>,
) -> ConfigError {
    let path = FieldPath::from_serde(error.path());
    let error = error.into_inner();
    // TOML syntax errors span several lines (`invalid table header\nexpected ...`).
    let message = error
        .message()
        .trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    let (path, message) = name_the_field(path, message);
    let span = error.span().or_else(|| path.span_in(text));
    ConfigError::Invalid {
        file: file.to_string(),
        position: span.map(|s| Position::of_offset(text, s.start)),
        field: (!path.0.is_empty()).then(|| path.to_string()),
        message,
    }
}

/// Serde names a missing or unknown field in its message; we name it in the path instead, so
/// the message need not.
fn name_the_field(mut path: FieldPath, mut message: String) -> (FieldPath, String) {
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some((name, _)) = rest.split_once('`') {
            path = path.field(name);
            message = "missing required field".to_string();
        }
    } else if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((name, expected)) = rest.split_once('`') {
            if path.last_key() != Some(name) {
                path = path.field(name);
            }
            message = format!("unknown field{expected}");
        }
    } else if let Some(rest) = message.strip_prefix("invalid value: integer `") {
        // Serde's words for an integer that does not fit the field's type.
        let max = |t: &str| match t {
            "u8" => Some(u64::from(u8::MAX)),
            "u16" => Some(u64::from(u16::MAX)),
            "u32" => Some(u64::from(u32::MAX)),
            _ => None,
        };
        if let Some((n, max)) = rest
            .split_once("`, expected ")
            .and_then(|(n, t)| Some((n, max(t)?)))
        {
            message = format!("{n} is out of range 0..={max}");
        }
    }
    (path, message)
}

/// The field path (`routes[3].communities[0]`, or `None` at the top) and the one-line message
/// of a serde error on any format, named the way config errors name them.
pub(crate) fn serde_field(
    path: &serde_path_to_error::Path,
    message: String,
) -> (Option<String>, String) {
    let (path, message) = name_the_field(FieldPath::from_serde(path), message);
    ((!path.0.is_empty()).then(|| path.to_string()), message)
}

/// The error for a check on the deserialized config that failed at `path`.
pub(super) fn at_path(text: &str, file: &str, path: &FieldPath, message: String) -> ConfigError {
    ConfigError::Invalid {
        file: file.to_string(),
        position: path
            .span_in(text)
            .map(|s| Position::of_offset(text, s.start)),
        field: Some(path.to_string()),
        message,
    }
}
