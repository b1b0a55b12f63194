//! `batonctl route add PREFIX [nexthop X] [community A:B,…] [large-community A:B:C,…] [med N]
//! [local-pref N] [prepend N]`: the gobgp-style words turned into a route, validated by the
//! same rules as a `[[route]]` table of the configuration.

use crate::config::routes_file::route_from_words;
use crate::config::Route;

/// Build a route from a prefix and `keyword value` pairs. Communities may repeat or be
/// comma-separated. The words are those of a line of `[global] routes_file`.
pub fn parse(prefix: &str, words: &[String]) -> Result<Route, String> {
    let mut all = vec![prefix];
    all.extend(words.iter().map(String::as_str));
    route_from_words(&all).map_err(|e| e.message)
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
