//! The connection layer over real loopback sockets: the cap answers 503 JSON, slow heads and
//! idle connections are closed, hyper's own refusals come back as JSON, and a stop lets the
//! request under way finish.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;

/// The longest a test waits for one reply or one close.
const WAIT: Duration = Duration::from_secs(10);

/// A served API and how to stop it.
struct Served {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    backend: Arc<TestBackend>,
}

async fn serve_with(options: ServeOptions) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (app, backend) = app();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app, options, async {
        let _ = stopped.await;
    }));
    Served {
        addr,
        stop: Some(stop),
        task,
        backend,
    }
}

fn options(max_connections: usize, header_ms: u64, idle_ms: u64) -> ServeOptions {
    ServeOptions {
        max_connections,
        header_timeout: Duration::from_millis(header_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        tls: None,
    }
}

impl Served {
    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the server did not stop in time")
            .unwrap()
            .unwrap();
    }
}

/// Everything the server sends until it closes.
async fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut out))
        .await
        .expect("the server did not close in time")
        .unwrap();
    out
}

/// Status and JSON body of a whole reply (`Content-Length` framed; `Null` if not JSON).
fn parse(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {text:?}"));
    let status = head[9..12].parse().unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Send `request` on a new connection and read the reply to the close.
async fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    parse(&read_all(&mut stream).await)
}

const STATUS: &[u8] = b"GET /v1/status HTTP/1.1\r\nHost: baton\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn serves_requests_and_stops_when_told() {
    let served = serve_with(ServeOptions::default()).await;
    let (status, body) = exchange(served.addr, STATUS).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["router_id"], "198.18.0.1");
    served.stop().await;
}

#[tokio::test]
async fn beyond_the_cap_a_connection_is_answered_503_at_once_and_a_freed_slot_serves_again() {
    let served = serve_with(options(2, 5_000, 5_000)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(served.addr).await.unwrap();
        // A request answered proves the connection holds a served slot.
        s.write_all(b"GET /v1/status HTTP/1.1\r\nHost: baton\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        held.push(s);
    }
    let started = Instant::now();
    let (status, body) = exchange(served.addr, STATUS).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "too_many_connections", "{body}");
    assert!(body["error"].as_str().unwrap().contains("maximum of 2"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    drop(held.pop());
    let (status, body) = tokio::time::timeout(WAIT, async {
        loop {
            let (status, body) = exchange(served.addr, STATUS).await;
            if status != 503 {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("no slot came free");
    assert_eq!(status, 200, "{body}");
    served.stop().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout_even_after_a_request() {
    let served = serve_with(options(8, 5_000, 300)).await;
    let mut silent = TcpStream::connect(served.addr).await.unwrap();
    let mut kept = TcpStream::connect(served.addr).await.unwrap();
    kept.write_all(b"GET /v1/status HTTP/1.1\r\nHost: baton\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let raw = read_all(&mut kept).await;
    assert!(raw.starts_with(b"HTTP/1.1 200"), "{raw:?}");
    assert!(read_all(&mut silent).await.is_empty());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    served.stop().await;
}

#[tokio::test]
async fn a_head_trickling_in_is_cut_at_the_header_timeout() {
    let served = serve_with(options(8, 400, 5_000)).await;
    let mut slow = TcpStream::connect(served.addr).await.unwrap();
    let started = Instant::now();
    // One byte every 50 ms keeps the connection busy but never finishes the head.
    let head = b"GET /v1/status HTTP/1.1\r\nX-Slow: ".iter();
    let mut received = Vec::new();
    let closed = tokio::time::timeout(WAIT, async {
        for byte in head.chain(std::iter::repeat(&b'a')) {
            if slow.write_all(&[*byte]).await.is_err() {
                return;
            }
            let mut probe = [0u8; 64];
            match tokio::time::timeout(Duration::from_millis(50), slow.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => received.extend_from_slice(&probe[..n]),
                Err(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the slow head was not cut");
    assert!(
        received.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&received)
    );
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(350), "cut after {took:?}");
    served.stop().await;
}

#[tokio::test]
async fn refusals_before_the_router_are_json_with_a_stable_code() {
    let served = serve_with(ServeOptions::default()).await;
    let addr = served.addr;
    let rib_query = |len: usize| {
        format!(
            "GET /v1/rib/ipv4?prefix={} HTTP/1.1\r\nHost: baton\r\nConnection: close\r\n\r\n",
            "1".repeat(len)
        )
    };
    let (long_target, huge_target) = (rib_query(MAX_TARGET), rib_query(MAX_HEAD));
    let big_header = |len: usize| {
        format!(
            "GET /v1/status HTTP/1.1\r\nHost: baton\r\nX-Big: {}\r\n\r\n",
            "a".repeat(len)
        )
    };
    let (big_header, huge_header) = (big_header(200 << 10), big_header(4 << 20));
    let many_headers = format!(
        "GET /v1/status HTTP/1.1\r\nHost: baton\r\n{}\r\n",
        (0..=MAX_HEADERS)
            .map(|i| format!("X-{i}: x\r\n"))
            .collect::<String>()
    );
    let huge_body = {
        let body = " ".repeat(ApiOptions::DEFAULT_BODY_LIMIT + 1);
        format!(
            "POST /v1/routes HTTP/1.1\r\nHost: baton\r\nContent-Type: application/json\r\n\
             Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "garbage request line",
            b"GARBAGE\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "bad version",
            b"GET / HTTP/9.9\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "bad header",
            b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        ("long target", long_target.into_bytes(), 414, "uri_too_long"),
        (
            "target over the head limit",
            huge_target.into_bytes(),
            414,
            "uri_too_long",
        ),
        (
            "200 KB header",
            big_header.into_bytes(),
            431,
            "headers_too_large",
        ),
        // Still being sent when the server answers: the reply must not be lost to a reset.
        (
            "4 MB header",
            huge_header.into_bytes(),
            431,
            "headers_too_large",
        ),
        (
            "too many headers",
            many_headers.into_bytes(),
            431,
            "headers_too_large",
        ),
        (
            "body over the limit",
            huge_body.into_bytes(),
            413,
            "body_too_large",
        ),
    ];
    for (name, request, status, code) in cases {
        let (got, body) = exchange(addr, &request).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(body["code"], code, "{name}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{name}"
        );
    }
    assert!(served.backend.calls().is_empty());
    served.stop().await;
}

#[tokio::test]
async fn a_stop_lets_the_request_under_way_finish_and_closes_idle_connections() {
    let served = serve_with(ServeOptions::default()).await;
    let mut idle = TcpStream::connect(served.addr).await.unwrap();
    let mut busy = TcpStream::connect(served.addr).await.unwrap();
    let body = json!({"prefix": "198.18.7.0/24"}).to_string();
    // The head now, the body after the stop: the request is under way when the stop comes.
    let head = format!(
        "POST /v1/routes HTTP/1.1\r\nHost: baton\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    busy.write_all(head.as_bytes()).await.unwrap();
    // Wait until the router has the request (the idle connection proves accepts are done).
    idle.write_all(b"GET /v1/status HTTP/1.1\r\nHost: baton\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 12];
    idle.read_exact(&mut buf).await.unwrap();
    let (backend, addr) = (served.backend.clone(), served.addr);
    let stopping = tokio::spawn(served.stop());
    // The stop has begun once the listener is gone.
    tokio::time::timeout(WAIT, async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the listener was not closed");
    busy.write_all(body.as_bytes()).await.unwrap();
    let (status, reply) = parse(&read_all(&mut busy).await);
    assert_eq!(status, 200, "{reply}");
    let rest = read_all(&mut idle).await;
    assert!(
        !String::from_utf8_lossy(&rest).contains("HTTP/1.1"),
        "{rest:?}"
    );
    tokio::time::timeout(WAIT, stopping).await.unwrap().unwrap();
    assert_eq!(backend.snapshot().api_routes.len(), 1);
}
