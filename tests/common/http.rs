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
    /// The headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The first value of header `name` (lower case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
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
    let api = SocketAddr::from(([127, 0, 0, 1], API_PORT));
    http_at(host, api, method, path, body, token)
}

/// Like [`http`], with the body as raw bytes (declared as JSON).
pub fn http_bytes(
    host: &Host,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    token: Option<&str>,
) -> Reply {
    let api = SocketAddr::from(([127, 0, 0, 1], API_PORT));
    http_bytes_at(host, api, method, path, body, token)
}

/// Like [`http`], to the API listening on `api` (from inside `host`'s namespace).
pub fn http_at(
    host: &Host,
    api: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> Reply {
    let body = body.map(|b| serde_json::to_vec(b).expect("serialize the body"));
    http_bytes_at(host, api, method, path, body.as_deref(), token)
}

fn http_bytes_at(
    host: &Host,
    api: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    token: Option<&str>,
) -> Reply {
    let request = request_bytes(api, method, path, body, token);
    let raw = exchange_at(host, api, request);
    parse_reply(&raw).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: bad HTTP reply ({e}): {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

/// The bytes of one HTTP/1.1 request to the API at `api` (closing the connection after), with
/// a JSON body and a bearer token when given.
pub fn request_bytes(
    api: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    token: Option<&str>,
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n");
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
    request
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
    exchange_at(host, SocketAddr::from(([127, 0, 0, 1], API_PORT)), request)
}

/// Sends `request` as it is to the API listening on `addr` and reads until the server closes.
pub fn exchange_at(host: &Host, addr: SocketAddr, request: Vec<u8>) -> Vec<u8> {
    in_namespace(host, move || {
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
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
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
        headers,
    })
}

/// Writes an API token file at `path` holding `token`, readable by its owner only (batond
/// refuses a token file its group or others can read).
pub fn write_token_file(path: &std::path::Path, token: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("{token}\n")).expect("write the token file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .expect("make the token file private");
}
