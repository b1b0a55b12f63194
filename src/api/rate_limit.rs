//! A per-client request rate limit (`[api] rate_limit`, `rate_burst`): a token bucket per
//! client, answered 429 (`rate_limited`) with `Retry-After` when empty.
//!
//! The connection cap bounds what idle and slow clients hold; this bounds what a busy one can
//! make the daemon do, and how fast anyone can guess tokens. Each client gets a bucket of
//! `burst` requests that refills at `rate` per second: a client within the rate never waits,
//! a burst of up to `burst` at once is served, anything faster is refused until a request's
//! worth has refilled. A client is an IPv4 address, or an IPv6 /64 (one host usually has a
//! whole /64, so per address would be no limit at all).
//!
//! Buckets are kept only while they are not full: one that has refilled is the same as none,
//! so when the table reaches [`MAX_CLIENTS`] the full ones are dropped (at most once every
//! [`PRUNE_EVERY`], so a flood of new addresses cannot make each request scan the table); if
//! that frees nothing, the newcomer is served unlimited rather than a known client refused.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::error::{ApiError, ErrorCode};

/// The most clients with a bucket at once.
pub const MAX_CLIENTS: usize = 65536;
/// The shortest time between two scans of a full table for refilled buckets.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// The per-client limit in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second each client may make on average (at least 1).
    pub rate: u32,
    /// Requests a client may make at once (at least 1).
    pub burst: u32,
}

/// The buckets of every client.
#[derive(Debug)]
pub(super) struct Limiter {
    limit: RateLimit,
    clients: Mutex<Clients>,
}

#[derive(Debug, Default)]
struct Clients {
    buckets: HashMap<IpAddr, Bucket>,
    /// When a full table was last scanned.
    pruned: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Requests left, fractional as they refill.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

impl Limiter {
    pub(super) fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit: RateLimit {
                rate: limit.rate.max(1),
                burst: limit.burst.max(1),
            },
            clients: Mutex::new(Clients::default()),
        }
    }

    fn rate(&self) -> f64 {
        f64::from(self.limit.rate)
    }

    fn burst(&self) -> f64 {
        f64::from(self.limit.burst)
    }

    /// Take one request from `client`'s bucket at `now`: `Ok`, or how long until one is there.
    pub(super) fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = client_key(client);
        let mut guard = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let clients = &mut *guard;
        if !clients.buckets.contains_key(&key) && clients.buckets.len() >= MAX_CLIENTS {
            let due = clients
                .pruned
                .is_none_or(|at| now.saturating_duration_since(at) >= PRUNE_EVERY);
            if due {
                clients.pruned = Some(now);
                clients
                    .buckets
                    .retain(|_, b| self.refilled(b, now) < self.burst());
            }
            if clients.buckets.len() >= MAX_CLIENTS {
                return Ok(());
            }
        }
        let bucket = clients.buckets.entry(key).or_insert(Bucket {
            tokens: self.burst(),
            at: now,
        });
        bucket.tokens = self.refilled(bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate()))
        }
    }

    /// The tokens `bucket` has at `now`.
    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.rate()).min(self.burst())
    }

    #[cfg(test)]
    fn clients(&self) -> usize {
        self.clients.lock().unwrap().buckets.len()
    }
}

/// The bucket key of a client: its IPv4 address, or its IPv6 /64.
fn client_key(addr: IpAddr) -> IpAddr {
    match addr.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// Answer 429 to a client over its limit; serve the others. A request without a client address
/// (only in-process tests make those) is served.
pub(super) async fn limit(
    State(limiter): State<Arc<Limiter>>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(client) = client else {
        return next.run(request).await;
    };
    match limiter.take(client, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => too_many(&limiter.limit, wait),
    }
}

/// The 429 reply, with `Retry-After` in whole seconds (at least 1).
fn too_many(limit: &RateLimit, wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "this client sent more than {} requests per second (burst {}): try again in {secs} s",
            limit.rate, limit.burst
        ),
    )
    .with_code(ErrorCode::RateLimited)
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_is_served_then_the_rate_refills_it() {
        let limiter = Limiter::new(RateLimit { rate: 2, burst: 3 });
        let t0 = Instant::now();
        let a = ip("198.18.0.2");
        for _ in 0..3 {
            assert_eq!(limiter.take(a, t0), Ok(()));
        }
        // Empty: one request's worth refills in 1/rate seconds.
        assert_eq!(limiter.take(a, t0), Err(Duration::from_millis(500)));
        let wait = limiter
            .take(a, t0 + Duration::from_millis(250))
            .unwrap_err();
        assert_eq!(wait, Duration::from_millis(250));
        assert_eq!(limiter.take(a, t0 + Duration::from_millis(500)), Ok(()));
        assert!(limiter.take(a, t0 + Duration::from_millis(500)).is_err());
        // Another client has its own bucket.
        assert_eq!(limiter.take(ip("198.18.0.3"), t0), Ok(()));
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(limiter.take(a, later), Ok(()));
        }
        assert!(limiter.take(a, later).is_err());
    }

    #[test]
    fn a_client_within_the_rate_is_never_refused() {
        let limiter = Limiter::new(RateLimit { rate: 10, burst: 1 });
        let t0 = Instant::now();
        for i in 0..1000 {
            let now = t0 + Duration::from_millis(100 * i);
            assert_eq!(limiter.take(ip("198.18.0.2"), now), Ok(()), "request {i}");
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let limiter = Limiter::new(RateLimit { rate: 1, burst: 1 });
        let t0 = Instant::now();
        assert_eq!(limiter.take(ip("2001:db8:1:2::1"), t0), Ok(()));
        assert!(limiter.take(ip("2001:db8:1:2:ffff::9"), t0).is_err());
        assert_eq!(limiter.take(ip("2001:db8:1:3::1"), t0), Ok(()));
        // IPv4-mapped is the IPv4 client.
        assert_eq!(limiter.take(ip("198.18.0.2"), t0), Ok(()));
        assert!(limiter.take(ip("::ffff:198.18.0.2"), t0).is_err());
    }

    #[test]
    fn the_table_of_clients_is_bounded() {
        let limiter = Limiter::new(RateLimit { rate: 1, burst: 1 });
        let t0 = Instant::now();
        for i in 0..MAX_CLIENTS as u32 {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(0xc612_0000 + i));
            assert_eq!(limiter.take(addr, t0), Ok(()));
        }
        assert_eq!(limiter.clients(), MAX_CLIENTS);
        // Full and nothing refilled: a newcomer is served without a bucket.
        let scanned = t0 + Duration::from_millis(900);
        assert_eq!(limiter.take(ip("203.0.113.1"), scanned), Ok(()));
        assert_eq!(limiter.clients(), MAX_CLIENTS);
        // Refilled now, but the full table is not scanned again within a second...
        let soon = t0 + Duration::from_millis(1500);
        assert_eq!(limiter.take(ip("203.0.113.2"), soon), Ok(()));
        assert_eq!(limiter.clients(), MAX_CLIENTS);
        // ... after which the refilled buckets are dropped to make room.
        let later = t0 + Duration::from_millis(2000);
        assert_eq!(limiter.take(ip("203.0.113.1"), later), Ok(()));
        assert_eq!(limiter.clients(), 1);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let limit = RateLimit { rate: 1, burst: 1 };
        let r = too_many(&limit, Duration::from_millis(1500));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        let r = too_many(&limit, Duration::from_millis(10));
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }
}
