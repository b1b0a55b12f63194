//! `batonctl neighbor add ADDR as N [port P] [passive] [hold-time S] [connect-retry S]
//! [local-address X] [family ipv4|ipv6,…] [description TEXT]`: the gobgp-style words turned into
//! a peer, checked by the very rules of a `[[peer]]` table of the configuration, with errors that
//! name the word the operator typed (`hold-time`, not `hold_time`).

use serde_json::{Map, Value};

use crate::config::{self, FieldPath, Peer};

/// The keywords, each with the configuration key it sets; `passive` alone takes no value.
const KEYWORDS: &[(&str, &str)] = &[
    ("as", "remote_as"),
    ("port", "port"),
    ("passive", "passive"),
    ("hold-time", "hold_time"),
    ("connect-retry", "connect_retry"),
    ("local-address", "local_address"),
    ("family", "families"),
    ("description", "description"),
];

/// Build a peer from its address and `keyword value` words. `family` may repeat or be
/// comma-separated; left out, it is the family of the address, as in the configuration.
pub fn parse(address: &str, words: &[String]) -> Result<Peer, String> {
    let mut peer = Map::new();
    peer.insert("address".into(), address.into());
    let mut families: Vec<Value> = Vec::new();
    let mut it = words.iter();
    while let Some(word) = it.next() {
        let Some(&(keyword, key)) = KEYWORDS.iter().find(|(k, _)| k == word) else {
            let known: Vec<&str> = KEYWORDS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "unknown keyword `{word}` (expected {})",
                known.join(", ")
            ));
        };
        if keyword == "passive" {
            set_once(&mut peer, keyword, key, true.into())?;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| format!("`{keyword}` needs a value"))?;
        match keyword {
            "family" => families.extend(value.split(',').map(|f| Value::from(f.trim()))),
            "description" | "local-address" => {
                set_once(&mut peer, keyword, key, value.as_str().into())?
            }
            _ => set_once(&mut peer, keyword, key, number(keyword, value)?)?,
        }
    }
    if !peer.contains_key("remote_as") {
        return Err("`as` is required: neighbor add ADDR as N".into());
    }
    if !families.is_empty() {
        peer.insert("families".into(), families.into());
    }
    let mut peer: Peer = serde_path_to_error::deserialize(Value::Object(peer)).map_err(|e| {
        let path = e.path().clone();
        let (field, message) = config::serde_field(&path, e.into_inner().to_string());
        blame(field.as_deref().unwrap_or(""), message)
    })?;
    config::complete_peer(&mut peer);
    config::check_peer(&peer, FieldPath::default())
        .map_err(|(field, message)| blame(&field.to_string(), message))?;
    Ok(peer)
}

fn set_once(
    peer: &mut Map<String, Value>,
    keyword: &str,
    key: &str,
    v: Value,
) -> Result<(), String> {
    match peer.insert(key.into(), v) {
        Some(_) => Err(format!("`{keyword}` is given twice")),
        None => Ok(()),
    }
}

/// A number as JSON (its range is the configuration's to check); a word that is none is
/// refused here, naming the keyword.
fn number(keyword: &str, value: &str) -> Result<Value, String> {
    value
        .parse::<u64>()
        .map(Value::from)
        .map_err(|_| format!("`{keyword}` takes a number, not `{value}`"))
}

/// `families[1]: message` as the operator wrote it: `family: message`.
fn blame(field: &str, message: String) -> String {
    let key = field.split(['[', '.']).next().unwrap_or(field);
    match KEYWORDS.iter().find(|(_, k)| *k == key) {
        Some((keyword, _)) => format!("`{keyword}`: {message}"),
        None if key.is_empty() => message,
        None => format!("`{key}`: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Family;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn refusal(address: &str, s: &str) -> String {
        parse(address, &words(s)).unwrap_err()
    }

    #[test]
    fn gobgp_style_words_make_a_peer() {
        let p = parse("198.18.0.9", &words("as 65009")).unwrap();
        assert_eq!(p.remote_as, 65009);
        assert_eq!((p.port, p.passive, p.hold_time), (179, false, 90));
        assert_eq!(
            p.families,
            vec![Family::IPV4_UNICAST],
            "family of the address"
        );

        let mut all = words(
            "as 65009 port 1179 passive hold-time 30 connect-retry 2 local-address 198.18.0.1 \
             family ipv4 family ipv6-unicast description",
        );
        all.push("lab peer".into());
        let p = parse("198.18.0.9", &all).unwrap();
        assert_eq!(
            (p.port, p.passive, p.hold_time, p.connect_retry),
            (1179, true, 30, 2)
        );
        assert_eq!(p.local_address, Some("198.18.0.1".parse().unwrap()));
        assert_eq!(p.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
        assert_eq!(p.description.as_deref(), Some("lab peer"));
    }

    #[test]
    fn families_may_be_comma_separated() {
        let p = parse("2001:db8::9", &words("as 65009 family ipv6,ipv4")).unwrap();
        assert_eq!(p.families, vec![Family::IPV6_UNICAST, Family::IPV4_UNICAST]);
    }

    #[test]
    fn value_checks_are_the_configs_and_name_the_keyword() {
        let e = refusal("198.18.0.9", "as 0");
        assert!(e.starts_with("`as`: ") && e.contains("RFC 7607"), "{e}");
        let e = refusal("198.18.0.9", "as 65009 hold-time 2");
        assert!(e.starts_with("`hold-time`: "), "{e}");
        let e = refusal("198.18.0.9", "as 65009 port 70000");
        assert!(e.starts_with("`port`: "), "{e}");
        let e = refusal("198.18.0.9", "as 65009 family ipv9");
        assert!(e.starts_with("`family`: "), "{e}");
        let e = refusal("198.18.0.x", "as 65009");
        assert!(e.starts_with("`address`: "), "{e}");
    }

    #[test]
    fn cross_checks_are_the_configs_and_name_the_keyword() {
        let e = refusal("198.18.0.9", "as 65009 local-address 2001:db8::1");
        assert!(
            e.starts_with("`local-address`: ") && e.contains("IPv6"),
            "{e}"
        );
        let e = refusal("198.18.0.9", "as 65009 family ipv4,ipv4");
        assert!(e.starts_with("`family`: ") && e.contains("twice"), "{e}");
    }

    #[test]
    fn bad_words_are_refused_with_the_reason() {
        assert!(refusal("198.18.0.9", "port 1179").contains("`as` is required"));
        assert!(refusal("198.18.0.9", "as").contains("needs a value"));
        assert!(refusal("198.18.0.9", "as x").contains("takes a number"));
        assert!(refusal("198.18.0.9", "as 1 as 2").contains("given twice"));
        assert!(refusal("198.18.0.9", "as 1 colour red").contains("unknown keyword `colour`"));
    }
}
