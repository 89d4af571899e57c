//! A loopback TCP proxy that injects network faults in front of a registry.
//!
//! Each accepted connection gets at most one fault, drawn deterministically from the seed and the
//! connection's sequence number:
//!
//! * **reject**: the first request is answered with a canned `HTTP/1.1 503 Service Unavailable`
//!   and the connection is closed;
//! * **drop**: the connection is closed after a number of relayed bytes (both directions
//!   counted), in the middle of a request or a response;
//! * **stall**: the response stops for a while at some offset, then continues;
//! * **corrupt**: one byte of the first response body is flipped.
//!
//! With an HTTP fault configured (a body-size limit answered `413`, throttling answered `429` with
//! `Retry-After`, blob downloads cut at a share of their body), the proxy reads every request
//! instead, counts requests by method and blob bytes served ([`FaultProxy::http_stats`]); see
//! [`http`] for the details.
//!
//! The proxy only connects to loopback addresses, counts what it injected, can be switched off
//! and on, and stops when dropped.
//!
//! ```no_run
//! # async fn demo(upstream: &str) -> std::io::Result<()> {
//! use testkit::{FaultConfig, FaultProxy};
//! let proxy = FaultProxy::spawn(upstream, FaultConfig::new(7).reject(0.3).drop(0.2)).await?;
//! // … point a client at proxy.host() …
//! println!("{} faults injected", proxy.faults_injected());
//! proxy.set_enabled(false);
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub mod http;

pub use http::HttpStats;

/// What the proxy does to connections, and how often.
#[derive(Debug, Clone)]
pub struct FaultConfig {
    /// Seed of the per-connection draws.
    pub seed: u64,
    /// Share of connections answered with a canned error.
    pub reject_rate: f64,
    /// Status of the canned error (503 unless set).
    pub reject_status: u16,
    /// Share of connections closed part-way.
    pub drop_rate: f64,
    /// How many relayed bytes a dropped connection carries before it is closed; also where in
    /// the response a stall happens.
    pub drop_after: Range<u64>,
    /// Share of connections whose response stalls.
    pub stall_rate: f64,
    /// How long a stall lasts.
    pub stall: Duration,
    /// Share of connections with one corrupted response-body byte.
    pub corrupt_rate: f64,
    /// Stop injecting after this many faults.
    pub max_faults: Option<u64>,
    /// Only connections whose first request starts with this (`"POST "`) get faults.
    pub matching: Option<String>,
    /// Requests with a `Content-Length` over this are answered `413 Payload Too Large`.
    pub max_body: Option<u64>,
    /// The `413` is sent before the body is read, and the connection closed with the body
    /// unread (the client sees a reset), instead of reading the body to its end first.
    pub max_body_abrupt: bool,
    /// Requests are answered `429 Too Many Requests` with this `Retry-After` (whole seconds).
    pub too_many_requests: Option<Duration>,
    /// Requests are answered with this status and a registry error body.
    pub refuse_status: Option<u16>,
    /// Blob downloads are cut after this share of their body.
    pub cut_fraction: Option<f64>,
    /// `Range` headers are removed from requests, as by a server without range support.
    pub ignore_range: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig::new(0)
    }
}

impl FaultConfig {
    /// No faults yet, with `seed`.
    pub fn new(seed: u64) -> FaultConfig {
        FaultConfig {
            seed,
            reject_rate: 0.0,
            reject_status: 503,
            drop_rate: 0.0,
            drop_after: 0..64 * 1024,
            stall_rate: 0.0,
            stall: Duration::from_secs(5),
            corrupt_rate: 0.0,
            max_faults: None,
            matching: None,
            max_body: None,
            max_body_abrupt: false,
            too_many_requests: None,
            refuse_status: None,
            cut_fraction: None,
            ignore_range: false,
        }
    }

    /// Answers this share of connections with `503 Service Unavailable`.
    pub fn reject(mut self, rate: f64) -> Self {
        self.reject_rate = rate;
        self
    }

    /// Answers rejected connections with `status` instead of 503, as a registry that refuses a
    /// request (401, 403, 404 to a mount) would.
    pub fn reject_status(mut self, status: u16) -> Self {
        self.reject_status = status;
        self
    }

    /// Closes this share of connections after a number of bytes drawn from
    /// [`drop_after`](Self::drop_after).
    pub fn drop(mut self, rate: f64) -> Self {
        self.drop_rate = rate;
        self
    }

    /// Sets the range of byte counts after which a dropped connection closes.
    pub fn drop_after(mut self, bytes: Range<u64>) -> Self {
        self.drop_after = bytes;
        self
    }

    /// Stalls the response of this share of connections for `duration`.
    pub fn stall(mut self, rate: f64, duration: Duration) -> Self {
        self.stall_rate = rate;
        self.stall = duration;
        self
    }

    /// Flips one response-body byte in this share of connections.
    pub fn corrupt(mut self, rate: f64) -> Self {
        self.corrupt_rate = rate;
        self
    }

    /// Injects faults only into connections whose first request starts with `prefix`, such as
    /// `"POST "` or `"PUT /v2/okd/release/manifests/"`.
    pub fn matching(mut self, prefix: &str) -> Self {
        self.matching = Some(prefix.to_string());
        self
    }

    /// Injects at most `n` faults in total.
    pub fn max_faults(mut self, n: u64) -> Self {
        self.max_faults = Some(n);
        self
    }

    /// Answers every request whose `Content-Length` is over `bytes` with
    /// `413 Payload Too Large`, as a reverse proxy with a body-size limit does. Turns on the
    /// HTTP mode (see [`http`]).
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = Some(bytes);
        self
    }

    /// Like [`max_body`](Self::max_body), but as a proxy that answers before it reads the body
    /// and then closes the connection with the body unread: the kernel resets it, and a client
    /// still sending sees a broken connection, perhaps without ever reading the `413`.
    pub fn max_body_abrupt(mut self, bytes: u64) -> Self {
        self.max_body = Some(bytes);
        self.max_body_abrupt = true;
        self
    }

    /// Answers requests with `429 Too Many Requests` and `Retry-After: <retry_after seconds>`
    /// (limit them with [`max_faults`](Self::max_faults), pick them with
    /// [`matching`](Self::matching)). Turns on the HTTP mode.
    pub fn too_many_requests(mut self, retry_after: Duration) -> Self {
        self.too_many_requests = Some(retry_after);
        self
    }

    /// Answers requests with `status` and a registry error body (`UNSUPPORTED`), as a
    /// registry that refuses cross-repository mounts answers `400` (pick them with
    /// [`matching`](Self::matching), limit them with [`max_faults`](Self::max_faults)).
    /// Unlike [`reject_status`](Self::reject_status), it works in the HTTP mode, together
    /// with the other HTTP faults, and turns it on.
    pub fn refuse_requests(mut self, status: u16) -> Self {
        self.refuse_status = Some(status);
        self
    }

    /// Cuts the response to a blob `GET` without `Range` after `fraction` of its body (0.9:
    /// nine tenths), closing the connection; a resumed download (with `Range`) is not cut.
    /// Turns on the HTTP mode.
    pub fn cut_at_fraction(mut self, fraction: f64) -> Self {
        self.cut_fraction = Some(fraction);
        self
    }

    /// Removes `Range` from requests before they reach the upstream, which then answers `200`
    /// with the whole body, as a server without range support does (the request still counts
    /// as a range request). Turns on the HTTP mode.
    pub fn ignore_range(mut self) -> Self {
        self.ignore_range = true;
        self
    }

    /// True when an HTTP-level fault is configured.
    fn http_mode(&self) -> bool {
        self.max_body.is_some()
            || self.too_many_requests.is_some()
            || self.refuse_status.is_some()
            || self.cut_fraction.is_some()
            || self.ignore_range
    }
}

/// Counts of what the proxy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections answered with a 503.
    pub rejected: u64,
    /// Connections closed part-way.
    pub dropped: u64,
    /// Responses stalled.
    pub stalled: u64,
    /// Response bytes corrupted.
    pub corrupted: u64,
}

impl FaultStats {
    /// All faults injected.
    pub fn faults(&self) -> u64 {
        self.rejected + self.dropped + self.stalled + self.corrupted
    }
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    rejected: AtomicU64,
    dropped: AtomicU64,
    stalled: AtomicU64,
    corrupted: AtomicU64,
    planned: AtomicU64,
    http: http::HttpCounters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Reject,
    Drop { after: u64 },
    Stall { at: u64 },
    Corrupt { body_offset: u64 },
}

#[derive(Debug)]
struct Shared {
    config: FaultConfig,
    upstream: SocketAddr,
    enabled: AtomicBool,
    counters: Counters,
}

impl Shared {
    fn plan(&self, connection: u64) -> Fault {
        if !self.enabled.load(Ordering::SeqCst) {
            return Fault::None;
        }
        let c = &self.config;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            c.seed ^ connection.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let draw: f64 = rng.random();
        let offset = |rng: &mut rand_chacha::ChaCha8Rng| {
            if c.drop_after.is_empty() {
                c.drop_after.start
            } else {
                rng.random_range(c.drop_after.clone())
            }
        };
        let mut edge = c.reject_rate;
        if draw < edge {
            Fault::Reject
        } else if draw < {
            edge += c.drop_rate;
            edge
        } {
            Fault::Drop {
                after: offset(&mut rng),
            }
        } else if draw < {
            edge += c.stall_rate;
            edge
        } {
            Fault::Stall {
                at: offset(&mut rng),
            }
        } else if draw < edge + c.corrupt_rate {
            Fault::Corrupt {
                body_offset: rng.random_range(0..64),
            }
        } else {
            Fault::None
        }
    }

    /// Takes one fault from the budget; false when it is spent.
    fn spend(&self) -> bool {
        match self.config.max_faults {
            Some(max) => self.counters.planned.fetch_add(1, Ordering::SeqCst) < max,
            None => true,
        }
    }
}

/// A running fault-injecting proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`127.0.0.1:PORT`), which must
    /// be a loopback address.
    pub async fn spawn(upstream: &str, config: FaultConfig) -> io::Result<FaultProxy> {
        let upstream: SocketAddr = upstream.parse().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("upstream {upstream:?} is not IP:PORT: {e}"),
            )
        })?;
        if !upstream.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("upstream {upstream} is not a loopback address"),
            ));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            upstream,
            enabled: AtomicBool::new(true),
            counters: Counters::default(),
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(listener, shared.clone(), stop.clone()));
        Ok(FaultProxy { addr, shared, stop })
    }

    /// `127.0.0.1:PORT` to connect to instead of the upstream.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Turns fault injection on or off for new connections.
    pub fn set_enabled(&self, on: bool) {
        self.shared.enabled.store(on, Ordering::SeqCst);
    }

    /// Faults injected so far.
    pub fn faults_injected(&self) -> u64 {
        self.stats().faults()
    }

    /// What the proxy saw at the HTTP level so far (empty unless an HTTP fault is configured).
    pub fn http_stats(&self) -> HttpStats {
        self.shared.counters.http.snapshot()
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> FaultStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        FaultStats {
            connections: get(&c.connections),
            rejected: get(&c.rejected),
            dropped: get(&c.dropped),
            stalled: get(&c.stalled),
            corrupted: get(&c.corrupted),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((client, _)) = accepted else {
            continue;
        };
        let n = shared.counters.connections.fetch_add(1, Ordering::SeqCst);
        let fault = shared.plan(n);
        let shared = shared.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = serve(client, fault, &shared) => {}
            }
        });
    }
}

const CANNED_503: &str = "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"service unavailable (injected fault)\"}]}";

async fn serve(mut client: TcpStream, fault: Fault, shared: &Shared) -> io::Result<()> {
    if shared.config.http_mode() {
        return http::serve(client, shared).await;
    }
    let mut fault = fault;
    let mut first = Vec::new();
    if fault != Fault::None
        && let Some(prefix) = &shared.config.matching
    {
        // Peek the start of the first request; it is forwarded before anything else.
        let mut buf = [0u8; 1024];
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while first.len() < prefix.len() {
                match client.read(&mut buf).await {
                    Ok(n) if n > 0 => first.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
        })
        .await;
        if !first.starts_with(prefix.as_bytes()) {
            fault = Fault::None;
        }
    }
    if fault != Fault::None && !shared.spend() {
        fault = Fault::None;
    }
    if fault == Fault::Reject {
        shared.counters.rejected.fetch_add(1, Ordering::SeqCst);
        return reject(client, first, shared.config.reject_status).await;
    }
    let upstream = TcpStream::connect(shared.upstream).await?;
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (client_r, client_w) = client.into_split();
    let (up_r, mut up_w) = upstream.into_split();
    up_w.write_all(&first).await?;
    let relayed = AtomicU64::new(first.len() as u64);
    let limit = match fault {
        Fault::Drop { after } => after,
        _ => u64::MAX,
    };
    let up = pump(client_r, up_w, &relayed, limit, None, shared);
    let down = pump(up_r, client_w, &relayed, limit, Some(fault), shared);
    tokio::pin!(up);
    tokio::pin!(down);
    let (mut up_done, mut down_done) = (false, false);
    // A direction that reached end of stream lets the other finish; a cut or an error in
    // either ends the connection for both.
    while !(up_done && down_done) {
        let result = tokio::select! {
            r = &mut up, if !up_done => { up_done = true; r }
            r = &mut down, if !down_done => { down_done = true; r }
        };
        match result {
            Ok(false) => {}
            Ok(true) => {
                shared.counters.dropped.fetch_add(1, Ordering::SeqCst);
                break;
            }
            Err(_) => break,
        }
    }
    Ok(())
}

/// Reads the request head, answers `status` and closes.
async fn reject(mut client: TcpStream, first: Vec<u8>, status: u16) -> io::Result<()> {
    let mut head = first;
    let mut buf = [0u8; 4096];
    // Bounded: a client that speaks TLS to this plain-HTTP proxy never sends a blank line.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            match client.read(&mut buf).await {
                Ok(n) if n > 0 => head.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
    })
    .await;
    let body = if status == 503 {
        CANNED_503.to_string()
    } else {
        format!(
            "{{\"errors\":[{{\"code\":\"DENIED\",\"message\":\"refused with {status} (injected fault)\"}}]}}"
        )
    };
    // The reason phrase is optional to clients; a fixed one keeps the canned answer simple.
    let response = format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(response.as_bytes()).await?;
    client.shutdown().await?;
    // Drain what the client still sends (a request body) so the close is a clean FIN rather
    // than a reset that would hide the 503.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
    Ok(())
}

/// Copies `from` to `to`; returns `Ok(true)` when the drop limit cut the connection.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    relayed: &AtomicU64,
    limit: u64,
    response_fault: Option<Fault>,
    shared: &Shared,
) -> io::Result<bool> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut position = 0u64;
    let mut body_start: Option<u64> = None;
    let mut tail: Vec<u8> = Vec::new();
    let mut stalled = false;
    let mut corrupted = false;
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(false);
        }
        let chunk = &mut buf[..n];
        let before = relayed.fetch_add(n as u64, Ordering::SeqCst);
        if before + n as u64 > limit {
            let keep = limit.saturating_sub(before) as usize;
            to.write_all(&chunk[..keep.min(n)]).await?;
            return Ok(true);
        }
        match response_fault {
            Some(Fault::Stall { at }) if !stalled && position + n as u64 > at => {
                stalled = true;
                shared.counters.stalled.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(shared.config.stall).await;
            }
            Some(Fault::Corrupt { body_offset }) if !corrupted => {
                if body_start.is_none() {
                    tail.extend_from_slice(chunk);
                    if let Some(i) = tail.windows(4).position(|w| w == b"\r\n\r\n") {
                        body_start = Some(position + n as u64 - tail.len() as u64 + i as u64 + 4);
                    } else {
                        let keep_from = tail.len().saturating_sub(3);
                        tail.drain(..keep_from);
                    }
                }
                if let Some(start) = body_start {
                    let target = start + body_offset;
                    if (position..position + n as u64).contains(&target) {
                        chunk[(target - position) as usize] ^= 0xff;
                        corrupted = true;
                        shared.counters.corrupted.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            _ => {}
        }
        to.write_all(chunk).await?;
        position += n as u64;
    }
}
