//! `batonctl route add PREFIX [nexthop X] [community A:B,…] [large-community A:B:C,…] [med N]
//! [local-pref N] [prepend N]`: the gobgp-style words turned into a route, validated by the
//! same rules as a `[[route]]` table of the configuration.

use crate::config::Route;

/// Build a route from a prefix and `keyword value` pairs. Communities may repeat or be
/// comma-separated.
pub fn parse(prefix: &str, words: &[String]) -> Result<Route, String> {
    let mut route = serde_json::Map::new();
    route.insert("prefix".into(), prefix.into());
    let mut communities = Vec::new();
    let mut large = Vec::new();
    let mut it = words.iter();
    while let Some(key) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("`{key}` needs a value"))?
            .clone();
        match key.as_str() {
            "nexthop" | "next-hop" => {
                route.insert("next_hop".into(), value.into());
            }
            "community" => communities.extend(value.split(',').map(str::to_string)),
            "large-community" => large.extend(value.split(',').map(str::to_string)),
            "med" => {
                route.insert("med".into(), number(key, &value)?.into());
            }
            "local-pref" => {
                route.insert("local_pref".into(), number(key, &value)?.into());
            }
            "prepend" => {
                route.insert("as_path_prepend".into(), number(key, &value)?.into());
            }
            other => {
                return Err(format!(
                    "unknown attribute `{other}` (expected nexthop, community, large-community, med, local-pref, prepend)"
                ))
            }
        }
    }
    route.insert("communities".into(), communities.into());
    route.insert("large_communities".into(), large.into());
    serde_json::from_value(serde_json::Value::Object(route)).map_err(|e| e.to_string())
}

fn number(key: &str, value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("`{key}` takes a number, not `{value}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn gobgp_style_words_make_a_route() {
        let r = parse(
            "192.0.2.0/24",
            &words("nexthop 198.18.0.9 community 65001:1,65001:2 community 65001:3 large-community 65001:1:1 med 10 local-pref 200"),
        )
        .unwrap();
        assert_eq!(r.prefix.to_string(), "192.0.2.0/24");
        assert_eq!(r.communities.len(), 3);
        assert_eq!(r.large_communities.len(), 1);
        assert_eq!((r.med, r.local_pref), (Some(10), Some(200)));
    }

    #[test]
    fn bad_words_are_refused_with_the_reason() {
        assert!(parse("192.0.2.1/24", &[])
            .unwrap_err()
            .contains("host bits"));
        assert!(parse("192.0.2.0/24", &words("community 70000:1"))
            .unwrap_err()
            .contains("70000"));
        assert!(parse("192.0.2.0/24", &words("med"))
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse("192.0.2.0/24", &words("colour red"))
            .unwrap_err()
            .contains("unknown attribute"));
    }
}
