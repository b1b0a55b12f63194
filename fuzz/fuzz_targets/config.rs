//! The configuration file: TOML text parsed and validated (no file is read), and a valid
//! configuration written back as TOML parses to the same configuration.
#![no_main]

use baton::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = config::parse(text, "fuzz.toml") else {
        return;
    };
    let again = toml::to_string(&parsed).expect("a valid configuration serializes");
    let back = config::parse(&again, "again.toml")
        .unwrap_or_else(|e| panic!("written back it does not parse: {e}\n{again}"));
    assert_eq!(back, parsed);
});
