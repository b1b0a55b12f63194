//! Plain HTTP/1.1 to baton's REST API, written by hand over a `TcpStream` opened inside a
//! host's network namespace (a thread `setns`es first), so the tests need no HTTP client
//! package and no curl. Raw bytes can be sent as they are, for requests no client would write.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use super::netns::Host;

/// The port the API tests configure (`[api] listen = "127.0.0.1:8179"`).
pub const API_PORT: u16 = 8179;
/// The longest a test waits for one HTTP reply.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// One HTTP reply: status and JSON body (`Value::Null` if the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body, parsed.
    pub body: Value,
}

/// Sends one request with a JSON body to baton's API from inside `host`'s namespace and
/// reads the whole reply.
pub fn http(
    host: &Host,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> Reply {
    let body = body.map(|b| serde_json::to_vec(b).expect("serialize the body"));
    http_bytes(host, method, path, body.as_deref(), token)
}

/// Like [`http`], with the body as raw bytes (declared as JSON).
pub fn http_bytes(
    host: &Host,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    token: Option<&str>,
) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(t) = token {
        head += &format!("Authorization: Bearer {t}\r\n");
    }
    if let Some(b) = body {
        head += &format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        );
    }
    head += "\r\n";
    let mut request = head.into_bytes();
    request.extend_from_slice(body.unwrap_or_default());
    let raw = exchange(host, request);
    parse_reply(&raw).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: bad HTTP reply ({e}): {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

/// Runs `f` on a thread inside `host`'s network namespace (sockets it creates stay there).
pub fn in_namespace<T: Send + 'static>(host: &Host, f: impl FnOnce() -> T + Send + 'static) -> T {
    spawn_in_namespace(host, f)
        .join()
        .expect("thread in the namespace")
}

/// Starts `f` on a thread inside `host`'s network namespace.
pub fn spawn_in_namespace<T: Send + 'static>(
    host: &Host,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let ns = host.ns.clone();
    std::thread::spawn(move || {
        let file = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("open netns");
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
}

/// Sends `request` as it is to the API on `host` and reads until the server closes.
pub fn exchange(host: &Host, request: Vec<u8>) -> Vec<u8> {
    in_namespace(host, move || {
        let addr = SocketAddr::from(([127, 0, 0, 1], API_PORT));
        let mut stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect to the API");
        stream.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
        stream.write_all(&request).expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read the reply");
        raw
    })
}

/// Parses a whole HTTP/1.1 reply (read to EOF): status line, headers, body (plain or chunked).
pub fn parse_reply(raw: &[u8]) -> Result<Reply, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let mut body = raw[split + 4..].to_vec();
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("bad chunk")?;
            let size_text = std::str::from_utf8(&rest[..end]).map_err(|e| e.to_string())?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                .map_err(|e| e.to_string())?;
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size).ok_or("short chunk")?);
            rest = rest.get(size + 2..).ok_or("short chunk")?;
        }
        body = out;
    }
    Ok(Reply {
        status,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}
