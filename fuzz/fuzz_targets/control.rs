//! The control socket's request line (what `batonctl` sends): parse as the supervisor and the
//! speaker do, round-trip what parses, and read the family and prefix filters it may carry.
#![no_main]

use baton::ctl::Request;
use baton::wire::{Family, Prefix};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = serde_json::from_str::<Request>(line) else {
        return;
    };
    let again = serde_json::to_string(&request).expect("a request serializes");
    assert_eq!(
        serde_json::from_str::<Request>(&again).expect("reparses"),
        request
    );
    if let Request::AdjIn { family, prefix, .. } | Request::AdjOut { family, prefix, .. } = &request
    {
        if let Some(Ok(f)) = family.as_deref().map(str::parse::<Family>) {
            assert_eq!(f.to_string().parse::<Family>(), Ok(f));
        }
        if let Some(Ok(p)) = prefix.as_deref().map(str::parse::<Prefix>) {
            assert_eq!(p.to_string().parse::<Prefix>(), Ok(p));
        }
    }
});
