//! gobgpd as the originator. Its config file cannot hold routes and `gobgp global rib add` manages
//! about 100 routes/s, so routes go in through its gRPC API, as a controller would put them:
//! `AddPathStream` requests encoded here (protobuf is a few varints and length-prefixed fields),
//! carried by `gobgp_inject.py`, which needs Debian's python3-grpcio and no generated code.
//!
//! Field numbers are those of gobgp 3.x's `api/gobgp.proto` and `api/attribute.proto` (package
//! `apipb`): AddPathStreamRequest { table_type = 1 (GLOBAL = 0); paths = 3 }, Path { nlri = 1;
//! pattrs = 2; family = 9 }, Family { afi = 1; safi = 2 }, Any { type_url = 1; value = 2 },
//! IPAddressPrefix { prefix_len = 1; prefix = 2 }, OriginAttribute { origin = 1 },
//! AsPathAttribute { segments = 1 }, NextHopAttribute { next_hop = 1 }. An IPv6 path carries
//! its next hop in NextHopAttribute too: gobgpd turns it into MP_REACH_NLRI's.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::common::gobgp::{GobgpConfig, GobgpNeighbor, Gobgpd};
use super::common::netns::Lab;
use super::watch::{originate_watched, receiver_stats, Routes};
use super::{
    originated, start_receivers, Options, Row, BIRD_AS, GOBGP_AS, ORIGIN_AS, RESTART_TIME,
};

/// The interpreter python3-grpcio is installed for.
pub const PYTHON: &str = "/usr/bin/python3";
/// The injector, next to this file.
pub const INJECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/startup/gobgp_inject.py"
);
/// Paths per AddPathStreamRequest.
pub const PATHS_PER_REQUEST: usize = 1000;

/// Why the gobgpd scenario cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    let ok = Command::new(PYTHON)
        .args(["-c", "import grpc"])
        .output()
        .is_ok_and(|o| o.status.success());
    (!ok).then(|| {
        format!("n/a: no gRPC client ({PYTHON} cannot import grpc: apt-get install python3-grpcio)")
    })
}

/// gobgpd originating N IPv4 and M IPv6 routes, streamed into its API as soon as it answers,
/// to the same two receivers. The clock starts when gobgpd is spawned; the requests are encoded
/// before.
pub fn bench_gobgpd(options: &Options) -> Row {
    let want = options.originated();
    let lab = Lab::new();
    let origin = lab.host("origin");
    let (gobgpd, bird) = start_receivers(&lab, &origin, want.families());
    let from = IpAddr::from(origin.ipv4);

    let requests = origin.dir().join("add-path-stream.bin");
    let encoded = encode_requests(want, (origin.ipv4, origin.ipv6));
    fs::write(&requests, encoded).expect("write the requests");
    let mut neighbors = Vec::new();
    for (host, asn) in [(gobgpd.host(), GOBGP_AS), (bird.host(), BIRD_AS)] {
        let mut neighbor = GobgpNeighbor::new(host.ipv4.into(), asn);
        neighbor.graceful_restart = Some(RESTART_TIME);
        neighbor.families = want.families().to_vec();
        neighbors.push(neighbor);
    }
    let config = GobgpConfig {
        asn: ORIGIN_AS,
        neighbors,
        ..GobgpConfig::default()
    };

    println!("  gobgpd originating");
    let start = Instant::now();
    let mut row = Row::default();
    let mut injected = None;
    originate_watched(
        &mut row,
        (start, options.deadline),
        (&gobgpd, &bird),
        (from, want),
        |abort| {
            std::thread::scope(|s| {
                let originator = s.spawn(|| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        Gobgpd::start(&origin, config)
                    }))
                });
                // Runs until gobgpd has taken the whole stream (it waits for the API by itself).
                let api = "127.0.0.1:50051";
                match origin
                    .command(PYTHON)
                    .arg(INJECTOR)
                    .arg(api)
                    .arg(&requests)
                    .output()
                {
                    Ok(out) if out.status.success() => injected = Some(start.elapsed()),
                    Ok(out) => {
                        eprintln!(
                            "gobgp_inject.py failed ({}): {}",
                            out.status,
                            String::from_utf8_lossy(&out.stderr).trim()
                        );
                        abort.store(true, Ordering::SeqCst);
                    }
                    Err(e) => {
                        eprintln!("cannot run {PYTHON} {INJECTOR}: {e}");
                        abort.store(true, Ordering::SeqCst);
                    }
                }
                originator.join().expect("gobgpd originator thread").ok()
            })
        },
    );
    row.injected = injected;
    receiver_stats(&mut row, &gobgpd, &bird, from, 0);
    let _ = fs::remove_file(Path::new(&requests));
    row
}

/// The originated paths (`routes`: N IPv4, then M IPv6) as AddPathStreamRequests to the
/// global table, each framed by its length (4 bytes, big-endian) for the injector; next hops
/// `hops` (the originator's addresses on the lab's link).
pub fn encode_requests(routes: Routes, hops: (Ipv4Addr, Ipv6Addr)) -> Vec<u8> {
    // Per family: what follows the NLRI in every path, the same for all of that family.
    let tails = [(1, IpAddr::from(hops.0)), (2, IpAddr::from(hops.1))].map(|(afi, hop)| {
        let mut tail = path_attributes(hop);
        let mut family = Vec::new();
        put_uint(&mut family, 1, afi); // AFI_IP, AFI_IP6
        put_uint(&mut family, 2, 1); // SAFI_UNICAST
        put_bytes(&mut tail, 9, &family);
        tail
    });
    let paths: Vec<(IpAddr, u8)> = originated(routes).collect();
    let mut out = Vec::new();
    for chunk in paths.chunks(PATHS_PER_REQUEST) {
        let mut request = Vec::new();
        for &(addr, len) in chunk {
            let mut nlri = Vec::new();
            put_uint(&mut nlri, 1, u64::from(len));
            put_bytes(&mut nlri, 2, addr.to_string().as_bytes());
            let mut path = Vec::new();
            put_bytes(&mut path, 1, &any("IPAddressPrefix", &nlri));
            path.extend_from_slice(&tails[usize::from(addr.is_ipv6())]);
            put_bytes(&mut request, 3, &path);
        }
        let len = u32::try_from(request.len()).expect("a request is far below 4 GiB");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&request);
    }
    out
}

/// The attributes every path carries, encoded as `pattrs` fields: ORIGIN IGP, an empty AS_PATH
/// (gobgpd prepends its AS towards eBGP peers), NEXT_HOP `next_hop`.
fn path_attributes(next_hop: IpAddr) -> Vec<u8> {
    let mut next_hop_attr = Vec::new();
    put_bytes(&mut next_hop_attr, 1, next_hop.to_string().as_bytes());
    let mut attrs = Vec::new();
    for (name, value) in [
        ("OriginAttribute", &[][..]),
        ("AsPathAttribute", &[][..]),
        ("NextHopAttribute", &next_hop_attr[..]),
    ] {
        put_bytes(&mut attrs, 2, &any(name, value));
    }
    attrs
}

/// A `google.protobuf.Any` holding message `value` of type `apipb.NAME`.
fn any(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(
        &mut out,
        1,
        format!("type.googleapis.com/apipb.{name}").as_bytes(),
    );
    put_bytes(&mut out, 2, value);
    out
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_varint(out, u64::from(field) << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A varint field (wire type 0); zero is the default and left out, as protobuf does.
fn put_uint(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_varint(out, u64::from(field) << 3);
        put_varint(out, v);
    }
}
