//! A request body parsed into a JSON value, refusing an object that gives a key twice.
//!
//! serde_json keeps the last of two equal keys without a word: `{"med": 10, "med": 20}` would
//! announce MED 20 while the operator may have meant 10. The intent is ambiguous, so the
//! request is refused and the error names the key by its whole path (`routes[3].med`). The
//! check runs while the value is built, so it costs no second pass over a large batch.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a body did not parse.
#[derive(Debug)]
pub(super) enum StrictError {
    /// Not JSON (or nested too deep): serde_json's error, with the position.
    Json(serde_json::Error),
    /// A key given twice in one object: the path of the second one.
    DuplicateKey(String),
}

/// Parse `body` as one JSON value (and nothing after it), refusing duplicate keys.
pub(super) fn parse(body: &[u8]) -> Result<Value, StrictError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = ValueSeed {
        at: Node::Root,
        duplicate: &duplicate,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match (parsed, duplicate.into_inner()) {
        (_, Some(path)) => Err(StrictError::DuplicateKey(path)),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(StrictError::Json(e)),
    }
}

/// Where a value is, as a list linked through the stack: no allocation unless an error needs
/// the path written out.
#[derive(Clone, Copy)]
enum Node<'a> {
    Root,
    Key(&'a Node<'a>, &'a str),
    Index(&'a Node<'a>, usize),
}

impl fmt::Display for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Root => Ok(()),
            Node::Key(Node::Root, key) => f.write_str(key),
            Node::Key(parent, key) => write!(f, "{parent}.{key}"),
            Node::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Deserializes the value at `at`; records the first duplicate key in `duplicate`.
struct ValueSeed<'a> {
    at: Node<'a>,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let seed = ValueSeed {
                at: Node::Index(&self.at, items.len()),
                duplicate: self.duplicate,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let path = Node::Key(&self.at, &key).to_string();
                *self.duplicate.borrow_mut() = Some(path);
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(ValueSeed {
                at: Node::Key(&self.at, &key),
                duplicate: self.duplicate,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duplicate(text: &str) -> Option<String> {
        match parse(text.as_bytes()) {
            Err(StrictError::DuplicateKey(path)) => Some(path),
            Ok(_) => None,
            Err(e) => panic!("{text}: {e:?}"),
        }
    }

    #[test]
    fn a_key_given_twice_is_named_by_its_path() {
        assert_eq!(duplicate(r#"{"med": 1, "med": 2}"#).as_deref(), Some("med"));
        assert_eq!(
            duplicate(r#"{"routes": [{"prefix": "a"}, {"prefix": "b", "med": 1, "med": 1}]}"#)
                .as_deref(),
            Some("routes[1].med")
        );
        assert_eq!(
            duplicate(r#"{"graceful_restart": {"enabled": true, "enabled": false}}"#).as_deref(),
            Some("graceful_restart.enabled")
        );
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine() {
        let text = r#"{"routes": [{"prefix": "a", "med": 1}, {"prefix": "b", "med": 1}], "x": [1, 2.5, null, true, "s"]}"#;
        assert_eq!(duplicate(text), None);
        let serde: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse(text.as_bytes()).unwrap(), serde);
    }

    #[test]
    fn syntax_errors_keep_their_position() {
        match parse(b"{\"a\": 1,,}") {
            Err(StrictError::Json(e)) => assert_eq!((e.line(), e.column()), (1, 9)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(b"{} x"), Err(StrictError::Json(_))));
    }
}
