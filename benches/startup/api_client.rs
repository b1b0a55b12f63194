//! The clients of table 4 (`api.rs`), each run in a thread that has entered the originator's
//! network namespace, where the APIs listen on 127.0.0.1: a minimal HTTP/1.1 client for baton's
//! REST API (keep-alive connections, one or several at once, requests written whole, replies
//! read by their Content-Length), `gobgp global rib add` one process per route, and gobgp_inject.py for
//! gobgpd's gRPC stream.
//!
//! Each takes `go`, called just before its first request (the clock starts there), and returns
//! when the last request is acknowledged, or `None` on a failure or past its deadline.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::common::tool;
use super::gobgp_origin::{INJECTOR, PYTHON};
use super::SETUP;

/// baton's API port on the originator's loopback.
pub const API_PORT: u16 = 8179;

/// A reply from baton's API.
pub struct Reply {
    pub status: u16,
    /// The body as JSON (`Null` if it is not).
    pub body: Value,
}

/// Moves the calling thread into network namespace `ns`: its sockets, and the processes it
/// spawns, live there from now on.
pub fn enter_namespace(ns: &str) {
    let file = File::open(format!("/var/run/netns/{ns}"))
        .unwrap_or_else(|e| panic!("open network namespace {ns}: {e}"));
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|e| panic!("enter network namespace {ns}: {e}"));
}

/// A whole `POST /v1/routes` request with this JSON body, keeping the connection open.
pub fn post_routes(json: &str) -> Vec<u8> {
    let mut request = format!(
        "POST /v1/routes HTTP/1.1\r\nHost: 127.0.0.1:{API_PORT}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        json.len()
    )
    .into_bytes();
    request.extend_from_slice(json.as_bytes());
    request
}

/// Sends `requests` from `clients` connections to baton's API at once: each connection takes
/// an equal share, in order, and sends each request once the previous one is answered. Every
/// reply goes to `on_reply`. All connections are open before `go`. Returns when the last reply
/// is in; fails on a reply other than 200 or past `deadline` from `go`.
pub fn send_http(
    requests: &[Vec<u8>],
    clients: usize,
    deadline: Duration,
    go: &dyn Fn() -> Instant,
    on_reply: &(dyn Fn(&Reply) + Sync),
) -> Option<Instant> {
    let connections: Vec<TcpStream> = (0..clients)
        .map(|_| connect(deadline))
        .collect::<Option<_>>()?;
    let start = go();
    let share = requests.len().div_ceil(clients).max(1);
    std::thread::scope(|s| {
        let sending: Vec<_> = connections
            .into_iter()
            .zip(requests.chunks(share))
            .map(|(stream, share)| {
                s.spawn(move || send_on(stream, share, start, deadline, on_reply))
            })
            .collect();
        let ends: Option<Vec<Instant>> = sending
            .into_iter()
            .map(|t| t.join().unwrap_or(None))
            .collect();
        ends?.into_iter().max()
    })
}

/// A keep-alive connection to baton's API, replies awaited up to `deadline`.
fn connect(deadline: Duration) -> Option<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], API_PORT));
    let stream = match TcpStream::connect_timeout(&addr, SETUP) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("  cannot connect to baton's API on {addr}: {e}");
            return None;
        }
    };
    // Each request goes out in one write; no need to wait for more.
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream
        .set_read_timeout(Some(deadline))
        .expect("a read timeout");
    Some(stream)
}

/// Sends `requests` over `stream`, each once the previous one is answered.
fn send_on(
    stream: TcpStream,
    requests: &[Vec<u8>],
    start: Instant,
    deadline: Duration,
    on_reply: &(dyn Fn(&Reply) + Sync),
) -> Option<Instant> {
    let mut writer = stream.try_clone().expect("clone the socket");
    let mut reader = BufReader::new(stream);
    for (i, request) in requests.iter().enumerate() {
        let reply = writer
            .write_all(request)
            .and_then(|()| read_reply(&mut reader));
        match reply {
            Ok(reply) if reply.status == 200 => on_reply(&reply),
            Ok(reply) => {
                eprintln!(
                    "  request {i}: HTTP {}: {}",
                    reply.status,
                    truncated(&reply.body.to_string())
                );
                return None;
            }
            Err(e) => {
                eprintln!("  request {i}: {e}");
                return None;
            }
        }
        if start.elapsed() > deadline {
            eprintln!(
                "  timeout: {} of {} requests answered",
                i + 1,
                requests.len()
            );
            return None;
        }
    }
    Some(Instant::now())
}

/// Reads one HTTP/1.1 reply whose body has a Content-Length (as axum's JSON replies do).
fn read_reply(reader: &mut impl BufRead) -> io::Result<Reply> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(bad("connection closed before the reply"));
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(&format!("bad status line {line:?}")))?;
    let mut length = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad("connection closed in the reply's headers"));
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let length = length.ok_or_else(|| bad("a reply without Content-Length"))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Reply {
        status,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

/// The first 300 characters of `text`.
fn truncated(text: &str) -> String {
    text.chars().take(300).collect()
}

/// `gobgp -u HOST -p PORT global rib -a ipv4 add PREFIX nexthop NEXT_HOP`, one process per
/// prefix, each started when the previous one has exited. Fails on a failed command or past
/// `deadline` from `go`.
pub fn gobgp_cli(
    api: &str,
    prefixes: &[String],
    next_hop: &str,
    deadline: Duration,
    go: &dyn Fn() -> Instant,
) -> Option<Instant> {
    let (host, port) = api.rsplit_once(':').expect("HOST:PORT");
    let gobgp = tool("gobgp");
    let start = go();
    for (i, prefix) in prefixes.iter().enumerate() {
        let out = Command::new(&gobgp)
            .args(["-u", host, "-p", port, "global", "rib", "-a", "ipv4", "add"])
            .args([prefix.as_str(), "nexthop", next_hop])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                eprintln!(
                    "  gobgp global rib add {prefix} failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                return None;
            }
            Err(e) => {
                eprintln!("  cannot run {}: {e}", gobgp.display());
                return None;
            }
        }
        if start.elapsed() > deadline {
            eprintln!("  timeout: {} of {} routes added", i + 1, prefixes.len());
            return None;
        }
    }
    Some(Instant::now())
}

/// Streams the pre-encoded requests in `file` into gobgpd's `AddPathStream` at `api` with
/// gobgp_inject.py: it connects and reads the file, says "ready"; `go`, then "go" on its stdin;
/// it says "done" once gobgpd has accepted the whole stream.
pub fn gobgp_grpc(
    api: &str,
    file: &Path,
    deadline: Duration,
    go: &dyn Fn() -> Instant,
) -> Option<Instant> {
    let mut child = match Command::new(PYTHON)
        .arg(INJECTOR)
        .arg(api)
        .arg(file)
        .arg("--handshake")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("  cannot run {PYTHON} {INJECTOR}: {e}");
            return None;
        }
    };
    // Lines from its stdout, through a channel so that each wait has a bound; the thread ends
    // with the injector's stdout.
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let expect = |word: &str, within: Duration| match lines.recv_timeout(within) {
        Ok(line) if line == word => true,
        Ok(line) => {
            eprintln!("  gobgp_inject.py said {line:?}, not {word:?}");
            false
        }
        Err(_) => {
            eprintln!("  gobgp_inject.py did not say {word:?} within {within:?}");
            false
        }
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let done = expect("ready", SETUP) && {
        let start = go();
        stdin
            .write_all(b"go\n")
            .and_then(|()| stdin.flush())
            .is_ok()
            && expect("done", deadline.saturating_sub(start.elapsed()))
    };
    let end = Instant::now();
    if !done {
        let _ = child.kill();
    }
    let status = child.wait();
    (done && status.is_ok_and(|s| s.success())).then_some(end)
}
