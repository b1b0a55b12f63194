use std::collections::HashSet;

use super::*;

fn read_text(text: &str) -> Result<Vec<Route>, ConfigError> {
    parse(text.as_bytes(), "routes.txt", &HashSet::new(), 0)
}

#[test]
fn lines_of_words_make_routes_comments_and_blank_lines_are_skipped() {
    let routes = read_text(
        "# service addresses\n\
         \n\
         198.51.100.0/24\n\
         198.51.100.7/32 nexthop 198.18.0.9 community 65001:1,no-export community 65001:3 med 10\n\
         2001:db8:100::/48   large-community 65001:1:1 local-pref 200 prepend 2 # anycast\n",
    )
    .unwrap();
    assert_eq!(routes.len(), 3);
    assert_eq!(routes[0].prefix.to_string(), "198.51.100.0/24");
    assert_eq!(routes[0].next_hop, None);
    assert_eq!(routes[1].communities.len(), 3);
    assert_eq!(routes[1].med, Some(10));
    assert_eq!(routes[1].next_hop, Some("198.18.0.9".parse().unwrap()));
    assert_eq!(routes[2].large_communities.len(), 1);
    assert_eq!(
        (routes[2].local_pref, routes[2].as_path_prepend),
        (Some(200), 2)
    );
}

/// (line, expected "file:line:column: field: message" fragment)
#[test]
fn every_error_names_the_file_line_column_and_field() {
    let cases = [
        ("198.51.100.1/24\n", "routes.txt:1:1: prefix: ", "host bits"),
        (
            "198.51.100.0/024\n",
            "routes.txt:1:1: prefix: ",
            "198.51.100.0/24",
        ),
        (
            "\n  10.0.0.0/8 med x\n",
            "routes.txt:2:18: med: ",
            "not a number",
        ),
        (
            "10.0.0.0/8 community 70000:1\n",
            "routes.txt:1:22: communities: ",
            "70000",
        ),
        (
            "10.0.0.0/8 med\n",
            "routes.txt:1:12: attribute: ",
            "needs a value",
        ),
        (
            "10.0.0.0/8 colour red\n",
            "routes.txt:1:12: attribute: ",
            "unknown attribute",
        ),
        (
            "10.0.0.0/8 prepend 11\n",
            "routes.txt:1:20: as_path_prepend: ",
            "at most 10",
        ),
        (
            "10.0.0.0/8 nexthop 2001:db8::1\n",
            "routes.txt:1:20: next_hop: ",
            "IPv6",
        ),
        (
            "10.0.0.0/8 nexthop x\n",
            "routes.txt:1:20: next_hop: ",
            "not an IP address",
        ),
        (
            "10.0.0.0/8\n10.0.0.0/8\n",
            "routes.txt:2:1: prefix: ",
            "listed twice",
        ),
    ];
    for (text, at, why) in cases {
        let e = read_text(text).unwrap_err().to_string();
        assert!(e.starts_with(at) && e.contains(why), "{text:?}: {e}");
    }
}

#[test]
fn a_prefix_of_a_route_table_is_refused() {
    let taken: HashSet<Prefix> = ["10.0.0.0/8".parse().unwrap()].into();
    let e = parse("10.0.0.0/8\n".as_bytes(), "r", &taken, 1).unwrap_err();
    assert!(
        e.to_string()
            .contains("also originated by a [[route]] table"),
        "{e}"
    );
}

#[test]
fn load_adds_the_file_routes_to_the_route_tables_and_refuses_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.txt");
    std::fs::write(&routes, "198.51.100.0/24 med 5\n203.0.113.0/24\n").unwrap();
    let config = dir.path().join("baton.toml");
    let toml = |file: &std::path::Path| {
        format!(
            "[global]\nasn = 65001\nrouter_id = \"198.18.0.1\"\nlisten = []\n\
             routes_file = {:?}\n\n[[route]]\nprefix = \"192.0.2.0/24\"\n",
            file.display().to_string()
        )
    };
    std::fs::write(&config, toml(&routes)).unwrap();
    let c = crate::config::load(&config).unwrap();
    let prefixes: Vec<String> = c.routes.iter().map(|r| r.prefix.to_string()).collect();
    assert_eq!(
        prefixes,
        ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]
    );
    assert_eq!(c.routes[1].med, Some(5));

    std::fs::write(&config, toml(&dir.path().join("missing.txt"))).unwrap();
    let e = crate::config::load(&config).unwrap_err().to_string();
    assert!(
        e.contains("missing.txt") && e.contains("cannot read"),
        "{e}"
    );
}

#[test]
fn a_line_that_is_not_utf8_is_refused_with_its_line_and_column() {
    let bytes = b"198.51.100.0/24\n198.51.100.7/32 med 1\xff\n";
    let err = parse(&bytes[..], "routes.txt", &HashSet::new(), 0).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("routes.txt:2:22: "), "{text}");
    assert!(text.contains("not valid UTF-8"), "{text}");
}

#[test]
fn lines_split_across_reads_and_a_last_line_without_newline_are_read_whole() {
    let text = "198.51.100.0/24 med 1\n# note\n198.51.100.128/25 community 65001:7\n203.0.113.0/24";
    let whole = read_text(text).unwrap();
    assert_eq!(whole.len(), 3);
    for capacity in [1, 2, 7, 16] {
        let reader = std::io::BufReader::with_capacity(capacity, text.as_bytes());
        let routes = parse(reader, "routes.txt", &HashSet::new(), 0).unwrap();
        assert_eq!(routes, whole, "read {capacity} bytes at a time");
    }
}

#[test]
fn a_repeated_prefix_is_found_in_order_and_out_of_order() {
    for (text, line) in [
        ("10.0.0.0/24\n10.0.1.0/24\n10.0.1.0/24\n", 3),
        ("10.0.0.0/24\n10.0.2.0/24\n10.0.1.0/24\n10.0.0.0/24\n", 4),
        ("10.0.2.0/24\n10.0.1.0/24\n10.0.3.0/24\n10.0.2.0/24\n", 4),
    ] {
        let err = read_text(text).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("routes.txt:{line}:1: prefix: ")) && err.contains("twice"),
            "{text:?}: {err}"
        );
    }
    assert_eq!(
        read_text("10.0.2.0/24\n10.0.1.0/24\n10.0.3.0/24\n")
            .unwrap()
            .len(),
        3
    );
}
